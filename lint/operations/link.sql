{{ link_lead_plan('00000000-0000-0000-0000-000000000001', none, true) }}
{{ link_lead_writes('00000000-0000-0000-0000-000000000001', true) }}
{{ insert_audit_row('backfill_customers_link', link_payload('00000000-0000-0000-0000-000000000001')) }}
