{% macro normalize_psid(column) -%}
    {#- A Messenger PSID is a number of about 16 digits; a value longer than 255
        characters is not one, and would not fit in an index (it is no PSID). -#}
    (
        select case when length(cleaned.value) <= 255 then cleaned.value end
        from (select {{ clean_text(column) }} as value) as cleaned
    )
{%- endmacro %}
