"""The project's `unique` and `unique_combination` tests skip a scan only when an index
makes it redundant; without one (or for rows the index cannot cover) they still fail."""

from __future__ import annotations

import re

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.test_backfill_end_to_end import seed_small_app


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
