{% macro merge_customers(into=none, from=none, dry_run=false) %}
    {#- dbt run-operation merge_customers: moves every lead, job, address and other app row
        of customer `from` to customer `into`, then deletes `from`; one transaction under
        the backfill lock, audited, ledger kept exact. See README, "Manual corrections". -#}
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

    {% set references = customer_references() %}
    {% set preview = run_query(merge_preview_sql(into_id, from_id, references)) %}
    {% set counts = {} %}
    {% for row in preview.rows %}
        {% do counts.update({row['what']: row['row_count']}) %}
    {% endfor %}
    {% if dry_run %}
        {% set headline = '🔍 MERGE DRY RUN (nothing was changed)' %}
    {% else %}
        {% set headline = '🔀 CUSTOMERS MERGED   operation ' ~ invocation_id %}
        {% do run_atomically('merge_customers', merge_statements(into_id, from_id, references)) %}
        {% set moved = operation_moved_counts('backfill_customers_merge') %}
        {% for what in counts.keys() | list %}
            {% do counts.update({what: moved.get(what, 0)}) %}
        {% endfor %}
    {% endif %}
    {% do print('') %}
    {% do print('═' * 63) %}
    {% do print(headline) %}
    {% do print('═' * 63) %}
    {% do print('Customer ' ~ from_id ~ (' would be' if dry_run else ' was') ~ ' merged into ' ~ into_id
        ~ ' and deleted. ' ~ ('Would move:' if dry_run else 'Moved:')) %}
    {% for what, row_count in counts.items() %}
        {% do print('   ' ~ '%-24s' | format('"' ~ what ~ '" rows:') ~ row_count) %}
    {% endfor %}
    {% do print('') %}
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


{% macro merge_preview_sql(into_id, from_id, references) %}
    {#- SQL: one row per kind of row the merge moves from `from` to `into`, with its count. -#}
    {% set from_literal = dbt.string_literal(from_id) ~ '::uuid' %}
    select 'Lead' as what, count(*) as row_count
    from {{ source('app', 'lead') }} where customer_id = {{ from_literal }}
    union all
    select 'Job', count(*)
    from {{ source('app', 'job') }} where customer_id = {{ from_literal }}
    union all
    select 'CustomerAddress', count(*)
    from {{ source('app', 'customer_address') }} where customer_id = {{ from_literal }}
    {% for reference in references %}
        union all
        select {{ dbt.string_literal(reference.table) }}, count(*)
        from {{ reference.relation }} where {{ reference.column }} = {{ from_literal }}
    {% endfor %}
{% endmacro %}


{% macro merge_statements(into_id, from_id, references) %}
    {#- The merge's writes, for run_atomically. The ledger follows the rows: entries that
        linked a lead or job to `from`, or created an address for it, now name `into`
        (a later rollback still undoes them exactly); the entry that created `from`, if
        any, is marked as undone by this operation. A force_link override between the two
        customers' earliest leads keeps them together in later groupings. -#}
    {% set into_literal = dbt.string_literal(into_id) ~ '::uuid' %}
    {% set from_literal = dbt.string_literal(from_id) ~ '::uuid' %}
    {% set operation_id = dbt.string_literal(invocation_id) %}

    create temp table backfill_merge_pair on commit drop as
    select
        from_customer.id as from_id,
        into_customer.id as into_id,
        to_jsonb(from_customer) as from_row,
        (
            select leads.id from {{ source('app', 'lead') }} as leads
            where leads.customer_id = from_customer.id
            order by leads.created_at asc, leads.id asc
            limit 1
        ) as from_first_lead_id,
        (
            select leads.id from {{ source('app', 'lead') }} as leads
            where leads.customer_id = into_customer.id
            order by leads.created_at asc, leads.id asc
            limit 1
        ) as into_first_lead_id

    from {{ source('app', 'customer') }} as from_customer
    cross join {{ source('app', 'customer') }} as into_customer
    where
        from_customer.id = {{ from_literal }}
        and into_customer.id = {{ into_literal }}
    for update of from_customer, into_customer;

    do $backfill_merge$
    begin
        if not exists (select 1 from backfill_merge_pair) then
            raise exception using
                message = 'merge_customers stopped without changing anything: customer '
                    || {{ dbt.string_literal(into_id) }} || ' or ' || {{ dbt.string_literal(from_id) }}
                    || ' no longer exists';
        end if;
    end
    $backfill_merge$;

    create temp table backfill_merge_moved (
        what text not null,
        object_id text not null
    ) on commit drop;

    {% for what, table in [('Lead', source('app', 'lead')), ('Job', source('app', 'job'))] %}
        with moved as (
            update {{ table }}
            set customer_id = {{ into_literal }}
            where customer_id = {{ from_literal }}
            returning id
        )
        insert into backfill_merge_moved (what, object_id)
        select '{{ what }}', id::text from moved;
    {% endfor %}

    -- an address keeps its primary flag only when `into` has no primary address yet
    with moved as (
        update {{ source('app', 'customer_address') }} as addresses
        set
            customer_id = {{ into_literal }},
            is_primary = addresses.is_primary and not exists (
                select 1
                from {{ source('app', 'customer_address') }} as into_addresses
                where
                    into_addresses.customer_id = {{ into_literal }}
                    and into_addresses.is_primary
            )
        where addresses.customer_id = {{ from_literal }}
        returning addresses.id
    )
    insert into backfill_merge_moved (what, object_id)
    select 'CustomerAddress', id::text from moved;

    {% for reference in references %}
        with moved as (
            update {{ reference.relation }}
            set {{ reference.column }} = {{ into_literal }}
            where {{ reference.column }} = {{ from_literal }}
            returning {{ reference.row_id }} as object_id
        )
        insert into backfill_merge_moved (what, object_id)
        select {{ dbt.string_literal(reference.table) }}, object_id from moved;
    {% endfor %}

    update {{ ref('backfill_ledger') }}
    set customer_id = {{ into_literal }}
    where
        customer_id = {{ from_literal }}
        and object_type in ('lead', 'job', 'customer_address')
        and rolled_back_at is null;

    update {{ ref('backfill_ledger') }}
    set
        rolled_back_by_run_id = {{ operation_id }},
        rolled_back_at = now()
    where
        object_type = 'customer'
        and object_id = {{ from_literal }}
        and rolled_back_at is null;

    {{ insert_manual_overrides(
        'force_link',
        'select from_first_lead_id as lead_id, into_first_lead_id as other_lead_id'
        ~ ' from backfill_merge_pair'
        ~ ' where from_first_lead_id is not null and into_first_lead_id is not null',
        'merge_customers: ' ~ from_id ~ ' merged into ' ~ into_id,
    ) }}

    delete from {{ source('app', 'customer') }}
    where id = {{ from_literal }};

    insert into {{ source('app', 'audit') }} (id, lead_id, actor, action, payload, created_at)
    select
        gen_random_uuid(),
        null,
        'system',
        'backfill_customers_merge',
        jsonb_build_object(
            'operationId', {{ operation_id }},
            'operation', 'merge_customers',
            'into', {{ dbt.string_literal(into_id) }},
            'from', {{ dbt.string_literal(from_id) }},
            'moved', (
                select coalesce(jsonb_object_agg(what, moved_count), '{}'::jsonb)
                from (
                    select what, count(*) as moved_count
                    from backfill_merge_moved
                    group by what
                ) as moved_counts
            ),
            'deletedCustomer', (select from_row from backfill_merge_pair),
            'createdBy', {{ dbt.string_literal(var('created_by')) }},
            'dbtVersion', {{ dbt.string_literal(dbt_version) }}
        ),
        now();
{% endmacro %}


{% macro insert_manual_overrides(override_type, pairs_sql, reason) %}
    {#- SQL: records lead pairs (a select of lead_id, other_lead_id) in manual_overrides as
        `override_type`, each pair once, in a stable order; a pair recorded before stays. -#}
    insert into {{ ref('manual_overrides') }}
        (override_id, override_type, lead_id, other_lead_id, reason, recorded_by, created_at)
    select distinct
        '{{ override_type }}:' || least(pairs.lead_id, pairs.other_lead_id)::text
        || ':' || greatest(pairs.lead_id, pairs.other_lead_id)::text,
        '{{ override_type }}',
        least(pairs.lead_id, pairs.other_lead_id),
        greatest(pairs.lead_id, pairs.other_lead_id),
        {{ dbt.string_literal(reason) }},
        {{ dbt.string_literal('customer-backfill operation ' ~ invocation_id) }},
        now()
    from ({{ pairs_sql }}) as pairs
    where pairs.lead_id <> pairs.other_lead_id
    on conflict (override_id) do nothing;
{% endmacro %}


{% macro operation_moved_counts(action) %}
    {#- The `moved` counts of this invocation's Audit row (action `action`), as a dict. -#}
    {% set moved = run_query(
        "select moved.key, moved.value::int from " ~ source('app', 'audit') ~ " as audit_rows"
        ~ " cross join jsonb_each_text(audit_rows.payload -> 'moved') as moved"
        ~ " where audit_rows.action = " ~ dbt.string_literal(action)
        ~ " and audit_rows.payload ->> 'operationId' = " ~ dbt.string_literal(invocation_id)
    ) %}
    {% set counts = {} %}
    {% for row in moved.rows %}
        {% do counts.update({row[0]: row[1]}) %}
    {% endfor %}
    {{ return(counts) }}
{% endmacro %}
