"""The two baselines of the benchmark, run on the same data as the project.

- `run_per_row`: the original `backfill-customers.ts`, as its design document describes
  it, in Python with psycopg2: one query reads the leads, the grouping happens in memory
  (PSID > phone > e-mail > the lead itself, with the script's naive normalization), then
  one query per customer lookup, per new customer, per group update and per job, all in
  one transaction.
- `run_floor`: `sql/bench_floor.sql`, only the essential work in one hand-written SQL
  transaction.

Both link every unlinked lead and every unlinked job of a linked lead: the naive grouping
has no "ambiguous" outcome. The benchmark checks that they did.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import psycopg2.extensions

from backfill_tools.db.appdb import AppSchema

EMAIL_FORMAT = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
NOT_A_DIGIT = re.compile(r"[^0-9]")
CREATED_BY_PER_ROW = "bench-per-row"


def naive_psid(raw: str | None) -> str | None:
    """The PSID as written, without surrounding spaces."""
    return (raw or "").strip(" ") or None


def naive_phone(raw: str | None) -> str | None:
    """The script's phone key: the digits, at least 10 of them, the last 10 kept."""
    digits = NOT_A_DIGIT.sub("", raw or "")
    return digits[-10:] if len(digits) >= 10 else None


def naive_email(raw: str | None) -> str | None:
    """The script's e-mail key: lowercase, trimmed, something@something.tld."""
    email = (raw or "").strip(" ").lower()
    return email if EMAIL_FORMAT.match(email) else None


@dataclass
class PerRowLead:
    lead_id: str
    name: str | None
    customer_id: str | None
    phone_key: str | None
    email_key: str | None


@dataclass
class PerRowGroup:
    group_type: str
    group_key: str
    leads: list[PerRowLead] = field(default_factory=list)


def group_key_of(psid: str | None, phone: str | None, email: str | None, lead_id: str) -> str:
    """Priority 1 PSID, 2 phone, 3 e-mail, 4 the lead itself (the design document's order)."""
    if psid:
        return f"psid:{psid}"
    if phone:
        return f"phone:{phone}"
    if email:
        return f"email:{email}"
    return f"individual:{lead_id}"


@dataclass
class PerRowStats:
    """What the per-row script counted, as its summary block printed it."""

    queries: int = 0
    customers_created: int = 0
    customers_reused: int = 0
    leads_linked: int = 0
    jobs_linked: int = 0


