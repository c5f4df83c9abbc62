"""The project's generic tests: `grain` (a model's grain columns not null and unique, and
its other columns' not-null and accepted values, in one query) and `unique_combination`
skip a scan only when an index makes it redundant; without one (or for rows the index
cannot cover) they still fail. `column_values` checks the columns of a model whose grain
allows nulls. Each fails with rows that say what is wrong."""

from __future__ import annotations

import re

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import seed_small_app

# the next value of the ledger's sequence, as every write path draws it (record_changes)
NEXT_CHANGE = "nextval('customer_backfill.backfill_ledger_change_sequence')"


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"FAIL \d+ (\w+)", output))


def test_grain_scans_and_fails_on_a_duplicate_once_the_unique_index_is_gone(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)
    [index] = app_db.query(
        "select indexname from pg_indexes where schemaname = 'customer_backfill'"
        " and tablename = 'plan_lead_links' and indexdef like 'CREATE UNIQUE%'"
    )[0]
    app_db.execute(
        f'drop index customer_backfill."{index}";'
        " insert into customer_backfill.plan_lead_links"
        " select * from customer_backfill.plan_lead_links limit 1"
    )

    result = project.run("test", "-s", "plan_lead_links", "--store-failures", check=False)

    assert not result.ok
    assert "grain_plan_lead_links_lead_id" in failed_tests(result.output)
    assert failing_rows(app_db, "grain_plan_lead_links_lead_id") == [("duplicate", 2)]


def failing_rows(app_db: AppDatabase, test_name: str) -> list[tuple]:
    """(failure, n_records) of each row a test stored (--store-failures)."""
    return sorted(
        app_db.query(
            f"select failure, n_records from customer_backfill_dbt_test__audit.{test_name}"
        )
    )


def test_grain_fails_on_a_null_even_with_the_unique_index(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)
    # a unique index lets any number of nulls in: the null rows are always looked for
    app_db.execute(
        "insert into customer_backfill.plan_lead_links (lead_id, customer_id)"
        " select null, customer_id from customer_backfill.plan_lead_links limit 1"
    )

    result = project.run("test", "-s", "plan_lead_links", "--store-failures", check=False)

    assert not result.ok
    assert "grain_plan_lead_links_lead_id" in failed_tests(result.output)
    assert failing_rows(app_db, "grain_plan_lead_links_lead_id") == [("null", 1)]


def test_grain_of_several_columns_fails_on_a_duplicate_and_on_a_null(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)
    members = "customer_backfill.int_identity_stage_members"
    [index] = app_db.query(
        "select indexname from pg_indexes where schemaname = 'customer_backfill'"
        " and tablename = 'int_identity_stage_members' and indexdef like 'CREATE UNIQUE%'"
    )[0]
    app_db.execute(
        f'drop index customer_backfill."{index}";'
        f" insert into {members} select * from {members} limit 1;"
        f" insert into {members} (link_stage, value_key, node_id)"
        f" select link_stage, null, node_id from {members} limit 1"
    )

    result = project.run(
        "test", "-s", "int_identity_stage_members", "--store-failures", check=False
    )

    assert not result.ok
    [name] = [n for n in failed_tests(result.output) if n.startswith("grain_")]
    assert name == "grain_int_identity_stage_members_link_stage__value_key__node_id"
    assert failing_rows(app_db, name) == [("duplicate", 2), ("null", 1)]


def test_grain_fails_on_a_null_and_on_a_value_not_accepted_in_its_other_columns(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)
    app_db.execute(
        "update customer_backfill.int_leads_resolved_to_customers set lead_action = 'bogus'"
        " where lead_id = (select min(lead_id::text)::uuid"
        " from customer_backfill.int_leads_resolved_to_customers);"
        " update customer_backfill.int_leads_resolved_to_customers set lead_action = null"
        " where lead_id = (select max(lead_id::text)::uuid"
        " from customer_backfill.int_leads_resolved_to_customers)"
    )

    result = project.run(
        "test", "-s", "int_leads_resolved_to_customers", "--store-failures", check=False
    )

    assert not result.ok
    name = "grain_int_leads_resolved_to_customers_lead_id"
    assert name in failed_tests(result.output)
    rows = sorted(
        app_db.query(
            "select column_name, failure, failing_values, n_records"
            f" from customer_backfill_dbt_test__audit.{name}"
        )
    )
    assert rows == [
        ("lead_action", "not_accepted", "bogus", 1),
        ("lead_action", "null", None, 1),
    ]


