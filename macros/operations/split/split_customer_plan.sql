{% macro split_plan(customer_id, lead_ids) %}
    {#- SQL statements: what the split does, as temporary tables - the leads (read live
        from the app, normalized as staging does), the new customer they get (as the
        backfill makes one: new_customer_from_leads), the rows that move to it, its
        addresses and the do_not_link pairs. -#}
    {% set customer_literal = dbt.string_literal(customer_id) ~ '::uuid' %}
    create temp table backfill_split_leads on commit drop as
    {{ live_leads_for_a_new_customer(
        'id in ' ~ sql_uuid_list(lead_ids) ~ ' and customer_id = ' ~ customer_literal
    ) }};

    create temp table backfill_split_customer on commit drop as
    {{ new_customer_from_leads('backfill_split_leads') }};

    create temp table backfill_split_moves on commit drop as
    select
        'lead' as object_type,
        '' as object_table,
        leads.lead_id as object_id,
        {{ customer_literal }} as previous_customer_id,
        new_customer.customer_id,
        null::jsonb as before_values
    from backfill_split_leads as leads
    cross join backfill_split_customer as new_customer
    union all
    select
        'job' as object_type,
        '' as object_table,
        jobs.id as object_id,
        {{ customer_literal }} as previous_customer_id,
        new_customer.customer_id,
        null::jsonb as before_values
    from {{ source('app', 'job') }} as jobs
    cross join backfill_split_customer as new_customer
    where
        jobs.lead_id in (select backfill_split_leads.lead_id from backfill_split_leads)
        and jobs.customer_id = {{ customer_literal }};

    create temp table backfill_split_addresses on commit drop as
    {{ new_customer_addresses('backfill_split_leads', 'backfill_split_customer') }};

    create temp table backfill_split_pairs on commit drop as
    select
        backfill_split_leads.lead_id,
        remaining_leads.id as other_lead_id
    from backfill_split_leads
    cross join {{ source('app', 'lead') }} as remaining_leads
    where
        remaining_leads.customer_id = {{ customer_literal }}
        and remaining_leads.id not in (select backfill_split_leads.lead_id from backfill_split_leads);
{% endmacro %}


{% macro split_summary() -%}
    {#- SQL jsonb expression, from the split's plan: the new customer and what it moves
        or creates (`moved`: rows by table, and the do_not_link pairs). -#}
    select jsonb_build_object(
        'newCustomerId', new_customer.customer_id,
        'firstLeadId', new_customer.first_lead_id,
        'newCustomerExists', exists (
            select 1 from {{ source('app', 'customer') }} as customers
            where customers.id = new_customer.customer_id
        ),
        'name', new_customer.customer_name,
        'phone', new_customer.phone,
        'email', new_customer.email,
        'moved', ({{ merge_moved_counts('backfill_split_moves') }}) || jsonb_build_object(
            'CustomerAddress', (select count(*) from backfill_split_addresses),
            'do_not_link pairs', (select count(*) from backfill_split_pairs)
        )
    )
    from backfill_split_customer as new_customer
{%- endmacro %}
