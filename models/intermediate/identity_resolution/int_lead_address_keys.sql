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
    longer than 300 characters, have no key (stg_app__leads parses each lead's
    address into its parts, once per lead).
-#}
{{ config(
    indexes=[{'columns': ['lead_id', 'address_key'], 'unique': true}],
) }}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

street_lines as (

    -- the street line, ZIP code and city staging parsed from each lead's address
    select
        lead_id,
        address_street_key as street_key,
        address_zip as zip,
        address_city as city

    from leads
    where address_street_key is not null

),

street_localities as (

    -- each street line with the ZIP codes and cities its leads give (one sort, no join:
    -- the planner cannot estimate how many leads have a street line)
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
