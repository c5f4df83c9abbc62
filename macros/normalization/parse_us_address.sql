{% macro parse_us_address(column) -%}
    regexp_match({{ column }}, ',\s*([^,]+?)\s*,\s*([A-Za-z]{2})\.?\s+([0-9]{5})(-[0-9]{4})?\s*$')
{%- endmacro %}
