{% set references = [{'relation': '"public"."Conversation"', 'qualified_name': '"public"."Conversation"', 'table': 'Conversation', 'column': 'customer_id', 'column_name': 'customer_id', 'delete_action': 'n', 'has_id': true, 'row_id': 'id::text'}] %}
{{ resolve_conflicts_plan(references) }}
{{ merge_customer_pairs_writes(references, 'resolve_conflicts') }}
{{ insert_audit_row('backfill_customers_resolve', resolve_payload()) }}
