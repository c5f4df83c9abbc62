{% macro insert_audit_row(action, payload, condition='true') -%}
    {#- SQL: the one Audit row a write path adds, in its transaction - the only place
        that writes to "Audit". `payload` (a jsonb expression) gets the keys every
        row of this project has: invocationId (the run or operation id), createdBy,
        dbtVersion and changes (what the invocation changed, counted from the ledger
        in the same transaction). Added only where `condition` holds. -#}
    insert into {{ source('app', 'audit') }} (id, lead_id, actor, action, payload, created_at)
    select
        gen_random_uuid(),
        null,
        'system',
        {{ dbt.string_literal(action) }},
        ({{ payload }}) || jsonb_build_object(
            'invocationId', {{ dbt.string_literal(invocation_id) }},
            'createdBy', {{ dbt.string_literal(var('created_by')) }},
            'dbtVersion', {{ dbt.string_literal(dbt_version) }},
            'changes', ({{ changes_of_this_invocation() }})
        ),
        now()
    where {{ condition }};
{%- endmacro %}


{% macro changes_of_this_invocation() -%}
    {#- SQL jsonb expression: this invocation's ledger entries counted by table and
        change, e.g. {"Lead": {"move": 2}, "Customer": {"delete": 1}}. A build that
        found its inputs unchanged wrote none, and does not scan the ledger for them. -#}
    {% if is_unchanged_build() %}
    select '{}'::jsonb
    {% else %}
    select coalesce(jsonb_object_agg(table_name, by_change), '{}'::jsonb)
    from (
        select
            table_name,
            jsonb_object_agg(change_type, change_count) as by_change
        from (
            select
                {{ ledger_table_name() }} as table_name,
                change_type,
                count(*) as change_count
            from {{ ref('backfill_ledger') }} as ledger
            where ledger.run_id = {{ dbt.string_literal(invocation_id) }}
            group by 1, 2
        ) as counted
        group by table_name
    ) as by_table
    {% endif %}
{%- endmacro %}


{% macro ledger_table_name(ledger='ledger') -%}
    {#- SQL expression: the app table a ledger entry's row is in ("Lead", "Conversation"...). -#}
    case {{ ledger }}.object_type
        when 'customer' then 'Customer'
        when 'customer_address' then 'CustomerAddress'
        when 'lead' then 'Lead'
        when 'job' then 'Job'
        else regexp_replace({{ ledger }}.object_table, '^.*\."?([^"]*)"?$', '\1')
    end
{%- endmacro %}


{% macro read_back_audit_payload(action) %}
    {#- The payload of this invocation's Audit row (action `action`) as a dict, or none
        when the invocation wrote none: what an operation prints is read back from
        the row its transaction committed. -#}
    {% set found = run_query(
        'select payload::text from ' ~ source('app', 'audit')
        ~ ' where action = ' ~ dbt.string_literal(action)
        ~ " and payload ->> 'invocationId' = " ~ dbt.string_literal(invocation_id)
    ) %}
    {% if found.rows | length == 0 %}
        {{ return(none) }}
    {% endif %}
    {{ return(fromjson(found.rows[0][0])) }}
{% endmacro %}
