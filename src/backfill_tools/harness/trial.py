"""What the reliability harnesses share: their datasets, dbt runs and checks of the data.

* `make_template`: the generated database a harness copies for each trial, and
  `install_slow_apply` to stretch a run's apply on a small dataset.
* `project_for`, `COMMANDS`, `run_done`: the dbt project on a harness database, the
  commands it runs, and whether a run's writes committed.
* `app_state`: the app tables as fingerprints. `exact` is `appdb.table_fingerprints`;
  `stable` is the same with the fields a run stamps with its clock and id masked (the
  `created_at`/`updated_at` and `metadata.createdAt`/`metadata.runId` of the rows a run
  created, the payload of its Audit row), so two complete runs over the same data compare
  equal and any other difference shows.
* `ledger_problems`: what is inconsistent between the ledger and the app tables.

A run seen from the database (and killed) is `watch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
STABLE_ROWS = {table: _STABLE_ROW.get(table, "to_jsonb(t)") for table in APP_TABLES}


@dataclass(frozen=True)
class AppState:
    """The app tables: exact fingerprints and run-stamp-insensitive ones."""

    exact: Fingerprints
    stable: Fingerprints

    def stable_without_audit(self) -> Fingerprints:
        return {table: value for table, value in self.stable.items() if table != "Audit"}


def app_state(env: dict[str, str], app: AppSchema) -> AppState:
    conn = connect(env)
    try:
        stable = table_fingerprints(conn, app.schema, STABLE_ROWS)
        return AppState(table_fingerprints(conn, app.schema), stable)
    finally:
        conn.close()


def differing_tables(left: Fingerprints, right: Fingerprints) -> list[str]:
    tables = left.keys() | right.keys()
    return sorted(table for table in tables if left.get(table) != right.get(table))


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


# The dbt command of each operation a harness runs (and kills, races, repeats).
COMMANDS = {"build": ("build",), "rollback": ("run-operation", "rollback_backfill")}


def install_slow_apply(env: dict[str, str], app: AppSchema, seconds: float) -> None:
    """Test-only: each statement of the backfill that writes an app table sleeps `seconds`
    after its rows are written (a statement-level trigger; the app's own statements do not
    sleep), so the apply transaction lasts long enough on a small dataset for kills and
    app traffic to land inside it. Changes no data."""
    s = f'"{app.schema}"'
    statements = [
        f"create or replace function {s}.crash_test_slow_statement() returns trigger"
        f" language plpgsql as $$ begin"
        f" if current_setting('application_name') = '{APPLICATION_NAME}' then"
        f" perform pg_sleep({float(seconds)}); end if; return null; end $$"
    ]
    for table in ("Customer", "CustomerAddress", "Lead", "Job", "Audit"):
        statements.append(
            f"create trigger crash_test_slow_statement after insert or update or delete"
            f' on {s}."{table}" for each statement execute function'
            f" {s}.crash_test_slow_statement()"
        )
    conn = connect(env)
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.commit()
    conn.close()


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
