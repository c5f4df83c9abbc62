{% macro ledger_creates_customer(ledger='ledger') -%}
    {#- SQL boolean: the ledger entry records a customer a run or an operation created
        (not one a merge deleted or filled; entries of versions before 2026-12 have no
        change_type and were all creations). -#}
    ({{ ledger }}.object_type = 'customer' and coalesce({{ ledger }}.change_type, 'create') = 'create')
{%- endmacro %}
