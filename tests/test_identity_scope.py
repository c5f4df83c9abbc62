"""A run resolves only the leads it can write for and the customers they touch
(int_identity_scope), and writes what resolving every lead would: the same
customers, links and addresses, on changes of every kind the app makes between runs."""

from __future__ import annotations

from backfill_tools.dbtrun import DbtProject
from backfill_tools.quality.changes import app_changes, load_changes
from backfill_tools.quality.generate import generate
from tests.appdata import AppDatabase
from tests.scenarios import operation, run_ids, statistics
from tests.test_reuse import app_state

LEADS = 2_000
SEED = 5
EVERY_LEAD = {"identity_scope": "all"}


CONFLICT_RESOLUTIONS = """
    select conflict_id, merged_into_customer_id::text, is_conflict_resolved, refusal_reason
    from customer_backfill.plan_conflict_resolutions order by conflict_id
"""


def scope_size(db: AppDatabase) -> int:
    return db.scalar(
        "select count(*) from customer_backfill.int_identity_scope where node_type = 'lead'"
    )


def assert_same_as_resolving_every_lead(
    db: AppDatabase, project: DbtProject, vars: dict[str, object] | None = None
) -> int:
    """Applies the run twice from the same state (rolled back in between): resolving
    what it must, then every lead. Returns how many leads the first resolved."""
    scoped = project.build(vars=vars)
    scoped_state, resolved = app_state(db), scope_size(db)
    scoped_conflicts = db.query(CONFLICT_RESOLUTIONS)
    operation(project, "rollback_backfill", run_id=run_ids(db)[-1])

    everything = project.build(vars={**(vars or {}), **EVERY_LEAD})
    assert scope_size(db) == db.count("Lead")
    assert app_state(db) == scoped_state
    assert statistics(everything.stdout) == statistics(scoped.stdout)
    # and what resolve_conflicts would merge
    assert db.query(CONFLICT_RESOLUTIONS) == scoped_conflicts
    return resolved


def app_changes_of_every_kind(db: AppDatabase) -> None:
    """What the app does between runs, beyond new leads and new identifiers: a lead
    deleted, a linked lead that moves house next to a new lead, a new job of an old
    lead, and a new lead that matches two customers."""
    customers = db.query(
        'select c.id, c.phone, c.email from "Customer" as c'
        " where c.phone is not null and c.email is not null order by c.id limit 2"
    )
    (first_id, first_phone, _), (_, _, second_email) = customers
    db.add_lead(name="Pat Both", phone=first_phone, email=second_email)

    deleted = db.scalar(
        'select l.id from "Lead" as l where l.customer_id is not null and l.phone is not null'
        ' and not exists (select from "Job" as j where j.lead_id = l.id)'
        ' and exists (select from "Lead" as o where o.phone = l.phone and o.id <> l.id)'
        " order by l.id limit 1"
    )
    db.execute('delete from "Lead" where id = %s', (deleted,))

    mover = db.scalar(
        'select l.id from "Lead" as l where l.customer_id = %s order by l.id limit 1', (first_id,)
    )
    db.execute(
        "update \"Lead\" set address = '77 Juniper Lane, Springfield, IL 62704',"
        " name = 'Robin Vale' where id = %s",
        (mover,),
    )
    db.add_lead(name="Robin Vale", address="77 Juniper Ln, Springfield IL 62704")

    old_lead = db.scalar(
        'select l.id from "Lead" as l where l.customer_id is not null order by l.created_at limit 1'
    )
    db.add_job(old_lead)

    # a job the app moved to another customer than its lead's (a conflict to merge)
    db.execute(
        'update "Job" set customer_id = %s where id = ('
        ' select j.id from "Job" as j inner join "Lead" as l on j.lead_id = l.id'
        " where l.customer_id is not null and l.customer_id <> %s order by j.id limit 1)",
        (first_id, first_id),
    )


def test_a_run_after_an_apply_resolves_what_changed_and_writes_what_resolving_every_lead_would(
    app_db: AppDatabase, project: DbtProject
) -> None:
    generate(app_db.conn, app_db.schema, LEADS, seed=SEED)
    unlinked = app_db.count("Lead", "customer_id is null")
    first = project.build()
    # a first run resolves every lead the app has not linked, and their customers'
    assert scope_size(app_db) >= unlinked > LEADS * 0.9
    assert statistics(first.stdout)["Leads linked"] > LEADS // 2

    load_changes(app_db.conn, app_db.schema, app_changes(SEED, LEADS, new_fraction=0.05))
    app_changes_of_every_kind(app_db)
    resolved = assert_same_as_resolving_every_lead(app_db, project)
    assert resolved < app_db.count("Lead") // 3

    # a var that changes old decisions, and leads that push a value over its cap
    phone = app_db.scalar(
        'select phone from "Customer" where phone is not null order by id limit 1 offset 5'
    )
    for name in ("Ana", "Ben", "Cy"):
        app_db.add_lead(name=name, phone=phone)
    assert_same_as_resolving_every_lead(app_db, project, vars={"identity_max_leads_per_value": 3})
