{#-
    One row per lead: the customer group it belongs to. Downstream models use only
    these columns. The grouping is the staged, transitive identity resolution
    (models/intermediate/identity_resolution/); var grouping_strategy: priority
    swaps in the original one-pass grouping, only to compare the two.
-#}
{#-
    A view: it only passes the chosen grouping's columns on. The resolved grouping
    is a table indexed on lead_id and group_key, so a copy of it and its two indexes
    bought nothing: 4-5 s of every run at 1M leads, all of it before the plan could
    start. (The priority grouping is a view too, computed by each reader: it only
    serves comparisons.)
-#}
{{ config(materialized='view') }}

{%- set strategy = var('grouping_strategy') %}
{%- if strategy not in ('resolved', 'priority') %}
    {{ exceptions.raise_compiler_error(
        "var grouping_strategy must be 'resolved' (the default) or 'priority', not '" ~ strategy ~ "'"
    ) }}
{%- endif %}

with

lead_groups as (

    {% if strategy == 'priority' %}
    select * from {{ ref('int_leads_grouped_by_priority') }}
    {% else %}
    select * from {{ ref('int_leads_grouped_by_identity') }}
    {% endif %}

),

final as (

    select
        lead_id,
        group_key,
        group_type,
        matched_on,
        group_anchor_lead_id,
        candidate_customer_ids

    from lead_groups

)

select * from final
