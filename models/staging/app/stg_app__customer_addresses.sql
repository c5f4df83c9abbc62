with

customer_addresses as (

    select * from {{ source('app', 'customer_address') }}

),

renamed as (

    select
        -- ids
        id as customer_address_id,
        customer_id,

        -- strings
        address,
        {{ normalize_address('address') }} as address_normalized,
        city,
        state,
        zip,

        -- booleans
        is_primary,

        -- timestamps
        created_at

    from customer_addresses

)

select * from renamed
