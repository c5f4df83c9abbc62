{{ config(indexes=[{'columns': ['group_key'], 'unique': true}]) }}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

lead_groups as (

    select * from {{ ref('int_leads_grouped_to_customers') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

grouped_leads as (

    select
        lead_groups.group_key,
        lead_groups.group_type,
        lead_groups.matched_on,
        lead_groups.group_anchor_lead_id,
        leads.lead_id,
        leads.current_customer_id,
        leads.phone_normalized,
        leads.email_normalized

    from lead_groups
    inner join leads
        on lead_groups.lead_id = leads.lead_id

),

candidates_from_linked_leads as (

    select distinct
        grouped_leads.group_key,
        grouped_leads.current_customer_id as customer_id,
        1 as evidence_rank

    from grouped_leads
    inner join customers
        on grouped_leads.current_customer_id = customers.customer_id

),

candidates_from_identifiers as (

    select
        grouped_leads.group_key,
        customers.customer_id,
        2 as evidence_rank

    from grouped_leads
    inner join customers
        on grouped_leads.phone_normalized = customers.phone_normalized

    union

    select
        grouped_leads.group_key,
        customers.customer_id,
        2 as evidence_rank

    from grouped_leads
    inner join customers
        on grouped_leads.email_normalized = customers.email_normalized

),

candidates as (

    select * from candidates_from_linked_leads
    union all
    select * from candidates_from_identifiers

),

ranked_candidates as (

    select
        group_key,
        customer_id,
        evidence_rank,
        min(evidence_rank) over (partition by group_key) as strongest_evidence_rank

    from candidates

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

groups as (

    select
        group_key,
        min(group_type) as group_type,
        min(matched_on) as matched_on,
        min(group_anchor_lead_id::text)::uuid as group_anchor_lead_id,
        count(*) as lead_count,
        count(*) filter (where current_customer_id is null) as unlinked_lead_count

    from grouped_leads
    group by group_key

),

final as (

    select
        groups.group_key,
        groups.group_type,
        groups.matched_on,
        groups.group_anchor_lead_id,
        groups.lead_count,
        groups.unlinked_lead_count,
        coalesce(strongest_candidates.candidate_customer_ids, '{}') as candidate_customer_ids,
        case
            when cardinality(strongest_candidates.candidate_customer_ids) = 1
                then strongest_candidates.candidate_customer_ids[1]
            when strongest_candidates.group_key is null
                then {{ customer_id_for_group('groups.group_anchor_lead_id') }}
        end as customer_id,
        case
            when cardinality(strongest_candidates.candidate_customer_ids) = 1 then 'existing'
            when strongest_candidates.group_key is null then 'new'
            else 'ambiguous'
        end as customer_resolution

    from groups
    left join strongest_candidates
        on groups.group_key = strongest_candidates.group_key

)

select * from final
