{#-
    Every lead without a customer, and why: reported as a conflict by the last plan
    (its group matches several customers, listed in customer_ids), created after the
    latest applied run, in the last plan but unlinked now (a dry run built the plan
    and nothing applied it yet, or someone unlinked it since), or none of these (a
    run should have linked it: investigate).
-#}

with

lead_links as (

    select * from {{ ref('stg_app__lead_links') }}

),

leads as (

    select * from {{ ref('stg_app__leads') }}

),

plan_conflicts as (

    select * from {{ ref('plan_conflicts') }}

),

plan_lead_links as (

    select * from {{ ref('plan_lead_links') }}

),

backfill_runs as (

    select * from {{ ref('backfill_runs') }}

),

latest_run as (

    select max(started_at) as started_at
    from backfill_runs

),

lead_conflicts as (

    select
        lead_id,
        customer_ids

    from plan_conflicts
    where conflict_type = 'lead_matches_several_customers'

),

final as (

    select
        lead_links.lead_id,
        leads.lead_name,
        leads.psid,
        leads.phone_normalized,
        leads.email_normalized,
        lead_links.created_at,
        lead_conflicts.customer_ids,
        plan_lead_links.customer_id as planned_customer_id,
        case
            when lead_conflicts.lead_id is not null then 'conflict: its group matches several customers'
            when lead_links.created_at > latest_run.started_at then 'created after the latest applied run'
            when plan_lead_links.lead_id is not null then 'in the last plan, unlinked now (a dry run since, or unlinked since)'
            else 'unexplained'
        end as reason

    from lead_links
    cross join latest_run
    -- identifiers as of the last build (a lead added since has none here)
    left join leads
        on lead_links.lead_id = leads.lead_id
    left join lead_conflicts
        on lead_links.lead_id = lead_conflicts.lead_id
    left join plan_lead_links
        on lead_links.lead_id = plan_lead_links.lead_id
    where lead_links.current_customer_id is null

)

select * from final
order by reason asc, created_at asc
