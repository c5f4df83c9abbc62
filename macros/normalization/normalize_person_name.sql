{% macro normalize_person_name(column) -%}
    nullif(lower(split_part({{ clean_text(column) }}, ' ', 1)), '')
{%- endmacro %}
