{#-
    Why each lead has the customer it has: one row per lead with its customer, the
    stage and the identifier (type and value) that first joined it to other leads,
    the rule, and the identifiers of the lead that were refused, with why.
-#}
{%- set stages = ['force_link', 'psid', 'phone', 'email'] %}
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

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

),

stage_members as (

    select * from {{ ref('int_identity_stage_members') }}

),

{% for stage in stages %}
-- read twice (its joined groups, then their nodes): inlined, not materialized
{{ stage }}_groups as not materialized (

    select * from {{ ref('int_identity_groups_' ~ stage) }}

),

{{ stage }}_links as (

    select * from {{ ref('int_identity_links_' ~ stage) }}

),

{% endfor %}
stage_joins as (

    -- per stage, the nodes whose group was joined to another one in that stage. A
    -- joined group takes the smallest id of the groups it gathered, so it is the
    -- group of a node whose group changed (as int_leads_grouped_by_identity reads
    -- matched_on): a semi-join on those nodes, not an aggregate of every node
    {% for stage in stages %}
    select
        '{{ stage }}' as link_stage,
        {{ loop.index }} as stage_number,
        {{ stage }}_groups.node_id,
        {{ stage }}_groups.prior_group_id

    from {{ stage }}_groups
    where
        {{ stage }}_groups.group_id in (
            select changed_nodes.group_id
            from {{ stage }}_groups as changed_nodes
            where changed_nodes.group_id <> changed_nodes.prior_group_id
        )
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

first_joins as (

    select distinct on (node_id)
        node_id,
        link_stage,
        prior_group_id

    from stage_joins
    order by node_id asc, stage_number asc

),

-- referenced twice (linked and vetoed values): inlined, so the planner sees the tables
stage_links as not materialized (

    {% for stage in stages %}
    select
        link_stage,
        value_key,
        identifier_type,
        identifier_value,
        group_id,
        decision,
        veto_reason

    from {{ stage }}_links
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

linking_values as (

    -- the value that joined the node's group in that stage; the node's own value
    -- when it carries one
    select distinct on (first_joins.node_id)
        first_joins.node_id,
        first_joins.link_stage,
        stage_links.identifier_type,
        stage_links.identifier_value,
        stage_members.node_id is not null as is_own_value

    from first_joins
    inner join stage_links
        on
            first_joins.link_stage = stage_links.link_stage
            and first_joins.prior_group_id = stage_links.group_id
    left join stage_members
        on
            stage_links.link_stage = stage_members.link_stage
            and stage_links.value_key = stage_members.value_key
            and first_joins.node_id = stage_members.node_id
    where stage_links.decision = 'linked'
    order by
        first_joins.node_id asc,
        stage_members.node_id is null asc,
        stage_links.identifier_value asc

),

vetoed_values as (

    select distinct
        value_key,
        veto_reason

    from stage_links
    where decision = 'vetoed'

),

refused_values as materialized (

    -- the values that were not allowed to link, and why (one row per veto reason):
    -- found among the values first (materialized, so the planner cannot join every
    -- node to every value before filtering), then joined to the few nodes that
    -- carry them
    select
        identifier_values.identifier_type,
        identifier_values.identifier_value,
        identifier_values.rejection_reason,
        vetoed_values.veto_reason

    from identifier_values
    left join vetoed_values
        on
            identifier_values.identifier_type || ':' || identifier_values.identifier_value
            = vetoed_values.value_key
    where
        identifier_values.rejection_reason is not null
        or vetoed_values.value_key is not null

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
