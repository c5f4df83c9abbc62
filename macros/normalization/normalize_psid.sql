{% macro normalize_psid(column) -%}
    {{ clean_text(column) }}
{%- endmacro %}
