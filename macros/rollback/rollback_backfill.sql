{% macro rollback_backfill(run_id=none, dry_run=false, force=false) %}
    {#- dbt run-operation rollback_backfill: undoes exactly what backfill runs (and
        customer operations) recorded in the ledger, in one transaction under the
        backfill lock, and records the rollback as an Audit row. See README, "Rollback". -#}
    {% set operation = 'rollback_backfill' %}
    {% set dry_run = boolean_argument(operation, 'dry_run', dry_run) %}
    {% set force = boolean_argument(operation, 'force', force) %}
    {% do require_backfill_relations(operation, ['backfill_ledger', 'backfill_runs']) %}
    {% set run_ids = rollback_run_ids(run_id) %}
    {% if run_ids | length == 0 %}
        {% do print('Nothing to roll back: no run has ledger entries that are not rolled back already.'
            ~ ' Nothing was changed.') %}
        {{ return('') }}
    {% endif %}

    {% set references = customer_references() %}
    {#- Fresh statistics for every table it reads and writes: the app's may date from
        before a run (a run of a version before 2026-11-27 did not analyze them), and
        the ledger's from before the last rollback. With "CustomerAddress" last analyzed
        empty, the preview nested-looped 44,573 addresses over a re-sorted join of
        61,524 customers (cancelled after 15 min at 100k leads). -#}
    {% do run_query(analyze_relations([
        source('app', 'lead'),
        source('app', 'job'),
        source('app', 'customer_address'),
        source('app', 'customer'),
        ref('backfill_ledger'),
    ])) %}
    {% set context_sql %}
        with

        backfill_rollback_entries as not materialized (

            {{ rollback_entries_sql(run_ids) }}

        ),

        backfill_rollback_blockers as (

            {{ rollback_blockers_sql(run_ids, references) }}

        )
    {% endset %}
    {% set runs = run_query(rollback_runs_listing_sql(run_ids)) %}

    {% if dry_run %}
        {% set kept = run_query(context_sql ~ rollback_kept_listing_sql()) %}
        {% set preview = run_query(context_sql ~ rollback_counts_sql(run_ids)) %}
        {{ print_rollback_summary('🔍 ROLLBACK DRY RUN (nothing was changed)', runs, preview.rows[0], kept,
            'would keep' if force else 'would stop') }}
        {% if kept.rows | length > 0 and not force %}
            {% do print('A real rollback would stop here and change nothing, because of the customers above.'
                ~ ' With force: true it keeps them (and their leads, jobs and addresses) and rolls back'
                ~ ' the rest.') %}
        {% endif %}
        {{ return('') }}
    {% endif %}

    {#- A real rollback computes nothing before its transaction: the transaction finds
        the customers in use under its locks, and the counts come from its Audit row.
        Computing the preview first cost 44.5 s (the counts) and 18.4 s (the listing)
        of a 191 s rollback at a million leads. -#}
    {% do run_atomically('the rollback', rollback_statements(run_ids, references, force)) %}

    {% set done = run_query(rollback_result_sql()) %}
    {% if done.rows | length == 0 %}
        {#- No Audit row: without force, customers in use made the transaction change
            nothing. List them, with what force would do. -#}
        {% set kept = run_query(context_sql ~ rollback_kept_listing_sql()) %}
        {% set preview = run_query(context_sql ~ rollback_counts_sql(run_ids)) %}
        {{ print_rollback_summary('⛔ ROLLBACK STOPPED (nothing was changed)', runs, preview.rows[0], kept,
            'stopped') }}
        {% do exceptions.raise_compiler_error(
            "rollback_backfill stopped before changing anything: "
            ~ (preview.rows[0]['customers_kept'] ~ " customer(s) the backfill created are now used by the app"
               ~ " (listed above)" if kept.rows | length > 0
               else "a customer the backfill created was used by the app while the rollback ran")
            ~ "; deleting them would delete or orphan app data. Resolve them, or run again with"
            ~ " --args '{force: true}' to keep those customers and roll back everything else."
        ) %}
    {% endif %}
    {% set kept_done = run_query(rollback_kept_result_sql()) %}
    {{ print_rollback_summary('↩️  BACKFILL ROLLED BACK   rollback ' ~ invocation_id, runs, done.rows[0],
        kept_done, 'kept') }}
{% endmacro %}


{% macro rollback_run_ids(run_id) %}
    {#- The runs to roll back, newest first: the given ones (checked), else every run with
        ledger entries not rolled back yet. Run ids are dbt invocation ids; the ids of
        customer operations (merge_customers, split_customer) are accepted too. -#}
    {% set ledger = ref('backfill_ledger') %}
    {% if run_id is none %}
        {% set found = run_query(
            'select run_id from ' ~ ledger ~ ' where rolled_back_at is null'
            ~ ' group by run_id order by max(recorded_at) desc, run_id desc'
        ) %}
        {{ return(found.columns[0].values() | list) }}
    {% endif %}

    {% set requested = uuid_list_argument(
        'rollback_backfill', 'run_id', run_id, '{run_id: <run id>}  (or [<run id>, ...])'
    ) %}
    {% set known_sql %}
        select
            requested.run_id,
            count(ledger.run_id) as entry_count,
            count(ledger.run_id) filter (where ledger.rolled_back_at is null) as active_count,
            max(ledger.rolled_back_by_run_id) as rolled_back_by_run_id,
            max(ledger.recorded_at) as recorded_at,
            exists (
                select 1 from {{ ref('backfill_runs') }} as runs
                where runs.run_id = requested.run_id
            ) as is_backfill_run

        from unnest({{ sql_text_array(requested) }}) as requested (run_id)
        left join {{ ledger }} as ledger
            on requested.run_id = ledger.run_id
        group by requested.run_id
        order by max(ledger.recorded_at) desc nulls last, requested.run_id desc
    {% endset %}
    {% set known = run_query(known_sql) %}
    {% set unknown = [] %}
    {% set selected = [] %}
    {% for row in known.rows %}
        {% if row['entry_count'] == 0 and not row['is_backfill_run'] %}
            {% do unknown.append(row['run_id']) %}
        {% elif row['active_count'] == 0 %}
            {% do print('Run ' ~ row['run_id'] ~ ': nothing left to roll back'
                ~ (' (rolled back by ' ~ row['rolled_back_by_run_id'] ~ ')' if row['rolled_back_by_run_id']
                   else ' (the run changed nothing)') ~ '.') %}
        {% else %}
            {% do selected.append(row['run_id']) %}
        {% endif %}
    {% endfor %}
    {% if unknown %}
        {% set recent = run_query(
            'select run_id, max(recorded_at) as recorded_at, count(*) filter (where rolled_back_at is null)'
            ~ ' as active_count from ' ~ ledger ~ ' group by run_id order by max(recorded_at) desc limit 10'
        ) %}
        {% set listing = [] %}
        {% for row in recent.rows %}
            {% do listing.append('  ' ~ row['run_id'] ~ '  recorded ' ~ row['recorded_at']
                ~ '  (' ~ row['active_count'] ~ ' entries not rolled back)') %}
        {% endfor %}
        {% do exceptions.raise_compiler_error(
            "rollback_backfill: unknown run id(s) " ~ unknown | join(', ')
            ~ " (not in " ~ ledger ~ "); nothing was changed.\nRuns in the ledger, newest first:\n"
            ~ (listing | join('\n') if listing else '  (none)')
            ~ "\nOmit run_id to roll back every applied run."
        ) %}
    {% endif %}
    {{ return(selected) }}
{% endmacro %}
