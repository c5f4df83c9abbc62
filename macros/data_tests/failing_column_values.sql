{% macro failing_column_values(model, grain_columns, not_null, accepted_values) %}
    {#- SQL: the failures of a model's columns, counted in one scan: a null in a grain
        column, in a column of `not_null`, or a value of `accepted_values` ({column:
        [values]}) outside its list (a null is accepted); and, unless a unique index on
        exactly the grain columns already rules them out among complete rows
        (PostgreSQL checks it on every write), each duplicated grain value, in a second
        scan. One row per failure: `failure` ('null', 'duplicate' or 'not_accepted'),
        `column_name` (the grain columns, comma-separated, for the grain),
        `failing_values` (the duplicated grain value, or the values not accepted) and
        `n_records` (how many rows); the values not accepted are read again only
        when there are some. The `grain` and `column_values` tests.
        The model is read through `checked_rows`, only the columns checked: an ephemeral
        model (a CTE, the validation models) read twice would be computed whole, every
        column of it, before either read (at 1M leads, customers_after_backfill
        normalized every customer's phone: 4.1 s); materialized once with only these
        columns, it is not. A table is read directly by each part. -#}
    {%- set column_list = grain_columns | join(', ') -%}
    {%- set any_null = grain_columns | join(' is null or ') ~ ' is null' -%}
    {%- set checks = [] -%}
    {%- if grain_columns -%}
        {%- do checks.append({'column': column_list, 'failure': 'null', 'condition': any_null, 'values': false}) -%}
    {%- endif -%}
    {%- for column in not_null -%}
        {%- do checks.append({'column': column, 'failure': 'null', 'condition': column ~ ' is null', 'values': false}) -%}
    {%- endfor -%}
    {%- for column, values in accepted_values.items() -%}
        {%- set quoted = [] -%}
        {%- for value in values -%}{%- do quoted.append(dbt.string_literal(value)) -%}{%- endfor -%}
        {%- do checks.append({
            'column': column,
            'failure': 'not_accepted',
            'condition': column ~ '::text not in (' ~ quoted | join(', ') ~ ')',
            'values': true,
        }) -%}
    {%- endfor %}
    {%- set checked_columns = (grain_columns + not_null + accepted_values.keys() | list) | unique | list %}
    {%- set is_cte = model is not string and model.is_cte %}
    with checked_rows as {{ 'materialized' if is_cte else 'not materialized' }} (
        select {{ checked_columns | join(', ') }}
        from {{ model }}
    ),

    {%- if checks | length == 1 and not checks[0]['values'] %}
    -- one null check alone: only the rows it finds, which an index on the column can find
    counted as (
        select count(*) as n_1
        from checked_rows
        where {{ checks[0].condition }}
    )
    {%- else %}
    counted as (
        select
            {% for check in checks -%}
                count(*) filter (where {{ check.condition }}) as n_{{ loop.index }}{{ ',' if not loop.last }}
            {% endfor -%}
        from checked_rows
    )
    {%- endif %}

    {% for check in checks -%}
        select
            {{ dbt.string_literal(check.failure) }} as failure,
            {{ dbt.string_literal(check.column) }} as column_name,
            {% if check['values'] -%}
            {#- the values not accepted, read again only when there are some: a
                distinct aggregate in the count above made PostgreSQL sort every row
                first (1.4 s of the test of a 3-million-row table) -#}
            (
                select string_agg(distinct {{ check.column }}::text, ', ')
                from checked_rows
                where {{ check.condition }}
            ) as failing_values,
            {% else -%}
            null::text as failing_values,
            {% endif -%}
            n_{{ loop.index }} as n_records
        from counted
        where n_{{ loop.index }} > 0
        {% if not loop.last or grain_columns %}union all{% endif %}
    {% endfor -%}
    {% if grain_columns %}
        select
            'duplicate' as failure,
            {{ dbt.string_literal(column_list) }} as column_name,
            concat_ws(', ', {{ column_list }}) as failing_values,
            count(*) as n_records
        from checked_rows
        where
            not ({{ any_null }})
            and not {{ has_unique_index(model, grain_columns) }}
        group by {{ column_list }}
        having count(*) > 1
    {% endif %}
{% endmacro %}
