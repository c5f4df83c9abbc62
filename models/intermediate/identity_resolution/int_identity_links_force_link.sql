{#- Stage 1, force_link: the user's force_link pairs, refused only when they would
    join two existing customers or break a do_not_link. -#}
{{ config(
    indexes=[{'columns': ['group_id']}, {'columns': ['value_key', 'group_id'], 'unique': true}],
) }}

{{ identity_stage_links(
    stage='force_link',
    stage_touches=ref('int_identity_touches_force_link'),
    prior_groups=ref('int_identity_nodes'),
    prior_group_column='initial_group_id',
) }}
