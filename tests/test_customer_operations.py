"""`merge_customers` and `split_customer`: atomic, audited, dry-runnable, and a later
rollback still undoes exactly what the backfill did."""

from __future__ import annotations

import pytest

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import (
    audit_payloads,
    customer_id_for_lead,
    ledger_rows,
    node_statuses,
    operation,
    seed_clean_app,
    snapshot,
)

VALIDATION_ERRORS = (
    "test_leads_after_backfill__every_lead_linked",
    "test_jobs_after_backfill__every_job_linked",
    "test_jobs_after_backfill__customer_matches_lead_customer",
    "test_customers_after_backfill__found_by_their_phone",
)


def merge(project: DbtProject, into: str, from_: str, check: bool = True, **args: object):
    return operation(project, "merge_customers", check=check, into=into, **{"from": from_}, **args)


def overrides(db: AppDatabase) -> set[tuple[str, str, str]]:
    rows = db.query(
        "select override_type, lead_id::text, other_lead_id::text"
        " from customer_backfill.manual_overrides"
    )
    return {(kind, *sorted((lead, other))) for kind, lead, other in rows}


def state(db: AppDatabase) -> tuple[object, ...]:
    """Everything an operation may change: app tables, ledger, overrides."""
    return (db.fingerprints(), ledger_rows(db), overrides(db))


