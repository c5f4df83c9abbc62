{#-
    An override whose lead id is not a uuid stops the build before anything is
    written: ignoring a do_not_link silently would merge what the user wanted apart.
    Fix the row in seeds/identity/do_not_link.csv or force_link.csv (or the
    manual_overrides row) and run again.
-#}

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
        reason

    from overrides
    where override_status in ('invalid_lead_id', 'unknown_override_type')

)

select * from final
