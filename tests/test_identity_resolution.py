"""Identity resolution: hand-made cases, convergence, determinism, a 2,000-lead chain.

Everything runs the real dbt project against a real PostgreSQL. dbt invocations are
few: all hand-made cases live in one database (each case uses its own identifiers, so
they cannot interfere), and the same data loaded in another order into a second
database checks determinism.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase

EPOCH = datetime(2025, 3, 1, tzinfo=timezone.utc)
NAMESPACE = uuid.UUID("6f1d3a52-0000-4000-8000-000000000000")
CHAIN_LENGTH = 2_000
OVER_CAP = 26  # leads sharing one value: one more than the default cap of 25
ADDRESS_OVER_CAP = 11  # one more than identity_max_leads_per_address
SCHEMA = "customer_backfill"


def uid(label: str) -> str:
    return str(uuid.uuid5(NAMESPACE, label))


def new_customer_id(anchor_lead_id: str) -> str:
    """The id the backfill gives a new customer (macro customer_id_for_group)."""
    return str(
        uuid.UUID(hashlib.md5(f"customer_backfill:customer:{anchor_lead_id}".encode()).hexdigest())
    )


@dataclass
class Lead:
    label: str
    psid: str | None = None
    phone: str | None = None
    email: str | None = None
    name: str | None = None
    address: str | None = None
    customer: str | None = None  # label of an existing customer it is linked to
    created_at: datetime | None = None

    @property
    def id(self) -> str:
        return uid(self.label)


@dataclass
class Customer:
    label: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None

    @property
    def id(self) -> str:
        return uid(self.label)


@dataclass
class Scenario:
    """App rows with fixed ids and times, to load in any order."""

    customers: list[Customer] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    overrides: list[tuple[str, str, str]] = field(default_factory=list)  # type, label, label

    def lead(self, label: str, **values: str | None) -> Lead:
        lead = Lead(label, **values)  # type: ignore[arg-type]
        if lead.created_at is None:
            lead.created_at = EPOCH + timedelta(minutes=len(self.leads))
        self.leads.append(lead)
        return lead

    def load(self, db: AppDatabase, shuffle_seed: int | None = None) -> None:
        customers, leads = list(self.customers), list(self.leads)
        if shuffle_seed is not None:
            rng = random.Random(shuffle_seed)
            rng.shuffle(customers)
            rng.shuffle(leads)
        for customer in customers:
            db.add_customer(customer.name, customer.phone, customer.email, id=customer.id)
        for lead in leads:
            db.add_lead(
                psid=lead.psid, phone=lead.phone, email=lead.email, name=lead.name,
                address=lead.address, customer_id=uid(lead.customer) if lead.customer else None,
                id=lead.id, created_at=lead.created_at,
            )  # fmt: skip

    def insert_overrides(self, db: AppDatabase) -> None:
        for number, (kind, left, right) in enumerate(self.overrides):
            db.execute(
                f"insert into {SCHEMA}.manual_overrides (override_id, override_type, lead_id,"
                " other_lead_id, reason, recorded_by, created_at) values (%s, %s, %s, %s, %s,"
                " 'test', now())",
                (f"test-{number}", kind, uid(left), uid(right), f"test {kind} {left} {right}"),
            )


def hand_made_cases() -> Scenario:
    """One scenario holding every hand-made case; identifiers never cross cases."""
    s = Scenario()
    # chain: PSID lead -phone- SMS lead -email- e-mail-only lead
    s.lead("chain_1", psid="2000000000000001", phone="(212) 736-5001", name="Ann Chain")
    s.lead("chain_2", phone="212.736.5001", email="ann.chain@mail-a.com", name="ann")
    s.lead("chain_3", email=" Ann.Chain@MAIL-A.com ", name="Ann C")
    # household: Bob's two leads and Alice share the home phone
    s.lead("house_bob_1", phone="(303) 444-2001", name="Bob Hill")
    s.lead("house_alice", phone="303-444-2001", name="Alice Hill")
    s.lead("house_bob_2", phone="+1 303 444 2001", name="BOB HILL")
    # nicknames are one first name for the guard; another first name is not
    s.lead("nick_1", phone="(303) 444-2101", name="Bobby Marsh")
    s.lead("nick_2", phone="303-444-2101", name="Robert Marsh")
    s.lead("nick_3", phone="303.444.2101", name="Carol Marsh")
    # two PSIDs on one phone: never one customer; the phone links nothing at all
    s.lead("psids_1", psid="2000000000000011", phone="(404) 555-3001", name="Carl Ray")
    s.lead("psids_2", psid="2000000000000012", phone="404-555-3001", name="Carl Ray")
    s.lead("psids_3", phone="4045553001", name="Carl Ray")
    # placeholders: built-in junk, and a value over the cap
    s.lead("junk_1", email="test@test.com", name="Dan One")
    s.lead("junk_2", email="TEST@test.com", name="Dan One")
    s.lead("junk_3", phone="0000000000", name="Dee Two")
    s.lead("junk_4", phone="(000) 000-0000", name="Dee Two")
    s.lead("junk_5", phone="(123) 456-7890", name="Eve Three")
    s.lead("junk_6", phone="123-456-7890", name="Eve Three")
    s.lead("junk_7", phone="(555) 123-4567", name="Fred Four")
    s.lead("junk_8", phone="555.123.4567", name="Fred Four")
    for n in range(OVER_CAP):
        s.lead(f"cap_{n}", email="shared.inbox@biz-mail.com", name="Gus")
    # international: one UK number in three spellings; its last 10 digits are another number
    s.lead("intl_1", phone="+44 20 7946 0958", name="Emma Stone")
    s.lead("intl_2", phone="0044 (0)20 7946 0958", name="Emma")
    s.lead("intl_3", phone="207-946-0958", name="Emma Stone")
    # extension: the same number with and without one
    s.lead("ext_1", phone="(720) 555-2368 x12", name="Fay Lin")
    s.lead("ext_2", phone="+1 720 555 2368", name="Fay Lin")
    # Gmail-style aliases are different addresses
    s.lead("gmail_1", email="gina.gray@gmail.com", name="Gina Gray")
    s.lead("gmail_2", email="ginagray@gmail.com", name="Gina Gray")
    s.lead("gmail_3", email="gina.gray+shop@gmail.com", name="Gina Gray")
    # role address: kept as the customer's e-mail, never links
    s.lead("role_1", email="info@acme-plumbing.com", name="Liam Acme")
    s.lead("role_2", email="Info@Acme-Plumbing.com", name="Lucy Acme")
    # e-mail shared by groups holding different phones
    s.lead("phones_1", phone="(818) 222-6001", email="nia.fox@mail-b.com", name="Nia Fox")
    s.lead("phones_2", phone="(818) 222-6002", email="nia.fox@mail-b.com", name="Nia Fox")
    # PSID twins that differ only by whitespace are one PSID
    s.lead("twin_1", psid=" 2000000000000021", name="Pat Twin")
    s.lead("twin_2", psid="2000000000000021 ", phone="(919) 333-7001", name="Pat")
    # existing customers: reused, never merged; a lead matching two is linked to neither
    s.customers.append(Customer("cust_x", name="Xavier Old", phone="(415) 777-8001"))
    s.customers.append(Customer("cust_y", name="Yara Old", email="yara.old@mail-c.com"))
    s.lead("exist_x_linked", phone="415-777-8001", name="Xavier", customer="cust_x")
    s.lead("exist_y_linked", email="yara.old@mail-c.com", name="Yara", customer="cust_y")
    s.lead("exist_x_new", phone="+1 (415) 777-8001", name="Xavier Old")
    s.lead("exist_both", phone="415.777.8001", email="yara.old@mail-c.com", name="Xavier")
    s.lead("exist_both_unnamed", phone="4157778001", email="Yara.Old@mail-c.com")
    # overrides (manual_overrides table): a do_not_link and a force_link
    s.lead("dnl_1", phone="(602) 888-9001", name="Ivy Ward")
    s.lead("dnl_2", phone="602-888-9001", name="Ivy Ward")
    s.lead("force_1", email="jo.one@mail-d.com", name="Jo")
    s.lead("force_2", email="jo.two@mail-e.com", name="Jo")
    s.overrides += [("do_not_link", "dnl_1", "dnl_2"), ("force_link", "force_1", "force_2")]
    # a chain vetoed as a whole: two force-linked leads hold two phones, each phone
    # also reaches a PSID lead; the PSIDs differ, so no phone may join them
    s.lead("vchain_psid_a", psid="2000000000000031", phone="(512) 321-4001", name="Otto")
    s.lead("vchain_u1", phone="(512) 321-4001", name="Otto")
    s.lead("vchain_u2", phone="(512) 321-4002", name="Otto")
    s.lead("vchain_psid_b", psid="2000000000000032", phone="(512) 321-4002", name="Otto")
    s.overrides.append(("force_link", "vchain_u1", "vchain_u2"))
    # the address stage: one street written in different forms, with the same first name
    s.lead(
        "addr_forms_1",
        psid="2000000000000041",
        name="Maya Lopez",
        address="123 North Main Street, Apt 4, Springfield, IL 62704",
    )
    s.lead(
        "addr_forms_2",
        phone="(217) 555-4101",
        name="maya",
        address="123 N. Main St #4, Springfield, IL",
    )
    # a street line alone takes the one locality the other leads give it
    s.lead(
        "addr_street_1",
        phone="(512) 555-4201",
        name="Noel Park",
        address="77 Birch Ave, Austin, TX 78701",
    )
    s.lead("addr_street_2", email="noel.park@mail-f.com", name="Noel", address="77 birch avenue")
    # ... but not to a household member, a lead without a name, another unit, another town
    s.lead(
        "addr_house_1",
        psid="2000000000000042",
        name="Omar Reed",
        address="9 Cedar Ct, Denver, CO 80202",
    )
    s.lead(
        "addr_house_2",
        phone="(720) 555-4301",
        name="Lina Reed",
        address="9 Cedar Court, Denver, CO 80202",
    )
    s.lead(
        "addr_unnamed_1",
        psid="2000000000000043",
        name="Pia Snow",
        address="15 Aspen Rd, Boise, ID 83702",
    )
    s.lead("addr_unnamed_2", phone="(208) 555-4401", address="15 Aspen Road, Boise, ID 83702")
    s.lead(
        "addr_unit_1",
        psid="2000000000000044",
        name="Quinn Vale",
        address="400 Lake Blvd Apt 1, Reno, NV 89501",
    )
    s.lead(
        "addr_unit_2",
        phone="(775) 555-4501",
        name="Quinn Vale",
        address="400 Lake Blvd Apt 2, Reno, NV 89501",
    )
    s.lead(
        "addr_town_1",
        psid="2000000000000045",
        name="Rosa Diaz",
        address="31 Pine St, Salem, OR 97301",
    )
    s.lead(
        "addr_town_2",
        phone="(978) 555-4601",
        name="Rosa Diaz",
        address="31 Pine St, Salem, MA 01970",
    )
    # ... nor across two PSIDs, two phones or two existing customers
    s.lead(
        "addr_psids_1",
        psid="2000000000000046",
        name="Sam Cole",
        address="8 Ivy Ln, Tulsa, OK 74103",
    )
    s.lead(
        "addr_psids_2",
        psid="2000000000000047",
        name="Sam Cole",
        address="8 Ivy Lane, Tulsa, OK 74103",
    )
    s.lead(
        "addr_phones_1",
        phone="(918) 555-4701",
        name="Vic Hale",
        address="5 Elm Pl, Tulsa, OK 74104",
    )
    s.lead(
        "addr_phones_2",
        phone="(918) 555-4702",
        name="Vic Hale",
        address="5 Elm Place, Tulsa, OK 74104",
    )
    s.customers.append(Customer("cust_t1", name="Tess Moon", phone="(316) 555-4801"))
    s.customers.append(Customer("cust_t2", name="Tess Moon", email="tess.moon@mail-g.com"))
    s.lead(
        "addr_cust_1",
        phone="(316) 555-4801",
        name="Tess Moon",
        customer="cust_t1",
        address="60 Oak Dr, Wichita, KS 67202",
    )
    # not linked yet: its e-mail joins it to cust_t2, then its address would join cust_t1
    s.lead(
        "addr_cust_2",
        email="tess.moon@mail-g.com",
        name="Tess",
        address="60 Oak Drive, Wichita, KS 67202",
    )
    # an address more leads give than the cap (an office): links nothing
    for n in range(ADDRESS_OVER_CAP):
        s.lead(
            f"addr_cap_{n}", name="Uma Office", address="1 Market Plaza, San Francisco, CA 94105"
        )
    # the business's own address, typed into leads by staff: blocklisted (in `built`)
    s.lead(
        "addr_block_1",
        psid="2000000000000048",
        name="Wes Shop",
        address="100 Main Street, Springfield, IL 62701",
    )
    s.lead(
        "addr_block_2",
        phone="(217) 555-4901",
        name="Wes Shop",
        address="100 Main St Suite 5, Springfield, IL 62701",
    )
    s.lead(
        "addr_block_3",
        email="wes.shop@mail-h.com",
        name="Wes",
        address="100 main st, springfield, il",
    )
    # a chain of 2,000 leads, one force_link after the other, created in random order
    rng = random.Random(2000)
    minutes = list(range(CHAIN_LENGTH))
    rng.shuffle(minutes)
    for n in range(CHAIN_LENGTH):
        s.lead(f"long_{n}", created_at=EPOCH + timedelta(days=30, minutes=minutes[n]))
        if n:
            s.overrides.append(("force_link", f"long_{n - 1}", f"long_{n}"))
    return s


CASES = hand_made_cases()


def _new_database(server: Server, name: str) -> AppDatabase:
    env = server.create_database(name)
    conn = connect(env)
    AppSchema().create(conn)
    return AppDatabase(conn=conn, env=env, schema=AppSchema())


def _drop_database(server: Server, db: AppDatabase) -> None:
    db.conn.close()
    server.drop_database(db.env["PGDATABASE"])


@dataclass
class Built:
    """A database holding CASES, with what its runs printed and planned."""

    db: AppDatabase
    project: DbtProject
    planned_without_guard: dict[str, str | None]  # lead id -> customer id, guard and address off
    first_plan: dict[str, str | None]  # lead id -> customer id, the real run's plan
    blocklisted_plan: dict[str, str | None]  # a dry run after blocklisting an address

    def customer(self, label: str) -> str | None:
        return self.db.lead_customer(uid(label))

    def same(self, *labels: str) -> bool:
        customers = {self.customer(label) for label in labels}
        return len(customers) == 1 and None not in customers

    def apart(self, *labels: str) -> bool:
        customers = [self.customer(label) for label in labels]
        return None not in customers and len(set(customers)) == len(customers)

    def refusals(self, **where: str) -> list[tuple]:
        clause = " and ".join(f"{column} = %s" for column in where) or "true"
        return self.db.query(
            f"select refusal_type, reason, identifier_value, lead_ids::text[]"
            f" from {SCHEMA}.identity_refusals where {clause}",
            tuple(where.values()),
        )


def _plan(db: AppDatabase) -> dict[str, str | None]:
    rows = db.query(
        f"select lead_id::text, resolved_customer_id::text"
        f" from {SCHEMA}.int_leads_resolved_to_customers"
    )
    return dict(rows)


def _prepare(
    server: Server, name: str, work_dir: Path, shuffle_seed: int | None
) -> tuple[AppDatabase, DbtProject]:
    db = _new_database(server, name)
    CASES.load(db, shuffle_seed=shuffle_seed)
    project = DbtProject(env=db.env, work_dir=work_dir)
    project.run("run", "--select", "manual_overrides")
    CASES.insert_overrides(db)
    return db, project


@pytest.fixture(scope="module")
def built(pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    db, project = _prepare(pg_server, "identity_cases", tmp_path_factory.mktemp("dbt"), None)
    project.build(
        dry_run=True, vars={"identity_household_guard": False, "identity_address_stage": False}
    )
    planned_without_guard = _plan(db)
    project.build()
    first_plan = _plan(db)
    # a row added to the blocklist seed's table (a dry run of what it changes)
    db.execute(
        f"insert into {SCHEMA}.identifier_blocklist (identifier_type, match_kind, pattern, reason)"
        " values ('address', 'value', '100 MAIN STREET', 'our shop')"
    )
    project.run("run", "--select", "int_identifier_values_screened+", vars={"dry_run": True})
    yield Built(db, project, planned_without_guard, first_plan, _plan(db))
    _drop_database(pg_server, db)


def test_chain_of_psid_phone_and_email_is_one_customer(built: Built) -> None:
    assert built.same("chain_1", "chain_2", "chain_3")
    customer = built.customer("chain_1")
    metadata = built.db.scalar('select metadata from "Customer" where id = %s', (customer,))
    assert metadata["matchedOn"] == ["phone", "email"]
    assert metadata["groupType"] == "psid"
    assert metadata["groupKey"] == "psid:2000000000000001"
    assert metadata["leadCount"] == 3


def test_new_customer_id_comes_from_the_groups_earliest_lead(built: Built) -> None:
    assert built.customer("chain_2") == new_customer_id(uid("chain_1"))
    # the chain's leads were created in random order: the earliest one gives the id
    earliest = min((lead for lead in CASES.leads if lead.label.startswith("long_")),
                   key=lambda lead: lead.created_at or EPOCH)  # fmt: skip
    assert built.customer("long_0") == new_customer_id(earliest.id)


def test_household_phone_joins_only_the_same_first_name(built: Built) -> None:
    assert built.same("house_bob_1", "house_bob_2")
    assert built.apart("house_bob_1", "house_alice")
    assert built.same("nick_1", "nick_2")
    assert built.apart("nick_1", "nick_3")
    review = built.refusals(refusal_type="household_review_candidate")
    # Xavier's lead with Yara's e-mail (below) makes that e-mail one to review too
    assert sorted(row[2] for row in review) == ["3034442001", "3034442101", "yara.old@mail-c.com"]


def test_household_guard_off_joins_the_household(built: Built) -> None:
    without = built.planned_without_guard
    assert without[uid("house_bob_1")] == without[uid("house_alice")] == without[uid("house_bob_2")]
    assert without[uid("house_bob_1")] is not None


def test_two_psids_on_one_phone_are_never_joined(built: Built) -> None:
    assert built.apart("psids_1", "psids_2", "psids_3")
    vetoed = built.refusals(refusal_type="vetoed_link", identifier_value="4045553001")
    assert [row[1] for row in vetoed] == ["would_join_different_psids"]
    assert len(vetoed[0][3]) == 3  # set-wise: every lead of the phone, not "the later ones"


@pytest.mark.parametrize(
    ("labels", "value", "reason"),
    [
        (("junk_1", "junk_2"), "test@test.com", "email_placeholder_local_part"),
        (("junk_3", "junk_4"), "0000000000", "phone_repeated_digits"),
        (("junk_5", "junk_6"), "1234567890", "phone_sequential_digits"),
        (("junk_7", "junk_8"), "5551234567", "phone_exchange_starts_with_0_or_1"),
        (tuple(f"cap_{n}" for n in range(OVER_CAP)), "shared.inbox@biz-mail.com",
         "suspected_placeholder_over_cap"),
    ],
)  # fmt: skip
def test_placeholder_values_link_nothing(
    built: Built, labels: tuple[str, ...], value: str, reason: str
) -> None:
    assert built.apart(*labels)
    rejected = built.refusals(refusal_type="rejected_value", identifier_value=value)
    assert [row[1] for row in rejected] == [reason]


def test_international_number_is_kept_whole(built: Built) -> None:
    assert built.same("intl_1", "intl_2")
    assert built.apart("intl_1", "intl_3")


def test_extension_does_not_change_the_number(built: Built) -> None:
    assert built.same("ext_1", "ext_2")


def test_gmail_style_aliases_are_not_collapsed(built: Built) -> None:
    assert built.apart("gmail_1", "gmail_2", "gmail_3")


def test_role_address_links_nothing_but_stays_the_customers_email(built: Built) -> None:
    assert built.apart("role_1", "role_2")
    email = built.db.scalar(
        'select email from "Customer" where id = %s', (built.customer("role_1"),)
    )
    assert email == "info@acme-plumbing.com"


def test_email_never_joins_groups_holding_different_phones(built: Built) -> None:
    assert built.apart("phones_1", "phones_2")
    vetoed = built.refusals(refusal_type="vetoed_link", identifier_value="nia.fox@mail-b.com")
    assert [row[1] for row in vetoed] == ["would_join_different_phones"]


def test_psid_twins_differing_by_whitespace_are_one_customer(built: Built) -> None:
    assert built.same("twin_1", "twin_2")


def test_existing_customers_are_reused_and_never_merged(built: Built) -> None:
    assert built.customer("exist_x_linked") == uid("cust_x")
    assert built.customer("exist_y_linked") == uid("cust_y")
    assert built.customer("exist_x_new") == uid("cust_x")
    # Xavier's lead with Yara's e-mail: the household guard reads that e-mail as shared by
    # two people (their first names differ), so it matches Yara's customer no more than
    # the stages would join them; the lead is Xavier's, and no conflict is reported
    assert built.customer("exist_both") == uid("cust_x")
    assert not built.db.query(
        f"select 1 from {SCHEMA}.plan_conflicts where lead_id = %s", (uid("exist_both"),)
    )
    # a lead that matches both with nothing to tell them apart (no name) is a merge
    # candidate: linked to neither, reported
    assert built.customer("exist_both_unnamed") is None
    conflicts = built.db.query(
        f"select customer_ids::text[] from {SCHEMA}.plan_conflicts"
        " where conflict_type = 'lead_matches_several_customers' and lead_id = %s",
        (uid("exist_both_unnamed"),),
    )
    assert conflicts == [(sorted([uid("cust_x"), uid("cust_y")]),)]


def test_overrides_are_honored(built: Built) -> None:
    assert built.apart("dnl_1", "dnl_2")
    assert built.same("force_1", "force_2")
    metadata = built.db.scalar(
        'select metadata from "Customer" where id = %s', (built.customer("force_1"),)
    )
    assert metadata["matchedOn"] == ["force_link"]


def test_a_chain_that_would_join_two_psids_is_vetoed_as_a_whole(built: Built) -> None:
    assert built.same("vchain_u1", "vchain_u2")
    assert built.apart("vchain_psid_a", "vchain_u1", "vchain_psid_b")
    chains = built.refusals(refusal_type="vetoed_chain")
    assert sorted((row[1], row[2], len(row[3])) for row in chains) == [
        ("would_join_different_psids", "5123214001", 3),
        ("would_join_different_psids", "5123214002", 3),
    ]


def test_address_joins_the_same_first_name_in_any_written_form(built: Built) -> None:
    assert built.same("addr_forms_1", "addr_forms_2")
    assert built.same("addr_street_1", "addr_street_2")
    explained = built.db.query(
        f"select linked_by_identifier_type, linked_by_identifier_value"
        f" from {SCHEMA}.identity_lead_explanations where lead_id = %s",
        (uid("addr_forms_2"),),
    )
    assert explained == [("address", "123 n main st unit 4|springfield il")]
    metadata = built.db.scalar(
        'select metadata from "Customer" where id = %s', (built.customer("addr_forms_1"),)
    )
    assert metadata["matchedOn"] == ["address"]


def test_address_stage_off_joins_nothing_by_address(built: Built) -> None:
    without = built.planned_without_guard
    assert without[uid("addr_forms_1")] != without[uid("addr_forms_2")]
    assert without[uid("addr_street_1")] != without[uid("addr_street_2")]


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (("addr_house_1", "addr_house_2"), "address_names_differ"),
        (("addr_unnamed_1", "addr_unnamed_2"), "address_without_name"),
        (("addr_psids_1", "addr_psids_2"), "would_join_different_psids"),
        (("addr_phones_1", "addr_phones_2"), "would_join_different_phones"),
        (("addr_cust_1", "addr_cust_2"), "would_join_different_existing_customers"),
    ],
)  # fmt: skip
def test_address_never_joins_what_a_rule_keeps_apart(
    built: Built, labels: tuple[str, ...], reason: str
) -> None:
    assert built.apart(*labels)
    reasons = {
        row[0]
        for row in built.db.query(
            f"select veto_reason from {SCHEMA}.int_identity_links_address"
            f" where veto_reason is not null and identifier_value in ("
            f"  select identifier_value from {SCHEMA}.int_node_identifiers"
            f"  join {SCHEMA}.int_identity_nodes using (node_id)"
            f"  where identifier_type = 'address' and lead_id = any(%s::uuid[]))",
            ([uid(label) for label in labels],),
        )
    }
    assert reasons == {reason}


def test_address_keys_tell_units_and_towns_apart(built: Built) -> None:
    assert built.apart("addr_unit_1", "addr_unit_2")
    assert built.apart("addr_town_1", "addr_town_2")
    keys = dict(
        built.db.query(
            f"select lead_id::text, string_agg(address_key, ' ' order by address_key)"
            f" from {SCHEMA}.int_lead_address_keys where lead_id = any(%s::uuid[]) group by 1",
            ([uid(label) for label in ("addr_unit_1", "addr_unit_2", "addr_town_2")],),
        )
    )
    assert keys == {
        uid("addr_unit_1"): "400 lake blvd unit 1|89501 400 lake blvd unit 1|reno nv",
        uid("addr_unit_2"): "400 lake blvd unit 2|89501 400 lake blvd unit 2|reno nv",
        uid("addr_town_2"): "31 pine st|01970 31 pine st|salem ma",
    }


def test_address_over_the_cap_links_nothing(built: Built) -> None:
    assert built.apart(*(f"addr_cap_{n}" for n in range(ADDRESS_OVER_CAP)))
    rejected = built.refusals(
        refusal_type="rejected_value", identifier_value="1 market plaza|94105"
    )
    assert [row[1] for row in rejected] == ["suspected_placeholder_over_cap"]


def test_a_blocklisted_address_links_nothing_in_any_town_or_unit(built: Built) -> None:
    before, after = built.first_plan, built.blocklisted_plan
    labels = ("addr_block_1", "addr_block_3")
    assert before[uid(labels[0])] == before[uid(labels[1])]
    assert after[uid(labels[0])] != after[uid(labels[1])]
    rejected = built.refusals(refusal_type="rejected_value", reason="blocklist: our shop")
    assert sorted(row[2] for row in rejected) == [
        "100 main st unit 5|62701",
        "100 main st unit 5|springfield il",
        "100 main st|62701",
        "100 main st|springfield il",
    ]


def test_chain_of_2000_leads_converges_to_one_customer(built: Built) -> None:
    customers = {built.first_plan[uid(f"long_{n}")] for n in range(CHAIN_LENGTH)}
    assert len(customers) == 1
    assert None not in customers


def test_no_value_that_was_not_refused_crosses_two_customers(built: Built) -> None:
    """Convergence, seen from outside: leads sharing a value that no rule refused have
    one customer (merge candidates aside: they are refusals too)."""
    crossing = built.db.query(
        f"""
        with refused_leads as (
            select unnest(lead_ids) as lead_id
            from {SCHEMA}.identity_refusals
            where refusal_type = 'merge_candidate'
        ),
        refused_values as (
            select identifier_value from {SCHEMA}.identity_refusals
            where identifier_value is not null
        )
        select identifiers.identifier_type, identifiers.identifier_value
        from {SCHEMA}.int_node_identifiers as identifiers
        join {SCHEMA}.int_identity_nodes as nodes using (node_id)
        join "Lead" as leads on leads.id = nodes.lead_id
        where nodes.lead_id not in (select lead_id from refused_leads)
            and identifiers.identifier_value not in (select identifier_value from refused_values)
        group by 1, 2
        having count(distinct coalesce(leads.customer_id::text, 'none')) > 1
        """
    )
    assert crossing == []


def test_every_lead_is_explained(built: Built) -> None:
    rows = dict(
        built.db.query(f"select lead_id::text, link_rule from {SCHEMA}.identity_lead_explanations")
    )
    # every lead the run resolved: each without a customer, and the leads of the
    # customers those touch (int_identity_scope); a linked lead nothing touches is not
    resolved = {
        row[0]
        for row in built.db.query(
            f"select entity_id::text from {SCHEMA}.int_identity_scope where node_type = 'lead'"
        )
    }
    assert set(rows) == resolved
    unlinked = {uid(lead.label) for lead in CASES.leads if lead.customer is None}
    assert unlinked < resolved
    assert {uid(lead.label) for lead in CASES.leads} >= resolved
    assert rows[uid("chain_3")] == "shared_email"
    assert rows[uid("chain_2")] == "shared_phone"
    assert rows[uid("exist_both_unnamed")] == "merge_candidate_not_linked"
    assert rows[uid("exist_x_linked")] == "already_linked"
    assert rows[uid("force_2")] == "force_link"
    assert rows[uid("gmail_1")] == "no_shared_identifier"


def test_a_lead_explanation_lists_the_identifiers_refused_to_it(built: Built) -> None:
    rows = dict(
        built.db.query(
            f"select lead_id::text, refused_identifiers from {SCHEMA}.identity_lead_explanations"
        )
    )
    # a vetoed value (psids_3's phone would join two PSIDs), a rejected one (junk_3's
    # all-zero phone) and none (chain_2's phone linked it)
    vetoed = {"type": "phone", "value": "4045553001", "reason": "would_join_different_psids"}
    assert rows[uid("psids_3")] == [vetoed]
    assert rows[uid("junk_3")] == [
        {"type": "phone", "value": "0000000000", "reason": "phone_repeated_digits"}
    ]
    assert rows[uid("chain_2")] == []


def test_same_data_in_another_order_gives_the_same_customers_and_ids(
    built: Built, pg_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db, project = _prepare(pg_server, "identity_cases_shuffled", tmp_path_factory.mktemp("dbt"), 11)
    try:
        project.build(dry_run=True)
        assert _plan(db) == built.first_plan
    finally:
        _drop_database(pg_server, db)


def test_next_run_keeps_ids_and_links_new_leads(built: Built) -> None:
    customers_before = dict(built.db.query('select id::text, name from "Customer"'))
    fay = built.customer("ext_1")
    later = EPOCH + timedelta(days=400)
    new_fay = built.db.add_lead(
        phone="720-555-2368", name="Fay", id=uid("next_fay"), created_at=later
    )
    straddle = built.db.add_lead(
        phone="(303) 444-2001", email="ann.chain@mail-a.com", name="Bob",
        id=uid("next_straddle"), created_at=later,
    )  # fmt: skip

    built.project.build()

    customers_after = dict(built.db.query('select id::text, name from "Customer"'))
    assert customers_after == customers_before  # no new customer, none changed or merged
    assert built.db.lead_customer(new_fay) == fay
    # Bob on the household phone (Bob's and Alice's customers) with Ann's e-mail: the
    # household guard lets only Bob's customer match
    assert built.db.lead_customer(straddle) == built.customer("house_bob_1")
