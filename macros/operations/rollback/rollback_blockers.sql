{% macro rollback_blockers(run_ids, references) %}
    {#- SQL select, reading the rollback's temporary tables: one row per (customer, reason)
        for each customer the runs created that something else would still use after
        the rollback - a lead, job or address the app linked or added (or a run not
        rolled back here), a row of another table pointing at it, an edit since it was
        created. -#}
    with

    deleted_customers as (

        select
            candidates.object_id as customer_id,
            chains.first_recorded_at as created_recorded_at,
            customers.updated_at

        from backfill_rollback_candidates as candidates
        inner join backfill_rollback_chains as chains
            on chains.object_type = 'customer' and candidates.object_id = chains.object_id
        inner join {{ source('app', 'customer') }} as customers
            on candidates.object_id = customers.id
        where candidates.object_type = 'customer' and candidates.undo_action = 'delete'

    ),

    other_runs_entries as not materialized (

        select
            run_id,
            object_type,
            object_id,
            customer_id

        from {{ ref('backfill_ledger') }}
        where
            rolled_back_at is null
            and run_id not in {{ sql_text_list(run_ids) }}

    ),

    {% for object_type, table, noun, verb in [
        ('lead', source('app', 'lead'), 'lead(s)', 'linked'),
        ('job', source('app', 'job'), 'job(s)', 'linked'),
        ('customer_address', source('app', 'customer_address'), 'address(es)', 'added'),
    ] %}
        {{ object_type }}_uses as (

            -- the rows pointing at it that the rollback does not take away from it
            select
                deleted_customers.customer_id,
                case
                    when other_runs_entries.run_id is null then '{{ noun }} {{ verb }} by the app'
                    else '{{ noun }} {{ verb }} by run ' || other_runs_entries.run_id
                        || ', which is not rolled back here'
                end as reason,
                app_rows.id::text as object_id

            from deleted_customers
            inner join {{ table }} as app_rows
                on deleted_customers.customer_id = app_rows.customer_id
            left join backfill_rollback_candidates as candidates
                on
                    candidates.object_type = '{{ object_type }}'
                    and app_rows.id = candidates.object_id
                    and candidates.undo_action in ('relink', 'delete')
            left join other_runs_entries
                on
                    other_runs_entries.object_type = '{{ object_type }}'
                    and app_rows.id = other_runs_entries.object_id
                    and app_rows.customer_id = other_runs_entries.customer_id
            where candidates.object_id is null

            union all

            -- the rows the rollback would move back onto it (they were the app's)
            select
                deleted_customers.customer_id,
                '{{ noun }} {{ verb }} by the app' as reason,
                candidates.object_id::text as object_id

            from deleted_customers
            inner join backfill_rollback_candidates as candidates
                on
                    candidates.object_type = '{{ object_type }}'
                    and candidates.undo_action = 'relink'
                    and deleted_customers.customer_id = candidates.target_customer_id

        ),
    {% endfor %}

    {% for reference in references %}
        reference_{{ loop.index }}_uses as (

            select
                deleted_customers.customer_id,
                {{ dbt.string_literal(reference_use_reason(reference)) }} as reason,
                app_rows.{{ reference.row_id }} as object_id

            from deleted_customers
            inner join {{ reference.relation }} as app_rows
                on deleted_customers.customer_id = app_rows.{{ reference.column }}
            {% if reference.has_id %}
                left join backfill_rollback_candidates as candidates
                    on
                        candidates.object_type = 'reference'
                        and candidates.object_table = {{ dbt.string_literal(reference.qualified_name) }}
                        and app_rows.id = candidates.object_id
                        and candidates.undo_action = 'relink'
                where candidates.object_id is null

                union all

                select
                    deleted_customers.customer_id,
                    {{ dbt.string_literal(reference_use_reason(reference)) }} as reason,
                    candidates.object_id::text as object_id

                from deleted_customers
                inner join backfill_rollback_candidates as candidates
                    on
                        candidates.object_type = 'reference'
                        and candidates.object_table = {{ dbt.string_literal(reference.qualified_name) }}
                        and candidates.undo_action = 'relink'
                        and deleted_customers.customer_id = candidates.target_customer_id
            {% endif %}

        ),
    {% endfor %}

    edits as (

        select
            customer_id,
            'edited since the backfill created it (updated_at ' || updated_at::text || ')' as reason,
            customer_id::text as object_id

        from deleted_customers
        where updated_at > created_recorded_at

    ),

    uses as (

        select * from lead_uses
        union all
        select * from job_uses
        union all
        select * from customer_address_uses
        {% for reference in references %}
            union all
            select * from reference_{{ loop.index }}_uses
        {% endfor %}
        union all
        select * from edits

    )

    select
        customer_id,
        reason,
        count(distinct object_id) as object_count,
        min(object_id) as example

    from uses
    group by customer_id, reason
{%- endmacro %}


{% macro reference_use_reason(reference) -%}
    {#- Why a row of another table that points at a customer keeps it: what deleting the
        customer would do to that row, from the foreign key's delete action. -#}
    {%- set what = {
        'c': 'deleting the customer would delete them',
        'n': 'deleting the customer would leave them without one (' ~ reference.column_name ~ ' set to null)',
        'd': 'deleting the customer would give them the column default instead',
        'a': 'the database refuses to delete a customer they point at',
        'r': 'the database refuses to delete a customer they point at',
    }.get(reference.delete_action,
        'deleting the customer would leave them pointing at a customer that does not exist') -%}
    row(s) of "{{ reference.table }}" pointing at it; {{ what }}
{%- endmacro %}
