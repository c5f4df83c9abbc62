{#-
    A table, unlike the other staging models: the normalization is the most expensive
    expression work of a run (regular expressions on every lead), and several models
    read these columns. As a view it was computed again by each of them. Unlogged, like
    the intermediate tables: it is rebuilt from the app's rows, so it needs no WAL.
    Kept per lead (update_rows_by): a run after the app changed some leads computes
    again only the leads whose inputs (normalized_inputs) changed, and copies the other
    columns (copied_columns: a link the last apply made) as they are now. Every column
    is computed from normalized_inputs only, or is one of copied_columns: a column
    that reads anything else must be added to one of the two lists.
-#}
{%- set normalized_inputs = ['name', var('lead_psid_column'), 'phone', 'email', 'address'] %}
{{ config(
    materialized='reusable_table',
    unlogged=true,
    indexes=[{'columns': ['lead_id'], 'unique': true}],
    update_rows_by={
        'key': 'lead_id',
        'inputs_hash': 'normalized_inputs_hash',
        'copied_columns': [
            'current_customer_id', 'channel', 'latitude', 'longitude', 'created_at',
        ],
    },
) }}

with

leads as (

    select * from {{ source('app', 'lead') }}

),

renamed as (

    select
        -- ids
        id as lead_id,
        customer_id as current_customer_id,

        -- strings
        channel::text as channel,
        name as lead_name,
        {{ normalize_person_name('name') }} as first_name_normalized,
        {{ adapter.quote(var('lead_psid_column')) }}::text as psid_raw,
        {{ normalize_psid(adapter.quote(var('lead_psid_column'))) }} as psid,
        phone as phone_raw,
        {{ normalize_phone('phone') }} as phone_normalized,
        email as email_raw,
        {{ normalize_email('email') }} as email_normalized,
        {{ clean_text('address') }} as address,
        {{ normalize_address('address') }} as address_normalized,

        -- numerics
        lat as latitude,
        lng as longitude,

        -- timestamps (not updated_at: the app changes it with every message, and
        -- nothing the backfill decides reads it; see app_contract)
        created_at,

        -- what the normalized columns are computed from
        {{ columns_hash_sql(normalized_inputs) }} as normalized_inputs_hash

    from leads

),

address_texts as (

    -- the address the address stage parses, lowercased, once per lead: as a function's
    -- argument, PostgreSQL does not copy it into each of its uses below (each a regular
    -- expression on it). None when longer than 300 characters (no postal address is,
    -- and a key must fit in an index) or when the address stage is off.
    select
        renamed.*,
        address_text.address_lowercased

    from renamed
    cross join
        lateral unnest(array[
            case
                when length(renamed.address) <= 300 and {{ var('identity_address_stage') }}
                    then lower(renamed.address)
            end
        ]) as address_text (address_lowercased)

),

address_parts as (

    -- a street line is a house number and at least one word
    select
        *,
        (regexp_match(
            {{ address_street_words(address_street_line(address_without_unit('address_lowercased'))) }},
            '^[0-9]+[a-z]? [a-z0-9].*$'
        ))[1]
        || coalesce(' unit ' || {{ address_unit('address_lowercased') }}, '') as address_street_key,
        {{ address_zip('address_lowercased') }} as address_zip,
        {{ address_city(address_without_unit('address_lowercased')) }} as address_city

    from address_texts

),

final as (

    select
        lead_id,
        current_customer_id,
        channel,
        lead_name,
        first_name_normalized,
        psid_raw,
        psid,
        phone_raw,
        phone_normalized,
        email_raw,
        email_normalized,
        address,
        address_normalized,
        address_street_key,
        address_zip,
        address_city,
        latitude,
        longitude,
        created_at,
        normalized_inputs_hash

    from address_parts

)

select * from final
