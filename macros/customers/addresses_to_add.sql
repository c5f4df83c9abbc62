{% macro addresses_to_add(lead_addresses, existing_addresses) -%}
    {#- SQL select: the CustomerAddress rows to add for leads linked to customers.
        `lead_addresses` has one row per linked lead with an address (customer_id,
        lead_id, address, address_normalized, latitude, longitude, created_at);
        `existing_addresses` the customers' current addresses (customer_id,
        address_normalized, is_primary). One row per distinct normalized address the
        customer does not have yet, its text and coordinates from the most recent lead
        that gave it, the city, state and ZIP parsed from a `..., City, ST 12345`
        ending; the most recent is primary when the customer has no primary address.
        The id is derived from the customer and the normalized text, so a dry run
        shows the ids the real run writes. -#}
    select
        {{ customer_address_id('parsed.customer_id', 'parsed.address_normalized') }}
            as customer_address_id,
        parsed.customer_id,
        parsed.lead_id as source_lead_id,
        parsed.address,
        parsed.address_normalized,
        parsed.address_parts[1] as city,
        upper(parsed.address_parts[2]) as state,
        parsed.address_parts[3] as zip,
        parsed.latitude,
        parsed.longitude,
        -- a join, not a correlated `not exists` in the select list: PostgreSQL runs
        -- that once per row, a scan of the customers' addresses each time (no index on
        -- CustomerAddress.customer_id is assumed): 211 s at 1M leads for the 10,000
        -- leads of a re-run after changes, once 600,000 addresses existed
        parsed.recency_rank = 1
        and customers_with_primary.customer_id is null as is_primary

    from (
        -- parsed once per distinct address (the window keeps this level apart)
        select
            distinct_addresses.*,
            {{ parse_us_address('distinct_addresses.address') }} as address_parts,
            row_number() over (
                partition by distinct_addresses.customer_id
                order by distinct_addresses.created_at desc, distinct_addresses.lead_id desc
            ) as recency_rank
        from (
            select distinct on (lead_addresses.customer_id, lead_addresses.address_normalized)
                lead_addresses.customer_id,
                lead_addresses.lead_id,
                lead_addresses.address,
                lead_addresses.address_normalized,
                lead_addresses.latitude,
                lead_addresses.longitude,
                lead_addresses.created_at
            from {{ lead_addresses }} as lead_addresses
            where
                lead_addresses.address_normalized is not null
                and not exists (
                    select 1 from {{ existing_addresses }} as existing
                    where
                        existing.customer_id = lead_addresses.customer_id
                        and existing.address_normalized = lead_addresses.address_normalized
                )
            order by
                lead_addresses.customer_id asc,
                lead_addresses.address_normalized asc,
                lead_addresses.created_at desc,
                lead_addresses.lead_id desc
        ) as distinct_addresses
    ) as parsed
    left join (
        select distinct primary_addresses.customer_id
        from {{ existing_addresses }} as primary_addresses
        where primary_addresses.is_primary
    ) as customers_with_primary
        on parsed.customer_id = customers_with_primary.customer_id
{%- endmacro %}
