"""Hostile identifier values: a corpus, and a run of the whole build over it.

Each entry is one value the app could hold in one `Lead` column, what the backfill makes of
it (the normalized value, or None: the value is not used as an identifier) and why. The
corpus is loaded as one lead per value, `dbt build` runs, and the normalized values are read
back from the staging view; `backfill-dev hostile-input` prints the table (Markdown).
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.server import Server
from backfill_tools.harness.trial import PROJECT_SCHEMA, project_for


def _incompressible(length: int, seed: int, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(random.Random(seed).choices(alphabet, k=length))


def in_digits(zero: int, text: str) -> str:
    """`text` with its ASCII digits written in the script whose zero is code point `zero`."""
    return "".join(chr(zero + int(char)) if char.isdigit() else char for char in text)


def full_width(text: str) -> str:
    """`text` in full-width forms (U+FF01..U+FF5E for the printable ASCII)."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


TEN_KB_LETTERS = _incompressible(10_000, 1)
TEN_KB_DIGITS = _incompressible(10_000, 2, string.digits)
LONG_LOCAL_PART = _incompressible(10_000, 3)


@dataclass(frozen=True)
class Hostile:
    """One awkward value of one Lead column and what the backfill makes of it."""

    column: str  # phone | email | psid | name | address
    label: str
    value: str
    expected: str | None  # the normalized value; None: rejected (not an identifier)
    reason: str

    @property
    def outcome(self) -> str:
        return "normalized" if self.expected is not None else "rejected"


P, E, S, N, A = "phone", "email", "psid", "name", "address"
NANP = "5551234567"

