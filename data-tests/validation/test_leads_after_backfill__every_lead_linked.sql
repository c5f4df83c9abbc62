{#-
    Design document, validation 2 and data-quality check 1: every lead has a
    customer. Not counted: leads the plan reports as conflicts (their group
    matches several customers; see plan_conflicts and the warning
    test_plan_conflicts__reported_for_review) and leads created after the
    validated run started. Up to var max_unlinked_leads other unlinked leads are a
    warning (e.g. leads the app committed while the run was planning), more fail.
-#}
{{ config(
    error_if='>' ~ var('max_unlinked_leads'),
    warn_if='!= 0',
) }}

-- depends_on: {{ ref('backfill_runs') }}

with

leads as (

    select * from {{ ref('leads_after_backfill') }}

),

final as (

    select
        lead_id,
        created_at

    from leads
    where
        customer_id is null
        and not is_left_unlinked_by_plan
        and not is_created_after_run

)

select * from final
