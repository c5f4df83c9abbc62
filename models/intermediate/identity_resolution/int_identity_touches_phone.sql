{{ config(
    indexes=[{'columns': ['value_key', 'group_id'], 'unique': true}, {'columns': ['group_id']}],
) }}

{{ identity_stage_touches(
    stage='phone',
    prior_groups=ref('int_identity_groups_psid'),
    prior_group_column='group_id',
) }}
