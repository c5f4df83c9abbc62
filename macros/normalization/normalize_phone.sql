{% macro normalize_phone(column) -%}
    {#- Each step runs once per row: the `limit 1` (each step is one row anyway) keeps
        PostgreSQL from pulling a step up into the expressions that use it, which would
        repeat its regular expressions at every use (PostgreSQL does not share common
        sub-expressions; measured at 1M leads: 60 s before, 12 s after). -#}
    (
        select
            case
                -- an international number: kept whole, never cut to 10 digits
                when parts.has_international_prefix and left(parts.digits, 1) <> '1'
                    then case when length(parts.digits) between 8 and 15 then '+' || parts.digits end
                -- a North American number as its 10-digit national number
                when length(parts.digits) = 11 and left(parts.digits, 1) = '1'
                    then substr(parts.digits, 2)
                when length(parts.digits) = 10 then parts.digits
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
                        translate({{ clean_text(column) }}, '０１２３４５６７８９＋', '0123456789+'),
                        '\s*[,;]?\s*(ext(ension)?\.?|x|#)\s*[0-9]{1,6}\s*$',
                        '',
                        'i'
                    ) as value
                limit 1
            ) as stripped
            limit 1
        ) as parts
    )
{%- endmacro %}