CORPUS: tuple[Hostile, ...] = (
    # -- phones ------------------------------------------------------------------------------
    Hostile(P, "full-width digits", in_digits(0xFF10, NANP), NANP,
            "full-width digits read as digits"),
    Hostile(P, "full-width + and digits", "\uff0b" + in_digits(0xFF10, "1 555 123 4567"), NANP,
            "full-width plus and digits; +1 is North America"),
    Hostile(P, "Arabic-Indic digits", in_digits(0x0660, NANP), NANP,
            "Arabic-Indic digits read as digits"),
    Hostile(P, "Persian digits", in_digits(0x06F0, "555-123-4567"), NANP,
            "Extended Arabic-Indic digits read as digits"),
    Hostile(P, "Devanagari digits", in_digits(0x0966, "555 123 4567"), NANP,
            "Devanagari digits read as digits"),
    Hostile(P, "mathematical bold digits", in_digits(0x1D7CE, NANP), None,
            "not digits an app or keyboard produces: no digit remains"),
    Hostile(P, "keycap emoji digits", "".join(d + "\ufe0f\u20e3" for d in NANP), NANP,
            "a keycap emoji is a digit plus two marks: the digit is kept"),
    Hostile(P, "non-breaking spaces", "555\u00a0123\u00a04567", NANP, "any space is a separator"),
    Hostile(P, "narrow no-break spaces", "555\u202f123\u202f4567", NANP,
            "any space is a separator"),
    Hostile(P, "ideographic spaces", "555\u3000123\u30004567", NANP, "any space is a separator"),
    Hostile(P, "zero-width spaces", "555\u200b123\u200b4567", NANP, "invisible characters removed"),
    Hostile(P, "byte-order mark first", "\ufeff(555) 123-4567", NANP,
            "invisible characters removed"),
    Hostile(P, "tab and newline", "555\t123\n4567", NANP, "any space is a separator"),
    Hostile(P, "mixed separators", "(555)123.45-67", NANP, "separators ignored"),
    Hostile(P, "slashes and underscores", "555/123_4567", NANP, "separators ignored"),
    Hostile(P, "emoji around", "\U0001f4de 555-123-4567 \u260e\ufe0f", NANP, "only digits count"),
    Hostile(P, "letters (vanity number)", "1-800-FLOWERS", None,
            "letters are not read as digits: 4 digits remain, fewer than 10"),
    Hostile(P, "letters inside", "555-CALL-NOW", None, "fewer than 10 digits"),
    Hostile(P, "+ alone", "+", None, "no digits"),
    Hostile(P, "extension only", "ext. 123", None, "the extension is removed; no digits remain"),
    Hostile(P, "x alone", "x", None, "no digits"),
    Hostile(P, "6-digit extension", "555 123 4567 ext 123456", NANP, "extension removed"),
    Hostile(P, "7-digit extension", "5551234567 x1234567", None,
            "not read as an extension (at most 6 digits): 17 digits is no phone"),
    Hostile(P, "NULL as text", "NULL", None, "no digits"),
    Hostile(P, "undefined as text", "undefined", None, "no digits"),
    Hostile(P, "SQL-looking", "'); drop table \"Lead\"; --", None,
            "no digits; the value is data, never SQL"),
    Hostile(P, "SQL with a number", "5551234567'; --", NANP, "only digits count"),
    Hostile(P, "spreadsheet exponent", "5.551234567E9", None,
            "11 digits not starting with 1: no phone (the number was mangled upstream)"),
    Hostile(P, "negative", "-5551234567", NANP, "separators ignored"),
    Hostile(P, "10 KB of digits", TEN_KB_DIGITS, None, "more than 11 digits: no phone"),
    Hostile(P, "10 KB of letters", TEN_KB_LETTERS, None, "no digits"),
    Hostile(P, "+ and 20 digits", "+44" + "1" * 18, None,
            "an international number has at most 15 digits"),
    Hostile(P, "international, spaced", "+44 20 7946 0958", "+442079460958",
            "kept whole with its country code"),
    Hostile(P, "blank (spaces and NBSP)", "  \u00a0 \u3000 ", None, "blank"),
    Hostile(P, "empty string", "", None, "blank"),
    # -- e-mails -----------------------------------------------------------------------------
    Hostile(E, "upper case, spaces around", "  BOB@Example.COM\u00a0", "bob@example.com",
            "trimmed (any space) and lowercased"),
    Hostile(E, "zero-width space inside", "bo\u200bb@example.com", "bob@example.com",
            "invisible characters removed"),
    Hostile(E, "right-to-left override", "bob@example.com\u202e", "bob@example.com",
            "invisible characters removed"),
    Hostile(E, "soft hyphen inside", "bo\u00adb@example.com", "bob@example.com",
            "invisible characters removed"),
    Hostile(E, "IDN domain", "user@b\u00fccher.de", "user@b\u00fccher.de", "kept in Unicode"),
    Hostile(E, "IDN domain as punycode", "user@xn--bcher-kva.de", "user@xn--bcher-kva.de",
            "kept as written: not merged with the Unicode spelling"),
    Hostile(E, "Cyrillic look-alike letter", "bob@ex\u0430mple.com", "bob@ex\u0430mple.com",
            "kept as written: a different address from the Latin one"),
    Hostile(E, "emoji local part", "\U0001f600@example.com", "\U0001f600@example.com",
            "kept as written"),
    Hostile(E, "quoted local part", '"bob"@example.com', '"bob"@example.com', "kept as written"),
    Hostile(E, "SQL-looking, no spaces", "x';drop/**/table--@example.com",
            "x';drop/**/table--@example.com", "kept as written: the value is data, never SQL"),
    Hostile(E, "SQL-looking with spaces", "x'; drop table \"Customer\"; --@x.com", None,
            "a space inside: not one address"),
    Hostile(E, "NULL as text", "NULL", None, "no @"),
    Hostile(E, "null@null", "null@null", None, "no top-level domain"),
    Hostile(E, "one-letter TLD", "a@b.c", None, "top-level domain shorter than 2"),
    Hostile(E, "no local part", "@example.com", None, "nothing before @"),
    Hostile(E, "two @", "bob@@example.com", None, "more than one @"),
    Hostile(E, "display-name form", "Bob <bob@example.com>", None,
            "a space inside: the address is not extracted"),
    Hostile(E, "two addresses", "bob@x.com, amy@y.com", None, "a space inside: not one address"),
    Hostile(E, "full-width letters", full_width("bob@example.com"), None,
            "no ASCII @: not an address as written"),
    Hostile(E, "trailing dot", "bob@example.com.", None, "top-level domain shorter than 2"),
    Hostile(E, "10 KB local part", LONG_LOCAL_PART + "@example.com", None,
            "longer than 254 characters, the most an address can have (RFC 5321)"),
    Hostile(E, "254 characters", "b" * 64 + "@" + "d" * 185 + ".com",
            "b" * 64 + "@" + "d" * 185 + ".com", "exactly the longest an address can be"),
    # -- PSIDs --------------------------------------------------------------------------------
    Hostile(S, "spaces around", " 1234567890123456 ", "1234567890123456", "trimmed"),
    Hostile(S, "zero-width space after", "2234567890123456\u200b", "2234567890123456",
            "invisible characters removed"),
    Hostile(S, "NBSP inside", "3234\u00a05678", "3234 5678", "any space becomes one space"),
    Hostile(S, "NULL as text", "NULL", "NULL",
            "kept as written (rejecting junk PSIDs is the grouping's job)"),
    Hostile(S, "SQL-looking", "1'; drop table \"Lead\"; --", "1'; drop table \"Lead\"; --",
            "kept as written: the value is data, never SQL"),
    Hostile(S, "emoji", "\U0001f642", "\U0001f642", "kept as written"),
    Hostile(S, "blank", " \u3000 ", None, "blank"),
    Hostile(S, "10 KB", "9" * 10_000, None,
            "longer than 255 characters: no PSID is (and it would not fit in an index)"),
    # -- names and addresses (not identifiers: they must only pass through) ---------------------
    Hostile(N, "10 KB name", TEN_KB_LETTERS, TEN_KB_LETTERS.capitalize(),
            "all in lower case: capitalized (initcap), otherwise copied to Customer.name"),
    Hostile(N, "emoji and right-to-left override", "\U0001f642 \u202eBob", "\U0001f642 Bob",
            "the invisible override removed, otherwise copied to Customer.name"),
    Hostile(N, "SQL-looking name", "Robert'); drop table \"Customer\"; --",
            "Robert'); drop table \"Customer\"; --", "copied to Customer.name as written"),
    Hostile(A, "10 KB address", TEN_KB_LETTERS, TEN_KB_LETTERS,
            "copied to CustomerAddress.address as written"),
    Hostile(A, "10 KB address after a house number", "1 " + TEN_KB_LETTERS, "1 " + TEN_KB_LETTERS,
            "copied to CustomerAddress.address as written; too long to be an address key"),
    Hostile(A, "10 KB unit", "1 Oak St #" + TEN_KB_LETTERS, "1 Oak St #" + TEN_KB_LETTERS,
            "copied to CustomerAddress.address as written; too long to be an address key"),
    Hostile(A, "address with NBSP and emoji", "1\u00a0Oak St \U0001f3e0, Springfield, IL 62704",
            "1 Oak St \U0001f3e0, Springfield, IL 62704",
            "spaces made plain, otherwise as written"),
)  # fmt: skip


