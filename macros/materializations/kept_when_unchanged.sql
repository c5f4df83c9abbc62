{#- In a `dbt build` that found its inputs unchanged since the last validated real run
    (unchanged_runs.sql), what only defines a relation is kept as it is: the views, the
    seeds, and the incremental models that only define their table (config
    defines_table_only). Their SQL, settings, descriptions and CSV files are part of the
    code key, a seed's rows part of the inputs and each view's definition part of the
    records key, so each holds what a build would make. dbt prints REUSED; nothing is
    sent to the database. -#}


{% macro kept_in_unchanged_run() -%}
    {#- True when the current node's relation exists and this `dbt build` found its
        inputs unchanged since the last validated real run. -#}
    {{ return(is_unchanged_build() and load_cached_relation(this) is not none) }}
{%- endmacro %}


{% macro keep_unchanged_relation() -%}
    {#- The materialization's result for the current node's relation, kept as it is. -#}
    {% do store_raw_result('main', message='REUSED', code='REUSED', rows_affected=0) %}
    {{ return({'relations': [load_cached_relation(this)]}) }}
{%- endmacro %}


{%- materialization view, adapter='postgres' -%}
    {% if kept_in_unchanged_run() %}{{ return(keep_unchanged_relation()) }}{% endif %}
    {{ return(dbt.materialization_view_default()) }}
{%- endmaterialization -%}


{%- materialization seed, adapter='postgres' -%}
    {#- a CSV over 1 MiB has a checksum of its path, not of its rows (dbt's big seeds):
        only its load shows a change -#}
    {% if kept_in_unchanged_run() and model.checksum.name != 'path' %}
        {#- dbt's seed runner reads the loaded rows back: none were loaded -#}
        {% do store_result('agate_table', response='OK') %}
        {{ return(keep_unchanged_relation()) }}
    {% endif %}
    {{ return(dbt.materialization_seed_default()) }}
{%- endmaterialization -%}


{%- materialization incremental, adapter='postgres' -%}
    {% if config.get('defines_table_only') and kept_in_unchanged_run() %}
        {{ return(keep_unchanged_relation()) }}
    {% endif %}
    {{ return(dbt.materialization_incremental_default()) }}
{%- endmaterialization -%}
