{% macro backfill_lock_key() -%}
    {#- One advisory lock per database serializes applies, rollbacks and manual operations. -#}
    hashtextextended('customer_backfill:' || {{ dbt.string_literal(var('app_schema')) }}, 0)
{%- endmacro %}


{% macro take_backfill_lock(operation) -%}
    {#- Waits up to var lock_wait_timeout for a concurrent backfill, rollback or manual
        operation to finish, then stops with a message that says so. Must run inside the
        transaction it protects: the lock is released when that transaction ends. -#}
    set local lock_timeout = {{ dbt.string_literal(var('lock_wait_timeout')) }};
    do $backfill_lock$
    begin
        perform pg_advisory_xact_lock({{ backfill_lock_key() }});
    exception when lock_not_available then
        raise exception using
            message = 'customer backfill: another backfill, rollback or customer operation is'
                || ' running on this database; {{ operation }} waited '
                || {{ dbt.string_literal(var('lock_wait_timeout')) }} || ' and stopped without'
                || ' changing anything',
            hint = 'Run it again when the other one has finished (see pg_stat_activity).';
    end
    $backfill_lock$;
    set local lock_timeout = 0;
{%- endmacro %}


{% macro begin_backfill_transaction() %}
    {#- An explicit BEGIN: on dbt-postgres >= 1.10 a reused connection may otherwise run
        the hooks in autocommit mode, and the apply would not be atomic. -#}
    {% if not is_dry_run() %}
        begin;
        {{ take_backfill_lock('the backfill') }}
    {% endif %}
{% endmacro %}
