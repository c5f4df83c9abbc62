{#-
    Everything the grouping refused to do, with the reason: one row per rejected
    identifier value (junk, blocklisted, role address, over the cap), per value
    vetoed in a stage (set-wise, for every group it touches), per household review
    candidate, per chain of links vetoed as a whole, per merge candidate, and per
    override that could not be applied.
-#}
{%- set stages = identity_stages() %}
{%- set sample = 50 %}

with

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

),

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

-- referenced several times: inlined (not materialized), so joins use its indexes
nodes as not materialized (

    select * from {{ ref('int_identity_nodes') }}

),

merge_candidates as (

    select * from {{ ref('int_leads_matching_several_customers') }}

),

overrides as (

    select * from {{ ref('int_identity_overrides') }}

),

{% for stage in stages %}
{{ stage }}_groups as (

    select * from {{ ref('int_identity_groups_' ~ stage) }}

),

{{ stage }}_links as (

    select * from {{ ref('int_identity_links_' ~ stage) }}

),

{% endfor %}
rejected_values as (

    select
        'rejected_value' as refusal_type,
        'screening' as link_stage,
        identifier_values.identifier_type,
        identifier_values.identifier_value,
        identifier_values.rejection_reason as reason,
        identifier_values.lead_count,
        (array_agg(nodes.lead_id order by nodes.lead_id) filter (where nodes.lead_id is not null))[
            1:{{ sample }}
        ] as lead_ids,
        coalesce(
            array_agg(distinct nodes.customer_id) filter (where nodes.customer_id is not null), '{}'
        ) as customer_ids,
        coalesce(
            array_agg(distinct nodes.first_name) filter (where nodes.first_name is not null), '{}'
        ) as first_names,
        case
            when identifier_values.rejection_reason = 'email_role_address'
                then 'a role address: kept on the customer, never used to link leads'
            when identifier_values.rejection_reason = 'suspected_placeholder_over_cap'
                then format(
                        'carried by %s leads, more than the cap of %s (var identity_max_leads_per_value)',
                        identifier_values.lead_count,
                        identifier_values.lead_cap
                    )
            else 'never used to link leads'
        end as detail

    from identifier_values
    inner join node_identifiers
        on
            identifier_values.identifier_type = node_identifiers.identifier_type
            and identifier_values.identifier_value = node_identifiers.identifier_value
    inner join nodes
        on node_identifiers.node_id = nodes.node_id
    where identifier_values.rejection_reason is not null
    group by
        identifier_values.identifier_type,
        identifier_values.identifier_value,
        identifier_values.rejection_reason,
        identifier_values.lead_count,
        identifier_values.lead_cap

),

