"""Deterministic, labeled synthetic data for the app tables (`Customer`, `Lead`, `Job`).

Every lead is generated from a synthetic *person*. Which one is written to the ground
truth schema `backfill_truth` (`lead_person`, `person`, `customer_person`), so a scorer can
measure how well a grouping of leads into customers recovers the real people.

The data carries the mess of a real deployment (see `MessRates`): several leads per
person linked only through chains of shared values, one number in many phone formats,
email case and whitespace noise, gmail dot/+tag variants, role addresses shared by a few
people, households sharing one phone, placeholder values, empty leads, and customers the
app already created and partly linked.

Addresses are structured (`Address`) and each lead writes its own way (St/Street, N/North,
Apt 4/#4/Unit 4, with or without the ZIP, the street line alone, other casing, free-form
text), with the traps of linking by address: housemates with their own phones at one
address, unrelated persons in units of one building (leads leaving the unit off), movers,
and the business's and office buildings' addresses given by many persons. The truth's
`lead_address` holds the place each lead's address writes, as a normalized key.

Everything derives from one seed (uuids included; addresses from a second stream seeded
from it), so the same seed and size give byte-identical tables. Rows are loaded with
`COPY ... FROM STDIN` in chunks.
"""

from __future__ import annotations

import io
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TypeVar

import psycopg2.extensions

from backfill_tools.db.appdb import ALL_APP_TABLES, AppSchema
from backfill_tools.db.server import Server

TRUTH_SCHEMA = "backfill_truth"
START_EPOCH = 1_672_531_200  # 2023-01-01T00:00:00Z
SPAN_SECONDS = 730 * 86_400  # leads are created over two years
DAY = 86_400
CHUNK_LEADS = 50_000
PROGRESS_EVERY = 100_000
COPY_ORDER = (
    "customer",
    "lead",
    "job",
    "person",
    "lead_person",
    "lead_address",
    "customer_person",
)
NULL = r"\N"  # COPY text format; no generated value contains a tab, newline or backslash

PLACEHOLDER_PHONES = ("0000000000", "(123) 456-7890", "555-555-5555", "1111111111")
PLACEHOLDER_EMAILS = ("test@test.com", "noemail@gmail.com", "none@none.com", "n/a")

FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Edward",
    "Sharon", "Jason", "Laura", "Jeffrey", "Cynthia", "Ryan", "Kathleen", "Jacob", "Amy", "Gary",
    "Angela", "Nicholas", "Shirley", "Eric", "Anna", "Jonathan", "Brenda", "Stephen", "Pamela",
    "Larry", "Emma", "Justin", "Nicole", "Scott", "Helen", "Brandon", "Samantha", "Benjamin",
    "Katherine", "Samuel", "Christine", "Gregory", "Debra", "Alexander", "Rachel", "Frank",
    "Carolyn", "Raymond", "Janet", "Jose", "Maria", "Luis", "Sofia", "Juan", "Camila", "Wei",
    "Mei", "Minh", "Linh", "Aisha", "Omar", "Priya", "Raj", "Zoë", "José", "Renée", "Chloé",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "O'Brien", "O'Connor", "McDonald", "Van Dyke", "De la Cruz", "Müller", "Núñez", "Tran",
    "Le", "Chen", "Wang", "Singh", "Khan", "Ali", "Okafor", "Kowalski", "Nowak", "Schmidt",
)  # fmt: skip
City = tuple[str, str, int, str, float, float]  # name, state, zip prefix, area code, lat, lng
CITIES: tuple[City, ...] = (
    ("Springfield", "IL", 627, "217", 39.7817, -89.6501),
    ("Chicago", "IL", 606, "312", 41.8781, -87.6298),
    ("Houston", "TX", 770, "713", 29.7604, -95.3698),
    ("Dallas", "TX", 752, "214", 32.7767, -96.7970),
    ("Austin", "TX", 787, "512", 30.2672, -97.7431),
    ("Phoenix", "AZ", 850, "602", 33.4484, -112.0740),
    ("Denver", "CO", 802, "303", 39.7392, -104.9903),
    ("Atlanta", "GA", 303, "404", 33.7490, -84.3880),
    ("Miami", "FL", 331, "305", 25.7617, -80.1918),
    ("Orlando", "FL", 328, "407", 28.5383, -81.3792),
    ("Seattle", "WA", 981, "206", 47.6062, -122.3321),
    ("Portland", "OR", 972, "503", 45.5152, -122.6784),
    ("Boston", "MA", 21, "617", 42.3601, -71.0589),
    ("Columbus", "OH", 432, "614", 39.9612, -82.9988),
    ("Nashville", "TN", 372, "615", 36.1627, -86.7816),
    ("Charlotte", "NC", 282, "704", 35.2271, -80.8431),
    ("Minneapolis", "MN", 554, "612", 44.9778, -93.2650),
    ("Kansas City", "MO", 641, "816", 39.0997, -94.5786),
    ("Las Vegas", "NV", 891, "702", 36.1699, -115.1398),
    ("San Diego", "CA", 921, "619", 32.7157, -117.1611),
    ("Sacramento", "CA", 958, "916", 38.5816, -121.4944),
    ("Salt Lake City", "UT", 841, "801", 40.7608, -111.8910),
    ("Albuquerque", "NM", 871, "505", 35.0844, -106.6504),
    ("Omaha", "NE", 681, "402", 41.2565, -95.9345),
    ("Pittsburgh", "PA", 152, "412", 40.4406, -79.9959),
    ("Richmond", "VA", 232, "804", 37.5407, -77.4360),
)
STREETS = (
    "Oak", "Maple", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Main", "Park",
    "Sunset", "Lincoln", "Jefferson", "Highland", "Church", "Willow", "Meadow", "River",
    "Spring", "Ridge", "Walnut", "Chestnut", "Franklin", "Madison", "Forest", "Cherry",
    "1st", "2nd", "3rd", "5th", "Martin Luther King", "Old Mill",
)  # fmt: skip
# The USPS abbreviation of each suffix and its full word (a lead writes either).
SUFFIX_WORDS = {
    "St": "Street", "Ave": "Avenue", "Rd": "Road", "Blvd": "Boulevard", "Dr": "Drive",
    "Ln": "Lane", "Ct": "Court", "Way": "Way", "Pl": "Place", "Cir": "Circle",
    "Ter": "Terrace", "Pkwy": "Parkway",
}  # fmt: skip
STREET_SUFFIXES = tuple(SUFFIX_WORDS)
DIRECTION_WORDS = {"N": "North", "S": "South", "E": "East", "W": "West"}
DIRECTIONS = tuple(DIRECTION_WORDS)
# How a lead writes an apartment's unit (weights), and an office's suite.
APARTMENT_UNIT_FORMS = (("Apt {u}", 40), ("Apt. {u}", 15), ("#{u}", 25), ("Unit {u}", 15),
                        ("Apt #{u}", 5))  # fmt: skip
