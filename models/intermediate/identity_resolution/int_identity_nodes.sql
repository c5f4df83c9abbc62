{#-
    The nodes of the identity graph: the leads and customers this run resolves
    (int_identity_scope: the leads without a customer and the customers, from the
    app or an earlier run, that they touch, with all those customers' leads). Node ids are numbers in a fixed order (leads by
    created_at then id, customers after them), so the smallest node of a group
    of new leads is its earliest lead. A lead already linked starts in its
    customer's group: existing customers are the strongest key of all, never
    joined to each other.
-#}
{{ config(
    indexes=[
        {'columns': ['node_id'], 'unique': true},
        {'columns': ['lead_id']},
        {'columns': ['initial_group_id']},
    ],
) }}

-- the imports and the scope's customers are read several times: inlined (not
-- materialized), each reader takes only its rows (at 1M leads after changes, this
-- model's query took 1.9-2.2 s inlined, 4.3-4.5 s materialized, under the same load)
with

scope as not materialized (

    select * from {{ ref('int_identity_scope') }}

),

all_leads as not materialized (

    select * from {{ ref('stg_app__leads') }}

),

all_customers as not materialized (

    select * from {{ ref('stg_app__customers') }}

),

first_name_variants as not materialized (

    select * from {{ ref('first_name_variants') }}

),

leads_linked_through_jobs as not materialized (

    select * from {{ ref('int_leads_linked_through_jobs') }}

),

leads as (

    select all_leads.*
    from all_leads
    inner join scope
        on
            all_leads.lead_id = scope.entity_id
            and scope.node_type = 'lead'

),

-- the scope's customers by an array, not a join: PostgreSQL looks them up by id
-- before it normalizes anything; joined, it normalized every app customer's first
-- name first (1.1 s of 1.7 at 1M leads after an applied run)
customers as not materialized (

    select all_customers.*
    from all_customers
    where
        all_customers.customer_id = any(array(
            select scope.entity_id
            from scope
            where scope.node_type = 'customer'
        ))

),

lead_nodes as (

    select
        row_number() over (order by leads.created_at asc, leads.lead_id asc) as node_id,
        'lead' as node_type,
        leads.lead_id,
        -- a lead without a customer whose jobs the app linked to one customer is that
        -- customer's (the app has said so)
        coalesce(
            leads.current_customer_id,
            case
                when cardinality(leads_linked_through_jobs.customer_ids) = 1
                    then leads_linked_through_jobs.customer_ids[1]
            end
        ) as customer_id,
        coalesce(lead_first_names.first_name, leads.first_name_normalized) as first_name,
        leads.created_at

    from leads
    left join first_name_variants as lead_first_names
        on leads.first_name_normalized = lower(btrim(lead_first_names.variant))
    left join leads_linked_through_jobs
        on leads.lead_id = leads_linked_through_jobs.lead_id

),

lead_count as (

    select count(*) as leads from lead_nodes

),

known_customers as (

    -- app customers, and any customer id a lead points at (even without a row)
    select
        customers.customer_id,
        coalesce(customer_first_names.first_name, customers.first_name_normalized) as first_name,
        customers.created_at

    from customers
    left join first_name_variants as customer_first_names
        on customers.first_name_normalized = lower(btrim(customer_first_names.variant))

    union all

    select distinct
        lead_nodes.customer_id,
        null as first_name,
        null::timestamptz as created_at

    from lead_nodes
    left join customers
        on lead_nodes.customer_id = customers.customer_id
    where
        lead_nodes.customer_id is not null
        and customers.customer_id is null

),

customer_nodes as (

    select
        lead_count.leads + row_number() over (
            order by known_customers.created_at asc nulls last, known_customers.customer_id asc
        ) as node_id,
        'customer' as node_type,
        null::uuid as lead_id,
        known_customers.customer_id,
        known_customers.first_name,
        known_customers.created_at

    from known_customers
    cross join lead_count

),

nodes as (

    select * from lead_nodes
    union all
    select * from customer_nodes

),

final as (

    select
        nodes.node_id,
        nodes.node_type,
        nodes.lead_id,
        nodes.customer_id,
        nodes.first_name,
        nodes.created_at,
        coalesce(customer_nodes.node_id, nodes.node_id) as initial_group_id

    from nodes
    left join customer_nodes
        on
            nodes.customer_id = customer_nodes.customer_id
            and nodes.node_type = 'lead'

)

select * from final
