{#-
    Design document, data-quality check 3 (duplicate contacts): no two customers
    the backfill created share a normalized phone - such a pair is one person split
    in two by the grouping. A pair kept apart on purpose is accepted: a do_not_link
    override (split_customer records them) between a lead of each, or a phone the
    grouping refused to link by (a household phone, one shared by two PSIDs, ...:
    identity_refusals says why). Fails with one row per shared phone.
-#}
-- depends_on: {{ ref('backfill_runs') }}

with

customers as (

    select * from {{ ref('customers_after_backfill') }}

),

leads as (

    select * from {{ ref('leads_after_backfill') }}

),

manual_overrides as (

    select * from {{ ref('manual_overrides') }}

),

identity_refusals as (

    select * from {{ ref('identity_refusals') }}

),

phones_refused_for_linking as (

    select distinct identifier_value as phone_normalized
    from identity_refusals
    where identifier_type = 'phone'

),

backfill_customer_phones as materialized (

    -- each backfill customer's phone, normalized once (a regular expression per row:
    -- the costly part of this test)
    select
        customer_id,
        phone_normalized

    from customers
    where is_backfill_created

),

shared_phones as materialized (

    -- linear: the pairs below are built only for phones held more than once and
    -- not refused, so a refused placeholder held by thousands pairs nothing,
    -- whatever join order the planner picks (the self-join of all backfill
    -- customers that came first took 97 s in one run at a million leads).
    -- Materialized: when the ledger's statistics promised one backfill customer,
    -- PostgreSQL nested-looped every customer over this aggregate and redid it for
    -- each (minutes at 100k leads); a stored result is only re-read
    select backfill_customer_phones.phone_normalized

    from backfill_customer_phones
    left join phones_refused_for_linking
        on backfill_customer_phones.phone_normalized = phones_refused_for_linking.phone_normalized
    where
        backfill_customer_phones.phone_normalized is not null
        and phones_refused_for_linking.phone_normalized is null
    group by backfill_customer_phones.phone_normalized
    having count(*) > 1

),

customers_sharing_a_phone as (

    select
        backfill_customer_phones.customer_id,
        backfill_customer_phones.phone_normalized

    from backfill_customer_phones
    inner join shared_phones
        on backfill_customer_phones.phone_normalized = shared_phones.phone_normalized

),

customer_pairs_sharing_a_phone as (

    select
        first_customers.phone_normalized,
        first_customers.customer_id,
        second_customers.customer_id as other_customer_id

    from customers_sharing_a_phone as first_customers
    inner join customers_sharing_a_phone as second_customers
        on
            first_customers.phone_normalized = second_customers.phone_normalized
            and first_customers.customer_id < second_customers.customer_id

),

customer_pairs_kept_apart as (

    select distinct
        least(first_leads.customer_id, second_leads.customer_id) as customer_id,
        greatest(first_leads.customer_id, second_leads.customer_id) as other_customer_id

    from manual_overrides
    inner join leads as first_leads
        on manual_overrides.lead_id = first_leads.lead_id
    inner join leads as second_leads
        on manual_overrides.other_lead_id = second_leads.lead_id
    where manual_overrides.override_type = 'do_not_link'

),

unexplained_pairs as (

    select customer_pairs_sharing_a_phone.*

    from customer_pairs_sharing_a_phone
    left join customer_pairs_kept_apart
        on
            customer_pairs_sharing_a_phone.customer_id = customer_pairs_kept_apart.customer_id
            and customer_pairs_sharing_a_phone.other_customer_id = customer_pairs_kept_apart.other_customer_id
    where customer_pairs_kept_apart.customer_id is null

),

final as (

    select
        phone_normalized,
        count(*) as customer_pair_count,
        array_agg(customer_id::text || ' / ' || other_customer_id::text order by customer_id, other_customer_id)
            as customer_pairs

    from unexplained_pairs
    group by phone_normalized

)

select * from final
