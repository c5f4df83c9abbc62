{% macro link_lead(lead_id=none, customer_id=none, dry_run=false) %}
    {#- dbt run-operation link_lead: links a lead that has no customer (and its jobs that
        have none) to a customer a person chose - an existing one, or `new`: a customer
        of its own, made as the backfill makes one. For a conflict the rules cannot
        decide (resolve_conflicts prints the command). One transaction under the
        backfill lock, audited, every change in the ledger (a rollback undoes it).
        See docs/operations.md. -#}
    {% set operation = 'link_lead' %}
    {% set usage = '{lead_id: <lead id>, customer_id: <customer id, or new>}' %}
    {% set lead_id = uuid_argument(operation, 'lead_id', lead_id, usage) %}
    {% set is_new = (customer_id | string | trim | lower) == 'new' %}
    {% set customer_id = none if is_new else uuid_argument(operation, 'customer_id', customer_id, usage) %}
    {% set dry_run = boolean_argument(operation, 'dry_run', dry_run) %}
    {% do require_backfill_relations(operation, ['backfill_ledger']) %}
    {% if not is_new %}
        {% do require_existing_customers(operation, {'customer_id': customer_id}) %}
    {% endif %}
    {% set lead = run_query(
        'select customer_id::text from ' ~ source('app', 'lead') ~ ' where id = ' ~ dbt.string_literal(lead_id) ~ '::uuid'
    ) %}
    {% if lead.rows | length == 0 %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": lead " ~ lead_id ~ " does not exist; nothing was changed"
        ) %}
    {% elif lead.rows[0][0] is not none %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": lead " ~ lead_id ~ " already belongs to customer " ~ lead.rows[0][0]
            ~ "; nothing was changed. To move it, split it off (split_customer) or merge the customers"
            ~ " (merge_customers)."
        ) %}
    {% endif %}

    {% set plan = link_lead_plan(lead_id, customer_id, is_new) %}
    {% set summary_sql %}
        select jsonb_build_object(
            'customerId', (select customer_id from backfill_link_customer),
            'customerExists', exists (
                select 1 from {{ source('app', 'customer') }} as customers
                where customers.id = (select customer_id from backfill_link_customer)
            ),
            'leads', (select count(*) from backfill_link_leads),
            'jobs', (select count(*) from backfill_link_jobs),
            'addresses', (select count(*) from backfill_link_addresses)
        )::text
    {% endset %}
    {% set preview = fromjson(preview_atomically(plan, summary_sql).rows[0][0]) %}
    {% if is_new and preview['customerExists'] %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": the new customer's id " ~ preview['customerId'] ~ " (derived from the lead) is"
            ~ " taken by an existing customer; link the lead to it instead: --args '{lead_id: " ~ lead_id
            ~ ", customer_id: " ~ preview['customerId'] ~ "}'. Nothing was changed."
        ) %}
    {% endif %}

    {% if dry_run %}
        {% set done = preview %}
    {% else %}
        {% do run_atomically(operation, plan ~ link_lead_writes(lead_id, is_new)
            ~ insert_audit_row('backfill_customers_link', link_payload(lead_id))) %}
        {% set done = read_back_audit_payload('backfill_customers_link') %}
    {% endif %}
    {{ print_banner('🔍 LINK DRY RUN (nothing was changed)' if dry_run
        else '🔗 LEAD LINKED   operation ' ~ invocation_id) }}
    {% do print('Lead ' ~ lead_id ~ (' would be' if dry_run else ' was') ~ ' linked to '
        ~ ('a new customer ' if is_new else 'customer ') ~ done['customerId']) %}
    {{ print_counts([
        ('Leads linked:', done['leads']),
        ('Jobs linked:', done['jobs']),
        ('Addresses created:', done['addresses']),
    ]) }}
    {% do print('') %}
{% endmacro %}


{% macro link_lead_plan(lead_id, customer_id, is_new) %}
    {#- SQL statements: what link_lead does, as temporary tables - the lead (if it still
        has no customer), the customer (the chosen one, or a new one made from the lead
        as a run makes one), its jobs without a customer and the address it brings. -#}
    create temp table backfill_link_leads on commit drop as
    {{ live_leads_for_a_new_customer(
        'id = ' ~ dbt.string_literal(lead_id) ~ '::uuid and customer_id is null'
    ) }};
    create temp table backfill_link_customer on commit drop as
    {% if is_new %}
        {{ new_customer_from_leads('backfill_link_leads') }};
    {% else %}
        select {{ dbt.string_literal(customer_id) }}::uuid as customer_id;
    {% endif %}
    create temp table backfill_link_jobs on commit drop as
    select jobs.id as job_id
    from {{ source('app', 'job') }} as jobs
    where jobs.lead_id = {{ dbt.string_literal(lead_id) }}::uuid and jobs.customer_id is null;
    create temp table backfill_link_addresses on commit drop as
    {{ new_customer_addresses('backfill_link_leads', 'backfill_link_customer') }};
{% endmacro %}


{% macro link_lead_writes(lead_id, is_new) %}
    {#- SQL statements, after link_lead's plan in the same transaction: its writes, each
        recorded in the ledger (a rollback unlinks the lead and its jobs again). -#}
    select id from {{ source('app', 'lead') }} where id = {{ dbt.string_literal(lead_id) }}::uuid for update;

    do $backfill_link$
    begin
        if (select count(*) from backfill_link_leads) <> 1 then
            raise exception using
                message = 'link_lead stopped without changing anything: the lead got a customer meanwhile';
        end if;
    end
    $backfill_link$;

    {% if is_new %}
        {{ insert_new_customers('backfill_link_customer', "jsonb_build_object('groupType', 'linked_by_hand')") }}
    {% endif %}

    {% for object_type, relation, rows in [
        ('lead', source('app', 'lead'), 'select lead_id as id from backfill_link_leads'),
        ('job', source('app', 'job'), 'select job_id as id from backfill_link_jobs'),
    ] %}
        with written as (
            update {{ relation }} as linked_rows
            set customer_id = (select customer_id from backfill_link_customer)
            where
                linked_rows.id in ({{ rows }})
                and linked_rows.customer_id is null
            returning linked_rows.id, linked_rows.customer_id
        )
        {{ record_changes(object_type, 'link') }};
    {% endfor %}

    {{ insert_new_addresses('backfill_link_addresses') }}
{% endmacro %}


{% macro link_payload(lead_id) -%}
    {#- SQL jsonb expression: the Audit payload of link_lead (after its writes). -#}
    jsonb_build_object(
        'operationId', {{ dbt.string_literal(invocation_id) }},
        'operation', 'link_lead',
        'leadId', {{ dbt.string_literal(lead_id) }},
        'customerId', (select customer_id from backfill_link_customer),
        {% for key, object_type in [('leads', 'lead'), ('jobs', 'job'), ('addresses', 'customer_address')] %}
            '{{ key }}', (
                select count(*) from {{ ref('backfill_ledger') }}
                where
                    run_id = {{ dbt.string_literal(invocation_id) }}
                    and object_type = '{{ object_type }}'
            ){{ ',' if not loop.last }}
        {% endfor %}
    )
{%- endmacro %}
