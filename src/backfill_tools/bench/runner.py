"""`backfill-dev bench`: the project against the original per-row script and the SQL floor.

For each size, on an embedded PostgreSQL started for the benchmark:

1. generate the labeled dataset into a template database (not timed), vacuum and
   analyze it once;
2. on a fresh copy of the template (`create database ... template ...`), time the dry
   run, then on that same database the real run that follows it (the tables of the
   plan that nothing has changed for are kept: REUSED); on another fresh copy, the
   real run (`dbt build`, tests included), then on that
   same database the idempotent re-run, the re-run after changes and the rollback (`dbt
   run-operation rollback_backfill`, when the project has that macro), with the peak RSS
   of each dbt process and the size of the project's own relations. The re-run after
   changes: what the app does between two runs (`quality.changes`: 1% new leads, 0.1% of
   the leads with new identifiers, the conversations of a tenth of the leads and a
   twentieth of the jobs; the same seeded changes for every project) applied to
   that database, then `dbt build`; it runs on the database while a copy of it waits for
   the rollback, which so undoes the real run alone, as it did before the step existed;
3. on fresh copies again, the floor (`sql/bench_floor.sql`) and, up to `per_row_max`
   leads, the per-row script (`baselines`);
4. with `network_delay_ms`, every project step and the per-row script once more through
   a local proxy that adds that much to each round trip (`netdelay`: the database on
   another machine), each project as a second label "<label> via hop"; the floor stays
   local (a few statements). The proxy's own added latency is measured first (1,000
   `select 1` through it and directly);

then print the table and write `latest.md` and `latest.json`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from backfill_tools.bench.baselines import run_floor, run_per_row
from backfill_tools.bench.measure import Timed, run_dbt_measured
from backfill_tools.bench.netdelay import ProxyProcess, measure_round_trips, proxy_process
from backfill_tools.bench.nodes import critical_path, node_timings, seconds_by_type, slowest_nodes
from backfill_tools.bench.report import (
    HOP_SUFFIX,
    BenchReport,
    NetworkHop,
    ProjectResult,
    SizeResult,
    StepResult,
    machine_facts,
)
from backfill_tools.db.appdb import AppSchema
from backfill_tools.db.devdb import DevDb, free_port
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import PROJECT_DIR, UNCHANGED_RUN, DbtProject
from backfill_tools.quality.changes import AppChanges, app_changes, load_changes
from backfill_tools.quality.generate import generate_database

PER_ROW_MAX = 100_000
PROXY_PROBE_QUERIES = 1000
RUN_DATABASE = "bench_run"
SAVED_SUFFIX = "_saved"  # the real run's database, kept for the rollback during the changes
PROJECT_SCHEMA = "customer_backfill"
ROLLBACK_MACRO = "macro.customer_backfill.rollback_backfill"


def parse_sizes(text: str) -> list[int]:
    """`10k,100k,1M` -> [10000, 100000, 1000000]."""
    sizes = []
    for part in text.split(","):
        token = part.strip().lower().replace("_", "")
        factor = {"k": 1_000, "m": 1_000_000}.get(token[-1:], 1)
        number = token[:-1] if factor > 1 else token
        if not number.isdigit() or int(number) <= 0:
            raise ValueError(f"not a size: {part!r} (write e.g. 300, 10k, 1M)")
        sizes.append(int(number) * factor)
    return sizes


@dataclass(frozen=True)
class LinkCounts:
    """The state the outcome of a run is counted from."""

    customers: int
    linked_leads: int
    linked_jobs: int

    def minus(self, before: LinkCounts) -> dict[str, int]:
        return {
            "customers_created": self.customers - before.customers,
            "leads_linked": self.linked_leads - before.linked_leads,
            "jobs_linked": self.linked_jobs - before.linked_jobs,
        }


@dataclass
class BenchServer:
    """The benchmark's PostgreSQL and the databases it makes there."""

    server: Server
    app: AppSchema = field(default_factory=AppSchema)

    def env(self, database: str) -> dict[str, str]:
        return self.server.libpq_env(database)

    def make_template(self, name: str, leads: int, seed: int) -> float:
        """A database with the app tables and `leads` generated leads; generation seconds."""
        summary = generate_database(self.server, name, self.app, leads, seed)
        self.server.admin("vacuum (freeze, analyze)", database=name)
        return summary.seconds

    def fresh_copy(self, template: str, database: str = RUN_DATABASE) -> None:
        """`database` recreated from the template, and a checkpoint so no write is pending."""
        self.server.recreate(database, template, strategy="file_copy")
        self.server.admin("checkpoint")

    def save(self, database: str) -> str:
        """A copy of `database` to come back to (`restore`); its name."""
        saved = database + SAVED_SUFFIX
        self.fresh_copy(database, saved)
        return saved

    def restore(self, saved: str, database: str) -> None:
        """`database` replaced by its copy `saved`."""
        self.server.drop_database(database)
        self.server.admin(f'alter database "{saved}" rename to "{database}"', "checkpoint")

    def apply_changes(self, database: str, changes: AppChanges) -> None:
        """The app's changes between two runs, written, and a checkpoint after them."""
        with self.server.connection(database) as conn:
            load_changes(conn, self.app, changes)
        self.server.admin("checkpoint")

    def scalar(self, database: str, sql: str) -> int:
        with self.server.connection(database) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0] or 0)

    def count(self, database: str, table: str, where: str = "true") -> int:
        return self.scalar(
            database, f'select count(*) from "{self.app.schema}"."{table}" where {where}'
        )

    def link_counts(self, database: str) -> LinkCounts:
        return LinkCounts(
            self.count(database, "Customer"),
            self.count(database, "Lead", "customer_id is not null"),
            self.count(database, "Job", "customer_id is not null"),
        )

    def project_bytes(self, database: str) -> int:
        """Bytes of the project's own relations (tables, their indexes and TOAST)."""
        return self.scalar(
            database,
            "select sum(pg_total_relation_size(c.oid)) from pg_class as c"
            " inner join pg_namespace as n on c.relnamespace = n.oid"
            f" where n.nspname = '{PROJECT_SCHEMA}' and c.relkind in ('r', 'p', 'm')",
        )


