{#-
    A table, unlike the other staging models: the normalization is the most expensive
    expression work of a run (regular expressions on every lead), and several models
    read these columns. As a view it was computed again by each of them. Unlogged, like
    the intermediate tables: rebuilt whenever a lead changes, so it needs no WAL.
-#}
{{ config(
    materialized='reusable_table',
    unlogged=true,
    indexes=[{'columns': ['lead_id'], 'unique': true}],
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

        -- timestamps
        created_at,
        updated_at

    from leads

)

select * from renamed
