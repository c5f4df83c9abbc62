"""`backfill-dev quality`: how well each grouping recovers the real persons.

Generates one labeled dataset (the generator's defaults: ~30% of persons with several
leads, households sharing a phone, ~3% placeholder leads, customers the app made and
some it made twice), copies it into one scratch database per grouping, and walks the
app's path there with the real commands - `dbt build`, `dbt run-operation
resolve_conflicts`, `dbt build` - so that `Lead.customer_id` is what gets scored. It
prints pairwise and B-cubed precision/recall, the leads still unlinked, and how often
the app's exact lookup by phone (E.164) finds a returning person's own customer, for:

* the one-pass priority grouping of the original script (`grouping_strategy: priority`),
* the staged identity resolution (the default),
* the same with the household guard off (what the guard costs and buys),
* the same with the address stage off (what addresses buy),
* the same with phones stored as 10 national digits (what the app's format buys),
* and, as a peer (`peer.py`, skipped with `peer=False`), Splink's deterministic and tuned
  probabilistic linkage of the same leads, read from the labeled database before any dbt
  run and scored by the same SQL (the columns that describe the app's path show "-").

The scratch databases (`backfill_quality_*`) are dropped afterwards unless `keep`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg2.extensions

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import DbtProject
from backfill_tools.quality.generate import generate_database
from backfill_tools.quality.peer import PeerOutcome, run_peers
from backfill_tools.quality.score import AppLookup, Scores, app_lookup, score

DATA_DATABASE = "backfill_quality_data"
PRECISION_TARGET = 0.98
RECALL_TARGET = 0.70
# The models of the staged grouping (their build time is "grouping seconds").
GROUPING_MODEL_PREFIXES = ("int_identity_", "int_node_identifiers", "int_identifier_values",
                           "int_leads_matching_several", "int_leads_grouped_by_")  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """One grouping to score: a label and the dbt vars that select it."""

    label: str
    database: str
    vars: dict[str, object]


VARIANTS = (
    Variant("one-pass priority (original)", "backfill_quality_priority",
            {"grouping_strategy": "priority"}),
    Variant("staged resolution", "backfill_quality_resolved", {}),
    Variant("staged, household guard off", "backfill_quality_no_guard",
            {"identity_household_guard": False}),
    Variant("staged, address stage off", "backfill_quality_no_address",
            {"identity_address_stage": False}),
    Variant("staged, phones as national digits", "backfill_quality_national",
            {"customer_phone_format": "national"}),
)  # fmt: skip
LOOKUP_TARGET = 0.95


@dataclass(frozen=True)
class Outcome:
    """The scores of one grouping, what its build took and which dbt tests failed."""

    variant: Variant
    scores: Scores
    lookup: AppLookup
    conflicts: int  # conflicts the first build reported
    build_seconds: float
    grouping_seconds: float
    failed_tests: list[str]


@contextmanager
def _database(server: Server, name: str, keep: bool) -> Iterator[dict[str, str]]:
    """A copy of the labeled dataset named `name` (dropped afterwards unless `keep`)."""
    try:
        yield server.recreate(name, template=DATA_DATABASE)
    finally:
        if not keep:
            server.drop_database(name)


def _run_results(work_dir: Path) -> list[dict]:
    return list(json.loads((work_dir / "target" / "run_results.json").read_text())["results"])


def grouping_seconds(work_dir: Path) -> float:
    """Seconds the grouping models took in the last dbt command (run_results.json)."""
    return sum(
        float(result["execution_time"])
        for result in _run_results(work_dir)
        if result["unique_id"].startswith("model.")
        and result["unique_id"].split(".")[-1].startswith(GROUPING_MODEL_PREFIXES)
    )


def failed_tests(work_dir: Path) -> list[str]:
    """The dbt tests that failed or erred in the last dbt command."""
    return sorted(
        result["unique_id"].split(".")[2]
        for result in _run_results(work_dir)
        if result["unique_id"].startswith("test.") and result["status"] in ("fail", "error")
    )


def run_variant(server: Server, variant: Variant, keep: bool) -> Outcome:
    with _database(server, variant.database, keep) as db_env, TemporaryDirectory() as tmp:
        project = DbtProject(env=db_env, work_dir=Path(tmp))
        started = time.monotonic()
        # The validation tests run after the apply; the one-pass grouping is expected to
        # fail some (it splits people who share a phone): what counts is that it applied.
        result = project.build(vars=variant.vars, check=False)
        seconds = time.monotonic() - started
        grouping = grouping_seconds(Path(tmp))
        conn = connect(db_env)
        try:
            if not _applied(conn):
                raise RuntimeError(
                    f"{variant.label}: the build did not apply:\n{result.output[-4000:]}"
                )
            conflicts = _conflicts(conn)
            conn.rollback()
            # the app's path: settle the conflicts the rules can decide, link the rest
            project.run("run-operation", "resolve_conflicts", vars=variant.vars)
            project.build(vars=variant.vars, check=False)
            scores = score(conn, AppSchema())
            lookup = app_lookup(conn, AppSchema())
        finally:
            conn.close()
        return Outcome(
            variant, scores, lookup, conflicts, seconds, grouping, failed_tests(Path(tmp))
        )


def _conflicts(conn: psycopg2.extensions.connection) -> int:
    with conn.cursor() as cur:
        cur.execute("select count(*) from customer_backfill.plan_conflicts")
        row = cur.fetchone()
    return int(row[0]) if row else 0


def _applied(conn: psycopg2.extensions.connection) -> bool:
    """True when a real run was recorded (backfill_runs has a row)."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass('customer_backfill.backfill_runs') is not null")
        row = cur.fetchone()
        if not (row and row[0]):
            return False
        cur.execute("select exists (select 1 from customer_backfill.backfill_runs)")
        row = cur.fetchone()
    conn.rollback()
    return bool(row and row[0])