def _timed(action: Callable[[], object]) -> Timed:
    started = time.monotonic()
    action()
    return Timed(time.monotonic() - started)


def has_rollback_macro(project: DbtProject) -> bool:
    manifest = project.work_dir / "target" / "manifest.json"
    return ROLLBACK_MACRO in json.loads(manifest.read_text()).get("macros", {})


class Bench:
    """Runs every measurement of one size on one `BenchServer`.

    Several projects (e.g. `before` and `after` checkouts) are measured step by step in
    turn, each on its own copy of the data, so that they share the machine's load.
    """

    def __init__(
        self,
        db: BenchServer,
        dbt_dir: Path,
        per_row_max: int,
        log: Callable[[str], None],
        project_dirs: dict[str, Path],
        hop: ProxyProcess | None = None,
    ) -> None:
        self.db = db
        self.per_row_max = per_row_max
        self.log = log
        self.hop = hop
        # each project, then (with a hop) the same project through it, step by step in turn
        servers = [("", db.server)] + ([(HOP_SUFFIX, hop.server)] if hop else [])
        labelled = [
            (label + suffix, project_dir, server)
            for label, project_dir in project_dirs.items()
            for suffix, server in servers
        ]
        self.hop_labels = {label for label, _, server in labelled if hop and server is hop.server}
        self.projects = {
            label: DbtProject(
                env=server.libpq_env(run_database(index)),
                work_dir=dbt_dir / label.replace(" ", "-"),
                project_dir=project_dir,
            )
            for index, (label, project_dir, server) in enumerate(labelled)
        }

    def databases(self) -> list[str]:
        return [run_database(index) for index in range(len(self.projects))]

    def measure_size(self, leads: int, seed: int) -> SizeResult:
        template = f"bench_template_{leads}"
        self.log(f"[{leads:,} leads] generating the data (not timed)")
        generate_seconds = self.db.make_template(template, leads, seed)
        self.log(f"[{leads:,} leads] making the changes of the re-run after changes (not timed)")
        changes = app_changes(seed, leads)
        before = self.db.link_counts(template)
        result = SizeResult(
            leads=self.db.count(template, "Lead"),
            jobs=self.db.count(template, "Job"),
            unlinked_leads=self.db.count(template, "Lead", "customer_id is null"),
            unlinked_jobs=self.db.count(template, "Job", "customer_id is null"),
            app_bytes=self.db.scalar(template, f"select pg_database_size('{template}')"),
            generate_seconds=generate_seconds,
            changes=changes.counts(),
            projects={
                label: ProjectResult(via_hop=label in self.hop_labels) for label in self.projects
            },
        )
        try:
            self.measure_projects(template, before, result, changes)
            self.measure_baselines(template, before, result)
        finally:
            for database in self.databases():
                self.db.server.drop_database(database)
                self.db.server.drop_database(database + SAVED_SUFFIX)
            self.db.server.drop_database(template)
        return result

    def record(
        self,
        result: SizeResult,
        steps: dict[str, StepResult],
        name: str,
        timed: Timed,
        outcome: dict[str, int] | None,
        project: DbtProject | None = None,
        label: str = "",
    ) -> None:
        target_dir = project.work_dir / "target" if project else None
        timings = node_timings(target_dir) if target_dir else []
        steps[name] = StepResult(
            timed.seconds,
            timed.peak_rss_mib,
            outcome,
            "",
            slowest_nodes(timings),
            seconds_by_type(timings),
            critical_path(target_dir) if target_dir else None,
        )
        peak = f", dbt peak RSS {timed.peak_rss_mib:.0f} MiB" if timed.peak_rss_mib else ""
        who = f" {label}" if label and len(self.projects) > 1 else ""
        self.log(f"[{result.leads:,} leads]{who} {name}: {timed.seconds:.1f} s{peak}")

    def run_step(
        self,
        result: SizeResult,
        label: str,
        database: str,
        name: str,
        args: tuple[str, ...],
        vars: dict[str, object] | None = None,
        before: LinkCounts | None = None,
    ) -> None:
        project = self.projects[label]
        requests = self.hop_requests()
        ran, timed = run_dbt_measured(project, *args, vars=vars)
        outcome = self.db.link_counts(database).minus(before) if before else None
        steps = result.projects[label].steps
        self.record(result, steps, name, timed, outcome, project, label)
        steps[name].found_unchanged = UNCHANGED_RUN in ran.stdout
        if label in self.hop_labels:
            steps[name].requests = self.hop_requests() - requests

    def hop_requests(self) -> int:
        """Requests the proxy has forwarded so far (about one per round trip); 0 without."""
        return int(self.hop.stats()["requests"]) if self.hop else 0

    def measure_projects(
        self, template: str, before: LinkCounts, result: SizeResult, changes: AppChanges
    ) -> None:
        pairs = list(zip(self.projects, self.databases(), strict=True))
        for label, database in pairs:
            self.db.fresh_copy(template, database)
            self.run_step(result, label, database, "dry_run", ("build",), {"dry_run": True}, before)
        for label, database in pairs:
            self.run_step(result, label, database, "real_after_dry", ("build",), None, before)
        after_run: dict[str, LinkCounts] = {}
        for label, database in pairs:
            self.db.fresh_copy(template, database)
            self.run_step(result, label, database, "real_run", ("build",), None, before)
            result.projects[label].project_bytes = self.db.project_bytes(database)
            after_run[label] = self.db.link_counts(database)
        for label, database in pairs:
            self.run_step(result, label, database, "rerun", ("build",), None, after_run[label])
        for label, database in pairs:
            self.changed_rerun(result, label, database, changes)
        for label, database in pairs:
            if has_rollback_macro(self.projects[label]):
                args = ("run-operation", "rollback_backfill")
                self.run_step(result, label, database, "rollback", args)
            else:
                result.projects[label].steps["rollback"] = StepResult(note="n/a")
                self.log(f"[{result.leads:,} leads] rollback: n/a (no rollback_backfill macro)")

    def changed_rerun(
        self, result: SizeResult, label: str, database: str, changes: AppChanges
    ) -> None:
        """`dbt build` after the app's changes, on the real run's database; the database as
        the re-run left it is back in place afterwards, for the rollback."""
        saved = self.db.save(database)
        self.db.apply_changes(database, changes)
        result.projects[label].leads_after_changes = self.db.count(database, "Lead")
        before = self.db.link_counts(database)
        self.run_step(result, label, database, "changed_rerun", ("build",), None, before)
        self.db.restore(saved, database)

    def measure_baselines(self, template: str, before: LinkCounts, result: SizeResult) -> None:
        database = self.databases()[0]
        self.db.fresh_copy(template, database)
        with self.db.server.connection(database) as conn:
            timed = _timed(lambda: run_floor(conn, self.db.app))
        self.record(result, result.baselines, "floor", timed, self.outcome(database, before))

        routes = [("per_row", self.db.server)]
        routes += [("per_row_hop", self.hop.server)] if self.hop else []
        for name, server in routes:
            if result.leads > self.per_row_max:
                result.baselines[name] = StepResult(note=f"skipped above {self.per_row_max:,}")
                continue
            self.db.fresh_copy(template, database)
            requests = self.hop_requests()
            with server.connection(database) as conn:
                timed = _timed(lambda conn=conn: run_per_row(conn, self.db.app))
            self.record(result, result.baselines, name, timed, self.outcome(database, before))
            if server is not self.db.server:
                result.baselines[name].requests = self.hop_requests() - requests

    def outcome(self, database: str, before: LinkCounts) -> dict[str, int]:
        return self.db.link_counts(database).minus(before)


