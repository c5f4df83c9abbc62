{%- materialization test, adapter='postgres' -%}
    {#- dbt's test materialization, except in a build that found its inputs unchanged since
        the last validated real run (unchanged_runs.sql): every check of that run passed on
        these same inputs, tables and code, so the check is not run again and reports no
        failures (dbt prints PASS; the run summary says how many were not re-run). -#}
    {% if is_unchanged_build() %}
        {#- the row a passing check returns, read once for the whole run (remember_run_inputs):
            the check sends no query -#}
        {% set passed = unchanged_run_cached('passed_check_result') %}
        {% if passed is none %}
            {% call statement('main', fetch_result=True) -%}
                {{ passed_check_sql() }}
            {%- endcall %}
        {% else %}
            {% do store_raw_result('main', message='NOT RUN AGAIN', code='UNCHANGED', rows_affected=0, agate_table=passed) %}
        {% endif %}
        {{ return({'relations': []}) }}
    {% endif %}
    {{ return(dbt.materialization_test_default()) }}
{%- endmaterialization -%}
