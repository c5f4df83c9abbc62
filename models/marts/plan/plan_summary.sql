with

resolved_leads as (

    select * from {{ ref('int_leads_resolved_to_customers') }}

),

plan_customers as (

    select * from {{ ref('plan_customers') }}

),

plan_lead_links as (

    select * from {{ ref('plan_lead_links') }}

),

plan_job_links as (

    select * from {{ ref('plan_job_links') }}

),

plan_customer_addresses as (

    select * from {{ ref('plan_customer_addresses') }}

),

plan_conflicts as (

    select * from {{ ref('plan_conflicts') }}

),

jobs as (

    select * from {{ ref('stg_app__jobs') }}

),

leads as (

    select * from {{ ref('stg_app__leads') }}

),

-- counted over every lead: the run resolves only the leads it can write for
-- (int_identity_scope), and a lead outside them is already linked
lead_counts as (

    select
        count(*) as leads_total,
        count(*) filter (where current_customer_id is not null) as leads_already_linked,
        (
            select count(*) from resolved_leads
            where lead_action = 'not_linked_ambiguous'
        ) as leads_not_linked

    from leads

),

customer_counts as (

    select
        count(*) filter (where is_new_customer) as customers_created,
        count(*) filter (where not is_new_customer) as customers_reused,
        count(*) filter (where is_new_customer and group_type = 'psid') as customers_by_psid,
        count(*) filter (where is_new_customer and group_type = 'phone') as customers_by_phone,
        count(*) filter (where is_new_customer and group_type = 'email') as customers_by_email,
        count(*) filter (where is_new_customer and group_type = 'address') as customers_by_address,
        count(*) filter (where is_new_customer and group_type = 'individual')
            as customers_individual

    from plan_customers

),

final as (

    select
        {{ dbt.string_literal(invocation_id) }} as run_id,
        lead_counts.leads_total,
        customer_counts.customers_created,
        customer_counts.customers_reused,
        (select count(*) from plan_lead_links) as leads_linked,
        lead_counts.leads_already_linked,
        lead_counts.leads_not_linked,
        (select count(*) from plan_job_links) as jobs_linked,
        (
            select count(*) from jobs
            where current_customer_id is not null
        ) as jobs_already_linked,
        (select count(*) from plan_customer_addresses) as addresses_created,
        (select count(*) from plan_conflicts) as conflicts,
        0 as errors,
        customer_counts.customers_by_psid,
        customer_counts.customers_by_phone,
        customer_counts.customers_by_email,
        customer_counts.customers_by_address,
        customer_counts.customers_individual

    from lead_counts
    cross join customer_counts

)

select * from final
