"""Splink (DuckDB backend) as a peer of the project's groupings in `backfill-dev quality`.

Two rows of the same table, on the same labeled leads, scored by the same SQL
(`score(..., clusters=...)`):

* **Splink deterministic**: leads that share a PSID, a phone or an e-mail are linked
  (Splink's `deterministic_link` with one blocking rule each), then connected components.
* **Splink probabilistic, tuned**: Fellegi-Sunter comparisons on first name, last name,
  phone, e-mail, PSID and address, term frequency adjustments off. The u of an exact
  phone, e-mail, PSID or address match is fixed at 1 / leads: Splink's own estimate (random
  pairs) is several times higher on data this dense, which under-weights exactly the
  agreements that identify a person. The name u's come from random sampling, every m
  from expectation maximisation; leads are clustered at `PROBABILISTIC_THRESHOLD`.

A fair peer gets fair inputs: both read the leads from the labeled template database
before any dbt run, normalize them here as the project's staging does (phone = its 10
national digits, e-mail lowercased with gmail's dots and +tags removed, names lowercased,
addresses with their suffixes and directions folded) and screen placeholders as the
project does (its junk patterns, roughly, and `MAX_LEADS_PER_VALUE`): a screened value is
null and links nothing.

Splink is a development dependency only (the `peer` extra): `ensure_splink` installs it
into the running interpreter's environment the first time it is needed.
"""

from __future__ import annotations

import importlib
import io
import logging
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import psycopg2.extensions

from backfill_tools.db.appdb import AppSchema
from backfill_tools.quality.score import Scores, score

if TYPE_CHECKING:
    from splink import Linker

SPLINK_REQUIREMENT = "splink>=5,<6"
# The project's default var identity_max_leads_per_value: a value carried by more leads is
# a suspected placeholder.
MAX_LEADS_PER_VALUE = 25
# Tuned on `quality --leads 20000` and 100000 (seed 7), then kept fixed: 0.5 had the best F1
# at 20k, but at 100k pairs between 0.5 and 0.7 chained households into clusters of 60
# leads (precision 0.87); 0.9 kept precision near 0.98 at both sizes.
PROBABILISTIC_THRESHOLD = 0.9
# Predictions below this are not kept (clustering needs only those at the threshold).
PREDICT_FLOOR = 0.01
CLUSTER_TABLE = "pg_temp.peer_clusters"

# -- normalization ------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_PLACEHOLDER_LOCAL_PARTS = frozenset((
    "test", "testing", "tester", "test123", "noemail", "no-email", "no_email", "nomail",
    "no-mail", "none", "no", "na", "n.a", "null", "nil", "unknown", "fake", "dummy", "sample",
    "example", "asdf", "qwerty", "abc", "abc123", "nobody", "noone", "no-one", "donotemail",
    "email", "youremail", "your.email", "someone", "anonymous", "void", "invalid", "xx", "xxx",
    "xxxx",
))  # fmt: skip
_PLACEHOLDER_DOMAINS = frozenset((
    "example.com", "example.org", "example.net", "test.com", "domain.com", "email.invalid",
    "noemail.com", "none.com", "nomail.com", "fake.com", "mailinator.com", "yopmail.com",
))  # fmt: skip
_ROLE_LOCAL_PARTS = frozenset((
    "info", "office", "contact", "admin", "administrator", "sales", "support", "hello", "team",
    "billing", "accounts", "accounting", "service", "help", "enquiries", "inquiries", "mail",
    "frontdesk", "reception", "marketing", "jobs", "careers", "hr", "webmaster", "postmaster",
    "hostmaster", "abuse", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
    "orders", "booking", "bookings", "reservations", "office.manager", "staff", "management",
))  # fmt: skip
_PLACEHOLDER_PSIDS = frozenset((
    "null", "none", "undefined", "nan", "n/a", "na", "unknown", "test", "-1",
))  # fmt: skip
_ADDRESS_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd",
    "drive": "dr", "lane": "ln", "court": "ct", "place": "pl", "highway": "hwy",
    "parkway": "pkwy", "circle": "cir", "terrace": "ter", "north": "n", "south": "s",
    "east": "e", "west": "w", "northeast": "ne", "northwest": "nw", "southeast": "se",
    "southwest": "sw", "apartment": "unit", "apt": "unit", "suite": "unit", "ste": "unit",
    "unit": "unit", "#": "unit",
}  # fmt: skip
_UNIT = re.compile(
    r"(?:\b(?:apartment|apt|unit|suite|ste)\b\.?|#)\s*#?\s*([a-z0-9]+(?:-[a-z0-9]+)?)"
)
_TITLES = frozenset((
    "mr", "mrs", "ms", "miss", "mx", "dr",
))  # fmt: skip


