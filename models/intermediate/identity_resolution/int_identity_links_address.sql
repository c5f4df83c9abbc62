{#- Stage 5, address: an address key joins groups whose first names agree, never a group without a name, nor two that hold different PSIDs, phones or existing customers. -#}
{{ config(
    indexes=[{'columns': ['group_id']}, {'columns': ['value_key', 'group_id'], 'unique': true}],
) }}

{{ identity_stage_links(
    stage='address',
    stage_touches=ref('int_identity_touches_address'),
    prior_groups=ref('int_identity_groups_email'),
    prior_group_column='group_id',
) }}
