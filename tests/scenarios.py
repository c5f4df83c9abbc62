"""Shared data and helpers of the tests: app data in known shapes, and readers of what a run
or an operation printed and recorded. Test modules import from here, never from each other."""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from backfill_tools.db.appdb import APP_TABLES
from backfill_tools.dbtrun import DbtProject, DbtResult
from tests.appdata import AppDatabase

BACKFILL_ACTIONS = "'backfill_customers', 'backfill_customers_rollback',"
BACKFILL_ACTIONS += " 'backfill_customers_merge', 'backfill_customers_split',"
BACKFILL_ACTIONS += " 'backfill_customers_link', 'backfill_customers_resolve'"
TOWN = "Springfield, IL 62704"


def seed_small_app(db: AppDatabase) -> dict[str, str]:
    """Leads in every shape the design document names, plus an app-made customer."""
    ids: dict[str, str] = {}
    ids["app_customer"] = db.add_customer(name="Ann App", phone="(555) 222-3333")
    ids["psid_lead"] = db.add_lead(
        psid="2718281828459045",
        phone="+1 (555) 234-5678",
        name="Bob Smith",
        address="1 Oak St, Springfield, IL 62704",
    )
    ids["phone_lead"] = db.add_lead(phone="555.234.5678", email=" BOB@X.COM ", name="bob")
    ids["same_phone_lead"] = db.add_lead(phone="5552345678 ext. 7", name="Bobby")
    ids["ann_lead"] = db.add_lead(phone="555-222-3333", name="Ann")
    ids["email_lead"] = db.add_lead(email="Cy@Y.org", name="Cy", address="9 Elm")
    ids["nothing_lead"] = db.add_lead(phone="123", email="nope")
    ids["linked_lead"] = db.add_lead(phone="5552223333 x12", customer_id=ids["app_customer"])
    ids["job_on_psid_lead"] = db.add_job(ids["psid_lead"])
    ids["job_on_ann_lead"] = db.add_job(ids["ann_lead"])
    ids["job_on_linked_lead"] = db.add_job(ids["linked_lead"])
    return ids


STAT_LINE = re.compile(r"^ {3}(?:- )?(?P<label>[A-Z][A-Za-z ]+):\s+(?P<value>\d+)$")


def statistics(output: str) -> dict[str, int]:
    """The `Label: N` lines of the statistics block the run printed."""
    return label_counts(output, STAT_LINE)


def label_counts(output: str, line: re.Pattern[str]) -> dict[str, int]:
    """{label: N} of the lines of `output` that `line` matches (a later line wins)."""
    matches = (line.match(text) for text in output.splitlines())
    return {match["label"]: int(match["value"]) for match in matches if match}


def seed_clean_app(db: AppDatabase) -> dict[str, str]:
    """Leads whose grouping passes every validation check (no shared phones, few leads each).

    An app-made customer with a linked lead and job, a lead that reuses it, a phone group of
    three leads (two jobs, two addresses), a PSID lead, an e-mail lead, a lead with nothing
    usable, and an app Audit row that must survive everything.
    """
    ids: dict[str, str] = {}
    ids["app_customer"] = db.add_customer(name="Ann App", phone="(555) 222-3333")
    ids["app_linked_lead"] = db.add_lead(phone="5552223333", customer_id=ids["app_customer"])
    ids["app_linked_job"] = db.add_job(ids["app_linked_lead"], customer_id=ids["app_customer"])
    ids["ann_lead"] = db.add_lead(phone="555-222-3333", name="Ann")
    ids["ann_job"] = db.add_job(ids["ann_lead"])
    ids["bob_1"] = db.add_lead(phone="555.777.1234", name="Bob", address=f"1 Oak St, {TOWN}")
    ids["bob_2"] = db.add_lead(phone="(555) 777-1234", name="Bobby", address=f"2 Elm St, {TOWN}")
    ids["bob_3"] = db.add_lead(phone="+1 555 777 1234", email="bob@x.com", name="Robert")
    ids["bob_job_1"] = db.add_job(ids["bob_1"])
    ids["bob_job_3"] = db.add_job(ids["bob_3"])
    ids["psid_lead"] = db.add_lead(psid="3141592653589793", name="Dee", address="9 Pine Rd")
    ids["psid_job"] = db.add_job(ids["psid_lead"])
    ids["email_lead"] = db.add_lead(email="Cy@Y.org", name="Cy")
    ids["nothing_lead"] = db.add_lead(phone="123", email="nope")
    db.execute(
        f"insert into {db.table('Audit')} (actor, action, payload)"
        " values ('app', 'lead_created', '{}')"
    )
    return ids


