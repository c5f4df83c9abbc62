{% macro normalize_phone(column) -%}
    (
        select
            case
                -- an international number: kept whole, never cut to 10 digits
                when parts.has_international_prefix and parts.digits !~ '^1'
                    and length(parts.digits) between 8 and 15
                    then '+' || parts.digits
                when parts.has_international_prefix and parts.digits !~ '^1'
                    then null
                -- a North American number as its 10-digit national number
                when parts.digits ~ '^1[0-9]{10}$' then substr(parts.digits, 2)
                when parts.digits ~ '^[0-9]{10}$' then parts.digits
            end
        from (
            select
                stripped.value ~ '^(\+|011)' as has_international_prefix,
                regexp_replace(
                    regexp_replace(stripped.value, '^011', ''), '[^0-9]', '', 'g'
                ) as digits
            from (
                select
                    regexp_replace(
                        translate(
                            {{ clean_text(column) }},
                            {{ phone_digit_forms() }},
                            {{ phone_digit_forms_as_ascii() }}
                        ),
                        '\s*[,;]?\s*(ext(ension)?\.?|x|#)\s*[0-9]{1,6}\s*$',
                        '',
                        'i'
                    ) as value
            ) as stripped
        ) as parts
    )
{%- endmacro %}
