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

-- the addresses of the customers this run links leads to, normalized here: read
-- through the staging view, PostgreSQL normalizes every address before any join (at
-- 1M leads, 2.2 s of this model's 2.7 s in a re-run after changes)
addresses_of_linked_customers as (

    select
        customer_addresses.customer_id,
        customer_addresses.is_primary,
        {{ normalize_address('customer_addresses.address') }} as address_normalized

    from customer_addresses
    where customer_addresses.customer_id in (select lead_links.customer_id from lead_links)

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
    {{ addresses_to_add('linked_lead_addresses', 'addresses_of_linked_customers') }}

)

select * from final
