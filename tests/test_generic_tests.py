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
        "insert into customer_backfill.backfill_ledger (run_id, object_type, object_id)"
        " values ('run-x', 'lead', null), ('run-x', 'lead', null)"
    )

    result = project.run("test", "-s", "backfill_ledger", check=False)

    assert not result.ok
    assert any(
        name.startswith("unique_combination_backfill_ledger")
        for name in failed_tests(result.output)
    )


def test_ledger_tests_read_only_the_entries_still_in_force(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build()
    # a duplicate, a missing object id and an unknown type, all undone by a rollback:
    # history the tests no longer read (it only grows, run after run)
    app_db.execute(
        "insert into customer_backfill.backfill_ledger"
        " (run_id, object_type, object_id, rolled_back_by_run_id, rolled_back_at)"
        " values ('run-x', 'lead', null, 'rollback-x', now()),"
        " ('run-x', 'lead', null, 'rollback-x', now()),"
        " ('run-x', 'invoice', gen_random_uuid(), 'rollback-x', now())"
    )

    undone = project.run("test", "-s", "backfill_ledger", check=False)

    assert undone.ok, undone.output

    # the same entries in force: every one of those tests fails again
    app_db.execute(
        "update customer_backfill.backfill_ledger"
        " set rolled_back_by_run_id = null, rolled_back_at = null where run_id = 'run-x'"
    )

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
