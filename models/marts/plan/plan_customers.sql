{{ config(indexes=[{'columns': ['customer_id'], 'unique': true}]) }}

with

resolved_leads as (

    select * from {{ ref('int_leads_resolved_to_customers') }}

),

leads as (

    select * from {{ ref('stg_app__leads') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

linked_leads as (

    -- the leads the run links, with what the survivorship rule reads. A group gets a
    -- new customer only when none of its leads is linked yet (a linked lead makes its
    -- customer a candidate), so a new customer's leads here are all of its group's
    select
        resolved_leads.resolved_customer_id as customer_id,
        resolved_leads.lead_action = 'link_to_new_customer' as is_new_customer,
        resolved_leads.group_key,
        resolved_leads.group_type,
        resolved_leads.matched_on,
        resolved_leads.lead_id,
        {{ clean_text('leads.lead_name') }} as lead_name,
        resolved_leads.contact_phone,
        resolved_leads.contact_email,
        resolved_leads.is_role_email,
        resolved_leads.created_at

    from resolved_leads
    inner join leads
        on resolved_leads.lead_id = leads.lead_id
    where resolved_leads.lead_action in ('link_to_existing_customer', 'link_to_new_customer')

),

receiving_customers as (

    -- one pass over the linked leads, sorted once: the customer's links and, for a
    -- new customer, survivorship - the best-formed name (a full name over a first
    -- name, mixed case over capitals; then the most recent); the most recent phone
    -- that is not junk; the most recent e-mail that is not junk, a personal address
    -- preferred to a role address (info@...). This reads the plan's source rather
    -- than plan_lead_links, so both tables are built side by side
    select
        customer_id,
        bool_and(is_new_customer) as is_new_customer,
        min(group_key) as group_key,
        min(group_type) as group_type,
        min(matched_on) as matched_on,
        count(*) as leads_to_link,
        {{ survivor_columns() }}

    from linked_leads
    group by customer_id

),

final as (

    select
        receiving_customers.customer_id,
        receiving_customers.is_new_customer,
        receiving_customers.group_key,
        receiving_customers.group_type,
        receiving_customers.matched_on,
        receiving_customers.leads_to_link,
        receiving_customers.leads_to_link as group_lead_count,
        case
            when receiving_customers.is_new_customer
                then {{ fixed_name_case('receiving_customers.survivor_name') }}
            else customers.customer_name
        end as customer_name,
        case
            when receiving_customers.is_new_customer
                then {{ customer_phone('receiving_customers.survivor_phone') }}
            else customers.phone_raw
        end as phone,
        case
            when receiving_customers.is_new_customer then receiving_customers.survivor_phone
            else customers.phone_normalized
        end as phone_normalized,
        case
            when receiving_customers.is_new_customer then receiving_customers.survivor_email
            else customers.email_raw
        end as email,
        case
            when receiving_customers.is_new_customer then jsonb_build_object(
                    'groupType', receiving_customers.group_type,
                    'groupKey', receiving_customers.group_key,
                    'matchedOn', to_jsonb(receiving_customers.matched_on),
                    'groupingStrategy', {{ dbt.string_literal(var('grouping_strategy')) }},
                    'leadCount', receiving_customers.leads_to_link,
                    'multipleLeads', receiving_customers.leads_to_link > 1,
                    'createdBy', {{ dbt.string_literal(var('created_by')) }}
                )
        end as metadata

    from receiving_customers
    left join customers
        on receiving_customers.customer_id = customers.customer_id

)

select * from final
