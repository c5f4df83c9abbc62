{{ config(
    indexes=[{'columns': ['node_id'], 'unique': true}, {'columns': ['group_id']}],
    pre_hook=["{{ create_label_connected_components(this.schema) }}"],
) }}

{{ identity_stage_groups(
    stage='force_link',
    prior_groups=ref('int_identity_nodes'),
    prior_group_column='initial_group_id',
    stage_links=ref('int_identity_links_force_link'),
    stage_touches=ref('int_identity_touches_force_link'),
) }}
