"""The benchmark's report: the machine, one row per size, ratios, and the files it writes."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from backfill_tools.bench.nodes import CriticalPath
from backfill_tools.db.server import Server

MIB = 1024 * 1024
# name in the report -> column title
STEPS = {
    "dry_run": "dry run",
    "real_run": "real run",
    "real_after_dry": "real run after its dry run",
    "rerun": "re-run",
    "changed_rerun": "re-run after changes",
    "rollback": "rollback",
    "floor": "floor",
    "per_row": "per-row",
}
# target ratio of the issue (at 1M leads): numerator step, denominator step, at most
TARGETS = (
    ("real_run", "floor", 3.0),
    ("dry_run", "floor", 0.5),
    ("rerun", "floor", 0.15),
    ("changed_rerun", "floor", 0.3),
)
# A dataset this small is all dbt's own cost: parsing, ~160 nodes, their connections
# and catalog queries. The same step on it bounds what any SQL change can reach.
FIXED_COST_MAX_LEADS = 1_000
PEAK_RSS_TARGET_MIB = 300.0
PER_ROW_SPEEDUP_TARGET = 10.0
GROWTH_TARGET = 12.0
# a project measured through the network-hop proxy is labelled "<label> via hop"; its
# per-row baseline is the one through the proxy too (`per_row_hop`)
HOP_SUFFIX = " via hop"
HOP_BASELINE = "{}_hop"
HOP_STEPS = (
    "dry_run",
    "real_run",
    "real_after_dry",
    "rerun",
    "changed_rerun",
    "rollback",
    "per_row",
)
# the dbt steps whose slowest nodes and critical path the report lists
PROJECT_STEPS = ("dry_run", "real_run", "real_after_dry", "rerun", "changed_rerun", "rollback")


@dataclass(frozen=True)
class NetworkHop:
    """The proxy between the benchmark and PostgreSQL: its configured delay per round trip
    and what it measured to add (mean ms per `select 1`, through it and directly)."""

    delay_ms: float
    queries: int
    direct_ms: float
    proxied_ms: float
    added_ms: float


@dataclass
class StepResult:
    """One measurement: seconds, the dbt process's peak RSS, what it changed, or a note."""

    seconds: float | None = None
    peak_rss_mib: float | None = None
    outcome: dict[str, int] | None = None
    note: str = ""
    slowest_nodes: list[tuple[str, float]] = field(default_factory=list)
    node_seconds_by_type: dict[str, float] = field(default_factory=dict)
    critical_path: CriticalPath | None = None
    # through the network-hop proxy: the requests it forwarded (about the round trips)
    requests: int | None = None
    # the build said nothing had changed since a validated real run (it kept every table
    # and did not run the checks again)
    found_unchanged: bool = False


@dataclass
class ProjectResult:
    """The dbt steps of one project on one dataset."""

    steps: dict[str, StepResult] = field(default_factory=dict)
    project_bytes: int = 0
    via_hop: bool = False
    leads_after_changes: int = 0  # the leads the re-run after changes found

    def peak_rss_mib(self) -> float | None:
        peaks = [s.peak_rss_mib for s in self.steps.values() if s.peak_rss_mib is not None]
        return max(peaks) if peaks else None


