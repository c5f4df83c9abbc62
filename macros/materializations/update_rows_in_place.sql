{#- A reusable table kept per row (config update_rows_by). Its rows are a function of
    one input row each (a staging table of an app table): when its own SQL and settings
    are unchanged, a change of the app's rows needs only the rows it changed. -#}


{% macro reusable_table_definition_key(records) -%}
    {#- The current model's definition key when it is kept per row: md5 of its compiled
        SQL, its table settings and the keys of what it reads other than rows (a source,
        a seed or an incremental model is read as rows); none otherwise. A table whose
        recorded definition key is this one may be updated in place. -#}
    {% set update_rows_by = config.get('update_rows_by') %}
    {% if not update_rows_by %}{{ return(none) }}{% endif %}
    {% set definitions = [] %}
    {% for unique_id in model.depends_on.nodes if not is_read_as_content(unique_id) %}
        {% do definitions.append(unique_id) %}
    {% endfor %}
    {{ return(build_key_of(
        [sql, tojson(config.get('indexes')), tojson(config.get('unlogged')), tojson(update_rows_by)],
        definitions,
        records,
    )) }}
{%- endmacro %}


{% macro columns_hash_sql(columns) -%}
    {#- SQL expression: a 64-bit hash of the values of `columns` (names, quoted here) in
        the current row, nulls told apart from empty texts. What a row kept per row
        stores of its inputs (update_rows_by's inputs_hash). -#}
    hashtextextended(row(
        {%- for column in columns %}{{ adapter.quote(column) }}{{ ', ' if not loop.last }}{% endfor -%}
    )::text, 0)
{%- endmacro %}


{% macro update_rows_in_place(relation, sql, update_rows_by) -%}
    {#- Brings `relation` (built from `sql`) up to date with its inputs, in the current
        transaction, and returns {rebuilt, copied}. `update_rows_by`: key, the column
        that identifies a row; inputs_hash, the column holding the hash of the inputs of
        its computed columns; copied_columns, the columns copied as they are. A row whose
        inputs hash changed, or that is new or gone, is deleted and computed again from
        `sql` (filtered on its key, which PostgreSQL pushes down to the input's index);
        a row whose copied columns alone changed (a link an apply made) is updated. Only
        the key, the hash and the copied columns are read for every row. -#}
    {% set key = adapter.quote(update_rows_by.key) %}
    {% set inputs_hash = adapter.quote(update_rows_by.inputs_hash) %}
    {% set copied = [] %}
    {% for column in update_rows_by.copied_columns %}{% do copied.append(adapter.quote(column)) %}{% endfor %}
    {% set columns = [] %}
    {% for column in adapter.get_columns_in_relation(relation) %}
        {% do columns.append(adapter.quote(column.name)) %}
    {% endfor %}
    {% call statement('update_rows_in_place', fetch_result=True) -%}
        create temporary table backfill_current_rows on commit drop as
        select {{ key }}, {{ inputs_hash }}, {{ copied | join(', ') }}
        from ({{ sql }}) as model_rows;

        create temporary table backfill_rows_to_rebuild on commit drop as
        select
            coalesce(current_rows.{{ key }}, kept_rows.{{ key }}) as row_key,
            current_rows.{{ key }} is not null as is_current
        from backfill_current_rows as current_rows
        full outer join {{ relation }} as kept_rows
            on current_rows.{{ key }} = kept_rows.{{ key }}
        where current_rows.{{ inputs_hash }} is distinct from kept_rows.{{ inputs_hash }};

        analyze backfill_rows_to_rebuild;

        delete from {{ relation }}
        where {{ key }} = any(array(select row_key from backfill_rows_to_rebuild));

        -- an array, not a join: PostgreSQL filters the input rows by it (through their
        -- index) before it computes anything; a semi join computed every row first
        insert into {{ relation }} ({{ columns | join(', ') }})
        select {{ columns | join(', ') }}
        from ({{ sql }}) as model_rows
        where {{ key }} = any(array(select row_key from backfill_rows_to_rebuild where is_current));

        with copied_rows as (
            update {{ relation }} as kept_rows
            set
                {%- for column in copied %}
                {{ column }} = current_rows.{{ column }}{{ ',' if not loop.last }}
                {%- endfor %}
            from backfill_current_rows as current_rows
            where
                kept_rows.{{ key }} = current_rows.{{ key }}
                and (
                {%- for column in copied %}kept_rows.{{ column }}{{ ', ' if not loop.last }}{% endfor -%}
                ) is distinct from (
                {%- for column in copied %}current_rows.{{ column }}{{ ', ' if not loop.last }}{% endfor -%}
                )
            returning 1
        )

        select
            (select count(*) from backfill_rows_to_rebuild) as rebuilt,
            (select count(*) from copied_rows) as copied
    {%- endcall %}
    {% set counts = load_result('update_rows_in_place').table.rows[0] %}
    {{ return({'rebuilt': counts[0] | int, 'copied': counts[1] | int}) }}
{%- endmacro %}
