{% macro merge_customers(into=none, from=none, dry_run=false) %}
    {#- dbt run-operation merge_customers: moves every lead, job, address and other app row
        of customer `from` to customer `into`, fills what `into` lacks (name, phone,
        e-mail), then deletes `from`; one transaction under the backfill lock, audited,
        every change in the ledger (a rollback undoes it). See docs/operations.md. -#}
    {% set operation = 'merge_customers' %}
    {% set usage = '{into: <customer id that stays>, from: <customer id merged into it and deleted>}' %}
    {% set into_id = uuid_argument(operation, 'into', into, usage) %}
    {% set from_id = uuid_argument(operation, 'from', from, usage) %}
    {% set dry_run = boolean_argument(operation, 'dry_run', dry_run) %}
    {% if into_id == from_id %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": into and from are the same customer (" ~ into_id ~ "); there is nothing to"
            ~ " merge and nothing was changed"
        ) %}
    {% endif %}
    {% do require_backfill_relations(operation, ['backfill_ledger', 'manual_overrides']) %}
    {% do require_existing_customers(operation, {'into': into_id, 'from': from_id}) %}
    {% set references = movable_customer_references(operation) %}

    {% set plan %}
        create temp table backfill_merge_pairs on commit drop as
        select
            {{ dbt.string_literal(from_id) }}::uuid as from_id,
            {{ dbt.string_literal(into_id) }}::uuid as into_id,
            'merge_customers' as reason;
        {{ merge_customer_pairs_plan(references) }}
    {% endset %}
    {% if dry_run %}
        {% set moved = fromjson(preview_atomically(plan, 'select (' ~ merge_moved_counts() ~ ')::text').rows[0][0]) %}
        {% set headline = '🔍 MERGE DRY RUN (nothing was changed)' %}
    {% else %}
        {% do run_atomically(operation,
            plan ~ merge_customer_pairs_writes(references, operation)
            ~ insert_audit_row('backfill_customers_merge', merge_payload(into_id, from_id))
        ) %}
        {% set moved = read_back_audit_payload('backfill_customers_merge')['moved'] %}
        {% set headline = '🔀 CUSTOMERS MERGED   operation ' ~ invocation_id %}
    {% endif %}
    {{ print_banner(headline) }}
    {% do print('Customer ' ~ from_id ~ (' would be' if dry_run else ' was') ~ ' merged into ' ~ into_id
        ~ ' and deleted. ' ~ ('Would move:' if dry_run else 'Moved:')) %}
    {% set lines = [] %}
    {% for table in ['Lead', 'Job', 'CustomerAddress'] + references | map(attribute='table') | list %}
        {% do lines.append(('"' ~ table ~ '" rows:', moved.get(table, 0))) %}
    {% endfor %}
    {{ print_counts(lines) }}
    {% do print('') %}
{% endmacro %}


{% macro merge_payload(into_id, from_id) -%}
    {#- SQL jsonb expression: the Audit payload of a merge (after its writes). -#}
    jsonb_build_object(
        'operationId', {{ dbt.string_literal(invocation_id) }},
        'operation', 'merge_customers',
        'into', {{ dbt.string_literal(into_id) }},
        'from', {{ dbt.string_literal(from_id) }},
        'moved', ({{ merge_moved_counts(moves_of_this_invocation()) }}),
        'deletedCustomer', (
            select ledger.before_values from {{ ref('backfill_ledger') }} as ledger
            where
                ledger.run_id = {{ dbt.string_literal(invocation_id) }}
                and ledger.object_type = 'customer'
                and ledger.change_type = 'delete'
            limit 1
        )
    )
{%- endmacro %}


{% macro moves_of_this_invocation() -%}
    {#- SQL: this invocation's move entries in the ledger, as a parenthesized relation. -#}
    (
        select object_type, object_table
        from {{ ref('backfill_ledger') }}
        where run_id = {{ dbt.string_literal(invocation_id) }} and change_type = 'move'
    )
{%- endmacro %}


{% macro movable_customer_references(operation) %}
    {#- customer_references(), for an operation that moves rows between customers: every
        such table needs a uuid `id` column for the ledger to record a move (and a
        rollback to undo it); one without stops the operation with a message. -#}
    {% set references = customer_references() %}
    {% for reference in references if not reference.has_id %}
        {% do exceptions.raise_compiler_error(
            operation ~ ': the table ' ~ reference.relation ~ ' points at customers but has no uuid id column,'
            ~ ' so a move of its rows could not be recorded (nor undone); nothing was changed'
        ) %}
    {% endfor %}
    {{ return(references) }}
{% endmacro %}


{% macro require_existing_customers(operation, customer_ids) %}
    {#- Stops the operation with a message naming each given customer id that does not exist. -#}
    {% set found = run_query(
        'select id::text from ' ~ source('app', 'customer')
        ~ ' where id in ' ~ sql_uuid_list(customer_ids.values() | list)
    ).columns[0].values() %}
    {% set missing = [] %}
    {% for name, customer_id in customer_ids.items() %}
        {% if customer_id not in found %}
            {% do missing.append(name ~ ' = ' ~ customer_id) %}
        {% endif %}
    {% endfor %}
    {% if missing %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": no such customer in " ~ source('app', 'customer') ~ ": " ~ missing | join(', ')
            ~ "; nothing was changed"
        ) %}
    {% endif %}
{% endmacro %}
