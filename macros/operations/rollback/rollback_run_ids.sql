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
