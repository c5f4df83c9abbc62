with

audit_events as (

    select * from {{ source('app', 'audit') }}

),

renamed as (

    select
        -- ids
        id as audit_event_id,
        lead_id,

        -- strings
        actor,
        action,

        -- json
        payload,

        -- timestamps
        created_at

    from audit_events

)

select * from renamed
