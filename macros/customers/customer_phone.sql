{% macro customer_phone(phone_normalized) -%}
    {#- SQL expression: a normalized phone (10 North American digits, or `+` and the
        digits of another country) as the app writes Customer.phone - E.164 by default
        (`+15551234567`), the app's exact lookup by phone then finds the customer; var
        customer_phone_format: national keeps North American numbers as 10 digits. -#}
    {%- if var('customer_phone_format') == 'national' -%}
        ({{ phone_normalized }})
    {%- else -%}
        case
            when left({{ phone_normalized }}, 1) = '+' then {{ phone_normalized }}
            else '+1' || {{ phone_normalized }}
        end
    {%- endif -%}
{%- endmacro %}
