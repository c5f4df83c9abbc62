{% macro most_recent_value(column, order_by='created_at desc, lead_id desc') -%}
    {#- Survivorship in an aggregate: the value of the most recent row that has one. -#}
    (array_agg({{ column }} order by {{ order_by }}) filter (where {{ column }} is not null))[1]
{%- endmacro %}
