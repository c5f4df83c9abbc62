"""The backfill end to end: real dbt commands against a real PostgreSQL."""

from __future__ import annotations

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import seed_small_app, statistics


def test_dry_run_writes_nothing_to_app_tables(app_db: AppDatabase, project: DbtProject) -> None:
    seed_small_app(app_db)
    before = app_db.fingerprints()

    result = project.build(dry_run=True)

    assert app_db.fingerprints() == before
    assert "DRY RUN COMPLETE" in result.stdout
    assert app_db.scalar("select count(*) from customer_backfill.backfill_ledger") == 0
    assert app_db.scalar("select count(*) from customer_backfill.backfill_runs") == 0


def test_dry_run_numbers_equal_real_run_numbers(app_db: AppDatabase, project: DbtProject) -> None:
    seed_small_app(app_db)

    planned = statistics(project.build(dry_run=True).stdout)
    applied = statistics(project.build().stdout)

    assert planned == applied
    assert applied["Customers created"] == app_db.count("Customer") - 1
    assert applied["Leads linked"] == app_db.count("Lead", "customer_id is not null") - 1
    assert applied["Jobs linked"] == app_db.count("Job", "customer_id is not null")


def test_real_run_links_leads_and_jobs(app_db: AppDatabase, project: DbtProject) -> None:
    ids = seed_small_app(app_db)

    project.build()

    assert app_db.count("Lead", "customer_id is null") == 0
    assert app_db.count("Job", "customer_id is null") == 0
    # a job follows its lead
    assert app_db.job_customer(ids["job_on_psid_lead"]) == app_db.lead_customer(ids["psid_lead"])
    # phone formats and an extension are one phone
    assert app_db.lead_customer(ids["phone_lead"]) == app_db.lead_customer(ids["same_phone_lead"])
    # the app's customer is reused, not duplicated
    assert app_db.lead_customer(ids["ann_lead"]) == ids["app_customer"]
    assert app_db.job_customer(ids["job_on_ann_lead"]) == ids["app_customer"]


def test_only_what_the_run_alone_reads_is_unlogged(
    app_db: AppDatabase, project: DbtProject
) -> None:
    """Unlogged tables skip the WAL and are emptied by a server crash: right for the
    tables each run rebuilds for itself, wrong for what is read after the run (the
    plan `dbt test` checks, the explanations, the ledger the rollback needs)."""
    seed_small_app(app_db)
    project.build()

    persistence = dict(
        app_db.query(
            "select relname, relpersistence from pg_class"
            " where relnamespace = 'customer_backfill'::regnamespace and relkind = 'r'"
        )
    )

    unlogged = {name for name, kind in persistence.items() if kind == "u"}
    assert "stg_app__leads" in unlogged
    assert {name for name in persistence if name.startswith("int_")} <= unlogged
    assert "int_leads_resolved_to_customers" in unlogged
    assert "int_identity_groups_email" in unlogged
    read_after_the_run = {
        "plan_customers",
        "plan_lead_links",
        "plan_job_links",
        "plan_customer_addresses",
        "plan_conflicts",
        "identity_lead_explanations",
        "identity_refusals",
        "backfill_ledger",
        "backfill_runs",
        "manual_overrides",
    }
    assert read_after_the_run <= set(persistence)
    assert read_after_the_run.isdisjoint(unlogged)


