"""`backfill-dev crash-test`: kill `dbt build` (or the rollback) at many points; check the data.

The harness makes a template database with `--leads` generated leads, then:

1. runs one complete `dbt build` on a copy, watching it from the database side, to get the
   reference states (before, after) and the timing of the run and of its apply
   transaction (from the moment a backend holds the backfill lock until it lets go);
2. for each kill point, on a fresh copy of the template: starts `dbt build`, kills it at
   that point (SIGKILL of the dbt process, `pg_terminate_backend` of the backend running
   the apply, or both), waits until none of its backends remain, and compares the app
   tables with the two reference states: they must be exactly the state before (exact
   fingerprints) or the state after a complete run (fingerprints with the run's clock and
   id masked, see `trial.py`), never anything in between;
3. runs `dbt build` again and checks it converges to the reference final state (Audit
   excepted: a kill after the commit leaves one more Audit row) with a consistent ledger.

With `operation="rollback"` the template holds one applied run and the command killed (and
re-run) is `dbt run-operation rollback_backfill`; "apply transaction" then means the
rollback's transaction, which takes the same backfill lock.

Kill points are spread over the whole run (fractions of its measured length) and over the
apply transaction (fractions of its measured length after the lock is seen). Where each one
landed is read from the database just before the kill (see `RunSnapshot.stage`).

Every dbt run of the harness passes `run_claim_grace_period: "0 seconds"`: the killed
run's claim is still in `backfill_active_runs`, and the harness knows that run is dead
(it waited until none of its connections remained), which is what the grace period
otherwise stands in for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import DbtProject
from backfill_tools.harness.trial import (
    APPLICATION_NAME,
    APPLY_STAGES,
    PROJECT_SCHEMA,
    ROLLBACK_STAGES,
    AppState,
    RunSnapshot,
    RunWatcher,
    app_state,
    differing_tables,
    ledger_problems,
    make_template,
    project_for,
    run_done,
)

MODES = ("sigkill", "terminate", "sigkill+terminate")
COMMANDS = {"build": ("build",), "rollback": ("run-operation", "rollback_backfill")}
STAGE_LADDERS = {"build": ("apply", APPLY_STAGES), "rollback": ("rollback", ROLLBACK_STAGES)}
POLL_SECONDS = 0.005


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


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run: the states around it and its timing."""

    before: AppState
    after: AppState
    run_seconds: float
    apply_start: float
    apply_seconds: float


@dataclass
class TrialResult:
    number: int
    point: KillPoint
    stage: str
    in_apply: bool
    killed_at: float | None
    state: str
    differing: list[str]
    claim_left: int
    lingered: float
    recovery_ok: bool
    converged: bool
    problems: list[str]

    @property
    def held(self) -> bool:
        return (
            self.state in ("before", "after")
            and self.recovery_ok
            and self.converged
            and not self.problems
        )


@dataclass
class CrashConfig:
    work_dir: Path
    leads: int = 30_000
    seed: int = 7
    kills: int = 21
    terminations: int = 3
    slow_apply: float = 0.0
    app: AppSchema = field(default_factory=AppSchema)
    prefix: str = "backfill_crash"
    keep: bool = False
    # "build": kill `dbt build`; "rollback": kill `dbt run-operation rollback_backfill`
    # (the template then holds one applied run to roll back)
    operation: str = "build"
    # the kill points, from the reference run's timing (default: plan_kill_points)
    points: Callable[[Reference], list[KillPoint]] | None = None


