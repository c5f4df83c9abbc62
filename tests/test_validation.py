"""Validation as dbt tests: each check passes after a correct run and fails (or warns) on an
app database crafted to violate it; in a dry run the same checks judge the plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from backfill_tools.db.appdb import AppSchema
from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import node_results, node_statuses, seed_clean_app

VALIDATION_TESTS = (
    "test_customers_after_backfill__exist_when_leads_exist",
    "test_leads_after_backfill__every_lead_linked",
    "test_jobs_after_backfill__every_job_linked",
    "test_jobs_after_backfill__customer_matches_lead_customer",
    "test_customers_after_backfill__found_by_their_phone",
    "test_customers_after_backfill__shared_email",
    "test_customers_after_backfill__not_too_many_leads",
    "test_backfill_runs__latest_run_has_audit_row",
)
_TO_CUSTOMERS = "_customer_id__customer_id__ref_customers_after_backfill_"
LEAD_CUSTOMER_EXISTS = f"relationships_leads_after_backfill{_TO_CUSTOMERS}"
JOB_CUSTOMER_EXISTS = f"relationships_jobs_after_backfill{_TO_CUSTOMERS}"
AUDIT_SCHEMA = "customer_backfill_dbt_test__audit"
MISSING_CUSTOMER = "00000000-0000-0000-0000-00000000dead"


def test_a_correct_run_passes_every_check_in_the_dry_run_the_build_and_dbt_test(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)

    project.build(dry_run=True)
    dry = node_statuses(project)
    # the leads are not linked yet: in the dry run only the plan can make the checks pass
    assert app_db.count("Lead", "customer_id is null") > 0
    project.build()
    real = node_statuses(project)
    project.run("test")
    alone = node_statuses(project)

    for name in (*VALIDATION_TESTS, LEAD_CUSTOMER_EXISTS, JOB_CUSTOMER_EXISTS):
        assert (dry[name], real[name], alone[name]) == ("pass", "pass", "pass"), name
    assert real["backfill_runs"] == "success"


def unit_test_statuses(project: DbtProject) -> dict[str, str]:
    """Status of each unit test the last dbt command ran, by name."""
    return {
        result["unique_id"].split(".")[-1]: result["status"]
        for result in node_results(project)
        if result["unique_id"].startswith("unit_test.")
    }


def test_the_unit_tests_run_in_development_not_in_the_users_build(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    # a user's `dbt build` runs the data tests only (selectors.yml)
    project.build(dry_run=True)
    assert unit_test_statuses(project) == {}

    # a unit test needs the tables of its model's inputs, which that build made
    project.run("test", "--select", "test_type:unit")
    statuses = unit_test_statuses(project)
    assert len(statuses) == 4
    assert set(statuses.values()) == {"pass"}


def test_app_state_checks_run_after_the_apply(project: DbtProject) -> None:
    """Each check depends on backfill_runs (dbt build runs it after the apply) and reads
    the app through the staging models, never source()."""
    project.run("parse")
    manifest = json.loads((project.work_dir / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]

    def ancestors(unique_id: str) -> set[str]:
        seen: set[str] = set()
        todo = [unique_id]
        while todo:
            for parent in nodes.get(todo.pop(), {}).get("depends_on", {}).get("nodes", []):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    for name in VALIDATION_TESTS:
        node = nodes[f"test.customer_backfill.{name}"]
        assert "model.customer_backfill.backfill_runs" in ancestors(node["unique_id"])
        assert "source(" not in (project.project_dir / node["original_file_path"]).read_text()


def _customer_of(db: AppDatabase, lead: str) -> str:
    customer = db.lead_customer(lead)
    assert customer
    return customer


def _no_customers(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute('delete from "Customer"')


def _unlink_a_lead(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute('update "Lead" set customer_id = null where id = %s', (ids["bob_2"],))


def _add_a_lead_after_the_run(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute(
        'insert into "Lead" (channel, phone, created_at, updated_at)'
        " values ('sms', '5550001111', now(), now())"
    )


def _unlink_a_job(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute('update "Job" set customer_id = null where id = %s', (ids["bob_job_1"],))


def _move_a_job_to_another_customer(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute(
        'update "Job" set customer_id = %s where id = %s', (ids["app_customer"], ids["bob_job_1"])
    )


def _give_two_backfill_customers_one_phone(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute(
        "update \"Customer\" set phone = '+15557771234' where id = %s",
        (_customer_of(db, ids["psid_lead"]),),
    )


def _store_a_phone_as_national_digits(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute(
        "update \"Customer\" set phone = '5557771234' where id = %s",
        (_customer_of(db, ids["bob_1"]),),
    )


def _delete_the_audit_row(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute("delete from \"Audit\" where action = 'backfill_customers'")


def _alter_the_audit_statistics(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute(
        "update \"Audit\" set payload = jsonb_set(payload, '{stats,leadsLinked}', '99')"
        " where action = 'backfill_customers'"
    )


def _share_an_email(db: AppDatabase, ids: dict[str, str]) -> None:
    db.execute(
        "update \"Customer\" set email = ' CY@y.org' where id = %s",
        (_customer_of(db, ids["bob_1"]),),
    )


def _give_a_customer_six_leads(db: AppDatabase, ids: dict[str, str]) -> None:
    bob = _customer_of(db, ids["bob_1"])
    for _ in range(3):
        db.add_lead(phone="5557771234", customer_id=bob)


@dataclass(frozen=True)
class Violation:
    test: str
    expected: str
    crafted: Callable[[AppDatabase, dict[str, str]], None]
    vars: tuple[tuple[str, object], ...] = ()


VIOLATIONS = {
    "no customers at all": Violation(
        "test_customers_after_backfill__exist_when_leads_exist", "fail", _no_customers
    ),
    "a lead unlinked": Violation(
        "test_leads_after_backfill__every_lead_linked", "fail", _unlink_a_lead
    ),
    "a lead unlinked, one tolerated": Violation(
        "test_leads_after_backfill__every_lead_linked",
        "warn",
        _unlink_a_lead,
        (("max_unlinked_leads", 1),),
    ),
    "a lead created after the run": Violation(
        "test_leads_after_backfill__every_lead_linked", "pass", _add_a_lead_after_the_run
    ),
    "a job unlinked": Violation(
        "test_jobs_after_backfill__every_job_linked", "fail", _unlink_a_job
    ),
    "a job unlinked, one tolerated": Violation(
        "test_jobs_after_backfill__every_job_linked",
        "warn",
        _unlink_a_job,
        (("max_unlinked_jobs", 1),),
    ),
    "a job on another customer than its lead": Violation(
        "test_jobs_after_backfill__customer_matches_lead_customer",
        "fail",
        _move_a_job_to_another_customer,
    ),
    "two backfill customers with one phone": Violation(
        "test_customers_after_backfill__found_by_their_phone",
        "fail",
        _give_two_backfill_customers_one_phone,
    ),
    "a backfill customer's phone not as the app writes it": Violation(
        "test_customers_after_backfill__found_by_their_phone",
        "fail",
        _store_a_phone_as_national_digits,
    ),
    "the run's Audit row deleted": Violation(
        "test_backfill_runs__latest_run_has_audit_row", "fail", _delete_the_audit_row
    ),
    "the run's Audit statistics altered": Violation(
        "test_backfill_runs__latest_run_has_audit_row", "fail", _alter_the_audit_statistics
    ),
    "a shared e-mail": Violation(
        "test_customers_after_backfill__shared_email", "warn", _share_an_email
    ),
    "a customer with six leads": Violation(
        "test_customers_after_backfill__not_too_many_leads", "warn", _give_a_customer_six_leads
    ),
    "a customer with six leads, threshold ten": Violation(
        "test_customers_after_backfill__not_too_many_leads",
        "pass",
        _give_a_customer_six_leads,
        (("max_leads_per_customer", 10),),
    ),
}


@pytest.mark.parametrize("case", list(VIOLATIONS), ids=list(VIOLATIONS))
def test_each_check_catches_a_database_crafted_to_violate_it(
    app_db: AppDatabase, project: DbtProject, case: str
) -> None:
    violation = VIOLATIONS[case]
    ids = seed_clean_app(app_db)
    project.build()
    assert node_statuses(project)[violation.test] == "pass"

    violation.crafted(app_db, ids)
    result = project.run("test", "--select", violation.test, vars=dict(violation.vars), check=False)

    assert node_statuses(project)[violation.test] == violation.expected, result.output[-3000:]
    assert result.ok == (violation.expected != "fail")


def test_warnings_store_the_rows_to_review(app_db: AppDatabase, project: DbtProject) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    _share_an_email(app_db, ids)
    _give_a_customer_six_leads(app_db, ids)
    bob = app_db.lead_customer(ids["bob_1"])

    result = project.run("test")

    assert result.ok
    statuses = node_statuses(project)
    assert statuses["test_customers_after_backfill__shared_email"] == "warn"
    assert statuses["test_customers_after_backfill__not_too_many_leads"] == "warn"
    shared = app_db.query(
        "select email_normalized, customer_count"
        f" from {AUDIT_SCHEMA}.test_customers_after_backfill__shared_email"
    )
    assert shared == [("cy@y.org", 2)]
    many = app_db.query(
        "select customer_id::text, lead_count, group_type"
        f" from {AUDIT_SCHEMA}.test_customers_after_backfill__not_too_many_leads"
    )
    assert many == [(bob, 6, "phone")]


def test_leads_left_unlinked_as_conflicts_are_a_warning_not_a_failure(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    app_db.add_customer(name="Xavier App", phone="555-888-0000")
    app_db.add_customer(name="Yvonne App", email="zed@q.com")
    # its phone matches one app customer, its e-mail another: the run leaves it unlinked
    torn = app_db.add_lead(phone="5558880000", email="ZED@q.com")
    torn_job = app_db.add_job(torn)

    result = project.build()

    statuses = node_statuses(project)
    assert result.ok
    assert app_db.lead_customer(torn) is None
    assert app_db.job_customer(torn_job) is None
    assert statuses["test_plan_conflicts__reported_for_review"] == "warn"
    assert statuses["test_leads_after_backfill__every_lead_linked"] == "pass"
    assert statuses["test_jobs_after_backfill__every_job_linked"] == "pass"


@pytest.mark.parametrize("app_schema", [AppSchema(customer_foreign_keys=False)])
def test_a_dry_run_predicts_the_failure_of_the_real_run(
    app_db: AppDatabase, project: DbtProject, app_schema: AppSchema
) -> None:
    """A lead the app linked to a customer that does not exist (no foreign keys here)."""
    seed_clean_app(app_db)
    app_db.add_lead(phone="5559990000", customer_id=MISSING_CUSTOMER)

    dry = project.build(dry_run=True, check=False)
    dry_status = node_statuses(project)[LEAD_CUSTOMER_EXISTS]
    real = project.build(check=False)
    real_status = node_statuses(project)[LEAD_CUSTOMER_EXISTS]

    assert (dry.ok, dry_status) == (False, "fail")
    assert (real.ok, real_status) == (False, "fail")


@pytest.mark.parametrize("app_schema", [AppSchema(customer_foreign_keys=False)])
def test_a_job_on_a_missing_customer_fails(
    app_db: AppDatabase, project: DbtProject, app_schema: AppSchema
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    assert node_statuses(project)[JOB_CUSTOMER_EXISTS] == "pass"

    app_db.execute(
        'update "Job" set customer_id = %s where id = %s', (MISSING_CUSTOMER, ids["psid_job"])
    )
    result = project.run("test", "--select", "jobs_after_backfill", check=False)

    assert not result.ok
    assert node_statuses(project)[JOB_CUSTOMER_EXISTS] == "fail"


def test_a_failing_test_before_the_apply_skips_it(app_db: AppDatabase, project: DbtProject) -> None:
    """The plan's own tests gate the apply: dbt build skips everything downstream of a failure."""
    seed_clean_app(app_db)
    app_db.execute('alter table "Customer" drop constraint "Customer_pkey" cascade')
    duplicate = app_db.add_customer(name="One")
    app_db.add_customer(name="Two", id=duplicate)
    before = app_db.fingerprints()

    result = project.build(check=False)

    assert not result.ok
    statuses = node_statuses(project)
    assert statuses["source_grain_app_customer_id"] == "fail"
    assert statuses["backfill_runs"] == "skipped"
    assert "NOT APPLIED" in result.stdout
    assert app_db.fingerprints() == before
