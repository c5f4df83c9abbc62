{% macro rollback_writes(run_ids, references, force) %}
    {#- SQL statements, after rollback_plan in the same transaction: the rollback's writes.
        Customers a merge deleted come back first (rows move back onto them), then the
        rows are put back (each only while it is still where the runs left it), then
        the customers the runs created are deleted; the ledger entries are marked, the
        Audit row added (none when nothing was actionable: without force, a customer in
        use stops it all) and the tables analyzed. -#}
    {% set customer_type = source('app', 'customer').include(database=false) %}

    create temp table backfill_rollback_done (
        object_type text not null,
        undo_action text not null,
        object_id uuid not null
    ) on commit drop;

    {{ stop_unless_links_may_be_removed() }}

    do $backfill_changed_later$
    begin
        if exists (
            select 1
            from backfill_rollback_chains as chains
            inner join {{ ref('backfill_ledger') }} as later
                on
                    later.object_id = chains.object_id
                    and later.object_type = chains.object_type
                    and coalesce(later.object_table, '') = chains.object_table
            where
                later.rolled_back_at is null
                and later.run_id not in {{ sql_text_list(run_ids) }}
                and (coalesce(later.change_sequence, 0), later.recorded_at)
                > (chains.first_sequence, chains.first_recorded_at)
        ) then
            raise exception using
                message = 'rollback_backfill stopped without changing anything: a run or operation'
                    || ' that is not rolled back here changed again what these runs changed';
        end if;
    end
    $backfill_changed_later$;

    with written as (
        insert into {{ source('app', 'customer') }}
        select restored.*
        from backfill_rollback_actions as actions
        cross join lateral jsonb_populate_record(null::{{ customer_type }}, actions.restore_values) as restored
        where actions.object_type = 'customer' and actions.undo_action = 'restore'
        returning id
    )
    insert into backfill_rollback_done (object_type, undo_action, object_id)
    select 'customer', 'restore', id from written;

    with written as (
        update {{ source('app', 'customer') }} as customers
        set
            {% for column in ['name', 'phone', 'email'] %}
                {{ column }} = case
                    when actions.reset_only_if ? '{{ column }}'
                        and customers.{{ column }} is not distinct from actions.reset_only_if ->> '{{ column }}'
                        then actions.restore_values ->> '{{ column }}'
                    else customers.{{ column }}
                end{{ ',' if not loop.last }}
            {% endfor %}
        from backfill_rollback_actions as actions
        where
            actions.object_type = 'customer'
            and actions.undo_action = 'reset_values'
            and customers.id = actions.object_id
        returning customers.id
    )
    insert into backfill_rollback_done (object_type, undo_action, object_id)
    select 'customer', 'reset_values', id from written;

    {% for object_type, relation, column in [
        ('job', source('app', 'job'), 'customer_id'),
        ('lead', source('app', 'lead'), 'customer_id'),
        ('customer_address', source('app', 'customer_address'), 'customer_id'),
    ] %}
        with written as (
            update {{ relation }} as app_rows
            set
                customer_id = actions.target_customer_id
                {%- if object_type == 'customer_address' %},
                is_primary = coalesce((actions.restore_values ->> 'is_primary')::boolean, app_rows.is_primary)
                {%- endif %}
            from backfill_rollback_actions as actions
            where
                actions.object_type = '{{ object_type }}'
                and actions.undo_action = 'relink'
                and app_rows.id = actions.object_id
                and app_rows.customer_id = actions.current_customer_id
            returning app_rows.id, actions.target_customer_id
        )
        insert into backfill_rollback_done (object_type, undo_action, object_id)
        select
            '{{ object_type }}',
            case when target_customer_id is null then 'unlink' else 'move_back' end,
            id
        from written;
    {% endfor %}

    {% for reference in references if reference.has_id %}
        with written as (
            update {{ reference.relation }} as app_rows
            set {{ reference.column }} = actions.target_customer_id
            from backfill_rollback_actions as actions
            where
                actions.object_type = 'reference'
                and actions.object_table = {{ dbt.string_literal(reference.qualified_name) }}
                and actions.undo_action = 'relink'
                and app_rows.id = actions.object_id
                and app_rows.{{ reference.column }} = actions.current_customer_id
            returning app_rows.id
        )
        insert into backfill_rollback_done (object_type, undo_action, object_id)
        select 'reference', 'move_back', id from written;
    {% endfor %}

    {% for object_type, relation in [
        ('customer_address', source('app', 'customer_address')),
        ('customer', source('app', 'customer')),
    ] %}
        with written as (
            delete from {{ relation }} as app_rows
            using backfill_rollback_actions as actions
            where
                actions.object_type = '{{ object_type }}'
                and actions.undo_action = 'delete'
                and app_rows.id = actions.object_id
            returning app_rows.id
        )
        insert into backfill_rollback_done (object_type, undo_action, object_id)
        select '{{ object_type }}', 'delete', id from written;
    {% endfor %}

    update {{ ref('backfill_ledger') }} as ledger
    set
        rolled_back_by_run_id = {{ dbt.string_literal(invocation_id) }},
        rolled_back_at = now()
    from backfill_rollback_undone_entries as entries
    where
        ledger.run_id = entries.run_id
        and ledger.object_type = entries.object_type
        and coalesce(ledger.object_table, '') = entries.object_table
        and ledger.object_id = entries.object_id
        and ledger.rolled_back_at is null;

    {{ insert_audit_row(
        'backfill_customers_rollback',
        rollback_payload(run_ids, force, 'backfill_rollback_done'),
        'true' if force else 'not exists (select 1 from backfill_rollback_blockers)',
    ) }}

    {{ analyze_relations([
        source('app', 'lead'),
        source('app', 'job'),
        source('app', 'customer_address'),
        source('app', 'customer'),
        ref('backfill_ledger'),
    ]) }}
{% endmacro %}


{% macro stop_unless_links_may_be_removed() %}
    {#- SQL: stops the rollback's transaction before any write when it would set a lead's
        or a job's customer_id back to null where the app requires one (NOT NULL, the
        app's migration after the backfill). rollback_backfill checks it before the
        transaction too, with a message; this guard holds if the migration ran since. -#}
    do $backfill_links_required$
    begin
        if exists (
            select 1
            from backfill_rollback_actions as actions
            inner join pg_attribute as columns
                on
                    columns.attrelid = case actions.object_type
                        when 'lead' then to_regclass({{ sql_text_literal(source('app', 'lead') | string) }})
                        when 'job' then to_regclass({{ sql_text_literal(source('app', 'job') | string) }})
                    end
                    and columns.attname = 'customer_id'
                    and columns.attnotnull
            where actions.undo_action = 'relink' and actions.target_customer_id is null
        ) then
            raise exception using
                message = 'rollback_backfill stopped without changing anything: it would set'
                    || ' customer_id back to null on leads or jobs, and the app now requires one'
                    || ' (NOT NULL)';
        end if;
    end
    $backfill_links_required$;
{% endmacro %}
