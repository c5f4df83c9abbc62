{#-
    A live view of each lead's customer link. stg_app__leads is a table (the
    normalization is computed once per run), so it holds the links as they were when
    the run started; the checks that run after the apply read the links here.
-#}

with

leads as (

    select * from {{ source('app', 'lead') }}

),

renamed as (

    select
        -- ids
        id as lead_id,
        customer_id as current_customer_id,

        -- timestamps
        created_at

    from leads

)

select * from renamed
