"""A corpus of awkward identifier values goes through the whole build without an error.

Each value is either normalized to what the corpus states or rejected (not used as an
identifier) for the reason it states; `backfill-dev hostile-input` prints the same table.
"""

from __future__ import annotations

from backfill_tools.dbtrun import DbtProject
from backfill_tools.harness.hostile import CORPUS, load_corpus, markdown_table, read_results
from tests.appdata import AppDatabase


def test_the_corpus_is_large_and_covers_every_kind_of_awkward_value() -> None:
    labels = " ".join(entry.label for entry in CORPUS)
    assert len(CORPUS) >= 50
    for kind in ("full-width", "Arabic-Indic", "zero-width", "non-breaking", "emoji", "10 KB",
                 "SQL-looking", "NULL as text", "IDN", "letters", "+ alone", "extension only",
                 "mixed separators"):  # fmt: skip
        assert kind in labels, kind
    assert all(entry.reason for entry in CORPUS)


def test_every_hostile_value_is_normalized_or_rejected_as_stated(
    app_db: AppDatabase, project: DbtProject
) -> None:
    leads = load_corpus(app_db.env, app_db.schema)

    result = project.build(check=False)

    assert result.ok, result.output[-3000:]
    assert "BACKFILL APPLIED" in result.stdout
    results = read_results(app_db.env, app_db.schema, leads)
    unexpected = [r for r in results if not r.as_expected]
    assert not unexpected, markdown_table(unexpected)
    # every lead was linked or deliberately left alone: nothing was lost on the way
    assert app_db.count("Lead", "customer_id is null") == 0


def test_a_huge_psid_in_a_deployment_without_a_unique_psid_index_does_not_break_the_build(
    app_db: AppDatabase, project: DbtProject
) -> None:
    app_db.execute('drop index "Lead_messengerPsid_key"')
    incompressible = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(4000))
    lead_id = app_db.add_lead(psid=incompressible)

    result = project.build(check=False)

    assert result.ok, result.output[-3000:]
    psid = app_db.scalar(
        "select psid from customer_backfill.stg_app__leads where lead_id = %s", (lead_id,)
    )
    assert psid is None
    assert app_db.lead_customer(lead_id) is not None
