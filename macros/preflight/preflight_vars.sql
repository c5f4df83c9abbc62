{% macro stop_if_setting_vars_invalid() %}
    {#- The vars PostgreSQL itself parses (a lock timeout, an interval, a memory size) are checked by
        PostgreSQL: an invalid one stops the run at once, naming the var. -#}
    {% do stop_unless_postgres_accepts(
        'lock_wait_timeout',
        "set_config('lock_timeout', " ~ sql_text_literal(var('lock_wait_timeout')) ~ ", true)",
        "a lock timeout such as '5min', '30s' or '0' (wait forever)"
    ) %}
    {% do stop_unless_postgres_accepts(
        'run_claim_grace_period',
        sql_text_literal(var('run_claim_grace_period')) ~ '::interval',
        "an interval such as '2 minutes' or '0 seconds'"
    ) %}
    {% if min_work_mem() is not none %}
        {% set memory = sql_text_literal(min_work_mem()) %}
        {% do stop_unless_postgres_accepts(
            'min_work_mem',
            "set_config('work_mem', " ~ memory ~ ", true), pg_size_bytes(" ~ memory ~ ")",
            "a memory size PostgreSQL accepts for work_mem, such as '64MB' or '1GB' (empty: the server's setting)"
        ) %}
    {% endif %}
{% endmacro %}


{% macro stop_unless_postgres_accepts(var_name, expression, expected) %}
    {#- Evaluates `expression` (built from the var `var_name`) in PostgreSQL; if it fails,
        stops the run with a message saying what the var must be. Writes nothing. -#}
    {% set message = "customer backfill stopped before writing anything: the var " ~ var_name
        ~ " must be " ~ expected ~ ", not '" ~ var(var_name) ~ "'" %}
    {% do run_query(
        "do $preflight$ begin perform " ~ expression ~ ";"
        ~ " exception when others then raise exception using message = "
        ~ sql_text_literal(message) ~ "; end $preflight$"
    ) %}
{% endmacro %}


{% macro var_problems() %}
    {#- The vars checked without the database: dry_run and verbose are booleans (see
        is_dry_run), names are non-empty, customer_phone_format and identity_scope are known
        values, verbose_group_limit is a whole number. -#}
    {% set problems = [] %}
    {% do is_dry_run() %}
    {% for name in ('app_schema', 'lead_psid_column', 'created_by') %}
        {% if var(name) is none or (var(name) | string | trim) == '' %}
            {% do problems.append('the var ' ~ name ~ ' is empty') %}
        {% endif %}
    {% endfor %}
    {% if var('verbose') not in (true, false) %}
        {% do problems.append("the var verbose must be true or false, not '" ~ var('verbose') ~ "'") %}
    {% endif %}
    {% if var('customer_phone_format') not in ('e164', 'national') %}
        {% do problems.append("the var customer_phone_format must be e164 (+15551234567, as the app"
            ~ " writes phones) or national (5551234567), not '" ~ var('customer_phone_format') ~ "'") %}
    {% endif %}
    {% if var('identity_scope') not in ('affected', 'all') %}
        {% do problems.append("the var identity_scope must be affected (resolve the leads a run can"
            ~ " write for, and what they touch) or all (every lead), not '" ~ var('identity_scope') ~ "'") %}
    {% endif %}
    {% if not (var('verbose_group_limit') | string).isdigit() %}
        {% do problems.append("the var verbose_group_limit must be a whole number, not '"
            ~ var('verbose_group_limit') ~ "'") %}
    {% endif %}
    {{ return(problems) }}
{% endmacro %}
