{% macro raise_work_mem() -%}
    {#- SQL: within the current transaction, raises PostgreSQL's work_mem (the memory of
        one sort or hash before it spills to disk) to var min_work_mem, unless the
        server already gives more; nothing when the var is empty. It sets the var, then
        puts the server's value back if that was larger: the two are compared as
        PostgreSQL applied them (a number without a unit is kB there, bytes to
        pg_size_bytes). Run at the start of every build of a table (reusable_table) and
        of every write path and its preview (begin_backfill_transaction,
        preview_atomically): at 1M leads their joins hold about a million rows, and the
        default 4MB hashes them in batches on disk. -#}
    {%- set minimum = min_work_mem() -%}
    {%- if minimum is not none -%}
        {#- the server's value, read before the var is set (a materialized CTE: computed
            when its row is scanned, before the where clause runs on that row) -#}
        with server as materialized (
            select current_setting('work_mem') as work_mem
        )
        select set_config('work_mem', server.work_mem, true)
        from server
        where pg_size_bytes(set_config('work_mem', {{ sql_text_literal(minimum) }}, true))
            < pg_size_bytes(server.work_mem);
    {%- endif -%}
{%- endmacro %}


{% macro min_work_mem() -%}
    {#- The var min_work_mem as text, or none when it is empty (the server's setting). -#}
    {%- set value = var('min_work_mem') -%}
    {{ return(none if value is none or (value | string | trim) == '' else value | string) }}
{%- endmacro %}
