{% macro print_rollback_summary(headline, runs, payload, kept_verb) %}
    {#- Prints what a rollback did (or would do): the runs, the counts and the kept
        customers, from the payload of its Audit row (or of its preview). -#}
    {% set limit = var('verbose_group_limit') | int %}
    {% set stats = payload['stats'] %}
    {% set kept = payload['keptCustomers'] %}
    {{ print_banner(headline) }}
    {% do print('') %}
    {% do print('Runs (newest first):') %}
    {% for run in runs.rows %}
        {% do print('   - ' ~ run['run_id'] ~ '  ' ~ run['run_kind'] ~ ', recorded ' ~ run['recorded_at']
            ~ ', ' ~ run['entry_count'] ~ ' ledger entries') %}
    {% endfor %}
    {% do print('') %}
    {% if kept_verb in ('stopped', 'would stop') and kept | length > 0 %}
        {% do print('With force: true the rollback would:') %}
    {% endif %}
    {{ print_counts([
        ('Customers deleted:', stats['customersDeleted']),
        ('Customers restored:', stats['customersRestored']),
        ('Leads unlinked:', stats['leadsUnlinked']),
        ('Jobs unlinked:', stats['jobsUnlinked']),
        ('Rows moved back:', stats['rowsMovedBack']),
        ('Addresses deleted:', stats['addressesDeleted']),
        ('Customers kept:', stats['customersKept']),
        ('Ledger entries undone:', stats['entriesRolledBack']),
    ]) }}
    {% if kept | length > 0 %}
        {% do print('') %}
        {% do print('Customers the backfill created that are now in use (' ~ kept_verb ~ ';'
            ~ ' a kept customer stays with every row that points at it):') %}
        {% for customer in kept[:limit] %}
            {% set reasons = [] %}
            {% for reason in customer['reasons'] %}
                {% do reasons.append(reason['reason'] if reason['reason'].startswith('edited')
                    else reason['count'] ~ ' ' ~ reason['reason'] ~ ' (e.g. ' ~ reason['example'] ~ ')') %}
            {% endfor %}
            {% do print('   - ' ~ customer['customer_id'] ~ ': ' ~ reasons | join('; ')) %}
        {% endfor %}
        {% if kept | length > limit %}
            {% do print('   ... and ' ~ (kept | length - limit) ~ ' more (var verbose_group_limit)') %}
        {% endif %}
    {% endif %}
    {% do print('') %}
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
