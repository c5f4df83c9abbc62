"""`backfill-dev live-traffic`: the app keeps writing while a backfill runs.

On a copy of a generated dataset the harness starts `dbt build` and, at the same time,
an "app" process that does what the app does, in short transactions: inserts leads
(some reusing another lead's phone or e-mail, some linked by the app itself to one of its
customers), inserts jobs (some copying their lead's customer, as app code that knows about
`customer_id` would), and updates leads (stage, state, timestamps), each update writing a
token so that a lost update shows. The app's loop is bounded (operations and seconds) and
also stops shortly after the run ends. Then a second `dbt build` runs without traffic.

It checks: both runs succeed; no deadlock (the app's errors and `pg_stat_database`); every
app update persists; every link the backfill recorded in its ledger persists, and the app's
own links are untouched; no backfill customer is created twice (ledger, group keys) or left
without a lead; leads the app inserted during the first run are linked by it or by the
second run (or reported as conflicts); the app's new jobs follow their leads.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg2
import psycopg2.extensions
from psycopg2.extras import Json

from backfill_tools.db.appdb import LEAD_STAGES, AppSchema, connect
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import UNCHANGED_RUN
from backfill_tools.harness.trial import (
    PROJECT_SCHEMA,
    install_slow_apply,
    project_for,
    run_done,
)
from backfill_tools.harness.watch import watched_run
from backfill_tools.quality.generate import generate_database

# the columns a Job must have beyond its ids (NOT NULL in the app), and what the app gives them
JOB_WINDOW = "status, window_start, window_end, updated_at"
JOB_WINDOW_VALUES = "'booked', now() + interval '1 day', now() + interval '1 day 2 hours', now()"


def stage_of(token: int) -> str:
    """The stage an app update with `token` writes (a value of the app's LeadStage enum)."""
    return LEAD_STAGES[token % len(LEAD_STAGES)]


OPERATIONS = (
    ("insert_lead", 30),
    ("insert_job", 20),
    ("update_lead", 40),
    ("update_lead_and_insert_job", 10),
)


@dataclass
class AppLog:
    """What the app did, as the app saw it (committed writes only)."""

    started: float = 0.0
    operations: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lead_tokens: dict[str, int] = field(default_factory=dict)
    inserted_leads: list[str] = field(default_factory=list)
    app_linked_leads: dict[str, str] = field(default_factory=dict)
    inserted_jobs: list[str] = field(default_factory=list)
    # (seconds since the app started, duration, operation) of every transaction
    transactions: list[tuple[float, float, str]] = field(default_factory=list)


class _App:
    """One app connection and the pools it draws from."""

    def __init__(self, env: dict[str, str], app: AppSchema, seed: int) -> None:
        self.conn = connect(env)
        self.app = app
        self.rng = random.Random(seed)
        self.log = AppLog()
        self.token = 0
        with self.conn.cursor() as cur:
            cur.execute(
                f"select id::text, phone, email from {self.table('Lead')}"
                " order by md5(id::text) limit 5000"
            )
            rows = cur.fetchall()
            cur.execute(f"select id::text from {self.table('Customer')} order by id limit 500")
            self.customers = [row[0] for row in cur.fetchall()]
        self.conn.commit()
        self.leads = [row[0] for row in rows]
        self.phones = [row[1] for row in rows if row[1]]
        self.emails = [row[2] for row in rows if row[2]]

    def table(self, name: str) -> str:
        return f'"{self.app.schema}"."{name}"'

    def insert_lead(self, cur: psycopg2.extensions.cursor) -> None:
        lead_id = str(uuid.uuid4())
        roll = self.rng.random()
        phone = email = None
        if roll < 0.4 and self.phones:
            phone = self.rng.choice(self.phones)
        elif roll < 0.6 and self.emails:
            email = self.rng.choice(self.emails)
        else:
            phone = f"(555) {self.rng.randrange(200, 999)}-{self.rng.randrange(1000, 9999)}"
        customer_id = None
        if self.customers and self.rng.random() < 0.1:
            customer_id = self.rng.choice(self.customers)
        cur.execute(
            f"insert into {self.table('Lead')} (id, channel, name, phone, email, customer_id,"
            " updated_at) values (%s, 'sms', %s, %s, %s, %s, now())",
            (lead_id, f"App Lead {len(self.log.inserted_leads)}", phone, email, customer_id),
        )
        self.log.inserted_leads.append(lead_id)
        if customer_id:
            self.log.app_linked_leads[lead_id] = customer_id
        self.leads.append(lead_id)

    def insert_job(self, cur: psycopg2.extensions.cursor, lead_id: str | None = None) -> None:
        job_id = str(uuid.uuid4())
        lead_id = lead_id or self.rng.choice(self.leads)
        if self.rng.random() < 0.5:
            # app code that knows about customer_id copies its lead's (as committed now)
            cur.execute(
                f"insert into {self.table('Job')} (id, lead_id, customer_id, {JOB_WINDOW})"
                f" select %s, id, customer_id, {JOB_WINDOW_VALUES}"
                f" from {self.table('Lead')} where id = %s",
                (job_id, lead_id),
            )
        else:
            cur.execute(
                f"insert into {self.table('Job')} (id, lead_id, {JOB_WINDOW})"
                f" values (%s, %s, {JOB_WINDOW_VALUES})",
                (job_id, lead_id),
            )
        self.log.inserted_jobs.append(job_id)

    def update_lead(self, cur: psycopg2.extensions.cursor, lead_id: str | None = None) -> str:
        lead_id = lead_id or self.rng.choice(self.leads)
        self.token += 1
        cur.execute(
            f'update {self.table("Lead")} set stage = %s, "stateMetadata" = %s,'
            " updated_at = now(), last_customer_message_at = now() where id = %s",
            (stage_of(self.token), Json({"appWrite": self.token}), lead_id),
        )
        return lead_id

    def run_one(self, kind: str) -> None:
        with self.conn.cursor() as cur:
            if kind == "insert_lead":
                self.insert_lead(cur)
            elif kind == "insert_job":
                self.insert_job(cur)
            elif kind == "update_lead":
                lead_id = self.update_lead(cur)
            else:
                lead_id = self.update_lead(cur)
                self.insert_job(cur, lead_id)
        self.conn.commit()
        if kind.startswith("update_lead"):
            self.log.lead_tokens[lead_id] = self.token


def app_loop(
    env: dict[str, str],
    app: AppSchema,
    seed: int,
    max_seconds: float,
    max_operations: int,
    pause: float,
    stop: multiprocessing.synchronize.Event,  # type: ignore[name-defined]
    out_path: str,
) -> None:
    """The app: bounded by operations and seconds, and stops when told (runs in its own
    process; writes its log as JSON to `out_path`)."""
    writer = _App(env, app, seed)
    kinds = [kind for kind, _ in OPERATIONS]
    weights = [weight for _, weight in OPERATIONS]
    begun = time.monotonic()
    writer.log.started = time.time()
    done = 0
    while done < max_operations and time.monotonic() - begun < max_seconds and not stop.is_set():
        kind = writer.rng.choices(kinds, weights)[0]
        at = time.monotonic()
        try:
            writer.run_one(kind)
            writer.log.operations[kind] = writer.log.operations.get(kind, 0) + 1
        except psycopg2.Error as error:
            writer.conn.rollback()
            writer.log.errors.append(f"{kind}: {error.pgcode} {str(error).strip()[:200]}")
        writer.log.transactions.append((at - begun, time.monotonic() - at, kind))
        done += 1
        time.sleep(pause)
    writer.conn.close()
    Path(out_path).write_text(json.dumps(asdict(writer.log)))


# -- the harness -------------------------------------------------------------------------------
@dataclass
class TrafficConfig:
    work_dir: Path
    leads: int = 30_000
    seed: int = 7
    pause: float = 0.01
    max_seconds: float = 900.0
    max_operations: int = 100_000
    slow_apply: float = 0.0
    app: AppSchema = field(default_factory=AppSchema)
    prefix: str = "backfill_traffic"
    keep: bool = False


@dataclass
class TrafficReport:
    figures: dict[str, object]
    failures: list[str]

    @property
    def held(self) -> bool:
        return not self.failures

    def format(self) -> str:
        lines = [f"{name:<44} {value}" for name, value in self.figures.items()]
        lines.append(
            "RESULT: " + ("everything held" if self.held else "FAILED: " + "; ".join(self.failures))
        )
        return "\n".join(lines)


def _scalar(conn: psycopg2.extensions.connection, sql: str, params: object = None) -> object:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    conn.rollback()
    return row[0] if row else None


def _deadlocks(conn: psycopg2.extensions.connection) -> int:
    value = _scalar(
        conn, "select deadlocks from pg_stat_database where datname = current_database()"
    )
    return int(value or 0)


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def check_state(
    conn: psycopg2.extensions.connection, app: AppSchema, log: AppLog, after_second_run: bool
) -> tuple[dict[str, object], list[str]]:
    """Counts and failures of the app tables against what the app did and the ledger."""
    s = f'"{app.schema}"'
    ledger = f"{PROJECT_SCHEMA}.backfill_ledger"
    figures: dict[str, object] = {}
    failures: list[str] = []
    tokens = Json(log.lead_tokens)
    lost = _scalar(
        conn,
        f"select count(*) from jsonb_each_text(%s::jsonb) as written(lead_id, token)"
        f' left join {s}."Lead" as leads on leads.id = written.lead_id::uuid'
        f" where leads.\"stateMetadata\"->>'appWrite' is distinct from written.token"
        f" or leads.stage::text is distinct from (%s::text[])[written.token::int %% %s + 1]",
        (tokens, list(LEAD_STAGES), len(LEAD_STAGES)),
    )
    figures["app updates lost"] = lost
    if lost:
        failures.append(f"{lost} app updates lost")
    links_lost = _scalar(
        conn,
        f'select count(*) from {ledger} as ledger inner join {s}."Lead" as leads'
        f" on ledger.object_type = 'lead' and leads.id = ledger.object_id"
        f" where leads.customer_id is distinct from ledger.customer_id",
    )
    figures["backfill lead links lost"] = links_lost
    if links_lost:
        failures.append(f"{links_lost} backfill lead links lost")
    app_links = Json(log.app_linked_leads)
    app_links_changed = _scalar(
        conn,
        f"select count(*) from jsonb_each_text(%s::jsonb) as linked(lead_id, customer_id)"
        f' left join {s}."Lead" as leads on leads.id = linked.lead_id::uuid'
        f" where leads.customer_id::text is distinct from linked.customer_id",
        (app_links,),
    )
    figures["app-made links changed"] = app_links_changed
    if app_links_changed:
        failures.append(f"{app_links_changed} app-made lead links changed")
    duplicates = _scalar(
        conn,
        f"select (select count(*) - count(distinct object_id) from {ledger}"
        f" where object_type = 'customer')"
        f" + (select count(*) - count(distinct metadata->>'groupKey') from {s}.\"Customer\""
        f" where metadata ? 'runId')",
    )
    figures["duplicate backfill customers"] = duplicates
    if duplicates:
        failures.append(f"{duplicates} duplicate backfill customers")
    empty = _scalar(
        conn,
        f"select count(*) from {s}.\"Customer\" as customers where customers.metadata ? 'runId'"
        f' and not exists (select 1 from {s}."Lead" as leads'
        f" where leads.customer_id = customers.id)",
    )
    figures["backfill customers without a lead"] = empty
    if empty:
        failures.append(f"{empty} backfill customers without a lead")
    new_leads = Json(log.inserted_leads)
    unlinked = _scalar(
        conn,
        f"select count(*) from jsonb_array_elements_text(%s::jsonb) as inserted(lead_id)"
        f' inner join {s}."Lead" as leads on leads.id = inserted.lead_id::uuid'
        f" where leads.customer_id is null",
        (new_leads,),
    )
    figures["app-inserted leads still unlinked"] = unlinked
    if after_second_run:
        conflicts = _scalar(
            conn,
            f"select count(*) from jsonb_array_elements_text(%s::jsonb) as inserted(lead_id)"
            f' inner join {s}."Lead" as leads on leads.id = inserted.lead_id::uuid'
            f" inner join {PROJECT_SCHEMA}.plan_conflicts as conflicts"
            f" on conflicts.object_id = leads.id"
            f" where leads.customer_id is null",
            (new_leads,),
        )
        figures["  of which reported in plan_conflicts"] = conflicts
        if unlinked != conflicts:
            failures.append(f"{unlinked} app-inserted leads unlinked after the next run")
        jobs_off = _scalar(
            conn,
            f"select count(*) from jsonb_array_elements_text(%s::jsonb) as inserted(job_id)"
            f' inner join {s}."Job" as jobs on jobs.id = inserted.job_id::uuid'
            f' inner join {s}."Lead" as leads on leads.id = jobs.lead_id'
            f" where leads.customer_id is not null"
            f" and jobs.customer_id is distinct from leads.customer_id",
            (Json(log.inserted_jobs),),
        )
        figures["app-inserted jobs not on their lead's customer"] = jobs_off
        if jobs_off:
            failures.append(f"{jobs_off} app jobs not on their lead's customer")
    return figures, failures


def _load_log(path: Path) -> AppLog:
    raw = json.loads(path.read_text())
    log = AppLog(**raw)
    log.transactions = [tuple(item) for item in raw["transactions"]]  # type: ignore[misc]
    return log


def run_live_traffic(
    server: Server, config: TrafficConfig, out: Callable[[str], None] = print
) -> TrafficReport:
    config.work_dir.mkdir(parents=True, exist_ok=True)
    database = f"{config.prefix}_db"
    generate_database(server, database, config.app, config.leads, config.seed)
    env = server.libpq_env(database)
    conn = connect(env)
    if config.slow_apply > 0:
        install_slow_apply(env, config.app, config.slow_apply)
    project = project_for(env, config.app, config.work_dir / "dbt")
    out(f"dataset: {config.leads:,} leads (seed {config.seed}) in database {database}")
    deadlocks_before = _deadlocks(conn)
    leads_before = int(_scalar(conn, f'select count(*) from "{config.app.schema}"."Lead"') or 0)

    stop = multiprocessing.get_context("fork").Event()
    log_path = config.work_dir / "app-log.json"
    writer = multiprocessing.get_context("fork").Process(
        target=app_loop,
        args=(env, config.app, config.seed, config.max_seconds, config.max_operations,
              config.pause, stop, str(log_path)),
    )  # fmt: skip
    writer.start()
    started = time.time()
    first_log = config.work_dir / "first-run.log"
    outcome = watched_run(project, env, config.app, first_log, None)
    stop.set()
    writer.join(timeout=120)
    log = _load_log(log_path)
    first_ok = run_done("build", first_log.read_text())

    applying = [snap.elapsed for snap in outcome.snapshots if snap.in_apply]
    offset = log.started - started  # app clock relative to the run's start
    window = (applying[0] - offset, applying[-1] - offset) if applying else (0.0, -1.0)
    in_apply = [t for t in log.transactions if window[0] <= t[0] <= window[1]]
    durations = [t[1] for t in log.transactions]
    figures: dict[str, object] = {
        "dataset leads": leads_before,
        "first run": f"{'ok' if first_ok else 'FAILED'} in {outcome.snapshots[-1].elapsed:.1f} s"
        if outcome.snapshots
        else "no snapshot",
        "apply transaction open (s)": f"{len(applying) and applying[-1] - applying[0]:.2f}",
        "app transactions (committed)": sum(log.operations.values()),
        "  by kind": dict(log.operations),
        "  while the apply transaction was open": len(in_apply),
        "app errors": len(log.errors),
        "app transaction seconds p50 / p99 / max": (
            f"{statistics.median(durations) if durations else 0:.3f} /"
            f" {_percentile(durations, 0.99):.3f} / {max(durations, default=0):.3f}"
        ),
        "  max while the apply was open": f"{max((t[1] for t in in_apply), default=0):.3f}",
    }
    failures = [] if first_ok else ["the first run failed (see first-run.log)"]
    failures += [f"app error: {error}" for error in log.errors[:5]]
    first_figures, first_failures = check_state(conn, config.app, log, after_second_run=False)
    figures.update({f"after run 1: {k}": v for k, v in first_figures.items()})
    failures += first_failures

    # Whether the first run's state was validated: the second run may then skip its work
    # only if nothing but the first run's own writes changed its inputs (the app's did).
    figures["first run validated its settled state"] = bool(
        _scalar(
            conn,
            "select count(*) from customer_backfill.backfill_settled_inputs"
            " where validated_at is not null",
        )
    )
    second = project.run("build", check=False)
    (config.work_dir / "second-run.log").write_text(second.output)
    second_ok = run_done("build", second.output)
    figures["second run"] = "ok" if second_ok else "FAILED"
    figures["second run found nothing changed"] = UNCHANGED_RUN in second.output
    if not second_ok:
        failures.append("the second run failed (see second-run.log)")
    second_figures, second_failures = check_state(conn, config.app, log, after_second_run=True)
    figures.update({f"after run 2: {k}": v for k, v in second_figures.items()})
    failures += second_failures
    deadlocks = _deadlocks(conn) - deadlocks_before
    figures["deadlocks (pg_stat_database)"] = deadlocks
    if deadlocks:
        failures.append(f"{deadlocks} deadlocks")
    conn.close()
    if not config.keep:
        server.drop_database(database)
    report = TrafficReport(figures, failures)
    out(report.format())
    return report
