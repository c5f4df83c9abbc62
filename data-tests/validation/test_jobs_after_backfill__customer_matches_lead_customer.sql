{#-
    Design document, validation 4 (integrity): a linked job has its linked lead's
    customer. Jobs the plan reports as conflicts (linked by the app to another
    customer before the run, left alone) are not counted here; the warning
    test_plan_conflicts__reported_for_review lists them.
-#}
-- depends_on: {{ ref('backfill_runs') }}

with

jobs as (

    select * from {{ ref('jobs_after_backfill') }}

),

final as (

    select
        job_id,
        lead_id,
        customer_id,
        lead_customer_id

    from jobs
    where
        customer_id is not null
        and lead_customer_id is not null
        and customer_id <> lead_customer_id
        and not is_reported_conflict

)

select * from final
