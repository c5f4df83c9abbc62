"""What the app does between two backfill runs, made by the generator that made the data.

`app_changes(seed, leads)` replays `generate`'s draws for the same seed and size (rows
dropped: the same persons, the same phones, e-mails and PSIDs already handed out), then
asks the generator for more: new leads (new persons, and further leads of persons it
made), created after every existing lead, without a customer; and identifier changes of
existing leads (a new phone, a new e-mail, the e-mail removed), with a later
`updated_at`; and the conversations going on meanwhile (one lead in `CONVERSING_LEADS`
with a new stage, last message and `updated_at`, one job in `CHANGED_JOBS` with a new
status: columns the backfill does not read). Everything derives from the seed, so the
same seed and size give the same changes; `load_changes` writes them (truth rows
included) into a database holding that generated data.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field, replace

import psycopg2.extensions

from backfill_tools.db.appdb import AppSchema
from backfill_tools.quality.generate import (
    COPY_ORDER,
    DAY,
    NULL,
    SPAN_SECONDS,
    START_EPOCH,
    GenerationSummary,
    MessRates,
    _copy_chunk,
    _copy_targets,
    _Generator,
    _n,
    _Person,
    _timestamp,
)

NEW_LEADS = 0.01  # new leads, as a fraction of the leads
CHANGED_LEADS = 0.001  # existing leads whose identifiers change
RETURNING_SHARE = 0.3  # of the new leads, those of persons who already have leads
WINDOW_SECONDS = 60 * DAY  # the new leads are created in the 60 days after the last one
CHANGE_KINDS = ("new_phone", "new_email", "email_removed")
CONVERSING_LEADS = 10  # one lead in this many gets a new stage and messages meanwhile
CHANGED_JOBS = 20  # one job in this many gets a new status


@dataclass(frozen=True)
class LeadChange:
    """New identifiers of one existing lead."""

    lead_id: str
    kind: str  # one of CHANGE_KINDS
    phone: str | None
    email: str | None
    updated_at: str  # COPY text of a timestamptz


@dataclass
class AppChanges:
    """New rows per COPY table (`generate.COPY_ORDER`) and the changed leads."""

    rows: dict[str, list[str]] = field(default_factory=dict)
    changed: list[LeadChange] = field(default_factory=list)
    returning_leads: int = 0  # new leads of persons who had leads already

    @property
    def new_leads(self) -> int:
        return len(self.rows.get("lead", []))

    @property
    def new_jobs(self) -> int:
        return len(self.rows.get("job", []))

    def counts(self) -> dict[str, int]:
        return {
            "new_leads": self.new_leads,
            "returning_leads": self.returning_leads,
            "new_jobs": self.new_jobs,
            "new_persons": len(self.rows.get("person", [])),
            "changed_leads": len(self.changed),
        }


@dataclass(frozen=True)
class _Picked:
    """A lead of the replayed data the changes need: its person and its row's fields."""

    person: _Person
    lead_count: int
    fields: tuple[str, ...]


class _Replay(_Generator):
    """The generator, replayed: the same draws as `generate`, keeping the leads (by their
    number in generation order) that `wanted` names, with their persons."""

    def __init__(self, seed: int, rates: MessRates, wanted: set[int]) -> None:
        super().__init__(random.Random(seed), rates, random.Random(f"addresses {seed}"))
        self.wanted = wanted
        self.picked: dict[int, _Picked] = {}
        self.replaying = True

    def emit(self, person: _Person, lead_count: int) -> None:
        first = self.summary.leads
        super().emit(person, lead_count)
        if not self.replaying:
            return
        rows = self.rows["lead"][-lead_count:]
        for offset, row in enumerate(rows):
            if first + offset in self.wanted:
                fields = tuple(row.rstrip("\n").split("\t"))
                self.picked[first + offset] = _Picked(person, lead_count, fields)


def _count(leads: int, fraction: float) -> int:
    """At least one: a change step that changes nothing measures nothing."""
    return max(1, round(leads * fraction))


def app_changes(
    seed: int,
    leads: int,
    rates: MessRates | None = None,
    new_fraction: float = NEW_LEADS,
    changed_fraction: float = CHANGED_LEADS,
) -> AppChanges:
    """The changes to the data `generate(conn, app, leads, seed, rates=rates)` made."""
    rates = rates or MessRates()
    new, changed = _count(leads, new_fraction), _count(leads, changed_fraction)
    returning = min(round(new * RETURNING_SHARE), leads)
    picker = random.Random(f"changes {seed} {leads}")
    chosen = picker.sample(range(leads), min(leads, returning + changed))
    gen = _Replay(seed, rates, set(chosen))
    for _ in gen.run(leads):
        gen.take_rows()
    gen.replaying = False
    _after_the_data(gen, rates)
    picked = [gen.picked[number] for number in chosen]
    result = AppChanges(returning_leads=returning)
    _returning_leads(gen, picked[:returning])
    for _ in gen.run(new - returning):
        pass
    result.changed = [_change(gen, lead) for lead in picked[returning:]]
    result.rows = gen.take_rows()
    return result


