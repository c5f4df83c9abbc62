{% macro has_unique_index(relation, columns) -%}
    {#- SQL boolean: the relation has a valid, complete (not partial, no expression, no
        included column) unique index whose key is exactly `columns`, in any order.
        False for a view, and for a test's `where` subquery (a string, not a relation). -#}
    {%- if relation is string -%}
        false
    {%- else -%}
        exists (
            select 1
            from pg_catalog.pg_index as indexes
            where
                indexes.indrelid = to_regclass({{ dbt.string_literal(relation.render()) }})
                and indexes.indisunique
                and indexes.indisvalid
                and indexes.indpred is null
                and indexes.indexprs is null
                and indexes.indnatts = {{ columns | length }}
                and (
                    select array_agg(attributes.attname::text order by attributes.attname::text)
                    from pg_catalog.pg_attribute as attributes
                    where
                        attributes.attrelid = indexes.indrelid
                        and attributes.attnum = any(indexes.indkey::int2 [])
                ) = array[
                    {%- for column in columns | sort -%}
                        {{ dbt.string_literal(column) }}{{ ', ' if not loop.last }}
                    {%- endfor -%}
                ]::text []
        )
    {%- endif -%}
{%- endmacro %}
