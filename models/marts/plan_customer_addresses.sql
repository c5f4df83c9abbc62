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

new_addresses as (

    -- one row per distinct address the customer does not have yet; the text and
    -- coordinates come from the most recent lead that gave it
    select distinct on (linked_lead_addresses.customer_id, linked_lead_addresses.address_normalized)
        linked_lead_addresses.customer_id,
        linked_lead_addresses.address_normalized,
        linked_lead_addresses.address,
        linked_lead_addresses.latitude,
        linked_lead_addresses.longitude,
        linked_lead_addresses.lead_id as source_lead_id,
        linked_lead_addresses.created_at

    from linked_lead_addresses
    left join customer_addresses
        on
            linked_lead_addresses.customer_id = customer_addresses.customer_id
            and linked_lead_addresses.address_normalized = customer_addresses.address_normalized
    where customer_addresses.customer_address_id is null
    order by
        linked_lead_addresses.customer_id asc,
        linked_lead_addresses.address_normalized asc,
        linked_lead_addresses.created_at desc,
        linked_lead_addresses.lead_id desc

),

customers_with_primary_address as (

    select distinct customer_id
    from customer_addresses
    where is_primary

),

parsed as (

    select
        new_addresses.*,
        {{ parse_us_address('new_addresses.address') }} as address_parts,
        row_number() over (
            partition by new_addresses.customer_id
            order by new_addresses.created_at desc, new_addresses.source_lead_id desc
        ) as recency_rank,
        customers_with_primary_address.customer_id is not null as customer_has_primary_address

    from new_addresses
    left join customers_with_primary_address
        on new_addresses.customer_id = customers_with_primary_address.customer_id

),

final as (

    select
        {{ customer_address_id('customer_id', 'address_normalized') }} as customer_address_id,
        customer_id,
        source_lead_id,
        address,
        address_normalized,
        address_parts[1] as city,
        upper(address_parts[2]) as state,
        address_parts[3] as zip,
        latitude,
        longitude,
        recency_rank = 1 and not customer_has_primary_address as is_primary

    from parsed

)

select * from final