def test_merge_moves_every_row_of_from_and_deletes_it(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    into = app_db.lead_customer(ids["bob_1"]) or ""
    from_ = app_db.lead_customer(ids["psid_lead"]) or ""
    app_db.add_conversation(None, customer_id=from_)
    app_db.add_memory_note(from_)

    result = merge(project, into, from_)

    assert app_db.count("Customer", f"id = '{from_}'") == 0
    assert app_db.lead_customer(ids["psid_lead"]) == into
    assert app_db.job_customer(ids["psid_job"]) == into
    assert app_db.count("Conversation", f"customer_id = '{into}'") == 1
    assert app_db.count("MemoryNote", f"customer_id = '{into}'") == 1
    # the moved address is no second primary
    assert app_db.count("CustomerAddress", f"customer_id = '{into}'") == 3
    assert app_db.count("CustomerAddress", f"customer_id = '{into}' and is_primary") == 1
    payload = audit_payloads(app_db, "backfill_customers_merge")[0]
    assert payload["moved"] == {
        "Lead": 1,
        "Job": 1,
        "CustomerAddress": 1,
        "Conversation": 1,
        "MemoryNote": 1,
    }
    assert payload["deletedCustomer"]["id"] == from_
    assert "CUSTOMERS MERGED" in result.stdout
    assert overrides(app_db) == {("force_link", *sorted((ids["bob_1"], ids["psid_lead"])))}
    # the ledger records every change the merge made, with what was there before
    merged = [row for row in ledger_rows(app_db) if row[0] == payload["operationId"]]
    changes = {(row[1], row[2]): (row[5], row[3], row[6]) for row in merged}
    assert changes[("lead", ids["psid_lead"])] == ("move", into, from_)
    assert changes[("job", ids["psid_job"])] == ("move", into, from_)
    assert changes[("customer", from_)] == ("delete", from_, None)
    kinds = {"lead", "job", "customer_address", "reference", "customer"}
    assert {row[1] for row in merged} == kinds
    project.run("test")
    statuses = node_statuses(project)
    for name in VALIDATION_ERRORS:
        assert statuses[name] == "pass", name


def test_merge_then_rollback_restores_the_app_tables(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    before = snapshot(app_db)
    project.build()
    merge(
        project,
        app_db.lead_customer(ids["bob_1"]) or "",
        app_db.lead_customer(ids["psid_lead"]) or "",
    )
    merge(project, ids["app_customer"], app_db.lead_customer(ids["email_lead"]) or "")

    operation(project, "rollback_backfill")

    assert snapshot(app_db) == before


def test_split_gives_the_leads_a_new_customer_and_keeps_them_apart(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    bob = app_db.lead_customer(ids["bob_1"]) or ""
    new = customer_id_for_lead(ids["bob_2"])

    result = operation(
        project, "split_customer", customer_id=bob, lead_ids=[ids["bob_3"], ids["bob_2"]]
    )

    assert app_db.lead_customer(ids["bob_2"]) == new
    assert app_db.lead_customer(ids["bob_3"]) == new
    assert app_db.lead_customer(ids["bob_1"]) == bob
    assert app_db.job_customer(ids["bob_job_3"]) == new
    assert app_db.job_customer(ids["bob_job_1"]) == bob
    name, phone, email, metadata = app_db.query(
        'select name, phone, email, metadata from "Customer" where id = %s', (new,)
    )[0]
    assert (phone, email) == ("+15557771234", "bob@x.com")
    assert name in {"Bobby", "Robert"}
    assert metadata["splitFrom"] == bob
    addresses = app_db.query(
        'select address, is_primary from "CustomerAddress" where customer_id = %s', (new,)
    )
    assert addresses == [("2 Elm St, Springfield, IL 62704", True)]
    assert overrides(app_db) == {
        ("do_not_link", *sorted((ids["bob_1"], ids["bob_2"]))),
        ("do_not_link", *sorted((ids["bob_1"], ids["bob_3"]))),
    }
    payload = audit_payloads(app_db, "backfill_customers_split")[0]
    assert payload["newCustomerId"] == new
    assert payload["moved"] == {"Lead": 2, "Job": 1, "CustomerAddress": 1, "do_not_link pairs": 2}
    assert "CUSTOMER SPLIT" in result.stdout
    split = [row for row in ledger_rows(app_db) if row[0] == payload["operationId"]]
    changes = {(row[1], row[2]): (row[5], row[3], row[6]) for row in split}
    assert changes[("customer", new)] == ("create", new, None)
    assert changes[("lead", ids["bob_2"])] == ("move", new, bob)
    assert changes[("job", ids["bob_job_3"])] == ("move", new, bob)
    # two customers with one phone, kept apart on purpose: the check accepts them
    project.run("test")
    statuses = node_statuses(project)
    for name in VALIDATION_ERRORS:
        assert statuses[name] == "pass", name


def test_split_then_merge_then_rollback_restores_the_app_tables(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    before = snapshot(app_db)
    project.build()
    bob = app_db.lead_customer(ids["bob_1"]) or ""
    operation(project, "split_customer", customer_id=bob, lead_ids=ids["bob_3"])
    merge(
        project, customer_id_for_lead(ids["bob_3"]), app_db.lead_customer(ids["email_lead"]) or ""
    )

    result = operation(project, "rollback_backfill")

    assert snapshot(app_db) == before
    assert "customer operation" in result.stdout
    # the people's decisions outlive the rollback, for the next run's grouping
    assert ("do_not_link", *sorted((ids["bob_1"], ids["bob_3"]))) in overrides(app_db)


def test_dry_runs_change_nothing(app_db: AppDatabase, project: DbtProject) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    bob = app_db.lead_customer(ids["bob_1"]) or ""
    psid = app_db.lead_customer(ids["psid_lead"]) or ""
    before = state(app_db)

    merged = merge(project, bob, psid, dry_run=True)
    split = operation(
        project, "split_customer", customer_id=bob, lead_ids=[ids["bob_2"]], dry_run=True
    )

    assert state(app_db) == before
    assert "MERGE DRY RUN (nothing was changed)" in merged.stdout
    assert '"Lead" rows:            1' in merged.stdout
    assert "SPLIT DRY RUN (nothing was changed)" in split.stdout
    assert customer_id_for_lead(ids["bob_2"]) in split.stdout


def test_a_failure_in_the_middle_of_a_merge_changes_nothing(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    before = state(app_db)
    app_db.execute(
        "create function fail_customer_delete() returns trigger language plpgsql as"
        " $$ begin raise exception 'injected failure while deleting the customer'; end $$;"
        ' create trigger fail_customer_delete before delete on "Customer"'
        " for each row execute function fail_customer_delete();"
    )

    result = merge(
        project,
        app_db.lead_customer(ids["bob_1"]) or "",
        app_db.lead_customer(ids["psid_lead"]) or "",
        check=False,
    )

    assert not result.ok
    assert "injected failure while deleting the customer" in result.output
    assert state(app_db) == before


def test_a_failure_in_the_middle_of_a_split_changes_nothing(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    before = state(app_db)
    app_db.execute(
        "create function fail_address_insert() returns trigger language plpgsql as"
        " $$ begin raise exception 'injected failure while adding addresses'; end $$;"
        ' create trigger fail_address_insert before insert on "CustomerAddress"'
        " for each row execute function fail_address_insert();"
    )

    result = operation(
        project,
        "split_customer",
        check=False,
        customer_id=app_db.lead_customer(ids["bob_1"]),
        lead_ids=[ids["bob_2"]],
    )

    assert not result.ok
    assert "injected failure while adding addresses" in result.output
    assert state(app_db) == before


BAD_MERGES = {
    "into is from": (lambda ids, c: (c["bob"], c["bob"]), "are the same customer"),
    "unknown customer": (
        lambda ids, c: (c["bob"], "0b7c2f1e-4a5d-4c3b-9e8f-1a2b3c4d5e6f"),
        "no such customer",
    ),
    "not an id": (lambda ids, c: (c["bob"], "Bob Smith"), "the argument from must be an id"),
    "from missing": (lambda ids, c: (c["bob"], None), "the argument from is required"),
}


@pytest.mark.parametrize("case", list(BAD_MERGES), ids=list(BAD_MERGES))
def test_bad_merge_arguments_stop_with_a_message(
    app_db: AppDatabase, project: DbtProject, case: str
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    customers = {"bob": app_db.lead_customer(ids["bob_1"]) or ""}
    arguments, message = BAD_MERGES[case]
    into, from_ = arguments(ids, customers)
    before = state(app_db)

    args = {"into": into} if from_ is None else {"into": into, "from": from_}
    result = operation(project, "merge_customers", check=False, **args)

    assert not result.ok
    assert message in result.output
    assert "nothing was changed" in result.output
    assert state(app_db) == before


BAD_SPLITS = {
    "a lead of another customer": (
        lambda ids: [ids["bob_2"], ids["ann_lead"]],
        "belongs to customer",
    ),
    "every lead of the customer": (
        lambda ids: [ids["bob_1"], ids["bob_2"], ids["bob_3"]],
        "a split must leave it at least one",
    ),
    "an unknown lead": (
        lambda ids: ["0b7c2f1e-4a5d-4c3b-9e8f-1a2b3c4d5e6f"],
        "does not exist",
    ),
    "no leads": (lambda ids: [], "needs at least one id"),
    "the lead the customer's id comes from": (
        lambda ids: [ids["bob_1"]],
        "Split the other leads off instead",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SPLITS), ids=list(BAD_SPLITS))
def test_bad_split_arguments_stop_with_a_message(
    app_db: AppDatabase, project: DbtProject, case: str
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    lead_ids, message = BAD_SPLITS[case]
    before = state(app_db)

    result = operation(
        project,
        "split_customer",
        check=False,
        customer_id=app_db.lead_customer(ids["bob_1"]),
        lead_ids=lead_ids(ids),
    )

    assert not result.ok
    assert message in result.output
    assert "othing was changed" in result.output
    assert state(app_db) == before
