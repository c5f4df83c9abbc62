{% macro raise_work_mem() -%}
    {#- SQL: within the current transaction, raises PostgreSQL's work_mem (the memory of
        one sort or hash before it spills to disk) to var min_work_mem, unless the
        server already gives more; nothing when the var is empty. Run at the start of
        every build of a table (reusable_table) and of every write path
        (begin_backfill_transaction): at 1M leads their joins and sorts hold about a
        million rows, and the default 4MB sends them to temporary files in batches. -#}
    {%- set minimum = var('min_work_mem') -%}
    {%- if minimum is not none and (minimum | string | trim) != '' -%}
        {%- set literal = sql_text_literal(minimum | string) -%}
        select set_config('work_mem', {{ literal }}, true)
        where pg_size_bytes(current_setting('work_mem')) < pg_size_bytes({{ literal }});
    {%- endif -%}
{%- endmacro %}
