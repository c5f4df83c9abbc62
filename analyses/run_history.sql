{#-
    Every applied run, rollback and customer operation, newest first, from the app's
    Audit rows, with how many of each run's ledger entries are still in effect.
    The place to find a run id for `rollback_backfill --args '{run_id: ...}'`.
-#}

with

audit_events as (

    select * from {{ ref('stg_app__audit_events') }}

),

ledger as (

    select * from {{ ref('backfill_ledger') }}

),

backfill_events as (

    select
        audit_event_id,
        action,
        coalesce(
            payload ->> 'runId', payload ->> 'rollbackId', payload ->> 'operationId'
        ) as run_id,
        coalesce(payload -> 'stats', payload -> 'moved') as stats,
        payload -> 'runIds' as rolled_back_run_ids,
        created_at

    from audit_events
    where action like 'backfill_customers%'

),

ledger_by_run as (

    select
        run_id,
        count(*) as entry_count,
        count(*) filter (where rolled_back_at is null) as entries_in_effect,
        max(rolled_back_by_run_id) as last_rolled_back_by

    from ledger
    group by run_id

),

final as (

    select
        backfill_events.created_at,
        backfill_events.action,
        backfill_events.run_id,
        backfill_events.stats,
        backfill_events.rolled_back_run_ids,
        ledger_by_run.entry_count,
        ledger_by_run.entries_in_effect,
        ledger_by_run.last_rolled_back_by

    from backfill_events
    left join ledger_by_run
        on backfill_events.run_id = ledger_by_run.run_id

)

select * from final
order by created_at desc
