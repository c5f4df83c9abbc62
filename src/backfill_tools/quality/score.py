"""How well `Lead.customer_id` groups leads into the real persons of `backfill_truth`.

Each customer is a cluster of leads; a lead with a null `customer_id` is a cluster of its
own. The clusters are compared with the persons of `backfill_truth.lead_person`:

* pairwise: a pair of leads is predicted if both are in one cluster and true if both
  came from one person. With n(c, p) the leads of cluster c from person p:
  true positives = sum n(c, p)(n(c, p) - 1)/2, predicted = the same sum over clusters,
  true = over persons; precision = tp / predicted, recall = tp / true.
* B-cubed: the average over leads of |cluster ∩ person| / |cluster| (precision) and of
  |cluster ∩ person| / |person| (recall), i.e. sum n(c, p)² / |c| (or / |p|) over N.

And the app's own use of the result (`app_lookup`): a person who writes again by SMS is
looked up by the exact phone the carrier gives (E.164); does the first customer that
lookup returns belong to that person?

Everything is computed in SQL, set-based (a few seconds at a million leads).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from decimal import Decimal

import psycopg2.extensions

from backfill_tools.db.appdb import AppSchema
from backfill_tools.quality.generate import TRUTH_SCHEMA

# Leads without a customer are singleton clusters: they add no pairs, 1 each to the B-cubed
# precision sum and 1/|person| to the recall sum, so only linked leads are grouped by cell.
_PAIRS_SQL = """
with labeled as (
    select l.customer_id, t.person_id
    from {lead} as l
    join {truth}.lead_person as t on t.lead_id = l.id
),
persons as (
    select person_id, count(*) as n, count(*) filter (where customer_id is null) as unlinked
    from labeled
    group by person_id
),
cells as (
    select customer_id, person_id, count(*) as n
    from labeled
    where customer_id is not null
    group by customer_id, person_id
),
customers as (
    select customer_id, sum(n)::bigint as n from cells group by customer_id
)
select
    (select coalesce(sum(n), 0) from persons) as leads,
    (select count(*) from persons) as persons,
    (select coalesce(sum(n * (n - 1) / 2), 0) from cells) as true_positive_pairs,
    (select coalesce(sum(n * (n - 1) / 2), 0) from customers) as predicted_pairs,
    (select coalesce(sum(n * (n - 1) / 2), 0) from persons) as true_pairs,
    (select coalesce(sum(unlinked), 0) from persons)
        + (select coalesce(sum(c.n * c.n / k.n::float8), 0)
           from cells as c join customers as k using (customer_id)) as bcubed_precision_sum,
    (select coalesce(sum(unlinked / n::float8), 0) from persons)
        + (select coalesce(sum(c.n * c.n / p.n::float8), 0)
           from cells as c join persons as p using (person_id)) as bcubed_recall_sum
"""

_CUSTOMERS_SQL = """
with linked as (
    select customer_id, nullif(btrim({psid}, E' \\t\\r\\n'), '') as psid
    from {lead}
    where customer_id is not null
),
per_customer as (
    select customer_id, count(*) as leads from linked group by customer_id
),
customer_psids as (
    select distinct customer_id, psid from linked where psid is not null
)
select
    (select count(*) from per_customer) as customers,
    (select coalesce(max(leads), 0) from per_customer) as largest_customer,
    (select count(*) from (select customer_id from customer_psids group by customer_id
                           having count(*) >= 2) as two) as customers_with_two_psids,
    (select count(*) from {lead}) as all_leads,
    (select count(*) from {lead} where customer_id is null) as unlinked_leads
