{% macro normalize_email(column) -%}
    (
        select
            case
                when cleaned.value ~ '^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$' then cleaned.value
            end
        from (select lower({{ clean_text(column) }}) as value limit all) as cleaned
    )
{%- endmacro %}
