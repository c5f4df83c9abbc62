{#-
    Design document, validation 5: the latest applied run has its Audit row
    (action backfill_customers) with its statistics, equal to what the run
    recorded. In a dry run, the plan instead: plan_summary holds one row with
    every statistic the Audit row will carry. Fails with the run and what is wrong.
-#}
-- depends_on: {{ ref('backfill_runs') }}
-- depends_on: {{ ref('plan_summary') }}
-- depends_on: {{ ref('stg_app__audit_events') }}

{% if is_dry_run() %}

with

plan_summary as (

    select * from {{ ref('plan_summary') }}

),

summary_rows as (

    select
        count(*) as summary_row_count,
        count(*) filter (
            where num_nulls(customers_created, leads_linked, jobs_linked, addresses_created, errors) = 0
        ) as complete_row_count

    from plan_summary

),

final as (

    select
        'plan' as run_id,
        'plan_summary must hold one row with every statistic, holds '
        || summary_row_count || ' (' || complete_row_count || ' complete)' as problem

    from summary_rows
    where not (summary_row_count = 1 and complete_row_count = 1)

)

select * from final

{% else %}

with

backfill_runs as (

    select * from {{ ref('backfill_runs') }}

),

audit_events as (

    select * from {{ ref('stg_app__audit_events') }}

),

latest_run as (

    select *
    from backfill_runs
    order by applied_at desc, run_id desc
    limit 1

),

run_audit_events as (

    select
        latest_run.run_id,
        audit_events.audit_event_id,
        audit_events.payload -> 'stats' as stats,
        jsonb_build_object(
            'customersCreated', latest_run.customers_created,
            'leadsLinked', latest_run.leads_linked,
            'jobsLinked', latest_run.jobs_linked,
            'addressesCreated', latest_run.addresses_created,
            'errors', latest_run.errors
        ) as expected_stats

    from latest_run
    left join audit_events
        on
            audit_events.action = 'backfill_customers'
            and audit_events.payload ->> 'runId' = latest_run.run_id

),

final as (

    select
        run_id,
        case
            when audit_event_id is null
                then 'no Audit row with action backfill_customers for the latest applied run'
            when not coalesce(stats @> expected_stats, false)
                then 'the Audit row''s statistics ' || coalesce(stats::text, 'null')
                    || ' differ from the run''s ' || expected_stats::text
        end as problem

    from run_audit_events

)

select * from final
where problem is not null

{% endif %}
