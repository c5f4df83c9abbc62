{% macro analyze_built_table() %}
    {#- Post-hook of every model: a table the run has just filled gets its planner
        statistics now, not when autovacuum comes by, so the models and the apply that
        read it next are planned with real row counts and distinct values (without them
        PostgreSQL guesses, and picks e.g. a nested loop over 500,000 rows). Views and
        the empty-select incremental tables get nothing. -#}
    {% if model.config.materialized in ('table', 'reusable_table') %}
        analyze {{ this }}
    {% endif %}
{% endmacro %}
