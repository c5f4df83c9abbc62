{#-
    The backfill's own record of every app row it created or linked, one row per
    (run, object). Only the apply step of `backfill_runs` writes to it, in the same
    transaction as the app writes; this model only defines the table. It is
    never rebuilt: `--full-refresh` leaves it as it is.
    No indexes: the apply inserts one row per object it writes (2.7 million at a
    million leads) in random id order, and maintaining btree indexes on those ids
    took 42% of the apply's statements (measured at 300k leads: 50.6 s with the
    three indexes it used to have, 29.5 s without). Its readers scan it whole
    (rollback, validation, the run's counts); the customer operations' lookups
    by id scan it too (0.4 s for 2.7 million rows). The grain is checked by the
    unique_combination test instead.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='fail',
) }}

with

final as (

    select
        null::text as run_id,
        null::text as object_type,
        null::uuid as object_id,
        null::uuid as customer_id,
        null::timestamptz as recorded_at,
        null::text as rolled_back_by_run_id,
        null::timestamptz as rolled_back_at

    where false

)

select * from final
