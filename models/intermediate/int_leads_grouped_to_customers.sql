{#-
    One-pass priority grouping, as the original script did it: each lead's group is
    its strongest identifier (PSID, then phone, then e-mail, else the lead itself).
    Downstream models rely only on the columns of `final`, so this model can be
    replaced by a better grouping without touching them.
-#}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

keyed as (

    select
        lead_id,
        created_at,
        case
            when psid is not null then 'psid'
            when phone_normalized is not null then 'phone'
            when email_normalized is not null then 'email'
            else 'individual'
        end as group_type,
        case
            when psid is not null then 'psid:' || psid
            when phone_normalized is not null then 'phone:' || phone_normalized
            when email_normalized is not null then 'email:' || email_normalized
            else 'individual:' || lead_id::text
        end as group_key

    from leads

),

final as (

    select
        lead_id,
        group_key,
        group_type,
        group_type as matched_on,
        first_value(lead_id) over (
            partition by group_key order by created_at asc, lead_id asc
        ) as group_anchor_lead_id

    from keyed

)

select * from final
