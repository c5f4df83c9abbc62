{#-
    What each stage may link by: one row per (stage, value, node). The force_link
    stage links the two leads of each applicable force_link override; the psid,
    phone and e-mail stages link the nodes that carry a usable value (junk,
    blocklisted, role and over-the-cap values never link). A lead that matches
    several existing customers (int_leads_matching_several_customers) takes part
    in no identifier stage: it is linked to none of them.
-#}
{{ config(
    indexes=[
        {'columns': ['link_stage', 'node_id', 'value_key'], 'unique': true},
    ],
) }}

with

overrides as (

    select * from {{ ref('int_identity_overrides') }}

),

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

),

merge_candidates as (

    select * from {{ ref('int_leads_matching_several_customers') }}

),

force_links as (

    select
        'force_link' as link_stage,
        'force_link:' || overrides.override_key as value_key,
        'force_link' as identifier_type,
        overrides.override_key as identifier_value,
        pair.node_id

    from overrides
    cross join
        lateral (values (overrides.node_id), (overrides.other_node_id)) as pair (node_id)
    where
        overrides.override_type = 'force_link'
        and overrides.override_status = 'applicable'

),

identifier_links as (

    select
        node_identifiers.identifier_type as link_stage,
        node_identifiers.identifier_type || ':' || node_identifiers.identifier_value as value_key,
        node_identifiers.identifier_type,
        node_identifiers.identifier_value,
        node_identifiers.node_id

    from node_identifiers
    inner join identifier_values
        on
            node_identifiers.identifier_type = identifier_values.identifier_type
            and node_identifiers.identifier_value = identifier_values.identifier_value
    left join merge_candidates
        on node_identifiers.node_id = merge_candidates.node_id
    where
        identifier_values.is_usable_for_linking
        and merge_candidates.node_id is null

),

final as (

    select * from force_links
    union all
    select * from identifier_links

)

select * from final
