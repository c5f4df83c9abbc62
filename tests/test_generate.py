"""The labeled data generator and the scorer, against a real PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import psycopg2.extensions
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backfill_tools.db.appdb import AppSchema, connect, table_fingerprints
from backfill_tools.db.server import Server
from backfill_tools.quality.generate import (
    DIRECTION_WORDS,
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_PHONES,
    ROLE_LOCAL_PARTS,
    SUFFIX_WORDS,
    TRUTH_DDL,
    TRUTH_SCHEMA,
    GenerationSummary,
    generate,
    uuid4_text,
)
from backfill_tools.quality.score import score
from tests.appdata import AppDatabase

RATE_LEADS = 5_000

# A phone's digits without an extension; NANP numbers as their 10 digits.
PHONE_KEY = r"""
    case when phone is null then null else (
        select case when length(d) = 11 and d like '1%' then substr(d, 2) else d end
        from (select regexp_replace(
                  regexp_replace(phone, '\s*(x|ext\.?)\s*\d+\s*$', '', 'i'), '\D', '', 'g') as d
             ) as digits
    ) end
"""


def query(conn: psycopg2.extensions.connection, sql: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    conn.rollback()
    return rows


def scalar(conn: psycopg2.extensions.connection, sql: str) -> object:
    return query(conn, sql)[0][0]


def rows_of(conn: psycopg2.extensions.connection, sql: str) -> int:
    """How many rows `sql` returns."""
    return int(str(scalar(conn, f"select count(*) from ({sql}) as x")))


def truth_fingerprints(conn: psycopg2.extensions.connection) -> dict[str, tuple[int, str]]:
    prints = {}
    for table in ("person", "lead_person", "lead_address", "customer_person", "generation"):
        count, digest = query(
            conn,
            f"select count(*), md5(string_agg(t::text, '|' order by t::text)) "
            f"from {TRUTH_SCHEMA}.{table} as t",
        )[0]
        prints[table] = (count, digest)
    return prints


# -- determinism ---------------------------------------------------------------------------
@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_uuid4_text_is_uuid_version_4(bits: int) -> None:
    assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_same_seed_gives_identical_rows(app_db: AppDatabase) -> None:
    conn, app = app_db.conn, app_db.schema
    first = generate(conn, app, 3_000, seed=11)
    first_prints = table_fingerprints(conn, app.schema), truth_fingerprints(conn)

    second = generate(conn, app, 3_000, seed=11, reset=True)
    second_prints = table_fingerprints(conn, app.schema), truth_fingerprints(conn)

    generate(conn, app, 3_000, seed=12, reset=True)
    other_prints = table_fingerprints(conn, app.schema), truth_fingerprints(conn)

    assert first_prints == second_prints
    assert first_prints[0]["Lead"][0] == 3_000
    assert {**vars(first), "seconds": 0} == {**vars(second), "seconds": 0}
    assert other_prints[0]["Lead"] != first_prints[0]["Lead"]
    assert other_prints[1]["lead_person"] != first_prints[1]["lead_person"]


def test_refuses_to_add_to_filled_app_tables(app_db: AppDatabase) -> None:
    generate(app_db.conn, app_db.schema, 100)
    with pytest.raises(ValueError, match="not empty"):
        generate(app_db.conn, app_db.schema, 100)
    assert app_db.count("Lead") == 100


# -- the mess, at roughly the asked rates (one data set for the module) -----------------------
@dataclass
class Generated:
    conn: psycopg2.extensions.connection
    app: AppSchema
    summary: GenerationSummary


@pytest.fixture(scope="module")
def generated(pg_server: Server) -> Iterator[Generated]:
    """RATE_LEADS leads (seed 7), plus a temp view `leads` with truth and match keys."""
    name = f"gen_rates_{uuid.uuid4().hex[:8]}"
    conn = connect(pg_server.create_database(name))
    app = AppSchema()
    app.create(conn)
    summary = generate(conn, app, RATE_LEADS, seed=7)
    with conn.cursor() as cur:
        cur.execute(
            f"""create view public.leads as
            select l.*, t.person_id, p.first_name, p.last_name, p.household_id,
                   btrim(l."{app.psid_column}") as psid,
                   {PHONE_KEY} as phone_key,
                   lower(btrim(l.email)) as email_key
            from "{app.schema}"."Lead" as l
            join {TRUTH_SCHEMA}.lead_person as t on t.lead_id = l.id
            join {TRUTH_SCHEMA}.person as p using (person_id)"""
        )
    conn.commit()
    yield Generated(conn, app, summary)
    conn.close()
    pg_server.drop_database(name)


def rate(part: object, whole: object) -> float:
    return float(str(part)) / float(str(whole))


def test_summary_matches_the_tables(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    assert s.leads == RATE_LEADS == scalar(conn, 'select count(*) from "Lead"')
    assert s.jobs == scalar(conn, 'select count(*) from "Job"')
    assert s.persons == scalar(conn, f"select count(*) from {TRUTH_SCHEMA}.person")
    assert s.app_customers == scalar(conn, 'select count(*) from "Customer"')
    assert s.pre_linked_leads == scalar(
        conn, 'select count(*) from "Lead" where customer_id is not null'
    )
    assert s.pre_linked_jobs == scalar(
        conn, 'select count(*) from "Job" where customer_id is not null'
    )
    assert s.messenger_leads == scalar(
        conn, "select count(*) from \"Lead\" where channel = 'messenger'"
    )


def test_truth_covers_every_lead_exactly_once(generated: Generated) -> None:
    conn = generated.conn
    assert not rows_of(
        conn,
        f'select l.id from "Lead" as l left join {TRUTH_SCHEMA}.lead_person as t '
        "on t.lead_id = l.id where t.lead_id is null",
    )
    assert scalar(conn, f"select count(*) from {TRUTH_SCHEMA}.lead_person") == RATE_LEADS
    assert not rows_of(
        conn,
        f"select p.person_id from {TRUTH_SCHEMA}.person as p where not exists "
        f"(select 1 from {TRUTH_SCHEMA}.lead_person as t where t.person_id = p.person_id)",
    )
    # the app's customers belong to one person each, and their pre-set links are right
    assert not rows_of(
        conn,
        f"select l.id from leads as l join {TRUTH_SCHEMA}.customer_person as c "
        "on c.customer_id = l.customer_id where c.person_id <> l.person_id",
    )


def test_persons_have_one_to_five_leads(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    multi, most = query(
        conn,
        "select count(*) filter (where n > 1), max(n) "
        "from (select person_id, count(*) as n from leads group by person_id) as per_person",
    )[0]
    assert 0.26 <= rate(multi, s.persons) <= 0.34
    assert most == 5
    assert multi == s.multi_lead_persons


def test_psids(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    assert not rows_of(conn, r"select id from leads where psid !~ '^\d{16,17}$'")
    assert not rows_of(conn, "select id from leads where psid is not null and channel = 'sms'")
    # one PSID per person, never shared by two persons
    assert not rows_of(
        conn,
        "select person_id from leads where psid is not null "
        "group by person_id having count(distinct psid) > 1",
    )
    assert not rows_of(
        conn,
        "select psid from leads where psid is not null "
        "group by psid having count(distinct person_id) > 1",
    )
    padded = scalar(conn, 'select count(*) from leads where "messengerPsid" <> psid')
    assert padded == s.psid_whitespace_leads
    assert 0 < rate(padded, s.messenger_leads) < 0.02  # whitespace twins exist, rarely


def test_phone_formats(generated: Generated) -> None:
    conn = generated.conn
    placeholders = ", ".join(f"'{p}'" for p in PLACEHOLDER_PHONES)
    # an SMS lead carries the sender's number as the carrier delivers it: E.164
    not_e164 = scalar(
        conn,
        f"select count(*) from leads where channel = 'sms' and phone not in ({placeholders})"
        r" and phone !~ '^\+[1-9]\d{7,14}$'",
    )
    assert not_e164 == 0
    assert scalar(conn, r"select count(*) from leads where phone ~ '^\+(44|52)'") > 0
    # a Messenger lead's phone is typed by a person, in every format
    formats = {
        "+1 (AAA) EEE-LLLL": r"^\+1 \(\d{3}\) \d{3}-\d{4}$",
        "AAA.EEE.LLLL": r"^\d{3}\.\d{3}\.\d{4}$",
        "AAAEEELLLL": r"^[2-9]\d{9}$",
        "1-AAA-EEE-LLLL": r"^1-\d{3}-\d{3}-\d{4}$",
        "(AAA) EEE-LLLL": r"^\(\d{3}\) \d{3}-\d{4}$",
        "AAA-EEE-LLLL": r"^\d{3}-\d{3}-\d{4}$",
        "x extension": r" x\d+$",
    }
    for label, pattern in formats.items():
        found = scalar(
            conn, f"select count(*) from leads where channel = 'messenger' and phone ~ '{pattern}'"
        )
        assert found > 0, label
    # real NANP numbers: area code and exchange start with 2-9
    bad = scalar(
        conn,
        f"select count(*) from leads where phone not in ({placeholders}) "
        "and phone !~ '^(\\+44|\\+52|0044)' and phone_key !~ '^[2-9]\\d\\d[2-9]\\d{6}$'",
    )
    assert bad == 0
    # the app writes its customers' phones in E.164
    assert not rows_of(conn, r"""select id from "Customer" where phone !~ '^\+[1-9]\d{7,14}$'""")


def test_international_and_household_phones(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    assert 0.003 <= rate(s.international_persons, s.persons) <= 0.02
    assert 0.025 <= rate(s.household_persons, s.persons) <= 0.055
    placeholders = ", ".join(f"'{p}'" for p in PLACEHOLDER_PHONES)
    shared = query(
        conn,
        f"""select phone_key, count(distinct person_id), count(distinct household_id),
                   count(distinct last_name), count(distinct first_name)
            from leads where phone_key is not null and phone not in ({placeholders})
            group by phone_key having count(distinct person_id) > 1""",
    )
    assert len(shared) > 10
    # only a household shares a number: two persons, same last name, different first names
    assert all(row[1:] == (2, 1, 1, 2) for row in shared), shared[:5]


def test_emails(generated: Generated) -> None:
    conn = generated.conn
    assert scalar(conn, "select count(*) from leads where email like ' %'") > 0
    assert scalar(conn, "select count(*) from leads where email <> lower(btrim(email))") > 50
    assert scalar(conn, r"select count(*) from leads where email ~ '\+\w+@gmail\.com$'") > 0
    placeholders = ", ".join(f"'{p}'" for p in PLACEHOLDER_EMAILS)
    shared = query(
        conn,
        f"""select email_key, count(distinct person_id) from leads
            where email_key not in ({placeholders})
            group by email_key having count(distinct person_id) > 1""",
    )
    # only role addresses are shared, by 2 or 3 persons
    assert shared
    assert all(key.split("@")[0] in ROLE_LOCAL_PARTS and n in (2, 3) for key, n in shared)


def test_chains_of_values_link_a_persons_leads(generated: Generated) -> None:
    """lead A {psid, email e}, lead B {email e, phone p}, lead C {phone p} of one person."""
    chained = scalar(
        generated.conn,
        """select count(distinct a.person_id)
           from leads as a
           join leads as b on b.person_id = a.person_id and b.email_key = a.email_key
           join leads as c on c.person_id = b.person_id and c.phone_key = b.phone_key
           where a.psid is not null and a.phone is null
             and b.psid is null and b.id <> a.id
             and c.email is null and c.psid is null and c.id <> b.id""",
    )
    assert chained > 0


def test_placeholders_empty_leads_names_and_addresses(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    phones = ", ".join(f"'{p}'" for p in PLACEHOLDER_PHONES)
    emails = ", ".join(f"'{p}'" for p in PLACEHOLDER_EMAILS)
    placeholder_leads, placeholder_persons = query(
        conn,
        f"select count(*), count(distinct person_id) from leads "
        f"where phone in ({phones}) or email in ({emails})",
    )[0]
    assert placeholder_leads == s.placeholder_leads
    assert 0.02 <= rate(placeholder_leads, RATE_LEADS) <= 0.04
    assert placeholder_persons > 0.9 * placeholder_leads  # many different persons
    empty = scalar(
        conn,
        'select count(*) from leads where "messengerPsid" is null and phone is null '
        "and email is null",
    )
    assert empty == s.empty_leads
    assert 0.01 <= rate(empty, RATE_LEADS) <= 0.03
    names = query(
        conn,
        "select count(*) filter (where name is null or btrim(name) = ''), "
        "count(*) filter (where name !~ ' ' and btrim(name) <> ''), "
        "count(*) filter (where name = upper(name) and name ~ '[A-Z]'), "
        "count(*) filter (where name = lower(name) and name ~ '[a-z]') from leads",
    )[0]
    assert all(n > 0 for n in names), names
    with_address, case_variants, free_form, coords_without_address = query(
        conn,
        r"""select count(address),
                   count(*) filter (where address = upper(address) and address ~ '[A-Z]'),
                   count(*) filter (where address !~ ', [A-Za-z]{2} \d{5}$'),
                   count(*) filter (where address is null and lat is not null)
            from leads""",
    )[0]
    assert 0.57 <= rate(with_address, RATE_LEADS) <= 0.63
    assert case_variants > 0 and free_form > 0
    assert coords_without_address == 0


def test_app_customers_and_jobs(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    assert 0.035 <= rate(s.app_customers - s.app_duplicate_customers, s.persons) <= 0.065
    # the app made a second customer for some of those persons (its duplicates)
    assert 0.2 <= rate(s.app_duplicate_customers, s.app_customers) <= 0.3
    duplicates = query(
        conn,
        f"""select count(*), count(*) filter (where phones = 2 and distinct_phones = 1)
            from (select person_id, count(phone) as phones,
                         count(distinct phone) as distinct_phones
                  from {TRUTH_SCHEMA}.customer_person join "Customer" on id = customer_id
                  group by person_id having count(*) = 2) as persons""",
    )[0]
    assert duplicates[0] == s.app_duplicate_customers
    assert 0 < duplicates[1] < duplicates[0]  # most share one E.164 phone, some first had none
    metadata = query(
        conn,
        "select count(*) filter (where metadata is null), "
        """count(*) filter (where metadata = '{"source": "app"}') from "Customer\"""",
    )[0]
    assert all(n > 0 for n in metadata)
    # some, not all, leads of those persons are linked
    linked, unlinked = query(
        conn,
        f"""select count(*) filter (where l.customer_id is not null),
                   count(*) filter (where l.customer_id is null)
            from leads as l join {TRUTH_SCHEMA}.customer_person using (person_id)""",
    )[0]
    assert linked > 0 and unlinked > 0
    leads_with_jobs, leads_with_two, jobs_linked, jobs_like_lead = query(
        conn,
        """select count(distinct j.lead_id),
                  (select count(*) from (select lead_id from "Job" group by lead_id
                                         having count(*) = 2) as two),
                  count(*) filter (where j.customer_id is not null),
                  count(*) filter (where j.customer_id = l.customer_id)
           from "Job" as j join "Lead" as l on l.id = j.lead_id""",
    )[0]
    assert 0.46 <= rate(leads_with_jobs, RATE_LEADS) <= 0.54
    assert 0 < leads_with_two < 0.1 * leads_with_jobs
    assert rate(jobs_linked, s.jobs) < 0.1  # most jobs have no customer
    assert jobs_like_lead > 0.6 * jobs_linked  # ... and linked ones mostly follow their lead