def _one_character_repeated(value: str, min_length: int) -> bool:
    return len(value) >= min_length and value == value[0] * len(value)


def _sequential_digits(digits: str) -> bool:
    return len(digits) >= 7 and (
        digits in "01234567890123456789" or digits in "98765432109876543210"
    )


def phone_is_junk(phone: str) -> bool:
    """The project's phone patterns (identifier_rejection_reason), for digits or +digits."""
    digits = phone.lstrip("+")
    if _one_character_repeated(digits, 2) or _sequential_digits(digits):
        return True
    if phone.startswith("+"):
        return digits.startswith("0")
    return (
        digits[0] in "01"
        or (digits[1:3] == "11")
        or digits[3] in "01"
        or digits[4:6] == "11"
        or (digits[3:6] == "555" and digits[6:8] == "01")
    )


def normalize_phone(raw: str | None) -> str | None:
    """A North American number's 10 digits, another number's +digits, else None."""
    if not raw:
        raw = ""
    text = re.sub(r"\s*(ext\.?|x|#)\s*\d{1,6}\s*$", "", raw, flags=re.IGNORECASE)
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits.startswith("1"):
        phone = digits[1:]
    elif len(digits) == 10:
        phone = digits
    elif 8 <= len(digits) <= 15 and text.strip().startswith(("+", "00", "011")):
        phone = "+" + digits.removeprefix("011").removeprefix("00")
    else:
        return None
    return None if phone_is_junk(phone) else phone


