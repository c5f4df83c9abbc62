{#-
    A warning for review: a normalized e-mail held by several customers, at least
    one of them created by the backfill. Families and businesses share e-mails,
    so this does not fail the run; the rows are stored (store_failures) in the
    schema <target schema>_dbt_test__audit.
-#}
{{ config(
    severity='warn',
    store_failures=true,
) }}

-- depends_on: {{ ref('backfill_runs') }}

with

-- materialized: each customer's e-mail is normalized once (filtered and grouped by
-- on an inlined row, the regular expressions ran twice)
customers as materialized (

    select
        customer_id,
        email_normalized,
        is_backfill_created

    from {{ ref('customers_after_backfill') }}

),

final as (

    select
        email_normalized,
        count(*) as customer_count,
        count(*) filter (where is_backfill_created) as backfill_customer_count,
        array_agg(customer_id order by customer_id) as customer_ids

    from customers
    where email_normalized is not null
    group by email_normalized
    having
        count(*) > 1
        and bool_or(is_backfill_created)

)

select * from final