def test_timestamps(generated: Generated) -> None:
    conn = generated.conn
    days = scalar(conn, 'select extract(day from max(created_at) - min(created_at)) from "Lead"')
    assert 600 <= float(str(days)) <= 731
    for table in ("Lead", "Job", "Customer"):
        assert scalar(conn, f'select count(*) from "{table}" where updated_at < created_at') == 0
    assert scalar(conn, 'select count(*) from "Job" where window_end <= window_start') == 0


# -- addresses --------------------------------------------------------------------------------
# A structured address ends with ", City, ST" or ", City, ST 12345" unless it is the street
# line alone; in either case it has a row in backfill_truth.lead_address.
WITH_CITY = r"', [a-z .]+, [a-z]{2}( \d{5})?$'"
WITHOUT_ZIP = r"', [a-z .]+, [a-z]{2}$'"
WRITTEN_ADDRESSES = f"""
    select l.id, l.address, l.person_id, l.household_id, l.created_at, l.name, l.last_name,
           a.address_key, a.address_kind
    from leads as l join {TRUTH_SCHEMA}.lead_address as a on a.lead_id = l.id
"""
_FOLD = {word.upper(): abbreviation.upper() for abbreviation, word in SUFFIX_WORDS.items()}
_FOLD |= {word.upper(): abbreviation for abbreviation, word in DIRECTION_WORDS.items()}
_UNIT_WORDS = {"APT", "UNIT", "SUITE", "STE"}
_TEXT = re.compile(r"(?P<line>.+?)(, [A-Z ]+, [A-Z]{2}( (?P<zip>\d{5}))?)?")


