{% macro postgres__alter_column_comment(relation, column_dict) -%}
    {#- dbt-postgres's, without asking the database for the relation's columns a second
        time: dbt's persist_docs, its only caller, has just read them and kept only the
        documented columns the relation has (validate_doc_columns). One statement less
        for every table and view a build makes. -#}
    {% for column_name in column_dict %}
        {% set column = column_dict[column_name] %}
        comment on column {{ relation }}.{{ adapter.quote(column_name) if column['quote'] else column_name }}
        is {{ postgres_escape_comment(column['description']) }};
    {% endfor %}
{%- endmacro %}
