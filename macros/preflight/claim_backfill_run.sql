{% macro claim_backfill_run() %}
    {#- on-run-start: one dbt command of this project at a time on a database. Two
        `dbt build`s at once would otherwise collide on dbt's own DDL (the plan tables)
        long before the apply lock serializes their writes. The claim is a row in
        backfill_active_runs, taken under an advisory lock; a row is stale once it is
        older than the grace period and no connection of this project has been open
        for 3 seconds (a run that was killed), and is then taken over
        (take_over_stale_claims). The schema is created
        only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even
        when the schema exists, which a role given only its schema may lack. -#}
    {% if execute and flags.WHICH in ('build', 'run', 'test', 'seed') %}
        {% set claims = api.Relation.create(
            database=target.dbname, schema=target.schema, identifier='backfill_active_runs'
        ) %}
        {% set grace = var('run_claim_grace_period') %}
        {#- rendered before the claim is taken: an error in it leaves no claim behind -#}
        {% set inputs_sql = record_run_inputs() if flags.WHICH in ('build', 'run') else none %}
        {% do run_query(
            "begin;"
            ~ " select pg_advisory_xact_lock(" ~ backfill_lock_key() ~ " + 1);"
            ~ " do $claim$ begin if to_regnamespace(" ~ dbt.string_literal(adapter.quote(target.schema))
            ~ ") is null then create schema " ~ adapter.quote(target.schema) ~ "; end if; end $claim$;"
            ~ " create table if not exists " ~ claims ~ " ("
            ~ "     invocation_id text primary key,"
            ~ "     command text not null,"
            ~ "     started_at timestamptz not null default now(),"
            ~ "     client_pid integer not null default pg_backend_pid()"
            ~ " );"
            ~ " " ~ create_build_key_registry()
            ~ " " ~ create_run_state_tables()
            ~ " " ~ take_over_stale_claims(claims, grace)
            ~ " insert into " ~ claims ~ " (invocation_id, command)"
            ~ " select " ~ dbt.string_literal(invocation_id) ~ ", " ~ dbt.string_literal(flags.WHICH)
            ~ " where not exists (select 1 from " ~ claims ~ ");"
            ~ (" " ~ ledger_sequence_at_start() if flags.WHICH in ('build', 'test') else '')
            ~ " commit;"
        ) %}
        {% set others = run_query(
            "select invocation_id, command, started_at::text from " ~ claims
            ~ " where invocation_id <> " ~ dbt.string_literal(invocation_id)
        ) %}
        {% if others.rows | length > 0 %}
            {% set other = others.rows[0] %}
            {% do exceptions.raise_compiler_error(
                "customer backfill stopped before changing anything: another `dbt " ~ other[1]
                ~ "` of this project (invocation " ~ other[0] ~ ", started " ~ other[2]
                ~ ") is running on this database. Run again when it has finished."
                ~ " If it was killed, its claim expires once none of its connections remain and it is older than "
                ~ grace ~ " (var run_claim_grace_period); or remove it: delete from " ~ claims
                ~ " where invocation_id = '" ~ other[0] ~ "'"
            ) %}
        {% endif %}
        {% if inputs_sql %}
            {% do run_query("begin; " ~ inputs_sql ~ " commit;") %}
            {% do remember_run_inputs() %}
        {% endif %}
    {% endif %}
    select 1
{% endmacro %}


{% macro release_backfill_run() %}
    {#- on-run-end: give up this invocation's claim (see claim_backfill_run). -#}
    {% if execute and flags.WHICH in ('build', 'run', 'test', 'seed') %}
        {% do run_query(
            "delete from " ~ api.Relation.create(
                database=target.dbname, schema=target.schema, identifier='backfill_active_runs'
            ) ~ " where invocation_id = " ~ dbt.string_literal(invocation_id)
        ) %}
    {% endif %}
    select 1
{% endmacro %}


{% macro take_over_stale_claims(claims, grace) -%}
    {#- SQL: deletes the claims older than `grace` when no connection of this project
        (same application_name) is open during 3 seconds. A single look is not enough:
        dbt closes a node's connection when the node ends, so a live run has none open
        for a moment between nodes (up to half a second measured during a 30,000-lead
        build); 30 looks 0.1 s apart are. Only runs that find an old claim wait. -#}
    do $claim$
    declare
        quiet_looks integer := 0;
    begin
        if exists (
            select 1 from {{ claims }}
            where started_at < now() - {{ dbt.string_literal(grace) }}::interval
        ) then
            while quiet_looks < 30 loop
                -- pg_stat_activity is a snapshot per transaction unless cleared
                perform pg_stat_clear_snapshot();
                exit when exists (
                    select 1 from pg_stat_activity
                    where datname = current_database()
                        and application_name = current_setting('application_name')
                        and pid <> pg_backend_pid()
                );
                quiet_looks := quiet_looks + 1;
                perform pg_sleep(0.1);
            end loop;
            if quiet_looks = 30 then
                delete from {{ claims }}
                where started_at < now() - {{ dbt.string_literal(grace) }}::interval;
            end if;
        end if;
    end
    $claim$;
{%- endmacro %}