@dataclass(frozen=True)
class HostileResult:
    entry: Hostile
    lead_id: str
    actual: str | None

    @property
    def as_expected(self) -> bool:
        return self.actual == self.entry.expected


def load_corpus(env: dict[str, str], app: AppSchema) -> dict[str, Hostile]:
    """One lead per corpus value (only that column set); returns lead id -> entry."""
    leads: dict[str, Hostile] = {}
    conn = connect(env)
    columns = {P: "phone", E: "email", S: f'"{app.psid_column}"', N: "name", A: "address"}
    with conn.cursor() as cur:
        for entry in CORPUS:
            lead_id = str(uuid.uuid4())
            channel = "messenger" if entry.column == S else "sms"
            cur.execute(
                f'insert into "{app.schema}"."Lead" (id, channel, {columns[entry.column]},'
                " updated_at) values (%s, %s, %s, now())",
                (lead_id, channel, entry.value),
            )
            leads[lead_id] = entry
    conn.commit()
    conn.close()
    return leads


_ACTUAL_SQL = {
    P: f"select phone_normalized from {PROJECT_SCHEMA}.stg_app__leads where lead_id = %s",
    E: f"select email_normalized from {PROJECT_SCHEMA}.stg_app__leads where lead_id = %s",
    S: f"select psid from {PROJECT_SCHEMA}.stg_app__leads where lead_id = %s",
    N: 'select c.name from "{schema}"."Lead" as l join "{schema}"."Customer" as c'
    " on c.id = l.customer_id where l.id = %s",
    A: 'select a.address from "{schema}"."CustomerAddress" as a'
    " where a.metadata->>'sourceLeadId' = %s",
}


