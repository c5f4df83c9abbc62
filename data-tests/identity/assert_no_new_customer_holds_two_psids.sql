{#-
    Merge protection, checked on the result: a customer the run creates never holds
    two different usable PSIDs, unless a force_link put them together.
-#}
{{ config(enabled=var('grouping_strategy') == 'resolved') }}

with

lead_groups as (

    select * from {{ ref('int_leads_grouped_by_identity') }}

),

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

),

group_psids as (

    select
        lead_groups.group_key,
        count(distinct node_identifiers.identifier_value) as psid_count

    from lead_groups
    inner join node_identifiers
        on lead_groups.node_id = node_identifiers.node_id
    inner join identifier_values
        on
            node_identifiers.identifier_type = identifier_values.identifier_type
            and node_identifiers.identifier_value = identifier_values.identifier_value
    where
        node_identifiers.identifier_type = 'psid'
        and identifier_values.is_usable_for_linking
        and cardinality(lead_groups.candidate_customer_ids) = 0
        and not ('force_link' = any(lead_groups.matched_on))
    group by lead_groups.group_key

),

final as (

    select *
    from group_psids
    where psid_count > 1

)

select * from final
