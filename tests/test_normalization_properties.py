"""Property-based tests of the normalization macros, run for real in PostgreSQL.

The SQL comes from the project's macros: `dbt compile --inline` renders each macro once
(applied to the column `input.value`), and every Hypothesis example (a list of inputs)
runs through the rendered expression in one statement. Properties: the macros never
raise, give a value of the documented shape, are idempotent (normalizing twice changes
nothing) and are insensitive to the formatting of equivalent inputs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2.extensions
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backfill_tools.db.appdb import connect
from backfill_tools.dbtrun import DbtProject

MACROS = (
    "clean_text",
    "clean_any_text",
    "normalize_psid",
    "normalize_phone",
    "normalize_email",
    "normalize_person_name",
    "normalize_address",
)
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text PostgreSQL can store (it has no NUL character), including every plane.
any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)
inputs = st.lists(any_text, min_size=1, max_size=40)


@pytest.fixture(scope="module")
def expressions(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The real macros rendered by dbt, applied to `input.value`."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(name)
    project = DbtProject(
        env=pg_server.libpq_env(database=name), work_dir=tmp_path_factory.mktemp("render")
    )
    calls = ", ".join(f"'{macro}': {macro}('input.value')" for macro in MACROS)
    rendered = project.run("compile", "--quiet", "--inline", f"{{{{ tojson({{{calls}}}) }}}}")
    yield json.loads(rendered.stdout.strip().splitlines()[-1])
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def database(pg_server) -> Iterator[psycopg2.extensions.connection]:
    conn = connect(pg_server.libpq_env(database="postgres"))
    conn.autocommit = True
    yield conn
    conn.close()


def apply(
    conn: psycopg2.extensions.connection, expression: str, values: list[str | None]
) -> list[str | None]:
    """The expression applied to each value, in order, in one statement."""
    with conn.cursor() as cur:
        cur.execute(
            f"select {expression} from unnest(%s::text[]) with ordinality as input(value, position)"
            " order by input.position",
            (values,),
        )
        return [row[0] for row in cur.fetchall()]


def test_the_expressions_are_the_project_macros(expressions: dict[str, str]) -> None:
    source = Path("macros/normalization/normalize_phone.sql").read_text()
    assert "input.value" in expressions["normalize_phone"]
    # the rendered SQL carries the macro's own regular expression, not a copy of it
    extension = re.search(r"'(\\s\*\[,;\]\?[^']*)'", source)
    assert extension and extension.group(1) in expressions["normalize_phone"]


# -- never raises, and the output has the documented shape ------------------------------------
PHONE_SHAPE = re.compile(r"^(?:[0-9]{10}|\+[0-9]{8,15})$")


@PROPERTY_SETTINGS
@given(values=inputs)
def test_no_input_makes_a_macro_fail_and_outputs_have_their_shape(
    expressions: dict[str, str], database: psycopg2.extensions.connection, values: list[str]
) -> None:
    for macro in MACROS:
        outputs = apply(database, expressions[macro], values)
        assert len(outputs) == len(values)
    for phone in apply(database, expressions["normalize_phone"], values):
        assert phone is None or PHONE_SHAPE.match(phone), phone
    for email in apply(database, expressions["normalize_email"], values):
        if email is not None:
            assert email.count("@") == 1 and len(email) <= 254
            assert not re.search(r"\s", email) and email == email.strip()
    for psid in apply(database, expressions["normalize_psid"], values):
        assert psid is None or (0 < len(psid) <= 255 and psid == psid.strip())
    for cleaned in apply(database, expressions["clean_text"], values):
        assert cleaned is None or (cleaned == cleaned.strip(" ") and "  " not in cleaned)


@settings(PROPERTY_SETTINGS, max_examples=8)
@given(piece=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
                     min_size=1, max_size=8),
       repeat=st.integers(min_value=2_000, max_value=130_000))  # fmt: skip
def test_huge_values_do_not_make_a_macro_fail(
    expressions: dict[str, str], database: psycopg2.extensions.connection, piece: str,
    repeat: int,
) -> None:  # fmt: skip
    huge = piece * repeat  # 2 KB to 1 MB characters
    for macro in MACROS:
        (output,) = apply(database, expressions[macro], [huge])
        if macro in ("normalize_phone", "normalize_email", "normalize_psid"):
            assert output is None or len(output) <= 255


# -- idempotent ---------------------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(values=inputs)
def test_normalizing_twice_changes_nothing(
    expressions: dict[str, str], database: psycopg2.extensions.connection, values: list[str]
) -> None:
    for macro in MACROS:
        once = apply(database, expressions[macro], values)
        twice = apply(database, expressions[macro], once)
        assert twice == once, macro


# -- insensitive to the formatting of equivalent inputs -----------------------------------------
SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u202f", "\u3000", "\u2009"]
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202c"]
DIGIT_ZEROS = [ord("0"), 0xFF10, 0x0660, 0x06F0, 0x0966]


def in_script(zero: int, text: str) -> str:
    return "".join(chr(zero + int(char)) if char.isdigit() else char for char in text)


@st.composite
def nanp_phones(draw: st.DrawFn) -> tuple[str, str]:
    """(10 national digits, one way a person could write that number)."""
    area = draw(st.from_regex(r"[2-9][0-9]{2}", fullmatch=True))
    exchange = draw(st.from_regex(r"[2-9][0-9]{2}", fullmatch=True))
    line = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    separator = draw(st.sampled_from(["", " ", "-", ".", "/", "\u00a0", "\u200b", "\u3000", " - "]))
    area_text = f"({area})" if draw(st.booleans()) else area
    prefix = draw(st.sampled_from(["", "1", "1 ", "1-", "+1", "+1 ", "+1-", "\uff0b1 "]))
    extension = draw(st.sampled_from(["", " x12", " ext. 7", " #123", ", ext 456", " X 9"]))
    text = f"{prefix}{area_text}{separator}{exchange}{separator}{line}"
    text = in_script(draw(st.sampled_from(DIGIT_ZEROS)), text) + extension
    before = draw(st.sampled_from(["", *SPACES, *INVISIBLES]))
    after = draw(st.sampled_from(["", *SPACES, *INVISIBLES]))
    return f"{area}{exchange}{line}", before + text + after


@st.composite
def international_phones(draw: st.DrawFn) -> tuple[str, str]:
    country = draw(st.sampled_from(["44", "49", "33", "61", "81", "34", "39", "86"]))
    subscriber = draw(st.from_regex(r"[1-9][0-9]{7,10}", fullmatch=True))
    prefix = draw(st.sampled_from(["+", "+ ", "011 ", "011", "\uff0b"]))
    separator = draw(st.sampled_from(["", " ", "-", ".", "\u00a0"]))
    parts = [subscriber[:2], subscriber[2:6], subscriber[6:]]
    text = f"{prefix}{country}{separator}{separator.join(parts)}"
    return f"+{country}{subscriber}", draw(st.sampled_from(["", *SPACES])) + text


def with_invisibles(draw: st.DrawFn, text: str) -> str:
    """`text` with invisible characters at a few random places."""
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(st.sampled_from(INVISIBLES)) + text[at:]
    return text


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, str]:
    local = draw(st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True))
    labels = draw(st.lists(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), min_size=1,
                           max_size=3))  # fmt: skip
    tld = draw(st.from_regex(r"[a-z]{2,6}", fullmatch=True))
    canonical = f"{local}@{'.'.join(labels)}.{tld}"
    flips = draw(st.lists(st.booleans(), min_size=len(canonical), max_size=len(canonical)))
    written = "".join(c.upper() if flip else c for c, flip in zip(canonical, flips, strict=True))
    written = with_invisibles(draw, written)
    before = draw(st.sampled_from(["", *SPACES]))
    after = draw(st.sampled_from(["", *SPACES]))
    return canonical, before + written + after


@st.composite
def psids(draw: st.DrawFn) -> tuple[str, str]:
    canonical = draw(st.from_regex(r"[1-9][0-9]{14,17}", fullmatch=True))
    written = with_invisibles(draw, canonical)
    before = draw(st.sampled_from(["", *SPACES]))
    after = draw(st.sampled_from(["", *SPACES]))
    return canonical, before + written + after


@st.composite
def addresses(draw: st.DrawFn) -> tuple[str, str]:
    """(lowercase words, the address written with case, punctuation and invisibles)."""
    words = draw(st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=1,
                          max_size=6))  # fmt: skip
    separators = [draw(st.sampled_from([" ", ", ", ". ", " - ", "#", *SPACES])) for _ in words]
    written = "".join(
        (word.upper() if draw(st.booleans()) else word) + separator
        for word, separator in zip(words, separators, strict=True)
    )
    return " ".join(words), with_invisibles(draw, written)


@pytest.mark.parametrize(
    ("macro", "strategy"),
    [
        ("normalize_phone", nanp_phones()),
        ("normalize_phone", international_phones()),
        ("normalize_email", emails()),
        ("normalize_psid", psids()),
        ("normalize_address", addresses()),
    ],
    ids=["phone-north-american", "phone-international", "email", "psid", "address"],
)
def test_equivalent_inputs_normalize_to_one_value(
    expressions: dict[str, str],
    database: psycopg2.extensions.connection,
    macro: str,
    strategy: st.SearchStrategy[tuple[str, str]],
) -> None:
    @PROPERTY_SETTINGS
    @given(pairs=st.lists(strategy, min_size=1, max_size=40))
    def check(pairs: list[tuple[str, str]]) -> None:
        canonical = [pair[0] for pair in pairs]
        written = [pair[1] for pair in pairs]
        assert apply(database, expressions[macro], written) == canonical, written

    check()


# -- clean_text's fast path gives what its general path gives ---------------------------------
# Printable ASCII words (the fast path's inputs) between separators, some of which must send a
# value to the general path: runs of spaces, tabs, control and invisible characters.
ASCII_SEPARATORS = ["", " ", "  ", "\t", "\n", "\x01", "\x7f", "\x85", "\u00a0", "\u200b"]


@st.composite
def mostly_ascii(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                                  max_size=6), max_size=5))  # fmt: skip
    separators = [draw(st.sampled_from(ASCII_SEPARATORS)) for _ in range(len(words) + 1)]
    pieces = zip(words, separators[1:], strict=True)
    return separators[0] + "".join(word + separator for word, separator in pieces)


@PROPERTY_SETTINGS
@given(values=st.lists(st.one_of(mostly_ascii(), any_text), min_size=1, max_size=40))
def test_clean_text_fast_path_agrees_with_the_general_path(
    expressions: dict[str, str], database: psycopg2.extensions.connection, values: list[str]
) -> None:
    fast = apply(database, expressions["clean_text"], values)
    assert fast == apply(database, expressions["clean_any_text"], values), values
