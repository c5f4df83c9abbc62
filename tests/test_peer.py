"""Splink's peer rows of `backfill-dev quality`: the normalization (no Splink needed) and,
when Splink is installed (a development dependency), both rows on a small labeled set."""

from __future__ import annotations

import pytest

from backfill_tools.quality.generate import generate
from backfill_tools.quality.peer import (
    PeerLead,
    address_city,
    normalize_address,
    normalize_email,
    normalize_phone,
    normalize_psid,
    screen,
    split_name,
)
from tests.appdata import AppDatabase


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (512) 466-5979", "5124665979"),
        ("512.466.5979 ext. 12", "5124665979"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0000000000", None),
        ("(123) 456-7890", None),
        ("555-555-5555", None),
        ("212-555-0123", None),  # fictional 555-01xx
        ("46659", None),
        (None, None),
    ],
)
def test_normalize_phone(raw: str | None, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Young.Laura11@Hotmail.com ", "young.laura11@hotmail.com"),
        ("M.Stewart+shop@GMAIL.com", "mstewart@gmail.com"),
        ("test@test.com", None),
        ("noemail@gmail.com", None),
        ("info@acme.com", None),  # a role address never links
        ("n/a", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_names_psids_and_addresses() -> None:
    assert split_name(" Mr. Benjamin  Van Dyke ") == ("benjamin", "van dyke")
    assert split_name("Brandon") == ("brandon", None)
    assert normalize_psid(" 18234104470730171 ") == "18234104470730171"
    assert normalize_psid("undefined") is None and normalize_psid("0000") is None
    assert normalize_address("9808 Highland Court, Apt #4, Kansas City") == (
        "9808 highland ct unit 4"
    )
    assert normalize_address("9808 Highland Ct. #4") == "9808 highland ct unit 4"
    assert normalize_address("12 North Main Street") == "12 n main st"
    assert normalize_address("behind the school") is None
    assert address_city("9808 Highland Ct, Kansas City, MO 64108") == "kansas city"
    assert address_city("corner of 5th and main") is None


def test_screen_nulls_values_carried_by_too_many_leads() -> None:
    leads = [
        PeerLead(str(i), "a", "b", None, "5124665979" if i < 3 else None, None, None, None)
        for i in range(4)
    ]
    assert [lead.phone for lead in screen(leads, cap=3)] == [lead.phone for lead in leads]
    assert [lead.phone for lead in screen(leads, cap=2)] == [None] * 4


def test_splink_rows_on_labeled_leads(app_db: AppDatabase) -> None:
    pytest.importorskip("splink")
    from backfill_tools.quality.peer import run_peers

    generate(app_db.conn, app_db.schema, 2_000, seed=5)
    app_db.conn.commit()
    linked = 'select count(*) from "Lead" where customer_id is not null'
    linked_before = app_db.scalar(linked)

    deterministic, probabilistic = run_peers(app_db.conn, app_db.schema)

    for outcome in (deterministic, probabilistic):
        assert outcome.scores.leads == 2_000 and outcome.scores.unlinked_leads == 0
        assert outcome.scores.pairwise_precision > 0.9 and outcome.seconds > 0
    assert probabilistic.scores.pairwise_recall >= deterministic.scores.pairwise_recall
    # nothing was written to the app's tables
    assert app_db.scalar(linked) == linked_before
