{% macro merge_customer_pairs_plan(references) %}
    {#- SQL statements: what merging the customers of the temporary table
        `backfill_merge_pairs` (from_id, into_id, reason; every from_id merged into its
        into_id, which is merged into nothing) does, as temporary tables - every row
        that moves from `from` to `into` (leads, jobs, addresses, rows of other tables
        pointing at customers) and the empty name, phone or e-mail of `into` that a
        merged customer fills. merge_customers and resolve_conflicts plan with it; a
        dry run stops after it. -#}
    create temp table backfill_merge_moves on commit drop as
    {% for object_type, relation in [
        ('lead', source('app', 'lead')),
        ('job', source('app', 'job')),
    ] %}
        select
            '{{ object_type }}' as object_type,
            '' as object_table,
            app_rows.id as object_id,
            pairs.from_id as previous_customer_id,
            pairs.into_id as customer_id,
            null::jsonb as before_values,
            null::boolean as is_primary_after
        from {{ relation }} as app_rows
        inner join backfill_merge_pairs as pairs
            on app_rows.customer_id = pairs.from_id
        union all
    {% endfor %}
    {% for reference in references %}
        select
            'reference' as object_type,
            {{ dbt.string_literal(reference.qualified_name) }} as object_table,
            app_rows.id as object_id,
            pairs.from_id as previous_customer_id,
            pairs.into_id as customer_id,
            null::jsonb as before_values,
            null::boolean as is_primary_after
        from {{ reference.relation }} as app_rows
        inner join backfill_merge_pairs as pairs
            on app_rows.{{ reference.column }} = pairs.from_id
        union all
    {% endfor %}
    -- an address stays primary only when `into` has no primary address yet (then the
    -- most recent of the primaries that move keeps the flag)
    select
        'customer_address' as object_type,
        '' as object_table,
        addresses.id as object_id,
        pairs.from_id as previous_customer_id,
        pairs.into_id as customer_id,
        jsonb_build_object('is_primary', addresses.is_primary) as before_values,
        addresses.is_primary
        and not exists (
            select 1
            from {{ source('app', 'customer_address') }} as into_addresses
            where into_addresses.customer_id = pairs.into_id and into_addresses.is_primary
        )
        and row_number() over (
            partition by pairs.into_id, addresses.is_primary
            order by addresses.created_at desc, addresses.id desc
        ) = 1 as is_primary_after
    from {{ source('app', 'customer_address') }} as addresses
    inner join backfill_merge_pairs as pairs
        on addresses.customer_id = pairs.from_id;

    -- each pair's earliest leads, before anything moves: the force_link that keeps
    -- them together in later groupings
    create temp table backfill_merge_first_leads on commit drop as
    select
        pairs.from_id,
        pairs.into_id,
        (
            select leads.id from {{ source('app', 'lead') }} as leads
            where leads.customer_id = pairs.from_id
            order by leads.created_at asc, leads.id asc
            limit 1
        ) as from_lead_id,
        (
            select leads.id from {{ source('app', 'lead') }} as leads
            where leads.customer_id = pairs.into_id
            order by leads.created_at asc, leads.id asc
            limit 1
        ) as into_lead_id
    from backfill_merge_pairs as pairs;

    -- `into` keeps every value it has; an empty name, phone or e-mail takes the merged
    -- customers' (the best-formed name, the most recent phone - in the app's format -
    -- and e-mail), so that the app's lookup by phone or e-mail still finds the person
    create temp table backfill_merge_fills on commit drop as
    with

    merged_values as (

        select
            pairs.into_id,
            {{ best_formed_name('nullif(btrim(merged.name), \'\')', 'merged.created_at desc, merged.id desc') }}
                as name,
            {{ most_recent_value('nullif(btrim(merged.phone), \'\')', 'merged.created_at desc, merged.id desc') }}
                as phone,
            {{ most_recent_value('nullif(btrim(merged.email), \'\')', 'merged.created_at desc, merged.id desc') }}
                as email
        from backfill_merge_pairs as pairs
        inner join {{ source('app', 'customer') }} as merged
            on pairs.from_id = merged.id
        group by pairs.into_id

    ),

    filled as (

        select
            survivors.id as customer_id,
            {% for column in ['name', 'phone', 'email'] %}
                nullif(btrim(survivors.{{ column }}), '') is null
                and merged_values.{{ column }} is not null as fills_{{ column }},
                survivors.{{ column }} as {{ column }}_before,
                {% if column == 'phone' %}
                    -- written as the app writes phones (the merged customer's may not be)
                    coalesce(
                        {{ customer_phone(normalize_phone('merged_values.phone')) }},
                        merged_values.phone
                    ) as phone_after,
                {% else %}
                    merged_values.{{ column }} as {{ column }}_after{{ ',' if not loop.last }}
                {% endif %}
            {% endfor %}
        from merged_values
        inner join {{ source('app', 'customer') }} as survivors
            on merged_values.into_id = survivors.id

    )

    select
        customer_id,
        {% for side in ['before', 'after'] %}
            {% for column in ['name', 'phone', 'email'] %}
                case when fills_{{ column }} then jsonb_build_object('{{ column }}', {{ column }}_{{ side }})
                else '{}'::jsonb end {{ '||' if not loop.last }}
            {% endfor %} as {{ side }}_values{{ ',' if not loop.last }}
        {% endfor %}
    from filled
    where fills_name or fills_phone or fills_email;
{% endmacro %}


{% macro merge_moved_counts(source_table='backfill_merge_moves') -%}
    {#- SQL jsonb expression: how many rows of each app table the merge moves (from its
        plan) - {"Lead": 2, "Conversation": 1}. -#}
    select coalesce(jsonb_object_agg(table_name, moved_count), '{}'::jsonb)
    from (
        select
            {{ ledger_table_name('moves') }} as table_name,
            count(*) as moved_count
        from {{ source_table }} as moves
        group by 1
    ) as counted
{%- endmacro %}
