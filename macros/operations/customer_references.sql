{% macro customer_references() %}
    {#- Every other table that points at a Customer row: the foreign keys to the app's
        Customer table (whatever table holds them), plus "Conversation" and
        "MemoryNote" of the app schema when they have a customer_id column (also
        without a foreign key). Lead, Job and CustomerAddress are handled by the
        operations themselves. Returns a list of dicts: relation, table, column,
        row_id (an SQL expression naming a row, for examples). -#}
    {% set app_schema = dbt.string_literal(var('app_schema')) %}
    {% set find_references %}
        with

        foreign_keys as (

            select
                referencing_namespace.nspname::text as table_schema,
                referencing_class.relname::text as table_name,
                referencing_column.attname::text as column_name

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
                column_name::text as column_name

            from information_schema.columns
            where
                table_schema = {{ app_schema }}
                and table_name in ('Conversation', 'MemoryNote')
                and column_name = 'customer_id'

        ),

        candidates as (

            select * from foreign_keys
            union
            select * from known_tables

        )

        select
            candidates.table_schema,
            candidates.table_name,
            candidates.column_name,
            exists (
                select 1
                from information_schema.columns as id_columns
                where
                    id_columns.table_schema = candidates.table_schema
                    and id_columns.table_name = candidates.table_name
                    and id_columns.column_name = 'id'
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
        {% do references.append({
            'relation': api.Relation.create(database=target.dbname, schema=row[0], identifier=row[1]),
            'table': row[1],
            'column': adapter.quote(row[2]),
            'row_id': 'id::text' if row[3] else 'ctid::text',
        }) %}
    {% endfor %}
    {{ return(references) }}
{% endmacro %}
