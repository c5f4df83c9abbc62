{% macro backfill_relation(model_name) %}
    {#- A relation of this project by model name, for code that runs outside the DAG
        (on-run-end, operations), where ref() cannot be resolved. -#}
    {{ return(api.Relation.create(
        database=target.dbname, schema=target.schema, identifier=model_name
    )) }}
{% endmacro %}
