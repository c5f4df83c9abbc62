{#-
    Junk rejection, before any matching: each distinct identifier value the nodes of
    this run carry, how many leads (all of them) carry it, and whether it may link
    leads. A value is rejected by a built-in pattern (macro identifier_rejection_reason), by the
    `identifier_blocklist` seed, or because more leads carry it than the cap
    (var identity_max_leads_per_value): a suspected placeholder.
-#}
{{ config(
    indexes=[{'columns': ['identifier_type', 'identifier_value'], 'unique': true}],
) }}


with

node_identifiers as (

    select * from {{ ref('int_node_identifiers') }}

),

identifiers as (

    select * from {{ ref('int_identifiers_of_leads_and_customers') }}

),

blocklist as (

    select * from {{ ref('identifier_blocklist') }}

),

values_in_scope as (

    select distinct
        identifier_type,
        identifier_value

    from node_identifiers

),

-- counted over every lead and customer, whichever this run resolves
value_counts as (

    select
        values_in_scope.identifier_type,
        values_in_scope.identifier_value,
        count(*) filter (where identifiers.owner_type = 'lead') as lead_count,
        count(*) filter (where identifiers.owner_type = 'customer') as customer_count

    from values_in_scope
    inner join identifiers
        on
            values_in_scope.identifier_type = identifiers.identifier_type
            and values_in_scope.identifier_value = identifiers.identifier_value
    group by 1, 2

),

blocklist_normalized as (

    select
        lower(btrim(blocklist.identifier_type)) as identifier_type,
        lower(btrim(blocklist.match_kind)) as match_kind,
        case lower(btrim(blocklist.identifier_type))
            when 'phone' then {{ normalize_phone('blocklist.pattern') }}
            when 'email' then {{ normalize_email('blocklist.pattern') }}
            when 'address' then {{ address_street_words(address_street_line(address_without_unit('lower(blocklist.pattern)'))) }}
            else {{ normalize_psid('blocklist.pattern') }}
        end as normalized_value,
        btrim(blocklist.pattern) as pattern,
        coalesce(nullif(btrim(blocklist.reason), ''), 'listed in identifier_blocklist') as reason

    from blocklist
    where blocklist.pattern is not null

),

blocklist_matches as (

    -- exact values (written as users see them, normalized like the leads'), e-mail
    -- domains and local parts: equality joins; regular expressions: tested one by one
    select
        value_counts.identifier_type,
        value_counts.identifier_value,
        blocklist_normalized.reason

    from value_counts
    inner join blocklist_normalized
        on
            value_counts.identifier_type = blocklist_normalized.identifier_type
            and value_counts.identifier_value = blocklist_normalized.normalized_value
    where
        blocklist_normalized.match_kind = 'value'
        and blocklist_normalized.identifier_type <> 'address'

    union all

    -- an address: its street line, in any locality and with any unit
    select
        value_counts.identifier_type,
        value_counts.identifier_value,
        blocklist_normalized.reason

    from value_counts
    inner join blocklist_normalized
        on
            value_counts.identifier_type = blocklist_normalized.identifier_type
            and regexp_replace(split_part(value_counts.identifier_value, '|', 1), ' unit [a-z0-9]+$', '')
            = blocklist_normalized.normalized_value
    where
        blocklist_normalized.match_kind = 'value'
        and blocklist_normalized.identifier_type = 'address'

    union all

    select
        value_counts.identifier_type,
        value_counts.identifier_value,
        blocklist_normalized.reason

    from value_counts
    inner join blocklist_normalized
        on
            value_counts.identifier_type = blocklist_normalized.identifier_type
            and split_part(value_counts.identifier_value, '@', 2) = lower(blocklist_normalized.pattern)
    where blocklist_normalized.match_kind = 'email_domain'

    union all

    select
        value_counts.identifier_type,
        value_counts.identifier_value,
        blocklist_normalized.reason

    from value_counts
    inner join blocklist_normalized
        on
            value_counts.identifier_type = blocklist_normalized.identifier_type
            and split_part(value_counts.identifier_value, '@', 1) = lower(blocklist_normalized.pattern)
    where blocklist_normalized.match_kind = 'email_local_part'

    union all

    select
        value_counts.identifier_type,
        value_counts.identifier_value,
        blocklist_normalized.reason

    from value_counts
    inner join blocklist_normalized
        on
            value_counts.identifier_type = blocklist_normalized.identifier_type
            and value_counts.identifier_value ~ blocklist_normalized.pattern
    where blocklist_normalized.match_kind = 'regex'

),

blocklisted_values as (

    select
        identifier_type,
        identifier_value,
        min(reason) as reason

    from blocklist_matches
    group by 1, 2

),

-- materialized: final reads builtin_reason in three columns, and inlined, the rules
-- of identifier_rejection_reason ran once per reference (measured at 300k leads: this
-- model's query took 2.7-4.1 s inlined, 2.0-2.2 s materialized)
screened as materialized (

    select
        value_counts.identifier_type,
        value_counts.identifier_value,
        value_counts.lead_count,
        value_counts.customer_count,
        {{ identity_lead_cap_of('value_counts.identifier_type') }} as lead_cap,
        {{ identifier_rejection_reason(
            'value_counts.identifier_type', 'value_counts.identifier_value'
        ) }} as builtin_reason,
        blocklisted_values.reason as blocklist_reason

    from value_counts
    left join blocklisted_values
        on
            value_counts.identifier_type = blocklisted_values.identifier_type
            and value_counts.identifier_value = blocklisted_values.identifier_value

),

final as (

    select
        identifier_type,
        identifier_value,
        lead_count,
        customer_count,
        lead_cap,
        case
            when builtin_reason is not null then builtin_reason
            when blocklist_reason is not null then 'blocklist: ' || blocklist_reason
            when lead_count > lead_cap then 'suspected_placeholder_over_cap'
        end as rejection_reason,
        builtin_reason is null
        and blocklist_reason is null
        and lead_count <= lead_cap as is_usable_for_linking,
        (builtin_reason is null or builtin_reason = 'email_role_address')
        and blocklist_reason is null
        and lead_count <= lead_cap as is_usable_as_attribute

    from screened

)

select * from final
