{% macro identity_stage_touches(stage, prior_groups, prior_group_column='group_id') %}
{#- One row per (value, group of the previous stage it touches) for the values of
    `stage` that touch two or more groups, with each group's profile (what the
    rules compare). A table of its own, analyzed, so that the decisions that follow
    are planned on real statistics. -#}
with

-- referenced several times: inlined (not materialized), so joins use its indexes
prior_groups as not materialized (

    select
        node_id,
        {{ prior_group_column }} as group_id

    from {{ prior_groups }}

),

stage_members as (

    select * from {{ ref('int_identity_stage_members') }}
    where link_stage = '{{ stage }}'

),

{{ identity_key_identifier_ctes() }},

value_groups as (

    select
        stage_members.value_key,
        stage_members.identifier_type,
        stage_members.identifier_value,
        prior_groups.group_id,
        count(*) as node_count,
        count(*) over (partition by stage_members.value_key) as group_count

    from stage_members
    inner join prior_groups
        on stage_members.node_id = prior_groups.node_id
    group by 1, 2, 3, 4

),

touched as (

    select * from value_groups
    where group_count > 1

),

-- the nodes of the touched groups, by a join: as `in (select ...)`, PostgreSQL cannot
-- estimate how many groups the materialized `touched` holds (it assumes 200) and looks
-- each one up in the index, 500,000 lookups for the phones of a million leads
touched_members as (

    select distinct
        prior_groups.node_id,
        prior_groups.group_id,
        null::bigint as component_id

    from touched
    inner join prior_groups
        on touched.group_id = prior_groups.group_id

),

group_profiles as (

    {{ identity_group_profiles('touched_members') }}

),

final as (

    select
        '{{ stage }}' as link_stage,
        touched.value_key,
        touched.identifier_type,
        touched.identifier_value,
        touched.group_id,
        touched.node_count,
        group_profiles.psids,
        group_profiles.phones,
        group_profiles.first_names,
        group_profiles.customer_ids

    from touched
    inner join group_profiles
        on touched.group_id = group_profiles.group_id

)

select * from final
{% endmacro %}
