{% set references = [{'relation': '"public"."Conversation"', 'qualified_name': '"public"."Conversation"', 'table': 'Conversation', 'column': 'customer_id', 'column_name': 'customer_id', 'delete_action': 'n', 'has_id': true, 'row_id': 'id::text'}] %}
create temp table backfill_merge_pairs on commit drop as
select
    '00000000-0000-0000-0000-000000000001'::uuid as from_id,
    '00000000-0000-0000-0000-000000000002'::uuid as into_id,
    'merge_customers' as reason;
{{ merge_customer_pairs_plan(references) }}
{{ merge_customer_pairs_writes(references, 'merge_customers') }}
{{ insert_audit_row('backfill_customers_merge', merge_payload('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001')) }}
