{#-
    The backfill's own record of every app row it created or linked, one row per
    (run, object). Only the apply step of `backfill_runs` writes to it, in the same
    transaction as the app writes; this model only defines the table. It is
    never rebuilt: `--full-refresh` leaves it as it is.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='fail',
    indexes=[
        {'columns': ['run_id', 'object_type', 'object_id'], 'unique': true},
        {'columns': ['object_id']},
        {'columns': ['customer_id']},
    ],
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