def normalize_email(raw: str | None) -> str | None:
    """Lowercased and trimmed; gmail's dots and +tags removed; placeholders and role
    addresses (they never link in the project either) are None."""
    email = (raw or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        return None
    local, _, domain = email.rpartition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.split("+", 1)[0].replace(".", ""), "gmail.com"
    if (
        local in _PLACEHOLDER_LOCAL_PARTS
        or local in _ROLE_LOCAL_PARTS
        or _one_character_repeated(local, 3)
        or domain in _PLACEHOLDER_DOMAINS
        or re.search(r"\.(test|example|invalid|localhost)$", domain)
    ):
        return None
    return f"{local}@{domain}"


def normalize_psid(raw: str | None) -> str | None:
    psid = (raw or "").strip()
    if not psid or psid.lower() in _PLACEHOLDER_PSIDS:
        return None
    return None if psid.isdigit() and _one_character_repeated(psid, 1) else psid


def split_name(raw: str | None) -> tuple[str | None, str | None]:
    """(first, last) name, lowercased, titles dropped; a single word is a first name."""
    words = [w for w in re.sub(r"[^\w' -]+", " ", (raw or "").lower()).split()]
    while words and words[0].rstrip(".") in _TITLES:
        words.pop(0)
    if not words:
        return None, None
    return words[0], (" ".join(words[1:]) or None)


def normalize_address(raw: str | None) -> str | None:
    """The street line with its unit, suffixes and directions folded ("123 n main st unit 4"):
    what the project's address keys compare before the ZIP or city, so that a lead with and
    one without ZIP can agree. None when it does not start with a house number."""
    text = (raw or "").lower()
    unit_match = _UNIT.search(text)
    street = _UNIT.sub(" ", text).split(",")[0]
    words = [_ADDRESS_WORDS.get(word, word) for word in re.findall(r"[a-z0-9]+", street)]
    if len(words) < 2 or not words[0][0].isdigit():
        return None
    if unit_match:
        words += ["unit", unit_match.group(1).replace("-", "")]
    return " ".join(words)


def address_city(raw: str | None) -> str | None:
    """The city of a postal address ("9808 Highland Ct, Kansas City, MO 64108"), else None."""
    parts = [part.strip().lower() for part in (raw or "").split(",")]
    return parts[-2] or None if len(parts) >= 3 else None


# -- the leads ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerLead:
    """One lead as Splink sees it: normalized, screened values (None links nothing)."""

    unique_id: str
    first_name: str | None
    last_name: str | None
    psid: str | None
    phone: str | None
    email: str | None
    address: str | None
    city: str | None


IDENTIFIERS = ("psid", "phone", "email")


def read_leads(conn: psycopg2.extensions.connection, app: AppSchema) -> list[PeerLead]:
    """Every lead of the app's `Lead` table, normalized (not yet screened by count)."""
    with conn.cursor() as cur:
        cur.execute(
            f'select id::text, name, "{app.psid_column}", phone, email, address'
            f' from "{app.schema}"."Lead" order by id'
        )
        rows = cur.fetchall()
    conn.rollback()
    return [
        PeerLead(
            lead_id,
            *split_name(name),
            normalize_psid(psid),
            normalize_phone(phone),
            normalize_email(email),
            normalize_address(address),
            address_city(address),
        )
        for lead_id, name, psid, phone, email, address in rows
    ]


def screen(leads: Sequence[PeerLead], cap: int = MAX_LEADS_PER_VALUE) -> list[PeerLead]:
    """Null a PSID, phone, e-mail or address carried by more than `cap` leads."""
    columns = (*IDENTIFIERS, "address")
    counts = {column: Counter(getattr(lead, column) for lead in leads) for column in columns}
    crowded = {
        column: {value for value, n in counts[column].items() if value and n > cap}
        for column in columns
    }
    if not any(crowded.values()):
        return list(leads)
    return [
        replace(lead, **{c: None for c in columns if getattr(lead, c) in crowded[c]})
        for lead in leads
    ]


def as_columns(leads: Sequence[PeerLead]) -> dict[str, list[str | None]]:
    """The leads as columns (Splink registers a dict of lists as a pyarrow table)."""
    return {f.name: [getattr(lead, f.name) for lead in leads] for f in fields(PeerLead)}


# -- Splink -------------------------------------------------------------------------------------
def ensure_splink() -> None:
    """Import Splink, installing it into this environment first if it is missing."""
    try:
        importlib.import_module("splink")
    except ImportError:
        print(
            f"quality: Splink is not installed; installing {SPLINK_REQUIREMENT!r} into"
            f" {sys.prefix} (a development dependency, once; --no-peer skips it)",
            flush=True,
        )
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
             SPLINK_REQUIREMENT],
            check=True,
        )  # fmt: skip
        importlib.invalidate_caches()
        importlib.import_module("splink")


def _linker(columns: dict[str, list[str | None]], settings: Any) -> Linker:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    # ERROR: its warnings (levels EM cannot train on this data, names that never differ
    # within a phone's leads) would bury the table
    return Linker(db_api.register(columns), settings, log_level=logging.ERROR)


def deterministic_clusters(columns: dict[str, list[str | None]]) -> list[tuple[str, str]]:
    """(lead id, cluster id): leads sharing a PSID, phone or e-mail, transitively."""
    from splink import SettingsCreator, block_on

    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on(c) for c in IDENTIFIERS],
    )
    linker = _linker(columns, settings)
    pairs = linker.inference.deterministic_link()
    return _cluster_rows(linker.clustering.cluster_pairwise_predictions_at_threshold(pairs))


