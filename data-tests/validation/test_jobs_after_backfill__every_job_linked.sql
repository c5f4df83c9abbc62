{#-
    Design document, validation 3: every job has a customer. Not counted: jobs
    whose lead the plan leaves unlinked as a conflict, and jobs created after the
    validated run started. Up to var max_unlinked_jobs others are a warning.
-#}
{{ config(
    error_if='>' ~ var('max_unlinked_jobs'),
    warn_if='!= 0',
) }}

-- depends_on: {{ ref('backfill_runs') }}

with

jobs as (

    select * from {{ ref('jobs_after_backfill') }}

),

final as (

    select
        job_id,
        lead_id,
        lead_customer_id,
        created_at

    from jobs
    where
        customer_id is null
        and not is_lead_left_unlinked_by_plan
        and not is_created_after_run

)

select * from final