"""


# Returning people with a phone: persons one of whose leads carried their number. The
# app's lookup is exact on Customer.phone; with several matches it takes the oldest
# customer (the app's findFirst has no order; the oldest is the likeliest in practice).
# A customer belongs to the person of customer_person (the app's), else to the person of
# most of its leads.
_APP_LOOKUP_SQL = """
with people as (
    select person.person_id, person.phone_e164
    from {truth}.person as person
    where exists (
        select 1
        from {truth}.lead_person as lead_person
        inner join {lead} as leads on lead_person.lead_id = leads.id
        where
            lead_person.person_id = person.person_id
            and strpos(
                regexp_replace(leads.phone, '[^0-9]', '', 'g'),
                substr(person.phone_e164, case when person.phone_e164 like '+1%' then 3 else 4 end)
            ) > 0
    )
),
lead_owners as (
    select distinct on (leads.customer_id)
        leads.customer_id,
        lead_person.person_id
    from {lead} as leads
    inner join {truth}.lead_person as lead_person on leads.id = lead_person.lead_id
    where leads.customer_id is not null
    group by leads.customer_id, lead_person.person_id
    order by leads.customer_id, count(*) desc, lead_person.person_id
),
owners as (
    select customer_id, person_id from {truth}.customer_person
    union all
    select lead_owners.customer_id, lead_owners.person_id
    from lead_owners
    where lead_owners.customer_id not in (select customer_id from {truth}.customer_person)
),
lookups as (
    select
        people.person_id,
        (
            select customers.id
            from {customer} as customers
            where customers.phone = people.phone_e164
            order by customers.created_at, customers.id
            limit 1
        ) as found_customer_id
    from people
)
select
    count(*),
    count(*) filter (where owners.person_id = lookups.person_id),
    count(*) filter (
        where lookups.found_customer_id is not null
        and owners.person_id is distinct from lookups.person_id
    ),
    count(*) filter (where lookups.found_customer_id is null)
from lookups
left join owners on lookups.found_customer_id = owners.customer_id
"""


@dataclass(frozen=True)
class AppLookup:
    """What the app's exact lookup by phone (E.164) finds for returning people."""

    people: int  # persons one of whose leads carried their phone
    found_own: int  # the first customer found is the person's own
    found_other: int  # ... another person's (a household phone, a wrong merge)
    found_none: int  # nothing: the app would make a new customer

    @property
    def found_own_rate(self) -> float:
        return _ratio(self.found_own, self.people)


def app_lookup(conn: psycopg2.extensions.connection, app: AppSchema) -> AppLookup:
    """Look every returning person up as the app does (exact `Customer.phone`)."""
    with conn.cursor() as cur:
        cur.execute(
            _APP_LOOKUP_SQL.format(
                lead=f'"{app.schema}"."Lead"',
                customer=f'"{app.schema}"."Customer"',
                truth=TRUTH_SCHEMA,
            )
        )
        row = cur.fetchone()
    assert row is not None
    return AppLookup(*(int(value) for value in row))


@dataclass(frozen=True)
class Scores:
    """Pairwise and B-cubed precision/recall of the lead grouping, and a few counts."""

    pairwise_precision: float
    pairwise_recall: float
    bcubed_precision: float
    bcubed_recall: float
    leads: int  # leads with a truth label (the ones scored)
    persons: int
    customers: int  # distinct non-null Lead.customer_id
    unlinked_leads: int  # leads with a null customer_id (each its own cluster)
    largest_customer: int  # leads of the biggest customer
    customers_with_two_psids: int  # customers whose leads carry 2+ distinct trimmed PSIDs
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    leads_without_truth: int  # leads not in backfill_truth (not scored)

    @property
    def pairwise_f1(self) -> float:
        return _f1(self.pairwise_precision, self.pairwise_recall)

    @property
    def bcubed_f1(self) -> float:
        return _f1(self.bcubed_precision, self.bcubed_recall)

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "pairwise_f1": self.pairwise_f1, "bcubed_f1": self.bcubed_f1}

    def rows(self) -> list[tuple[str, str]]:
        """(metric, value) pairs, ready for a table."""
        names = [f.name for f in fields(self)]
        names[2:2] = ["pairwise_f1"]
        names[5:5] = ["bcubed_f1"]
        values = self.as_dict()
        return [(name, _text(values[name])) for name in names]

    def format_table(self) -> str:
        rows = [("metric", "value"), *self.rows()]
        width = max(len(name) for name, _ in rows)
        value_width = max(len(value) for _, value in rows)
        lines = [f"{name.ljust(width)}  {value.rjust(value_width)}" for name, value in rows]
        lines.insert(1, f"{'-' * width}  {'-' * value_width}")
        return "\n".join(lines)


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _text(value: float | int) -> str:
    return f"{value:.6f}" if isinstance(value, float) else f"{value:,}"


