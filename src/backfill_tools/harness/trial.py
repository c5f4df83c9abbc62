"""What the reliability harnesses share: comparable states, a run watcher, the ledger check.

* `app_state`: the app tables as fingerprints. `exact` is `appdb.table_fingerprints`;
  `stable` is the same with the fields a run stamps with its clock and id masked (the
  `created_at`/`updated_at` and `metadata.createdAt`/`metadata.runId` of the rows a run
  created, the payload of its Audit row), so two complete runs over the same data compare
  equal and any other difference shows.
* `RunWatcher`: polls `pg_stat_activity`/`pg_locks` for the backends of a dbt run and tells
  whether one holds the backfill lock (i.e. is inside the apply transaction) and how far
  the apply has got (which app tables it holds a write lock on).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import psycopg2.extensions

from backfill_tools.db.appdb import APP_TABLES, AppSchema, connect, table_fingerprints
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import DbtProject
from backfill_tools.quality.generate import generate_database

APPLICATION_NAME = "customer-backfill"  # profiles.yml.example: every dbt connection's name
PROJECT_SCHEMA = "customer_backfill"

Fingerprints = dict[str, tuple[int, str]]

# Rows a run creates carry its clock and id; everything else is compared whole.
_STABLE_ROW = {
    "Customer": (
        "case when t.metadata ? 'runId' then to_jsonb(t) - 'created_at' - 'updated_at'"
        " || jsonb_build_object('metadata', t.metadata - 'createdAt' - 'runId')"
        " else to_jsonb(t) end"
    ),
    "CustomerAddress": (
        "case when t.metadata ? 'runId' then to_jsonb(t) - 'created_at'"
        " || jsonb_build_object('metadata', t.metadata - 'runId')"
        " else to_jsonb(t) end"
    ),
    "Audit": (
        "case when t.action like 'backfill%' then jsonb_build_object("
        "'actor', t.actor, 'action', t.action, 'lead_id', t.lead_id) else to_jsonb(t) end"
    ),
}


@dataclass(frozen=True)
class AppState:
    """The app tables: exact fingerprints and run-stamp-insensitive ones."""

    exact: Fingerprints
    stable: Fingerprints

    def stable_without_audit(self) -> Fingerprints:
        return {table: value for table, value in self.stable.items() if table != "Audit"}


def stable_fingerprints(conn: psycopg2.extensions.connection, schema: str) -> Fingerprints:
    prints: Fingerprints = {}
    with conn.cursor() as cur:
        for table in APP_TABLES:
            row = _STABLE_ROW.get(table, "to_jsonb(t)")
            cur.execute(
                f"select count(*), coalesce(md5(string_agg(r::text, '|' order by r::text)), '')"
                f' from (select {row} as r from "{schema}"."{table}" as t) as rows'
            )
            count, digest = cur.fetchone()
            prints[table] = (int(count), str(digest))
    conn.rollback()
    return prints


def app_state(env: dict[str, str], app: AppSchema) -> AppState:
    conn = connect(env)
    try:
        return AppState(table_fingerprints(conn, app.schema), stable_fingerprints(conn, app.schema))
    finally:
        conn.close()


def differing_tables(left: Fingerprints, right: Fingerprints) -> list[str]:
    tables = left.keys() | right.keys()
    return sorted(table for table in tables if left.get(table) != right.get(table))


# -- watching a run ----------------------------------------------------------------------------
# How far a transaction has got: the last of these tables it holds a write lock on.
APPLY_STAGES = (
    ("Customer", "customers"),
    ("CustomerAddress", "addresses"),
    ("Lead", "lead links"),
    ("Job", "job links"),
    ("backfill_runs", "run row"),
    ("Audit", "audit row"),
)
ROLLBACK_STAGES = (
    ("Job", "job unlinks"),
    ("Lead", "lead unlinks"),
    ("CustomerAddress", "address deletes"),
    ("Customer", "customer deletes"),
    ("backfill_ledger", "ledger marks"),
    ("Audit", "audit row"),
)

_SNAPSHOT_SQL = """
with backfill_key as (
    select hashtextextended('customer_backfill:' || %(app_schema)s, 0) as value
),
run_backends as (
    select pid, state, query
    from pg_stat_activity
    where datname = current_database()
        and application_name = %(application_name)s
        and pid <> pg_backend_pid()
),
holder as (
    select locks.pid
    from pg_locks as locks
    cross join backfill_key
    where locks.locktype = 'advisory'
        and locks.granted
        and locks.database = (select oid from pg_database where datname = current_database())
        and locks.objsubid = 1
        and locks.classid::bigint = (backfill_key.value >> 32) & 4294967295
        and locks.objid::bigint = backfill_key.value & 4294967295
    limit 1
)
select
    (select count(*) from run_backends),
    (select pid from holder),
    (
        select coalesce(array_agg(distinct classes.relname::text), '{}')
        from pg_locks as locks
        inner join pg_class as classes on locks.relation = classes.oid
        where locks.pid = (select pid from holder)
            and locks.mode = 'RowExclusiveLock'
            and locks.granted
    ),
    (select left(query, 200) from run_backends where pid = (select pid from holder)),
    (select left(string_agg(query, ' | '), 200) from run_backends where state = 'active')