def test_unique_combination_still_groups_rows_the_unique_index_cannot_cover(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build()
    # a null in the key: the unique index lets both rows in (nulls are distinct there)
    app_db.execute(
        "insert into customer_backfill.backfill_ledger"
        " (run_id, change_sequence, object_type, object_id)"
        f" values ('run-x', {NEXT_CHANGE}, 'lead', null), ('run-x', {NEXT_CHANGE}, 'lead', null)"
    )

    result = project.run("test", "-s", "backfill_ledger", check=False)

    assert not result.ok
    assert any(
        name.startswith("unique_combination_backfill_ledger")
        for name in failed_tests(result.output)
    )


def _add_bad_ledger_entries(app_db: AppDatabase, run_id: str, undone: bool) -> None:
    """A duplicate, a missing object id and an unknown type, as a write path records
    them (the next change_sequence), undone by a rollback or in force."""
    rolled_back = "'rollback-x', now()" if undone else "null, null"
    app_db.execute(
        "insert into customer_backfill.backfill_ledger (run_id, change_sequence, object_type,"
        " object_id, rolled_back_by_run_id, rolled_back_at) values"
        f" ('{run_id}', {NEXT_CHANGE}, 'lead', null, {rolled_back}),"
        f" ('{run_id}', {NEXT_CHANGE}, 'lead', null, {rolled_back}),"
        f" ('{run_id}', {NEXT_CHANGE}, 'invoice', gen_random_uuid(), {rolled_back})"
    )


def test_ledger_tests_read_only_the_entries_still_in_force(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build()
    # entries a rollback undid: history the tests no longer read (it only grows)
    _add_bad_ledger_entries(app_db, "run-x", undone=True)

    undone = project.run("test", "-s", "backfill_ledger", check=False)

    assert undone.ok, undone.output

    # the same entries in force: every one of those tests fails
    _add_bad_ledger_entries(app_db, "run-y", undone=False)

    in_force = project.run("test", "-s", "backfill_ledger", "--store-failures", check=False)

    assert not in_force.ok
    failed = failed_tests(in_force.output)
    assert any(name.startswith("unique_combination_backfill_ledger") for name in failed)
    assert "column_values_backfill_ledger" in failed
    assert sorted(
        app_db.query(
            "select column_name, failure from customer_backfill_dbt_test__audit"
            ".column_values_backfill_ledger"
        )
    ) == [("object_id", "null"), ("object_type", "not_accepted")]


def test_ledger_tests_read_each_entry_until_a_run_of_them_has_passed(
    app_db: AppDatabase, project: DbtProject
) -> None:
    """The ledger only grows: entries a passing run of its tests read are not read again
    (ledger_checks.sql); entries after them are read until their tests pass."""
    seed_small_app(app_db)
    project.build()
    applied = app_db.scalar("select count(*) from customer_backfill.backfill_ledger")
    assert applied > 0
    # dbt test reads the apply's entries (the build's tests ran before its apply) and passes
    project.run("test", "-s", "backfill_ledger")
    checked = app_db.scalar(
        "select max(sequence_at_start) from customer_backfill.backfill_ledger_checks"
        " where passed_at is not null"
    )
    assert checked == app_db.scalar(
        "select max(change_sequence) from customer_backfill.backfill_ledger"
    )
    # so an entry it read is not read again (no write path alters one; this shows it)
    app_db.execute(
        "update customer_backfill.backfill_ledger set object_type = 'invoice'"
        " where change_sequence ="
        " (select min(change_sequence) from customer_backfill.backfill_ledger)"
    )

    assert project.run("test", "-s", "backfill_ledger", check=False).ok

    # an entry without a sequence (a ledger of an earlier version has them; no write path
    # writes one now) recorded since the first passing run is read all the same
    app_db.execute(
        "insert into customer_backfill.backfill_ledger (run_id, object_type, object_id,"
        " recorded_at) values ('run-y', 'invoice', gen_random_uuid(), now())"
    )
    unsequenced = project.run("test", "-s", "backfill_ledger", check=False)
    assert "column_values_backfill_ledger" in failed_tests(unsequenced.output)
    app_db.execute("delete from customer_backfill.backfill_ledger where run_id = 'run-y'")

    # entries written after it are read, and read again while their tests fail
    _add_bad_ledger_entries(app_db, "run-z", undone=False)

    for _ in range(2):
        result = project.run("test", "-s", "backfill_ledger", check=False)
        assert not result.ok
        assert "column_values_backfill_ledger" in failed_tests(result.output)
