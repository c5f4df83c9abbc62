{% macro insert_new_customers(customers, metadata='{}') -%}
    {#- SQL: inserts customers and records each creation in the ledger. `customers` is a
        select (or a table) of customer_id, customer_name, phone, email and lead_count;
        `metadata` a jsonb expression over its columns, to which the standard keys are
        added (leadCount, multipleLeads, createdBy, createdAt, runId). Ids are
        deterministic: one that exists already is left alone (ON CONFLICT DO NOTHING). -#}
    with written as (
        insert into {{ source('app', 'customer') }}
            (id, name, phone, email, metadata, created_at, updated_at)
        select
            new_customers.customer_id,
            new_customers.customer_name,
            new_customers.phone,
            new_customers.email,
            ({{ metadata }})::jsonb || jsonb_build_object(
                'leadCount', new_customers.lead_count,
                'multipleLeads', new_customers.lead_count > 1,
                'createdBy', {{ dbt.string_literal(var('created_by')) }},
                'createdAt', now(),
                'runId', {{ dbt.string_literal(invocation_id) }}
            ),
            now(),
            now()
        from {{ customers }} as new_customers
        on conflict (id) do nothing
        returning id, id as customer_id
    )
    {{ record_changes('customer', 'create') }};
{%- endmacro %}


{% macro insert_new_addresses(addresses) -%}
    {#- SQL: inserts CustomerAddress rows and records each creation in the ledger.
        `addresses` is a select (or a table) with the columns of addresses_to_add. -#}
    with written as (
        insert into {{ source('app', 'customer_address') }}
            (id, customer_id, address, city, state, zip, lat, lng, is_primary, metadata, created_at)
        select
            new_addresses.customer_address_id,
            new_addresses.customer_id,
            new_addresses.address,
            new_addresses.city,
            new_addresses.state,
            new_addresses.zip,
            new_addresses.latitude,
            new_addresses.longitude,
            new_addresses.is_primary,
            jsonb_build_object(
                'createdBy', {{ dbt.string_literal(var('created_by')) }},
                'runId', {{ dbt.string_literal(invocation_id) }},
                'sourceLeadId', new_addresses.source_lead_id
            ),
            now()
        from {{ addresses }} as new_addresses
        on conflict (id) do nothing
        returning id, customer_id
    )
    {{ record_changes('customer_address', 'create') }};
{%- endmacro %}
