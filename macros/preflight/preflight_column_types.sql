{% macro uuid_columns() %}
    {#- The app columns the backfill compares with or writes as uuids. -#}
    {{ return({
        'Lead': ['id', 'customer_id'],
        'Job': ['id', 'lead_id', 'customer_id'],
        'Customer': ['id'],
        'CustomerAddress': ['id', 'customer_id'],
    }) }}
{% endmacro %}


{% macro psid_column_types() %}
    {#- PSID column types read as their text (integers and numerics as their exact
        decimal digits); any other type is refused by column_type_problems. -#}
    {{ return(['text', 'character varying', 'character', 'bigint', 'integer', 'smallint',
               'numeric', 'USER-DEFINED']) }}
{% endmacro %}


{% macro column_type_problems(columns_by_table) %}
    {#- App columns whose type the backfill cannot use as it is. -#}
    {% set schema = var('app_schema') %}
    {% set problems = [] %}
    {% for table, columns in uuid_columns().items() %}
        {% for column in columns if columns_by_table[table][column] != 'uuid' %}
            {% do problems.append(
                'column "' ~ schema ~ '"."' ~ table ~ '"."' ~ column ~ '" is '
                ~ columns_by_table[table][column] ~ '; the backfill needs uuid (it writes and'
                ~ ' compares uuid ids; a Prisma String id is text unless it is declared @db.Uuid)'
            ) %}
        {% endfor %}
    {% endfor %}
    {% set psid_type = columns_by_table['Lead'][var('lead_psid_column')] %}
    {% if psid_type not in psid_column_types() %}
        {% do problems.append(
            'column "' ~ schema ~ '"."Lead"."' ~ var('lead_psid_column') ~ '" is ' ~ psid_type
            ~ '; a PSID must be text or an integer (' ~ psid_type_reason(psid_type)
            ~ '): point the var lead_psid_column at a text column, or add one'
        ) %}
    {% endif %}
    {{ return(problems) }}
{% endmacro %}


{% macro psid_type_reason(data_type) %}
    {#- Why a PSID column of `data_type` is refused rather than cast to text. -#}
    {% if data_type in ('double precision', 'real') %}
        {{ return('a PSID has 15 to 17 digits and a floating-point number keeps about 15:'
            ~ ' two people could end up with one PSID') }}
    {% elif data_type in ('json', 'jsonb', 'ARRAY') %}
        {{ return('a ' ~ data_type ~ ' value is not one identifier') }}
    {% endif %}
    {{ return('its text form is not the PSID') }}
{% endmacro %}
