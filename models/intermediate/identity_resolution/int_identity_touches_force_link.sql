{{ config(
    indexes=[{'columns': ['value_key', 'group_id'], 'unique': true}, {'columns': ['group_id']}],
) }}

{{ identity_stage_touches(
    stage='force_link',
    prior_groups=ref('int_identity_nodes'),
    prior_group_column='initial_group_id',
) }}
