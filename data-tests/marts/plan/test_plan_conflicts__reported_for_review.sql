{#-
    A warning, never an error: one row per conflict the run refuses to decide
    alone (a lead whose group matches several existing customers stays unlinked; a
    job linked by the app to another customer than its lead's is left alone).
    The validation tests do not count these; a person resolves them, e.g. with
    `dbt run-operation merge_customers`.
-#}
{{ config(severity='warn') }}

with

plan_conflicts as (

    select * from {{ ref('plan_conflicts') }}

),

final as (

    select
        conflict_type,
        object_type,
        object_id,
        customer_ids,
        detail

    from plan_conflicts

)

select * from final
