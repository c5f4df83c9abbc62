{% macro backfill_lock_key() -%}
    {#- One advisory lock per database serializes applies, rollbacks and customer operations. -#}
    hashtextextended('customer_backfill:' || {{ dbt.string_literal(var('app_schema')) }}, 0)
{%- endmacro %}


{% macro take_backfill_lock(operation) -%}
    {#- Waits up to var lock_wait_timeout for a concurrent backfill, rollback or customer
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


{% macro begin_backfill_transaction(operation='the backfill') -%}
    {#- SQL: an explicit BEGIN, then the backfill lock, the transaction's work_mem
        (raise_work_mem) and the ledger's sequence (made once). Every write path starts so: on dbt-postgres >= 1.10 a reused connection
        may otherwise run statements in autocommit mode, and the writes would not be
        atomic. -#}
    begin;
    {{ take_backfill_lock(operation) }}
    {{ raise_work_mem() }}
    create sequence if not exists {{ ledger_sequence() }};
{%- endmacro %}


{% macro run_atomically(operation, statements) %}
    {#- Runs an operation's statements as ONE transaction, sent as one SQL string:
        begin_backfill_transaction, the statements, COMMIT. run-operation opens no
        transaction of its own and would otherwise commit each statement separately.
        Any error aborts the transaction and nothing is changed. -#}
    {% set transaction %}
        {{ begin_backfill_transaction(operation) }}
        {{ statements }}
        commit;
    {% endset %}
    {% do run_query(transaction) %}
{% endmacro %}


{% macro preview_atomically(statements, result_sql) %}
    {#- A dry run of an operation: runs the statements that plan its changes (temporary
        tables, no app writes, no lock) in a transaction, returns the rows of
        `result_sql` read in it, and rolls the transaction back. The preview and the
        real operation compute their changes with the same statements. -#}
    {% set transaction %}
        begin;
        {{ raise_work_mem() }}
        {{ statements }}
        {{ result_sql }}
    {% endset %}
    {% set result = run_query(transaction) %}
    {% do run_query('rollback') %}
    {{ return(result) }}
{% endmacro %}
