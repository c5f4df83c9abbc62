{% macro is_dry_run() %}
    {#- The var dry_run as a boolean; anything that is not clearly true or false stops the run. -#}
    {% set value = var('dry_run') %}
    {% if value in (true, 'true', 'True', 'TRUE', 'yes', 1, '1') %}
        {{ return(true) }}
    {% elif value in (false, 'false', 'False', 'FALSE', 'no', 0, '0', none) %}
        {{ return(false) }}
    {% endif %}
    {% do exceptions.raise_compiler_error(
        "customer backfill: the var dry_run must be true or false, not '" ~ value ~ "'"
        ~ " (e.g. dbt build --vars '{dry_run: true}')"
    ) %}
{% endmacro %}
