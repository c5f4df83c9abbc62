{#-
    The address keys of each lead with a postal address, what the address stage
    links by: the street line (house number, street with suffix and direction
    abbreviated one way, unit) with the ZIP code, and with the city and state - two
    keys when both are given, so that a lead with a ZIP and one with only a city
    still share one. A lead that gives only a street line takes the locality its
    street line has on every other lead, when that is one ZIP or one city; when
    no lead locates it, the street line alone; when leads place it in two
    localities, no key (it could be either).
    Texts that do not start with a house number ("behind the school"), and texts
    longer than 300 characters, have no key.
-#}
{{ config(
    indexes=[{'columns': ['lead_id', 'address_key'], 'unique': true}],
) }}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

addresses as (

    select
        lead_id,
        lower(address) as address_text,
        {{ address_unit('lower(address)') }} as unit

    from leads
    where
        address is not null
        -- no postal address is longer (and a key must fit in an index)
        and length(address) <= 300
        and {{ var('identity_address_stage') }}

),

address_parts as (

    select
        lead_id,
        unit,
        {{ address_street_words(address_street_line('address_text')) }} as street_words,
        {{ address_zip('address_text') }} as zip,
        {{ address_city("regexp_replace(address_text, " ~ address_unit_pattern() ~ ", ' ', 'g')") }}
            as city

    from addresses

),

street_lines as (

    -- a street line is a house number and at least one word
    select
        lead_id,
        street_words || coalesce(' unit ' || unit, '') as street_key,
        zip,
        city

    from address_parts
    where street_words ~ '^[0-9]+[a-z]? [a-z0-9]'

),

located_keys as (

    select
        lead_id,
        street_key,
        street_key || '|' || zip as address_key

    from street_lines
    where zip is not null

    union all

    select
        lead_id,
        street_key,
        street_key || '|' || city as address_key

    from street_lines
    where city is not null

),

street_localities as (

    select
        street_key,
        count(distinct address_key) filter (where address_key ~ '\|[0-9]{5}$') as zips,
        count(distinct address_key) filter (where address_key !~ '\|[0-9]{5}$') as cities,
        min(address_key) filter (where address_key ~ '\|[0-9]{5}$') as only_zip_key,
        min(address_key) filter (where address_key !~ '\|[0-9]{5}$') as only_city_key

    from located_keys
    group by street_key

),

unlocated_keys as (

    -- street-only leads: the one locality of their street line, or none known
    select
        street_lines.lead_id,
        street_lines.street_key,
        located.address_key

    from street_lines
    left join street_localities
        on street_lines.street_key = street_localities.street_key
    cross join
        lateral (
            values
            (case when street_localities.street_key is null then street_lines.street_key || '|' end),
            (case when street_localities.zips = 1 and street_localities.cities <= 1 then street_localities.only_zip_key end),
            (case when street_localities.cities = 1 and street_localities.zips <= 1 then street_localities.only_city_key end)
        ) as located (address_key)
    where
        street_lines.zip is null
        and street_lines.city is null
        and located.address_key is not null

),

final as (

    select
        lead_id,
        address_key

    from located_keys

    union

    select
        lead_id,
        address_key

    from unlocated_keys

)

select * from final