@dataclass
class CrashReport:
    reference: Reference
    trials: list[TrialResult]

    @property
    def held(self) -> bool:
        return all(trial.held for trial in self.trials)

    def summary(self) -> str:
        states = Counter(trial.state for trial in self.trials)
        modes = Counter(trial.point.mode for trial in self.trials if trial.killed_at is not None)
        stages = Counter(trial.stage for trial in self.trials)
        inside = sum(trial.in_apply for trial in self.trials)
        lines = [
            f"reference run: {self.reference.run_seconds:.1f} s, its transaction from"
            f" {self.reference.apply_start:.1f} s for {self.reference.apply_seconds:.2f} s",
            f"kills: {sum(modes.values())} ({', '.join(f'{m} {n}' for m, n in modes.items())}),"
            f" {inside} inside its transaction (lock held), {len(stages)} distinct stages",
            f"state after the kill: before {states['before']}, after {states['after']},"
            f" between {states['BETWEEN']}",
            f"next run converged: {sum(t.converged for t in self.trials)}/{len(self.trials)};"
            f" ledger consistent: {sum(not t.problems for t in self.trials)}/{len(self.trials)}",
            "stages: " + "; ".join(f"{stage} x{n}" for stage, n in sorted(stages.items())),
            "RESULT: " + ("every kill held" if self.held else "SOMETHING DID NOT HOLD"),
        ]
        return "\n".join(lines)


def format_trial(trial: TrialResult) -> str:
    at = f"{trial.killed_at:6.2f}s" if trial.killed_at is not None else "  (done)"
    verdict = "held" if trial.held else "FAILED"
    extra = ""
    if trial.differing:
        extra += f" differs: {','.join(trial.differing)}"
    if trial.problems:
        extra += f" problems: {'; '.join(trial.problems)}"
    return (
        f"{trial.number:>3} {trial.point.describe():<34} {at} {trial.stage:<34}"
        f" {trial.state:<7} claim={trial.claim_left} next-run="
        f"{'ok' if trial.recovery_ok else 'FAILED'}/"
        f"{'same' if trial.converged else 'DIFFERENT'} {verdict}{extra}"
    )


# -- the dataset ---------------------------------------------------------------------------------
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


def make_crash_template(server: Server, config: CrashConfig) -> str:
    """The generated dataset (with one applied run when the rollback is killed)."""
    name = f"{config.prefix}_template"
    applied = config.operation == "rollback"
    dbt_dir = config.work_dir / "dbt-template" if applied else None
    env = make_template(server, name, config.app, config.leads, config.seed, dbt_dir)
    if config.slow_apply > 0:
        install_slow_apply(env, config.app, config.slow_apply)
    return name


# -- one run, watched and maybe killed --------------------------------------------------------
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


def measure_reference(server: Server, template: str, config: CrashConfig) -> Reference:
    trial_db = f"{config.prefix}_trial"
    env = server.recreate(trial_db, template=template)
    project = project_for(env, config.app, config.work_dir / "dbt")
    before = app_state(env, config.app)
    log = config.work_dir / "reference.log"
    outcome = watched_run(project, env, config.app, log, None, config.operation)
    snapshots = outcome.snapshots
    if not run_done(config.operation, log.read_text()):
        raise RuntimeError(f"the reference run failed; see {config.work_dir / 'reference.log'}")
    applying = [snap.elapsed for snap in snapshots if snap.in_apply]
    if not applying:
        raise RuntimeError("the reference run was never seen inside its transaction")
    return Reference(
        before=before,
        after=app_state(env, config.app),
        run_seconds=snapshots[-1].elapsed,
        apply_start=applying[0],
        apply_seconds=max(applying[-1] - applying[0], POLL_SECONDS),
    )


