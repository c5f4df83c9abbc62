{#-
    Design document, data-quality check 2 (merge quality), with the evidence: every
    customer with more than var max_leads_per_customer leads, and each of its leads
    with the identifiers that put it there. Read the rows of one customer together:
    one person with many conversations, or several people merged by a shared phone
    or e-mail (split them with `dbt run-operation split_customer`)?
-#}

with

customers as (

    select * from {{ ref('stg_app__customers') }}

),

lead_links as (

    select * from {{ ref('stg_app__lead_links') }}

),

leads as (

    select * from {{ ref('stg_app__leads') }}

),

large_customers as (

    select
        current_customer_id as customer_id,
        count(*) as lead_count

    from lead_links
    where current_customer_id is not null
    group by current_customer_id
    having count(*) > {{ var('max_leads_per_customer') }}

),

final as (

    select
        large_customers.customer_id,
        large_customers.lead_count,
        customers.customer_name,
        customers.metadata ->> 'groupType' as group_type,
        customers.metadata ->> 'groupKey' as group_key,
        lead_links.lead_id,
        leads.lead_name,
        leads.psid,
        leads.phone_normalized,
        leads.email_normalized,
        lead_links.created_at

    from large_customers
    inner join customers
        on large_customers.customer_id = customers.customer_id
    inner join lead_links
        on large_customers.customer_id = lead_links.current_customer_id
    -- identifiers as of the last build (a lead added since has none here)
    left join leads
        on lead_links.lead_id = leads.lead_id

)

select * from final
order by lead_count desc, customer_id asc, created_at asc
