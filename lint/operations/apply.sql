{{ begin_backfill_transaction() }}
{{ apply_backfill_plan() }}
{{ insert_backfill_audit_row() }}
