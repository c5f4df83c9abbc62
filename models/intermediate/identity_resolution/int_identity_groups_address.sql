{{ config(
    indexes=[{'columns': ['node_id'], 'unique': true}, {'columns': ['group_id']}],
    pre_hook=["{{ create_label_connected_components(this.schema) }}"],
) }}

{{ identity_stage_groups(
    stage='address',
    prior_groups=ref('int_identity_groups_email'),
    stage_links=ref('int_identity_links_address'),
    stage_touches=ref('int_identity_touches_address'),
) }}
