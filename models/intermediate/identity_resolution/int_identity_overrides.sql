{#-
    The user's corrections, from the `do_not_link` and `force_link` seeds and the
    `manual_overrides` table (where the customer operations record theirs),
    mapped to lead nodes. A lead id that is not a uuid stops the build (test
    identity_overrides_have_valid_lead_ids): a silently ignored do_not_link would
    merge what the user wanted apart.
-#}

{%- set uuid_pattern = "'^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'" %}

with

do_not_link as (

    select * from {{ ref('do_not_link') }}

),

force_link as (

    select * from {{ ref('force_link') }}

),

manual_overrides as (

    select * from {{ ref('manual_overrides') }}

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

seeded as (

    select distinct
        'do_not_link' as override_type,
        'seed do_not_link' as override_source,
        btrim(do_not_link.lead_id) as lead_id_text,
        btrim(do_not_link.other_lead_id) as other_lead_id_text,
        do_not_link.reason

    from do_not_link

    union all

    select distinct
        'force_link' as override_type,
        'seed force_link' as override_source,
        btrim(force_link.lead_id) as lead_id_text,
        btrim(force_link.other_lead_id) as other_lead_id_text,
        force_link.reason

    from force_link

),

unioned as (

    select
        'seed:' || override_type || ':' || md5(
            coalesce(lead_id_text, '') || '|' || coalesce(other_lead_id_text, '') || '|'
            || coalesce(reason, '')
        ) as override_key,
        override_type,
        override_source,
        lead_id_text,
        other_lead_id_text,
        reason

    from seeded

    union all

    select
        'manual:' || manual_overrides.override_id as override_key,
        manual_overrides.override_type,
        'manual_overrides' as override_source,
        manual_overrides.lead_id::text as lead_id_text,
        manual_overrides.other_lead_id::text as other_lead_id_text,
        manual_overrides.reason

    from manual_overrides

),

parsed as (

    select
        unioned.*,
        case when unioned.lead_id_text ~ {{ uuid_pattern }} then unioned.lead_id_text::uuid end
            as lead_id,
        case
            when unioned.other_lead_id_text ~ {{ uuid_pattern }}
                then unioned.other_lead_id_text::uuid
        end as other_lead_id

    from unioned

),

final as (

    select
        parsed.override_key,
        parsed.override_type,
        parsed.override_source,
        parsed.lead_id_text,
        parsed.other_lead_id_text,
        parsed.lead_id,
        parsed.other_lead_id,
        parsed.reason,
        lead_nodes.node_id,
        other_lead_nodes.node_id as other_node_id,
        case
            when parsed.override_type not in ('do_not_link', 'force_link') then 'unknown_override_type'
            when parsed.lead_id is null or parsed.other_lead_id is null then 'invalid_lead_id'
            when lead_nodes.node_id is null or other_lead_nodes.node_id is null then 'unknown_lead'
            when parsed.lead_id = parsed.other_lead_id then 'same_lead'
            else 'applicable'
        end as override_status

    from parsed
    left join nodes as lead_nodes
        on parsed.lead_id = lead_nodes.lead_id
    left join nodes as other_lead_nodes
        on parsed.other_lead_id = other_lead_nodes.lead_id

)

select * from final