@dataclass
class SizeResult:
    """Every measurement on one dataset: the baselines, and each project's dbt steps."""

    leads: int
    jobs: int
    unlinked_leads: int
    unlinked_jobs: int
    app_bytes: int
    generate_seconds: float
    baselines: dict[str, StepResult] = field(default_factory=dict)
    projects: dict[str, ProjectResult] = field(default_factory=dict)
    # what the app changed before the re-run after changes (`AppChanges.counts`)
    changes: dict[str, int] = field(default_factory=dict)

    def step(self, name: str, project: str | None = None) -> StepResult | None:
        """A project's step, or a baseline (through the hop for a project measured so)."""
        label = project or next(iter(self.projects), "")
        found = self.projects.get(label)
        if found and found.via_hop and HOP_BASELINE.format(name) in self.baselines:
            return self.baselines[HOP_BASELINE.format(name)]
        if name in self.baselines:
            return self.baselines[name]
        return found.steps.get(name) if found else None

    def seconds(self, name: str, project: str | None = None) -> float | None:
        found = self.step(name, project)
        return found.seconds if found else None

    def ratio(self, numerator: str, denominator: str, project: str | None = None) -> float | None:
        top, bottom = self.seconds(numerator, project), self.seconds(denominator, project)
        return top / bottom if top is not None and bottom else None

    def cell(self, name: str, project: str | None = None) -> str:
        found = self.step(name, project)
        if found is None:
            return "-"
        return f"{found.seconds:.1f}" if found.seconds is not None else found.note


def _critical_path_text(path: CriticalPath, shown: int = 8) -> str:
    """The chain's seconds and its slowest nodes, in run order."""
    slowest = sorted(path.nodes, key=lambda node: node[1], reverse=True)[:shown]
    threshold = min(seconds for _, seconds in slowest)
    kept = [(name, seconds) for name, seconds in path.nodes if seconds >= threshold][:shown]
    names = " > ".join(f"{name} {seconds:.1f}" for name, seconds in kept)
    return f"{path.seconds:.0f} s in {len(path.nodes)} nodes, the slowest in run order: {names}"


def _mark(met: bool) -> str:
    return "met" if met else "NOT met"


def machine_facts(server: Server) -> dict[str, str]:
    """What the figures depend on: cores, memory, CPU, PostgreSQL and dbt versions."""
    from importlib.metadata import version

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    with server.connection("postgres") as conn, conn.cursor() as cur:
        cur.execute("show server_version")
        postgres = cur.fetchone()[0]
        cur.execute(
            "select string_agg(name || '=' || current_setting(name), ', ' order by name)"
            " from pg_settings where name in ('shared_buffers', 'work_mem', 'max_wal_size',"
            " 'maintenance_work_mem', 'max_parallel_workers_per_gather')"
        )
        settings = cur.fetchone()[0]
    return {
        "cores": str(os.cpu_count()),
        "memory": memory,
        "cpu": cpu,
        "os": platform.platform(),
        "postgresql": f"{postgres} (embedded, {settings})",
        "dbt": f"dbt-core {version('dbt-core')}, dbt-postgres {version('dbt-postgres')}",
        "python": platform.python_version(),
    }


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


