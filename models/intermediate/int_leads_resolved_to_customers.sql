{{ config(indexes=[
    {'columns': ['lead_id'], 'unique': true},
    {'columns': ['resolved_customer_id']},
]) }}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

lead_groups as (

    select * from {{ ref('int_leads_grouped_to_customers') }}

),

customer_groups as (

    select * from {{ ref('int_customer_groups_matched_to_existing') }}

),

-- one import CTE per use: a CTE read twice is materialized without statistics, and at
-- 1M leads the join on it was planned upside down (over 7 minutes instead of 5 s)
phone_values as (

    select * from {{ ref('int_identifier_values_screened') }}
    where identifier_type = 'phone'

),

email_values as (

    select * from {{ ref('int_identifier_values_screened') }}
    where identifier_type = 'email'

),

final as (

    select
        leads.lead_id,
        leads.current_customer_id,
        lead_groups.group_key,
        lead_groups.group_type,
        lead_groups.matched_on,
        customer_groups.customer_resolution,
        customer_groups.candidate_customer_ids,
        coalesce(leads.current_customer_id, customer_groups.customer_id) as resolved_customer_id,
        case
            when leads.current_customer_id is not null then 'already_linked'
            when customer_groups.customer_resolution = 'existing' then 'link_to_existing_customer'
            when customer_groups.customer_resolution = 'new' then 'link_to_new_customer'
            else 'not_linked_ambiguous'
        end as lead_action,
        case when phone_values.is_usable_as_attribute then leads.phone_normalized end
            as contact_phone,
        case when email_values.is_usable_as_attribute then leads.email_normalized end
            as contact_email,
        coalesce(email_values.rejection_reason = 'email_role_address', false) as is_role_email,
        leads.created_at

    from leads
    inner join lead_groups
        on leads.lead_id = lead_groups.lead_id
    inner join customer_groups
        on lead_groups.group_key = customer_groups.group_key
    left join phone_values
        on leads.phone_normalized = phone_values.identifier_value
    left join email_values
        on leads.email_normalized = email_values.identifier_value

)

select * from final
