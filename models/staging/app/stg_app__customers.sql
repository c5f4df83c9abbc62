with

customers as (

    select * from {{ source('app', 'customer') }}

),

renamed as (

    select
        -- ids
        id as customer_id,

        -- strings
        name as customer_name,
        {{ normalize_person_name('name') }} as first_name_normalized,
        phone as phone_raw,
        {{ normalize_phone('phone') }} as phone_normalized,
        email as email_raw,
        {{ normalize_email('email') }} as email_normalized,

        -- json
        metadata,

        -- timestamps
        created_at,
        updated_at

    from customers

)

select * from renamed