def _after_the_data(gen: _Generator, rates: MessRates) -> None:
    """Later leads, none linked to a customer by the app, and fresh counts."""
    gen.take_rows()
    gen.start = START_EPOCH + SPAN_SECONDS + DAY
    gen.span = WINDOW_SECONDS
    gen.rates = replace(
        rates, app_customer_persons=0.0, app_customer_lead_link=0.0,
        app_customer_unlinked_job_link=0.0,
    )  # fmt: skip
    gen.summary = GenerationSummary()


def _returning_leads(gen: _Generator, picked: list[_Picked]) -> None:
    """One more lead for each person picked, numbered after the person's leads."""
    extra: dict[int, int] = {}
    for lead in picked:
        person = lead.person
        index = lead.lead_count + extra.get(person.person_id, 0)
        extra[person.person_id] = extra.get(person.person_id, 0) + 1
        created = gen.start + gen.below(gen.span)
        gen._emit_lead(person, index, False, created)


def _change(gen: _Generator, lead: _Picked) -> LeadChange:
    """A new phone (one nobody has, as a person types it), a new e-mail, or the e-mail
    removed (only of a lead that has one)."""
    lead_id, email = lead.fields[0], lead.fields[5]
    has_email = email != NULL
    kinds = CHANGE_KINDS if has_email else CHANGE_KINDS[:2]
    kind = gen.pick(kinds)
    phone = None if lead.fields[4] == NULL else lead.fields[4]
    new_email = email if has_email else None
    person = lead.person
    if kind == "new_phone":
        country, digits = gen._new_phone(person.city[3])
        phone = gen.phone_text(country, digits)
    elif kind == "new_email":
        address = None
        while address is None:
            address, gmail = gen._email(person.first, person.last)
        person.email, person.gmail = address, gmail
        new_email = gen.email_text(person)
    else:
        new_email = None
    updated = _timestamp(gen.start + gen.below(gen.span))
    return LeadChange(lead_id, kind, phone, new_email, updated)


def load_changes(conn: psycopg2.extensions.connection, app: AppSchema, changes: AppChanges) -> None:
    """The new rows (app tables and truth) and the changed leads, in one transaction."""
    targets = _copy_targets(app)
    rows = {name: changes.rows.get(name, []) for name in COPY_ORDER}
    try:
        with conn.cursor() as cur:
            _copy_chunk(cur, targets, rows)
            _update_leads(cur, app, changes.changed)
            _converse(cur, app)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _update_leads(
    cur: psycopg2.extensions.cursor, app: AppSchema, changed: list[LeadChange]
) -> None:
    cur.execute(
        "create temporary table lead_change (id uuid, phone text, email text,"
        " updated_at timestamptz) on commit drop"
    )
    text = "".join(f"{c.lead_id}\t{_n(c.phone)}\t{_n(c.email)}\t{c.updated_at}\n" for c in changed)
    cur.copy_expert("copy lead_change from stdin", io.StringIO(text))
    cur.execute(
        f'update "{app.schema}"."Lead" as lead set phone = c.phone, email = c.email,'
        " updated_at = c.updated_at from lead_change as c where lead.id = c.id"
    )


def _converse(cur: psycopg2.extensions.cursor, app: AppSchema) -> None:
    """What the app writes with every message and booking, on a fixed share of the rows
    (chosen by a hash of the id): a lead's stage, its last messages and `updated_at`; a
    job's status, its reminder and `updated_at`."""
    cur.execute(
        f'update "{app.schema}"."Lead" set stage = \'scheduling\','
        " last_customer_message_at = created_at + interval '1 day',"
        " last_agent_message_at = created_at + interval '1 day 1 minute',"
        " updated_at = greatest(updated_at, created_at + interval '1 day 1 minute')"
        f" where hashtext(id::text) % {CONVERSING_LEADS} = 0"
    )
    cur.execute(
        f'update "{app.schema}"."Job" set status = \'completed\','
        " reminder_sent_at = created_at + interval '2 days',"
        " updated_at = greatest(updated_at, created_at + interval '2 days')"
        f" where hashtext(id::text) % {CHANGED_JOBS} = 0"
    )
