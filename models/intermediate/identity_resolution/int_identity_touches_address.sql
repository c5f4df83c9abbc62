{{ config(
    indexes=[{'columns': ['value_key', 'group_id'], 'unique': true}, {'columns': ['group_id']}],
) }}

{{ identity_stage_touches(
    stage='address',
    prior_groups=ref('int_identity_groups_email'),
    prior_group_column='group_id',
) }}