def read_results(
    env: dict[str, str], app: AppSchema, leads: dict[str, Hostile]
) -> list[HostileResult]:
    conn = connect(env)
    results = []
    with conn.cursor() as cur:
        for lead_id, entry in leads.items():
            cur.execute(_ACTUAL_SQL[entry.column].format(schema=app.schema), (lead_id,))
            row = cur.fetchone()
            results.append(HostileResult(entry, lead_id, row[0] if row else None))
    conn.close()
    return results


def _cell(value: str | None, limit: int = 40) -> str:
    if value is None:
        return "\u2014"
    shown = value if len(value) <= limit else f"{value[:12]}\u2026 ({len(value):,} chars)"
    escaped = shown.encode("unicode_escape").decode("ascii") if not shown.isprintable() else shown
    return "`" + escaped.replace("|", "\\|").replace("`", "'") + "`"


def markdown_table(results: list[HostileResult]) -> str:
    lines = [
        "| column | value | what it is | result | normalized | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        entry = result.entry
        status = entry.outcome if result.as_expected else f"UNEXPECTED: {_cell(result.actual)}"
        lines.append(
            f"| {entry.column} | {_cell(entry.value)} | {entry.label} | {status}"
            f" | {_cell(result.actual)} | {entry.reason} |"
        )
    return "\n".join(lines)


@dataclass
class HostileReport:
    build_ok: bool
    build_output: str
    results: list[HostileResult]

    @property
    def held(self) -> bool:
        return self.build_ok and all(result.as_expected for result in self.results)


def run_hostile_input(
    server: Server,
    work_dir: Path,
    app: AppSchema | None = None,
    database: str = "backfill_hostile",
    out: Callable[[str], None] = print,
    keep: bool = False,
) -> HostileReport:
    app = app or AppSchema()
    env = server.recreate(database)
    conn = connect(env)
    app.create(conn)
    conn.close()
    leads = load_corpus(env, app)
    build = project_for(env, app, work_dir / "dbt").run("build", check=False)
    report = HostileReport(
        build.ok, build.output, read_results(env, app, leads) if build.ok else []
    )
    if not keep:
        server.drop_database(database)
    out(markdown_table(report.results) if build.ok else build.output[-4000:])
    counts = {outcome: sum(r.entry.outcome == outcome for r in report.results)
              for outcome in ("normalized", "rejected")}  # fmt: skip
    out(
        f"\n{len(CORPUS)} values; dbt build {'ok' if build.ok else 'FAILED'};"
        f" normalized {counts['normalized']}, rejected {counts['rejected']},"
        f" unexpected {sum(not r.as_expected for r in report.results)}"
    )
    return report
