{% macro boolean_argument(operation, name, value) %}
    {#- An operation's true/false argument; anything else stops it with a message. -#}
    {% if value in (true, 'true', 'True', 'TRUE', 'yes', 1, '1') %}
        {{ return(true) }}
    {% elif value in (false, 'false', 'False', 'FALSE', 'no', 0, '0', none) %}
        {{ return(false) }}
    {% endif %}
    {% do exceptions.raise_compiler_error(
        operation ~ ": the argument " ~ name ~ " must be true or false, not '" ~ value ~ "'"
        ~ "; nothing was changed"
    ) %}
{% endmacro %}


{% macro uuid_argument(operation, name, value, usage) %}
    {#- An operation's id argument: a uuid, lowercased; missing or malformed stops it. -#}
    {% if value is none or (value is string and value | trim == '') %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": the argument " ~ name ~ " is required; nothing was changed.\n"
            ~ "Usage: dbt run-operation " ~ operation ~ " --args '" ~ usage ~ "'"
        ) %}
    {% endif %}
    {% set text = (value | string) | trim | lower %}
    {% if not modules.re.match('^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', text) %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": the argument " ~ name ~ " must be an id (a uuid such as"
            ~ " 0b7c2f1e-4a5d-4c3b-9e8f-1a2b3c4d5e6f), not '" ~ value ~ "'; nothing was changed"
        ) %}
    {% endif %}
    {{ return(text) }}
{% endmacro %}


{% macro uuid_list_argument(operation, name, value, usage) %}
    {#- A list of ids: a YAML list, or one id, or ids separated by commas; duplicates
        are dropped, order is kept. An empty list or a malformed id stops the operation. -#}
    {% if value is none or (value is string and value | trim == '') %}
        {% set items = [] %}
    {% elif value is string %}
        {% set items = value.split(',') %}
    {% elif value is iterable and value is not mapping %}
        {% set items = value %}
    {% else %}
        {% set items = [value] %}
    {% endif %}
    {% if items | length == 0 %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": the argument " ~ name ~ " needs at least one id; nothing was changed.\n"
            ~ "Usage: dbt run-operation " ~ operation ~ " --args '" ~ usage ~ "'"
        ) %}
    {% endif %}
    {% set ids = [] %}
    {% for item in items %}
        {% set id = uuid_argument(operation, name, item, usage) %}
        {% if id not in ids %}
            {% do ids.append(id) %}
        {% endif %}
    {% endfor %}
    {{ return(ids) }}
{% endmacro %}


{% macro sql_uuid_list(ids) -%}
    {#- SQL: the ids (already checked to be uuids) as a parenthesized list of uuid literals. -#}
    ({% for id in ids %}{{ dbt.string_literal(id) }}::uuid{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}


{% macro sql_text_list(values) -%}
    {#- SQL: the strings as a parenthesized list of text literals. -#}
    ({% for value in values %}{{ dbt.string_literal(value) }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}


{% macro sql_text_array(values) -%}
    {#- SQL: the strings as a text[] literal, each quoted by sql_text_literal. -#}
    array[{% for value in values %}{{ sql_text_literal(value) }}{{ ', ' if not loop.last }}{% endfor %}]::text[]
{%- endmacro %}
