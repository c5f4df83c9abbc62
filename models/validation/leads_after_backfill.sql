{#-
    The app's leads as the validation tests check them. After a real run: as the
    app holds them now. In a dry run: as they will be once the plan is applied
    (current link, else the planned one). The tests read only this shape, so a dry
    run that passes predicts a real run that passes.
-#}
{{ config(materialized='ephemeral') }}

-- depends_on: {{ ref('backfill_runs') }}

with

leads as (

    select * from {{ ref('stg_app__lead_links') }}

),

plan_lead_links as (

    select * from {{ ref('plan_lead_links') }}

),

plan_conflicts as (

    select * from {{ ref('plan_conflicts') }}

),

validated_run as (

    {% if is_dry_run() %}
    -- the run validated is this invocation's plan
    select {{ dbt.string_literal(run_started_at.isoformat()) }}::timestamptz as started_at
    {% else %}
    -- the latest applied run (null before the first one)
    select max(started_at) as started_at
    from {{ ref('backfill_runs') }}
    {% endif %}

),

leads_left_unlinked_by_plan as (

    select distinct lead_id
    from plan_conflicts
    where conflict_type = 'lead_matches_several_customers'

),

final as (

    select
        leads.lead_id,
        plan_lead_links.customer_id as planned_customer_id,
        {% if is_dry_run() %}
        coalesce(leads.current_customer_id, plan_lead_links.customer_id)
        {% else %}
        leads.current_customer_id
        {% endif %} as customer_id,
        leads_left_unlinked_by_plan.lead_id is not null as is_left_unlinked_by_plan,
        coalesce(leads.created_at > validated_run.started_at, false) as is_created_after_run,
        leads.created_at

    from leads
    cross join validated_run
    left join plan_lead_links
        on leads.lead_id = plan_lead_links.lead_id
    left join leads_left_unlinked_by_plan
        on leads.lead_id = leads_left_unlinked_by_plan.lead_id

)

select * from final
