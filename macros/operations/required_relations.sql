{% macro require_backfill_relations(operation, model_names) %}
    {#- Stops an operation with a message when the project's own tables are missing
        (the project was never built in this schema). -#}
    {% set missing = [] %}
    {% for model_name in model_names %}
        {% if load_relation(ref(model_name)) is none %}
            {% do missing.append(ref(model_name) | string) %}
        {% endif %}
    {% endfor %}
    {% if missing %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": " ~ missing | join(', ') ~ " does not exist, so there is nothing this"
            ~ " operation can work with; nothing was changed. Run `dbt build` first, or point"
            ~ " BACKFILL_SCHEMA at the schema the backfill was applied with (now: "
            ~ target.schema ~ ")."
        ) %}
    {% endif %}
{% endmacro %}
