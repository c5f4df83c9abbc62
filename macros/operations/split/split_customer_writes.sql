{% macro split_writes(customer_id, lead_ids, new_customer_id) %}
    {#- SQL statements, after split_plan in the same transaction: the split's writes,
        each recorded in the ledger (a rollback moves the rows back and deletes the new
        customer). Overrides: do_not_link for every (moved lead, remaining lead) pair,
        replacing a force_link recorded for the same pair. -#}
    {% set customer_literal = dbt.string_literal(customer_id) ~ '::uuid' %}
    select id from {{ source('app', 'customer') }} where id = {{ customer_literal }} for update;
    select id from {{ source('app', 'lead') }} where id in {{ sql_uuid_list(lead_ids) }} for update;

    do $backfill_split$
    begin
        if (select count(*) from backfill_split_leads) <> {{ lead_ids | length }} then
            raise exception using
                message = 'split_customer stopped without changing anything: the leads no longer all'
                    || ' belong to customer ' || {{ dbt.string_literal(customer_id) }};
        end if;
        if (select customer_id from backfill_split_customer) <> {{ dbt.string_literal(new_customer_id) }}::uuid
        then
            raise exception using
                message = 'split_customer stopped without changing anything: the new customer id '
                    || {{ dbt.string_literal(new_customer_id) }} || ' changed since it was checked';
        end if;
    end
    $backfill_split$;

    {{ insert_new_customers(
        'backfill_split_customer',
        "jsonb_build_object('groupType', 'split', 'splitFrom', " ~ dbt.string_literal(customer_id) ~ ")",
    ) }}
    {{ move_rows('lead', source('app', 'lead'), "select * from backfill_split_moves where object_type = 'lead'") }}
    {{ move_rows('job', source('app', 'job'), "select * from backfill_split_moves where object_type = 'job'") }}
    {{ insert_new_addresses('backfill_split_addresses') }}

    delete from {{ ref('manual_overrides') }} as overrides
    using backfill_split_pairs as pairs
    where
        overrides.override_type = 'force_link'
        and overrides.lead_id = least(pairs.lead_id, pairs.other_lead_id)
        and overrides.other_lead_id = greatest(pairs.lead_id, pairs.other_lead_id);

    {{ insert_manual_overrides(
        'do_not_link',
        'select lead_id, other_lead_id from backfill_split_pairs',
        'split_customer: leads split off customer ' ~ customer_id ~ ' into ' ~ new_customer_id,
    ) }}
{% endmacro %}


{% macro split_payload(customer_id, lead_ids) -%}
    {#- SQL jsonb expression: the Audit payload of a split (after its writes) - the plan's
        summary, with what was moved and created counted from the ledger. -#}
    ({{ split_summary() }}) || jsonb_build_object(
        'operationId', {{ dbt.string_literal(invocation_id) }},
        'operation', 'split_customer',
        'customerId', {{ dbt.string_literal(customer_id) }},
        'leadIds', to_jsonb({{ sql_text_array(lead_ids) }}),
        'moved', ({{ merge_moved_counts(moves_of_this_invocation()) }}) || jsonb_build_object(
            'CustomerAddress', (
                select count(*) from {{ ref('backfill_ledger') }}
                where
                    run_id = {{ dbt.string_literal(invocation_id) }}
                    and object_type = 'customer_address'
            ),
            'do_not_link pairs', (select count(*) from backfill_split_pairs)
        )
    )
{%- endmacro %}
