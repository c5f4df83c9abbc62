{% test grain(model, column_name=none, columns=none, not_null=[], accepted_values={}) %}
    {#- A model's grain, and the values of its other columns, in one query: the grain
        columns (`columns`, or the column the test is attached to) are never null and
        each combination of them occurs once; each column of `not_null` holds no null;
        each column of `accepted_values` ({column: [values]}) holds only those values (a
        null is accepted, as in dbt's `accepted_values`: list the column in not_null too
        to refuse it). What `unique`, `not_null` and `accepted_values` tests asserted in
        one query each (failing_column_values: one scan, and a second for duplicates
        only without a unique index on the grain). -#}
    {%- set grain_columns = columns if columns is not none else [column_name] -%}
    {%- if grain_columns | length == 0 or none in grain_columns -%}
        {% do exceptions.raise_compiler_error(
            "grain: give the grain columns (attach the test to a column, or columns: [...])"
        ) %}
    {%- endif -%}
    {{ failing_column_values(model, grain_columns, not_null, accepted_values) }}
{% endtest %}
