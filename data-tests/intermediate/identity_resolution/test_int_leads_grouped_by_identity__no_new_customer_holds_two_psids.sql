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

psid_holders as (

    select
        node_identifiers.node_id,
        node_identifiers.identifier_value as psid

    from node_identifiers
    inner join identifier_values
        on
            node_identifiers.identifier_type = identifier_values.identifier_type
            and node_identifiers.identifier_value = identifier_values.identifier_value
    where
        node_identifiers.identifier_type = 'psid'
        and identifier_values.is_usable_for_linking

),

group_psids as (

    -- the group's own properties filter in `having`, after the join: a filter on
    -- them before it made PostgreSQL expect few groups and look up each of a
    -- million leads' identifiers in an index (8 s at 1M leads)
    select
        lead_groups.group_key,
        count(distinct psid_holders.psid) as psid_count

    from psid_holders
    inner join lead_groups
        on psid_holders.node_id = lead_groups.node_id
    group by lead_groups.group_key
    having
        min(psid_holders.psid) <> max(psid_holders.psid)
        and bool_and(cardinality(lead_groups.candidate_customer_ids) = 0)
        and not bool_or('force_link' = any(lead_groups.matched_on))

),

final as (

    select *
    from group_psids
    where psid_count > 1

)

select * from final
