{% test column_values(model, not_null=[], accepted_values={}) %}
    {#- Several columns of one model checked in one scan: each column of `not_null`
        holds no null, and each column of `accepted_values` ({column: [values]}) holds
        only those values (a null is accepted, as in dbt's `accepted_values`: list the
        column in not_null too to refuse it) - what one `not_null` or `accepted_values`
        test per column asserted in one query each. Fails with one row per column and
        kind of failure: `failure` 'null' or 'not_accepted', the values found
        (`unexpected_values`, for 'not_accepted') and how many rows (n_records). -#}
    {%- if not_null | length == 0 and accepted_values | length == 0 -%}
        {% do exceptions.raise_compiler_error("column_values: give not_null or accepted_values") %}
    {%- endif -%}
    {%- set checks = [] -%}
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
    with counted as (
        select
            {% for check in checks -%}
                count(*) filter (where {{ check.condition }}) as n_{{ loop.index }},
                {% if check['values'] -%}
                    string_agg(distinct {{ check.column }}::text, ', ') filter (where {{ check.condition }}) as values_{{ loop.index }},
                {% else -%}
                    null::text as values_{{ loop.index }},
                {% endif -%}
            {% endfor -%}
            count(*) as n_rows
        from {{ model }}
    )

    {% for check in checks -%}
        select
            {{ dbt.string_literal(check.column) }} as column_name,
            {{ dbt.string_literal(check.failure) }} as failure,
            values_{{ loop.index }} as unexpected_values,
            n_{{ loop.index }} as n_records
        from counted
        where n_{{ loop.index }} > 0
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endtest %}
