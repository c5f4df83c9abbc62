{#-
    Design document, validation 1 ("Customer count > 0"): when the app has leads,
    it has customers. Fails with one row holding both counts.
-#}
-- depends_on: {{ ref('backfill_runs') }}

with

leads as (

    select * from {{ ref('leads_after_backfill') }}

),

customers as (

    select * from {{ ref('customers_after_backfill') }}

),

counts as (

    select
        (select count(*) from leads) as lead_count,
        (select count(*) from customers) as customer_count

),

final as (

    select *
    from counts
    where
        lead_count > 0
        and customer_count = 0

)

select * from final
