{% macro normalize_address(column) -%}
    nullif(
        btrim(regexp_replace(lower({{ clean_text(column) }}), '[^a-z0-9]+', ' ', 'g')),
        ''
    )
{%- endmacro %}
