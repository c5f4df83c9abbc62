"""The app's tables, as the Prisma migrations create them (the backfill's source contract).

Deployments differ, and so can this schema: the schema name, the name of the
Messenger PSID column, and whether `Lead`/`Job` carry foreign keys to `Customer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg2
import psycopg2.extensions


@dataclass(frozen=True)
class AppSchema:
    """How one deployment of the app lays out its tables."""

    schema: str = "public"
    psid_column: str = "messengerPsid"
    customer_foreign_keys: bool = True

    def ddl(self) -> str:
        s = f'"{self.schema}"'
        psid = f'"{self.psid_column}"'
        lead_fk = (
            f'references {s}."Customer"(id) on delete set null'
            if self.customer_foreign_keys
            else ""
        )
        return f"""
create schema if not exists {s};
do $$ begin
    create type {s}."LeadChannel" as enum ('messenger', 'sms');
exception when duplicate_object then null;
end $$;
create table if not exists {s}."Customer" (
    id uuid primary key default gen_random_uuid(),
    name text,
    phone text,
    email text,
    metadata jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists "Customer_phone_idx" on {s}."Customer" (phone);
create index if not exists "Customer_email_idx" on {s}."Customer" (email);
create table if not exists {s}."CustomerAddress" (
    id uuid primary key default gen_random_uuid(),
    customer_id uuid not null references {s}."Customer"(id) on delete cascade,
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
    channel {s}."LeadChannel" not null,
    name text,
    {psid} text unique,
    phone text,
    email text,
    address text,
    lat double precision,
    lng double precision,
    curbside boolean not null default false,
    stage text not null default 'new',
    "stateMetadata" jsonb,
    last_inbound_message_at timestamptz,
    last_outbound_message_at timestamptz,
    customer_id uuid {lead_fk},
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists "Lead_customer_id_idx" on {s}."Lead" (customer_id);
create table if not exists {s}."Job" (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid not null references {s}."Lead"(id),
    quote_id uuid,
    window_start timestamptz,
    window_end timestamptz,
    status text not null default 'scheduled',
    notes text,
    customer_id uuid {lead_fk},
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists "Job_lead_id_idx" on {s}."Job" (lead_id);
create index if not exists "Job_customer_id_idx" on {s}."Job" (customer_id);
create table if not exists {s}."Audit" (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid,
    actor text not null,
    action text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
);
create table if not exists {s}."Conversation" (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid references {s}."Lead"(id),
    customer_id uuid references {s}."Customer"(id) on delete set null,
    created_at timestamptz not null default now()
);
create table if not exists {s}."MemoryNote" (
    id uuid primary key default gen_random_uuid(),
    customer_id uuid not null references {s}."Customer"(id) on delete cascade,
    note text not null,
    created_at timestamptz not null default now()
);
"""

    def create(self, conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            cur.execute(self.ddl())
        conn.commit()

    def drop(self, conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            if self.schema == "public":
                for table in (
                    "MemoryNote",
                    "Conversation",
                    "Audit",
                    "Job",
                    "Lead",
                    "CustomerAddress",
                    "Customer",
                ):
                    cur.execute(f'drop table if exists public."{table}" cascade')
                cur.execute('drop type if exists public."LeadChannel"')
            else:
                cur.execute(f'drop schema if exists "{self.schema}" cascade')
        conn.commit()


APP_TABLES = ("Customer", "CustomerAddress", "Lead", "Job", "Audit", "Conversation", "MemoryNote")


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
    conn: psycopg2.extensions.connection, schema: str = "public"
) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of every row of every app table, to compare states exactly."""
    prints: dict[str, tuple[int, str]] = {}
    with conn.cursor() as cur:
        for table in APP_TABLES:
            cur.execute(
                f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '')"
                f' from "{schema}"."{table}" as t'
            )
            count, digest = cur.fetchone()
            prints[table] = (int(count), str(digest))
    conn.rollback()
    return prints
