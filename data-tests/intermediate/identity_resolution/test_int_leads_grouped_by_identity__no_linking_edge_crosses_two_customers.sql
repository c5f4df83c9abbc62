{#-
    Convergence of the grouping, checked on its result: every value a stage used to
    link two groups (decision `linked`, chain not vetoed) must leave both sides in
    one final group, and one final group must resolve to one customer. A row here is
    a link the transitive closure did not follow to the end.
-#}
{%- set stages = ['force_link', 'psid', 'phone', 'email'] %}
{{ config(enabled=var('grouping_strategy') == 'resolved') }}

with

{% for stage in stages %}
{{ stage }}_links as (

    select * from {{ ref('int_identity_links_' ~ stage) }}
    where decision = 'linked'

),

{{ stage }}_groups as not materialized (

    select * from {{ ref('int_identity_groups_' ~ stage) }}

),

{% endfor %}
final_groups as not materialized (

    select * from {{ ref('int_identity_groups_email') }}

),

resolved_leads as (

    select * from {{ ref('int_leads_resolved_to_customers') }}

),

stage_edges as (

    -- a group's id is the id of one of its nodes (the smallest), so the nodes
    -- numbered group_id and anchor_group_id stand for the two sides of a link
    {% for stage in stages %}
    select
        '{{ stage }}' as link_stage,
        {{ stage }}_links.value_key,
        group_sides.node_id as group_node_id,
        anchor_sides.node_id as anchor_node_id,
        group_sides.tentative_group_id as group_tentative_id,
        anchor_sides.tentative_group_id as anchor_tentative_id,
        group_sides.component_veto_reason

    from {{ stage }}_links
    inner join {{ stage }}_groups as group_sides
        on {{ stage }}_links.group_id = group_sides.node_id
    inner join {{ stage }}_groups as anchor_sides
        on {{ stage }}_links.anchor_group_id = anchor_sides.node_id
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

unconverged_edges as (

    select
        stage_edges.link_stage,
        stage_edges.value_key,
        case
            when stage_edges.group_tentative_id <> stage_edges.anchor_tentative_id
                then 'the connected components did not converge'
            else 'the link crosses two final groups'
        end as failure

    from stage_edges
    inner join final_groups as group_finals
        on stage_edges.group_node_id = group_finals.node_id
    inner join final_groups as anchor_finals
        on stage_edges.anchor_node_id = anchor_finals.node_id
    where
        stage_edges.group_tentative_id <> stage_edges.anchor_tentative_id
        or (
            stage_edges.component_veto_reason is null
            and group_finals.group_id <> anchor_finals.group_id
        )

),

group_customers as (

    -- the plan's group_key is the final group's (int_leads_grouped_to_customers
    -- passes it on), so no join back to the grouping is needed
    select distinct
        group_key,
        resolved_customer_id

    from resolved_leads
    where resolved_customer_id is not null

),

groups_with_two_customers as (

    select
        'final' as link_stage,
        group_key as value_key,
        'one group resolves to ' || count(*) || ' customers' as failure

    from group_customers
    group by group_key
    having count(*) > 1

),

final as (

    select * from unconverged_edges
    union all
    select * from groups_with_two_customers

)

select * from final
