{{ config(indexes=[
    {'columns': ['lead_id'], 'unique': true},
    {'columns': ['customer_id']},
]) }}

with

resolved_leads as (

    select * from {{ ref('int_leads_resolved_to_customers') }}

),

final as (

    select
        lead_id,
        resolved_customer_id as customer_id,
        lead_action = 'link_to_new_customer' as is_new_customer,
        group_key,
        group_type,
        matched_on

    from resolved_leads
    where lead_action in ('link_to_existing_customer', 'link_to_new_customer')

)

select * from final
