{#-
    For the explanations: the stage that first joined each node's group to another
    group, and the node's group just before it. A table of its own, analyzed: as a
    CTE of identity_lead_explanations, PostgreSQL guessed 200 nodes for it (it cannot
    count the distinct nodes of a union) and looked up the links of each of the
    523,946 joined nodes of a million leads in an index; and built here it runs
    beside the grouping's last model instead of after the plan's.
-#}
{%- set stages = identity_stages() %}
{{ config(
    indexes=[{'columns': ['node_id'], 'unique': true}],
) }}

with

{% for stage in stages %}
-- read twice (its joined groups, then their nodes): inlined, not materialized
{{ stage }}_groups as not materialized (

    select * from {{ ref('int_identity_groups_' ~ stage) }}

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

final as (

    select distinct on (node_id)
        node_id,
        link_stage,
        prior_group_id

    from stage_joins
    order by node_id asc, stage_number asc

)

select * from final
