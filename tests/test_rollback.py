"""`dbt run-operation rollback_backfill`: undoes exactly what the runs recorded, nothing else."""

from __future__ import annotations

import pytest

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import (
    audit_payloads,
    ledger_rows,
    node_statuses,
    operation,
    run_ids,
    seed_clean_app,
    snapshot,
    summary_counts,
    with_rows_of,
)

BOTH_LAYOUTS = [AppSchema(), AppSchema(customer_foreign_keys=False)]


def backfill_customers(db: AppDatabase) -> set[str]:
    rows = db.query(
        "select id::text from \"Customer\" where metadata->>'createdBy' = 'customer-backfill'"
    )
    return {row[0] for row in rows}


def add_later_leads(db: AppDatabase) -> set[str]:
    """Leads and jobs the app adds after a first run: one joins a backfill customer, one an
    app customer, one is new. Returns their ids."""
    joining = db.add_lead(phone="555 777 1234", name="Bob later")
    reusing = db.add_lead(phone="(555) 222-3333", name="Ann later")
    alone = db.add_lead(email="eve@z.net", name="Eve", address="5 Birch Ln, Shelbyville, IL 62565")
    jobs = {db.add_job(joining), db.add_job(alone)}
    return {joining, reusing, alone, *jobs}


@pytest.mark.parametrize("app_schema", BOTH_LAYOUTS, ids=["foreign keys", "no foreign keys"])
def test_rollback_after_one_run_restores_the_app_tables(
    app_db: AppDatabase, project: DbtProject, app_schema: AppSchema
) -> None:
    seed_clean_app(app_db)
    before = snapshot(app_db)
    project.build()
    applied = audit_payloads(app_db, "backfill_customers")[0]["stats"]

    result = operation(project, "rollback_backfill")

    assert snapshot(app_db) == before
    # the run's Audit row is kept, the rollback adds its own
    assert len(audit_payloads(app_db, "backfill_customers")) == 1
    rollback = audit_payloads(app_db, "backfill_customers_rollback")
    assert len(rollback) == 1
    assert rollback[0]["stats"] == {
        "customersDeleted": applied["customersCreated"],
        "customersRestored": 0,
        "leadsUnlinked": applied["leadsLinked"],
        "jobsUnlinked": applied["jobsLinked"],
        "rowsMovedBack": 0,
        "addressesDeleted": applied["addressesCreated"],
        "customersKept": 0,
        "entriesRolledBack": len(ledger_rows(app_db)),
    }
    # ledger entries are marked, not deleted
    assert {row[4] for row in ledger_rows(app_db)} == {rollback[0]["rollbackId"]}
    assert summary_counts(result.stdout) == {
        "Customers deleted": applied["customersCreated"],
        "Customers restored": 0,
        "Leads unlinked": applied["leadsLinked"],
        "Jobs unlinked": applied["jobsLinked"],
        "Rows moved back": 0,
        "Addresses deleted": applied["addressesCreated"],
        "Customers kept": 0,
        "Ledger entries undone": len(ledger_rows(app_db)),
    }


