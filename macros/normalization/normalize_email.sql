{% macro normalize_email(column) -%}
    (
        select
            case
                -- 254 characters is the longest an address can be (RFC 5321); a longer
                -- value is not one, and would not fit in an index
                when cleaned.value ~ '^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$'
                    and length(cleaned.value) <= 254
                    then cleaned.value
            end
        from (select lower({{ clean_text(column) }}) as value limit all) as cleaned
    )
{%- endmacro %}
