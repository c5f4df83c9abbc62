{#-
    Design document, data-quality check 3 (duplicate contacts): no two customers
    the backfill created share a normalized phone. Two such customers are one
    person split in two by the grouping. Fails with one row per shared phone.
-#}
-- depends_on: {{ ref('backfill_runs') }}

with

customers as (

    select * from {{ ref('customers_after_backfill') }}

),

final as (

    select
        phone_normalized,
        count(*) as customer_count,
        array_agg(customer_id order by customer_id) as customer_ids

    from customers
    where
        is_backfill_created
        and phone_normalized is not null
    group by phone_normalized
    having count(*) > 1

)

select * from final
