{#-
    The backfill's own record of every change it made to an app row, one row per
    (invocation, object): the customers and addresses a run or an operation
    created, the leads and jobs it linked, the rows it moved from one customer to
    another, the customers it deleted (their row kept in before_values) or filled
    in. Only the write paths add to it (record_changes, in the transaction of the
    writes they record); the rollback undoes exactly these changes, newest first,
    and marks them rolled back instead of deleting them. This model only defines
    the table. It is never rebuilt: `--full-refresh` leaves it as it is; a new
    column is added to an existing ledger (on_schema_change: append_new_columns).
    No indexes: the apply inserts one row per object it writes (2.7 million at a
    million leads) in random id order, and maintaining btree indexes on those ids
    took 42% of the apply's statements (measured at 300k leads: 50.6 s with the
    three indexes it used to have, 29.5 s without). Its readers scan it whole
    (rollback, validation, the run's counts). The grain is checked by the
    unique_combination test instead.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    defines_table_only=true,
    on_schema_change='append_new_columns',
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
        null::timestamptz as rolled_back_at,
        null::bigint as change_sequence,
        null::text as change_type,
        null::uuid as previous_customer_id,
        null::text as object_table,
        null::text as object_column,
        null::jsonb as before_values,
        null::jsonb as after_values

    where false

)

select * from final
