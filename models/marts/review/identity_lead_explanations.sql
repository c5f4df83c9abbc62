{#-
    Why each lead has the customer it has: one row per lead with its customer, the
    stage and the identifier (type and value) that first joined it to other leads,
    the rule, and the identifiers of the lead that were refused, with why.
-#}
{%- set stages = identity_stages() %}
{{ config(indexes=[{'columns': ['lead_id'], 'unique': true}, {'columns': ['customer_id']}]) }}

with

resolved_leads as (

    select * from {{ ref('int_leads_resolved_to_customers') }}

),

lead_groups as (

    select * from {{ ref('int_leads_grouped_by_identity') }}

),

merge_candidates as (

    select * from {{ ref('int_leads_matching_several_customers') }}

),

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

-- the CTEs read several times are inlined (not materialized): a materialized CTE
-- has no statistics, and each join on it was planned on guesses
identifier_values as not materialized (

    select * from {{ ref('int_identifier_values_screened') }}

),

stage_members as not materialized (

    select * from {{ ref('int_identity_stage_members') }}

),

first_joins as not materialized (

    select * from {{ ref('int_identity_first_joins') }}

),

{% for stage in stages %}
{{ stage }}_links as not materialized (

    select * from {{ ref('int_identity_links_' ~ stage) }}

),

{% endfor %}
{% for stage in stages %}
{{ stage }}_linking_values as (

    -- the value that joined the node's group in this stage; the node's own value
    -- when it carries one. Stage by stage, so that PostgreSQL plans each join on
    -- that stage's statistics (across a union of the four it guessed a few
    -- thousand rows, not 523,946, and looked each one up in an index)
    select distinct on (first_joins.node_id)
        first_joins.node_id,
        first_joins.link_stage,
        {{ stage }}_links.identifier_type,
        {{ stage }}_links.identifier_value,
        stage_members.node_id is not null as is_own_value

    from first_joins
    inner join {{ stage }}_links
        on first_joins.prior_group_id = {{ stage }}_links.group_id
    left join stage_members
        on
            {{ stage }}_links.value_key = stage_members.value_key
            and first_joins.node_id = stage_members.node_id
            and stage_members.link_stage = '{{ stage }}'
    where
        first_joins.link_stage = '{{ stage }}'
        and {{ stage }}_links.decision = 'linked'
    order by
        first_joins.node_id asc,
        stage_members.node_id is null asc,
        {{ stage }}_links.identifier_value asc

),

{% endfor %}
linking_values as (

    -- a node was first joined in one stage only
    {% for stage in stages %}
    select * from {{ stage }}_linking_values
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

vetoed_values as (

    select distinct
        identifier_type,
        identifier_value,
        veto_reason

    from (
        {% for stage in stages %}
        select
            identifier_type,
            identifier_value,
            veto_reason

        from {{ stage }}_links
        where decision = 'vetoed'
        {% if not loop.last %}union all{% endif %}
        {% endfor %}
    ) as stage_vetoes

),

refused_values as materialized (

    -- the values that were not allowed to link, and why (one row per veto reason):
    -- found among the values first (materialized, so the planner cannot join every
    -- node to every value before filtering), then joined to the few nodes that
    -- carry them. Junk values, then vetoed values that are not junk: with one `or`
    -- across the two, PostgreSQL expected 940,841 values instead of 8,369 and read
    -- every node identifier in index order to merge them
    select
        identifier_values.identifier_type,
        identifier_values.identifier_value,
        identifier_values.rejection_reason,
        vetoed_values.veto_reason

    from identifier_values
    left join vetoed_values
        on
            identifier_values.identifier_type = vetoed_values.identifier_type
            and identifier_values.identifier_value = vetoed_values.identifier_value
    where identifier_values.rejection_reason is not null

    union all

    select
        identifier_values.identifier_type,
        identifier_values.identifier_value,
        identifier_values.rejection_reason,
        vetoed_values.veto_reason

    from vetoed_values
    inner join identifier_values
        on
            vetoed_values.identifier_type = identifier_values.identifier_type
            and vetoed_values.identifier_value = identifier_values.identifier_value
    where identifier_values.rejection_reason is null

),

refused_identifiers as (

    -- the node's own identifiers that were not allowed to link it, and why
    select
        node_identifiers.node_id,
        jsonb_agg(
            jsonb_build_object(
                'type', node_identifiers.identifier_type,
                'value', node_identifiers.identifier_value,
                'reason', coalesce(refused_values.rejection_reason, refused_values.veto_reason)
            )
            order by node_identifiers.identifier_type, refused_values.veto_reason
        ) as refused_identifiers

    from node_identifiers
    inner join refused_values
        on
            node_identifiers.identifier_type = refused_values.identifier_type
            and node_identifiers.identifier_value = refused_values.identifier_value
    group by node_identifiers.node_id

),

final as (

    select
        resolved_leads.lead_id,
        resolved_leads.resolved_customer_id as customer_id,
        resolved_leads.lead_action,
        resolved_leads.customer_resolution,
        resolved_leads.group_key,
        resolved_leads.group_type,
        resolved_leads.matched_on,
        linking_values.link_stage as linked_at_stage,
        linking_values.identifier_type as linked_by_identifier_type,
        linking_values.identifier_value as linked_by_identifier_value,
        coalesce(linking_values.is_own_value, false) as is_linked_by_own_value,
        case
            when resolved_leads.lead_action = 'already_linked' then 'already_linked'
            when merge_candidates.lead_id is not null and resolved_leads.resolved_customer_id is null
                then 'merge_candidate_not_linked'
            when resolved_leads.lead_action = 'not_linked_ambiguous' then 'ambiguous_not_linked'
            when linking_values.link_stage = 'force_link' then 'force_link'
            when linking_values.link_stage is not null then 'shared_' || linking_values.link_stage
            else 'no_shared_identifier'
        end as link_rule,
        merge_candidates.candidate_customer_ids as merge_candidate_customer_ids,
        coalesce(refused_identifiers.refused_identifiers, '[]'::jsonb) as refused_identifiers

    from resolved_leads
    inner join lead_groups
        on resolved_leads.lead_id = lead_groups.lead_id
    left join linking_values
        on lead_groups.node_id = linking_values.node_id
    left join merge_candidates
        on resolved_leads.lead_id = merge_candidates.lead_id
    left join refused_identifiers
        on lead_groups.node_id = refused_identifiers.node_id

)

select * from final
