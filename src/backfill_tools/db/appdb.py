"""The app's tables, as the Prisma migrations create them (the backfill's source contract).

Deployments differ, and so can this schema: the schema name, the name of the
Messenger PSID column, and whether `Lead`/`Job` carry foreign keys to `Customer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions


@dataclass(frozen=True)
class AppSchema:
    """How one deployment of the app lays out its tables.

    The tables, types, NOT NULLs, unique indexes and foreign keys (with what a delete
    does) are those of the app's Prisma migrations, as listed in the app's schema facts:
    PascalCase tables, snake_case columns except "messengerPsid" and "stateMetadata",
    enums for channels, stages and statuses, `updated_at` without a default (Prisma
    sets it on every write). `customer_foreign_keys=False` drops the foreign keys of
    `Lead.customer_id` and `Job.customer_id` (a deployment without them).
    """

    schema: str = "public"
    psid_column: str = "messengerPsid"
    customer_foreign_keys: bool = True

    def ddl(self) -> str:
        s = f'"{self.schema}"'
        psid = f'"{self.psid_column}"'
        customer_fk = (
            f'references {s}."Customer"(id) on delete set null on update cascade'
            if self.customer_foreign_keys
            else ""
        )
        return f"""
create schema if not exists {s};
{_enum(s, "Channel", ("messenger", "sms"))}
{_enum(s, "LeadStage", LEAD_STAGES)}
{_enum(s, "JobStatus", JOB_STATUSES)}
{_enum(s, "MessageRole", ("user", "assistant", "system", "tool"))}
{_enum(s, "QuoteStatus", QUOTE_STATUSES)}
create table if not exists {s}."Customer" (
    id uuid primary key default gen_random_uuid(),
    name text,
    phone text,
    email text,
    metadata jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null
);
create index if not exists "Customer_phone_idx" on {s}."Customer" (phone);
create index if not exists "Customer_email_idx" on {s}."Customer" (email);
create index if not exists "Customer_created_at_idx" on {s}."Customer" (created_at);
create table if not exists {s}."CustomerAddress" (
    id uuid primary key default gen_random_uuid(),
    customer_id uuid not null
        references {s}."Customer"(id) on delete cascade on update cascade,
    address text not null,
    city text,
    state text,
    zip text,
    lat double precision,
    lng double precision,
    is_primary boolean not null default false,
    metadata jsonb,
    created_at timestamptz not null default now()
);
create index if not exists "CustomerAddress_customer_id_idx"
    on {s}."CustomerAddress" (customer_id);
create table if not exists {s}."Lead" (
    id uuid primary key default gen_random_uuid(),
    channel {s}."Channel" not null,
    name text,
    {psid} text,
    phone text,
    email text,
    address text,
    lat double precision,
    lng double precision,
    curbside boolean not null default false,
    stage {s}."LeadStage" not null default 'awaiting_photos',
    "stateMetadata" jsonb,
    last_customer_message_at timestamptz,
    last_agent_message_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null,
    customer_id uuid {customer_fk}
);
create unique index if not exists "Lead_{self.psid_column}_key" on {s}."Lead" ({psid});
create index if not exists "Lead_customer_id_idx" on {s}."Lead" (customer_id);
create table if not exists {s}."Quote" (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid not null references {s}."Lead"(id) on delete cascade on update cascade,
    features_json jsonb not null,
    line_items_json jsonb not null,
    discounts_json jsonb not null,
    subtotal numeric not null,
    total numeric not null,
    confidence numeric not null,
    needs_approval boolean not null,
    status {s}."QuoteStatus" not null,
    flags_json jsonb,
    notes_json jsonb,
    disclaimer text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null
);
create table if not exists {s}."Approval" (
    id uuid primary key default gen_random_uuid(),
    quote_id uuid not null references {s}."Quote"(id) on delete cascade on update cascade,
    decision text,
    created_at timestamptz not null default now()
);
create table if not exists {s}."Job" (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid not null references {s}."Lead"(id) on delete cascade on update cascade,
    quote_id uuid unique,
    window_start timestamptz not null,
    window_end timestamptz not null,
    status {s}."JobStatus" not null,
    reminder_scheduled_at timestamptz,
    reminder_sent_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null,
    google_calendar_id text,
    google_event_id text unique,
    google_event_ical_uid text,
    google_event_etag text,
    google_event_html_link text,
    customer_id uuid {customer_fk}
);
create index if not exists "Job_lead_id_idx" on {s}."Job" (lead_id);
create index if not exists "Job_customer_id_idx" on {s}."Job" (customer_id);
create table if not exists {s}."JobItem" (
    id uuid primary key default gen_random_uuid(),
    job_id uuid not null references {s}."Job"(id) on delete cascade on update cascade,
    description text not null,
    created_at timestamptz not null default now()
);
create table if not exists {s}."JobEvent" (
    id uuid primary key default gen_random_uuid(),
    job_id uuid not null references {s}."Job"(id) on delete cascade on update cascade,
    kind text not null,
    created_at timestamptz not null default now()
);
create table if not exists {s}."LeadAttachment" (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid not null references {s}."Lead"(id) on delete cascade on update cascade,
    url text not null,
    created_at timestamptz not null default now(),
    unique (lead_id, url)
);
create table if not exists {s}."Audit" (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid references {s}."Lead"(id) on delete set null on update cascade,
    actor text not null,
    action text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
);
create table if not exists {s}."Conversation" (
    id uuid primary key default gen_random_uuid(),
    customer_id uuid references {s}."Customer"(id) on delete set null on update cascade,
    lead_id uuid references {s}."Lead"(id) on delete set null on update cascade,
    channel {s}."Channel" not null,
    external_id text,
    started_at timestamptz not null,
    last_message_at timestamptz,
    metadata jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null,
    closed_at timestamptz,
    unique (channel, external_id)
);
create unique index if not exists "Conversation_open_lead_key"
    on {s}."Conversation" (lead_id) where closed_at is null;