def _exact_comparison(column: str, u_match: float) -> Any:
    """Null / exact match (u fixed at `u_match`) / else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(u_probability=u_match, fix_u_probability=True),
            cll.ElseLevel(),
        ],
    )


def probabilistic_settings(leads: int) -> Any:
    """The tuned model: names by Jaro-Winkler, identifiers and address exact."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    u_match = 1 / max(leads, 2)
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=False),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=False),
            *(_exact_comparison(column, u_match) for column in (*IDENTIFIERS, "address")),
        ],
        blocking_rules_to_generate_predictions=[
            *(block_on(column) for column in (*IDENTIFIERS, "address")),
            block_on("first_name", "last_name", "city"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def train(linker: Linker) -> None:
    """The prior from the deterministic rules, name u's by sampling, m's by EM."""
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on(column) for column in IDENTIFIERS], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    for column in ("phone", "email"):
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(column))


def probabilistic_predictions(columns: dict[str, list[str | None]]) -> tuple[Linker, Any]:
    """The trained linker and its pairwise predictions (match probability >= the floor)."""
    linker = _linker(columns, probabilistic_settings(len(columns["unique_id"])))
    train(linker)
    return linker, linker.inference.predict(threshold_match_probability=PREDICT_FLOOR)


def clusters_at(linker: Linker, predictions: Any, threshold: float) -> list[tuple[str, str]]:
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    return _cluster_rows(clustered)


def _cluster_rows(clustered: Any) -> list[tuple[str, str]]:
    table = clustered.as_pyarrow_table()
    return list(
        zip(
            table.column("unique_id").to_pylist(),
            table.column("cluster_id").to_pylist(),
            strict=True,
        )
    )


# -- scoring ------------------------------------------------------------------------------------
def score_clusters(
    conn: psycopg2.extensions.connection, app: AppSchema, rows: Iterable[tuple[str, str]]
) -> Scores:
    """Score (lead id, cluster id) rows with the project's scorer (a temporary table)."""
    buffer = io.StringIO("".join(f"{lead}\t{cluster}\n" for lead, cluster in rows))
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {CLUSTER_TABLE}")
        cur.execute(f"create temporary table {CLUSTER_TABLE} (lead_id uuid, cluster_id text)")
        cur.copy_expert(f"copy {CLUSTER_TABLE} from stdin", buffer)
    try:
        return score(conn, app, clusters=CLUSTER_TABLE)
    finally:
        conn.rollback()


@dataclass(frozen=True)
class PeerOutcome:
    """One peer row: its scores and Splink's wall time (reading, normalizing included)."""

    label: str
    scores: Scores
    seconds: float


def _timed(
    prepare: Callable[[], dict[str, list[str | None]]],
    link: Callable[[dict[str, list[str | None]]], list[tuple[str, str]]],
) -> tuple[list[tuple[str, str]], float]:
    started = time.monotonic()
    rows = link(prepare())
    return rows, time.monotonic() - started


def run_peers(conn: psycopg2.extensions.connection, app: AppSchema) -> list[PeerOutcome]:
    """Both Splink rows on the leads of `conn`'s database (which is only read)."""
    ensure_splink()

    def prepare() -> dict[str, list[str | None]]:
        return as_columns(screen(read_leads(conn, app)))

    def probabilistic(columns: dict[str, list[str | None]]) -> list[tuple[str, str]]:
        linker, predictions = probabilistic_predictions(columns)
        return clusters_at(linker, predictions, PROBABILISTIC_THRESHOLD)

    outcomes = []
    for label, link in (
        ("Splink deterministic", deterministic_clusters),
        (f"Splink probabilistic, tuned (p >= {PROBABILISTIC_THRESHOLD})", probabilistic),
    ):
        print(f"quality: {label} ...", flush=True)
        rows, seconds = _timed(prepare, link)
        outcomes.append(PeerOutcome(label, score_clusters(conn, app, rows), seconds))
    return outcomes


def threshold_sweep(
    conn: psycopg2.extensions.connection, app: AppSchema, thresholds: Sequence[float]
) -> list[tuple[float, Scores]]:
    """The probabilistic model's scores at several thresholds (one training, one predict)."""
    ensure_splink()
    linker, predictions = probabilistic_predictions(as_columns(screen(read_leads(conn, app))))
    return [(t, score_clusters(conn, app, clusters_at(linker, predictions, t))) for t in thresholds]
