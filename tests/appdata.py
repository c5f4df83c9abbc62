"""A test's app database: small helpers to write app rows and read them back."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg2.extensions

from backfill_tools.db.appdb import AppSchema, table_fingerprints

EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


@dataclass
class AppDatabase:
    """The app tables of one test database, and a clock that orders the rows it adds."""

    conn: psycopg2.extensions.connection
    env: dict[str, str]
    schema: AppSchema
    _clock: itertools.count = field(default_factory=itertools.count)

    def table(self, name: str) -> str:
        return f'"{self.schema.schema}"."{name}"'

    def execute(self, sql: str, params: Any = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
        self.conn.commit()

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        self.conn.rollback()
        return rows

    def scalar(self, sql: str, params: Any = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def next_time(self) -> datetime:
        return EPOCH + timedelta(hours=next(self._clock))

    def add_customer(
        self,
        name: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        id: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        customer_id = id or str(uuid.uuid4())
        at = created_at or self.next_time()
        self.execute(
            f"insert into {self.table('Customer')} (id, name, phone, email, created_at, updated_at)"
            " values (%s, %s, %s, %s, %s, %s)",
            (customer_id, name, phone, email, at, at),
        )
        return customer_id

    def add_lead(
        self,
        *,
        psid: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        name: str | None = None,
        address: str | None = None,
        customer_id: str | None = None,
        id: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        lead_id = id or str(uuid.uuid4())
        channel = "messenger" if psid else "sms"
        self.execute(
            f'insert into {self.table("Lead")} (id, channel, name, "{self.schema.psid_column}",'
            " phone, email, address, customer_id, created_at, updated_at)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                lead_id,
                channel,
                name,
                psid,
                phone,
                email,
                address,
                customer_id,
                created_at or self.next_time(),
                created_at or self.next_time(),
            ),
        )
        return lead_id

    def add_job(self, lead_id: str, customer_id: str | None = None, id: str | None = None) -> str:
        job_id = id or str(uuid.uuid4())
        at = self.next_time()
        self.execute(
            f"insert into {self.table('Job')} (id, lead_id, customer_id, status, window_start,"
            " window_end, created_at, updated_at)"
            " values (%s, %s, %s, 'booked', %s, %s + interval '2 hours', %s, %s)",
            (job_id, lead_id, customer_id, at, at, at, at),
        )
        return job_id

    def add_conversation(self, lead_id: str | None, customer_id: str | None = None) -> str:
        """An open conversation of the lead (the app's backfill of conversations gives it
        its lead's customer), with one message."""
        conversation_id = str(uuid.uuid4())
        at = self.next_time()
        self.execute(
            f"insert into {self.table('Conversation')} (id, customer_id, lead_id, channel,"
            " external_id, started_at, created_at, updated_at)"
            " values (%s, %s, %s, 'sms', %s, %s, %s, %s)",
            (conversation_id, customer_id, lead_id, conversation_id, at, at, at),
        )
        self.execute(
            f"insert into {self.table('Message')} (conversation_id, role, content)"
            " values (%s, 'user', 'hello')",
            (conversation_id,),
        )
        return conversation_id

    def add_memory_note(self, customer_id: str, content: str = "vip") -> str:
        note_id = str(uuid.uuid4())
        self.execute(
            f"insert into {self.table('MemoryNote')} (id, customer_id, content)"
            " values (%s, %s, %s)",
            (note_id, customer_id, content),
        )
        return note_id

    def fail_on(self, event: str, table: str, message: str) -> None:
        """Make every `event` (insert, update, delete) on `table` raise `message`: a failure
        injected late into a write path's transaction, to prove it changes nothing."""
        name = f"fail_{table.lower()}_{event}"
        self.execute(
            f"create function {name}() returns trigger language plpgsql as"
            f" $$ begin raise exception '{message}'; end $$;"
            f" create trigger {name} before {event} on {self.table(table)}"
            f" for each row execute function {name}();"
        )

    def lead_customer(self, lead_id: str) -> str | None:
        value = self.scalar(
            f"select customer_id from {self.table('Lead')} where id = %s", (lead_id,)
        )
        return str(value) if value else None

    def job_customer(self, job_id: str) -> str | None:
        value = self.scalar(f"select customer_id from {self.table('Job')} where id = %s", (job_id,))
        return str(value) if value else None

    def count(self, table: str, where: str = "true") -> int:
        return int(self.scalar(f"select count(*) from {self.table(table)} where {where}"))

    def fingerprints(self) -> dict[str, tuple[int, str]]:
        return table_fingerprints(self.conn, self.schema.schema)
