{% test unique(model, column_name) %}
    {#- dbt's built-in `unique`, with one difference: when a valid unique index (or the
        primary key) covers exactly this column, PostgreSQL already guarantees what the
        test checks on every write, and the scan is skipped (the uncorrelated NOT EXISTS
        becomes a one-time filter above it). Without such an index it is the built-in
        query. At 1M leads each skipped scan saved 1 to 20 s per run. -#}
    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where
        {{ column_name }} is not null
        and not {{ has_unique_index(model, [column_name]) }}
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
