{% macro clean_text(column) -%}
    {#- Control characters and invisible format characters (zero-width spaces and
        joiners, soft hyphen, word joiner, byte-order mark, bidirectional marks and
        overrides) are removed: they show as nothing, so `bo<ZWSP>b@x.com` is
        `bob@x.com`. Every run of whitespace or other Unicode space becomes one space.
        Most values are printable ASCII without a double space, which the two regular
        expressions would leave as they are: those are only trimmed (the same result,
        at a fraction of the cost; the property tests compare both paths). -#}
    case
        when ({{ column }})::text !~ '[^ -~]' and strpos(({{ column }})::text, '  ') = 0
            then nullif(btrim(({{ column }})::text), '')
        else {{ clean_any_text(column) }}
    end
{%- endmacro %}


{% macro clean_any_text(column) -%}
    {#- clean_text's general path, for text of any characters. -#}
    nullif(
        btrim(
            regexp_replace(
                regexp_replace(
                    ({{ column }})::text,
                    '[\x01-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+',
                    '',
                    'g'
                ),
                '[\s\x85\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+',
                ' ',
                'g'
            )
        ),
        ''
    )
{%- endmacro %}
