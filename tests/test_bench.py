"""The benchmark at a tiny size: every row of the report is there and the baselines are right.

No figure is asserted (speed is what the benchmark prints); what is asserted is that both
baselines did the work they stand for, so that their seconds mean something.
"""

from __future__ import annotations

import json

import pytest

from backfill_tools.bench.baselines import floor_sql, naive_email, naive_phone, naive_psid
from backfill_tools.bench.nodes import build_order, critical_path
from backfill_tools.bench.report import (
    STEPS,
    BenchReport,
    NetworkHop,
    ProjectResult,
    SizeResult,
    StepResult,
)
from backfill_tools.bench.runner import parse_sizes, run_bench
from backfill_tools.cli import project_dirs
from backfill_tools.db.appdb import AppSchema
from backfill_tools.db.server import Server
from backfill_tools.quality.changes import CHANGE_KINDS, app_changes

LEADS = 300


@pytest.fixture(scope="module")
def report(pg_server: Server, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("bench")
    return run_bench(
        [LEADS],
        pg_server,
        out_dir=work / "results",
        dbt_dir=work / "dbt",
        command="pytest",
        log=lambda line: None,
    ), work / "results"


def test_report_has_every_step_of_the_size(report) -> None:
    bench, _ = report
    [size] = bench.sizes
    [project] = size.projects.values()
    assert size.leads == LEADS
    assert set(size.baselines) | set(project.steps) == set(STEPS)
    steps = ("dry_run", "real_run", "real_after_dry", "rerun", "changed_rerun", "floor", "per_row")
    for step in steps:
        assert size.seconds(step) is not None and size.seconds(step) > 0, step
    rollback = project.steps["rollback"]
    assert rollback.seconds is not None or rollback.note == "n/a"
    assert project.steps["real_run"].peak_rss_mib > 0
    assert project.steps["real_run"].slowest_nodes
    assert project.project_bytes > 0


def test_report_files_hold_the_table(report) -> None:
    bench, out_dir = report
    markdown = (out_dir / "latest.md").read_text()
    assert markdown == bench.markdown()
    row = next(line for line in markdown.splitlines() if line.startswith(f"| {LEADS} |"))
    assert row.count("|") == bench.table()[0].count("|")
    data = json.loads((out_dir / "latest.json").read_text())
    assert data["sizes"][0]["leads"] == LEADS
    assert data["machine"]["cores"]


def test_both_baselines_link_every_unlinked_lead_and_job(report) -> None:
    bench, _ = report
    [size] = bench.sizes
    floor = size.baselines["floor"].outcome
    per_row = size.baselines["per_row"].outcome
    assert size.unlinked_leads > 0 and size.unlinked_jobs > 0
    assert floor["leads_linked"] == per_row["leads_linked"] == size.unlinked_leads
    assert floor["jobs_linked"] == per_row["jobs_linked"] == size.unlinked_jobs
    # the per-row script reuses customers it finds by phone or e-mail: never more than the floor
    assert 0 < per_row["customers_created"] <= floor["customers_created"]


def test_the_project_run_is_counted_and_the_rerun_changes_nothing(report) -> None:
    bench, _ = report
    [size] = bench.sizes
    assert size.step("real_run").outcome["leads_linked"] > 0
    # the real run after its dry run keeps tables of that dry run and writes the same
    assert size.step("real_after_dry").outcome == size.step("real_run").outcome
    assert size.step("rerun").outcome == {
        "customers_created": 0,
        "leads_linked": 0,
        "jobs_linked": 0,
    }
    assert size.step("dry_run").outcome == {
        "customers_created": 0,
        "leads_linked": 0,
        "jobs_linked": 0,
    }


def test_the_rerun_after_changes_links_the_new_leads(report) -> None:
    bench, out_dir = report
    [size] = bench.sizes
    [project] = size.projects.values()
    new = round(LEADS * 0.01)
    # the app's changes happened: 1% more leads, some of persons who had leads already,
    # and identifiers changed on 0.1% of the leads (at least one)
    assert size.changes["new_leads"] == new
    assert project.leads_after_changes == LEADS + new
    assert 0 < size.changes["returning_leads"] < new
    assert size.changes["changed_leads"] == 1
    # the run linked every new lead, to a customer it made or one it had
    changed = size.step("changed_rerun").outcome
    assert changed["leads_linked"] == new
    assert changed["jobs_linked"] == size.changes["new_jobs"]
    assert changed["customers_created"] <= new
    assert project.steps["changed_rerun"].slowest_nodes
    markdown = (out_dir / "latest.md").read_text()
    assert "re-run after changes s" in markdown and "changed re-run/floor" in markdown
    assert f"Changes at {LEADS} leads: {new} new leads" in markdown
    assert f"| {LEADS} | re-run after changes (project) |" in markdown


def test_the_changes_are_the_same_for_the_same_seed_and_size() -> None:
    first, again = app_changes(7, 10_000), app_changes(7, 10_000)
    assert first.rows == again.rows and first.changed == again.changed
    assert first.new_leads == 100 and len(first.changed) == 10
    assert {change.kind for change in first.changed} == set(CHANGE_KINDS)
    # new ids, created after every generated lead, no customer
    fields = [row.rstrip("\n").split("\t") for row in first.rows["lead"]]
    assert all(field[9] == r"\N" and field[10] > "2025-01-01" for field in fields)
    assert first.rows["customer"] == []
    assert app_changes(8, 10_000).rows != first.rows


def test_critical_path_is_the_identity_chain_the_build_waited_for(report) -> None:
    bench, out_dir = report
    [size] = bench.sizes
    real_run = size.step("real_run")
    path = real_run.critical_path
    names = [name for name, _ in path.nodes]
    # dbt runs the on-run-start hooks first, then every model waits for its parents
    # and for its parents' tests: the longest chain is the identity resolution's
    assert names[0].startswith("customer_backfill-on-run-start")
    assert names.index("int_identity_nodes") < names.index("int_leads_grouped_by_identity")
    assert any(name.startswith(("grain_", "column_values_")) for name in names)
    # a chain of some of the nodes: no longer than every node summed
    assert path.seconds <= sum(real_run.node_seconds_by_type.values()) + 1e-6
    assert path.seconds == pytest.approx(sum(seconds for _, seconds in path.nodes))
    assert "critical path:" in (out_dir / "latest.md").read_text()


def test_naive_normalization_is_the_design_documents() -> None:
    assert naive_phone("+1 (555) 123-4567") == "5551234567"
    assert naive_phone("555-1234") is None
    assert naive_email("  Bob@X.com ") == "bob@x.com"
    assert naive_email("n/a") is None
    assert naive_psid("  ") is None


def test_floor_script_is_one_transaction_for_the_chosen_schema() -> None:
    sql = floor_sql(AppSchema(schema="app", psid_column="messenger_psid"))
    assert sql.strip().startswith("--") and "begin;" in sql and sql.rstrip().endswith("commit;")
    assert '"app"."Lead"' in sql and '"messenger_psid"' in sql and "{schema}" not in sql


def test_sizes_parse() -> None:
    assert parse_sizes("10k, 100k,1M,300") == [10_000, 100_000, 1_000_000, 300]
    with pytest.raises(ValueError):
        parse_sizes("ten")


def test_report_compares_projects_row_by_row() -> None:
    def step(seconds: float) -> StepResult:
        return StepResult(seconds=seconds, peak_rss_mib=100.0)

    size = SizeResult(
        leads=1_000_000,
        jobs=500_000,
        unlinked_leads=900_000,
        unlinked_jobs=450_000,
        app_bytes=0,
        generate_seconds=0.0,
        baselines={"floor": step(60.0), "per_row": StepResult(note="skipped above 100,000")},
        projects={
            "before": ProjectResult({"dry_run": step(300.0), "real_run": step(600.0)}),
            "after": ProjectResult({"dry_run": step(30.0), "real_run": step(120.0)}),
        },
    )
    report = BenchReport(command="test", machine={}, seed=7, sizes=[size])

    rows = [line for line in report.table() if line.startswith("| 1,000,000 |")]
    assert [row.split("|")[3].strip() for row in rows] == ["before", "after"]
    assert "| 10.00x |" in rows[0] and "| 2.00x |" in rows[1]
    checks = report.target_checks()
    assert (
        "- before: 1,000,000 leads: real run / floor = 10.00x (target <= 3.0x): NOT met" in checks
    )
    assert "- after: 1,000,000 leads: dry run / floor = 0.50x (target <= 0.5x): met" in checks


def test_targets_set_dbts_fixed_cost_against_the_floor() -> None:
    def size(leads: int, floor: float, per_row: float | None, **steps: float) -> SizeResult:
        baselines = {"floor": StepResult(seconds=floor)}
        if per_row is not None:
            baselines["per_row"] = StepResult(seconds=per_row)
        return SizeResult(
            leads=leads,
            jobs=leads // 2,
            unlinked_leads=leads,
            unlinked_jobs=leads // 2,
            app_bytes=0,
            generate_seconds=0.0,
            baselines=baselines,
            projects={
                "project": ProjectResult({k: StepResult(seconds=v) for k, v in steps.items()})
            },
        )

    tiny = size(100, 0.1, 1.0, dry_run=25.0, real_run=30.0, rerun=28.0)
    mid = size(100_000, 5.0, 90.0, dry_run=40.0, real_run=60.0, rerun=45.0)
    big = size(1_000_000, 50.0, None, dry_run=100.0, real_run=90.0, rerun=110.0)
    checks = BenchReport(command="test", machine={}, seed=7, sizes=[tiny, mid, big]).target_checks()

    # real run 1.8x: met, so no bound is printed under it
    assert "- 1,000,000 leads: real run / floor = 1.80x (target <= 3.0x): met" in checks
    dry = checks.index("- 1,000,000 leads: dry run / floor = 2.00x (target <= 0.5x): NOT met")
    assert checks[dry + 1] == (
        "  - dbt's fixed cost: the same step on 100 leads took 25.0 s, 0.50x this floor"
    )
    rerun = checks.index("- 1,000,000 leads: re-run / floor = 2.20x (target <= 0.15x): NOT met")
    assert checks[rerun + 1] == (
        "  - dbt's fixed cost: the same step on 100 leads took 28.0 s, 0.56x this floor:"
        " above the target before any lead is read"
    )
    per_row = checks.index("- 100,000 leads: per-row / real run = 1.5x (target >= 10x): NOT met")
    assert checks[per_row + 1] == (
        "  - dbt's fixed cost: a real run on 100 leads took 30.0 s, so per-row / real run"
        " is at most 3.0x here even if the 100,000 leads cost nothing"
    )
    # without a dataset small enough, no bound is claimed
    alone = BenchReport(command="test", machine={}, seed=7, sizes=[mid, big]).target_checks()
    assert not [line for line in alone if "fixed cost" in line]


def test_project_dirs_take_labels_or_folder_names(tmp_path) -> None:
    assert project_dirs([f"old={tmp_path}", str(tmp_path / "new")]) == {
        "old": tmp_path,
        "new": tmp_path / "new",
    }


def test_build_order_is_what_dbt_build_waited_for(project) -> None:
    # dbt's graph with test edges, plus the unit tests: every node that the order says
    # waited for another started after that one had finished, in a real `dbt build`
    # (with the unit tests, which the default selector leaves out: --exclude replaces it)
    assert project.run("build", "--exclude", "tag:app_ready").ok
    target = project.work_dir / "target"
    finished, started = {}, {}
    for node in json.loads((target / "run_results.json").read_text())["results"]:
        steps = {step["name"]: step for step in node["timing"]}
        if "execute" in steps:
            started[node["unique_id"]] = (steps.get("compile") or steps["execute"])["started_at"]
            finished[node["unique_id"]] = steps["execute"]["completed_at"]
    order = build_order(target)
    waits = [(before, node) for node, befores in order.items() for before in befores]
    assert len(waits) > len(order)
    assert [(b, n) for b, n in waits if started[n] < finished[b]] == []
    unit_test = "unit_test.customer_backfill.stg_app__leads.test_stg_app__leads_normalizes_phones"
    assert unit_test in order["model.customer_backfill.stg_app__leads"]
    assert "model.customer_backfill.stg_app__leads" not in order[unit_test]
    path = critical_path(target)
    elapsed = json.loads((target / "run_results.json").read_text())["elapsed_time"]
    assert 0 < path.seconds <= elapsed


def _hop_report() -> BenchReport:
    """A report of one size measured locally and through the hop (figures made up)."""

    def steps(scale: float) -> dict[str, StepResult]:
        names = ("dry_run", "real_run", "real_after_dry", "rerun", "rollback")
        return {name: StepResult(seconds=10.0 * scale) for name in names}

    size = SizeResult(
        leads=10_000,
        jobs=5_000,
        unlinked_leads=9_000,
        unlinked_jobs=4_000,
        app_bytes=1,
        generate_seconds=1.0,
        baselines={
            "floor": StepResult(seconds=0.5),
            "per_row": StepResult(seconds=5.0),
            "per_row_hop": StepResult(seconds=40.0, requests=30_000),
        },
        projects={
            "project": ProjectResult(steps=steps(1.0)),
            "project via hop": ProjectResult(steps=steps(1.2), via_hop=True),
        },
    )
    report = BenchReport(command="test", machine={}, seed=7, sizes=[size])
    report.network = NetworkHop(1.0, 1000, 0.05, 1.1, 1.05)
    return report


def test_a_project_through_the_hop_is_set_against_the_per_row_script_through_it() -> None:
    report = _hop_report()
    [size] = report.sizes
    assert size.ratio("per_row", "real_run", "project") == pytest.approx(0.5)
    assert size.ratio("per_row", "real_run", "project via hop") == pytest.approx(40 / 12)
    # the floor stays local for both
    assert size.seconds("floor", "project via hop") == 0.5
    markdown = report.markdown()
    assert "Across a network hop" in markdown and "+1.050 ms per round trip" in markdown
    assert "| 10,000 | project | per-row | 5.0 | 40.0 | 8.00x | 30,000 | 31.5 |" in markdown
    assert "| 10,000 | project | dry run | 10.0 | 12.0 | 1.20x | - | - |" in markdown
    assert "| 10,000 | project | per-row / real run | 0.50x | 3.33x | | | |" in markdown
    assert "| 10,000 | 5,000 | project via hop |" in markdown
    # the targets are about the local run only
    assert "project via hop:" not in "\n".join(report.target_checks())


def test_without_a_hop_the_report_has_no_hop_section(report) -> None:
    bench, _ = report
    assert bench.network is None
    assert "Across a network hop" not in bench.markdown()


def test_a_re_run_that_found_nothing_changed_says_so_under_its_target() -> None:
    rerun = StepResult(seconds=6.0, found_unchanged=True)
    size = SizeResult(
        leads=1_000_000,
        jobs=500_000,
        unlinked_leads=1_000_000,
        unlinked_jobs=500_000,
        app_bytes=0,
        generate_seconds=0.0,
        baselines={"floor": StepResult(seconds=60.0)},
        projects={
            "project": ProjectResult({"real_run": StepResult(seconds=120.0), "rerun": rerun})
        },
    )
    checks = BenchReport(command="test", machine={}, seed=7, sizes=[size]).target_checks()

    line = checks.index("- 1,000,000 leads: re-run / floor = 0.10x (target <= 0.15x): met")
    assert checks[line + 1].startswith("  - it found nothing changed since the real run")
