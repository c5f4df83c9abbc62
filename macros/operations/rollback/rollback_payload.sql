{% macro rollback_payload(run_ids, force, done_table) -%}
    {#- SQL jsonb expression: what a rollback did (`done_table`: backfill_rollback_done)
        or would do (backfill_rollback_actions), its kept customers and runs - the
        payload of its Audit row, and what its dry run prints. -#}
    jsonb_build_object(
        'rollbackId', {{ dbt.string_literal(invocation_id) }},
        'mode', 'rollback',
        'runIds', to_jsonb({{ sql_text_array(run_ids) }}),
        'force', {{ 'true' if force else 'false' }},
        'stats', (
            select jsonb_build_object(
                'customersDeleted', count(*) filter (where object_type = 'customer' and undo_action = 'delete'),
                'customersRestored', count(*) filter (where object_type = 'customer' and undo_action = 'restore'),
                'leadsUnlinked', count(*) filter (where object_type = 'lead' and undo_action = 'unlink'),
                'jobsUnlinked', count(*) filter (where object_type = 'job' and undo_action = 'unlink'),
                'addressesDeleted', count(*) filter (where object_type = 'customer_address' and undo_action = 'delete'),
                'rowsMovedBack', count(*) filter (where undo_action = 'move_back'),
                'customersKept', (select count(distinct customer_id) from backfill_rollback_blockers),
                'entriesRolledBack', (select count(*) from backfill_rollback_undone_entries)
            )
            from (
                {% if done_table == 'backfill_rollback_done' %}
                    select object_type, undo_action from backfill_rollback_done
                {% else %}
                    select
                        object_type,
                        case
                            when undo_action = 'relink' and target_customer_id is null then 'unlink'
                            when undo_action = 'relink' then 'move_back'
                            else undo_action
                        end as undo_action
                    from backfill_rollback_actions
                {% endif %}
            ) as changes
        ),
        'keptCustomers', (
            select coalesce(jsonb_agg(kept order by kept.customer_id), '[]'::jsonb)
            from (
                select
                    customer_id,
                    jsonb_agg(
                        jsonb_build_object('reason', reason, 'count', object_count, 'example', example)
                        order by reason
                    ) as reasons
                from backfill_rollback_blockers
                group by customer_id
                order by customer_id
                limit 1000
            ) as kept
        )
    )
{%- endmacro %}
