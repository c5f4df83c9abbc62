"""Kill `dbt build` during its apply: the app's data is all or nothing, and a re-run converges.

The harness (`backfill_tools.harness.crash`, also `backfill-dev crash-test`) runs on a small dataset
whose apply is slowed by a test-only statement trigger (it sleeps after each app write and
changes no data), so that the kills land inside the apply transaction. The default test
kills at three points; the `slow` one at 24 (`pytest -m slow tests/test_crash_safety.py`).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from backfill_tools.db.server import Server
from backfill_tools.harness.crash import (
    CrashConfig,
    CrashReport,
    KillPoint,
    Reference,
    run_crash_test,
)

LEADS = 200
SLOW_APPLY_SECONDS = 0.4


def three_points(reference: Reference) -> list[KillPoint]:
    """SIGKILL while the apply links leads (customers and addresses written, nothing
    committed), pg_terminate_backend while it links jobs, SIGKILL right after the commit
    (before dbt finishes and releases its claim)."""
    return [
        KillPoint("sigkill", "stage:Lead", 0.1),
        KillPoint("terminate", "stage:Job", 0.1),
        KillPoint("sigkill", "commit", 0.0),
    ]


def crash_test(server: Server, tmp_path: Path, **options: object) -> CrashReport:
    config = CrashConfig(
        work_dir=tmp_path / "crash",
        leads=LEADS,
        slow_apply=SLOW_APPLY_SECONDS,
        prefix=f"crash_{uuid.uuid4().hex[:8]}",
        **options,  # type: ignore[arg-type]
    )
    return run_crash_test(server, config)


def assert_all_or_nothing(report: CrashReport) -> None:
    failed = [trial for trial in report.trials if not trial.held]
    assert not failed, report.summary()
    assert {trial.state for trial in report.trials} <= {"before", "after"}
    assert all(trial.converged for trial in report.trials)


def test_kills_in_and_after_the_apply_leave_all_or_nothing_and_the_next_run_converges(
    pg_server, tmp_path: Path
) -> None:
    report = crash_test(pg_server, tmp_path, points=three_points)

    assert_all_or_nothing(report)
    mid_apply, terminated, after_commit = report.trials
    assert mid_apply.in_apply and mid_apply.state == "before"
    assert terminated.in_apply and terminated.state == "before"
    assert after_commit.state == "after"
    # a SIGKILLed run leaves its claim; the next run took it over (grace period 0)
    assert mid_apply.claim_left == 1 and after_commit.claim_left == 1
    # a terminated backend fails the run cleanly: dbt itself released the claim
    assert terminated.claim_left == 0


@pytest.mark.slow
def test_two_dozen_kills_spread_over_the_run_and_the_apply(pg_server, tmp_path: Path) -> None:
    report = crash_test(pg_server, tmp_path, kills=21, terminations=3)

    assert_all_or_nothing(report)
    assert len(report.trials) >= 24
    assert sum(trial.in_apply for trial in report.trials) >= 12
    assert len({trial.stage for trial in report.trials if trial.in_apply}) >= 4
    assert {trial.state for trial in report.trials} == {"before", "after"}


def rollback_points(reference: Reference) -> list[KillPoint]:
    """SIGKILL of `dbt run-operation rollback_backfill` while it unlinks leads, and
    pg_terminate_backend of its backend while it deletes addresses."""
    return [
        KillPoint("sigkill", "stage:Lead", 0.1),
        KillPoint("terminate", "stage:CustomerAddress", 0.1),
    ]


def test_kills_in_the_rollback_leave_all_or_nothing_and_the_next_rollback_converges(
    pg_server, tmp_path: Path
) -> None:
    report = crash_test(pg_server, tmp_path, points=rollback_points, operation="rollback")

    assert_all_or_nothing(report)
    killed, terminated = report.trials
    assert killed.in_apply and terminated.in_apply
    # The rollback is one SQL string ending in COMMIT: once it is sent, the server usually
    # runs it to the end although dbt died (it notices only when it next sends to the
    # client), so a SIGKILL may leave it done; terminating the backend always undoes it.
    assert terminated.state == "before"


@pytest.mark.slow
def test_a_dozen_kills_spread_over_the_rollback(pg_server, tmp_path: Path) -> None:
    report = crash_test(pg_server, tmp_path, kills=9, terminations=3, operation="rollback")

    assert_all_or_nothing(report)
    assert len(report.trials) >= 12
    assert sum(trial.in_apply for trial in report.trials) >= 6
