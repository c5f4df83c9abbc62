{% macro customer_links_required() %}
    {#- The app tables among "Lead" and "Job" whose customer_id is NOT NULL now (the
        app's migration after the backfill): a write path must never set it back to
        null there, and says so before it writes. A list of table names. -#}
    {% set found = run_query(
        "select tables.relname::text from pg_attribute as columns"
        ~ " inner join pg_class as tables on columns.attrelid = tables.oid"
        ~ " where columns.attname = 'customer_id' and columns.attnotnull and not columns.attisdropped"
        ~ " and tables.oid in (to_regclass(" ~ sql_text_literal(source('app', 'lead') | string) ~ "),"
        ~ " to_regclass(" ~ sql_text_literal(source('app', 'job') | string) ~ "))"
        ~ " order by 1"
    ) %}
    {{ return(found.columns[0].values() | list) }}
{% endmacro %}