def test_rerun_changes_nothing_but_adds_an_audit_row(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build()
    after_first = app_db.fingerprints()

    second = statistics(project.build().stdout)

    after_second = app_db.fingerprints()
    assert {k: v for k, v in after_second.items() if k != "Audit"} == {
        k: v for k, v in after_first.items() if k != "Audit"
    }
    assert after_second["Audit"][0] == after_first["Audit"][0] + 1
    assert second["Customers created"] == 0
    assert second["Leads linked"] == 0
    assert second["Jobs linked"] == 0


def test_new_leads_join_the_customer_their_identifiers_already_have(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_small_app(app_db)
    project.build()
    customers_before = app_db.count("Customer")

    later = app_db.add_lead(phone="(555) 234-5678", name="Bob again")
    later_job = app_db.add_job(later)
    project.build()

    assert app_db.count("Customer") == customers_before
    assert app_db.lead_customer(later) == app_db.lead_customer(ids["phone_lead"])
    assert app_db.job_customer(later_job) == app_db.lead_customer(later)


def test_audit_row_records_the_run(app_db: AppDatabase, project: DbtProject) -> None:
    seed_small_app(app_db)
    project.build()

    rows = app_db.query(
        "select actor, action, payload from \"Audit\" where action = 'backfill_customers'"
    )
    assert len(rows) == 1
    actor, _, payload = rows[0]
    assert actor == "system"
    run_id = app_db.scalar("select run_id from customer_backfill.backfill_runs")
    assert payload["runId"] == run_id
    assert payload["stats"]["leadsLinked"] == 6
    assert payload["stats"]["jobsLinked"] == 3
    assert payload["stats"]["errors"] == 0
    assert set(payload["grouping"]) == {"psid", "phone", "email", "address", "individual"}


def test_customer_ids_are_deterministic_and_shown_by_the_dry_run(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)
    planned = {
        row[0]
        for row in app_db.query(
            "select customer_id::text from customer_backfill.plan_customers where is_new_customer"
        )
    }

    project.build()

    created = {
        row[0]
        for row in app_db.query(
            "select id::text from \"Customer\" where metadata->>'createdBy' = 'customer-backfill'"
        )
    }
    assert planned == created
    assert len(created) >= 3


def test_new_customer_has_metadata_and_addresses(app_db: AppDatabase, project: DbtProject) -> None:
    ids = seed_small_app(app_db)
    project.build()
    customer_id = app_db.lead_customer(ids["psid_lead"])

    metadata = app_db.scalar('select metadata from "Customer" where id = %s', (customer_id,))
    assert {
        "groupType",
        "groupKey",
        "leadCount",
        "multipleLeads",
        "createdBy",
        "createdAt",
        "runId",
    } <= set(metadata)
    addresses = app_db.query(
        "select address, city, state, zip, is_primary"
        ' from "CustomerAddress" where customer_id = %s',
        (customer_id,),
    )
    assert ("1 Oak St, Springfield, IL 62704", "Springfield", "IL", "62704", True) in addresses


def test_failure_in_the_middle_of_the_apply_leaves_app_tables_untouched(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    before = app_db.fingerprints()
    # Jobs are written after customers, addresses and leads: make that write fail.
    app_db.fail_on("update", "Job", "injected failure while linking jobs")

    result = project.build(check=False)

    assert not result.ok
    assert "injected failure while linking jobs" in result.output
    assert "NOT APPLIED" in result.stdout
    assert app_db.fingerprints() == before
    assert app_db.scalar("select count(*) from customer_backfill.backfill_ledger") == 0


def test_missing_column_stops_with_a_clear_message(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    app_db.execute('alter table "Lead" rename column "messengerPsid" to messenger_psid')
    before = app_db.fingerprints()

    result = project.build(check=False)

    assert not result.ok
    assert 'has no column "messengerPsid"' in result.output
    assert "lead_psid_column" in result.output
    assert "messenger_psid" in result.output
    assert app_db.fingerprints() == before


def test_other_psid_column_name_works_with_the_var(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_small_app(app_db)
    app_db.execute('alter table "Lead" rename column "messengerPsid" to messenger_psid')

    project.build(vars={"lead_psid_column": "messenger_psid"})

    assert app_db.count("Lead", "customer_id is null") == 0
    metadata = app_db.scalar(
        'select c.metadata from "Customer" c join "Lead" l on l.customer_id = c.id where l.id = %s',
        (ids["psid_lead"],),
    )
    assert metadata["groupKey"] == "psid:2718281828459045"
