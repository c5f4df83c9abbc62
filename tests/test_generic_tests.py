"""The project's `unique` and `unique_combination` tests skip a scan only when an index
makes it redundant; without one (or for rows the index cannot cover) they still fail."""

from __future__ import annotations

import re

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import seed_small_app


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"FAIL \d+ (\w+)", output))


def test_unique_scans_and_fails_once_the_unique_index_is_gone(
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

    result = project.run("test", "-s", "plan_lead_links", check=False)

    assert not result.ok
    assert "unique_plan_lead_links_lead_id" in failed_tests(result.output)


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

    in_force = project.run("test", "-s", "backfill_ledger", check=False)

    assert not in_force.ok
    failed = failed_tests(in_force.output)
    assert any(name.startswith("unique_combination_backfill_ledger") for name in failed)
    assert "not_null_backfill_ledger_object_id" in failed
    assert any(name.startswith("accepted_values_backfill_ledger_object_type") for name in failed)
