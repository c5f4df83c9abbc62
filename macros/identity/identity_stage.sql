{#-
    One stage of the grouping (force_link, psid, phone or e-mail) is two models:
    `int_identity_links_<stage>` decides, value by value, which of the groups a
    value touches it may join (identity_stage_links), and
    `int_identity_groups_<stage>` joins them transitively and vetoes any group the
    joins would make that breaks a rule through a chain (identity_stage_groups).
    Both are set-based and order-independent: a value that would break a rule is
    refused for every group it touches, never for "the later ones".
-#}

{% macro identity_conflict_reason(rank) -%}
    {#- SQL expression: the name of a rule, from identity_conflict_rank's number. -#}
    case {{ rank }}
        when 1 then 'do_not_link'
        when 2 then 'would_join_different_existing_customers'
        when 3 then 'would_join_different_psids'
        when 4 then 'email_would_join_different_phones'
        when 5 then 'household_guard'
    end
{%- endmacro %}


{% macro identity_group_profiles(members) -%}
    {#- SELECT: per group of the CTE `members` (node_id, group_id, plus any
        `component_id`), what the rules compare - the group's usable PSIDs and phones,
        its first names and its existing customer. Expects CTEs `nodes` and
        `key_identifiers`. -#}
    select
        {{ members }}.group_id,
        min({{ members }}.component_id) as component_id,
        coalesce(
            array_agg(distinct key_identifiers.identifier_value order by key_identifiers.identifier_value)
                filter (where key_identifiers.identifier_type = 'psid'),
            '{}'
        ) as psids,
        coalesce(
            array_agg(distinct key_identifiers.identifier_value order by key_identifiers.identifier_value)
                filter (where key_identifiers.identifier_type = 'phone'),
            '{}'
        ) as phones,
        coalesce(
            array_agg(distinct nodes.first_name order by nodes.first_name)
                filter (where nodes.first_name is not null),
            '{}'
        ) as first_names,
        coalesce(
            array_agg(distinct nodes.customer_id order by nodes.customer_id)
                filter (where nodes.customer_id is not null),
            '{}'
        ) as customer_ids
    from {{ members }}
    inner join nodes
        on {{ members }}.node_id = nodes.node_id
    left join key_identifiers
        on {{ members }}.node_id = key_identifiers.node_id
    group by {{ members }}.group_id
{%- endmacro %}


{% macro identity_common_ctes() -%}
    {#- Import CTEs every stage model uses: nodes, their usable PSIDs and phones (what
        the merge protection compares) and the applicable do_not_link pairs. -#}
nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

),

overrides as (

    select * from {{ ref('int_identity_overrides') }}

),

key_identifiers as (

    select
        node_identifiers.node_id,
        node_identifiers.identifier_type,
        node_identifiers.identifier_value

    from node_identifiers
    inner join identifier_values
        on
            node_identifiers.identifier_type = identifier_values.identifier_type
            and node_identifiers.identifier_value = identifier_values.identifier_value
    where
        identifier_values.is_usable_for_linking
        and node_identifiers.identifier_type in ('psid', 'phone')

),

do_not_link_overrides as (

    select
        overrides.node_id,
        overrides.other_node_id

    from overrides
    where
        overrides.override_type = 'do_not_link'
        and overrides.override_status = 'applicable'

)
{%- endmacro %}


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

{{ identity_common_ctes() }},

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


{% macro identity_stage_links(stage, stage_touches, prior_groups, prior_group_column='group_id') %}
{#- One row per (value, group it touches) with the decision: `linked` (to
    anchor_group_id, the smallest group of its class) or `vetoed` and why. The rules
    are checked per class with counts: two groups of a class holding existing
    customers, PSIDs (phone, e-mail) or different phones (e-mail) - or a do_not_link
    pair - veto the whole class. Without the household guard's split, a value is
    one class: set-wise, every group it touches is refused together. -#}
{%- set household_guard = var('identity_household_guard') and stage in ('phone', 'email') %}
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

overrides as (

    select * from {{ ref('int_identity_overrides') }}

),

do_not_link_overrides as (

    select
        overrides.node_id,
        overrides.other_node_id

    from overrides
    where
        overrides.override_type = 'do_not_link'
        and overrides.override_status = 'applicable'

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
        {% if household_guard -%}
            coalesce(value_first_names.distinct_first_names, 0) > 1
        {%- else -%}
            false
        {%- endif %} as is_household_split,
        case
            {% if household_guard -%}
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
            {%- if stage in ('phone', 'email') %}
            when class_counts.groups_with_psids > 1 then 3
            {%- endif %}
            {%- if stage == 'email' %}
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


{% macro identity_stage_groups(stage, prior_groups, stage_links, stage_touches, prior_group_column='group_id') %}
{#- One row per node: its group after `stage`. The linked values of the stage are
    joined transitively (label_connected_components); a joined group that would
    break a rule through a chain of values (e.g. A-phone1-B-phone2-C with A and C
    holding different PSIDs) is vetoed as a whole: its groups stay as they were.
    The groups' profiles come from the stage's touches (every joined group is one). -#}
{%- set household_guard = var('identity_household_guard') and stage in ('phone', 'email') %}
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

overrides as (

    select * from {{ ref('int_identity_overrides') }}

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
            {%- if stage in ('phone', 'email') %}
            when count(*) filter (where cardinality(psids) > 0) > 1 then 3
            {%- endif %}
        end as conflict_rank

    from component_profiles
    group by component_id

),

phone_set_conflicts as (

    {% if stage == 'email' %}
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

    from overrides
    inner join prior_groups as lead_groups
        on overrides.node_id = lead_groups.node_id
    inner join prior_groups as other_groups
        on overrides.other_node_id = other_groups.node_id
    inner join components as lead_components
        on lead_groups.group_id = lead_components.group_id
    inner join components as other_components
        on
            other_groups.group_id = other_components.group_id
            and lead_components.component_id = other_components.component_id
    where
        overrides.override_type = 'do_not_link'
        and overrides.override_status = 'applicable'

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
