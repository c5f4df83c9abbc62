{% macro identity_lead_cap(identifier_type) %}
    {#- The most leads one value of this type may be carried by and still link them
        (var identity_max_leads_per_value: a number, or a mapping per type; for an
        address, var identity_max_leads_per_address). -#}
    {% if identifier_type == 'address' %}
        {{ return(var('identity_max_leads_per_address') | int) }}
    {% endif %}
    {% set caps = var('identity_max_leads_per_value') %}
    {% if caps is mapping %}
        {{ return(caps.get(identifier_type, 25) | int) }}
    {% endif %}
    {{ return(caps | int) }}
{% endmacro %}
