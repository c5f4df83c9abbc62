{#-
    The link columns of the app's leads, as a view: read live, when a model or test
    selects from it. stg_app__leads is a table built once per run, before the apply;
    whatever must see the links as they are now (the validation after the apply, a
    later `dbt test`, the analyses) reads them here.
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
