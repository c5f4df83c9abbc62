{% macro analyze_relations(relations) %}
    {#- SQL: `analyze` of each relation, for a statement string that writes them. Inside a
        transaction ANALYZE counts the transaction's own writes, and its statistics commit
        or roll back with them, so the next statement and the next run plan with the
        counts this one left. Autovacuum's ANALYZE comes later, or never in time: after a
        rollback it may record a ledger with no active entry, and a run that then adds
        60,000 entries without analyzing left a validation test planning one row and
        looping 61,524 customers against 40,000 phones (cancelled after 3.5 min, at 100k
        leads; 0.3 s with fresh statistics). -#}
    {% for relation in relations %}
        analyze {{ relation }};
    {% endfor %}
{% endmacro %}
