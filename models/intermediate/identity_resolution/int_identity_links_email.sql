{#- Stage 4, e-mail: an e-mail joins groups, never two that hold different PSIDs, phones or existing customers; with the household guard, never two whose first names differ. -#}
{{ config(
    indexes=[{'columns': ['group_id']}, {'columns': ['value_key', 'group_id'], 'unique': true}],
) }}

{{ identity_stage_links(
    stage='email',
    stage_touches=ref('int_identity_touches_email'),
    prior_groups=ref('int_identity_groups_phone'),
    prior_group_column='group_id',
) }}