@dataclass
class BenchReport:
    """The whole benchmark: machine, sizes, and when it ran (with the load around it)."""

    command: str
    machine: dict[str, str]
    seed: int
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    load_at_start: str = field(default_factory=_load)
    finished_at: str = ""
    load_at_end: str = ""
    sizes: list[SizeResult] = field(default_factory=list)
    network: NetworkHop | None = None

    def finish(self) -> None:
        self.finished_at = datetime.now(timezone.utc).isoformat()
        self.load_at_end = _load()

    def labels(self) -> list[str]:
        return list(self.sizes[0].projects) if self.sizes else []

    def table(self) -> list[str]:
        several = len(self.labels()) > 1
        head = (
            ["leads", "jobs"]
            + (["project"] if several else [])
            + [f"{title} s" for title in STEPS.values()]
            + ["real/floor", "after-dry/floor", "dry/floor", "re-run/floor"]
            + ["changed re-run/floor", "per-row/real"]
            + ["dbt peak RSS MiB", "project MiB", "app MiB"]
        )
        lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
        for size in self.sizes:
            for label, project in size.projects.items():
                ratios = [
                    size.ratio("real_run", "floor", label),
                    size.ratio("real_after_dry", "floor", label),
                    size.ratio("dry_run", "floor", label),
                    size.ratio("rerun", "floor", label),
                    size.ratio("changed_rerun", "floor", label),
                    size.ratio("per_row", "real_run", label),
                ]
                peak = project.peak_rss_mib()
                cells = (
                    [f"{size.leads:,}", f"{size.jobs:,}"]
                    + ([label] if several else [])
                    + [size.cell(step, label) for step in STEPS]
                    + [f"{r:.2f}x" if r is not None else "-" for r in ratios]
                    + [
                        f"{peak:.0f}" if peak is not None else "-",
                        f"{project.project_bytes / MIB:.0f}",
                        f"{size.app_bytes / MIB:.0f}",
                    ]
                )
                lines.append("| " + " | ".join(cells) + " |")
        return lines

    def changes_line(self) -> list[str]:
        """What the app changed before each size's re-run after changes."""
        lines = []
        for size in self.sizes:
            c = size.changes
            if c:
                lines.append(
                    f"Changes at {size.leads:,} leads: {c['new_leads']:,} new leads"
                    f" ({c['returning_leads']:,} of persons with leads, the rest of"
                    f" {c['new_persons']:,} new persons), {c['new_jobs']:,} new jobs,"
                    f" {c['changed_leads']:,} leads with changed identifiers; the"
                    " conversations of a tenth of the leads and a twentieth of the jobs.  "
                )
        return [*lines, ""] if lines else []

    def outcomes(self) -> list[str]:
        """What each approach changed: the counts the baselines are checked against."""
        lines = [
            "| leads | approach | customers created | leads linked | jobs linked |",
            "|---:|---|---:|---:|---:|",
        ]
        for size in self.sizes:
            lines.append(
                f"| {size.leads:,} | (before) | - | {size.unlinked_leads:,} unlinked"
                f" | {size.unlinked_jobs:,} unlinked |"
            )
            rows = [
                (f"{STEPS[step]} ({label})", size.step(step, label))
                for label in size.projects
                for step in ("real_run", "real_after_dry", "changed_rerun")
            ]
            rows += [(STEPS[name], size.step(name)) for name in ("floor", "per_row")]
            hop = size.baselines.get(HOP_BASELINE.format("per_row"))
            rows += [(f"{STEPS['per_row']}{HOP_SUFFIX}", hop)] if hop else []
            for title, found in rows:
                outcome = found.outcome if found else None
                if outcome:
                    lines.append(
                        f"| {size.leads:,} | {title} | {outcome['customers_created']:,}"
                        f" | {outcome['leads_linked']:,} | {outcome['jobs_linked']:,} |"
                    )
        return lines

    def target_checks(self) -> list[str]:
        """The issue's targets, each with the measured figure (printed, never asserted)."""
        lines = []
        for label in self.labels():
            if not self.sizes[0].projects[label].via_hop:
                lines += self.project_targets(label)
        return lines

    def fixed_cost(self, step: str, label: str) -> tuple[int, float] | None:
        """Leads and seconds of `step` on the smallest dataset, when it is small enough to
        be dbt's own cost (parsing, the nodes, their connections and catalog queries)."""
        smallest = min(self.sizes, key=lambda s: s.leads, default=None)
        largest = max(self.sizes, key=lambda s: s.leads, default=None)
        if smallest is None or smallest is largest or smallest.leads > FIXED_COST_MAX_LEADS:
            return None
        seconds = smallest.seconds(step, label)
        return (smallest.leads, seconds) if seconds is not None else None

    def project_targets(self, label: str) -> list[str]:
        local = [name for name in self.labels() if not self.sizes[0].projects[name].via_hop]
        who = f"{label}: " if len(local) > 1 else ""
        lines = []
        largest = max(self.sizes, key=lambda s: s.leads)
        for top, bottom, limit in TARGETS:
            ratio = largest.ratio(top, bottom, label)
            if ratio is None:
                continue
            lines.append(
                f"- {who}{largest.leads:,} leads: {STEPS[top]} / {STEPS[bottom]} = "
                f"{ratio:.2f}x (target <= {limit}x): {_mark(ratio <= limit)}"
            )
            step = largest.projects[label].steps.get(top)
            if step and step.found_unchanged:
                lines.append(
                    "  - it found nothing changed since the real run: every table kept,"
                    " nothing written but its run and Audit rows, the checks not run again"
                )
            fixed = self.fixed_cost(top, label)
            if fixed and ratio > limit:
                leads, seconds = fixed
                lowest = seconds / (largest.seconds(bottom, label) or seconds)
                lines.append(
                    f"  - dbt's fixed cost: the same step on {leads:,} leads took {seconds:.1f} s,"
                    f" {lowest:.2f}x this {STEPS[bottom]}"
                    + (": above the target before any lead is read" if lowest > limit else "")
                )
        for size in self.sizes:
            speedup = size.ratio("per_row", "real_run", label)
            if speedup is None or size.leads < 100_000:
                continue
            lines.append(
                f"- {who}{size.leads:,} leads: per-row / real run = {speedup:.1f}x"
                f" (target >= {PER_ROW_SPEEDUP_TARGET:.0f}x):"
                f" {_mark(speedup >= PER_ROW_SPEEDUP_TARGET)}"
            )
            fixed = self.fixed_cost("real_run", label)
            per_row = size.seconds("per_row", label)
            if fixed and per_row and speedup < PER_ROW_SPEEDUP_TARGET:
                leads, seconds = fixed
                lines.append(
                    f"  - dbt's fixed cost: a real run on {leads:,} leads took {seconds:.1f} s,"
                    f" so per-row / real run is at most {per_row / seconds:.1f}x here"
                    f" even if the {size.leads:,} leads cost nothing"
                )
        peaks = [p for s in self.sizes if (p := s.projects[label].peak_rss_mib()) is not None]
        if peaks:
            lines.append(
                f"- {who}dbt peak RSS, all sizes: {max(peaks):.0f} MiB"
                f" (target < {PEAK_RSS_TARGET_MIB:.0f} MiB):"
                f" {_mark(max(peaks) < PEAK_RSS_TARGET_MIB)}"
            )
        by_leads = {s.leads: s for s in self.sizes}
        small, big = by_leads.get(100_000), by_leads.get(1_000_000)
        if small and big:
            low, high = small.seconds("real_run", label), big.seconds("real_run", label)
            if low and high:
                lines.append(
                    f"- {who}real run 1,000,000 / 100,000 = {high / low:.1f}x"
                    f" (target <= {GROWTH_TARGET:.0f}x): {_mark(high / low <= GROWTH_TARGET)}"
                )
        return lines

    def slowest(self) -> list[str]:
        """Where the time of the largest size goes: the slowest dbt nodes per step."""
        if not self.sizes:
            return []
        largest = max(self.sizes, key=lambda s: s.leads)
        lines = []
        steps = [(label, step) for label in largest.projects for step in PROJECT_STEPS]
        for label, step in steps:
            found = largest.step(step, label)
            who = f"{label}, " if len(largest.projects) > 1 else ""
            if found and found.slowest_nodes:
                nodes = ", ".join(f"{name} {seconds:.1f}" for name, seconds in found.slowest_nodes)
                sums = ", ".join(
                    f"{kind} {seconds:.0f}" for kind, seconds in found.node_seconds_by_type.items()
                )
                lines.append(
                    f"- {who}{STEPS[step]} ({largest.leads:,} leads, {found.seconds:.0f} s wall):"
                    f" {nodes}; summed by type: {sums}"
                )
            if found and found.critical_path and found.critical_path.nodes:
                lines.append(f"  - critical path: {_critical_path_text(found.critical_path)}")
        return lines

    def network_section(self) -> list[str]:
        """Each step locally and through the proxy, side by side (only with a hop)."""
        if self.network is None:
            return []
        hop = self.network
        lines = [
            f"Across a network hop: every project step and the per-row script also ran"
            f" through a local proxy adding {hop.delay_ms:g} ms to each round trip"
            f" (`bench/netdelay.py`; the floor ran locally only). Measured on"
            f" {hop.queries:,} `select 1`: {hop.direct_ms:.3f} ms direct,"
            f" {hop.proxied_ms:.3f} ms through the proxy, +{hop.added_ms:.3f} ms per round trip."
            " Requests: what the proxy forwarded from client to server during the step (about"
            " one per round trip); times the added latency, what they would cost one after"
            " another (dbt's threads overlap some).",
            "",
            "| leads | project | step | local s | via hop s | hop/local | requests via hop"
            " | requests x added latency s |",
            "|---:|---|---|---:|---:|---:|---:|---:|",
        ]
        for size in self.sizes:
            for label, project in size.projects.items():
                if project.via_hop:
                    continue
                lines += self.hop_rows(size, label, label + HOP_SUFFIX)
        return [*lines, ""]

    def hop_rows(self, size: SizeResult, local: str, remote: str) -> list[str]:
        rows = []
        added_ms = self.network.added_ms if self.network else 0.0
        for step in HOP_STEPS:
            near, far = size.step(step, local), size.step(step, remote)
            if near is None or far is None or near.seconds is None or far.seconds is None:
                continue
            requests = (
                f"{far.requests:,} | {far.requests * added_ms / 1000:.1f}"
                if far.requests is not None
                else "- | -"
            )
            rows.append(
                f"| {size.leads:,} | {local} | {STEPS[step]} | {near.seconds:.1f}"
                f" | {far.seconds:.1f} | {far.seconds / near.seconds:.2f}x | {requests} |"
            )
        near, far = (
            size.ratio("per_row", "real_run", local),
            size.ratio("per_row", "real_run", remote),
        )
        if near is not None and far is not None:
            rows.append(
                f"| {size.leads:,} | {local} | per-row / real run | {near:.2f}x | {far:.2f}x"
                " | | | |"
            )
        return rows

    def markdown(self) -> str:
        machine = "\n".join(f"- {key}: {value}" for key, value in self.machine.items())
        return "\n".join(
            [
                "# Benchmark: customer backfill",
                "",
                f"Command: `{self.command}`  ",
                f"Ran {self.started_at} to {self.finished_at}; load average (1, 5, 15 min)"
                f" {self.load_at_start} at the start, {self.load_at_end} at the end.",
                "",
                "Seconds, wall clock. dry run = `dbt build --vars '{dry_run: true}'`;"
                " real run = `dbt build` (tests included); real run after its dry run ="
                " `dbt build` on the database of the dry run, which may keep the tables of the"
                " plan nothing has changed for (REUSED); re-run = `dbt build` again on the"
                " same database as the real run; re-run after changes = `dbt build` once more"
                " there after what the app does between two runs (1% new leads, new persons and"
                " further leads of persons with leads, without a customer; 0.1% of the leads"
                " with a new phone or e-mail or the e-mail removed; a tenth of the leads with a"
                " new stage, last message and updated_at and a twentieth of the jobs with a new"
                " status, columns the backfill does not read; the same seeded changes for"
                " every project), the database as the re-run left it restored afterwards;"
                " rollback = `dbt run-operation rollback_backfill`;"
                " floor = `sql/bench_floor.sql`; per-row = the original script's loop"
                " (`bench/baselines.py`). Every measurement starts from a copy of the same"
                " generated database (the real run after its dry run follows the dry run; the"
                " re-run, the re-run after changes and the rollback follow the real run).",
                "",
                *self.table(),
                "",
                *self.changes_line(),
                *self.network_section(),
                "Targets of the issue:",
                "",
                *self.target_checks(),
                "",
                "What each approach changed:",
                "",
                *self.outcomes(),
                "",
                "Slowest dbt nodes, and the critical path (the chain of nodes that set the wall"
                " clock):",
                "",
                *self.slowest(),
                "",
                "Machine:",
                "",
                machine,
                "",
            ]
        )

    def write(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "latest.md").write_text(self.markdown())
        (out_dir / "latest.json").write_text(json.dumps(asdict(self), indent=2) + "\n")
