{#-
    A reproducible sample of var sample_size (default 20) customers the backfill
    created with more than one lead, each lead on its own row beside the customer's
    survivorship values: the spot check a person does before signing off a run.
    Change var sample_seed for another sample.
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

ledger as (

    select * from {{ ref('backfill_ledger') }}

),

multi_lead_backfill_customers as (

    select
        customers.customer_id,
        count(lead_links.lead_id) as lead_count

    from customers
    inner join ledger
        on
            customers.customer_id = ledger.object_id
            and {{ ledger_creates_customer() }}
            and ledger.rolled_back_at is null
    inner join lead_links
        on customers.customer_id = lead_links.current_customer_id
    group by customers.customer_id
    having count(lead_links.lead_id) > 1

),

sampled as (

    select
        customer_id,
        lead_count

    from multi_lead_backfill_customers
    order by md5({{ dbt.string_literal(var('sample_seed', 'customer-backfill')) }} || customer_id::text)
    limit {{ var('sample_size', 20) }}

),

final as (

    select
        sampled.customer_id,
        sampled.lead_count,
        customers.customer_name,
        customers.phone_raw as customer_phone,
        customers.email_raw as customer_email,
        customers.metadata ->> 'groupType' as group_type,
        lead_links.lead_id,
        leads.lead_name,
        leads.psid,
        leads.phone_raw as lead_phone,
        leads.email_raw as lead_email,
        lead_links.created_at

    from sampled
    inner join customers
        on sampled.customer_id = customers.customer_id
    inner join lead_links
        on sampled.customer_id = lead_links.current_customer_id
    -- identifiers as of the last build (a lead added since has none here)
    left join leads
        on lead_links.lead_id = leads.lead_id

)

select * from final
order by customer_id asc, created_at asc
