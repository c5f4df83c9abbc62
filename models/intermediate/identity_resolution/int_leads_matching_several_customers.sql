{#-
    Merge candidates: leads without a customer whose own usable identifiers are
    shared with two or more existing customers (their linked leads or their own
    phone or e-mail). Existing customers are never merged automatically, so such
    a lead is linked to none of them and reported; a force_link is the rule
    that can still place it.
-#}

with

-- referenced twice: inlined (not materialized), so each join reads the indexed table
nodes as not materialized (

    select * from {{ ref('int_identity_nodes') }}

),

node_identifiers as not materialized (

    select * from {{ ref('int_node_identifiers') }}

),

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

),

customer_identifiers as (

    -- the usable values existing customers hold (their own, or their linked leads')
    select distinct
        node_identifiers.identifier_type,
        node_identifiers.identifier_value,
        nodes.customer_id

    from nodes
    inner join node_identifiers
        on nodes.node_id = node_identifiers.node_id
    inner join identifier_values
        on
            node_identifiers.identifier_type = identifier_values.identifier_type
            and node_identifiers.identifier_value = identifier_values.identifier_value
    where
        nodes.customer_id is not null
        and identifier_values.is_usable_for_linking

),

unlinked_lead_matches as (

    select
        nodes.node_id,
        nodes.lead_id,
        customer_identifiers.customer_id,
        customer_identifiers.identifier_type,
        customer_identifiers.identifier_value

    from customer_identifiers
    inner join node_identifiers
        on
            customer_identifiers.identifier_type = node_identifiers.identifier_type
            and customer_identifiers.identifier_value = node_identifiers.identifier_value
    inner join nodes
        on node_identifiers.node_id = nodes.node_id
    where
        nodes.node_type = 'lead'
        and nodes.customer_id is null

),

final as (

    select
        node_id,
        lead_id,
        array_agg(distinct customer_id order by customer_id) as candidate_customer_ids,
        array_agg(distinct identifier_type || ':' || identifier_value) as matching_identifiers

    from unlinked_lead_matches
    group by node_id, lead_id
    having count(distinct customer_id) > 1

)

select * from final
