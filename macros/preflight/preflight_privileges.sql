{% macro required_privileges() %}
    {#- (privilege, table, column or none) the run needs on the app tables: reading all
        of them, and in a real build or run inserting customers, addresses and the Audit
        row and setting Lead/Job.customer_id. -#}
    {% set needed = [] %}
    {% for table in app_contract().keys() %}
        {% do needed.append(('SELECT', table, none)) %}
    {% endfor %}
    {% if flags.WHICH in ('build', 'run') and not is_dry_run() %}
        {% for table in ('Customer', 'CustomerAddress', 'Audit') %}
            {% do needed.append(('INSERT', table, none)) %}
        {% endfor %}
        {% for table in ('Lead', 'Job') %}
            {% do needed.append(('UPDATE', table, 'customer_id')) %}
        {% endfor %}
    {% endif %}
    {{ return(needed) }}
{% endmacro %}


{% macro privilege_checks() %}
    {#- [(SQL that is true when the current role has a privilege, the privilege, the GRANT
        that gives it)]: USAGE on the app schema, required_privileges() on the app
        tables, and CREATE where the project keeps its own tables (its schema and the
        schema of the validation tests' stored failures). -#}
    {% set schema = var('app_schema') %}
    {% set checks = [(
        "has_schema_privilege(" ~ sql_text_literal(schema) ~ ", 'USAGE')",
        'USAGE on schema ' ~ adapter.quote(schema),
        'grant usage on schema ' ~ adapter.quote(schema),
    )] %}
    {% for privilege, table, column in required_privileges() %}
        {% set relation = adapter.quote(schema) ~ '.' ~ adapter.quote(table) %}
        {% if column %}
            {% do checks.append((
                "has_column_privilege(" ~ sql_text_literal(relation) ~ ", "
                ~ sql_text_literal(column) ~ ", '" ~ privilege ~ "')",
                privilege ~ ' (' ~ column ~ ') on ' ~ relation,
                'grant ' ~ privilege | lower ~ ' (' ~ column ~ ') on ' ~ relation,
            )) %}
        {% else %}
            {% do checks.append((
                "has_table_privilege(" ~ sql_text_literal(relation) ~ ", '" ~ privilege ~ "')",
                privilege ~ ' on ' ~ relation,
                'grant ' ~ privilege | lower ~ ' on ' ~ relation,
            )) %}
        {% endif %}
    {% endfor %}
    {% for schema_name, purpose in [
        (target.schema, 'the plan and the ledger'),
        (target.schema ~ '_dbt_test__audit', "the validation tests' stored failures"),
    ] %}
        {% do checks.append((
            "case when exists (select 1 from pg_namespace where nspname = "
            ~ sql_text_literal(schema_name) ~ ") then has_schema_privilege("
            ~ sql_text_literal(schema_name) ~ ", 'CREATE')"
            ~ " else has_database_privilege(current_database(), 'CREATE') end",
            'CREATE on schema ' ~ adapter.quote(schema_name) ~ ' (where the project keeps '
            ~ purpose ~ '; before the first run: CREATE on the database)',
            'grant create on schema ' ~ adapter.quote(schema_name)
            ~ ' (or: grant create on database ' ~ adapter.quote(target.dbname) ~ ')',
        )) %}
    {% endfor %}
    {{ return(checks) }}
{% endmacro %}


{% macro privilege_problems() %}
    {#- Each privilege of privilege_checks() the current role lacks, with its GRANT. -#}
    {% set checks = privilege_checks() %}
    {% set granted = run_query(
        "select current_user, " ~ checks | map(attribute=0) | join(', ')
    ).rows[0] %}
    {% set problems = [] %}
    {% for check in checks %}
        {% if not granted[loop.index] %}
            {% do problems.append('role "' ~ granted[0] ~ '" lacks ' ~ check[1] ~ ': '
                ~ check[2] ~ ' to ' ~ adapter.quote(granted[0])) %}
        {% endif %}
    {% endfor %}
    {{ return(problems) }}
{% endmacro %}
