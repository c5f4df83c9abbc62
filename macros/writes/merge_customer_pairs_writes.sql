{% macro merge_customer_pairs_writes(references, operation) %}
    {#- SQL statements, after merge_customer_pairs_plan in the same transaction: the
        merge's writes, each recorded in the ledger so that a rollback undoes it (the
        merged customer comes back with its rows). The customers are locked and must
        all still exist; `into` is filled, the rows move, the merged customers are
        deleted, and a force_link between their earliest leads keeps them together in
        later groupings. -#}
    create temp table backfill_merge_locked on commit drop as
    select customers.id
    from {{ source('app', 'customer') }} as customers
    where customers.id in (
        select pairs.from_id from backfill_merge_pairs as pairs
        union
        select pairs.into_id from backfill_merge_pairs as pairs
    )
    for update of customers;

    do $backfill_merge$
    begin
        if (select count(*) from backfill_merge_locked) < (
            select count(*) from (
                select from_id from backfill_merge_pairs
                union
                select into_id from backfill_merge_pairs
            ) as wanted
        ) then
            raise exception using
                message = {{ sql_text_literal(operation ~ ' stopped without changing anything: a customer it'
                    ~ ' would merge no longer exists (run the dry run again)') }};
        end if;
    end
    $backfill_merge$;

    with written as (
        update {{ source('app', 'customer') }} as customers
        set
            name = coalesce(fills.after_values ->> 'name', customers.name),
            phone = coalesce(fills.after_values ->> 'phone', customers.phone),
            email = coalesce(fills.after_values ->> 'email', customers.email)
        from backfill_merge_fills as fills
        where customers.id = fills.customer_id
        returning customers.id, customers.id as customer_id, fills.before_values, fills.after_values
    )
    {{ record_changes(
        'customer', 'update', before_values='written.before_values', after_values='written.after_values'
    ) }};

    {% for object_type, relation in [
        ('lead', source('app', 'lead')),
        ('job', source('app', 'job')),
    ] %}
        {{ move_rows(object_type, relation, merge_moves_of(object_type)) }}
    {% endfor %}
    {{ move_rows(
        'customer_address',
        source('app', 'customer_address'),
        merge_moves_of('customer_address'),
        extra_set='is_primary = moves.is_primary_after',
    ) }}
    {% for reference in references %}
        {{ move_rows('reference', reference.relation, merge_moves_of('reference', reference), reference=reference) }}
    {% endfor %}

    with written as (
        delete from {{ source('app', 'customer') }} as customers
        using backfill_merge_pairs as pairs
        where customers.id = pairs.from_id
        returning customers.id, customers.id as customer_id, to_jsonb(customers) as before_values
    )
    {{ record_changes('customer', 'delete', before_values='written.before_values') }};

    {{ insert_manual_overrides(
        'force_link',
        'select from_lead_id as lead_id, into_lead_id as other_lead_id from backfill_merge_first_leads'
        ~ ' where from_lead_id is not null and into_lead_id is not null',
        operation ~ ': customers merged',
    ) }}
{% endmacro %}


{% macro merge_moves_of(object_type, reference=none) -%}
    {#- SQL select: the planned moves of one kind of row (for move_rows). -#}
    select object_id, previous_customer_id, customer_id, before_values, is_primary_after
    from backfill_merge_moves
    where
        object_type = {{ dbt.string_literal(object_type) }}
        and object_table = {{ dbt.string_literal(reference.qualified_name if reference else '') }}
{%- endmacro %}