def run_database(index: int) -> str:
    return RUN_DATABASE if index == 0 else f"{RUN_DATABASE}_{index}"


def run_bench(
    sizes: Sequence[int],
    server: Server,
    out_dir: Path,
    dbt_dir: Path,
    seed: int = 7,
    per_row_max: int = PER_ROW_MAX,
    command: str = "",
    log: Callable[[str], None] = print,
    project_dirs: dict[str, Path] | None = None,
    network_delay_ms: float | None = None,
) -> BenchReport:
    """Measure every size on `server` (running); the report, rewritten after each size.

    With `network_delay_ms`, also through a proxy adding that much to each round trip."""
    db = BenchServer(server)
    report = BenchReport(command=command, machine=machine_facts(server), seed=seed)
    with network_hop(server, network_delay_ms, log) as (hop, probe):
        report.network = probe
        bench = Bench(db, dbt_dir, per_row_max, log, project_dirs or {"project": PROJECT_DIR}, hop)
        for leads in sizes:
            report.sizes.append(bench.measure_size(leads, seed))
            report.finish()
            report.write(out_dir)
    return report


@contextmanager
def network_hop(
    server: Server, delay_ms: float | None, log: Callable[[str], None]
) -> Iterator[tuple[ProxyProcess | None, NetworkHop | None]]:
    """The server through a delay proxy (its own process) and what the proxy measured to
    add per round trip; (None, None) without a delay."""
    if delay_ms is None:
        yield None, None
        return
    with proxy_process(server, delay_ms) as hop:
        trips = measure_round_trips(server, hop.server, PROXY_PROBE_QUERIES)
        log(
            f"network hop: {trips.queries:,} x select 1, {trips.direct_ms:.3f} ms direct,"
            f" {trips.proxied_ms:.3f} ms through the proxy: +{trips.added_ms:.3f} ms"
            f" per round trip (configured {delay_ms:g} ms)"
        )
        yield (
            hop,
            NetworkHop(delay_ms, trips.queries, trips.direct_ms, trips.proxied_ms, trips.added_ms),
        )


def bench_main(
    sizes: Sequence[int],
    seed: int,
    pg_version: int,
    per_row_max: int,
    out_dir: Path,
    command: str,
    project_dirs: dict[str, Path] | None = None,
    network_delay_ms: float | None = None,
) -> BenchReport:
    """The CLI's benchmark: its own server on a free port, in `.devdb/bench-<port>`.

    `project_dirs` are the dbt projects to measure, by label (default: this one; another
    checkout beside it compares versions under the same load).
    """
    port = free_port()
    devdb = DevDb(PROJECT_DIR / ".devdb" / f"bench-{port}", port=port, version=pg_version)
    devdb.start()
    dbt_dir = PROJECT_DIR / ".devdb" / f"bench-dbt-{port}"
    try:
        report = run_bench(
            sizes,
            devdb.server,
            out_dir,
            dbt_dir,
            seed,
            per_row_max,
            command,
            print,
            project_dirs,
            network_delay_ms,
        )
    finally:
        devdb.destroy()
        shutil.rmtree(dbt_dir, ignore_errors=True)
    print(report.markdown())
    print(f"written: {out_dir / 'latest.md'} and {out_dir / 'latest.json'}")
    return report