SUITE_UNIT_FORMS = (("Suite {u}", 50), ("Ste {u}", 30), ("Ste. {u}", 10), ("#{u}", 10))
OFFICE_BUILDINGS = 8  # office addresses many unrelated persons give (their workplace)
FREE_FORM_ADDRESSES = (
    "corner of 5th and main",
    "behind the walmart on {street}",
    "{street} {suffix} near the school",
    "the blue house on {street}",
    "same as last time",
    "{number} {street}",
    "off {street} by the gas station",
)
EMAIL_DOMAINS = (
    ("gmail.com", 40), ("yahoo.com", 14), ("hotmail.com", 10), ("outlook.com", 10),
    ("icloud.com", 8), ("aol.com", 4), ("comcast.net", 4), ("att.net", 3), ("msn.com", 2),
    ("protonmail.com", 2), ("live.com", 3),
)  # fmt: skip
ROLE_LOCAL_PARTS = ("info", "office", "contact", "admin", "sales", "hello")
BUSINESS_KINDS = ("plumbing", "roofing", "landscaping", "autobody", "construction",
                  "cleaning", "hvac", "electric", "dental", "bakery")  # fmt: skip
GMAIL_TAGS = ("quotes", "home", "spam", "work", "jobs", "2024")
JOB_STATUSES = (("completed", 5), ("booked", 3), ("cancelled", 2), ("tentative", 1))
NANP_FORMATS = (
    ("+1{area}{exch}{line}", 3), ("+1 ({area}) {exch}-{line}", 2), ("({area}) {exch}-{line}", 2),
    ("{area}-{exch}-{line}", 2), ("{area}.{exch}.{line}", 1), ("{area}{exch}{line}", 2),
    ("1-{area}-{exch}-{line}", 1), ("{area} {exch} {line}", 1),
)  # fmt: skip
EXTENSION_FORMATS = (" x{n}", " ext. {n}", " ext {n}")
INTERNATIONAL_FORMATS = {
    "44": ("+44 20 {a} {b}", "+44 (0)20 {a} {b}", "0044 20 {a}{b}", "+4420{a}{b}"),
    "52": ("+52 55 {a} {b}", "+52 1 55 {a} {b}", "+52 (55) {a}-{b}", "+5255{a}{b}"),
}

T = TypeVar("T")


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """Expand (value, weight) pairs so that `rng.choice` picks by weight."""
    return tuple(value for value, weight in pairs for _ in range(weight))


_DOMAIN_POOL = _weighted(EMAIL_DOMAINS)
_JOB_STATUS_POOL = _weighted(JOB_STATUSES)
_NANP_FORMAT_POOL = _weighted(NANP_FORMATS)
_APARTMENT_UNIT_POOL = _weighted(APARTMENT_UNIT_FORMS)
_SUITE_UNIT_POOL = _weighted(SUITE_UNIT_FORMS)


@dataclass(frozen=True)
class MessRates:
    """How often each kind of mess occurs. Rates are fractions of persons or of leads."""

    multi_lead_persons: float = 0.30  # persons with 2-5 leads (the rest have one)
    max_leads_per_person: int = 5
    messenger_persons: float = 0.50  # persons whose first lead came over Messenger (PSID)
    messenger_lead_phone: float = 0.30  # a Messenger lead also carries a phone
    messenger_lead_email: float = 0.55  # ... and an email
    sms_lead_email: float = 0.30  # an SMS lead also carries an email
    second_phone_persons: float = 0.10  # persons with a second number
    second_phone_use: float = 0.30  # an SMS lead of such a person comes from it
    email_persons: float = 0.75  # persons with an email address
    email_noise: float = 0.15  # an email written with case/whitespace noise
    gmail_variant: float = 0.15  # a gmail address written with dots changed or a +tag
    role_email_persons: float = 0.01  # persons using a role address (shared by 2-3 persons)
    international_persons: float = 0.01  # persons with a UK or Mexican number
    phone_extension: float = 0.03  # a phone written with an extension
    household_persons: float = 0.04  # persons sharing a phone with a household member
    placeholder_leads: float = 0.03  # leads with a placeholder phone or email
    empty_leads: float = 0.02  # leads with no PSID, phone or email
    address_leads: float = 0.60  # leads with an address
    address_case_variant: float = 0.12  # ... written in other casing
    address_free_form: float = 0.08  # ... free-form ("corner of 5th and main")
    # How a lead writes a real address (fractions of the leads with a non-free-form one).
    # Lead forms have one free-text field: people type the street line alone when the
    # business is local (the city is implied), leave the ZIP off often, and abbreviate as
    # they like. The rates are guesses in the range address-cleaning vendors report.
    address_street_only: float = 0.10  # "123 Main St Apt 4": no city, state nor ZIP
    address_without_zip: float = 0.15  # "123 Main St, Springfield, IL"
    suffix_full_word: float = 0.30  # "Street" rather than "St"
    direction_full_word: float = 0.30  # "North" rather than "N"
    abbreviation_period: float = 0.15  # "St." / "N." (of the abbreviations)
    unit_comma: float = 0.50  # "123 Main St, Apt 4" rather than "123 Main St Apt 4"
    unit_omitted: float = 0.20  # a unit's lead gives the building only ("123 Main St")
    # Where persons live (fractions of persons). About a third of US households rent,
    # most of those in buildings with several units; a quarter of streets carry a
    # direction prefix (N Main St and S Main St are different streets).
    directional_streets: float = 0.25  # addresses on a street with a direction prefix
    building_unit_persons: float = 0.20  # persons living in a unit of a building
    building_join: float = 0.80  # ... in a building other persons already live in
    max_building_units: int = 40
    # Persons living with another person at the same address, each with their own phone,
    # e-mail and PSID (besides household_persons, who share the phone too): the trap of
    # linking by address. Mostly family (same last name), sometimes roommates.
    address_household_persons: float = 0.12
    housemate_same_last_name: float = 0.80
    movers: float = 0.08  # multi-lead persons whose later leads give a new address
    mover_other_city: float = 0.30  # ... in another city
    # Addresses that are nobody's home: the staff typing the business's own address into
    # a lead (fraction of address leads), and persons giving their office building
    # (fraction of persons; each of their address leads gives it at office_address_use).
    business_address_leads: float = 0.008
    office_persons: float = 0.02
    office_address_use: float = 0.50
    psid_whitespace_persons: float = 0.01  # multi-lead Messenger persons with a ' psid' twin
    app_customer_persons: float = 0.05  # persons the app already made a Customer for
    app_duplicate_customer: float = 0.30  # ... and a second one later (the app's duplicate)
    app_customer_without_phone: float = 0.50  # ... whose first one has no phone (e-mail only)
    app_customer_lead_link: float = 0.60  # a lead of such a person has customer_id set
    app_customer_job_link: float = 0.85  # a job of a linked lead has customer_id set
    app_customer_unlinked_job_link: float = 0.10  # a job of an unlinked lead of such a person
    leads_with_jobs: float = 0.50
    second_job: float = 0.06  # a lead with a job has a second one


