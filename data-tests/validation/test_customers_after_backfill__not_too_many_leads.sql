{#-
    Design document, data-quality check 2 (merge quality): a warning for review,
    one row per customer with more than var max_leads_per_customer leads (an
    unusually large merge). The rows are stored (store_failures) in the schema
    <target schema>_dbt_test__audit.
-#}
{{ config(
    severity='warn',
    store_failures=true,
) }}

-- depends_on: {{ ref('backfill_runs') }}

with

leads as (

    select * from {{ ref('leads_after_backfill') }}

),

customers as (

    select * from {{ ref('customers_after_backfill') }}

),

lead_counts as (

    select
        customer_id,
        count(*) as lead_count

    from leads
    where customer_id is not null
    group by customer_id

),

final as (

    select
        lead_counts.customer_id,
        lead_counts.lead_count,
        customers.group_type,
        customers.is_backfill_created

    from lead_counts
    left join customers
        on lead_counts.customer_id = customers.customer_id
    where lead_counts.lead_count > {{ var('max_leads_per_customer') }}

)

select * from final
