{% test grain(model, column_name=none, columns=none) %}
    {#- A model's grain in one query: the grain columns (`columns`, or the column the
        test is attached to) are never null, and each combination of them occurs once -
        what a `unique` and a `not_null` test (or `unique_combination` and a `not_null`
        per column) asserted in two or more queries. Fails with one row per duplicated
        grain value (`failure` 'duplicate', n_records: how many rows hold it) and one
        row for the rows with a null grain column (`failure` 'null', n_records: how
        many). A unique index on exactly these columns already rules out duplicates
        among complete rows (PostgreSQL checks it on every write): that part is then
        skipped, as in the project's `unique`; the null rows are always looked for. -#}
    {%- set grain_columns = columns if columns is not none else [column_name] -%}
    {%- if grain_columns | length == 0 or none in grain_columns -%}
        {% do exceptions.raise_compiler_error(
            "grain: give the grain columns (attach the test to a column, or columns: [...])"
        ) %}
    {%- endif -%}
    {%- set column_list = grain_columns | join(', ') -%}
    {%- set any_null = grain_columns | join(' is null or ') ~ ' is null' %}
    select
        'null' as failure,
        {% for column in grain_columns -%}
            null::text as {{ column }},
        {% endfor -%}
        count(*) as n_records
    from {{ model }}
    where {{ any_null }}
    having count(*) > 0

    union all

    select
        'duplicate' as failure,
        {% for column in grain_columns -%}
            {{ column }}::text as {{ column }},
        {% endfor -%}
        count(*) as n_records
    from {{ model }}
    where
        not ({{ any_null }})
        and not {{ has_unique_index(model, grain_columns) }}
    group by {{ column_list }}
    having count(*) > 1
{% endtest %}
