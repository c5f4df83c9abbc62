{% macro app_contract() %}
    {#- The app tables and columns the backfill reads or writes, by table: no model,
        check, apply or rollback reads any other column of the app's rows (a test runs
        them on an app reduced to these columns; merge_customers and the rollback keep a
        changed customer's whole row to restore it). A run fingerprints only these
        columns (fingerprinted_row_sql), so what the app changes elsewhere with every
        message (a lead's stage, updated_at, its last message, a job's status) is no
        change to it. -#}
    {{ return({
        'Lead': ['id', 'channel', 'name', var('lead_psid_column'), 'phone', 'email', 'address',
                 'lat', 'lng', 'created_at', 'customer_id'],
        'Job': ['id', 'lead_id', 'created_at', 'customer_id'],
        'Customer': ['id', 'name', 'phone', 'email', 'metadata', 'created_at', 'updated_at'],
        'CustomerAddress': ['id', 'customer_id', 'address', 'city', 'state', 'zip',
                            'lat', 'lng', 'is_primary', 'metadata', 'created_at'],
        'Audit': ['id', 'lead_id', 'actor', 'action', 'payload', 'created_at'],
    }) }}
{% endmacro %}


{% macro check_app_contract() %}
    {#- on-run-start: stops the run before anything is built or written when the server,
        the vars, the app tables and columns, their types or the role's privileges are
        not what the backfill needs; the message names every problem and what to do.
        The server and the vars PostgreSQL must parse are checked first, one at a time;
        the rest is listed together. -#}
    {% if execute and flags.WHICH in ('build', 'run', 'test', 'seed', 'run-operation') %}
        {% do stop_if_server_unsupported() %}
        {% do stop_if_setting_vars_invalid() %}
        {% do stop_before_writing(var_problems(), 'a var has a value the backfill cannot use') %}
        {% set columns_by_table = app_columns(var('app_schema')) %}
        {% do stop_before_writing(contract_problems(columns_by_table)) %}
        {% do stop_before_writing(column_type_problems(columns_by_table)) %}
        {% do stop_before_writing(
            privilege_problems(), 'the database role lacks privileges the backfill needs'
        ) %}
    {% endif %}
    select 1
{% endmacro %}


{% macro stop_before_writing(problems, headline='the app schema does not match what the backfill needs') %}
    {#- Stops the run with one message listing `problems` (nothing when there are none). -#}
    {% if problems %}
        {% do exceptions.raise_compiler_error(
            "customer backfill stopped before writing anything: " ~ headline
            ~ ".\n  - " ~ problems | join("\n  - ")
            ~ "\nVars in use: app_schema=" ~ var('app_schema')
            ~ ", lead_psid_column=" ~ var('lead_psid_column')
            ~ " (set them with --vars '{app_schema: ..., lead_psid_column: ...}')"
        ) %}
    {% endif %}
{% endmacro %}


{% macro app_columns(schema) %}
    {#- {table: {column: data_type}} of the app schema's tables. -#}
    {% set found = run_query(
        "select table_name, column_name, data_type from information_schema.columns"
        ~ " where table_schema = " ~ sql_text_literal(schema)
    ) %}
    {% set columns_by_table = {} %}
    {% for row in found.rows %}
        {% do columns_by_table.setdefault(row[0], {}).update({row[1]: row[2]}) %}
    {% endfor %}
    {{ return(columns_by_table) }}
{% endmacro %}


{% macro contract_problems(columns_by_table) %}
    {#- The schema, tables and columns of app_contract() that do not exist. -#}
    {% set schema = var('app_schema') %}
    {% set schema_exists = run_query(
        "select count(*) from pg_namespace where nspname = " ~ sql_text_literal(schema)
    ).columns[0].values()[0] > 0 %}
    {% if not schema_exists %}
        {% set elsewhere = schemas_having_table('Lead') %}
        {{ return(['schema "' ~ schema ~ '" does not exist'
            ~ ('; set the var app_schema to the schema of the app tables (schemas that have'
               ~ ' a "Lead" table: ' ~ elsewhere ~ ')' if elsewhere
               else '; set the var app_schema to the schema of the app tables')]) }}
    {% endif %}
    {% set problems = [] %}
    {% for table, columns in app_contract().items() %}
        {% if table not in columns_by_table %}
            {% set elsewhere = schemas_having_table(table) %}
            {% do problems.append(
                'table "' ~ schema ~ '"."' ~ table ~ '" does not exist'
                ~ (' (schemas that have a "' ~ table ~ '" table: ' ~ elsewhere ~ '; set the var app_schema)'
                   if elsewhere else ' (set the var app_schema to the schema of the app tables)')
            ) %}
        {% else %}
            {% for column in columns if column not in columns_by_table[table] %}
                {% do problems.append(
                    'table "' ~ schema ~ '"."' ~ table ~ '" has no column "' ~ column ~ '"'
                    ~ missing_column_hint(column, columns_by_table[table])
                ) %}
            {% endfor %}
        {% endif %}
    {% endfor %}
    {{ return(problems) }}
{% endmacro %}


{% macro schemas_having_table(table) %}
    {#- The schemas (comma-separated, or '') that have a table named `table`. -#}
    {{ return(run_query(
        "select coalesce(string_agg(distinct table_schema, ', '), '') from information_schema.tables"
        ~ " where table_name = " ~ sql_text_literal(table)
    ).columns[0].values()[0]) }}
{% endmacro %}


{% macro missing_column_hint(column, present_columns) %}
    {#- What to do about a missing column: the var to set, or the migration to run. -#}
    {% if column == var('lead_psid_column') %}
        {% set candidates = [] %}
        {% for name in present_columns.keys() if 'psid' in name | lower %}
            {% do candidates.append(name) %}
        {% endfor %}
        {{ return('; set the var lead_psid_column'
            ~ (' (columns that look like a PSID: ' ~ candidates | join(', ') ~ ')' if candidates else '')) }}
    {% elif column == 'customer_id' %}
        {{ return('; the app migration that adds customer_id must run before the backfill') }}
    {% endif %}
    {{ return('') }}
{% endmacro %}


{% macro sql_text_literal(value) -%}
    {#- `value` as a SQL string literal, its single quotes doubled (dbt.string_literal
        does not escape them on PostgreSQL). -#}
    '{{ dbt.escape_single_quotes(value | string) }}'
{%- endmacro %}
