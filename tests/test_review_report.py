"""`backfill-dev report` on a tiny app through the real `dbt build`: the report names the run
(dry or applied), lists the conflicts with what resolve_conflicts would do, and says why a
section is empty."""

from __future__ import annotations

from pathlib import Path

from backfill_tools.dbtrun import DbtProject
from backfill_tools.quality.review import write_report
from tests.appdata import AppDatabase
from tests.scenarios import seed_app_with_conflict

SCHEMA = "customer_backfill"


def report_text(app_db: AppDatabase, out: Path) -> tuple[str, str, str]:
    """The run id, the Markdown report and the HTML report."""
    run, (markdown, page) = write_report(app_db.conn, SCHEMA, out)
    return run.run_id, markdown.read_text(), page.read_text()


def conflict_rows(markdown: str, lead_id: str) -> list[str]:
    section = markdown.split("## Conflicts", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if lead_id in line]


def test_the_report_of_a_dry_run_names_it_and_lists_the_conflicts(
    app_db: AppDatabase, project: DbtProject, tmp_path: Path
) -> None:
    ids = seed_app_with_conflict(app_db)

    project.build(dry_run=True)
    run_id, markdown, page = report_text(app_db, tmp_path)

    assert run_id == app_db.scalar(f"select run_id from {SCHEMA}.plan_summary")
    assert f"Run `{run_id}`: a dry run" in markdown
    assert "nothing was written" in markdown
    # the lead matches two app customers: one row per customer, each saying what
    # resolve_conflicts would do (the two share a phone: merged, so resolved)
    rows = conflict_rows(markdown, ids["conflict_lead"])
    assert len(rows) == 2
    assert all("lead_matches_several_customers" in row and "True" in row for row in rows)
    assert any(ids["twin_customer"] in row for row in rows)
    assert f"<code>{run_id}</code>" in page and ids["conflict_lead"] in page


def test_the_report_of_applied_runs_says_so_and_why_a_rerun_links_nothing(
    app_db: AppDatabase, project: DbtProject, tmp_path: Path
) -> None:
    ids = seed_app_with_conflict(app_db)

    project.build()
    first_id, first, _ = report_text(app_db, tmp_path / "first")
    # a re-run that rebuilds its plan (one that finds nothing changed keeps the first's: below)
    project.build(vars={"reuse_unchanged_models": False})
    rerun_id, rerun, _ = report_text(app_db, tmp_path / "rerun")

    applied = [row[0] for row in app_db.query(f"select run_id from {SCHEMA}.backfill_runs")]
    assert {first_id, rerun_id} == set(applied)
    assert f"Run `{first_id}`: an applied run" in first
    assert "No leads were linked" not in first
    assert f"Run `{rerun_id}`: an applied run" in rerun
    # the conflicting leads stay unlinked, every other lead was linked by the first run
    unlinked = app_db.count("Lead", "customer_id is null")
    assert unlinked > 0
    assert f"No leads were linked by this run: {app_db.count('Lead') - unlinked} were" in rerun
    assert f"{unlinked} left unlinked (see Conflicts)" in rerun
    assert len(conflict_rows(rerun, ids["conflict_lead"])) == 2
    merges = rerun.split("## Sample merges", 1)[1].split("\n## ", 1)[0]
    assert "No leads were linked by this run" in merges

    # the next build finds nothing changed since the re-run: the report still describes
    # the re-run's plan, and names the build that kept it
    project.build()
    unchanged_id = app_db.query(
        f"select run_id from {SCHEMA}.backfill_runs order by applied_at desc limit 1"
    )[0][0]
    kept_id, kept, _ = report_text(app_db, tmp_path / "kept")
    assert kept_id == rerun_id
    assert f"Run `{unchanged_id}`, a later build, found nothing changed since" in kept
