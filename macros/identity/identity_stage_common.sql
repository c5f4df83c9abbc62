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
        when 4 then 'would_join_different_phones'
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


{% macro identity_key_identifier_ctes() -%}
    {#- Import CTEs for identity_group_profiles: the nodes and their usable PSIDs and
        phones (what the merge protection compares). -#}
nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

identifier_values as (

    select * from {{ ref('int_identifier_values_screened') }}

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

)
{%- endmacro %}


{% macro do_not_link_node_pairs() -%}
    {#- SQL select: the do_not_link pairs that apply (seeds and manual_overrides whose two
        leads exist), as node pairs - the one filter every rule that reads them uses. -#}
    select
        overrides.node_id,
        overrides.other_node_id

    from {{ ref('int_identity_overrides') }} as overrides
    where
        overrides.override_type = 'do_not_link'
        and overrides.override_status = 'applicable'
{%- endmacro %}


{% macro identity_stages() -%}
    {#- The stages of the staged grouping, in their order (a list, for loops). -#}
    {{ return(['force_link', 'psid', 'phone', 'email', 'address']) }}
{%- endmacro %}