class PerRowBackfill:
    """The original script's loop; every database call goes through `execute`."""

    def __init__(self, conn: psycopg2.extensions.connection, app: AppSchema) -> None:
        self.conn = conn
        self.app = app
        self.cur = conn.cursor()
        self.stats = PerRowStats()

    def table(self, name: str) -> str:
        return f'"{self.app.schema}"."{name}"'

    def execute(self, sql: str, params: Any = None) -> None:
        self.stats.queries += 1
        self.cur.execute(sql, params)

    def run(self) -> PerRowStats:
        try:
            groups = self.group_leads()
            lead_customers: dict[str, str] = {}
            for group in groups.values():
                self.link_group(group, lead_customers)
            self.link_jobs(lead_customers)
            self.record_audit()
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return self.stats

    def group_leads(self) -> dict[str, PerRowGroup]:
        self.execute(
            f'select id::text, name, "{self.app.psid_column}", phone, email, customer_id::text'
            f" from {self.table('Lead')} order by created_at, id"
        )
        groups: dict[str, PerRowGroup] = {}
        for lead_id, name, psid_raw, phone_raw, email_raw, customer_id in self.cur.fetchall():
            phone, email = naive_phone(phone_raw), naive_email(email_raw)
            key = group_key_of(naive_psid(psid_raw), phone, email, lead_id)
            group = groups.setdefault(key, PerRowGroup(key.split(":", 1)[0], key))
            group.leads.append(PerRowLead(lead_id, name, customer_id, phone, email))
        return groups

    def find_customer(self, group: PerRowGroup) -> str | None:
        """An already-linked lead's customer, else one lookup by the group's phone/e-mail."""
        for lead in group.leads:
            if lead.customer_id:
                return lead.customer_id
        phone = next((lead.phone_key for lead in group.leads if lead.phone_key), None)
        email = next((lead.email_key for lead in group.leads if lead.email_key), None)
        if phone is None and email is None:
            return None
        self.execute(
            f"select id::text from {self.table('Customer')}"
            " where phone = %s or email = %s order by created_at, id limit 1",
            (phone, email),
        )
        row = self.cur.fetchone()
        return row[0] if row else None

    def create_customer(self, group: PerRowGroup) -> str:
        newest = group.leads[-1]
        metadata = {
            "groupType": group.group_type,
            "groupKey": group.group_key,
            "leadCount": len(group.leads),
            "createdBy": CREATED_BY_PER_ROW,
            "createdAt": datetime.now().isoformat(),
            "multipleLeads": len(group.leads) > 1,
        }
        self.execute(
            f"insert into {self.table('Customer')} (name, phone, email, metadata, updated_at)"
            " values (%s, %s, %s, %s, now()) returning id::text",
            (
                newest.name,
                next((lead.phone_key for lead in reversed(group.leads) if lead.phone_key), None),
                next((lead.email_key for lead in reversed(group.leads) if lead.email_key), None),
                json.dumps(metadata),
            ),
        )
        self.stats.customers_created += 1
        return str(self.cur.fetchone()[0])

    def link_group(self, group: PerRowGroup, lead_customers: dict[str, str]) -> None:
        unlinked = [lead.lead_id for lead in group.leads if not lead.customer_id]
        for lead in group.leads:
            if lead.customer_id:
                lead_customers[lead.lead_id] = lead.customer_id
        if not unlinked:
            return  # skips already-linked leads
        customer_id = self.find_customer(group)
        if customer_id is None:
            customer_id = self.create_customer(group)
        else:
            self.stats.customers_reused += 1
        self.execute(
            f"update {self.table('Lead')} set customer_id = %s"
            " where id = any(%s::uuid[]) and customer_id is null",
            (customer_id, unlinked),
        )
        self.stats.leads_linked += self.cur.rowcount
        for lead_id in unlinked:
            lead_customers[lead_id] = customer_id

    def link_jobs(self, lead_customers: dict[str, str]) -> None:
        self.execute(
            f"select id::text, lead_id::text from {self.table('Job')} where customer_id is null"
        )
        for job_id, lead_id in self.cur.fetchall():
            customer_id = lead_customers.get(lead_id)
            if customer_id is None:
                continue
            self.execute(
                f"update {self.table('Job')} set customer_id = %s"
                " where id = %s and customer_id is null",
                (customer_id, job_id),
            )
            self.stats.jobs_linked += self.cur.rowcount

    def record_audit(self) -> None:
        self.execute(
            f"insert into {self.table('Audit')} (actor, action, payload) values (%s, %s, %s)",
            (
                "system",
                "backfill_customers",
                json.dumps({"createdBy": CREATED_BY_PER_ROW, "stats": vars(self.stats)}),
            ),
        )


def run_per_row(conn: psycopg2.extensions.connection, app: AppSchema) -> PerRowStats:
    """The per-row backfill on `conn` (committed when it returns)."""
    return PerRowBackfill(conn, app).run()


def floor_sql(app: AppSchema) -> str:
    """The floor script for this app schema (one transaction: begin ... commit)."""
    text = resources.files("backfill_tools.bench").joinpath("sql/bench_floor.sql").read_text()
    return text.replace("{schema}", app.schema).replace("{psid_column}", app.psid_column)


def run_floor(conn: psycopg2.extensions.connection, app: AppSchema) -> None:
    """The floor script on `conn`, sent as one string (it commits itself)."""
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(floor_sql(app))
    finally:
        conn.autocommit = False
