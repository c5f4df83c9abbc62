{% macro customer_address_id(customer_id, address_normalized) -%}
    md5(
        'customer_backfill:address:' || ({{ customer_id }})::text || ':' || {{ address_normalized }}
    )::uuid
{%- endmacro %}
