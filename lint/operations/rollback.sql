{% set references = [{'relation': '"public"."Conversation"', 'qualified_name': '"public"."Conversation"', 'table': 'Conversation', 'column': 'customer_id', 'column_name': 'customer_id', 'delete_action': 'n', 'has_id': true, 'row_id': 'id::text'}] %}
{{ rollback_plan(['00000000-0000-0000-0000-000000000001'], references, false, true) }}
{{ rollback_writes(['00000000-0000-0000-0000-000000000001'], references, false) }}