def street_line_key(line: str) -> str:
    """A written street line reduced as the truth's key writes it ("123 N MAIN ST #4B")."""
    tokens = [_FOLD.get(token, token) for token in line.replace(",", " ").split()]
    out: list[str] = []
    unit_next = False
    for token in tokens:
        if token in _UNIT_WORDS:
            unit_next = True
            continue
        if unit_next and not token.startswith("#"):
            token = f"#{token}"
        unit_next = False
        out.append(token)
    return " ".join(out)


def test_address_forms(generated: Generated) -> None:
    """Suffixes, directions and units written every way, with and without city and ZIP."""
    conn, s = generated.conn, generated.summary
    written = f"from ({WRITTEN_ADDRESSES}) as w where"
    forms = {
        "St": r"address ~ '\d+ [A-Za-z ]+ St[ ,]'",
        "St.": r"address ~ ' St\.[ ,]'",
        "Street": "address ~ ' Street[ ,]'",
        "Ave and Avenue": "address ~ ' Ave[ ,]' or address ~ ' Avenue[ ,]'",
        "N": r"address ~ '^\d+ N '",
        "North": r"address ~ '^\d+ North '",
        "Apt 4": r"address ~ ' Apt \d'",
        "Apt. 4": r"address ~ ' Apt\. \d'",
        "#4": r"address ~ '[^,] #\d'",
        "Unit 4": r"address ~ ' Unit \d'",
        "Apt 4B": r"address ~ ' Apt \d+[A-D]\M'",
        "unit after a comma": r"address ~ ', (Apt|Unit|#)'",
        "with ZIP": r"address ~ ', [A-Z]{2} \d{5}$'",
        "without ZIP": f"address ~* {WITHOUT_ZIP}",
        "street line only": f"address !~* {WITH_CITY}",
        "street line only, with a unit": f"address !~* {WITH_CITY} and address ~ ' (Apt|Unit|#)'",
    }
    for label, condition in forms.items():
        assert scalar(conn, f"select count(*) {written} {condition}") > 0, label
    structured = scalar(conn, f"select count(*) {written} true")
    street_only = scalar(conn, f"select count(*) {written} address !~* {WITH_CITY}")
    without_zip = scalar(conn, f"select count(*) {written} address ~* {WITHOUT_ZIP}")
    assert street_only == s.street_only_addresses
    assert without_zip == s.addresses_without_zip
    assert 0.07 <= rate(street_only, structured) <= 0.13
    assert 0.12 <= rate(without_zip, structured) <= 0.18
    assert s.free_form_addresses == s.leads_with_address - structured
    assert scalar(conn, "select count(*) from leads where address ~* 'behind the|corner of'") > 0