"""


@dataclass(frozen=True)
class RunSnapshot:
    """One look at a dbt run from the database side."""

    elapsed: float
    backends: int
    holder_pid: int | None
    written_tables: frozenset[str]
    holder_query: str
    active_query: str
    label: str = "apply"
    ladder: tuple[tuple[str, str], ...] = APPLY_STAGES

    @property
    def in_apply(self) -> bool:
        """A backend of the run holds the backfill lock: the apply transaction is open."""
        return self.holder_pid is not None

    @property
    def stage(self) -> str:
        if not self.in_apply:
            if self.backends == 0:
                return "no backend"
            return f"outside {self.label}: {_describe_query(self.active_query)}"
        if self.holder_query.strip().lower().startswith("commit"):
            return f"{self.label}: commit sent"
        reached = [label for table, label in self.ladder if table in self.written_tables]
        return f"{self.label}: {reached[-1]}" if reached else f"{self.label}: lock taken"


def _describe_query(query: str) -> str:
    text = " ".join(query.split()).lower()
    for marker, label in (
        ("backfill_active_runs", "claim"),
        ("dbt_internal_test", "data test"),
        ("create  table", "building table"),
        ("create table", "building table"),
        ("create view", "building view"),
        ("alter table", "renaming table"),
        ("information_schema", "introspection"),
        ("pg_catalog", "introspection"),
    ):
        if marker in text:
            return label
    return "idle between nodes" if not text else "other"


@dataclass
class RunWatcher:
    """Polls the database for one dbt run's backends."""

    env: dict[str, str]
    app_schema: str
    label: str = "apply"
    ladder: tuple[tuple[str, str], ...] = APPLY_STAGES
    started: float = field(default_factory=time.monotonic)
    _conn: psycopg2.extensions.connection | None = None

    def __post_init__(self) -> None:
        self._conn = connect(self.env)
        self._conn.autocommit = True

    def snapshot(self) -> RunSnapshot:
        assert self._conn is not None
        with self._conn.cursor() as cur:
            cur.execute(
                _SNAPSHOT_SQL,
                {"app_schema": self.app_schema, "application_name": APPLICATION_NAME},
            )
            backends, holder, written, holder_query, active = cur.fetchone()
        return RunSnapshot(
            elapsed=time.monotonic() - self.started,
            backends=int(backends),
            holder_pid=holder,
            written_tables=frozenset(written or ()),
            holder_query=holder_query or "",
            active_query=active or "",
            label=self.label,
            ladder=self.ladder,
        )

    def terminate(self, pid: int) -> bool:
        assert self._conn is not None
        with self._conn.cursor() as cur:
            cur.execute("select pg_terminate_backend(%s)", (pid,))
            return bool(cur.fetchone()[0])

    def terminate_all(self) -> int:
        """Terminate every remaining backend of the run (what an operator would do)."""
        assert self._conn is not None
        with self._conn.cursor() as cur:
            cur.execute(
                "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity"
                " where datname = current_database() and application_name = %s"
                " and pid <> pg_backend_pid()",
                (APPLICATION_NAME,),
            )
            return int(cur.fetchone()[0])

    def wait_until_gone(self, timeout: float = 300.0) -> float:
        """Wait until no backend of the run remains; returns the seconds waited."""
        begun = time.monotonic()
        while self.snapshot().backends > 0:
            if time.monotonic() - begun > timeout:
                raise RuntimeError(f"backends of the killed run still there after {timeout} s")
            time.sleep(0.05)
        return time.monotonic() - begun

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# What dbt prints when the run's writes committed (on-run-end; see print_backfill_summary
# and rollback_backfill). The harnesses judge a run by this and by the data, not by dbt's
# exit code: a validation test that fails after the apply (e.g. two customers sharing a
# phone, which the data of `generate` has) makes `dbt build` exit 1 although it applied.
DONE_MARKERS = {
    "build": ("BACKFILL APPLIED",),
    "rollback": ("BACKFILL ROLLED BACK", "Nothing to roll back"),
}