def format_table(outcomes: list[Outcome], peers: list[PeerOutcome] | None = None) -> str:
    """The comparison as a Markdown table (the README shows it as printed); a peer's
    "grouping s" is its whole wall time."""
    header = ("grouping", "pairwise precision", "pairwise recall", "pairwise F1",
              "B-cubed precision", "B-cubed recall", "customers", "conflicts",
              "unlinked leads", "app lookup finds own", "largest customer",
              "customers_with_two_psids", "grouping s", "dbt build s")  # fmt: skip
    rows = [header, tuple("---" for _ in header)]
    for outcome in outcomes:
        s, lookup = outcome.scores, outcome.lookup
        rows.append((
            outcome.variant.label, f"{s.pairwise_precision:.4f}", f"{s.pairwise_recall:.4f}",
            f"{s.pairwise_f1:.4f}", f"{s.bcubed_precision:.4f}", f"{s.bcubed_recall:.4f}",
            f"{s.customers:,}", f"{outcome.conflicts:,}", f"{s.unlinked_leads:,}",
            f"{lookup.found_own_rate:.1%} of {lookup.people:,}", f"{s.largest_customer:,}",
            f"{s.customers_with_two_psids:,}",
            f"{outcome.grouping_seconds:.1f}", f"{outcome.build_seconds:.1f}",
        ))  # fmt: skip
    for peer in peers or []:
        s = peer.scores
        rows.append((
            peer.label, f"{s.pairwise_precision:.4f}", f"{s.pairwise_recall:.4f}",
            f"{s.pairwise_f1:.4f}", f"{s.bcubed_precision:.4f}", f"{s.bcubed_recall:.4f}",
            f"{s.customers:,}", "-", "-", "-", f"{s.largest_customer:,}",
            f"{s.customers_with_two_psids:,}", f"{peer.seconds:.1f}", "-",
        ))  # fmt: skip
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def meets_targets(scores: Scores) -> bool:
    return (
        scores.pairwise_precision >= PRECISION_TARGET
        and scores.pairwise_recall >= RECALL_TARGET
        and scores.customers_with_two_psids == 0
    )


def run_quality(
    server: Server, leads: int, seed: int, keep: bool = False, peer: bool = True
) -> int:
    """Print the comparison; 0 when the staged grouping meets the targets, else 1. With
    `peer`, Splink's two rows too (installed on first use)."""
    print(f"quality: {leads:,} labeled leads (seed {seed}), one dbt build per grouping", flush=True)
    # the labeled app tables, in their own database (the template of every run)
    generate_database(server, DATA_DATABASE, AppSchema(), leads, seed, progress=leads >= 200_000)
    outcomes = []
    peers: list[PeerOutcome] = []
    try:
        if peer:
            # on the labeled leads as generated; the connection is closed before the
            # database is used as a template
            with server.connection(DATA_DATABASE) as conn:
                peers = run_peers(conn, AppSchema())
        for variant in VARIANTS:
            print(f"quality: {variant.label} ...", flush=True)
            outcomes.append(run_variant(server, variant, keep))
    finally:
        if not keep:
            server.drop_database(DATA_DATABASE)
    print()
    print(format_table(outcomes, peers))
    resolved = outcomes[1].scores
    guard_off = outcomes[2].scores
    address_off = outcomes[3].scores
    print()
    for outcome in outcomes:
        if outcome.failed_tests:
            print(f"{outcome.variant.label}: failed dbt tests: {', '.join(outcome.failed_tests)}")
    print(
        "household guard: precision "
        f"{resolved.pairwise_precision - guard_off.pairwise_precision:+.4f}, recall "
        f"{resolved.pairwise_recall - guard_off.pairwise_recall:+.4f} (guard on minus off)"
    )
    print(
        "address stage: precision "
        f"{resolved.pairwise_precision - address_off.pairwise_precision:+.4f}, recall "
        f"{resolved.pairwise_recall - address_off.pairwise_recall:+.4f} (stage on minus off)"
    )
    beats_peers = all(
        resolved.pairwise_precision > p.scores.pairwise_precision
        and resolved.pairwise_recall > p.scores.pairwise_recall
        for p in peers
    )
    if peers:
        print(
            "staged resolution against Splink: "
            + ", ".join(
                f"{p.label}: precision"
                f" {resolved.pairwise_precision - p.scores.pairwise_precision:+.4f}, recall"
                f" {resolved.pairwise_recall - p.scores.pairwise_recall:+.4f}"
                for p in peers
            )
            + f" ({'better on both' if beats_peers else 'NOT better on both'})"
        )
    lookup = outcomes[1].lookup
    print(
        f"app lookup (staged resolution): {lookup.found_own:,} of {lookup.people:,} returning"
        f" people with a phone found their own customer, {lookup.found_other:,} another"
        f" person's, {lookup.found_none:,} none"
    )
    ok = meets_targets(resolved) and lookup.found_own_rate >= LOOKUP_TARGET and beats_peers
    print(
        f"targets (staged resolution): pairwise precision >= {PRECISION_TARGET}, recall >= "
        f"{RECALL_TARGET}, no customer with two PSIDs, app lookup >= {LOOKUP_TARGET:.0%},"
        f" better than each Splink row on both: {'met' if ok else 'NOT met'}"
    )
    if keep:
        names = ", ".join([DATA_DATABASE, *(variant.database for variant in VARIANTS)])
        print(f"kept databases: {names}")
    return 0 if ok else 1
