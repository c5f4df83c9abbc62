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
   id masked, see `trial.app_state`), never anything in between;
3. runs `dbt build` again and checks it converges to the reference final state (Audit
   excepted: a kill after the commit leaves one more Audit row) with a consistent ledger.

With `operation="rollback"` the template holds one applied run and the command killed (and
re-run) is `dbt run-operation rollback_backfill`; "apply transaction" then means the
rollback's transaction, which takes the same backfill lock.

Kill points are spread over the whole run (fractions of its measured length) and over the
apply transaction (fractions of its measured length after the lock is seen). Where each one
landed is read from the database just before the kill (see `watch.RunSnapshot.stage`).

Every dbt run of the harness passes `run_claim_grace_period: "0 seconds"`: the killed
run's claim is still in `backfill_active_runs`, and the harness knows that run is dead
(it waited until none of its connections remained), which is what the grace period
otherwise stands in for.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.server import Server
from backfill_tools.harness.trial import (
    COMMANDS,
    PROJECT_SCHEMA,
    AppState,
    app_state,
    differing_tables,
    install_slow_apply,
    ledger_problems,
    make_template,
    project_for,
    run_done,
)
from backfill_tools.harness.watch import (
    APPLY_STAGES,
    MODES,
    POLL_SECONDS,
    STAGE_LADDERS,
    KillPoint,
    watched_run,
)


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


def make_crash_template(server: Server, config: CrashConfig) -> str:
    """The generated dataset (with one applied run when the rollback is killed)."""
    name = f"{config.prefix}_template"
    applied = config.operation == "rollback"
    dbt_dir = config.work_dir / "dbt-template" if applied else None
    env = make_template(server, name, config.app, config.leads, config.seed, dbt_dir)
    if config.slow_apply > 0:
        install_slow_apply(env, config.app, config.slow_apply)
    return name


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
