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

lead_links as (

    select * from {{ ref('plan_lead_links') }}

),

receiving_customers as (

    select
        customer_id,
        bool_and(is_new_customer) as is_new_customer,
        min(group_key) as group_key,
        min(group_type) as group_type,
        min(matched_on) as matched_on,
        count(*) as leads_to_link

    from lead_links
    group by customer_id

),

group_leads as (

    -- every lead of the customer's group: the survivorship rule reads them all
    select
        receiving_customers.customer_id,
        leads.lead_id,
        {{ clean_text('leads.lead_name') }} as lead_name,
        resolved_leads.contact_phone,
        resolved_leads.contact_email,
        resolved_leads.is_role_email,
        leads.created_at

    from receiving_customers
    inner join resolved_leads
        on receiving_customers.group_key = resolved_leads.group_key
    inner join leads
        on resolved_leads.lead_id = leads.lead_id
    where receiving_customers.is_new_customer

),

survivors as (

    -- survivorship: the most recent non-empty name; the most recent phone that is
    -- not junk; the most recent e-mail that is not junk, a personal address
    -- preferred to a role address (info@...)
    select
        customer_id,
        count(*) as group_lead_count,
        {{ most_recent_value('lead_name') }} as customer_name,
        {{ most_recent_value('contact_phone') }} as phone,
        {{ most_recent_value(
            'contact_email', 'is_role_email asc, created_at desc, lead_id desc'
        ) }} as email

    from group_leads
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
        coalesce(survivors.group_lead_count, receiving_customers.leads_to_link) as group_lead_count,
        coalesce(survivors.customer_name, customers.customer_name) as customer_name,
        coalesce(survivors.phone, customers.phone_raw) as phone,
        coalesce(survivors.email, customers.email_raw) as email,
        case
            when receiving_customers.is_new_customer then jsonb_build_object(
                    'groupType', receiving_customers.group_type,
                    'groupKey', receiving_customers.group_key,
                    'matchedOn', to_jsonb(receiving_customers.matched_on),
                    'groupingStrategy', {{ dbt.string_literal(var('grouping_strategy')) }},
                    'leadCount', survivors.group_lead_count,
                    'multipleLeads', survivors.group_lead_count > 1,
                    'createdBy', {{ dbt.string_literal(var('created_by')) }}
                )
        end as metadata

    from receiving_customers
    left join survivors
        on receiving_customers.customer_id = survivors.customer_id
    left join customers
        on receiving_customers.customer_id = customers.customer_id

)

select * from final