create table if not exists {s}."Message" (
    id uuid primary key default gen_random_uuid(),
    conversation_id uuid not null
        references {s}."Conversation"(id) on delete cascade on update cascade,
    role {s}."MessageRole" not null,
    content text not null,
    metadata jsonb,
    created_at timestamptz not null default now()
);
create table if not exists {s}."MemoryNote" (
    id uuid primary key default gen_random_uuid(),
    customer_id uuid references {s}."Customer"(id) on delete cascade on update cascade,
    conversation_id uuid,
    content text not null,
    metadata jsonb,
    expires_at timestamptz,
    created_at timestamptz not null default now()
);
create table if not exists {s}."Config" (
    key text primary key,
    value jsonb not null,
    updated_at timestamptz not null
);
create table if not exists {s}."CalendarSyncState" (
    id uuid primary key default gen_random_uuid(),
    calendar_id text not null unique,
    sync_token text,
    updated_at timestamptz not null
);
create table if not exists {s}."AgentRuntimeState" (
    id uuid primary key default gen_random_uuid(),
    state jsonb not null,
    updated_at timestamptz not null
);
"""

    def dbt_vars(self) -> dict[str, object]:
        """The project's vars that point it at this layout (none for the default one)."""
        default = AppSchema()
        found: dict[str, object] = {}
        if self.schema != default.schema:
            found["app_schema"] = self.schema
        if self.psid_column != default.psid_column:
            found["lead_psid_column"] = self.psid_column
        return found

    def create(self, conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            cur.execute(self.ddl())
        conn.commit()

    def drop(self, conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            if self.schema == "public":
                for table in reversed(ALL_APP_TABLES):
                    cur.execute(f'drop table if exists public."{table}" cascade')
                for enum in APP_ENUMS:
                    cur.execute(f'drop type if exists public."{enum}"')
            else:
                cur.execute(f'drop schema if exists "{self.schema}" cascade')
        conn.commit()

    def require_customer_links(self, conn: psycopg2.extensions.connection) -> None:
        """The app's migration after the backfill: `Lead.customer_id` and
        `Job.customer_id` NOT NULL (it fails while a lead or a job is unlinked)."""
        with conn.cursor() as cur:
            for table in ("Lead", "Job"):
                cur.execute(
                    f'alter table "{self.schema}"."{table}" alter column customer_id set not null'
                )
        conn.commit()


def _enum(schema: str, name: str, values: tuple[str, ...]) -> str:
    labels = ", ".join(f"'{value}'" for value in values)
    return (
        f'do $$ begin create type {schema}."{name}" as enum ({labels}); '
        "exception when duplicate_object then null; end $$;"
    )


LEAD_STAGES = (
    "awaiting_photos", "clarifying", "quoting", "awaiting_owner", "scheduling", "booked",
    "reminding", "done",
)  # fmt: skip
JOB_STATUSES = ("tentative", "booked", "completed", "cancelled")
QUOTE_STATUSES = ("draft", "pending_approval", "approved", "sent", "accepted", "declined")
APP_ENUMS = ("Channel", "LeadStage", "JobStatus", "MessageRole", "QuoteStatus")
# Every app table, parents before the tables that point at them.
ALL_APP_TABLES = (
    "Customer", "CustomerAddress", "Lead", "Quote", "Approval", "Job", "JobItem", "JobEvent",
    "LeadAttachment", "Audit", "Conversation", "Message", "MemoryNote", "Config",
    "CalendarSyncState", "AgentRuntimeState",
)  # fmt: skip
# The tables a backfill, a rollback or a customer operation may change, and those that
# point at customers: what a test compares to tell two app states apart.
APP_TABLES = (
    "Customer", "CustomerAddress", "Lead", "Job", "Audit", "Conversation", "Message", "MemoryNote",
)  # fmt: skip


_LIBPQ_KEYWORDS = {
    "PGHOST": "host",
    "PGPORT": "port",
    "PGUSER": "user",
    "PGPASSWORD": "password",
    "PGDATABASE": "dbname",
}


def connect(env: dict[str, str] | None = None) -> psycopg2.extensions.connection:
    """A connection from PG* variables (a dict, else the process environment)."""
    if env is None:
        return psycopg2.connect("")
    kwargs = {_LIBPQ_KEYWORDS[key]: value for key, value in env.items() if value}
    return psycopg2.connect(**kwargs)


def table_fingerprints(
    conn: psycopg2.extensions.connection,
    schema: str = "public",
    rows: Mapping[str, str] | None = None,
) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of every row of every app table, to compare states exactly.
    `rows` gives, by table, an SQL expression of its row `t` to hash instead of the whole
    row (to leave out what may differ)."""
    prints: dict[str, tuple[int, str]] = {}
    with conn.cursor() as cur:
        for table in APP_TABLES:
            row = (rows or {}).get(table, "t")
            cur.execute(
                f"select count(*), coalesce(md5(string_agg(r::text, '|' order by r::text)), '')"
                f' from (select {row} as r from "{schema}"."{table}" as t) as hashed'
            )
            count, digest = cur.fetchone()
            prints[table] = (int(count), str(digest))
    conn.rollback()
    return prints
