"""A dbt run seen from the database, and killed at a chosen point.

* `RunWatcher`: polls `pg_stat_activity`/`pg_locks` for the backends of a dbt run and tells
  whether one holds the backfill lock (i.e. is inside the apply transaction) and how far
  the apply has got (which app tables it holds a write lock on).
* `watched_run`: starts `dbt build` (or the rollback), polls it, and kills it at a
  `KillPoint` (SIGKILL of dbt, `pg_terminate_backend` of its backend, or both) if given;
  the crash harness kills, the live-traffic harness only watches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2.extensions

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.dbtrun import DbtProject
from backfill_tools.harness.trial import APPLICATION_NAME, COMMANDS

MODES = ("sigkill", "terminate", "sigkill+terminate")
POLL_SECONDS = 0.005

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

STAGE_LADDERS = {"build": ("apply", APPLY_STAGES), "rollback": ("rollback", ROLLBACK_STAGES)}

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


@dataclass(frozen=True)
class KillPoint:
    """When and how to kill: `delay` seconds after `anchor` - the run's start ("start"),
    the moment a backend is first seen holding the backfill lock ("apply"), the moment it
    is first seen writing an app table ("stage:Lead": holding a write lock on "Lead"), or
    the moment it is first seen without the lock again, i.e. the apply committed
    ("commit") - by `mode`."""

    mode: str
    anchor: str
    delay: float

    def describe(self) -> str:
        return f"{self.mode} at {self.anchor}+{self.delay:.2f}s"


def _start(project: DbtProject, command: tuple[str, ...], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return project.start(*command, stdout=out, stderr=subprocess.STDOUT)


def _kill(proc: subprocess.Popen, watcher: RunWatcher, snap: RunSnapshot, mode: str) -> None:
    if mode in ("sigkill", "sigkill+terminate"):
        os.kill(proc.pid, signal.SIGKILL)
    if mode == "terminate":
        if snap.holder_pid is not None:
            watcher.terminate(snap.holder_pid)
        else:
            watcher.terminate_all()
    if mode == "sigkill+terminate":
        watcher.terminate_all()


def _anchor_reached(point: KillPoint, snapshots: list[RunSnapshot]) -> float | None:
    latest = snapshots[-1]
    if point.anchor == "apply" and latest.in_apply:
        return latest.elapsed
    stage = point.anchor.removeprefix("stage:")
    if point.anchor.startswith("stage:") and stage in latest.written_tables:
        return latest.elapsed
    committed = not latest.in_apply and any(snap.in_apply for snap in snapshots)
    if point.anchor == "commit" and committed:
        return latest.elapsed
    return None


@dataclass
class RunOutcome:
    """A watched run: what was seen, the look just before the kill, how it ended."""

    snapshots: list[RunSnapshot]
    killed: RunSnapshot | None
    returncode: int
    lingered: float  # seconds the killed run's backends outlived the kill


def watched_run(
    project: DbtProject,
    env: dict[str, str],
    app: AppSchema,
    log: Path,
    point: KillPoint | None,
    operation: str = "build",
) -> RunOutcome:
    """Run `dbt build` (or the rollback), polling its backends; kill it at `point` (if
    given and reached)."""
    label, ladder = STAGE_LADDERS[operation]
    watcher = RunWatcher(env, app.schema, label=label, ladder=ladder)
    proc = _start(project, COMMANDS[operation], log)
    snapshots: list[RunSnapshot] = []
    anchor = 0.0 if point is not None and point.anchor == "start" else None
    killed: RunSnapshot | None = None
    lingered = 0.0
    try:
        while proc.poll() is None:
            snap = watcher.snapshot()
            snapshots.append(snap)
            if point is not None and anchor is None:
                anchor = _anchor_reached(point, snapshots)
            if point is not None and anchor is not None:
                remaining = anchor + point.delay - snap.elapsed
                if remaining <= 0:
                    killed = watcher.snapshot()
                    _kill(proc, watcher, killed, point.mode)
                    break
                time.sleep(min(remaining, POLL_SECONDS))
            else:
                time.sleep(POLL_SECONDS)
        proc.wait(timeout=900)
        if killed is not None:
            lingered = watcher.wait_until_gone()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        watcher.close()
    return RunOutcome(snapshots, killed, int(proc.returncode), lingered)
