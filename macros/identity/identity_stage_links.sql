{% macro identity_stage_links(stage, stage_touches, prior_groups, prior_group_column='group_id') %}
{#- One row per (value, group it touches) with the decision: `linked` (to
    anchor_group_id, the smallest group of its class) or `vetoed` and why. The rules
    are checked per class with counts: two groups of a class holding existing
    customers, PSIDs (phone, e-mail) or different phones (e-mail) - or a do_not_link
    pair - veto the whole class. Without the household guard's split, a value is
    one class: set-wise, every group it touches is refused together. An address is
    always split by first names, and a group without a name is a class of its own:
    a household shares its address, so only an agreeing name makes it evidence
    (refused as `address_names_differ` or `address_without_name`, not as a
    household to review: sharing an address is what households do). -#}
{%- set household_guard = var('identity_household_guard') and stage in ('phone', 'email') %}
{%- set names_required = stage == 'address' %}
with

-- referenced several times: inlined (not materialized), so each use reads the table
stage_touches as not materialized (

    select * from {{ stage_touches }}

),

prior_groups as not materialized (

    select
        node_id,
        {{ prior_group_column }} as group_id

    from {{ prior_groups }}

),

do_not_link_overrides as (

    {{ do_not_link_node_pairs() }}

),

value_first_names as (

    -- the household guard: a value whose groups carry two or more different first
    -- names is shared by different people; it then joins only groups with the same
    -- first names, and groups without a name none
    select
        stage_touches.value_key,
        count(distinct first_name.value) as distinct_first_names

    from stage_touches
    cross join lateral unnest(stage_touches.first_names) as first_name (value)
    group by stage_touches.value_key

),

classed as (

    select
        stage_touches.*,
        coalesce(value_first_names.distinct_first_names, 0) as value_first_name_count,
        {% if household_guard -%}
            coalesce(value_first_names.distinct_first_names, 0) > 1
        {%- else -%}
            false
        {%- endif %} as is_household_split,
        case
            {% if names_required -%}
            when cardinality(stage_touches.first_names) > 0
                then array_to_string(stage_touches.first_names, ' ')
            else 'unnamed:' || stage_touches.group_id
            {%- elif household_guard -%}
            when coalesce(value_first_names.distinct_first_names, 0) <= 1 then '*'
            when cardinality(stage_touches.first_names) > 0
                then array_to_string(stage_touches.first_names, ' ')
            else 'unnamed:' || stage_touches.group_id
            {%- else -%}
            when true then '*'
            {%- endif %}
        end as class_key

    from stage_touches
    left join value_first_names
        on stage_touches.value_key = value_first_names.value_key

),

class_counts as (

    select
        classed.value_key,
        classed.class_key,
        count(distinct classed.group_id) as class_group_count,
        min(classed.group_id) as class_anchor_group_id,
        count(distinct classed.group_id) filter (where cardinality(classed.customer_ids) > 0)
            as groups_with_customers,
        count(distinct classed.group_id) filter (where cardinality(classed.psids) > 0)
            as groups_with_psids,
        count(distinct classed.group_id) filter (where cardinality(classed.phones) > 0)
            as groups_with_phones,
        count(distinct phone.value) as distinct_phones

    from classed
    left join lateral unnest(classed.phones) as phone (value) on true
    group by classed.value_key, classed.class_key

),

do_not_link_classes as (

    select distinct
        lead_sides.value_key,
        lead_sides.class_key

    from do_not_link_overrides
    inner join prior_groups as lead_groups
        on do_not_link_overrides.node_id = lead_groups.node_id
    inner join prior_groups as other_groups
        on do_not_link_overrides.other_node_id = other_groups.node_id
    inner join classed as lead_sides
        on lead_groups.group_id = lead_sides.group_id
    inner join classed as other_sides
        on
            other_groups.group_id = other_sides.group_id
            and lead_sides.value_key = other_sides.value_key
            and lead_sides.class_key = other_sides.class_key
            and lead_sides.group_id <> other_sides.group_id

),

decided as (

    -- set-wise merge protection: one conflict vetoes the whole class
    select
        classed.*,
        class_counts.class_group_count,
        class_counts.class_anchor_group_id,
        case
            when do_not_link_classes.value_key is not null then 1
            when class_counts.groups_with_customers > 1 then 2
            {%- if stage in ('phone', 'email', 'address') %}
            when class_counts.groups_with_psids > 1 then 3
            {%- endif %}
            {%- if stage in ('email', 'address') %}
            when class_counts.groups_with_phones > 1 and class_counts.distinct_phones > 1 then 4
            {%- endif %}
        end as conflict_rank

    from classed
    inner join class_counts
        on
            classed.value_key = class_counts.value_key
            and classed.class_key = class_counts.class_key
    left join do_not_link_classes
        on
            classed.value_key = do_not_link_classes.value_key
            and classed.class_key = do_not_link_classes.class_key

),

final as (

    select
        link_stage,
        value_key,
        identifier_type,
        identifier_value,
        group_id,
        node_count,
        class_key,
        is_household_split,
        case
            when conflict_rank is null and class_group_count > 1 then 'linked' else 'vetoed'
        end as decision,
        case
            when conflict_rank is null and class_group_count > 1 then class_anchor_group_id
        end as anchor_group_id,
        case
            when conflict_rank is not null then {{ identity_conflict_reason('conflict_rank') }}
            {%- if names_required %}
            when class_group_count = 1 and value_first_name_count > 1 then 'address_names_differ'
            when class_group_count = 1 then 'address_without_name'
            {%- endif %}
            when class_group_count = 1 then 'household_guard'
        end as veto_reason,
        psids,
        phones,
        first_names,
        customer_ids

    from decided

)

select * from final
{% endmacro %}
