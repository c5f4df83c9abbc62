{#-
    The one-pass priority grouping of the original script, kept only to measure the
    staged grouping against it (`backfill-dev quality`, var grouping_strategy:
    priority): each lead's group is its strongest identifier (PSID, then phone,
    then e-mail, else the lead itself), with no junk rejection, no transitivity and
    no merge protection. A group reuses the existing customer already linked to
    one of its leads, else one sharing its phone or e-mail; several = ambiguous.
    Off the production path: built only when the var asks for it (enabled), so a
    run neither builds nor tests it.
-#}
{{ config(materialized='view', enabled=var('grouping_strategy') == 'priority') }}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

keyed as (

    select
        lead_id,
        current_customer_id,
        phone_normalized,
        email_normalized,
        created_at,
        case
            when psid is not null then 'psid'
            when phone_normalized is not null then 'phone'
            when email_normalized is not null then 'email'
            else 'individual'
        end as group_type,
        case
            when psid is not null then 'psid:' || psid
            when phone_normalized is not null then 'phone:' || phone_normalized
            when email_normalized is not null then 'email:' || email_normalized
            else 'individual:' || lead_id::text
        end as group_key

    from leads

),

candidates_from_linked_leads as (

    select distinct
        keyed.group_key,
        keyed.current_customer_id as customer_id,
        1 as evidence_rank

    from keyed
    inner join customers
        on keyed.current_customer_id = customers.customer_id

),

candidates_from_identifiers as (

    select
        keyed.group_key,
        customers.customer_id,
        2 as evidence_rank

    from keyed
    inner join customers
        on keyed.phone_normalized = customers.phone_normalized

    union

    select
        keyed.group_key,
        customers.customer_id,
        2 as evidence_rank

    from keyed
    inner join customers
        on keyed.email_normalized = customers.email_normalized

),

ranked_candidates as (

    select
        group_key,
        customer_id,
        evidence_rank,
        min(evidence_rank) over (partition by group_key) as strongest_evidence_rank

    from (
        select * from candidates_from_linked_leads
        union all
        select * from candidates_from_identifiers
    ) as candidates

),

strongest_candidates as (

    -- a customer already linked to one of the group's leads outranks one that
    -- only shares a phone or an e-mail with the group
    select
        group_key,
        array_agg(distinct customer_id order by customer_id) as candidate_customer_ids

    from ranked_candidates
    where evidence_rank = strongest_evidence_rank
    group by group_key

),

final as (

    select
        keyed.lead_id,
        keyed.group_key,
        keyed.group_type,
        case when keyed.group_type = 'individual' then '{}' else array[keyed.group_type] end
            as matched_on,
        first_value(keyed.lead_id) over (
            partition by keyed.group_key order by keyed.created_at asc, keyed.lead_id asc
        ) as group_anchor_lead_id,
        coalesce(strongest_candidates.candidate_customer_ids, '{}') as candidate_customer_ids

    from keyed
    left join strongest_candidates
        on keyed.group_key = strongest_candidates.group_key

)

select * from final
