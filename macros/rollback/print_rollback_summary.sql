{% macro print_rollback_summary(headline, runs, counts, kept, kept_verb) %}
    {#- Prints what a rollback did (or would do): the runs, the counts, the kept customers. -#}
    {% set rule = '═' * 63 %}
    {% set limit = var('verbose_group_limit') | int %}
    {% do print('') %}
    {% do print(rule) %}
    {% do print(headline) %}
    {% do print(rule) %}
    {% do print('') %}
    {% do print('Runs (newest first):') %}
    {% for run in runs.rows %}
        {% do print('   - ' ~ run['run_id'] ~ '  ' ~ run['run_kind'] ~ ', recorded ' ~ run['recorded_at']
            ~ ', ' ~ run['entry_count'] ~ ' ledger entries') %}
    {% endfor %}
    {% do print('') %}
    {% if kept_verb in ('stopped', 'would stop') and kept.rows | length > 0 %}
        {% do print('With force: true the rollback would:') %}
    {% endif %}
    {% set lines = [
        ('Customers deleted:', counts['customers_deleted']),
        ('Leads unlinked:', counts['leads_unlinked']),
        ('Jobs unlinked:', counts['jobs_unlinked']),
        ('Addresses deleted:', counts['addresses_deleted']),
        ('Customers kept:', counts['customers_kept']),
        ('Ledger entries undone:', counts['entries_rolled_back']),
    ] %}
    {% for label, value in lines %}
        {% do print('   ' ~ '%-24s' | format(label) ~ value) %}
    {% endfor %}
    {% if kept.rows | length > 0 %}
        {% do print('') %}
        {% do print('Customers the backfill created that are now in use (' ~ kept_verb ~ '):') %}
        {% for row in kept.rows[:limit] %}
            {% do print('   - ' ~ row['customer_id'] ~ ': ' ~ row['reasons']) %}
        {% endfor %}
        {% if kept.rows | length > limit %}
            {% do print('   ... and ' ~ (kept.rows | length - limit) ~ ' more (var verbose_group_limit)') %}
        {% endif %}
    {% endif %}
    {% do print('') %}
{% endmacro %}
