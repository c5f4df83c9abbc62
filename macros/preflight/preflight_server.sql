{% macro stop_if_server_unsupported() %}
    {#- Stops the run at once unless the database is PostgreSQL 13 or later (the backfill
        uses gen_random_uuid(), hashtextextended() and data-modifying CTEs). -#}
    {% set server = run_query(
        "select current_setting('server_version_num')::int, version()"
    ).rows[0] %}
    {% set problem = server_version_problem(server[0], server[1]) %}
    {% if problem %}
        {% do exceptions.raise_compiler_error(
            "customer backfill stopped before writing anything: " ~ problem
        ) %}
    {% endif %}
{% endmacro %}


{% macro server_version_problem(version_num, version_text) %}
    {#- Why a server of `version_num` (server_version_num) and `version_text` (version())
        cannot run the backfill, or '' when it can. -#}
    {% if not (version_text | string).startswith('PostgreSQL ') %}
        {{ return('the database is not PostgreSQL (it says "' ~ version_text
            ~ '"); the backfill needs PostgreSQL 13 or later') }}
    {% elif version_num | int < 130000 %}
        {{ return('the server is PostgreSQL ' ~ (version_text | string).split(' ')[1]
            ~ ' (server_version_num ' ~ version_num ~ '); the backfill needs PostgreSQL 13 or later') }}
    {% elif 'Redshift' in version_text | string %}
        {{ return('the database is Amazon Redshift; the backfill needs PostgreSQL 13 or later') }}
    {% endif %}
    {{ return('') }}
{% endmacro %}
