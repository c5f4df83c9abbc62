with

jobs as (

    select * from {{ source('app', 'job') }}

),

renamed as (

    select
        -- ids
        id as job_id,
        lead_id,
        customer_id as current_customer_id,

        -- timestamps
        created_at

    from jobs

)

select * from renamed
