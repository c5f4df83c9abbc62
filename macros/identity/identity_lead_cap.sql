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


{% macro identity_lead_cap_of(identifier_type_column) -%}
    {#- SQL: the cap (identity_lead_cap) of the identifier type in `identifier_type_column`. -#}
    case {{ identifier_type_column }}
        when 'psid' then {{ identity_lead_cap('psid') }}
        when 'phone' then {{ identity_lead_cap('phone') }}
        when 'address' then {{ identity_lead_cap('address') }}
        else {{ identity_lead_cap('email') }}
    end
{%- endmacro %}
