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
        {{ address_unit('lower(address)') }} as unit,
        {{ address_without_unit('lower(address)') }} as address_without_unit

    from leads
    where
        address is not null
        -- no postal address is longer (and a key must fit in an index)
        and length(address) <= 300
        and {{ var('identity_address_stage') }}

),

-- materialized: inlined, the street words (a subquery per address) were computed
-- twice, for the filter below and for the key (measured at 1M leads: 28.6 s, then 14.4 s)
address_parts as materialized (

    select
        lead_id,
        unit,
        {{ address_street_words(address_street_line('address_without_unit')) }} as street_words,
        {{ address_zip('address_text') }} as zip,
        {{ address_city('address_without_unit') }} as city

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

street_localities as (

    -- each street line with the ZIP codes and cities its leads give (one sort, no join:
    -- the planner cannot estimate how many rows the regular expressions above keep)
    select
        *,
        min(zip) over same_street as first_zip,
        max(zip) over same_street as last_zip,
        min(city) over same_street as first_city,
        max(city) over same_street as last_city

    from street_lines
    window same_street as (partition by street_key)

),

street_places as (

    select
        *,
        zip is null and city is null as is_street_only,
        (first_zip is not distinct from last_zip)
        and (first_city is not distinct from last_city) as is_one_place

    from street_localities

),

final as (

    -- a lead's own ZIP and city; a street line alone takes the one ZIP and the one city
    -- of its street (none when two), or stays alone when nobody places it
    select distinct
        street_places.lead_id,
        street_places.street_key || '|' || localities.locality as address_key

    from street_places
    cross join
        lateral (
            values
            (street_places.zip),
            (street_places.city),
            (case
                when street_places.is_street_only and street_places.is_one_place
                    then street_places.first_zip
            end),
            (case
                when street_places.is_street_only and street_places.is_one_place
                    then street_places.first_city
            end),
            (case
                when
                    street_places.is_street_only
                    and street_places.first_zip is null
                    and street_places.first_city is null
                    then ''
            end)
        ) as localities (locality)
    where localities.locality is not null

)

select * from final
