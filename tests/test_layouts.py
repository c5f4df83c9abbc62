"""Another deployment's layout: app tables in a non-public schema, the PSID column named
`messenger_psid`, no foreign keys from Lead/Job to Customer. The whole cycle works there:
dry run, apply, re-run, rollback. (Foreign keys or not is also covered by the rollback
tests; the default layout by every other test.)"""

from __future__ import annotations

import pytest

from backfill_tools.db.appdb import AppSchema
from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import seed_small_app

OTHER_LAYOUT = AppSchema(schema="crm", psid_column="messenger_psid", customer_foreign_keys=False)


def without_audit(prints: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    return {table: value for table, value in prints.items() if table != "Audit"}


@pytest.mark.parametrize("app_schema", [OTHER_LAYOUT], ids=["crm-messenger_psid-no-fks"])
def test_dry_run_apply_rerun_and_rollback_in_another_layout(
    app_db: AppDatabase, project: DbtProject, app_schema: AppSchema
) -> None:
    ids = seed_small_app(app_db)
    before = app_db.fingerprints()

    project.build(dry_run=True)
    assert app_db.fingerprints() == before

    project.build()
    applied = app_db.fingerprints()
    assert app_db.count("Lead", "customer_id is null") == 0
    assert app_db.count("Job", "customer_id is null") == 0
    assert app_db.lead_customer(ids["ann_lead"]) == ids["app_customer"]
    assert app_db.lead_customer(ids["phone_lead"]) == app_db.lead_customer(ids["same_phone_lead"])

    project.build()
    assert without_audit(app_db.fingerprints()) == without_audit(applied)

    project.run("run-operation", "rollback_backfill")
    assert without_audit(app_db.fingerprints()) == without_audit(before)