@dataclass
class GenerationSummary:
    """What `generate` wrote (counts), for printing and for tests."""

    seed: int = 0
    persons: int = 0
    leads: int = 0
    jobs: int = 0
    app_customers: int = 0
    app_duplicate_customers: int = 0  # persons with two app-made customers
    pre_linked_leads: int = 0
    pre_linked_jobs: int = 0
    placeholder_leads: int = 0
    household_phones: int = 0  # phone numbers shared by two persons of a household
    household_persons: int = 0
    multi_lead_persons: int = 0
    messenger_leads: int = 0
    sms_leads: int = 0
    empty_leads: int = 0
    international_persons: int = 0
    role_emails: int = 0  # distinct role addresses (info@...) handed out
    role_email_persons: int = 0
    psid_whitespace_leads: int = 0
    leads_with_address: int = 0
    households_sharing_address: int = 0  # pairs at one address with their own phones
    housemate_persons: int = 0
    movers: int = 0  # persons whose later leads give a new address
    buildings: int = 0  # buildings with units
    building_units: int = 0  # units handed out (persons living in a building)
    shared_addresses: int = 0  # non-home addresses (the business's, office buildings)
    shared_address_leads: int = 0  # leads giving one of them
    street_only_addresses: int = 0  # leads giving the street line alone
    addresses_without_zip: int = 0
    unit_omitted_leads: int = 0  # leads of a unit's resident giving the building only
    free_form_addresses: int = 0
    seconds: float = 0.0

    def format(self) -> str:
        width = max(len(f.name) for f in fields(self))
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            text = f"{value:.1f}" if isinstance(value, float) else f"{value:,}"
            lines.append(f"{f.name.ljust(width)}  {text}")
        return "\n".join(lines)


@dataclass(slots=True)
class Address:
    """One real place (the truth behind every way a lead writes it).

    `key` is what an address stage should reduce each written form to: upper case, the
    suffix and direction abbreviated, the unit after '#', then the ZIP
    ("123 N MAIN ST #4B 62704").
    """

    number: int
    direction: str  # "" or one of DIRECTIONS
    street: str
    suffix: str  # one of STREET_SUFFIXES (the abbreviation)
    unit: str  # "" or "4", "4B", "304"
    unit_forms: tuple[str, ...]  # how leads write the unit (_APARTMENT_UNIT_POOL or suites)
    city: str
    state: str
    zip_code: str
    lat: float
    lng: float
    kind: str  # home, unit (in a building), office, business
    key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        parts = [str(self.number), self.direction, self.street, self.suffix]
        if self.unit:
            parts.append(f"#{self.unit}")
        parts.append(self.zip_code)
        self.key = " ".join(part for part in parts if part).upper()


@dataclass(slots=True)
class _Building:
    """A building whose units several unrelated persons live in."""

    entrance: Address  # without unit
    unit_style: int  # 0: "4", 1: "304" (floor and number), 2: "4B"
    units_left: int
    taken: set[str]


@dataclass(slots=True)
class _Person:
    person_id: int
    household_id: int
    first: str
    last: str
    country: str  # "1" (NANP), "44" or "52"
    phone: str  # national digits
    second_phone: str | None
    email: str | None
    gmail: bool
    psid: str | None
    city: City
    home: Address
    office: Address | None = None  # an office building the person gives sometimes
    moved_to: Address | None = None  # the new home of a mover
    moved_at: int = 0  # the index of the mover's first lead at the new home
    customer_id: str | None = None
    duplicate_customer_id: str | None = None  # the app's second customer for the person
    duplicate_created_at: int = 0


def _mailbox(local: str, domain: str) -> str:
    """The mailbox an address reaches: gmail ignores dots, so no two persons differ by dots."""
    return f"{local.replace('.', '')}@{domain}" if domain == "gmail.com" else f"{local}@{domain}"


_UUID_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_V4 = (0x4000 << 64) | (0x8000 << 48)


def uuid4_text(bits: int) -> str:
    """`str(uuid.UUID(int=bits, version=4))`, several times faster."""
    h = f"{(bits & _UUID_KEEP) | _UUID_V4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_DAY_PREFIXES: dict[int, str] = {}
_TIMES_OF_DAY: list[str] = []


def _timestamp(epoch: int) -> str:
    """`epoch` as COPY text for timestamptz (UTC), from cached day and time-of-day strings."""
    if not _TIMES_OF_DAY:
        _TIMES_OF_DAY.extend(
            f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)
        )
    day, second = divmod(epoch, DAY)
    prefix = _DAY_PREFIXES.get(day)
    if prefix is None:
        prefix = _DAY_PREFIXES[day] = time.strftime("%Y-%m-%d ", time.gmtime(day * DAY))
    return prefix + _TIMES_OF_DAY[second]


