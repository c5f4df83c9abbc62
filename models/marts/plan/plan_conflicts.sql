with

jobs as (

    select * from {{ ref('stg_app__jobs') }}

),

resolved_leads as (

    select * from {{ ref('int_leads_resolved_to_customers') }}

),

leads as (

    select * from {{ ref('stg_app__leads') }}

),

-- every lead: one the run does not resolve (int_identity_scope) keeps its customer
lead_customers as (

    select
        leads.lead_id,
        coalesce(leads.current_customer_id, resolved_leads.resolved_customer_id) as customer_id

    from leads
    left join resolved_leads
        on leads.lead_id = resolved_leads.lead_id

),

jobs_on_another_customer as (

    select
        'job_customer_differs_from_lead' as conflict_type,
        jobs.job_id as object_id,
        'job' as object_type,
        jobs.lead_id,
        array[jobs.current_customer_id, lead_customers.customer_id] as customer_ids,
        'the job is linked to one customer and its lead to another; the job is left alone'
            as detail

    from jobs
    inner join lead_customers
        on jobs.lead_id = lead_customers.lead_id
    where
        jobs.current_customer_id is not null
        and lead_customers.customer_id is not null
        and jobs.current_customer_id <> lead_customers.customer_id

),

leads_matching_several_customers as (

    select
        'lead_matches_several_customers' as conflict_type,
        lead_id as object_id,
        'lead' as object_type,
        lead_id,
        candidate_customer_ids as customer_ids,
        'the lead''s group matches several existing customers; the lead is not linked'
        || ' (merge the customers, or link the lead by hand)' as detail

    from resolved_leads
    where lead_action = 'not_linked_ambiguous'

),

unioned as (

    select * from jobs_on_another_customer
    union all
    select * from leads_matching_several_customers

),

final as (

    select
        conflict_type || ':' || object_id::text as conflict_id,
        conflict_type,
        object_type,
        object_id,
        lead_id,
        customer_ids,
        detail

    from unioned

)

select * from final
