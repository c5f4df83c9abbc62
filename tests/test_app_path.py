"""The app's own path after the backfill, on its real schema: duplicate customers the app
made -> conflicts -> resolve_conflicts -> the next build links everything -> conversations
take their lead's customer -> the coverage gates pass -> the NOT NULL migration -> a
rollback then refuses clearly, changing nothing. And what the app does with the result:
it finds the customers by an exact lookup of their phone in E.164, and greets them by a
well-formed name."""

from __future__ import annotations

import re

import pytest

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import audit_payloads, node_statuses, operation, snapshot

APP_READY = "test_app__every_lead_and_job_has_a_customer"
ZOE_PHONE = "+13123454139"


def seed_app_with_duplicates(db: AppDatabase) -> dict[str, str]:
    """Customers the app made twice for one person, and leads that now reach both.

    Zoë: the app's customer (e-mail only) and its duplicate (phone), each with a linked
    lead and job; her new lead gives both her phone and her e-mail. Daniel, her household
    partner, wrote from the same phone. Pat and Quinn are two people, and one lead carries
    Pat's phone and Quinn's e-mail (the rules cannot tell whose it is).
    """
    ids: dict[str, str] = {}
    ids["zoe_app"] = db.add_customer(name="Zoë Singh", email="zoe.singh@hotmail.com")
    ids["zoe_app_lead"] = db.add_lead(
        psid="7415926535897932", name="Zoë Singh", customer_id=ids["zoe_app"]
    )
    ids["zoe_dup"] = db.add_customer(name="ZOË SINGH", phone=ZOE_PHONE)
    ids["zoe_dup_lead"] = db.add_lead(phone=ZOE_PHONE, name="Zoë", customer_id=ids["zoe_dup"])
    ids["zoe_dup_job"] = db.add_job(ids["zoe_dup_lead"], customer_id=ids["zoe_dup"])
    ids["zoe_new"] = db.add_lead(
        phone="(312) 345-4139", email="Zoe.Singh@hotmail.com", name="zoë singh"
    )
    ids["zoe_new_job"] = db.add_job(ids["zoe_new"])
    ids["daniel"] = db.add_lead(phone=ZOE_PHONE, name="Daniel Singh")
    ids["daniel_job"] = db.add_job(ids["daniel"])
    ids["pat"] = db.add_customer(name="Pat Lee", phone="+14048670188")
    ids["quinn"] = db.add_customer(name="Quinn Diaz", email="quinn@diaz.org")
    ids["pat_or_quinn"] = db.add_lead(phone="404-867-0188", email="quinn@diaz.org")
    ids["pat_or_quinn_job"] = db.add_job(ids["pat_or_quinn"])
    ids["shirley_1"] = db.add_lead(phone="+12178450199", name="Shirley Turner")
    ids["shirley_2"] = db.add_lead(phone="+12178450199", name="SHIRLEY TURNER")
    ids["john"] = db.add_lead(phone="+16148450123", name="JOHN O'BRIEN")
    return ids


def link_commands(output: str, lead_id: str) -> list[str]:
    """The link_lead commands resolve_conflicts printed for a lead, in order."""
    pattern = re.compile(r"dbt run-operation link_lead --args '\{lead_id: " + lead_id + r"[^']*'")
    return pattern.findall(output)


def run_printed(project: DbtProject, command: str) -> None:
    """Run a `dbt run-operation ... --args '...'` command as printed."""
    name, args = re.match(r"dbt run-operation (\w+) --args '(.*)'", command).groups()
    project.run("run-operation", name, "--args", args)