def _n(value: object) -> object:
    """A nullable COPY field."""
    return NULL if value is None else value


class _Generator:
    """Makes persons and their rows; buffers rows per table until they are loaded.

    Draws go through `self.random()` (`pick`, `below`) rather than `choice`/`randrange`:
    the same determinism, several times less overhead per draw.
    """

    def __init__(self, rng: random.Random, rates: MessRates, address_rng: random.Random) -> None:
        self.rng = rng
        self.random = rng.random
        # Addresses draw from their own stream (`arandom`, `apick`, `abelow`): how they are
        # written can be tuned without changing anyone's phone, e-mail or PSID.
        self.arandom = address_rng.random
        self.rates = rates
        # the window the leads are created in (later changes move it past the first leads)
        self.start = START_EPOCH
        self.span = SPAN_SECONDS
        self.summary = GenerationSummary()
        self.next_person_id = 1
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.used_psids: set[str] = set()
        self.open_roles: list[tuple[str, int]] = []  # (role address, persons still to get it)
        self.rows: dict[str, list[str]] = {name: [] for name in COPY_ORDER}
        # A new person brings a partner (shared phone) or a housemate (own phone) so that
        # the two kinds of pairs make up their rates of all persons.
        paired = rates.household_persons + rates.address_household_persons
        self.household_spawn = rates.household_persons / (2 - paired)
        housemates = rates.address_household_persons / (2 - paired)
        self.housemate_spawn = housemates / (1 - self.household_spawn)
        self.buffered_leads = 0
        self.used_places: set[tuple[str, int, str, int, int]] = set()
        self.open_buildings: dict[str, list[_Building]] = {}
        self.shared_keys: set[str] = set()
        self.business = self._shared_place("business")
        offices = [self._shared_place("office") for _ in range(OFFICE_BUILDINGS)]
        # a few offices are big: the first is picked OFFICE_BUILDINGS times as often as the last
        self.office_pool = tuple(
            office for i, office in enumerate(offices) for _ in range(OFFICE_BUILDINGS - i)
        )

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.random() * len(options))]

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def apick(self, options: Sequence[T]) -> T:
        return options[int(self.arandom() * len(options))]

    def abelow(self, n: int) -> int:
        return int(self.arandom() * n)

    def uuid(self) -> str:
        return uuid4_text(self.rng.getrandbits(128))

    def take_rows(self) -> dict[str, list[str]]:
        """The buffered rows (per table), leaving the buffers empty."""
        rows = self.rows
        self.rows = {name: [] for name in COPY_ORDER}
        self.buffered_leads = 0
        return rows

    def run(self, leads: int) -> Iterator[int]:
        """Make persons until there are `leads` leads; yield the count after each chunk."""
        rates = self.rates
        remaining = leads
        while remaining > 0:
            for person in self.household():
                if remaining == 0:
                    break
                count = 1
                if self.random() < rates.multi_lead_persons:
                    count = 2 + self.below(rates.max_leads_per_person - 1)
                count = min(count, remaining)
                self.emit(person, count)
                remaining -= count
            if self.buffered_leads >= CHUNK_LEADS or remaining == 0:
                yield leads - remaining

    # -- persons ----------------------------------------------------------------------
    def household(self) -> list[_Person]:
        first = self._person(None)
        if self.random() < self.household_spawn:
            return [first, self._person(first, shares_phone=True)]
        if self.arandom() < self.housemate_spawn:
            return [first, self._person(first, shares_phone=False)]
        return [first]

    def _person(self, partner: _Person | None, shares_phone: bool = True) -> _Person:
        """A new person; with `partner`, one living at the partner's address (sharing the
        phone too, or with an own one)."""
        rates = self.rates
        person_id = self.next_person_id
        self.next_person_id += 1
        first = self.pick(FIRST_NAMES)
        if partner is None:
            last = self.pick(LAST_NAMES)
            city = self.pick(CITIES)
            country, phone = self._new_phone(city[3])
            home = self._home(city)
            household_id = person_id
        else:
            while first == partner.first:
                first = self.pick(FIRST_NAMES)
            city, home, household_id = partner.city, partner.home, partner.household_id
            if shares_phone:
                last, country, phone = partner.last, partner.country, partner.phone
                self.summary.household_phones += 1
                self.summary.household_persons += 2
            else:
                last = self._housemate_last_name(partner)
                country, phone = self._new_phone(city[3])
        second_phone = None
        if self.random() < rates.second_phone_persons:
            second_phone = self._new_phone(phone[:3], country="1")[1]
        if country != "1":
            self.summary.international_persons += 1
        email, gmail = self._email(first, last)
        psid = self._new_psid() if self.random() < rates.messenger_persons else None
        office = self.apick(self.office_pool) if self.arandom() < rates.office_persons else None
        return _Person(person_id, household_id, first, last, country, phone, second_phone,
                       email, gmail, psid, city, home, office)  # fmt: skip

    def _housemate_last_name(self, partner: _Person) -> str:
        """Family mostly shares the last name; roommates do not."""
        self.summary.households_sharing_address += 1
        self.summary.housemate_persons += 2
        if self.arandom() < self.rates.housemate_same_last_name:
            return partner.last
        return self.apick(LAST_NAMES)

    def _new_phone(self, local_area: str, country: str | None = None) -> tuple[str, str]:
        """A number nobody else has; NANP ones mostly in the area code of `local_area`."""
        if country is None:
            international = self.random() < self.rates.international_persons
            country = self.pick(("44", "52")) if international else "1"
        while True:
            if country == "1":
                area = local_area if self.random() < 0.8 else self._nanp_code()
                digits = f"{area}{self._nanp_code()}{self.below(10_000):04d}"
            else:
                digits = f"{'20' if country == '44' else '55'}{self.below(10**8):08d}"
            if country + digits not in self.used_phones:
                self.used_phones.add(country + digits)
                return country, digits

    def _nanp_code(self) -> str:
        """An area code or exchange: starts with 2-9, never N11 nor 555."""
        while True:
            code = str(200 + self.below(800))
            if code[1:] != "11" and code != "555":
                return code

    def _new_psid(self) -> str:
        while True:
            digits = 16 if self.random() < 0.7 else 17
            psid = str(self.rng.randrange(10 ** (digits - 1), 10**digits))
            if psid not in self.used_psids:
                self.used_psids.add(psid)
                return psid

    def _email(self, first: str, last: str) -> tuple[str | None, bool]:
        rates = self.rates
        x = self.random()
        if x < rates.role_email_persons:
            return self._role_email(last), False
        if x >= rates.role_email_persons + rates.email_persons:
            return None, False
        f = "".join(c for c in first.lower() if c.isascii() and c.isalpha()) or "user"
        last_part = "".join(c for c in last.lower() if c.isascii() and c.isalpha()) or "x"
        local = self.pick((f"{f}.{last_part}", f"{f}{last_part}", f"{f[0]}{last_part}",
                           f"{f}_{last_part}", f"{last_part}.{f}"))  # fmt: skip
        if self.random() < 0.6:
            local += str(1 + self.below(999))
        domain = self.pick(_DOMAIN_POOL)
        while _mailbox(local, domain) in self.used_emails:
            local += str(self.below(10))
        self.used_emails.add(_mailbox(local, domain))
        return f"{local}@{domain}", domain == "gmail.com"

    def _role_email(self, last: str) -> str:
        """A role address of a small business, handed to 2-3 different persons."""
        self.summary.role_email_persons += 1
        if self.open_roles:
            address, uses_left = self.open_roles.pop(0)
            if uses_left > 1:
                self.open_roles.insert(0, (address, uses_left - 1))
            return address
        business = "".join(c for c in last.lower() if c.isascii() and c.isalpha())
        kind = self.pick(BUSINESS_KINDS)
        address = f"{self.pick(ROLE_LOCAL_PARTS)}@{business}{kind}.com"
        while address in self.used_emails:
            address = address.replace("@", f"{self.below(10)}@", 1)
        self.used_emails.add(address)
        self.summary.role_emails += 1
        self.open_roles.append((address, 1 + self.below(2)))
        return address

    # -- places ------------------------------------------------------------------------
    def _place(self, city: City, kind: str) -> Address:
        """A number on a street of `city` that no other place has (two persons share an
        address only when this generator says so)."""
        rates = self.rates
        name, state, zip_prefix, _, lat, lng = city
        while True:
            number = 1 + self.abelow(9_999)
            street, suffix = self.abelow(len(STREETS)), self.abelow(len(STREET_SUFFIXES))
            direction = self.apick(DIRECTIONS) if self.arandom() < rates.directional_streets else ""
            spot = (name, number, direction, street, suffix)
            if spot not in self.used_places:
                self.used_places.add(spot)
                break
        # one ZIP per stretch of a street, as the post office draws them
        zip_code = f"{zip_prefix:03d}{(street * 7 + suffix * 13 + number // 2_500) % 100:02d}"
        return Address(number, direction, STREETS[street], STREET_SUFFIXES[suffix], "",
                       _APARTMENT_UNIT_POOL, name, state, zip_code,
                       lat + (self.arandom() - 0.5) * 0.16, lng + (self.arandom() - 0.5) * 0.16,
                       kind)  # fmt: skip

    def _home(self, city: City) -> Address:
        if self.arandom() < self.rates.building_unit_persons:
            return self._building_unit(city)
        return self._place(city, "home")

    def _building_unit(self, city: City) -> Address:
        """A free unit of a building in `city`: mostly one other persons already live in."""
        rates = self.rates
        open_here = self.open_buildings.setdefault(city[0], [])
        if open_here and self.arandom() < rates.building_join:
            building = open_here[self.abelow(len(open_here))]
        else:
            units = 2 + self.abelow(rates.max_building_units - 1)
            building = _Building(self._place(city, "unit"), self.abelow(3), units, set())
            open_here.append(building)
            self.summary.buildings += 1
        unit = self._unit_name(building.unit_style)
        while unit in building.taken:
            unit = self._unit_name(building.unit_style)
        building.taken.add(unit)
        building.units_left -= 1
        if building.units_left == 0:
            open_here.remove(building)
        self.summary.building_units += 1
        return replace(building.entrance, unit=unit)

    def _unit_name(self, style: int) -> str:
        """ "4" (1-60), "304" (floor 1-6, 12 per floor) or "4B" (48 of them): each style has
        more names than max_building_units."""
        if style == 0:
            return str(1 + self.abelow(60))
        if style == 1:
            return f"{1 + self.abelow(6)}{1 + self.abelow(12):02d}"
        return f"{1 + self.abelow(12)}{'ABCD'[self.abelow(4)]}"

    def _shared_place(self, kind: str) -> Address:
        """The business's own address or an office building: half of them with a suite."""
        entrance = self._place(self.apick(CITIES), kind)
        if self.arandom() < 0.5:
            return entrance
        return replace(entrance, unit=str(100 * (1 + self.abelow(9))), unit_forms=_SUITE_UNIT_POOL)

    def _move(self, person: _Person, lead_count: int) -> None:
        """The person's leads from a random later one on give a new home."""
        city = person.city
        if self.arandom() < self.rates.mover_other_city:
            city = self.apick(CITIES)
        person.moved_to = self._home(city)
        person.moved_at = 1 + self.abelow(lead_count - 1)
        self.summary.movers += 1

    # -- how a value is written on one lead --------------------------------------------
    @staticmethod
    def e164(country: str, digits: str) -> str:
        """The number as a carrier delivers an SMS sender and as the app stores it."""
        return f"+{country}{digits}"

    def phone_text(self, country: str, digits: str) -> str:
        """The number as a person types it (a Messenger lead's phone)."""
        if country != "1":
            template = self.pick(INTERNATIONAL_FORMATS[country])
            return template.format(a=digits[2:6], b=digits[6:])
        template = self.pick(_NANP_FORMAT_POOL)
        text = template.format(area=digits[:3], exch=digits[3:6], line=digits[6:])
        if self.random() < self.rates.phone_extension:
            text += self.pick(EXTENSION_FORMATS).format(n=1 + self.below(299))
        return text

    def email_text(self, person: _Person) -> str:
        email = str(person.email)
        if person.gmail and self.random() < self.rates.gmail_variant:
            local, domain = email.split("@")
            if self.random() < 0.5:
                local = f"{local}+{self.pick(GMAIL_TAGS)}"
            elif "." in local:
                local = local.replace(".", "")
            else:
                cut = 1 + self.below(len(local) - 1)
                local = f"{local[:cut]}.{local[cut:]}"
            email = f"{local}@{domain}"
        if self.random() < self.rates.email_noise:
            kind = self.below(4)
            if kind == 0:
                email = f"  {email} "
            elif kind == 1:
                local, domain = email.split("@")
                name, _, tld = domain.rpartition(".")
                titled = ".".join(part.capitalize() for part in local.split("."))
                email = f"{titled}@{name.capitalize()}.{tld.upper()}"
            elif kind == 2:
                email = email.upper()
            else:
                email = f"{email.capitalize()} "
        return email

    def name_text(self, person: _Person) -> str | None:
        x = self.random()
        if x < 0.70:
            return f"{person.first} {person.last}"
        if x < 0.80:
            return f"{person.first} {person.last}".lower()
        if x < 0.87:
            return f"{person.first} {person.last}".upper()
        if x < 0.93:
            return person.first
        if x < 0.96:
            return f"{person.first} {person.last} "
        return "" if x < 0.98 else None

    def address_text(
        self, person: _Person, index: int
    ) -> tuple[str | None, float | None, float | None, Address | None]:
        """The address on the person's lead number `index` (text, lat, lng), and the place
        it writes (None for free-form text, which names no place)."""
        rates, random_ = self.rates, self.arandom
        if random_() >= rates.address_leads:
            return None, None, None, None
        place = self._lead_place(person, index)
        lat = round(place.lat + (random_() - 0.5) * 0.0006, 6)
        lng = round(place.lng + (random_() - 0.5) * 0.0006, 6)
        x = random_()
        if x < rates.address_free_form:
            self.summary.free_form_addresses += 1
            text = self.apick(FREE_FORM_ADDRESSES).format(
                street=self.apick(STREETS).lower(),
                suffix=self.apick(STREET_SUFFIXES).lower(),
                number=1 + self.abelow(9_999),
            )
            if random_() < 0.5:  # geocoded roughly, or not at all
                return text, lat, lng, None
            return text, None, None, None
        text = self._written(place)
        if x < rates.address_free_form + rates.address_case_variant:
            text = text.upper() if random_() < 0.5 else text.lower()
        return text, lat, lng, place

    def _lead_place(self, person: _Person, index: int) -> Address:
        rates = self.rates
        if self.arandom() < rates.business_address_leads:
            return self.business
        if person.office is not None and self.arandom() < rates.office_address_use:
            return person.office
        if person.moved_to is not None and index >= person.moved_at:
            return person.moved_to
        return person.home

    def _written(self, place: Address) -> str:
        """The place as a person types it: street line, then maybe city and state, ZIP."""
        rates, s = self.rates, self.summary
        line = self._street_line(place)
        x = self.arandom()
        if x < rates.address_street_only:
            s.street_only_addresses += 1
            return line
        if x < rates.address_street_only + rates.address_without_zip:
            s.addresses_without_zip += 1
            return f"{line}, {place.city}, {place.state}"
        return f"{line}, {place.city}, {place.state} {place.zip_code}"

    def _street_line(self, place: Address) -> str:
        """ "123 N Main St Apt 4", with each part abbreviated or not, the unit maybe left off."""
        rates, random_ = self.rates, self.arandom
        suffix = place.suffix
        if random_() < rates.suffix_full_word:
            suffix = SUFFIX_WORDS[suffix]
        elif random_() < rates.abbreviation_period and SUFFIX_WORDS[suffix] != suffix:
            suffix += "."
        street = f"{place.street} {suffix}"
        if place.direction:
            direction = place.direction
            if random_() < rates.direction_full_word:
                direction = DIRECTION_WORDS[direction]
            elif random_() < rates.abbreviation_period:
                direction += "."
            street = f"{direction} {street}"
        line = f"{place.number} {street}"
        if not place.unit:
            return line
        if random_() < rates.unit_omitted:
            self.summary.unit_omitted_leads += 1
            return line
        separator = ", " if random_() < rates.unit_comma else " "
        return line + separator + self.apick(place.unit_forms).format(u=place.unit)

    # -- rows ---------------------------------------------------------------------------
    def emit(self, person: _Person, lead_count: int) -> None:
        rates, s = self.rates, self.summary
        s.persons += 1
        s.multi_lead_persons += lead_count > 1
        self.rows["person"].append(
            f"{person.person_id}\t{person.first}\t{person.last}\t{person.household_id}\t"
            f"{self.e164(person.country, person.phone)}\t{person.home.key}\n"
        )
        if lead_count > 1 and self.arandom() < rates.movers:
            self._move(person, lead_count)
        created = self.start + self.below(self.span - 30 * DAY)
        if self.random() < rates.app_customer_persons:
            self._emit_app_customer(person, created)
        whitespace_twin = (
            person.psid is not None
            and lead_count > 1
            and self.random() < rates.psid_whitespace_persons
        )
        for index in range(lead_count):
            if index:  # later leads follow after a few weeks, on average
                gap = int(self.rng.expovariate(1 / (40 * DAY)))
                created = min(created + gap, self.start + self.span)
            self._emit_lead(person, index, whitespace_twin, created)
        self.buffered_leads += lead_count

    def _emit_app_customer(self, person: _Person, first_lead_at: int) -> None:
        """The customer the app made for the person (phone in E.164, e-mail lowercased, as
        the app writes them); for some persons a second one later, the app's duplicate:
        its lookup by exact phone missed the first (which had no phone, or one written
        otherwise), so it made another."""
        rates = self.rates
        created = first_lead_at + 60 + self.below(3 * DAY)
        duplicate = self.random() < rates.app_duplicate_customer
        without_phone = duplicate and self.random() < rates.app_customer_without_phone
        person.customer_id = self._app_customer_row(person, created, with_phone=not without_phone)
        self.summary.app_customers += 1
        if duplicate:
            person.duplicate_created_at = created + 10 * DAY + self.below(110 * DAY)
            person.duplicate_customer_id = self._app_customer_row(
                person, person.duplicate_created_at, with_phone=True
            )
            self.summary.app_customers += 1
            self.summary.app_duplicate_customers += 1

    def _app_customer_row(self, person: _Person, created: int, with_phone: bool) -> str:
        customer_id = self.uuid()
        email = person.email.lower() if person.email and self.random() < 0.8 else None
        if not with_phone and email is None and person.email:
            email = person.email.lower()
        metadata = '{"source":"app"}' if self.random() < 0.5 else None
        name = self.name_text(person)
        phone = self.e164(person.country, person.phone) if with_phone else None
        updated = created + self.below(60 * DAY)
        self.rows["customer"].append(
            f"{customer_id}\t{_n(name)}\t{_n(phone)}\t{_n(email)}\t{_n(metadata)}\t"
            f"{_timestamp(created)}\t{_timestamp(updated)}\n"
        )
        self.rows["customer_person"].append(f"{customer_id}\t{person.person_id}\n")
        return customer_id

    def _emit_lead(self, person: _Person, index: int, whitespace_twin: bool, created: int) -> None:
        rates, s = self.rates, self.summary
        psid = phone = email = None
        if person.psid and (index == 0 or (index == 1 and whitespace_twin)):
            channel = "messenger"
            psid = person.psid
            if index == 1:
                psid = f" {psid}" if self.random() < 0.5 else f"{psid} "
            if self.random() < rates.messenger_lead_phone:
                phone = self.phone_text(person.country, person.phone)
            if person.email and self.random() < rates.messenger_lead_email:
                email = self.email_text(person)
        else:
            channel = "sms"
            country, digits = person.country, person.phone
            if person.second_phone and self.random() < rates.second_phone_use:
                country, digits = "1", person.second_phone
            phone = self.e164(country, digits)
            if person.email and self.random() < rates.sms_lead_email:
                email = self.email_text(person)
        x = self.random()
        if x < rates.empty_leads:
            psid = phone = email = None
            s.empty_leads += 1
        elif x < rates.empty_leads + rates.placeholder_leads:
            if self.random() < 0.6:
                phone = self.pick(PLACEHOLDER_PHONES)
            else:
                email = self.pick(PLACEHOLDER_EMAILS)
            s.placeholder_leads += 1
        s.psid_whitespace_leads += psid is not None and psid != person.psid
        if channel == "messenger":
            s.messenger_leads += 1
        else:
            s.sms_leads += 1
        address, lat, lng, place = self.address_text(person, index)
        s.leads_with_address += address is not None
        customer_id = None
        if person.customer_id and self.random() < rates.app_customer_lead_link:
            customer_id = person.customer_id
            if person.duplicate_customer_id and created >= person.duplicate_created_at:
                customer_id = person.duplicate_customer_id
            s.pre_linked_leads += 1
        lead_id = self.uuid()
        name = self.name_text(person)
        updated = created + self.below(20 * DAY)
        self.rows["lead"].append(
            f"{lead_id}\t{channel}\t{_n(name)}\t{_n(psid)}\t{_n(phone)}\t{_n(email)}\t"
            f"{_n(address)}\t{_n(lat)}\t{_n(lng)}\t{_n(customer_id)}\t"
            f"{_timestamp(created)}\t{_timestamp(updated)}\n"
        )
        self.rows["lead_person"].append(f"{lead_id}\t{person.person_id}\n")
        if place is not None:
            self._emit_lead_address(lead_id, place)
        s.leads += 1
        if self.random() < rates.leads_with_jobs:
            for _ in range(2 if self.random() < rates.second_job else 1):
                self._emit_job(person, lead_id, customer_id, created)

    def _emit_lead_address(self, lead_id: str, place: Address) -> None:
        self.rows["lead_address"].append(f"{lead_id}\t{place.key}\t{place.kind}\n")
        if place.kind in ("office", "business"):
            self.summary.shared_address_leads += 1
            if place.key not in self.shared_keys:
                self.shared_keys.add(place.key)
                self.summary.shared_addresses += 1

    def _emit_job(
        self, person: _Person, lead_id: str, lead_customer: str | None, lead_at: int
    ) -> None:
        rates, s = self.rates, self.summary
        created = lead_at + 600 + self.below(5 * DAY)
        midnight = created - created % DAY
        window_start = midnight + (1 + self.below(29)) * DAY + (8 + self.below(9)) * 3600
        window_end = window_start + (1 + self.below(4)) * 3600
        updated = max(window_end, created) + self.below(2 * DAY)
        customer_id = None
        if lead_customer and self.random() < rates.app_customer_job_link:
            customer_id = lead_customer
        elif person.customer_id and self.random() < rates.app_customer_unlinked_job_link:
            customer_id = person.customer_id
        s.pre_linked_jobs += customer_id is not None
        s.jobs += 1
        self.rows["job"].append(
            f"{self.uuid()}\t{lead_id}\t{self.pick(_JOB_STATUS_POOL)}\t{_timestamp(window_start)}\t"
            f"{_timestamp(window_end)}\t{_n(customer_id)}\t{_timestamp(created)}\t"
            f"{_timestamp(updated)}\n"
        )


