"""`merge_customers` and `split_customer`: atomic, audited, dry-runnable, and a later
rollback still undoes exactly what the backfill did."""

from __future__ import annotations

import pytest

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import (
    TOWN,
    audit_payloads,
    customer_id_for_lead,
    ledger_rows,
    node_statuses,
    operation,
    seed_app_with_conflict,
    seed_clean_app,
    snapshot,
)

SCHEMA = "customer_backfill"
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
    app_db.fail_on("delete", "Customer", "injected failure while deleting the customer")

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
    app_db.fail_on("insert", "CustomerAddress", "injected failure while adding addresses")

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


def test_a_merge_of_two_app_customers_is_undone_by_the_rollback(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    twin = app_db.add_customer(name="Ann A.", email="ann@app.example.org")
    twin_lead = app_db.add_lead(email="ann@app.example.org", customer_id=twin)
    app_db.add_conversation(twin_lead, customer_id=twin)
    project.build()
    before = snapshot(app_db)

    merge(project, ids["app_customer"], twin)
    # the app customer without an e-mail takes its twin's; the twin is gone
    assert app_db.count("Customer", f"id = '{twin}'") == 0
    assert app_db.lead_customer(twin_lead) == ids["app_customer"]
    email = app_db.scalar('select email from "Customer" where id = %s', (ids["app_customer"],))
    assert email == "ann@app.example.org"

    operation(
        project,
        "rollback_backfill",
        run_id=audit_payloads(app_db, "backfill_customers_merge")[0]["operationId"],
    )

    # the twin is back, with its lead and conversation, and Ann without an e-mail again
    assert snapshot(app_db) == before


def test_link_lead_links_a_lead_and_its_jobs_and_the_rollback_unlinks_them(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    lead = app_db.add_lead(name="Late Larry", address=f"4 Birch Ln, {TOWN}")
    job = app_db.add_job(lead)
    before = snapshot(app_db)

    dry = operation(project, "link_lead", lead_id=lead, customer_id="new", dry_run=True)
    assert snapshot(app_db) == before
    assert "LINK DRY RUN" in dry.stdout
    new = operation(project, "link_lead", lead_id=lead, customer_id="new")

    customer = customer_id_for_lead(lead)
    assert customer in new.stdout
    assert app_db.lead_customer(lead) == customer
    assert app_db.job_customer(job) == customer
    assert app_db.scalar('select name from "Customer" where id = %s', (customer,)) == "Late Larry"
    assert app_db.count("CustomerAddress", f"customer_id = '{customer}'") == 1
    payload = audit_payloads(app_db, "backfill_customers_link")[0]
    assert (payload["leads"], payload["jobs"], payload["addresses"]) == (1, 1, 1)

    operation(project, "rollback_backfill", run_id=payload["operationId"])
    assert snapshot(app_db) == before

    operation(project, "link_lead", lead_id=lead, customer_id=ids["app_customer"])
    assert app_db.lead_customer(lead) == ids["app_customer"]
    assert app_db.job_customer(job) == ids["app_customer"]


BAD_LINKS = {
    "a lead that has a customer": (lambda ids: (ids["bob_1"], "new"), "already belongs to"),
    "an unknown lead": (
        lambda ids: ("0b7c2f1e-4a5d-4c3b-9e8f-1a2b3c4d5e6f", "new"),
        "does not exist",
    ),
    "an unknown customer": (
        lambda ids: (ids["nothing_lead"], "0b7c2f1e-4a5d-4c3b-9e8f-1a2b3c4d5e6f"),
        "no such customer",
    ),
    "not an id": (lambda ids: (ids["nothing_lead"], "Bob"), "must be an id"),
}


@pytest.mark.parametrize("case", list(BAD_LINKS), ids=list(BAD_LINKS))
def test_bad_link_arguments_stop_with_a_message(
    app_db: AppDatabase, project: DbtProject, case: str
) -> None:
    ids = seed_clean_app(app_db)
    project.build()
    app_db.execute('update "Lead" set customer_id = null where id = %s', (ids["nothing_lead"],))
    arguments, message = BAD_LINKS[case]
    lead_id, customer_id = arguments(ids)
    before = state(app_db)

    result = operation(project, "link_lead", check=False, lead_id=lead_id, customer_id=customer_id)

    assert not result.ok
    assert message in result.output
    assert "othing was changed" in result.output
    assert state(app_db) == before


def test_a_failure_in_the_middle_of_resolve_conflicts_changes_nothing(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_app_with_conflict(app_db)
    twin = ids["twin_customer"]
    project.build()
    assert app_db.scalar(f"select count(*) from {SCHEMA}.plan_conflicts") > 0
    before = state(app_db)
    app_db.fail_on("delete", "Customer", "injected failure while deleting the customer")

    result = operation(project, "resolve_conflicts", check=False)

    assert not result.ok
    assert "injected failure while deleting the customer" in result.output
    assert state(app_db) == before
    assert app_db.count("Customer", f"id in ('{ids['app_customer']}', '{twin}')") == 2