def _ratio(part: Decimal | float, whole: Decimal | float) -> float:
    """part / whole, and 1.0 when there is nothing to get wrong (whole == 0)."""
    return 1.0 if whole == 0 else float(part) / float(whole)


def truth_exists(conn: psycopg2.extensions.connection) -> bool:
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (f"{TRUTH_SCHEMA}.lead_person",))
        row = cur.fetchone()
    return bool(row and row[0])


# Another grouping's clusters in the shape the scorer reads: every lead, its cluster as
# `customer_id` (null when the table has no row for it) and its PSID.
_CLUSTERED_LEADS_SQL = """
create temporary view {view} as
select leads.id, clusters.cluster_id::text as customer_id, leads.{psid}
from {lead} as leads
left join {clusters} as clusters on clusters.lead_id = leads.id
"""
CLUSTERED_LEADS_VIEW = "scored_clusters"


def score(
    conn: psycopg2.extensions.connection, app: AppSchema, clusters: str | None = None
) -> Scores:
    """Score the current `Lead.customer_id` grouping against `backfill_truth`.

    With `clusters`, a table (`lead_id uuid`, `cluster_id`) of another grouping (a peer
    tool's), that grouping is scored instead, by the same SQL: a lead it has no row for
    is a cluster of its own. It reads through `conn` as it is (uncommitted changes
    included) and leaves the transaction to the caller.
    """
    if not truth_exists(conn):
        raise RuntimeError(
            f"{TRUTH_SCHEMA}.lead_person does not exist: generate labeled data first "
            "(`backfill-dev generate`)"
        )
    names = {
        "lead": f'"{app.schema}"."Lead"',
        "psid": f'"{app.psid_column}"',
        "truth": TRUTH_SCHEMA,
    }
    if clusters is not None:
        with conn.cursor() as cur:
            cur.execute(f"drop view if exists pg_temp.{CLUSTERED_LEADS_VIEW}")
            cur.execute(
                _CLUSTERED_LEADS_SQL.format(view=CLUSTERED_LEADS_VIEW, clusters=clusters, **names)
            )
        names["lead"] = f"pg_temp.{CLUSTERED_LEADS_VIEW}"
    with conn.cursor() as cur:
        cur.execute(_PAIRS_SQL.format(**names))
        pairs = cur.fetchone()
        cur.execute(_CUSTOMERS_SQL.format(**names))
        customers = cur.fetchone()
    assert pairs is not None and customers is not None
    leads, persons, tp, predicted, true, bcubed_p, bcubed_r = pairs
    customer_count, largest, two_psids, all_leads, unlinked = customers
    return Scores(
        pairwise_precision=_ratio(tp, predicted),
        pairwise_recall=_ratio(tp, true),
        bcubed_precision=_ratio(bcubed_p, leads),
        bcubed_recall=_ratio(bcubed_r, leads),
        leads=int(leads),
        persons=int(persons),
        customers=int(customer_count),
        unlinked_leads=int(unlinked),
        largest_customer=int(largest),
        customers_with_two_psids=int(two_psids),
        true_pairs=int(true),
        predicted_pairs=int(predicted),
        true_positive_pairs=int(tp),
        leads_without_truth=int(all_leads) - int(leads),
    )
