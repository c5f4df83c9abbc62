{#- Stage 3, phone: a phone joins groups, never two that hold different PSIDs or existing customers; with the household guard, never two whose first names differ. -#}
{{ config(
    indexes=[{'columns': ['group_id']}, {'columns': ['value_key', 'group_id'], 'unique': true}],
) }}

{{ identity_stage_links(
    stage='phone',
    stage_touches=ref('int_identity_touches_phone'),
    prior_groups=ref('int_identity_groups_psid'),
    prior_group_column='group_id',
) }}
