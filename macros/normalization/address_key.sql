{#-
    The parts of a postal address that the address stage compares (stg_app__leads
    parses each lead's; int_lead_address_keys makes the keys). Each is one SQL expression on a lowercased text; they
    avoid regular expressions with non-greedy quantifiers and chains of
    regexp_replace (measured on 1,000,000 addresses: twenty chained replacements
    took 8.3 s, the word-by-word fold of address_street_words 2.1 s).
-#}

{% macro address_unit_pattern() -%}
    {#- A regular expression (a quoted SQL string): a unit designator and its unit,
        `apt 4`, `apt. 4b`, `#4`, `unit 12-c`, `suite 200`; the unit is its one capture. -#}
    '(?:\m(?:apartment|apt|unit|suite|ste)\M\.?|#)\s*#?\s*([a-z0-9]+(?:-[a-z0-9]+)?)'
{%- endmacro %}


{% macro address_unit(column) -%}
    {#- SQL expression: the unit of a lowercased address (`4b` of `apt 4-b`), or null. -#}
    replace(substring({{ column }} from {{ address_unit_pattern() }}), '-', '')
{%- endmacro %}


{% macro address_without_unit(column) -%}
    {#- SQL expression: a lowercased address with its unit removed. -#}
    regexp_replace({{ column }}, {{ address_unit_pattern() }}, ' ', 'g')
{%- endmacro %}


{% macro address_street_line(column) -%}
    {#- SQL expression: the text before the first comma of an address (its street line,
        when its unit was removed: address_without_unit). -#}
    split_part({{ column }}, ',', 1)
{%- endmacro %}


{% macro address_street_words(column) -%}
    {#- SQL expression: a street line (`123 North Main Street`) as words, every
        street suffix and direction written one way (`123 n main st`), so that the
        forms people type compare equal. Null when nothing is left. -#}
    nullif(array_to_string(array(
        select {{ address_word_abbreviation('address_word.word') }}
        from unnest(string_to_array(
            btrim(regexp_replace(lower({{ column }}), '[^a-z0-9]+', ' ', 'g')), ' '
        )) with ordinality as address_word (word, position)
        where address_word.word <> ''
        order by address_word.position
    ), ' '), '')
{%- endmacro %}


{% macro address_word_abbreviation(word) -%}
    {#- SQL expression: the usual (USPS) abbreviation of a street suffix or direction
        word; any other word as it is. -#}
    case {{ word }}
        when 'street' then 'st'
        when 'str' then 'st'
        when 'avenue' then 'ave'
        when 'av' then 'ave'
        when 'avn' then 'ave'
        when 'road' then 'rd'
        when 'boulevard' then 'blvd'
        when 'boul' then 'blvd'
        when 'drive' then 'dr'
        when 'drv' then 'dr'
        when 'lane' then 'ln'
        when 'court' then 'ct'
        when 'place' then 'pl'
        when 'terrace' then 'ter'
        when 'parkway' then 'pkwy'
        when 'pky' then 'pkwy'
        when 'highway' then 'hwy'
        when 'circle' then 'cir'
        when 'trail' then 'trl'
        when 'square' then 'sq'
        when 'north' then 'n'
        when 'south' then 's'
        when 'east' then 'e'
        when 'west' then 'w'
        when 'northeast' then 'ne'
        when 'northwest' then 'nw'
        when 'southeast' then 'se'
        when 'southwest' then 'sw'
        else {{ word }}
    end
{%- endmacro %}


{% macro address_zip(column) -%}
    {#- SQL expression: the five-digit ZIP code ending a lowercased address that has a
        comma (`..., il 62704` or `62704-1234`), or null. -#}
    case
        when strpos({{ column }}, ',') > 0
            then substring({{ column }} from '([0-9]{5})(?:-[0-9]{4})?\s*$')
    end
{%- endmacro %}


{% macro address_city(column) -%}
    {#- SQL expression: city and state of a lowercased address ending
        `, city, st`, `, city st` or either with a ZIP (`springfield il`), or null. -#}
    nullif(btrim(regexp_replace(
        substring({{ column }} from ',\s*([a-z][a-z .''-]*[ ,]\s*[a-z]{2})\.?(?:\s+[0-9]{5}(?:-[0-9]{4})?)?\s*$'),
        '[^a-z]+', ' ', 'g'
    )), '')
{%- endmacro %}
