{#-
    An override naming a lead that does not exist (deleted, or from another
    database) changes nothing: a warning, so that a typo gets noticed.
-#}
{{ config(severity='warn') }}

with

overrides as (

    select * from {{ ref('int_identity_overrides') }}

),

final as (

    select
        override_source,
        override_type,
        lead_id_text,
        other_lead_id_text,
        override_status

    from overrides
    where override_status in ('unknown_lead', 'same_lead')

)

select * from final
