{% macro normalize_person_name(column) -%}
    (
        select case when length(first_word.value) >= 2 then first_word.value end
        from (
            select
                regexp_replace(
                    split_part(
                        regexp_replace(
                            lower({{ clean_text(column) }}), '^((mr|mrs|ms|miss|mx|dr)\.?\s+)+', ''
                        ),
                        ' ',
                        1
                    ),
                    '[[:digit:][:punct:]]+',
                    '',
                    'g'
                ) as value
            limit all
        ) as first_word
    )
{%- endmacro %}
