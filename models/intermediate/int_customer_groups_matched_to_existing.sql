{{ config(indexes=[{'columns': ['group_key'], 'unique': true}]) }}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

lead_groups as (

    select * from {{ ref('int_leads_grouped_to_customers') }}

),

groups as (

    select
        lead_groups.group_key,
        min(lead_groups.group_type) as group_type,
        min(lead_groups.matched_on) as matched_on,
        min(lead_groups.group_anchor_lead_id::text)::uuid as group_anchor_lead_id,
        min(lead_groups.candidate_customer_ids) as candidate_customer_ids,
        count(*) as lead_count,
        count(*) filter (where leads.current_customer_id is null) as unlinked_lead_count

    from lead_groups
    inner join leads
        on lead_groups.lead_id = leads.lead_id
    group by lead_groups.group_key

),

final as (

    select
        group_key,
        group_type,
        matched_on,
        group_anchor_lead_id,
        lead_count,
        unlinked_lead_count,
        candidate_customer_ids,
        case
            when cardinality(candidate_customer_ids) = 1 then candidate_customer_ids[1]
            when cardinality(candidate_customer_ids) = 0
                then {{ customer_id_for_group('group_anchor_lead_id') }}
        end as customer_id,
        case
            when cardinality(candidate_customer_ids) = 1 then 'existing'
            when cardinality(candidate_customer_ids) = 0 then 'new'
            else 'ambiguous'
        end as customer_resolution

    from groups

)

select * from final
