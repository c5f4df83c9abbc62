{#-
    How the backfill grouped leads into the customers it created (not rolled back),
    by group type, next to the design document's expected shares (PSID 50-60%,
    phone 30-40%, e-mail 5-10%, individual 1-5%). A share far outside its range
    points at a data or normalization problem worth a look before trusting a run.
-#}

with

customers as (

    select * from {{ ref('stg_app__customers') }}

),

lead_links as (

    select * from {{ ref('stg_app__lead_links') }}

),

ledger as (

    select * from {{ ref('backfill_ledger') }}

),

backfill_customers as (

    select
        customers.customer_id,
        coalesce(customers.metadata ->> 'groupType', 'unknown') as group_type

    from customers
    inner join ledger
        on
            customers.customer_id = ledger.object_id
            and ledger.object_type = 'customer'
            and ledger.rolled_back_at is null

),

lead_counts as (

    select
        backfill_customers.customer_id,
        count(lead_links.lead_id) as lead_count

    from backfill_customers
    left join lead_links
        on backfill_customers.customer_id = lead_links.current_customer_id
    group by backfill_customers.customer_id

),

by_group_type as (

    select
        backfill_customers.group_type,
        count(*) as customer_count,
        sum(lead_counts.lead_count) as lead_count,
        round(avg(lead_counts.lead_count), 2) as leads_per_customer

    from backfill_customers
    inner join lead_counts
        on backfill_customers.customer_id = lead_counts.customer_id
    group by backfill_customers.group_type

),

final as (

    select
        group_type,
        customer_count,
        round(100.0 * customer_count / sum(customer_count) over (), 1) as customer_share_percent,
        case group_type
            when 'psid' then '50-60%'
            when 'phone' then '30-40%'
            when 'email' then '5-10%'
            when 'individual' then '1-5%'
        end as expected_share,
        lead_count,
        leads_per_customer

    from by_group_type

)

select * from final
order by customer_count desc
