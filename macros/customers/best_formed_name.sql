{% macro best_formed_name(name_column, order_by='created_at desc, lead_id desc') -%}
    {#- SQL aggregate expression: the best-formed of the names in `name_column`, never a
        mix of two - a full name (two words or more) over a first name alone, then a
        name written in mixed case over one in capitals or in lower case, then the most
        recent (`order_by`). Pass the result through fixed_name_case: when every name
        offered is in capitals or in lower case, its case is fixed there. -#}
    (array_agg({{ name_column }} order by
        {{ name_is_full(name_column) }} desc,
        {{ name_is_well_cased(name_column) }} desc,
        {{ order_by }}
    ) filter (where {{ name_column }} is not null))[1]
{%- endmacro %}


{% macro name_is_full(name) -%}
    {#- SQL boolean: the name has two words or more (a first and a last name). -#}
    (btrim({{ name }}) ~ '\S\s+\S')
{%- endmacro %}


{% macro name_is_well_cased(name) -%}
    {#- SQL boolean: the name mixes capitals and lower case (John Smith, McDonald), as a
        person writes it, rather than SHOUTING or all in lower case. A name without
        letters of two cases (digits, scripts without case) counts as well cased. -#}
    (({{ name }}) <> upper({{ name }}) and ({{ name }}) <> lower({{ name }})
        or upper({{ name }}) = lower({{ name }}))
{%- endmacro %}


{% macro fixed_name_case(name) -%}
    {#- SQL expression: `name` as it is when it mixes cases; in capitals or in lower case,
        each word capitalized by initcap() (after any character that is not a letter or
        a digit: O'Brien, Jean-Luc). Conservative: it never changes a mixed-case name,
        and cannot know McDonald (gives Mcdonald) or lower-case particles (van, de la
        become Van, De La). -#}
    case
        when ({{ name }}) is null then null
        when {{ name_is_well_cased(name) }} then ({{ name }})
        else initcap({{ name }})
    end
{%- endmacro %}
