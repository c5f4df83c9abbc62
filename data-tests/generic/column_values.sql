{% test column_values(model, not_null=[], accepted_values={}) %}
    {#- Several columns of one model checked in one scan: each column of `not_null`
        holds no null, and each column of `accepted_values` ({column: [values]}) holds
        only those values - for a model whose grain allows nulls (`unique_combination`)
        or that has none (a seed of patterns); every other model's `grain` test checks
        its columns in the same scan. -#}
    {%- if not_null | length == 0 and accepted_values | length == 0 -%}
        {% do exceptions.raise_compiler_error("column_values: give not_null or accepted_values") %}
    {%- endif -%}
    {{ failing_column_values(model, [], not_null, accepted_values) }}
{% endtest %}
