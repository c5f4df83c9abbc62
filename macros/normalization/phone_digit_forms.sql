{% macro phone_digit_forms() -%}
    {#- The digits people type besides ASCII ones, as one SQL string: full-width (and
        the full-width plus), Arabic-Indic, Extended Arabic-Indic (Persian, Urdu) and
        Devanagari; phone_digit_forms_as_ascii() gives their ASCII values, in order. -#}
    '０１２３４５６７８９＋٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९'
{%- endmacro %}


{% macro phone_digit_forms_as_ascii() -%}
    '0123456789+012345678901234567890123456789'
{%- endmacro %}