def _copy_targets(app: AppSchema) -> dict[str, str]:
    s = f'"{app.schema}"'
    return {  # in load order: customers before the leads and jobs that point at them
        "customer": f'{s}."Customer" (id, name, phone, email, metadata, created_at, updated_at)',
        "lead": (
            f'{s}."Lead" (id, channel, name, "{app.psid_column}", phone, email, address, '
            "lat, lng, customer_id, created_at, updated_at)"
        ),
        "job": (
            f'{s}."Job" (id, lead_id, status, window_start, window_end, customer_id, '
            "created_at, updated_at)"
        ),
        "person": (
            f"{TRUTH_SCHEMA}.person "
            "(person_id, first_name, last_name, household_id, phone_e164, address_key)"
        ),
        "lead_person": f"{TRUTH_SCHEMA}.lead_person (lead_id, person_id)",
        "lead_address": f"{TRUTH_SCHEMA}.lead_address (lead_id, address_key, address_kind)",
        "customer_person": f"{TRUTH_SCHEMA}.customer_person (customer_id, person_id)",
    }


TRUTH_DDL = f"""
drop schema if exists {TRUTH_SCHEMA} cascade;
create schema {TRUTH_SCHEMA};
comment on schema {TRUTH_SCHEMA} is
    'Ground truth of the synthetic app data: which real person each lead came from.';
create table {TRUTH_SCHEMA}.person (
    person_id bigint not null,
    first_name text not null,
    last_name text not null,
    household_id bigint not null,
    phone_e164 text not null,
    address_key text not null
);
comment on column {TRUTH_SCHEMA}.person.address_key is
    'The home at the first lead, as an address key (123 N MAIN ST #4B 62704).';
create table {TRUTH_SCHEMA}.lead_person (lead_id uuid not null, person_id bigint not null);
create table {TRUTH_SCHEMA}.lead_address (
    lead_id uuid not null,
    address_key text not null,
    address_kind text not null
);
comment on table {TRUTH_SCHEMA}.lead_address is
    'The place each lead address writes (none for free-form text): its key, and whether it is '
    'a home, a unit in a building, an office building or the business''s own address.';
create table {TRUTH_SCHEMA}.customer_person (customer_id uuid not null, person_id bigint not null);
create table {TRUTH_SCHEMA}.generation (
    seed bigint not null,
    leads bigint not null,
    app_schema text not null,
    psid_column text not null,
    rates jsonb not null
);
"""
TRUTH_KEYS = f"""
alter table {TRUTH_SCHEMA}.person add primary key (person_id);
alter table {TRUTH_SCHEMA}.lead_person add primary key (lead_id);
alter table {TRUTH_SCHEMA}.lead_address add primary key (lead_id);
create index on {TRUTH_SCHEMA}.lead_address (address_key);
alter table {TRUTH_SCHEMA}.customer_person add primary key (customer_id);
create index on {TRUTH_SCHEMA}.lead_person (person_id);
"""


