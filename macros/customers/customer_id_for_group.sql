{% macro customer_id_for_group(anchor_lead_id) -%}
    md5('customer_backfill:customer:' || ({{ anchor_lead_id }})::text)::uuid
{%- endmacro %}
