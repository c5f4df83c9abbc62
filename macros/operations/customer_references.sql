{% macro customer_references() %}
    {#- Every other table that points at a Customer row: the foreign keys to the app's
        Customer table (whatever table holds them), plus "Conversation" and
        "MemoryNote" of the app schema when they have a customer_id column (also
        without a foreign key). Lead, Job and CustomerAddress are handled by the
        operations themselves. Returns a list of dicts: relation, qualified_name
        (schema and table, as the ledger records it), table, column (quoted),
        column_name, delete_action (the foreign key's confdeltype: c cascade, n set
        null, a/r refuse; none without a foreign key), has_id (a uuid `id` column, which the ledger needs to record a
        move), row_id (an SQL expression naming a row, for examples). -#}
    {% set app_schema = dbt.string_literal(var('app_schema')) %}
    {% set find_references %}
        with

        foreign_keys as (

            select
                referencing_namespace.nspname::text as table_schema,
                referencing_class.relname::text as table_name,
                referencing_column.attname::text as column_name,
                constraints.confdeltype::text as delete_action

            from pg_constraint as constraints
            inner join pg_class as referencing_class
                on constraints.conrelid = referencing_class.oid
            inner join pg_namespace as referencing_namespace
                on referencing_class.relnamespace = referencing_namespace.oid
            inner join pg_attribute as referencing_column
                on
                    constraints.conrelid = referencing_column.attrelid
                    and constraints.conkey[1] = referencing_column.attnum
            where
                constraints.contype = 'f'
                and cardinality(constraints.conkey) = 1
                and constraints.confrelid
                = to_regclass({{ dbt.string_literal(source('app', 'customer') | string) }})

        ),

        known_tables as (

            select
                table_schema::text as table_schema,
                table_name::text as table_name,
                column_name::text as column_name,
                null::text as delete_action

            from information_schema.columns
            where
                table_schema = {{ app_schema }}
                and table_name in ('Conversation', 'MemoryNote')
                and column_name = 'customer_id'

        ),

        candidates as (

            select * from foreign_keys
            union all
            select * from known_tables
            where not exists (
                select 1 from foreign_keys
                where
                    foreign_keys.table_schema = known_tables.table_schema
                    and foreign_keys.table_name = known_tables.table_name
                    and foreign_keys.column_name = known_tables.column_name
            )

        )

        select
            candidates.table_schema,
            candidates.table_name,
            candidates.column_name,
            candidates.delete_action,
            exists (
                select 1
                from information_schema.columns as id_columns
                where
                    id_columns.table_schema = candidates.table_schema
                    and id_columns.table_name = candidates.table_name
                    and id_columns.column_name = 'id'
                    and id_columns.data_type = 'uuid'
            ) as has_id

        from candidates
        where not (
            candidates.table_schema = {{ app_schema }}
            and candidates.table_name in ('Lead', 'Job', 'CustomerAddress')
        )
        order by candidates.table_schema, candidates.table_name, candidates.column_name
    {% endset %}
    {% set references = [] %}
    {% for row in run_query(find_references).rows %}
        {% set relation = api.Relation.create(database=target.dbname, schema=row[0], identifier=row[1]) %}
        {% do references.append({
            'relation': relation,
            'qualified_name': relation.include(database=false) | string,
            'table': row[1],
            'column': adapter.quote(row[2]),
            'column_name': row[2],
            'delete_action': row[3],
            'has_id': row[4],
            'row_id': 'id::text' if row[4] else 'ctid::text',
        }) %}
    {% endfor %}
    {{ return(references) }}
{% endmacro %}
