{% test unique_combination(model, columns) %}
    {#- Fails with each combination of `columns` that occurs more than once. A unique
        index on exactly these columns rules out duplicates among rows whose columns are
        all set (PostgreSQL checks it on every write); rows with a null among them can
        still repeat, so then only those rows are grouped. -#}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    where
        not {{ has_unique_index(model, columns) }}
        or {{ columns | join(' is null or ') }} is null
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