stage_links as (

    -- every link row of every stage, with each node of the group it concerns and
    -- whether the stage's chain through it was vetoed
    {% for stage in stages %}
    select
        {{ stage }}_links.*,
        {{ stage }}_groups.node_id,
        {{ stage }}_groups.component_veto_reason

    from {{ stage }}_links
    inner join {{ stage }}_groups
        on {{ stage }}_links.group_id = {{ stage }}_groups.prior_group_id
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

stage_link_leads as (

    select
        stage_links.*,
        nodes.lead_id,
        nodes.first_name as node_first_name,
        nodes.customer_id as node_customer_id

    from stage_links
    inner join nodes
        on stage_links.node_id = nodes.node_id

),

vetoed_values as (

    select
        'vetoed_link' as refusal_type,
        link_stage,
        identifier_type,
        identifier_value,
        veto_reason as reason,
        count(distinct lead_id) as lead_count,
        (array_agg(distinct lead_id) filter (where lead_id is not null))[1:{{ sample }}] as lead_ids,
        coalesce(
            array_agg(distinct node_customer_id) filter (where node_customer_id is not null), '{}'
        ) as customer_ids,
        coalesce(
            array_agg(distinct node_first_name) filter (where node_first_name is not null), '{}'
        ) as first_names,
        'not used to join the ' || count(distinct group_id) || ' groups it touches' as detail

    from stage_link_leads
    where
        decision = 'vetoed'
        and veto_reason <> 'household_guard'
    group by link_stage, identifier_type, identifier_value, veto_reason

),

household_review_candidates as (

    select
        'household_review_candidate' as refusal_type,
        link_stage,
        identifier_type,
        identifier_value,
        'household_guard' as reason,
        count(distinct lead_id) as lead_count,
        (array_agg(distinct lead_id) filter (where lead_id is not null))[1:{{ sample }}] as lead_ids,
        coalesce(
            array_agg(distinct node_customer_id) filter (where node_customer_id is not null), '{}'
        ) as customer_ids,
        coalesce(
            array_agg(distinct node_first_name) filter (where node_first_name is not null), '{}'
        ) as first_names,
        'shared by ' || count(distinct class_key) || ' people with different first names ('
        || string_agg(distinct class_key, ' / ') || '): joined only within the same first name'
            as detail

    from stage_link_leads
    where is_household_split
    group by link_stage, identifier_type, identifier_value

),

vetoed_chains as (

    select
        'vetoed_chain' as refusal_type,
        link_stage,
        identifier_type,
        identifier_value,
        component_veto_reason as reason,
        count(distinct lead_id) as lead_count,
        (array_agg(distinct lead_id) filter (where lead_id is not null))[1:{{ sample }}] as lead_ids,
        coalesce(
            array_agg(distinct node_customer_id) filter (where node_customer_id is not null), '{}'
        ) as customer_ids,
        coalesce(
            array_agg(distinct node_first_name) filter (where node_first_name is not null), '{}'
        ) as first_names,
        'allowed alone, but with the other links of the stage it would join groups that'
        || ' break the rule through one another: none of that chain was joined' as detail

    from stage_link_leads
    where
        decision = 'linked'
        and component_veto_reason is not null
    group by link_stage, identifier_type, identifier_value, component_veto_reason

),

merge_candidate_leads as (

    select
        'merge_candidate' as refusal_type,
        'existing_customers' as link_stage,
        null as identifier_type,
        array_to_string(merge_candidates.matching_identifiers, ', ') as identifier_value,
        'would_join_different_existing_customers' as reason,
        1 as lead_count,
        array[merge_candidates.lead_id] as lead_ids,
        merge_candidates.candidate_customer_ids as customer_ids,
        coalesce(array_remove(array[nodes.first_name], null), '{}') as first_names,
        'the lead shares identifiers with ' || cardinality(merge_candidates.candidate_customer_ids)
        || ' existing customers: linked to none (merge them, or force_link the lead)' as detail

    from merge_candidates
    inner join nodes
        on merge_candidates.node_id = nodes.node_id

),

overrides_not_applied as (

    select
        'override_not_applied' as refusal_type,
        'overrides' as link_stage,
        overrides.override_type as identifier_type,
        coalesce(overrides.lead_id_text, '') || ' / ' || coalesce(overrides.other_lead_id_text, '')
            as identifier_value,
        overrides.override_status as reason,
        0 as lead_count,
        array_remove(array[overrides.lead_id, overrides.other_lead_id], null) as lead_ids,
        '{}'::uuid[] as customer_ids,
        '{}'::text[] as first_names,
        overrides.override_source || ': ' || coalesce(overrides.reason, '') as detail

    from overrides
    where overrides.override_status <> 'applicable'

),

unioned as (

    select * from rejected_values
    union all
    select * from vetoed_values
    union all
    select * from household_review_candidates
    union all
    select * from vetoed_chains
    union all
    select * from merge_candidate_leads
    union all
    select * from overrides_not_applied

),

final as (

    select
        md5(
            refusal_type || '|' || link_stage || '|' || coalesce(identifier_type, '') || '|'
            || coalesce(identifier_value, '') || '|' || coalesce(reason, '') || '|'
            || coalesce(array_to_string(lead_ids, ','), '') || '|' || coalesce(detail, '')
        ) as refusal_id,
        refusal_type,
        link_stage,
        identifier_type,
        identifier_value,
        reason,
        lead_count,
        coalesce(lead_ids, '{}') as lead_ids,
        customer_ids,
        first_names,
        detail

    from unioned

)

select * from final
