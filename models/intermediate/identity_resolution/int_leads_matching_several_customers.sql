{#-
    Merge candidates: leads without a customer whose own usable identifiers are
    shared with two or more existing customers (their linked leads or their own
    phone or e-mail), or whose jobs the app linked to two or more customers.
    Existing customers are never merged automatically, so such a lead is linked to
    none of them and reported; resolve_conflicts, or a force_link, can still place
    it. With the household guard, a phone or e-mail matches a customer only when
    their first names agree (or one side has none), as the stages would join them:
    a lead of Zoë on the phone she shares with Daniel matches Zoë's customer, not
    Daniel's.
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

leads_linked_through_jobs as (

    select * from {{ ref('int_leads_linked_through_jobs') }}

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
        -- an address is shared by a household: the address stage decides by name
        and node_identifiers.identifier_type <> 'address'

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

matched_customers as (

    select distinct customer_id
    from unlinked_lead_matches

),

customer_first_names as (

    -- the first names each matched customer holds (its own and its linked leads')
    select
        matched_customers.customer_id,
        coalesce(
            array_agg(distinct members.first_name) filter (where members.first_name is not null),
            '{}'
        ) as first_names

    from matched_customers
    inner join nodes as customer_nodes
        on
            matched_customers.customer_id = customer_nodes.customer_id
            and customer_nodes.node_type = 'customer'
    inner join nodes as members
        on customer_nodes.node_id = members.initial_group_id
    group by matched_customers.customer_id

),

value_matches as (

    select unlinked_lead_matches.*

    from unlinked_lead_matches
    inner join nodes as lead_nodes
        on unlinked_lead_matches.node_id = lead_nodes.node_id
    left join customer_first_names
        on unlinked_lead_matches.customer_id = customer_first_names.customer_id
    {% if var('identity_household_guard') %}
    where
        unlinked_lead_matches.identifier_type = 'psid'
        or lead_nodes.first_name is null
        or coalesce(cardinality(customer_first_names.first_names), 0) = 0
        or lead_nodes.first_name = any(customer_first_names.first_names)
    {% endif %}

),

job_customer_matches as (

    select
        nodes.node_id,
        nodes.lead_id,
        job_customer.customer_id,
        'job' as identifier_type,
        'customer:' || job_customer.customer_id::text as identifier_value

    from leads_linked_through_jobs
    inner join nodes
        on leads_linked_through_jobs.lead_id = nodes.lead_id
    cross join lateral unnest(leads_linked_through_jobs.customer_ids) as job_customer (customer_id)
    where
        cardinality(leads_linked_through_jobs.customer_ids) > 1
        and nodes.customer_id is null

),

matches as (

    select * from value_matches
    union all
    select * from job_customer_matches

),

final as (

    select
        node_id,
        lead_id,
        array_agg(distinct customer_id order by customer_id) as candidate_customer_ids,
        array_agg(distinct identifier_type || ':' || identifier_value) as matching_identifiers

    from matches
    group by node_id, lead_id
    having count(distinct customer_id) > 1

)

select * from final
