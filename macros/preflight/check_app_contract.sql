{% macro app_contract() %}
    {#- The app tables and columns the backfill reads or writes, by table. -#}
    {{ return({
        'Lead': ['id', 'name', var('lead_psid_column'), 'phone', 'email', 'address',
                 'lat', 'lng', 'created_at', 'updated_at', 'customer_id'],
        'Job': ['id', 'lead_id', 'created_at', 'customer_id'],
        'Customer': ['id', 'name', 'phone', 'email', 'metadata', 'created_at', 'updated_at'],
        'CustomerAddress': ['id', 'customer_id', 'address', 'city', 'state', 'zip',
                            'lat', 'lng', 'is_primary', 'metadata', 'created_at'],
        'Audit': ['id', 'lead_id', 'actor', 'action', 'payload', 'created_at'],
    }) }}
{% endmacro %}


{% macro check_app_contract() %}
    {#- Stops the run, before anything is built or written, when the app schema does not
        have what the backfill needs; the message names what is missing and the var to set. -#}
    {% if execute and flags.WHICH in ('build', 'run', 'test', 'seed', 'run-operation') %}
        {% set problems = [] %}
        {% set contract = app_contract() %}
        {% set schema = var('app_schema') %}
        {% set found = run_query(
            "select table_name, column_name, data_type from information_schema.columns"
            ~ " where table_schema = '" ~ schema | replace("'", "''") ~ "'"
        ) %}
        {% set columns_by_table = {} %}
        {% for row in found.rows %}
            {% do columns_by_table.setdefault(row[0], {}).update({row[1]: row[2]}) %}
        {% endfor %}

        {% for table, columns in contract.items() %}
            {% if table not in columns_by_table %}
                {% set elsewhere = run_query(
                    "select string_agg(distinct table_schema, ', ') from information_schema.tables"
                    ~ " where table_name = '" ~ table ~ "'"
                ).columns[0].values()[0] %}
                {% do problems.append(
                    'table "' ~ schema ~ '"."' ~ table ~ '" does not exist'
                    ~ (' (schemas that have a "' ~ table ~ '" table: ' ~ elsewhere ~ '; set the var app_schema)'
                       if elsewhere else ' (set the var app_schema to the schema of the app tables)')
                ) %}
            {% else %}
                {% for column in columns %}
                    {% if column not in columns_by_table[table] %}
                        {% set hint = '' %}
                        {% if column == var('lead_psid_column') %}
                            {% set candidates = [] %}
                            {% for name in columns_by_table[table].keys() %}
                                {% if 'psid' in name | lower %}{% do candidates.append(name) %}{% endif %}
                            {% endfor %}
                            {% set hint = '; set the var lead_psid_column'
                                ~ (' (columns that look like a PSID: ' ~ candidates | join(', ') ~ ')'
                                   if candidates else '') %}
                        {% elif column == 'customer_id' %}
                            {% set hint = '; the app migration that adds customer_id must run before the backfill' %}
                        {% endif %}
                        {% do problems.append(
                            'table "' ~ schema ~ '"."' ~ table ~ '" has no column "' ~ column ~ '"' ~ hint
                        ) %}
                    {% endif %}
                {% endfor %}
            {% endif %}
        {% endfor %}

        {% if problems %}
            {% do exceptions.raise_compiler_error(
                "customer backfill stopped before writing anything: the app schema does not match"
                ~ " what the backfill needs.\n  - " ~ problems | join("\n  - ")
                ~ "\nVars in use: app_schema=" ~ schema ~ ", lead_psid_column=" ~ var('lead_psid_column')
                ~ " (set them with --vars '{app_schema: ..., lead_psid_column: ...}')"
            ) %}
        {% endif %}
    {% endif %}
    select 1
{% endmacro %}