def test_rollback_after_two_runs_restores_the_app_tables(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    before = snapshot(app_db)
    project.build()
    later = add_later_leads(app_db)
    with_later_leads = snapshot(app_db)
    project.build()
    assert app_db.count("Lead", "customer_id is null") == 0

    operation(project, "rollback_backfill")

    assert snapshot(app_db) == with_rows_of(before, with_later_leads, later)
    assert len(audit_payloads(app_db, "backfill_customers")) == 2
    assert (
        audit_payloads(app_db, "backfill_customers_rollback")[0]["runIds"] == run_ids(app_db)[::-1]
    )


def test_rolling_back_one_run_leaves_the_other(app_db: AppDatabase, project: DbtProject) -> None:
    seed_clean_app(app_db)
    before = snapshot(app_db)
    project.build()
    later = add_later_leads(app_db)
    after_first_run = snapshot(app_db)
    project.build()
    first, second = run_ids(app_db)

    operation(project, "rollback_backfill", run_id=second)

    assert snapshot(app_db) == after_first_run
    operation(project, "rollback_backfill", run_id=first)
    assert snapshot(app_db) == with_rows_of(before, after_first_run, later)


def test_an_older_run_whose_customer_a_newer_run_uses_is_not_rolled_back_alone(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    joining = app_db.add_lead(phone="555 777 1234", name="Bob later")
    project.build()
    first, second = run_ids(app_db)
    bob = app_db.lead_customer(ids["bob_1"])
    assert app_db.lead_customer(joining) == bob
    before = snapshot(app_db)

    result = operation(project, "rollback_backfill", check=False, run_id=first)

    assert not result.ok
    assert (
        f"{bob}: 1 lead(s) linked by run {second}, which is not rolled back here" in result.stdout
    )
    assert snapshot(app_db) == before


def test_app_made_links_and_customers_survive(app_db: AppDatabase, project: DbtProject) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    psid_customer = app_db.lead_customer(ids["psid_lead"])
    # after the run, the app moves a lead (and its job) to its own customer, and makes a new one
    app_db.execute(
        'update "Lead" set customer_id = %s where id = %s', (ids["app_customer"], ids["psid_lead"])
    )
    app_db.execute(
        'update "Job" set customer_id = %s where id = %s', (ids["app_customer"], ids["psid_job"])
    )
    app_customer_2 = app_db.add_customer(name="Zed App", phone="5553334444")
    app_lead_2 = app_db.add_lead(phone="5553334444", customer_id=app_customer_2)
    app_rows = snapshot(app_db)

    operation(project, "rollback_backfill")

    after = snapshot(app_db)
    for table, row_id in [
        ("Customer", ids["app_customer"]),
        ("Customer", app_customer_2),
        ("Lead", app_lead_2),
        ("Lead", ids["app_linked_lead"]),
        ("Job", ids["app_linked_job"]),
        ("Lead", ids["psid_lead"]),
        ("Job", ids["psid_job"]),
    ]:
        assert after[table][row_id] == app_rows[table][row_id], (table, row_id)
    # the backfill's own links and customers are gone
    assert app_db.lead_customer(ids["ann_lead"]) is None
    assert app_db.job_customer(ids["ann_job"]) is None
    assert psid_customer not in after["Customer"]
    assert backfill_customers(app_db) == set()


def make_customers_used_by_the_app(db: AppDatabase, ids: dict[str, str]) -> dict[str, str]:
    """The app uses two backfill customers after the run; two others stay unused."""
    used = {
        "bob": db.lead_customer(ids["bob_1"]) or "",
        "psid": db.lead_customer(ids["psid_lead"]) or "",
    }
    db.add_lead(phone="5557771234", customer_id=used["bob"])
    db.add_conversation(None, customer_id=used["psid"])
    db.add_memory_note(used["psid"])
    db.execute(
        "insert into \"CustomerAddress\" (customer_id, address) values (%s, '7 App Way')",
        (used["psid"],),
    )
    db.execute(
        "update \"Customer\" set name = 'Robert B.', updated_at = now() where id = %s",
        (used["bob"],),
    )
    return used


def test_a_customer_the_app_uses_stops_the_rollback_with_a_listing(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    used = make_customers_used_by_the_app(app_db, ids)
    before = app_db.fingerprints()
    ledger_before = ledger_rows(app_db)

    result = operation(project, "rollback_backfill", check=False)

    assert not result.ok
    assert "stopped before changing anything" in result.output
    assert "ROLLBACK STOPPED (nothing was changed)" in result.stdout
    bob_line = next(line for line in result.stdout.splitlines() if used["bob"] in line)
    psid_line = next(line for line in result.stdout.splitlines() if used["psid"] in line)
    assert "1 lead(s) linked by the app" in bob_line
    assert "edited since the backfill created it" in bob_line
    assert '1 row(s) of "Conversation" pointing at it' in psid_line
    assert '1 row(s) of "MemoryNote" pointing at it' in psid_line
    assert "1 address(es) added by the app" in psid_line
    assert "force: true" in result.output
    assert app_db.fingerprints() == before
    assert ledger_rows(app_db) == ledger_before


def test_force_keeps_the_used_customers_and_rolls_back_the_rest(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    used = make_customers_used_by_the_app(app_db, ids)
    unused = backfill_customers(app_db) - set(used.values())
    kept_rows = {table: snapshot(app_db)[table] for table in ("Lead", "Job", "CustomerAddress")}
    stopped = operation(project, "rollback_backfill", check=False)
    assert not stopped.ok

    result = operation(project, "rollback_backfill", force=True)

    remaining = snapshot(app_db)
    assert set(used.values()) <= set(remaining["Customer"])
    assert not unused & set(remaining["Customer"])
    for table in ("Lead", "Job", "CustomerAddress"):
        # rows on the kept customers are untouched, their backfill links included
        for row_id, row in kept_rows[table].items():
            if any(customer in row for customer in used.values()):
                assert remaining[table][row_id] == row
    assert app_db.lead_customer(ids["bob_1"]) == used["bob"]
    assert app_db.lead_customer(ids["ann_lead"]) is None
    assert app_db.lead_customer(ids["email_lead"]) is None
    payload = audit_payloads(app_db, "backfill_customers_rollback")[0]
    assert payload["stats"]["customersKept"] == 2
    assert payload["stats"]["customersDeleted"] == 2
    assert {kept["customer_id"] for kept in payload["keptCustomers"]} == set(used.values())
    assert "Customers kept:         2" in result.stdout
    # the stopped rollback announced what force does: its preview, the real counts
    assert "With force: true the rollback would:" in stopped.stdout
    assert summary_counts(stopped.stdout) == summary_counts(result.stdout)
    # the kept customers' entries stay active: a later rollback still sees them
    again = operation(project, "rollback_backfill", check=False)
    assert not again.ok
    assert used["bob"] in again.stdout


def test_a_failure_in_the_middle_of_the_rollback_changes_nothing(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    project.build()
    before = app_db.fingerprints()
    ledger_before = ledger_rows(app_db)
    # customers are deleted after the jobs and leads are unlinked and the addresses deleted
    app_db.fail_on("delete", "Customer", "injected failure while deleting customers")

    result = operation(project, "rollback_backfill", check=False)

    assert not result.ok
    assert "injected failure while deleting customers" in result.output
    assert app_db.fingerprints() == before
    assert ledger_rows(app_db) == ledger_before
    app_db.execute('drop trigger fail_customer_delete on "Customer"')
    operation(project, "rollback_backfill")
    assert backfill_customers(app_db) == set()


def test_dry_run_changes_nothing_and_announces_what_the_rollback_does(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    project.build()
    before = app_db.fingerprints()
    ledger_before = ledger_rows(app_db)

    dry = operation(project, "rollback_backfill", dry_run=True)

    assert "ROLLBACK DRY RUN (nothing was changed)" in dry.stdout
    assert app_db.fingerprints() == before
    assert ledger_rows(app_db) == ledger_before
    real = operation(project, "rollback_backfill")
    assert summary_counts(dry.stdout) == summary_counts(real.stdout)
    assert summary_counts(real.stdout)["Customers deleted"] == 4


def test_a_new_run_after_a_rollback_recreates_the_same_customers(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    project.build()
    first_customers = backfill_customers(app_db)
    first_state = snapshot(app_db)

    operation(project, "rollback_backfill")
    assert backfill_customers(app_db) == set()
    project.build()

    assert backfill_customers(app_db) == first_customers
    second_state = snapshot(app_db)
    # same links and addresses (ids included); only creation times differ
    for table in ("Lead", "Job"):
        assert second_state[table] == first_state[table]
    assert set(second_state["CustomerAddress"]) == set(first_state["CustomerAddress"])
    statuses = node_statuses(project)
    assert statuses["test_leads_after_backfill__every_lead_linked"] == "pass"
    assert statuses["test_backfill_runs__latest_run_has_audit_row"] == "pass"
    first, second = run_ids(app_db)
    by_run = {row[0]: row[4] for row in ledger_rows(app_db)}
    assert by_run[first] is not None
    assert by_run[second] is None


WRITTEN_TABLES = ("Lead", "Job", "CustomerAddress", "Customer")
LEDGER = "customer_backfill.backfill_ledger"


def statistics_gaps(db: AppDatabase) -> dict[str, tuple[float, float]]:
    """(what the planner's statistics say, what is there) for each table the apply and the
    rollback write, where they differ: the row count (pg_class.reltuples; ANALYZE reads
    every row of tables this small, so fresh statistics match exactly) and the ledger's share
    of entries not rolled back."""
    gaps: dict[str, tuple[float, float]] = {}
    for name in (*(db.table(table) for table in WRITTEN_TABLES), LEDGER):
        estimated = db.scalar("select reltuples from pg_class where oid = %s::regclass", (name,))
        actual = db.scalar(f"select count(*) from {name}")
        if estimated != actual:
            gaps[name] = (estimated, actual)
    estimated_share = db.scalar(
        "select 1 - null_frac from pg_stats where schemaname = 'customer_backfill'"
        " and tablename = 'backfill_ledger' and attname = 'rolled_back_at'"
    )
    actual_share = db.scalar(f"select avg((rolled_back_at is not null)::int) from {LEDGER}")
    if abs(estimated_share - float(actual_share)) > 0.01:
        gaps["rolled back share"] = (estimated_share, float(actual_share))
    return gaps


def test_the_apply_and_the_rollback_leave_fresh_statistics(
    app_db: AppDatabase, project: DbtProject
) -> None:
    """Autovacuum's ANALYZE runs when it gets to it: after a rollback it may record a ledger
    whose entries are all rolled back, and a run that then added entries without analyzing
    left the post-apply checks planning one backfill customer (at 100k leads, one of them
    nested-looped 61,524 customers over a 40,000-row aggregate for minutes). The apply and
    the rollback analyze what they wrote, in their own transaction; the rollback also
    analyzes what it reads before it starts."""
    seed_clean_app(app_db)
    project.build()
    operation(project, "rollback_backfill")
    # what autovacuum may do after the rollback, and then nothing more
    for name in (*(app_db.table(table) for table in WRITTEN_TABLES), LEDGER):
        app_db.execute(f"analyze {name}")
        app_db.execute(f"alter table {name} set (autovacuum_enabled = false)")
    assert statistics_gaps(app_db) == {}

    project.build()
    assert app_db.count("Customer", "metadata->>'createdBy' = 'customer-backfill'") > 0
    assert statistics_gaps(app_db) == {}

    # the app changes its tables after the run; the rollback reads them with fresh
    # statistics, its dry run included (a 15-minute preview at 100k leads, otherwise)
    add_later_leads(app_db)
    app_db.add_customer(name="Later App Customer", phone="555 888 9999")
    assert statistics_gaps(app_db) != {}
    operation(project, "rollback_backfill", dry_run=True)
    assert statistics_gaps(app_db) == {}

    operation(project, "rollback_backfill")
    assert app_db.count("Customer", "metadata->>'createdBy' = 'customer-backfill'") == 0
    assert statistics_gaps(app_db) == {}


def test_the_rollback_waits_for_a_running_backfill_then_stops(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    project.build()
    before = app_db.fingerprints()
    holder = connect(app_db.env)
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtextextended('customer_backfill:public', 0))")

    try:
        result = project.run(
            "run-operation", "rollback_backfill", vars={"lock_wait_timeout": "1s"}, check=False
        )
    finally:
        holder.rollback()
        holder.close()

    assert not result.ok
    assert "another backfill, rollback or customer operation is running" in result.output
    assert app_db.fingerprints() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"run_id": "0b7c2f1e-4a5d-4c3b-9e8f-1a2b3c4d5e6f"}, "unknown run id(s)"),
        ({"run_id": "last-friday"}, "the argument run_id must be an id"),
        ({"dry_run": "maybe"}, "the argument dry_run must be true or false"),
        ({"force": "please"}, "the argument force must be true or false"),
    ],
)
def test_bad_arguments_stop_with_a_message(
    app_db: AppDatabase, project: DbtProject, args: dict[str, object], message: str
) -> None:
    seed_clean_app(app_db)
    project.build()
    before = app_db.fingerprints()

    result = operation(project, "rollback_backfill", check=False, **args)

    assert not result.ok
    assert message in result.output
    assert "nothing was changed" in result.output
    assert app_db.fingerprints() == before


def test_nothing_to_roll_back_is_said_and_changes_nothing(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_clean_app(app_db)
    project.build()
    operation(project, "rollback_backfill")
    before = app_db.fingerprints()

    again = operation(project, "rollback_backfill")

    assert "Nothing to roll back" in again.stdout
    assert app_db.fingerprints() == before
