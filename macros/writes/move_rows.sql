{% macro move_rows(object_type, relation, moves, reference=none, extra_set=none) -%}
    {#- SQL: moves rows of `relation` from one customer to another and records each move
        in the ledger (previous and new customer, and `before_values`), so a rollback can
        move it back. `moves` is a select of (object_id, previous_customer_id,
        customer_id, before_values, ...); a row moves only while it still points at
        previous_customer_id. `object_type` is `lead`, `job`, `customer_address` or
        `reference` (then `reference` is the dict customer_references() gives for the
        table). `extra_set`: more assignments, which may read the columns of `moves`. -#}
    {%- set column = reference.column if reference else 'customer_id' %}
    with written as (
        update {{ relation }} as moved_rows
        set
            {{ column }} = moves.customer_id
            {%- if extra_set %},
            {{ extra_set }}
            {%- endif %}
        from ({{ moves }}) as moves
        where
            moved_rows.id = moves.object_id
            and moved_rows.{{ column }} = moves.previous_customer_id
        returning
            moved_rows.id,
            moves.customer_id,
            moves.previous_customer_id,
            moves.before_values
    )
    {{ record_changes(
        object_type,
        'move',
        previous_customer_id='written.previous_customer_id',
        before_values='written.before_values',
        reference=reference,
    ) }};
{%- endmacro %}
