{#-
    Overrides recorded by the customer operations (split_customer, merge_customers):
    pairs of leads that must stay apart (`do_not_link`) or belong together
    (`force_link`). The grouping reads them with the `do_not_link` / `force_link`
    seeds. Only operations write here; this model only defines the table and is
    never rebuilt by --full-refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    defines_table_only=true,
    on_schema_change='fail',
    indexes=[{'columns': ['override_id'], 'unique': true}],
) }}

with

final as (

    select
        null::text as override_id,
        null::text as override_type,
        null::uuid as lead_id,
        null::uuid as other_lead_id,
        null::text as reason,
        null::text as recorded_by,
        null::timestamptz as created_at

    where false

)

select * from final
