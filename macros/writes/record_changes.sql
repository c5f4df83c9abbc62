{% macro record_changes(
    object_type,
    change_type,
    previous_customer_id='null::uuid',
    before_values='null::jsonb',
    after_values='null::jsonb',
    reference=none
) -%}
    {#- SQL fragment, after a CTE `written` (a data-modifying statement's RETURNING, with
        the columns `id` and `customer_id`): records each row it changed in
        backfill_ledger as one change of this invocation - what the rollback undoes and
        what the Audit row counts. Every write of every write path goes through here.
        All the rows of one statement share one change_sequence (a statement changes a
        row once), later statements get greater ones. `reference`: for a row of another
        table pointing at customers (object_type `reference`), the dict
        customer_references() gives for that table. -#}
    insert into {{ ref('backfill_ledger') }} (
        run_id,
        change_sequence,
        object_type,
        object_table,
        object_column,
        object_id,
        change_type,
        customer_id,
        previous_customer_id,
        before_values,
        after_values,
        recorded_at
    )
    select
        {{ dbt.string_literal(invocation_id) }},
        (select nextval({{ dbt.string_literal(ledger_sequence()) }}::regclass)),
        {{ dbt.string_literal(object_type) }},
        {{ dbt.string_literal(reference.qualified_name) if reference else 'null' }},
        {{ dbt.string_literal(reference.column_name) if reference else 'null' }},
        written.id,
        {{ dbt.string_literal(change_type) }},
        written.customer_id,
        {{ previous_customer_id }},
        {{ before_values }},
        {{ after_values }},
        now()
    from written
{%- endmacro %}


{% macro ledger_sequence() -%}
    {#- The sequence that orders the ledger's changes (one value per statement). -#}
    {{ adapter.quote(target.schema) }}.backfill_ledger_change_sequence
{%- endmacro %}
