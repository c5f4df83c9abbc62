{{ config(indexes=[{'columns': ['job_id'], 'unique': true}]) }}

with

jobs as (

    select * from {{ ref('stg_app__jobs') }}

),

resolved_leads as (

    select * from {{ ref('int_leads_resolved_to_customers') }}

),

final as (

    select
        jobs.job_id,
        jobs.lead_id,
        resolved_leads.resolved_customer_id as customer_id,
        resolved_leads.lead_action = 'already_linked' as is_lead_already_linked

    from jobs
    inner join resolved_leads
        on jobs.lead_id = resolved_leads.lead_id
    where
        jobs.current_customer_id is null
        and resolved_leads.resolved_customer_id is not null

)

select * from final
