{#- Stage 2, psid: leads sharing a Messenger PSID. Refused only between existing customers or against a do_not_link. -#}
{{ config(
    indexes=[{'columns': ['group_id']}, {'columns': ['value_key', 'group_id'], 'unique': true}],
) }}

{{ identity_stage_links(
    stage='psid',
    stage_touches=ref('int_identity_touches_psid'),
    prior_groups=ref('int_identity_groups_force_link'),
    prior_group_column='group_id',
) }}
