{#-
    One row per lead: the customer group it belongs to. Downstream models use only
    these columns. The grouping is the staged, transitive identity resolution
    (models/intermediate/identity_resolution/); var grouping_strategy: priority
    swaps in the original one-pass grouping, only to compare the two.
-#}
{{ config(indexes=[
    {'columns': ['lead_id'], 'unique': true},
    {'columns': ['group_key']},
]) }}

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
