{#-
    What `dbt run-operation resolve_conflicts` does with each conflict of the plan.
    A conflict involves existing customers (the candidates of a lead that matches
    several of them, typically duplicates the app made; the two customers of a job
    linked to another customer than its lead). They are one person when the
    project's own identity rules join them, judged on everything each holds (its
    phone and e-mail, its linked leads' PSIDs, phones and first names) and, for a
    lead, the group the lead is in:
    - two of them are joined by a shared PSID or phone, or by an e-mail when they
      do not hold different phones (the e-mail rule); a job's two customers by the
      job and its lead;
    - never when that would join two different PSIDs, first names that are all
      different (the household guard), or a do_not_link pair;
    - transitively, and a chain that would join two of those is vetoed whole.
    Candidates that end up joined are merged into the oldest of them; a conflict
    whose candidates all end up one customer is resolved (the next build links the
    lead, or gives it its own customer when it is another person, e.g. a household
    member on the same phone). The rest is refused, with the reason. Conflicts that
    share a customer are merged together, and the rules are checked again on the
    whole set.
-#}
{{ config(indexes=[{'columns': ['conflict_id', 'customer_id'], 'unique': true}]) }}

with

conflicts as (

    select * from {{ ref('plan_conflicts') }}

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

),

do_not_link_overrides as (

    {{ do_not_link_node_pairs() }}

),

lead_groups as (

    select * from {{ ref('int_leads_grouped_by_identity') }}

),

-- read twice, so PostgreSQL would materialize it: every app customer's name, phone
-- and e-mail normalized for two lookups by id (3.3 s of 4.4 at 1M leads after an
-- applied run); inlined, each reader looks up the customers it joins
customers as not materialized (

    select * from {{ ref('stg_app__customers') }}

),

conflict_customers as (

    select distinct
        conflicts.conflict_id,
        candidate.customer_id

    from conflicts
    cross join lateral unnest(conflicts.customer_ids) as candidate (customer_id)

),

members as (

    -- the nodes each conflict weighs: every candidate customer with its linked leads
    -- (they start in its group) and, for a lead, the group the lead is in
    select
        conflict_customers.conflict_id,
        'customer:' || conflict_customers.customer_id::text as member_key,
        conflict_customers.customer_id,
        grouped_nodes.node_id

    from conflict_customers
    inner join nodes as customer_nodes
        on
            conflict_customers.customer_id = customer_nodes.customer_id
            and customer_nodes.node_type = 'customer'
    inner join nodes as grouped_nodes
        on customer_nodes.node_id = grouped_nodes.initial_group_id

    union all

    select
        conflicts.conflict_id,
        'group:' || conflicts.lead_id::text as member_key,
        null::uuid as customer_id,
        group_leads.node_id

    from conflicts
    inner join lead_groups as conflict_lead
        on conflicts.lead_id = conflict_lead.lead_id
    inner join lead_groups as group_leads
        on conflict_lead.group_id = group_leads.group_id
    where conflicts.conflict_type = 'lead_matches_several_customers'

),

member_identifiers as (

    select distinct
        members.conflict_id,
        members.member_key,
        node_identifiers.identifier_type,
        node_identifiers.identifier_value

    from members
    inner join node_identifiers
        on members.node_id = node_identifiers.node_id
    inner join identifier_values
        on
            node_identifiers.identifier_type = identifier_values.identifier_type
            and node_identifiers.identifier_value = identifier_values.identifier_value
    where identifier_values.is_usable_for_linking

),

member_names as (

    select
        members.conflict_id,
        members.member_key,
        min(members.customer_id::text)::uuid as customer_id,
        coalesce(
            array_agg(distinct nodes.first_name order by nodes.first_name)
            filter (where nodes.first_name is not null),
            '{}'
        ) as first_names

    from members
    inner join nodes
        on members.node_id = nodes.node_id
    group by members.conflict_id, members.member_key

),

member_profiles as (

    select
        member_names.*,
    {% for identifier_type in ['psid', 'phone'] %}
    coalesce(
        array_agg(distinct member_identifiers.identifier_value order by member_identifiers.identifier_value)
        filter (where member_identifiers.identifier_type = '{{ identifier_type }}'),
        '{}'
    ) as {{ identifier_type }}s{{ ',' if not loop.last }}
    {% endfor %}

    from member_names
    left join member_identifiers
        on
            member_names.conflict_id = member_identifiers.conflict_id
            and member_names.member_key = member_identifiers.member_key
    group by
        member_names.conflict_id,
        member_names.member_key,
        member_names.customer_id,
        member_names.first_names

),

do_not_link_pairs as (

    select distinct
        lead_side.conflict_id,
        least(lead_side.member_key, other_side.member_key) as left_key,
        greatest(lead_side.member_key, other_side.member_key) as right_key

    from do_not_link_overrides
    inner join members as lead_side
        on do_not_link_overrides.node_id = lead_side.node_id
    inner join members as other_side
        on
            do_not_link_overrides.other_node_id = other_side.node_id
            and lead_side.conflict_id = other_side.conflict_id
            and lead_side.member_key <> other_side.member_key

),

shared_values as (

    select
        left_values.conflict_id,
        left_values.member_key as left_key,
        right_values.member_key as right_key,
        bool_or(left_values.identifier_type in ('psid', 'phone')) as shares_psid_or_phone,
        bool_or(left_values.identifier_type = 'email') as shares_email

    from member_identifiers as left_values
    inner join member_identifiers as right_values
        on
            left_values.conflict_id = right_values.conflict_id
            and left_values.member_key < right_values.member_key
            and left_values.identifier_type = right_values.identifier_type
            and left_values.identifier_value = right_values.identifier_value
    group by left_values.conflict_id, left_values.member_key, right_values.member_key

),

member_pairs as (

    -- every two members of a conflict: whether the rules keep them apart, and whether
    -- something joins them
    select
        left_side.conflict_id,
        left_side.member_key as left_key,
        right_side.member_key as right_key,
        case
            when do_not_link_pairs.conflict_id is not null then 'do_not_link'
            when cardinality(left_side.psids) > 0 and cardinality(right_side.psids) > 0
                and not (left_side.psids @> right_side.psids and right_side.psids @> left_side.psids)
                then 'different_psids'
            {% if var('identity_household_guard') %}
            when cardinality(left_side.first_names) > 0 and cardinality(right_side.first_names) > 0
                and not (left_side.first_names && right_side.first_names)
                then 'different_first_names'
            {% endif %}
        end as kept_apart_by,
        coalesce(shared_values.shares_psid_or_phone, false)
        or coalesce(shared_values.shares_email, false) and not (
            cardinality(left_side.phones) > 0 and cardinality(right_side.phones) > 0
            and not (left_side.phones && right_side.phones)
        )
        or conflicts.conflict_type = 'job_customer_differs_from_lead' as is_joined

    from member_profiles as left_side
    inner join member_profiles as right_side
        on
            left_side.conflict_id = right_side.conflict_id
            and left_side.member_key < right_side.member_key
    inner join conflicts
        on left_side.conflict_id = conflicts.conflict_id
    left join do_not_link_pairs
        on
            left_side.conflict_id = do_not_link_pairs.conflict_id
            and left_side.member_key = do_not_link_pairs.left_key
            and right_side.member_key = do_not_link_pairs.right_key
    left join shared_values
        on
            left_side.conflict_id = shared_values.conflict_id
            and left_side.member_key = shared_values.left_key
            and right_side.member_key = shared_values.right_key

),

member_edges as (

    select
        conflict_id,
        left_key as member_key,
        right_key as other_member_key

    from member_pairs
    where is_joined and kept_apart_by is null

    union all

    select
        conflict_id,
        right_key as member_key,
        left_key as other_member_key

    from member_pairs
    where is_joined and kept_apart_by is null

),

member_walk as (

    -- the members a conflict joins, transitively (a few members per conflict)
    with recursive walk (conflict_id, member_key, root_key) as (
        select
            conflict_id,
            member_key,
            member_key as root_key
        from member_profiles
        union
        select
            walk.conflict_id,
            member_edges.other_member_key,
            walk.root_key
        from walk
        inner join member_edges
            on
                walk.conflict_id = member_edges.conflict_id
                and walk.member_key = member_edges.member_key
    )

    select * from walk

),

member_components as (

    select
        conflict_id,
        member_key,
        min(root_key) as component_key

    from member_walk
    group by conflict_id, member_key

),

vetoed_components as (

    -- a component that joins two members the rules keep apart is vetoed whole
    select distinct
        left_components.conflict_id,
        left_components.component_key

    from member_pairs
    inner join member_components as left_components
        on
            member_pairs.conflict_id = left_components.conflict_id
            and member_pairs.left_key = left_components.member_key
    inner join member_components as right_components
        on
            member_pairs.conflict_id = right_components.conflict_id
            and member_pairs.right_key = right_components.member_key
            and left_components.component_key = right_components.component_key
    where member_pairs.kept_apart_by is not null

),

candidate_components as (

    select
        member_components.conflict_id,
        member_profiles.customer_id,
        case
            when vetoed_components.component_key is null then member_components.component_key
            else member_components.member_key
        end as component_key

    from member_components
    inner join member_profiles
        on
            member_components.conflict_id = member_profiles.conflict_id
            and member_components.member_key = member_profiles.member_key
    left join vetoed_components
        on
            member_components.conflict_id = vetoed_components.conflict_id
            and member_components.component_key = vetoed_components.component_key
    where member_profiles.customer_id is not null

),

customer_edges as (

    -- the customers each conflict makes one, as edges to the first of them, both ways;
    -- conflicts that share a customer are joined through it
    select distinct
        edges.customer_id,
        edges.other_customer_id

    from (
        select
            customer_id,
            min(customer_id::text) over (partition by conflict_id, component_key)::uuid
                as other_customer_id
        from candidate_components
    ) as star_edges
    cross join lateral (
        values
        (star_edges.customer_id, star_edges.other_customer_id),
        (star_edges.other_customer_id, star_edges.customer_id)
    ) as edges (customer_id, other_customer_id)

),

customer_walk as (

    with recursive walk (customer_id, root_customer_id) as (
        select
            customer_id,
            customer_id as root_customer_id
        from customer_edges
        union
        select
            customer_edges.other_customer_id,
            walk.root_customer_id
        from walk
        inner join customer_edges
            on walk.customer_id = customer_edges.customer_id
    )

    select * from walk

),

merge_sets as (

    select
        customer_id,
        min(root_customer_id::text)::uuid as merge_set_id,
        count(*) over (partition by min(root_customer_id::text)) as set_size

    from customer_walk
    group by customer_id

),

merge_set_profiles as (

    select distinct on (merge_sets.merge_set_id, member_profiles.customer_id)
        merge_sets.merge_set_id,
        member_profiles.customer_id,
        member_profiles.first_names,
        member_profiles.psids

    from merge_sets
    inner join member_profiles
        on merge_sets.customer_id = member_profiles.customer_id
    order by merge_sets.merge_set_id, member_profiles.customer_id

),

vetoed_merge_sets as (

    -- the rules again, on each whole set of customers: its PSIDs and its first names
    select merge_set_id

    from merge_set_profiles
    cross join lateral unnest(merge_set_profiles.psids) as psid (value)
    group by merge_set_id
    having count(distinct psid.value) > 1

    {% if var('identity_household_guard') %}
    union

    select left_side.merge_set_id

    from merge_set_profiles as left_side
    inner join merge_set_profiles as right_side
        on
            left_side.merge_set_id = right_side.merge_set_id
            and left_side.customer_id < right_side.customer_id
    where
        cardinality(left_side.first_names) > 0
        and cardinality(right_side.first_names) > 0
        and not (left_side.first_names && right_side.first_names)
    {% endif %}

    union

    -- a customer id a lead points at that has no Customer row cannot be merged
    select merge_sets.merge_set_id

    from merge_sets
    left join customers
        on merge_sets.customer_id = customers.customer_id
    where customers.customer_id is null

),

survivors as (

    select distinct on (merge_sets.merge_set_id)
        merge_sets.merge_set_id,
        merge_sets.customer_id as survivor_customer_id

    from merge_sets
    inner join customers
        on merge_sets.customer_id = customers.customer_id
    order by merge_sets.merge_set_id asc, customers.created_at asc, customers.customer_id asc

),

merged_customers as (

    select
        merge_sets.customer_id,
        case
            when merge_sets.set_size > 1 and vetoed_merge_sets.merge_set_id is null
                then survivors.survivor_customer_id
            else merge_sets.customer_id
        end as resolved_customer_id

    from merge_sets
    left join vetoed_merge_sets
        on merge_sets.merge_set_id = vetoed_merge_sets.merge_set_id
    left join survivors
        on merge_sets.merge_set_id = survivors.merge_set_id

),

conflict_outcomes as (

    -- a conflict is resolved when all its candidates end up one customer
    select
        conflict_customers.conflict_id,
        count(distinct merged_customers.resolved_customer_id) = 1 as is_resolved

    from conflict_customers
    inner join merged_customers
        on conflict_customers.customer_id = merged_customers.customer_id
    group by conflict_customers.conflict_id

),

refusal_reasons as (

    -- why a conflict's candidates stay apart: the rule that keeps two of them apart
    select
        member_pairs.conflict_id,
        min(member_pairs.kept_apart_by) as refusal_reason

    from member_pairs
    where
        member_pairs.left_key like 'customer:%'
        and member_pairs.right_key like 'customer:%'
        and member_pairs.kept_apart_by is not null
    group by member_pairs.conflict_id

),

suggested_links as (

    -- for a lead left unlinked: the one candidate whose first names hold the lead's
    select
        conflicts.conflict_id,
        min(member_profiles.customer_id::text)::uuid as customer_id

    from conflicts
    inner join nodes
        on conflicts.lead_id = nodes.lead_id
    inner join member_profiles
        on
            conflicts.conflict_id = member_profiles.conflict_id
            and member_profiles.customer_id is not null
            and nodes.first_name = any(member_profiles.first_names)
    where conflicts.conflict_type = 'lead_matches_several_customers'
    group by conflicts.conflict_id
    having count(*) = 1

),

final as (

    select
        conflicts.conflict_id,
        conflicts.conflict_type,
        conflicts.object_type,
        conflicts.object_id,
        conflicts.lead_id,
        conflict_customers.customer_id,
        nullif(merged_customers.resolved_customer_id, conflict_customers.customer_id)
            as merged_into_customer_id,
        coalesce(conflict_outcomes.is_resolved, false) as is_conflict_resolved,
        case
            when not coalesce(conflict_outcomes.is_resolved, false)
                then coalesce(refusal_reasons.refusal_reason, 'no_shared_identifier')
        end as refusal_reason,
        conflict_customers.customer_id = suggested_links.customer_id as is_suggested_link

    from conflicts
    inner join conflict_customers
        on conflicts.conflict_id = conflict_customers.conflict_id
    left join merged_customers
        on conflict_customers.customer_id = merged_customers.customer_id
    left join conflict_outcomes
        on conflicts.conflict_id = conflict_outcomes.conflict_id
    left join refusal_reasons
        on conflicts.conflict_id = refusal_reasons.conflict_id
    left join suggested_links
        on conflicts.conflict_id = suggested_links.conflict_id

)

select * from final
