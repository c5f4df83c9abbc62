{% macro insert_manual_overrides(override_type, pairs_sql, reason) %}
    {#- SQL: records lead pairs (a select of lead_id, other_lead_id) in manual_overrides as
        `override_type`, each pair once, in a stable order; a pair recorded before stays.
        People's decisions: they outlive a rollback, for the next grouping. -#}
    insert into {{ ref('manual_overrides') }}
        (override_id, override_type, lead_id, other_lead_id, reason, recorded_by, created_at)
    select distinct
        '{{ override_type }}:' || least(pairs.lead_id, pairs.other_lead_id)::text
        || ':' || greatest(pairs.lead_id, pairs.other_lead_id)::text,
        '{{ override_type }}',
        least(pairs.lead_id, pairs.other_lead_id),
        greatest(pairs.lead_id, pairs.other_lead_id),
        {{ dbt.string_literal(reason) }},
        {{ dbt.string_literal('customer-backfill operation ' ~ invocation_id) }},
        now()
    from ({{ pairs_sql }}) as pairs
    where pairs.lead_id <> pairs.other_lead_id
    on conflict (override_id) do nothing;
{% endmacro %}
