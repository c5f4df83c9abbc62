{{ config(indexes=[{'columns': ['customer_address_id'], 'unique': true}]) }}

with

lead_links as (

    select * from {{ ref('plan_lead_links') }}

),

leads as (

    select * from {{ ref('stg_app__leads') }}

),

customer_addresses as (

    select * from {{ ref('stg_app__customer_addresses') }}

),

linked_lead_addresses as (

    select
        lead_links.customer_id,
        leads.lead_id,
        leads.address,
        leads.address_normalized,
        leads.latitude,
        leads.longitude,
        leads.created_at

    from lead_links
    inner join leads
        on lead_links.lead_id = leads.lead_id
    where leads.address is not null

),

final as (

    -- one row per distinct address a customer does not have yet (addresses_to_add,
    -- which split_customer and link_lead use too)
    {{ addresses_to_add('linked_lead_addresses', 'customer_addresses') }}

)

select * from final
