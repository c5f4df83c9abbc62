{% macro postgres__alter_column_comment(relation, column_dict) -%}
    {#- dbt-postgres's, without asking the database for the relation's columns a second
        time: dbt's persist_docs (dbt-adapters 1.24), its only caller, has just read them
        and kept only the documented columns the relation has (validate_doc_columns, which
        compares an unquoted name in any case). An unquoted name with capitals is left
        out, as dbt-postgres left out a name whose case differed: PostgreSQL would read
        it in lower case, and the comment could name a column that does not exist. One
        statement less for every table and view a build makes. -#}
    {% for column_name in column_dict if column_dict[column_name]['quote'] or column_name == column_name | lower %}
        {% set column = column_dict[column_name] %}
        comment on column {{ relation }}.{{ adapter.quote(column_name) if column['quote'] else column_name }}
        is {{ postgres_escape_comment(column['description']) }};
    {% endfor %}
{%- endmacro %}