def _copy_chunk(
    cur: psycopg2.extensions.cursor, targets: dict[str, str], rows: dict[str, list[str]]
) -> None:
    for name in COPY_ORDER:
        if rows[name]:
            data = io.StringIO("".join(rows[name]))
            cur.copy_expert(f"copy {targets[name]} from stdin", data, size=1 << 20)


def reset_app_tables(conn: psycopg2.extensions.connection, app: AppSchema) -> None:
    """Empty every app table (one TRUNCATE, so the foreign keys among them are fine)."""
    tables = ", ".join(f'"{app.schema}"."{table}"' for table in ALL_APP_TABLES)
    with conn.cursor() as cur:
        cur.execute(f"truncate table {tables}")
    conn.commit()


def _app_tables_empty(conn: psycopg2.extensions.connection, app: AppSchema) -> bool:
    s = f'"{app.schema}"'
    with conn.cursor() as cur:
        cur.execute(
            f'select not exists (select 1 from {s}."Lead") and not exists '
            f'(select 1 from {s}."Customer") and not exists (select 1 from {s}."Job")'
        )
        row = cur.fetchone()
    return bool(row and row[0])


def generate(
    conn: psycopg2.extensions.connection,
    app: AppSchema,
    leads: int,
    seed: int = 7,
    progress: bool = False,
    rates: MessRates | None = None,
    reset: bool = False,
) -> GenerationSummary:
    """Fill the (empty) app tables with `leads` labeled leads, and rewrite `backfill_truth`.

    All of it happens in one transaction. `reset=True` empties the app tables first.
    """
    if leads < 0:
        raise ValueError("leads must be >= 0")
    rates = rates or MessRates()
    started = time.monotonic()
    if reset:
        reset_app_tables(conn, app)
    if not _app_tables_empty(conn, app):
        raise ValueError(
            f'the app tables in schema "{app.schema}" are not empty: reset them first '
            "(generate(..., reset=True) or `backfill-dev generate --reset`)"
        )
    gen = _Generator(random.Random(seed), rates, random.Random(f"addresses {seed}"))
    targets = _copy_targets(app)
    # Python makes the next chunk while PostgreSQL loads the previous one (the COPY runs in
    # a thread: psycopg2 releases the GIL while libpq sends and waits).
    try:
        with conn.cursor() as cur, ThreadPoolExecutor(max_workers=1) as loader:
            cur.execute("set local synchronous_commit = off")
            cur.execute(TRUTH_DDL)
            cur.execute(
                f"insert into {TRUTH_SCHEMA}.generation values (%s, %s, %s, %s, %s)",
                (seed, leads, app.schema, app.psid_column, json.dumps(asdict(rates))),
            )
            loading: Future[None] | None = None
            next_report = PROGRESS_EVERY
            for made in gen.run(leads):
                chunk = gen.take_rows()
                if loading is not None:
                    loading.result()
                loading = loader.submit(_copy_chunk, cur, targets, chunk)
                if progress and (made >= next_report or made == leads):
                    elapsed = time.monotonic() - started
                    print(
                        f"generate: {made:,} / {leads:,} leads ({elapsed:.1f} s)", file=sys.stderr
                    )
                    next_report = (made // PROGRESS_EVERY + 1) * PROGRESS_EVERY
            if loading is not None:
                loading.result()
            cur.execute(TRUTH_KEYS)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    with conn.cursor() as cur:
        for table in ("Customer", "Lead", "Job"):
            cur.execute(f'analyze "{app.schema}"."{table}"')
        cur.execute(f"analyze {TRUTH_SCHEMA}.lead_person, {TRUTH_SCHEMA}.person")
    conn.commit()
    gen.summary.seed = seed
    gen.summary.seconds = time.monotonic() - started
    return gen.summary


def generate_database(
    server: Server, name: str, app: AppSchema, leads: int, seed: int = 7, progress: bool = False
) -> GenerationSummary:
    """A new database `name` on `server` (an earlier one of that name dropped) holding the
    app tables and `leads` generated leads: the template the harnesses and benchmarks copy."""
    server.recreate(name)
    with server.connection(name) as conn:
        app.create(conn)
        return generate(conn, app, leads, seed=seed, progress=progress)
