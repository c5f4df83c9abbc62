{#-
    The app's jobs as the validation tests check them: as the app holds them now
    after a real run, as the plan will leave them in a dry run (see
    leads_after_backfill).
-#}
{{ config(materialized='ephemeral') }}

-- depends_on: {{ ref('backfill_runs') }}

with

jobs as (

    select * from {{ ref('stg_app__jobs') }}

),

leads_after_backfill as (

    select * from {{ ref('leads_after_backfill') }}

),

plan_job_links as (

    select * from {{ ref('plan_job_links') }}

),

plan_conflicts as (

    select * from {{ ref('plan_conflicts') }}

),

validated_run as (

    {% if is_dry_run() %}
    select {{ dbt.string_literal(run_started_at.isoformat()) }}::timestamptz as started_at
    {% else %}
    select max(started_at) as started_at
    from {{ ref('backfill_runs') }}
    {% endif %}

),

jobs_reported_as_conflicts as (

    select distinct object_id as job_id
    from plan_conflicts
    where conflict_type = 'job_customer_differs_from_lead'

),

final as (

    select
        jobs.job_id,
        jobs.lead_id,
        plan_job_links.customer_id as planned_customer_id,
        {% if is_dry_run() %}
        coalesce(jobs.current_customer_id, plan_job_links.customer_id)
        {% else %}
        jobs.current_customer_id
        {% endif %} as customer_id,
        leads_after_backfill.customer_id as lead_customer_id,
        coalesce(leads_after_backfill.is_left_unlinked_by_plan, false) as is_lead_left_unlinked_by_plan,
        jobs_reported_as_conflicts.job_id is not null as is_reported_conflict,
        coalesce(jobs.created_at > validated_run.started_at, false) as is_created_after_run,
        jobs.created_at

    from jobs
    cross join validated_run
    left join leads_after_backfill
        on jobs.lead_id = leads_after_backfill.lead_id
    left join plan_job_links
        on jobs.job_id = plan_job_links.job_id
    left join jobs_reported_as_conflicts
        on jobs.job_id = jobs_reported_as_conflicts.job_id

)

select * from final
