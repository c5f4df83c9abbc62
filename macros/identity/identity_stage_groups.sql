{% macro identity_stage_groups(stage, prior_groups, stage_links, stage_touches, prior_group_column='group_id') %}
{#- One row per node: its group after `stage`. The linked values of the stage are
    joined transitively (label_connected_components); a joined group that would
    break a rule through a chain of values (e.g. A-phone1-B-phone2-C with A and C
    holding different PSIDs) is vetoed as a whole: its groups stay as they were.
    The groups' profiles come from the stage's touches (every joined group is one). -#}
{%- set household_guard = (var('identity_household_guard') and stage in ('phone', 'email')) or stage == 'address' %}
with

-- referenced several times: inlined (not materialized), so joins use its indexes
prior_groups as not materialized (

    select
        node_id,
        {{ prior_group_column }} as group_id

    from {{ prior_groups }}

),

stage_touches as (

    select * from {{ stage_touches }}

),

do_not_link_overrides as (

    {{ do_not_link_node_pairs() }}

),

components as materialized (

    select
        labels.node_id as group_id,
        labels.component_id

    from {{ adapter.quote(this.schema) }}.label_connected_components(
        $edges$
            select group_id, anchor_group_id
            from {{ stage_links }}
            where decision = 'linked'
        $edges$
    ) as labels

),

component_profiles as (

    select distinct on (stage_touches.group_id)
        stage_touches.group_id,
        components.component_id,
        stage_touches.psids,
        stage_touches.phones,
        stage_touches.first_names,
        stage_touches.customer_ids

    from components
    inner join stage_touches
        on components.group_id = stage_touches.group_id
    order by stage_touches.group_id

),

key_conflicts as (

    select
        component_id,
        case
            when count(*) filter (where cardinality(customer_ids) > 0) > 1 then 2
            {%- if stage in ('phone', 'email', 'address') %}
            when count(*) filter (where cardinality(psids) > 0) > 1 then 3
            {%- endif %}
        end as conflict_rank

    from component_profiles
    group by component_id

),

phone_set_conflicts as (

    {% if stage in ('email', 'address') %}
    select distinct
        left_side.component_id,
        4 as conflict_rank

    from component_profiles as left_side
    inner join component_profiles as right_side
        on
            left_side.component_id = right_side.component_id
            and left_side.phones < right_side.phones
    where
        cardinality(left_side.phones) > 0
        and not (left_side.phones && right_side.phones)
    {% else %}
    select
        null::bigint as component_id,
        null::integer as conflict_rank
    where false
    {% endif %}

),

name_set_conflicts as (

    {% if household_guard %}
    select distinct
        left_side.component_id,
        5 as conflict_rank

    from component_profiles as left_side
    inner join component_profiles as right_side
        on
            left_side.component_id = right_side.component_id
            and left_side.first_names < right_side.first_names
    where
        cardinality(left_side.first_names) > 0
        and not (left_side.first_names && right_side.first_names)
    {% else %}
    select
        null::bigint as component_id,
        null::integer as conflict_rank
    where false
    {% endif %}

),

do_not_link_conflicts as (

    select distinct
        lead_components.component_id,
        1 as conflict_rank

    from do_not_link_overrides
    inner join prior_groups as lead_groups
        on do_not_link_overrides.node_id = lead_groups.node_id
    inner join prior_groups as other_groups
        on do_not_link_overrides.other_node_id = other_groups.node_id
    inner join components as lead_components
        on lead_groups.group_id = lead_components.group_id
    inner join components as other_components
        on
            other_groups.group_id = other_components.group_id
            and lead_components.component_id = other_components.component_id

),

component_vetoes as (

    select
        component_id,
        min(conflict_rank) as conflict_rank

    from (
        select * from key_conflicts
        union all
        select * from phone_set_conflicts
        union all
        select * from name_set_conflicts
        union all
        select * from do_not_link_conflicts
    ) as conflicts
    where conflict_rank is not null
    group by component_id

),

final as (

    select
        prior_groups.node_id,
        prior_groups.group_id as prior_group_id,
        coalesce(components.component_id, prior_groups.group_id) as tentative_group_id,
        case
            when component_vetoes.component_id is not null then prior_groups.group_id
            else coalesce(components.component_id, prior_groups.group_id)
        end as group_id,
        {{ identity_conflict_reason('component_vetoes.conflict_rank') }} as component_veto_reason

    from prior_groups
    left join components
        on prior_groups.group_id = components.group_id
    left join component_vetoes
        on components.component_id = component_vetoes.component_id

)

select * from final
{% endmacro %}
