{% macro rollback_entries_sql(run_ids) %}
    {#- SQL select: the ledger entries of the runs that are not rolled back yet. -#}
    select
        run_id,
        object_type,
        object_id,
        customer_id,
        recorded_at

    from {{ ref('backfill_ledger') }}
    where
        rolled_back_at is null
        and run_id in {{ sql_text_list(run_ids) }}
{% endmacro %}


{% macro rollback_blockers_sql(run_ids, references) %}
    {#- SQL select, reading `backfill_rollback_entries`: one row per (customer, reason)
        for each customer the runs created that something else uses now - a lead, job
        or address linked by the app or by a run not rolled back here, a row of another
        table pointing at it, or an edit since it was created. Deleting such a customer
        would delete or orphan that data, so the rollback keeps it (force) or stops. -#}
    with

    rollback_customers as not materialized (

        select
            entries.object_id as customer_id,
            max(entries.recorded_at) as recorded_at,
            max(customers.updated_at) as updated_at

        from backfill_rollback_entries as entries
        inner join {{ source('app', 'customer') }} as customers
            on entries.object_id = customers.id
        where entries.object_type = 'customer'
        group by entries.object_id

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

            select
                rollback_customers.customer_id,
                case
                    when other_runs_entries.run_id is null then '{{ noun }} {{ verb }} by the app'
                    else '{{ noun }} {{ verb }} by run ' || other_runs_entries.run_id
                        || ', which is not rolled back here'
                end as reason,
                app_rows.id::text as object_id

            from rollback_customers
            inner join {{ table }} as app_rows
                on rollback_customers.customer_id = app_rows.customer_id
            left join backfill_rollback_entries as entries
                on
                    entries.object_type = '{{ object_type }}'
                    and app_rows.id = entries.object_id
                    and app_rows.customer_id = entries.customer_id
            left join other_runs_entries
                on
                    other_runs_entries.object_type = '{{ object_type }}'
                    and app_rows.id = other_runs_entries.object_id
                    and app_rows.customer_id = other_runs_entries.customer_id
            where entries.object_id is null

        ),
    {% endfor %}

    {% for reference in references %}
        reference_{{ loop.index }}_uses as (

            select
                rollback_customers.customer_id,
                {{ dbt.string_literal('row(s) of "' ~ reference.table ~ '" pointing at it') }} as reason,
                app_rows.{{ reference.row_id }} as object_id

            from rollback_customers
            inner join {{ reference.relation }} as app_rows
                on rollback_customers.customer_id = app_rows.{{ reference.column }}

        ),
    {% endfor %}

    edits as (

        select
            customer_id,
            'edited since the backfill created it (updated_at ' || updated_at::text || ')' as reason,
            customer_id::text as object_id

        from rollback_customers
        where updated_at > recorded_at

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
{% endmacro %}


{% macro rollback_counts_sql(run_ids) %}
    {#- SQL, after the CTEs backfill_rollback_entries and backfill_rollback_blockers:
        one row with what the rollback will do (the dry run's preview). -#}
    ,

    actionable_entries as (

        select entries.*
        from backfill_rollback_entries as entries
        where not exists (
            select 1
            from backfill_rollback_blockers as blockers
            where blockers.customer_id = entries.customer_id
        )

    )

    select
        (
            select count(distinct customers.id)
            from actionable_entries as entries
            inner join {{ source('app', 'customer') }} as customers
                on entries.object_type = 'customer' and entries.object_id = customers.id
        ) as customers_deleted,
        {% for object_type, table, column_name in [
            ('lead', source('app', 'lead'), 'leads_unlinked'),
            ('job', source('app', 'job'), 'jobs_unlinked'),
            ('customer_address', source('app', 'customer_address'), 'addresses_deleted'),
        ] %}
            (
                select count(distinct app_rows.id)
                from actionable_entries as entries
                inner join {{ table }} as app_rows
                    on
                        entries.object_type = '{{ object_type }}'
                        and entries.object_id = app_rows.id
                        and entries.customer_id = app_rows.customer_id
            ) as {{ column_name }},
        {% endfor %}
        (select count(distinct customer_id) from backfill_rollback_blockers) as customers_kept,
        (select count(*) from actionable_entries) as entries_rolled_back
{% endmacro %}


{% macro rollback_kept_listing_sql() %}
    {#- SQL, after the same CTEs: one row per kept customer, with its reasons in words. -#}
    select
        customer_id,
        string_agg(
            case
                when reason like 'edited%' then reason
                else object_count || ' ' || reason || ' (e.g. ' || example || ')'
            end,
            '; ' order by reason
        ) as reasons

    from backfill_rollback_blockers
    group by customer_id
    order by customer_id
{% endmacro %}


{% macro rollback_runs_listing_sql(run_ids) %}
    {#- SQL: the runs being rolled back, newest first, with what kind of run each is. -#}
    select
        ledger.run_id,
        min(ledger.recorded_at) as recorded_at,
        count(*) as entry_count,
        case
            when exists (
                select 1 from {{ ref('backfill_runs') }} as runs
                where runs.run_id = ledger.run_id
            ) then 'backfill run'
            else 'customer operation'
        end as run_kind

    from {{ ref('backfill_ledger') }} as ledger
    where
        ledger.rolled_back_at is null
        and ledger.run_id in {{ sql_text_list(run_ids) }}
    group by ledger.run_id
    order by max(ledger.recorded_at) desc, ledger.run_id desc
{% endmacro %}


{% macro rollback_statements(run_ids, references, force) %}
    {#- The rollback's writes, for run_atomically: compute the entries and the customers
        in use inside the transaction (with those customers locked); if any is in use
        and force is false, change nothing and write no Audit row; else undo the rest
        (jobs and leads unlinked only where the link is still the backfill's; addresses
        and customers deleted), mark the ledger entries, add the Audit row, and analyze
        what it changed. -#}
    create temp table backfill_rollback_entries on commit drop as
    {{ rollback_entries_sql(run_ids) }};
    analyze backfill_rollback_entries;

    -- the customers the rollback may delete: nobody may link to them until it commits
    select customers.id
    from {{ source('app', 'customer') }} as customers
    inner join backfill_rollback_entries as entries
        on entries.object_type = 'customer' and entries.object_id = customers.id
    for update of customers;

    create temp table backfill_rollback_blockers on commit drop as
    {{ rollback_blockers_sql(run_ids, references) }};
    analyze backfill_rollback_blockers;

    {#- Without force, one customer in use stops the whole rollback: nothing is
        actionable, so nothing changes and no Audit row is written, which is how
        rollback_backfill tells that it stopped (and then lists them). -#}
    create temp table backfill_rollback_actionable on commit drop as
    select entries.*
    from backfill_rollback_entries as entries
    where
        not exists (
            select 1
            from backfill_rollback_blockers as blockers
            where blockers.customer_id = entries.customer_id
        )
        {% if not force %}
            and not exists (select 1 from backfill_rollback_blockers)
        {% endif %};
    analyze backfill_rollback_actionable;

    create temp table backfill_rollback_undone (
        object_type text not null,
        object_id uuid not null
    ) on commit drop;

    {% for object_type, table in [('job', source('app', 'job')), ('lead', source('app', 'lead'))] %}
        with unlinked as (
            update {{ table }} as app_rows
            set customer_id = null
            from backfill_rollback_actionable as entries
            where
                entries.object_type = '{{ object_type }}'
                and app_rows.id = entries.object_id
                and app_rows.customer_id = entries.customer_id
            returning app_rows.id
        )
        insert into backfill_rollback_undone (object_type, object_id)
        select '{{ object_type }}', id from unlinked;
    {% endfor %}

    with deleted as (
        delete from {{ source('app', 'customer_address') }} as addresses
        using backfill_rollback_actionable as entries
        where
            entries.object_type = 'customer_address'
            and addresses.id = entries.object_id
            and addresses.customer_id = entries.customer_id
        returning addresses.id
    )
    insert into backfill_rollback_undone (object_type, object_id)
    select 'customer_address', id from deleted;

    with deleted as (
        delete from {{ source('app', 'customer') }} as customers
        using backfill_rollback_actionable as entries
        where
            entries.object_type = 'customer'
            and customers.id = entries.object_id
        returning customers.id
    )
    insert into backfill_rollback_undone (object_type, object_id)
    select 'customer', id from deleted;

    update {{ ref('backfill_ledger') }} as ledger
    set
        rolled_back_by_run_id = {{ dbt.string_literal(invocation_id) }},
        rolled_back_at = now()
    from backfill_rollback_actionable as entries
    where
        ledger.run_id = entries.run_id
        and ledger.object_type = entries.object_type
        and ledger.object_id = entries.object_id
        and ledger.rolled_back_at is null;

    insert into {{ source('app', 'audit') }} (id, lead_id, actor, action, payload, created_at)
    select
        gen_random_uuid(),
        null,
        'system',
        'backfill_customers_rollback',
        jsonb_build_object(
            'rollbackId', {{ dbt.string_literal(invocation_id) }},
            'mode', 'rollback',
            'runIds', to_jsonb({{ sql_text_array(run_ids) }}),
            'force', {{ 'true' if force else 'false' }},
            'createdBy', {{ dbt.string_literal(var('created_by')) }},
            'dbtVersion', {{ dbt.string_literal(dbt_version) }},
            'stats', jsonb_build_object(
                'customersDeleted', (
                    select count(*) from backfill_rollback_undone where object_type = 'customer'
                ),
                'leadsUnlinked', (
                    select count(*) from backfill_rollback_undone where object_type = 'lead'
                ),
                'jobsUnlinked', (
                    select count(*) from backfill_rollback_undone where object_type = 'job'
                ),
                'addressesDeleted', (
                    select count(*) from backfill_rollback_undone where object_type = 'customer_address'
                ),
                'customersKept', (select count(distinct customer_id) from backfill_rollback_blockers),
                'entriesRolledBack', (select count(*) from backfill_rollback_actionable)
            ),
            'keptCustomers', (
                select coalesce(jsonb_agg(kept order by kept.customer_id), '[]'::jsonb)
                from (
                    select
                        customer_id,
                        jsonb_agg(
                            jsonb_build_object('reason', reason, 'count', object_count, 'example', example)
                            order by reason
                        ) as reasons
                    from backfill_rollback_blockers
                    group by customer_id
                    order by customer_id
                    limit 1000
                ) as kept
            )
        ),
        now()
    {% if not force %}
        where not exists (select 1 from backfill_rollback_blockers)
    {% endif %};

    {{ analyze_relations([
        source('app', 'lead'),
        source('app', 'job'),
        source('app', 'customer_address'),
        source('app', 'customer'),
        ref('backfill_ledger'),
    ]) }}
{% endmacro %}


{% macro rollback_result_sql() %}
    {#- SQL: the statistics of this invocation's rollback, read back from its Audit row. -#}
    select
        (payload -> 'stats' ->> 'customersDeleted')::int as customers_deleted,
        (payload -> 'stats' ->> 'leadsUnlinked')::int as leads_unlinked,
        (payload -> 'stats' ->> 'jobsUnlinked')::int as jobs_unlinked,
        (payload -> 'stats' ->> 'addressesDeleted')::int as addresses_deleted,
        (payload -> 'stats' ->> 'customersKept')::int as customers_kept,
        (payload -> 'stats' ->> 'entriesRolledBack')::int as entries_rolled_back

    from {{ source('app', 'audit') }}
    where
        action = 'backfill_customers_rollback'
        and payload ->> 'rollbackId' = {{ dbt.string_literal(invocation_id) }}
{% endmacro %}


{% macro rollback_kept_result_sql() %}
    {#- SQL: the customers this invocation's rollback kept, with their reasons in words,
        read back from its Audit row. -#}
    select
        kept.value ->> 'customer_id' as customer_id,
        (
            select string_agg(
                case
                    when reasons.value ->> 'reason' like 'edited%' then reasons.value ->> 'reason'
                    else (reasons.value ->> 'count') || ' ' || (reasons.value ->> 'reason')
                        || ' (e.g. ' || (reasons.value ->> 'example') || ')'
                end,
                '; ' order by reasons.value ->> 'reason'
            )
            from jsonb_array_elements(kept.value -> 'reasons') as reasons
        ) as reasons

    from {{ source('app', 'audit') }} as audit_rows
    cross join jsonb_array_elements(audit_rows.payload -> 'keptCustomers') as kept
    where
        audit_rows.action = 'backfill_customers_rollback'
        and audit_rows.payload ->> 'rollbackId' = {{ dbt.string_literal(invocation_id) }}
    order by 1
{% endmacro %}
