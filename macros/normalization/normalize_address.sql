{% macro normalize_address(column) -%}
    {#- No clean_text first: every space character it would fold is outside [a-z0-9]
        and is folded here anyway, so the result is the same with one regex less. -#}
    nullif(
        btrim(regexp_replace(lower(({{ column }})::text), '[^a-z0-9]+', ' ', 'g')),
        ''
    )
{%- endmacro %}
