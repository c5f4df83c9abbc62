{#-
    The app's coverage gates, which its migration after the backfill needs
    (`Lead.customer_id` and `Job.customer_id` NOT NULL): every lead has a customer,
    every job has a customer, no lead or job points at a customer that does not
    exist. Read live, with no exemption (the validation tests exempt the conflicts
    a run reports; the app does not). Tagged app_ready and left out of `dbt build`
    and `dbt test` (selectors.yml): run it with `dbt test --select tag:app_ready`
    once resolve_conflicts and a last `dbt build` have linked everything. Fails
    with one row per lead or job the gates would count.
-#}
{{ config(tags=['app_ready']) }}

with

leads as (

    select * from {{ ref('stg_app__lead_links') }}

),

jobs as (

    select * from {{ ref('stg_app__jobs') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

links as (

    select
        'lead' as object_type,
        lead_id as object_id,
        current_customer_id as customer_id

    from leads

    union all

    select
        'job' as object_type,
        job_id as object_id,
        current_customer_id as customer_id

    from jobs

),

final as (

    select
        links.object_type,
        links.object_id,
        links.customer_id,
        case
            when links.customer_id is null then 'no customer'
            else 'points at a customer that does not exist'
        end as gate

    from links
    left join customers
        on links.customer_id = customers.customer_id
    where
        links.customer_id is null
        or customers.customer_id is null

)

select * from final
