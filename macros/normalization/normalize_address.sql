{% macro normalize_address(column) -%}
    {#- clean_text first: it removes invisible characters (a zero-width space inside a
        word must not split it), which folding [^a-z0-9] alone would turn into spaces. -#}
    nullif(
        btrim(regexp_replace(lower({{ clean_text(column) }}), '[^a-z0-9]+', ' ', 'g')),
        ''
    )
{%- endmacro %}
