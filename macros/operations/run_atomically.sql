{% macro run_atomically(operation, statements) %}
    {#- Runs the statements as ONE transaction, sent as one SQL string with an explicit
        BEGIN and COMMIT: run-operation opens no transaction of its own and would
        otherwise commit each statement separately. The backfill lock comes first, so a
        backfill run, a rollback and a customer operation never overlap. Any error
        aborts the transaction and nothing is changed. -#}
    {% set transaction %}
        begin;
        {{ take_backfill_lock(operation) }}
        {{ statements }}
        commit;
    {% endset %}
    {% do run_query(transaction) %}
{% endmacro %}
