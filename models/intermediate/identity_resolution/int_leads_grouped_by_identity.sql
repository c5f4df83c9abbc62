{#-
    The result of the staged, transitive grouping: one row per lead with its final
    group, described the way the plan models expect (group_key, group_type,
    matched_on, anchor) plus the existing customers it is bound to
    (candidate_customer_ids: one = that customer, none = a new customer, two or
    more = a merge candidate, linked to none).
-#}
{{ config(
    indexes=[{'columns': ['lead_id'], 'unique': true}, {'columns': ['group_key']}],
) }}

-- The import CTEs and `members` are read several times each: inlined (not
-- materialized), so that PostgreSQL plans every join on the tables' statistics
-- (parallel hash joins) instead of guessing the size of a materialized CTE
-- (at 1M leads it guessed 5 billion members and sorted them for merge joins).
with

nodes as not materialized (

    select * from {{ ref('int_identity_nodes') }}

),

node_identifiers as not materialized (

    select * from {{ ref('int_node_identifiers') }}

),

identifier_values as not materialized (

    select * from {{ ref('int_identifier_values_screened') }}

),

stage_members as not materialized (

    select * from {{ ref('int_identity_stage_members') }}

),

merge_candidates as not materialized (

    select * from {{ ref('int_leads_matching_several_customers') }}

),

force_link_groups as not materialized (

    select * from {{ ref('int_identity_groups_force_link') }}

),

psid_groups as not materialized (

    select * from {{ ref('int_identity_groups_psid') }}

),

phone_groups as not materialized (

    select * from {{ ref('int_identity_groups_phone') }}

),

email_groups as not materialized (

    select * from {{ ref('int_identity_groups_email') }}

),

address_groups as not materialized (

    select * from {{ ref('int_identity_groups_address') }}

),

members as not materialized (

    -- every node with its final group (the last stage's)
    select
        nodes.node_id,
        nodes.node_type,
        nodes.lead_id,
        nodes.customer_id,
        address_groups.group_id

    from nodes
    inner join address_groups
        on nodes.node_id = address_groups.node_id

),

stage_joined_nodes as (

    -- the few nodes whose group a stage joined to another one: a final group was
    -- joined in a stage when one of its nodes was (one filtered scan per stage,
    -- instead of joining every stage's groups to every node)
    select
        node_id,
        'force_link' as link_stage

    from force_link_groups
    where group_id <> prior_group_id

    union all

    select
        node_id,
        'psid' as link_stage

    from psid_groups
    where group_id <> prior_group_id

    union all

    select
        node_id,
        'phone' as link_stage

    from phone_groups
    where group_id <> prior_group_id

    union all

    select
        node_id,
        'email' as link_stage

    from email_groups
    where group_id <> prior_group_id

    union all

    select
        node_id,
        'address' as link_stage

    from address_groups
    where group_id <> prior_group_id

),

group_stages as (

    select
        address_groups.group_id,
        array_remove(
            array[
                case when bool_or(stage_joined_nodes.link_stage = 'force_link') then 'force_link' end,
                case when bool_or(stage_joined_nodes.link_stage = 'psid') then 'psid' end,
                case when bool_or(stage_joined_nodes.link_stage = 'phone') then 'phone' end,
                case when bool_or(stage_joined_nodes.link_stage = 'email') then 'email' end,
                case when bool_or(stage_joined_nodes.link_stage = 'address') then 'address' end
            ],
            null
        ) as matched_on

    from stage_joined_nodes
    inner join address_groups
        on stage_joined_nodes.node_id = address_groups.node_id
    group by address_groups.group_id

),

groups as (

    select
        group_id,
        min(node_id) filter (where node_type = 'lead') as anchor_node_id,
        coalesce(
            array_agg(distinct customer_id order by customer_id) filter (where customer_id is not null),
            '{}'
        ) as customer_ids

    from members
    group by group_id

),

group_merge_candidates as (

    select
        members.group_id,
        array_agg(distinct candidate.customer_id order by candidate.customer_id)
            as candidate_customer_ids

    from members
    inner join merge_candidates
        on members.node_id = merge_candidates.node_id
    cross join lateral unnest(merge_candidates.candidate_customer_ids) as candidate (customer_id)
    group by members.group_id

),

usable_node_identifiers as (

    -- every usable identifier of every node: the identifier stages' members already
    -- are, except the merge candidates' (which take part in no stage), added here
    select
        node_id,
        identifier_type,
        identifier_value

    from stage_members
    where link_stage <> 'force_link'

    union all

    select
        node_identifiers.node_id,
        node_identifiers.identifier_type,
        node_identifiers.identifier_value

    from merge_candidates
    inner join node_identifiers
        on merge_candidates.node_id = node_identifiers.node_id
    inner join identifier_values
        on
            node_identifiers.identifier_type = identifier_values.identifier_type
            and node_identifiers.identifier_value = identifier_values.identifier_value
    where identifier_values.is_usable_for_linking

),

strongest_identifiers as (

    -- the group's strongest usable identifier (PSID, then phone, e-mail, address),
    -- from its earliest node that has one
    select distinct on (members.group_id)
        members.group_id,
        usable_node_identifiers.identifier_type,
        usable_node_identifiers.identifier_value

    from members
    inner join usable_node_identifiers
        on members.node_id = usable_node_identifiers.node_id
    order by
        members.group_id asc,
        case usable_node_identifiers.identifier_type
            when 'psid' then 1 when 'phone' then 2 when 'email' then 3 else 4
        end asc,
        members.node_id asc,
        usable_node_identifiers.identifier_value asc

),

described_groups as (

    select
        groups.group_id,
        anchor_nodes.lead_id as group_anchor_lead_id,
        coalesce(strongest_identifiers.identifier_type, 'individual') as group_type,
        coalesce(
            strongest_identifiers.identifier_type || ':' || strongest_identifiers.identifier_value,
            'individual:' || anchor_nodes.lead_id::text
        ) as base_group_key,
        coalesce(group_stages.matched_on, '{}') as matched_on,
        case
            when cardinality(groups.customer_ids) > 0 then groups.customer_ids
            else coalesce(group_merge_candidates.candidate_customer_ids, '{}')
        end as candidate_customer_ids

    from groups
    inner join nodes as anchor_nodes
        on groups.anchor_node_id = anchor_nodes.node_id
    left join strongest_identifiers
        on groups.group_id = strongest_identifiers.group_id
    left join group_stages
        on groups.group_id = group_stages.group_id
    left join group_merge_candidates
        on groups.group_id = group_merge_candidates.group_id

),

keyed_groups as (

    -- two groups can hold the same strongest value when a rule kept them apart:
    -- their keys then carry their anchor lead as well
    select
        described_groups.*,
        case
            when count(*) over (partition by described_groups.base_group_key) > 1
                then described_groups.base_group_key || '#' || described_groups.group_anchor_lead_id
            else described_groups.base_group_key
        end as group_key

    from described_groups

),

final as (

    select
        members.lead_id,
        members.node_id,
        keyed_groups.group_id,
        keyed_groups.group_key,
        keyed_groups.group_type,
        keyed_groups.matched_on,
        keyed_groups.group_anchor_lead_id,
        keyed_groups.candidate_customer_ids

    from members
    inner join keyed_groups
        on members.group_id = keyed_groups.group_id
    where members.node_type = 'lead'

)

select * from final