def test_address_text_says_what_the_truth_key_says(generated: Generated) -> None:
    """Each written address, its abbreviations folded, is its truth key: the street line
    (less the unit when the lead leaves it off) and the ZIP when the lead gives one."""
    wrong, omitted_units = [], 0
    for text, key in query(
        generated.conn, f"select address, address_key from ({WRITTEN_ADDRESSES}) as w"
    ):
        match = _TEXT.fullmatch(text.upper().replace(".", ""))
        assert match, text
        line, zip_code = street_line_key(match["line"]), match["zip"]
        true_line, true_zip = key.rsplit(" ", 1)
        if "#" in true_line and "#" not in line:
            omitted_units += 1
            true_line = " ".join(t for t in true_line.split() if not t.startswith("#"))
        if line != true_line or zip_code not in (None, true_zip):
            wrong.append((text, key))
    assert not wrong, wrong[:5]
    assert omitted_units == generated.summary.unit_omitted_leads > 0


def test_only_housemates_share_a_home(generated: Generated) -> None:
    """Persons at one home are one household: partners sharing a phone, or housemates with
    their own phones (mostly the same last name); never two unrelated persons."""
    conn, s = generated.conn, generated.summary
    assert not rows_of(
        conn,
        f"select address_key from {TRUTH_SCHEMA}.person group by address_key "
        "having count(distinct household_id) > 1",
    )
    pairs = query(
        conn,
        f"""select a.phone_e164 = b.phone_e164, a.last_name = b.last_name,
                   a.first_name = b.first_name
            from {TRUTH_SCHEMA}.person as a join {TRUTH_SCHEMA}.person as b
                on b.address_key = a.address_key and b.person_id > a.person_id""",
    )
    housemates = [row for row in pairs if not row[0]]
    assert len(housemates) == s.households_sharing_address
    assert len(pairs) - len(housemates) == s.household_phones
    assert 0.09 <= rate(s.housemate_persons, s.persons) <= 0.15
    assert not any(same_first for _, _, same_first in pairs)
    assert 0.7 <= rate(sum(same_last for _, same_last, _ in housemates), len(housemates)) <= 0.9
    # the trap: housemates' leads with the same last name and no name to tell them apart
    nameless = scalar(
        conn,
        f"""select count(*) from ({WRITTEN_ADDRESSES}) as w
            where coalesce(btrim(name), '') = '' and exists (
                select 1 from {TRUTH_SCHEMA}.person as other
                where other.address_key = w.address_key and other.person_id <> w.person_id
                  and other.last_name = w.last_name and other.household_id = w.household_id)""",
    )
    assert nameless > 0


