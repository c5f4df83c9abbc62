{#-
    The leads and customers this run resolves. A run writes only for a lead without
    a customer, a job without one, and the customers they make; a lead already
    linked stays in its customer's group, and two customers are never joined. So
    the rest of the graph cannot change a decision: the leads to resolve, every
    customer they are linked to or may be linked to (through a value they carry,
    their jobs, or an override), the two customers of a job linked to another
    customer than its lead (a conflict resolve_conflicts may merge), and all of
    those customers' leads decide the same as the whole graph would. The values'
    counts stay those of all leads (int_identifier_values_screened). On a first run
    that is every lead the app has not linked; after an applied run, what the app
    added or changed since and the customers it touches.
    Var identity_scope: all resolves every lead and customer again. The models after
    it are keyed on its rows (dependents_read_content): a new job of a lead it holds
    already rebuilds nothing after it.
-#}
{%- set resolve_everything = var('identity_scope') == 'all' %}
{{ config(
    indexes=[{'columns': ['node_type', 'entity_id'], 'unique': true}],
    dependents_read_content=true,
) }}

-- the imports are read several times: inlined (not materialized), each reader scans or
-- looks up what it needs through the tables' indexes (at 1M leads after changes, this
-- model's query took 2.4-3.3 s inlined, 6.7-7.4 s materialized, under the same load)
with

leads as not materialized (

    select * from {{ ref('stg_app__leads') }}

),

customers as not materialized (

    select * from {{ ref('stg_app__customers') }}

),

jobs as not materialized (

    select * from {{ ref('stg_app__jobs') }}

),

identifiers as not materialized (

    select * from {{ ref('int_identifiers_of_leads_and_customers') }}

),

leads_linked_through_jobs as not materialized (

    select * from {{ ref('int_leads_linked_through_jobs') }}

),

do_not_link as (

    select * from {{ ref('do_not_link') }}

),

force_link as (

    select * from {{ ref('force_link') }}

),

manual_overrides as (

    select * from {{ ref('manual_overrides') }}

),

override_lead_ids as (

    select lower(btrim(lead_id)) as lead_id_text from do_not_link
    union
    select lower(btrim(other_lead_id)) as lead_id_text from do_not_link
    union
    select lower(btrim(lead_id)) as lead_id_text from force_link
    union
    select lower(btrim(other_lead_id)) as lead_id_text from force_link
    union
    select lead_id::text as lead_id_text from manual_overrides
    union
    select other_lead_id::text as lead_id_text from manual_overrides

),

-- the leads to resolve that have a customer already (their jobs, an override)
linked_leads_to_resolve as (

    select jobs.lead_id
    from jobs
    inner join leads
        on jobs.lead_id = leads.lead_id
    where
        jobs.current_customer_id is null
        and leads.current_customer_id is not null

    union

    select leads.lead_id
    from leads
    inner join override_lead_ids
        on leads.lead_id::text = override_lead_ids.lead_id_text
    where leads.current_customer_id is not null

),

leads_to_resolve as (

    select lead_id from leads
    where current_customer_id is null or {{ 'true' if resolve_everything else 'false' }}

    union

    select lead_id from linked_leads_to_resolve

),

values_of_leads_to_resolve as (

    select
        identifier_type,
        identifier_value

    from identifiers
    where
        owner_type = 'lead'
        and (customer_id is null or {{ 'true' if resolve_everything else 'false' }})

    union all

    select
        identifiers.identifier_type,
        identifiers.identifier_value

    from linked_leads_to_resolve
    inner join identifiers
        on
            linked_leads_to_resolve.lead_id = identifiers.owner_id
            and identifiers.owner_type = 'lead'

),

-- the values a lead to resolve shares with a customer or a customer's lead, with that
-- customer: one pass over the identifiers (on a first run few hold a customer, after
-- an applied run few are to resolve)
values_shared_with_customers as materialized (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.customer_id

    from identifiers
    where
        identifiers.customer_id is not null
        and exists (
            select 1
            from values_of_leads_to_resolve
            where
                values_of_leads_to_resolve.identifier_type = identifiers.identifier_type
                and values_of_leads_to_resolve.identifier_value = identifiers.identifier_value
        )

),

-- a value more leads carry than its cap links nothing: its customers are not followed
shared_values_under_cap as (

    select
        shared_values.identifier_type,
        shared_values.identifier_value

    from (
        select distinct
            identifier_type,
            identifier_value
        from values_shared_with_customers
    ) as shared_values
    inner join identifiers
        on
            shared_values.identifier_type = identifiers.identifier_type
            and shared_values.identifier_value = identifiers.identifier_value
    group by 1, 2
    having
        count(*) filter (where identifiers.owner_type = 'lead')
        <= {{ identity_lead_cap_of('shared_values.identifier_type') }}

),

customers_to_resolve as (

    -- the customers of the leads to resolve
    select leads.current_customer_id as customer_id
    from linked_leads_to_resolve
    inner join leads
        on linked_leads_to_resolve.lead_id = leads.lead_id

    union

    -- the customers their jobs are linked to
    select unnest(customer_ids) as customer_id
    from leads_linked_through_jobs

    union

    -- both customers of a job linked to another customer than its lead: a conflict
    -- resolve_conflicts may merge (plan_conflict_resolutions compares their groups)
    select unnest(array[jobs.current_customer_id, leads.current_customer_id]) as customer_id
    from jobs
    inner join leads
        on jobs.lead_id = leads.lead_id
    where jobs.current_customer_id <> leads.current_customer_id

    union

    -- the customers that carry one of their values, or whose leads do
    select values_shared_with_customers.customer_id
    from values_shared_with_customers
    inner join shared_values_under_cap
        on
            values_shared_with_customers.identifier_type = shared_values_under_cap.identifier_type
            and values_shared_with_customers.identifier_value = shared_values_under_cap.identifier_value

    union

    -- var identity_scope: all - every customer
    select customer_id from customers
    where {{ 'true' if resolve_everything else 'false' }}

),

leads_in_scope as (

    select lead_id from leads_to_resolve

    union

    -- all the leads of those customers: a customer's group is compared whole
    select leads.lead_id
    from leads
    inner join customers_to_resolve
        on leads.current_customer_id = customers_to_resolve.customer_id

),

final as (

    select
        'lead' as node_type,
        lead_id as entity_id

    from leads_in_scope

    union all

    select
        'customer' as node_type,
        customer_id as entity_id

    from customers_to_resolve

)

select * from final