def spread(low: float, high: float, count: int) -> list[float]:
    """`count` evenly spaced fractions from `low` to `high`."""
    if count <= 1:
        return [low][:count]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def plan_kill_points(
    reference: Reference,
    kills: int,
    terminations: int,
    ladder: tuple[tuple[str, str], ...] = APPLY_STAGES,
) -> list[KillPoint]:
    """A quarter of the SIGKILLs spread over the whole run, one as each app table of
    `ladder` starts being written, two just after the commit, the rest spread over the
    transaction's measured length; the terminations spread over the transaction."""
    after_commit = 2 if kills >= 6 else 0
    over_run = max(kills // 4, 1)
    at_stages = [table for table, _ in ladder][: max(kills - over_run - after_commit - 1, 0)]
    over_apply = max(kills - over_run - after_commit - len(at_stages), 1)
    points = [
        KillPoint("sigkill", "start", reference.run_seconds * fraction)
        for fraction in spread(0.05, 0.98, over_run)
    ]
    points += [
        KillPoint("sigkill", "apply", reference.apply_seconds * fraction)
        for fraction in spread(0.02, 0.98, over_apply)
    ]
    points += [KillPoint("sigkill", f"stage:{table}", 0.0) for table in at_stages]
    points += [KillPoint("sigkill", "commit", delay) for delay in (0.0, 0.5)[:after_commit]]
    points += [
        KillPoint(MODES[1 + i % 2], "apply", reference.apply_seconds * fraction)
        for i, fraction in enumerate(spread(0.1, 0.9, terminations))
    ]
    return points


def _claims_left(env: dict[str, str]) -> int:
    conn = connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute(f"select to_regclass('{PROJECT_SCHEMA}.backfill_active_runs') is not null")
            if not cur.fetchone()[0]:
                return 0
            cur.execute(f"select count(*) from {PROJECT_SCHEMA}.backfill_active_runs")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def classify(state: AppState, reference: Reference) -> tuple[str, list[str]]:
    if state.exact == reference.before.exact:
        return "before", []
    if state.stable == reference.after.stable:
        return "after", []
    return "BETWEEN", differing_tables(state.stable, reference.after.stable)


def run_trial(
    server: Server,
    template: str,
    config: CrashConfig,
    reference: Reference,
    number: int,
    point: KillPoint,
) -> TrialResult:
    env = server.recreate(f"{config.prefix}_trial", template=template)
    project = project_for(env, config.app, config.work_dir / "dbt")
    log = config.work_dir / f"trial-{number:02d}.log"
    outcome = watched_run(project, env, config.app, log, point, config.operation)
    killed = outcome.killed
    state, differing = classify(app_state(env, config.app), reference)
    claim_left = _claims_left(env)
    recovery = project.run(*COMMANDS[config.operation], check=False)
    (config.work_dir / f"trial-{number:02d}-next-run.log").write_text(recovery.output)
    recovery_ok = run_done(config.operation, recovery.output)
    final = app_state(env, config.app)
    converged = final.stable_without_audit() == reference.after.stable_without_audit()
    return TrialResult(
        number=number,
        point=point,
        stage=killed.stage if killed else "run finished first",
        in_apply=bool(killed and killed.in_apply),
        killed_at=killed.elapsed if killed else None,
        state=state,
        differing=differing,
        claim_left=claim_left,
        lingered=outcome.lingered,
        recovery_ok=recovery_ok,
        converged=converged,
        problems=ledger_problems(env, config.app) if recovery_ok else ["next run failed"],
    )


def run_crash_test(
    server: Server, config: CrashConfig, out: Callable[[str], None] = print
) -> CrashReport:
    config.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    template = make_crash_template(server, config)
    out(
        f"template: {config.leads:,} leads (seed {config.seed}), slow_apply={config.slow_apply}s,"
        f" killing: {' '.join(['dbt', *COMMANDS[config.operation]])}"
    )
    reference = measure_reference(server, template, config)
    if config.points is not None:
        points = config.points(reference)
    else:
        points = plan_kill_points(
            reference, config.kills, config.terminations, STAGE_LADDERS[config.operation][1]
        )
    out(
        f"reference run {reference.run_seconds:.1f} s; its transaction from"
        f" {reference.apply_start:.1f} s for {reference.apply_seconds:.2f} s;"
        f" {len(points)} kill points"
    )
    trials = []
    try:
        for number, point in enumerate(points, start=1):
            trial = run_trial(server, template, config, reference, number, point)
            trials.append(trial)
            out(format_trial(trial))
    finally:
        if not config.keep:
            for name in (template, f"{config.prefix}_trial"):
                server.drop_database(name)
    report = CrashReport(reference, trials)
    out(report.summary())
    out(f"elapsed: {time.monotonic() - started:.0f} s; logs in {config.work_dir}")
    return report
