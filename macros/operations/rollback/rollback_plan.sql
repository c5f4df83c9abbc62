{% macro rollback_plan(run_ids, references, force, lock_customers) %}
    {#- SQL statements: what a rollback of `run_ids` does, as temporary tables (no app
        write) - the statements a real rollback runs first in its transaction, and the
        ones its dry run runs alone. Each object the runs changed has a chain of ledger
        entries; the rollback puts it back as it was before the first of them, when it
        still is as the last of them left it (else the app changed it since, and it is
        left alone). Result: backfill_rollback_actions (one row per object, with what
        to do), backfill_rollback_blockers (the customers the runs created that the app
        uses now) and backfill_rollback_undone_entries (the ledger entries to mark).
        `lock_customers`: lock the customers the rollback may delete or restore (a real
        rollback), so nobody links to them until it commits. -#}
    {% set ledger = ref('backfill_ledger') %}
    {% set order_key = 'change_sequence, recorded_at' %}

    create temp table backfill_rollback_entries on commit drop as
    select
        ledger.run_id,
        ledger.object_type,
        coalesce(ledger.object_table, '') as object_table,
        ledger.object_column,
        ledger.object_id,
        {{ ledger_change_kind('ledger') }} as change_type,
        ledger.customer_id,
        ledger.previous_customer_id,
        ledger.before_values,
        ledger.after_values,
        coalesce(ledger.change_sequence, 0) as change_sequence,
        ledger.recorded_at

    from {{ ledger }} as ledger
    where
        ledger.rolled_back_at is null
        and ledger.run_id in {{ sql_text_list(run_ids) }};

    -- one row per object: the first and the last of its changes (every aggregate sorts
    -- the same way, so PostgreSQL 16+ sorts the entries once)
    create temp table backfill_rollback_chains on commit drop as
    select
        object_type,
        object_table,
        max(object_column) as object_column,
        object_id,
        (array_agg(change_sequence order by {{ order_key }}))[1] as first_sequence,
        (array_agg(recorded_at order by {{ order_key }}))[1] as first_recorded_at,
        (array_agg(change_type order by {{ order_key }}))[1] as first_change,
        (array_agg(previous_customer_id order by {{ order_key }}))[1] as first_previous_customer_id,
        (array_agg(before_values order by {{ order_key }}))[1] as first_before_values,
        (array_agg(change_type order by {{ order_key }}))[count(*)] as last_change,
        (array_agg(customer_id order by {{ order_key }}))[count(*)] as last_customer_id,
        (array_agg(before_values order by {{ order_key }}))[count(*)] as last_before_values

    from backfill_rollback_entries
    group by object_type, object_table, object_id;
    analyze backfill_rollback_chains;

    -- a customer's values as they were before the runs' first updates of them (merges
    -- that filled an empty name, phone or e-mail), and as the last update left them
    create temp table backfill_rollback_customer_values on commit drop as
    select
        changed.object_id,
        jsonb_object_agg(changed.column_name, changed.value_before) as values_before,
        jsonb_object_agg(changed.column_name, changed.value_after) as values_after

    from (
        select
            entries.object_id,
            changed_columns.key as column_name,
            (array_agg(changed_columns.value order by entries.change_sequence, entries.recorded_at))[1]
                as value_before,
            (array_agg(entries.after_values -> changed_columns.key
                order by entries.change_sequence desc, entries.recorded_at desc))[1] as value_after
        from backfill_rollback_entries as entries
        cross join lateral jsonb_each(entries.before_values) as changed_columns
        where entries.object_type = 'customer' and entries.change_type = 'update'
        group by entries.object_id, changed_columns.key
    ) as changed
    group by changed.object_id;

    {% if lock_customers %}
        -- the customers the rollback may delete or restore: nobody may link to them
        -- until it commits
        select customers.id
        from {{ source('app', 'customer') }} as customers
        inner join backfill_rollback_chains as chains
            on chains.object_type = 'customer' and chains.object_id = customers.id
        for update of customers;
    {% endif %}

    -- where each object is now: its customer (rows) or whether it exists (customers)
    create temp table backfill_rollback_states on commit drop as
    {% for object_type, relation in [
        ('lead', source('app', 'lead')),
        ('job', source('app', 'job')),
        ('customer_address', source('app', 'customer_address')),
    ] %}
        select
            chains.*,
            app_rows.id is not null as is_present,
            app_rows.customer_id as current_customer_id
        from backfill_rollback_chains as chains
        left join {{ relation }} as app_rows
            on chains.object_id = app_rows.id
        where chains.object_type = '{{ object_type }}'
        union all
    {% endfor %}
    {% for reference in references if reference.has_id %}
        select
            chains.*,
            app_rows.id is not null as is_present,
            app_rows.{{ reference.column }} as current_customer_id
        from backfill_rollback_chains as chains
        left join {{ reference.relation }} as app_rows
            on chains.object_id = app_rows.id
        where
            chains.object_type = 'reference'
            and chains.object_table = {{ dbt.string_literal(reference.qualified_name) }}
        union all
    {% endfor %}
    select
        chains.*,
        customers.id is not null as is_present,
        customers.id as current_customer_id
    from backfill_rollback_chains as chains
    left join {{ source('app', 'customer') }} as customers
        on chains.object_id = customers.id
    where chains.object_type = 'customer';

    -- what to do with each object. A row goes back to the customer it had before the
    -- first change (none for a link; deleted for an address a run created) when it is
    -- still where the last change put it and that customer exists (or is restored); a
    -- customer a run created is deleted, one a merge deleted is restored, one a merge
    -- filled gets its old values back
    create temp table backfill_rollback_candidates on commit drop as
    with

    restored_customers as (

        select object_id as customer_id
        from backfill_rollback_states
        where object_type = 'customer' and first_change <> 'create' and not is_present

    ),

    decided as (

        select
            states.object_type,
            states.object_table,
            states.object_column,
            states.object_id,
            states.current_customer_id,
            case
                when states.object_type = 'customer' then
                    case
                        when states.first_change = 'create' and states.is_present then 'delete'
                        when states.first_change <> 'create' and not states.is_present
                            and states.last_change = 'delete' then 'restore'
                        when states.first_change <> 'create' and states.is_present
                            and customer_values.object_id is not null then 'reset_values'
                        else 'none'
                    end
                when
                    not states.is_present
                    or (states.current_customer_id is distinct from states.last_customer_id)
                    then 'none'
                when states.object_type = 'customer_address' and states.first_change = 'create'
                    then 'delete'
                when states.first_change = 'link' then 'relink'
                when exists (
                    select 1 from {{ source('app', 'customer') }} as customers
                    where customers.id = states.first_previous_customer_id
                ) or states.first_previous_customer_id in (
                    select restored_customers.customer_id from restored_customers
                ) then 'relink'
                else 'none'
            end as undo_action,
            case
                when states.object_type <> 'customer' and states.first_change = 'move'
                    then states.first_previous_customer_id
            end as target_customer_id,
            case
                when states.object_type = 'customer' and states.first_change <> 'create'
                    then coalesce(states.last_before_values, '{}'::jsonb)
                        || coalesce(customer_values.values_before, '{}'::jsonb)
                when states.object_type = 'customer_address' then states.first_before_values
            end as restore_values,
            customer_values.values_after as reset_only_if

        from backfill_rollback_states as states
        left join backfill_rollback_customer_values as customer_values
            on states.object_type = 'customer' and states.object_id = customer_values.object_id

    )

    select * from decided;
    analyze backfill_rollback_candidates;

    -- the customers the runs created that something else uses now (and would still use
    -- after the rollback): deleting them would delete or orphan app data
    create temp table backfill_rollback_blockers on commit drop as
    {{ rollback_blockers(run_ids, references) }};
    analyze backfill_rollback_blockers;

    -- without force, one customer in use stops the whole rollback: nothing to do; with
    -- force, those customers stay, with every row that points at them
    create temp table backfill_rollback_actions on commit drop as
    select candidates.*
    from backfill_rollback_candidates as candidates
    where
        not exists (
            select 1 from backfill_rollback_blockers as blockers
            where
                blockers.customer_id = candidates.current_customer_id
                or (candidates.object_type = 'customer' and blockers.customer_id = candidates.object_id)
        )
        and {{ 'true' if force else 'not exists (select 1 from backfill_rollback_blockers)' }};
    analyze backfill_rollback_actions;

    create temp table backfill_rollback_undone_entries on commit drop as
    select
        entries.run_id,
        entries.object_type,
        entries.object_table,
        entries.object_id

    from backfill_rollback_entries as entries
    inner join backfill_rollback_actions as actions
        on
            entries.object_type = actions.object_type
            and entries.object_table = actions.object_table
            and entries.object_id = actions.object_id;
    analyze backfill_rollback_undone_entries;
{% endmacro %}


{% macro ledger_change_kind(ledger) -%}
    {#- SQL expression: a ledger entry's change; entries of versions before 2026-12 have
        none, and were creations (customers, addresses) or links (leads, jobs). -#}
    coalesce(
        {{ ledger }}.change_type,
        case when {{ ledger }}.object_type in ('lead', 'job') then 'link' else 'create' end
    )
{%- endmacro %}
