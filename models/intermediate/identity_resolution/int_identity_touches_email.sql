{{ config(
    indexes=[{'columns': ['value_key', 'group_id'], 'unique': true}, {'columns': ['group_id']}],
) }}

{{ identity_stage_touches(
    stage='email',
    prior_groups=ref('int_identity_groups_phone'),
    prior_group_column='group_id',
) }}