def seed_app_with_conflict(db: AppDatabase) -> dict[str, str]:
    """`seed_clean_app`, then a second app customer with Ann's phone (and a lead of its own)
    and a new lead with that phone: it matches both customers, a conflict (and so does Ann's
    own unlinked lead)."""
    ids = seed_clean_app(db)
    ids["twin_customer"] = db.add_customer(name="Ann", phone="+15552223333")
    ids["twin_lead"] = db.add_lead(phone="5552223333", customer_id=ids["twin_customer"])
    ids["conflict_lead"] = db.add_lead(phone="(555) 222-3333", name="Ann")
    return ids


def customer_id_for_lead(lead_id: str) -> str:
    """The id the backfill gives a new customer whose group's earliest lead is `lead_id`."""
    return str(uuid.UUID(hashlib.md5(f"customer_backfill:customer:{lead_id}".encode()).hexdigest()))


def fingerprints_without_backfill_audit(db: AppDatabase) -> dict[str, tuple[int, str]]:
    """Every app table's fingerprint, Audit without the rows runs and operations add."""
    prints = db.fingerprints()
    count, digest = db.query(
        "select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '')"
        f" from {db.table('Audit')} as t where action not in ({BACKFILL_ACTIONS})"
    )[0]
    prints["Audit"] = (int(count), str(digest))
    return prints


def operation(project: DbtProject, name: str, check: bool = True, **args: object) -> DbtResult:
    """`dbt run-operation <name> --args '<args as YAML>'`."""
    command = ["run-operation", name]
    if args:
        command += ["--args", json.dumps(args)]
    return project.run(*command, check=check)


def ledger_rows(db: AppDatabase) -> list[tuple]:
    """(run_id, object_type, object_id, customer_id, rolled_back_by_run_id, change_type,
    previous_customer_id) of every ledger entry, in the order they were recorded."""
    return db.query(
        "select run_id, object_type, object_id::text, customer_id::text, rolled_back_by_run_id,"
        " change_type, previous_customer_id::text"
        " from customer_backfill.backfill_ledger order by change_sequence, 1, 2, 3"
    )


def audit_payloads(db: AppDatabase, action: str) -> list[dict]:
    rows = db.query(
        f"select payload from {db.table('Audit')} where action = %s order by created_at", (action,)
    )
    return [row[0] for row in rows]


def node_results(project: DbtProject) -> list[dict]:
    """The result of every node of the last dbt command (`target/run_results.json`):
    unique_id, status, message, timing."""
    return json.loads((project.work_dir / "target" / "run_results.json").read_text())["results"]


def node_statuses(project: DbtProject) -> dict[str, str]:
    """Status of every node of the last dbt command, by node name: `pass`, `fail`, `warn`,
    `error`, `skipped`, `success`."""
    return {result["unique_id"].split(".")[2]: result["status"] for result in node_results(project)}


def snapshot(db: AppDatabase) -> dict[str, dict[str, str]]:
    """Every row of every app table as text, by table and id; Audit without the rows runs
    and operations add. Two equal snapshots are two identical app states."""
    tables: dict[str, dict[str, str]] = {}
    for table in APP_TABLES:
        where = f"where action not in ({BACKFILL_ACTIONS})" if table == "Audit" else ""
        rows = db.query(f"select id::text, t::text from {db.table(table)} as t {where}")
        tables[table] = dict(rows)
    return tables


def with_rows_of(
    base: dict[str, dict[str, str]], other: dict[str, dict[str, str]], ids: set[str]
) -> dict[str, dict[str, str]]:
    """`base` plus the rows of `other` whose id is in `ids` (rows the app added meanwhile)."""
    return {
        table: {**rows, **{key: value for key, value in other[table].items() if key in ids}}
        for table, rows in base.items()
    }


SUMMARY_LINE = re.compile(r"^ {3}(?P<label>[A-Z][A-Za-z ]+):\s+(?P<value>\d+)\b")


def summary_counts(output: str) -> dict[str, int]:
    """The `Label: N` lines an operation printed."""
    return label_counts(output, SUMMARY_LINE)


def run_ids(db: AppDatabase) -> list[str]:
    """The applied runs, oldest first."""
    return [
        row[0]
        for row in db.query(
            "select run_id from customer_backfill.backfill_runs order by applied_at"
        )
    ]
