"""The benchmark's report: the machine, one row per size, ratios, and the files it writes."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from backfill_tools.devdb import DevDb

MIB = 1024 * 1024
# name in the report -> column title
STEPS = {
    "dry_run": "dry run",
    "real_run": "real run",
    "rerun": "re-run",
    "rollback": "rollback",
    "floor": "floor",
    "per_row": "per-row",
}
# target ratio of the issue (at 1M leads): numerator step, denominator step, at most
TARGETS = (
    ("real_run", "floor", 2.0),
    ("dry_run", "floor", 0.5),
    ("rerun", "floor", 0.3),
)
PEAK_RSS_TARGET_MIB = 300.0
PER_ROW_SPEEDUP_TARGET = 10.0
GROWTH_TARGET = 12.0


@dataclass
class StepResult:
    """One measurement: seconds, the dbt process's peak RSS, what it changed, or a note."""

    seconds: float | None = None
    peak_rss_mib: float | None = None
    outcome: dict[str, int] | None = None
    note: str = ""
    slowest_nodes: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class SizeResult:
    """Every measurement on one dataset."""

    leads: int
    jobs: int
    unlinked_leads: int
    unlinked_jobs: int
    app_bytes: int
    generate_seconds: float
    project_bytes: int = 0
    steps: dict[str, StepResult] = field(default_factory=dict)

    def seconds(self, step: str) -> float | None:
        found = self.steps.get(step)
        return found.seconds if found else None

    def ratio(self, numerator: str, denominator: str) -> float | None:
        top, bottom = self.seconds(numerator), self.seconds(denominator)
        return top / bottom if top is not None and bottom else None

    def peak_rss_mib(self) -> float | None:
        peaks = [s.peak_rss_mib for s in self.steps.values() if s.peak_rss_mib is not None]
        return max(peaks) if peaks else None

    def cell(self, step: str) -> str:
        found = self.steps.get(step)
        if found is None:
            return "-"
        return f"{found.seconds:.1f}" if found.seconds is not None else found.note


def machine_facts(server: DevDb) -> dict[str, str]:
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
    postgres = server.psql("show server_version").strip()
    settings = server.psql(
        "select string_agg(name || '=' || current_setting(name), ', ' order by name)"
        " from pg_settings where name in ('shared_buffers', 'work_mem', 'max_wal_size',"
        " 'maintenance_work_mem', 'max_parallel_workers_per_gather')"
    ).strip()
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

    def finish(self) -> None:
        self.finished_at = datetime.now(timezone.utc).isoformat()
        self.load_at_end = _load()

    def table(self) -> list[str]:
        head = (
            ["leads", "jobs"]
            + [f"{title} s" for title in STEPS.values()]
            + ["real/floor", "dry/floor", "re-run/floor", "per-row/real"]
            + ["dbt peak RSS MiB", "project MiB", "app MiB"]
        )
        lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
        for size in self.sizes:
            ratios = [
                size.ratio("real_run", "floor"),
                size.ratio("dry_run", "floor"),
                size.ratio("rerun", "floor"),
                size.ratio("per_row", "real_run"),
            ]
            peak = size.peak_rss_mib()
            cells = (
                [f"{size.leads:,}", f"{size.jobs:,}"]
                + [size.cell(step) for step in STEPS]
                + [f"{r:.2f}x" if r is not None else "-" for r in ratios]
                + [
                    f"{peak:.0f}" if peak is not None else "-",
                    f"{size.project_bytes / MIB:.0f}",
                    f"{size.app_bytes / MIB:.0f}",
                ]
            )
            lines.append("| " + " | ".join(cells) + " |")
        return lines

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
            for step in ("real_run", "floor", "per_row"):
                found = size.steps.get(step)
                outcome = found.outcome if found else None
                if outcome:
                    lines.append(
                        f"| {size.leads:,} | {STEPS[step]} | {outcome['customers_created']:,}"
                        f" | {outcome['leads_linked']:,} | {outcome['jobs_linked']:,} |"
                    )
        return lines

    def target_checks(self) -> list[str]:
        """The issue's targets, each with the measured figure (printed, never asserted)."""
        lines = []
        largest = max(self.sizes, key=lambda s: s.leads) if self.sizes else None
        if largest is not None:
            for top, bottom, limit in TARGETS:
                ratio = largest.ratio(top, bottom)
                if ratio is not None:
                    mark = "met" if ratio <= limit else "NOT met"
                    lines.append(
                        f"- {largest.leads:,} leads: {STEPS[top]} / {STEPS[bottom]} = "
                        f"{ratio:.2f}x (target <= {limit}x): {mark}"
                    )
        for size in self.sizes:
            speedup = size.ratio("per_row", "real_run")
            if speedup is not None and size.leads >= 100_000:
                mark = "met" if speedup >= PER_ROW_SPEEDUP_TARGET else "NOT met"
                lines.append(
                    f"- {size.leads:,} leads: per-row / real run = {speedup:.1f}x"
                    f" (target >= {PER_ROW_SPEEDUP_TARGET:.0f}x): {mark}"
                )
        peaks = [s.peak_rss_mib() for s in self.sizes if s.peak_rss_mib() is not None]
        if peaks:
            peak = max(p for p in peaks if p is not None)
            mark = "met" if peak < PEAK_RSS_TARGET_MIB else "NOT met"
            lines.append(
                f"- dbt peak RSS, all sizes: {peak:.0f} MiB"
                f" (target < {PEAK_RSS_TARGET_MIB:.0f} MiB): {mark}"
            )
        by_leads = {s.leads: s for s in self.sizes}
        small, big = by_leads.get(100_000), by_leads.get(1_000_000)
        if small and big and small.seconds("real_run") and big.seconds("real_run"):
            growth = big.seconds("real_run") / small.seconds("real_run")  # type: ignore[operator]
            mark = "met" if growth <= GROWTH_TARGET else "NOT met"
            lines.append(
                f"- real run 1,000,000 / 100,000 = {growth:.1f}x"
                f" (target <= {GROWTH_TARGET:.0f}x): {mark}"
            )
        return lines

    def slowest(self) -> list[str]:
        """Where the time of the largest size goes: the slowest dbt nodes per step."""
        if not self.sizes:
            return []
        largest = max(self.sizes, key=lambda s: s.leads)
        lines = []
        for step in ("dry_run", "real_run", "rerun", "rollback"):
            found = largest.steps.get(step)
            if found and found.slowest_nodes:
                nodes = ", ".join(f"{name} {seconds:.1f}" for name, seconds in found.slowest_nodes)
                lines.append(f"- {STEPS[step]} ({largest.leads:,} leads), seconds: {nodes}")
        return lines

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
                " real run = `dbt build` (tests included); re-run = `dbt build` again on the"
                " same database; rollback = `dbt run-operation rollback_backfill`;"
                " floor = `sql/bench_floor.sql`; per-row = the original script's loop"
                " (`bench_baselines.py`). Every measurement starts from a copy of the same"
                " generated database (the re-run and rollback follow the real run).",
                "",
                *self.table(),
                "",
                "Targets of the issue:",
                "",
                *self.target_checks(),
                "",
                "What each approach changed:",
                "",
                *self.outcomes(),
                "",
                "Slowest dbt nodes:",
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
