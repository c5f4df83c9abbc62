{% macro clean_text(column) -%}
    nullif(
        btrim(
            regexp_replace(
                ({{ column }})::text,
                '[\s\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]+',
                ' ',
                'g'
            )
        ),
        ''
    )
{%- endmacro %}