def test_from_conflicts_to_the_not_null_migration(app_db: AppDatabase, project: DbtProject):
    ids = seed_app_with_duplicates(app_db)

    # the run links what it can and reports the leads that reach several customers
    project.build()
    assert app_db.lead_customer(ids["zoe_new"]) is None
    assert app_db.lead_customer(ids["pat_or_quinn"]) is None
    # Daniel shares Zoë's phone, not her name: a customer of his own (household guard)
    daniel = app_db.lead_customer(ids["daniel"])
    assert daniel not in (None, ids["zoe_app"], ids["zoe_dup"])
    gates = project.run("test", "--select", "tag:app_ready", check=False)
    assert not gates.ok
    assert node_statuses(project)[APP_READY] == "fail"

    # one preview, one resolve_conflicts
    before_preview = snapshot(app_db)
    preview = operation(project, "resolve_conflicts", dry_run=True)
    assert snapshot(app_db) == before_preview
    assert f"{ids['zoe_dup']}  ->  {ids['zoe_app']}" in preview.stdout
    resolved = operation(project, "resolve_conflicts")
    assert "CONFLICTS RESOLVED" in resolved.stdout
    # Zoë's two customers are one (the oldest stays, and takes the duplicate's phone)
    assert app_db.count("Customer", f"id = '{ids['zoe_dup']}'") == 0
    assert app_db.lead_customer(ids["zoe_dup_lead"]) == ids["zoe_app"]
    assert app_db.job_customer(ids["zoe_dup_job"]) == ids["zoe_app"]
    assert app_db.scalar('select phone from "Customer" where id = %s', (ids["zoe_app"],)) == (
        ZOE_PHONE
    )
    # Pat and Quinn are two people: the lead waits for a person, with the commands
    assert app_db.count("Customer", f"id in ('{ids['pat']}', '{ids['quinn']}')") == 2
    commands = link_commands(resolved.stdout, ids["pat_or_quinn"])
    assert len(commands) == 3  # Pat, Quinn, or a customer of its own
    assert f"lead {ids['pat_or_quinn']} (different_first_names) stays unlinked" in resolved.stdout
    assert audit_payloads(app_db, "backfill_customers_resolve")[0]["merges"] == [
        {"from": ids["zoe_dup"], "into": ids["zoe_app"], "reason": "resolve_conflicts"}
    ]

    # the next build links Zoë's lead to her customer; Daniel keeps his own
    project.build()
    assert app_db.lead_customer(ids["zoe_new"]) == ids["zoe_app"]
    assert app_db.job_customer(ids["zoe_new_job"]) == ids["zoe_app"]
    assert app_db.lead_customer(ids["daniel"]) == daniel
    # a person settles the last one with the printed command
    run_printed(project, next(command for command in commands if ids["pat"] in command))
    assert app_db.lead_customer(ids["pat_or_quinn"]) == ids["pat"]
    assert app_db.job_customer(ids["pat_or_quinn_job"]) == ids["pat"]

    # the app backfills its conversations: each takes its lead's customer
    for lead_id in app_db.query('select id::text from "Lead"'):
        app_db.add_conversation(lead_id[0], customer_id=app_db.lead_customer(lead_id[0]))
    project.run("test", "--select", "tag:app_ready")
    assert node_statuses(project)[APP_READY] == "pass"

    # the app's migration now applies, and the rollback refuses clearly, changing nothing
    app_db.schema.require_customer_links(app_db.conn)
    before = snapshot(app_db)
    dry = operation(project, "rollback_backfill", dry_run=True)
    assert "would stop before changing anything" in dry.stdout
    stopped = operation(project, "rollback_backfill", check=False)
    assert not stopped.ok
    assert "NOT NULL" in stopped.output
    assert "merge_customers or split_customer" in stopped.output
    assert snapshot(app_db) == before
    # a correction that only moves leads between customers still works
    operation(project, "split_customer", customer_id=ids["zoe_app"], lead_ids=[ids["zoe_new"]])
    assert app_db.lead_customer(ids["zoe_new"]) not in (None, ids["zoe_app"])


def test_new_customers_are_found_by_the_apps_exact_phone_lookup(
    app_db: AppDatabase, project: DbtProject
):
    ids = seed_app_with_duplicates(app_db)
    project.build()

    shirley = app_db.lead_customer(ids["shirley_1"])
    found = app_db.query('select id::text from "Customer" where phone = %s', ("+12178450199",))
    assert found == [(shirley,)]
    assert app_db.scalar('select phone from "Customer" where id = %s', (shirley,)) == (
        "+12178450199"
    )
    statuses = node_statuses(project)
    assert statuses["test_customers_after_backfill__found_by_their_phone"] == "pass"


def test_an_app_that_stores_national_digits_gets_them(app_db: AppDatabase, project: DbtProject):
    ids = seed_app_with_duplicates(app_db)

    project.build(vars={"customer_phone_format": "national"})

    shirley = app_db.lead_customer(ids["shirley_1"])
    assert app_db.scalar('select phone from "Customer" where id = %s', (shirley,)) == ("2178450199")


def test_a_bad_phone_format_var_stops_before_anything_is_built(
    app_db: AppDatabase, project: DbtProject
):
    seed_app_with_duplicates(app_db)
    before = snapshot(app_db)

    result = project.build(vars={"customer_phone_format": "e.164"}, check=False)

    assert not result.ok
    assert "customer_phone_format must be e164" in result.output
    assert snapshot(app_db) == before


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        # a full name in mixed case wins over a more recent one in capitals
        ("shirley_2", "Shirley Turner"),
        # only capitals on offer: the case is fixed, the spelling kept
        ("john", "John O'Brien"),
    ],
)
def test_new_customers_get_the_best_formed_name(
    app_db: AppDatabase, project: DbtProject, lead: str, expected: str
):
    ids = seed_app_with_duplicates(app_db)
    project.build()

    customer = app_db.lead_customer(ids[lead])
    assert app_db.scalar('select name from "Customer" where id = %s', (customer,)) == expected