def test_movers_give_a_new_address_on_later_leads(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    assert 0.05 <= rate(s.movers, s.multi_lead_persons) <= 0.11
    homes = f"""select w.person_id, w.address_key, w.created_at,
                       w.address_key = p.address_key as first_home
                from ({WRITTEN_ADDRESSES}) as w join {TRUTH_SCHEMA}.person as p using (person_id)
                where w.address_kind in ('home', 'unit')"""
    movers = query(
        conn,
        f"""select person_id, count(distinct address_key),
                   max(created_at) filter (where first_home)
                   <= min(created_at) filter (where not first_home),
                   bool_or(left(split_part(address_key, ' ', -1), 3)
                           <> left(split_part(first_key, ' ', -1), 3))
            from (select h.*, p.address_key as first_key
                  from ({homes}) as h join {TRUTH_SCHEMA}.person as p using (person_id)) as x
            group by person_id having count(distinct address_key) > 1""",
    )
    # a mover whose later leads carry no address shows only one
    assert 0.3 * s.movers <= len(movers) <= s.movers
    assert all(n == 2 for _, n, _, _ in movers)
    assert all(in_order is not False for _, _, in_order, _ in movers)  # old home, then new
    assert any(other_city for *_, other_city in movers)
    assert any(not other_city for *_, other_city in movers)


def test_buildings_hold_units_of_unrelated_persons(generated: Generated) -> None:
    conn, s = generated.conn, generated.summary
    assert 0.15 <= rate(s.building_units, s.persons) <= 0.26
    assert s.buildings < s.building_units
    buildings = query(
        conn,
        rf"""select regexp_replace(address_key, ' #\S+', '') as building,
                   count(distinct household_id), count(distinct address_key)
            from ({WRITTEN_ADDRESSES}) as w where address_kind = 'unit'
            group by 1 having count(distinct household_id) > 1""",
    )
    assert len(buildings) > 20
    assert all(units > 1 for _, _, units in buildings)  # different households, different units
    assert max(households for _, households, _ in buildings) >= 5
    assert s.unit_omitted_leads > 0


def test_shared_non_home_addresses(generated: Generated) -> None:
    """The business's own address and office buildings: many unrelated persons, no home."""
    conn, s = generated.conn, generated.summary
    shared = query(
        conn,
        f"""select address_key, address_kind, count(*), count(distinct household_id)
            from ({WRITTEN_ADDRESSES}) as w where address_kind in ('business', 'office')
            group by address_key, address_kind order by count(*) desc""",
    )
    assert sum(n for _, _, n, _ in shared) == s.shared_address_leads
    assert len(shared) == s.shared_addresses
    assert 0.005 <= rate(s.shared_address_leads, s.leads_with_address) <= 0.03
    business = [row for row in shared if row[1] == "business"]
    assert len(business) == 1 and business[0][3] >= 10  # one address, many households
    assert sum(1 for row in shared if row[1] == "office" and row[3] > 1) >= 2
    homes = f"select address_key from {TRUTH_SCHEMA}.person"
    assert not [key for key, *_ in shared if key in {k for (k,) in query(conn, homes)}]


# -- the scorer --------------------------------------------------------------------------------
def test_score_of_generated_links_is_precise(generated: Generated) -> None:
    scores = score(generated.conn, generated.app)
    assert scores.pairwise_precision == 1.0 and scores.bcubed_precision == 1.0
    assert scores.pairwise_recall < 0.1
    assert scores.leads == RATE_LEADS and scores.persons == generated.summary.persons
    assert scores.leads_without_truth == 0
    assert "pairwise_precision" in scores.format_table()


def test_score_is_perfect_for_one_customer_per_person(app_db: AppDatabase) -> None:
    summary = generate(app_db.conn, app_db.schema, 2_000, seed=3)
    app_db.execute(
        f"""create temp table person_customer as
            select person_id, gen_random_uuid() as customer_id from {TRUTH_SCHEMA}.person;
            insert into "Customer" (id, updated_at) select customer_id, now() from person_customer;
            update "Lead" as l set customer_id = pc.customer_id
            from {TRUTH_SCHEMA}.lead_person as t join person_customer as pc using (person_id)
            where t.lead_id = l.id"""
    )

    scores = score(app_db.conn, app_db.schema)

    assert (scores.pairwise_precision, scores.pairwise_recall) == (1.0, 1.0)
    assert (scores.bcubed_precision, scores.bcubed_recall) == (1.0, 1.0)
    assert scores.customers == scores.persons == summary.persons
    assert scores.unlinked_leads == 0
    assert scores.customers_with_two_psids == 0
    assert scores.largest_customer == app_db.scalar(
        f"select max(n) from (select count(*) as n from {TRUTH_SCHEMA}.lead_person "
        "group by person_id) as x"
    )

    # everything in one customer: recall stays 1, precision drops to true / all pairs
    one = app_db.scalar('select min(id::text)::uuid from "Customer"')
    app_db.execute('update "Lead" set customer_id = %s', (one,))
    merged = score(app_db.conn, app_db.schema)
    all_pairs = summary.leads * (summary.leads - 1) // 2
    assert merged.pairwise_recall == 1.0 and merged.bcubed_recall == 1.0
    assert merged.pairwise_precision == pytest.approx(merged.true_pairs / all_pairs)
    assert merged.customers == 1 and merged.largest_customer == summary.leads
    assert merged.customers_with_two_psids == 1


def test_score_of_a_hand_made_grouping(app_db: AppDatabase) -> None:
    """Persons A {a1 a2 a3}, B {b1 b2}, C {c1}; customers X {a1 a2 b1}, Y {a3}; b2, c1 unlinked.

    cells n(c, p): (X, A) = 2, (X, B) = 1, (Y, A) = 1, (b2, B) = 1, (c1, C) = 1
    pairwise: tp = 1; predicted = C(3,2) = 3; true = C(3,2) + C(2,2) = 4
    B-cubed precision = (2/3 + 2/3 + 1/3 + 1 + 1 + 1) / 6 = 7/9
    B-cubed recall    = (2/3 + 2/3 + 1/2 + 1/3 + 1/2 + 1) / 6 = 11/18
    """
    app = AppSchema(schema="crm", psid_column="psid", customer_foreign_keys=False)
    app.create(app_db.conn)
    db = AppDatabase(conn=app_db.conn, env=app_db.env, schema=app)
    x, y = db.add_customer(name="X"), db.add_customer(name="Y")
    leads = {
        "a1": db.add_lead(psid="1000000000000001", customer_id=x),
        "a2": db.add_lead(psid=" 1000000000000001 ", customer_id=x),  # same PSID, padded
        "b1": db.add_lead(psid="2000000000000002", customer_id=x),  # X: two PSIDs
        "a3": db.add_lead(psid="   ", customer_id=y),  # blank: no PSID
        "b2": db.add_lead(phone="5551234567"),
        "c1": db.add_lead(email="c@example.com"),
    }
    db.add_lead(phone="2025550100")  # not in the truth: not scored
    person = {"a": 1, "b": 2, "c": 3}
    with app_db.conn.cursor() as cur:
        cur.execute(TRUTH_DDL)
        for label, lead_id in leads.items():
            cur.execute(
                f"insert into {TRUTH_SCHEMA}.lead_person values (%s, %s)",
                (lead_id, person[label[0]]),
            )
    app_db.conn.commit()

    scores = score(app_db.conn, app)

    assert (scores.true_positive_pairs, scores.predicted_pairs, scores.true_pairs) == (1, 3, 4)
    assert scores.pairwise_precision == pytest.approx(1 / 3)
    assert scores.pairwise_recall == pytest.approx(1 / 4)
    assert scores.bcubed_precision == pytest.approx(float(Fraction(7, 9)))
    assert scores.bcubed_recall == pytest.approx(float(Fraction(11, 18)))
    assert (scores.leads, scores.persons, scores.customers) == (6, 3, 2)
    assert (scores.unlinked_leads, scores.leads_without_truth) == (3, 1)
    assert scores.largest_customer == 3
    assert scores.customers_with_two_psids == 1


def test_score_of_a_cluster_table_is_the_same_as_of_customer_ids(app_db: AppDatabase) -> None:
    """A peer tool's clusters (a table lead_id -> cluster_id) are scored by the same SQL as
    Lead.customer_id: the same grouping gives the same scores, a missing lead is unlinked."""
    summary = generate(app_db.conn, app_db.schema, 2_000, seed=3)
    app_db.conn.commit()
    by_customer_id = score(app_db.conn, app_db.schema)
    app_db.execute(
        """create table peer_clusters as
               select id as lead_id, customer_id as cluster_id
               from "Lead" where customer_id is not null;
           update "Lead" set customer_id = null"""
    )

    assert score(app_db.conn, app_db.schema, clusters="peer_clusters") == by_customer_id
    assert score(app_db.conn, app_db.schema).customers == 0  # Lead itself is untouched

    # the truth as clusters (integer ids): perfect
    app_db.execute(
        f"""create table truth_clusters as
                select lead_id, person_id as cluster_id from {TRUTH_SCHEMA}.lead_person"""
    )
    perfect = score(app_db.conn, app_db.schema, clusters="truth_clusters")
    assert (perfect.pairwise_precision, perfect.pairwise_recall) == (1.0, 1.0)
    assert (perfect.bcubed_precision, perfect.bcubed_recall) == (1.0, 1.0)
    assert perfect.customers == summary.persons and perfect.unlinked_leads == 0


def test_score_needs_the_truth(app_db: AppDatabase) -> None:
    with pytest.raises(RuntimeError, match="generate"):
        score(app_db.conn, app_db.schema)