def run_done(operation: str, output: str) -> bool:
    """Whether a dbt command's output says its writes committed."""
    return any(marker in output for marker in DONE_MARKERS[operation])


def project_for(env: dict[str, str], app: AppSchema, work_dir: Path) -> DbtProject:
    """The dbt project on a harness database, with the vars every run of the harness uses
    (the same vars every time, so dbt's partial parsing is reused between runs)."""
    base_vars = {"run_claim_grace_period": "0 seconds", **app.dbt_vars()}
    return DbtProject(env=env, work_dir=work_dir, base_vars=base_vars)


def make_template(
    server: Server,
    name: str,
    app: AppSchema,
    leads: int,
    seed: int,
    dbt_dir: Path | None = None,
) -> dict[str, str]:
    """The database a harness copies for each trial: `leads` generated leads and, with
    `dbt_dir` (dbt's files), one complete `dbt build` applied on them; its PG* variables."""
    generate_database(server, name, app, leads, seed)
    env = server.libpq_env(name)
    if dbt_dir is not None:
        first = project_for(env, app, dbt_dir).run("build", check=False)
        if not run_done("build", first.output):
            raise RuntimeError(f"the run on the template failed:\n{first.output[-3000:]}")
    return env


def ledger_problems(env: dict[str, str], app: AppSchema) -> list[str]:
    """What is inconsistent between the ledger and the app tables after runs (empty: fine)."""
    checks = {
        "an object recorded twice in the ledger": (
            f"select count(*) - count(distinct (object_type, object_id))"
            f" from {PROJECT_SCHEMA}.backfill_ledger where rolled_back_at is null"
        ),
        "backfill customers not in the ledger, or ledger customers missing": (
            f'select count(*) from "{app.schema}"."Customer" as c'
            f" full join (select object_id from {PROJECT_SCHEMA}.backfill_ledger"
            f" where object_type = 'customer' and rolled_back_at is null) as l"
            f" on l.object_id = c.id"
            f" where (c.id is null) or (l.object_id is null and c.metadata ? 'runId')"
        ),
        "leads whose customer does not exist": (
            f'select count(*) from "{app.schema}"."Lead" as l'
            f' left join "{app.schema}"."Customer" as c on c.id = l.customer_id'
            f" where l.customer_id is not null and c.id is null"
        ),
        "jobs whose customer differs from their lead's, set by the backfill": (
            f'select count(*) from "{app.schema}"."Job" as j'
            f' inner join "{app.schema}"."Lead" as l on l.id = j.lead_id'
            f" inner join {PROJECT_SCHEMA}.backfill_ledger as g"
            f" on g.object_type = 'job' and g.object_id = j.id and g.rolled_back_at is null"
            f" where j.customer_id is distinct from l.customer_id"
        ),
    }
    conn = connect(env)
    problems = []
    try:
        with conn.cursor() as cur:
            for label, sql in checks.items():
                cur.execute(sql)
                count = int(cur.fetchone()[0])
                if count:
                    problems.append(f"{count} {label}")
    finally:
        conn.close()
    return problems
