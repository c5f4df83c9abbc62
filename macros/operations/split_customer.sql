{% macro split_customer(customer_id=none, lead_ids=none, dry_run=false) %}
    {#- dbt run-operation split_customer: gives the listed leads of a customer a new
        customer of their own (with their jobs and addresses) and records do_not_link
        overrides so the next grouping keeps them apart; one transaction under the
        backfill lock, audited, every change in the ledger. See docs/operations.md. -#}
    {% set operation = 'split_customer' %}
    {% set usage = '{customer_id: <customer id>, lead_ids: [<lead id>, ...]}' %}
    {% set customer_id = uuid_argument(operation, 'customer_id', customer_id, usage) %}
    {% set lead_ids = uuid_list_argument(operation, 'lead_ids', lead_ids, usage) %}
    {% set dry_run = boolean_argument(operation, 'dry_run', dry_run) %}
    {% do require_backfill_relations(operation, ['backfill_ledger', 'manual_overrides']) %}
    {% do require_existing_customers(operation, {'customer_id': customer_id}) %}
    {% do require_leads_of_customer(customer_id, lead_ids) %}

    {% set plan = split_plan(customer_id, lead_ids) %}
    {% set preview = fromjson(preview_atomically(plan, 'select (' ~ split_summary() ~ ')::text').rows[0][0]) %}
    {% if preview['newCustomerExists'] %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": the new customer's id " ~ preview['newCustomerId'] ~ " (derived from its"
            ~ " earliest lead, " ~ preview['firstLeadId'] ~ ") is taken by an existing customer - the"
            ~ " one being split, whose id comes from that same lead. Split the other leads off instead:"
            ~ " --args '{customer_id: " ~ customer_id ~ ", lead_ids: [<the leads that should get a new"
            ~ " customer>]}' listing the leads of " ~ customer_id ~ " that are NOT in lead_ids now."
            ~ " Nothing was changed."
        ) %}
    {% endif %}

    {% if dry_run %}
        {% set summary = preview %}
        {% set headline = '🔍 SPLIT DRY RUN (nothing was changed)' %}
    {% else %}
        {% do run_atomically(operation,
            plan ~ split_writes(customer_id, lead_ids, preview['newCustomerId'])
            ~ insert_audit_row('backfill_customers_split', split_payload(customer_id, lead_ids))
        ) %}
        {% set summary = read_back_audit_payload('backfill_customers_split') %}
        {% set headline = '✂️  CUSTOMER SPLIT   operation ' ~ invocation_id %}
    {% endif %}
    {{ print_banner(headline) }}
    {% do print(('New customer (would be) ' if dry_run else 'New customer ') ~ summary['newCustomerId']
        ~ ' for ' ~ lead_ids | length ~ ' lead(s) of ' ~ customer_id
        ~ ' (name ' ~ (summary['name'] or '-') ~ ', phone ' ~ (summary['phone'] or '-')
        ~ ', e-mail ' ~ (summary['email'] or '-') ~ ')') %}
    {{ print_counts([
        ('Leads moved:', summary['moved'].get('Lead', 0)),
        ('Jobs moved:', summary['moved'].get('Job', 0)),
        ('Addresses created:', summary['moved'].get('CustomerAddress', 0)),
        ('do_not_link pairs:', summary['moved'].get('do_not_link pairs', 0)
            ~ '  (in ' ~ ref('manual_overrides') ~ ')'),
    ]) }}
    {% do print('') %}
{% endmacro %}


{% macro split_plan(customer_id, lead_ids) %}
    {#- SQL statements: what the split does, as temporary tables - the leads (read live
        from the app, normalized as staging does), the new customer they get (as the
        backfill makes one: new_customer_from_leads), the rows that move to it, its
        addresses and the do_not_link pairs. -#}
    {% set customer_literal = dbt.string_literal(customer_id) ~ '::uuid' %}
    create temp table backfill_split_leads on commit drop as
    {{ live_leads_for_a_new_customer(
        'id in ' ~ sql_uuid_list(lead_ids) ~ ' and customer_id = ' ~ customer_literal
    ) }};

    create temp table backfill_split_customer on commit drop as
    {{ new_customer_from_leads('backfill_split_leads') }};

    create temp table backfill_split_moves on commit drop as
    select
        'lead' as object_type,
        '' as object_table,
        leads.lead_id as object_id,
        {{ customer_literal }} as previous_customer_id,
        new_customer.customer_id,
        null::jsonb as before_values
    from backfill_split_leads as leads
    cross join backfill_split_customer as new_customer
    union all
    select
        'job' as object_type,
        '' as object_table,
        jobs.id as object_id,
        {{ customer_literal }} as previous_customer_id,
        new_customer.customer_id,
        null::jsonb as before_values
    from {{ source('app', 'job') }} as jobs
    cross join backfill_split_customer as new_customer
    where
        jobs.lead_id in (select backfill_split_leads.lead_id from backfill_split_leads)
        and jobs.customer_id = {{ customer_literal }};

    create temp table backfill_split_addresses on commit drop as
    {{ new_customer_addresses('backfill_split_leads', 'backfill_split_customer') }};

    create temp table backfill_split_pairs on commit drop as
    select
        backfill_split_leads.lead_id,
        remaining_leads.id as other_lead_id
    from backfill_split_leads
    cross join {{ source('app', 'lead') }} as remaining_leads
    where
        remaining_leads.customer_id = {{ customer_literal }}
        and remaining_leads.id not in (select backfill_split_leads.lead_id from backfill_split_leads);
{% endmacro %}


{% macro split_summary() -%}
    {#- SQL jsonb expression, from the split's plan: the new customer and what it moves
        or creates (`moved`: rows by table, and the do_not_link pairs). -#}
    select jsonb_build_object(
        'newCustomerId', new_customer.customer_id,
        'firstLeadId', new_customer.first_lead_id,
        'newCustomerExists', exists (
            select 1 from {{ source('app', 'customer') }} as customers
            where customers.id = new_customer.customer_id
        ),
        'name', new_customer.customer_name,
        'phone', new_customer.phone,
        'email', new_customer.email,
        'moved', ({{ merge_moved_counts('backfill_split_moves') }}) || jsonb_build_object(
            'CustomerAddress', (select count(*) from backfill_split_addresses),
            'do_not_link pairs', (select count(*) from backfill_split_pairs)
        )
    )
    from backfill_split_customer as new_customer
{%- endmacro %}


{% macro split_writes(customer_id, lead_ids, new_customer_id) %}
    {#- SQL statements, after split_plan in the same transaction: the split's writes,
        each recorded in the ledger (a rollback moves the rows back and deletes the new
        customer). Overrides: do_not_link for every (moved lead, remaining lead) pair,
        replacing a force_link recorded for the same pair. -#}
    {% set customer_literal = dbt.string_literal(customer_id) ~ '::uuid' %}
    select id from {{ source('app', 'customer') }} where id = {{ customer_literal }} for update;
    select id from {{ source('app', 'lead') }} where id in {{ sql_uuid_list(lead_ids) }} for update;

    do $backfill_split$
    begin
        if (select count(*) from backfill_split_leads) <> {{ lead_ids | length }} then
            raise exception using
                message = 'split_customer stopped without changing anything: the leads no longer all'
                    || ' belong to customer ' || {{ dbt.string_literal(customer_id) }};
        end if;
        if (select customer_id from backfill_split_customer) <> {{ dbt.string_literal(new_customer_id) }}::uuid
        then
            raise exception using
                message = 'split_customer stopped without changing anything: the new customer id '
                    || {{ dbt.string_literal(new_customer_id) }} || ' changed since it was checked';
        end if;
    end
    $backfill_split$;

    {{ insert_new_customers(
        'backfill_split_customer',
        "jsonb_build_object('groupType', 'split', 'splitFrom', " ~ dbt.string_literal(customer_id) ~ ")",
    ) }}
    {{ move_rows('lead', source('app', 'lead'), "select * from backfill_split_moves where object_type = 'lead'") }}
    {{ move_rows('job', source('app', 'job'), "select * from backfill_split_moves where object_type = 'job'") }}
    {{ insert_new_addresses('backfill_split_addresses') }}

    delete from {{ ref('manual_overrides') }} as overrides
    using backfill_split_pairs as pairs
    where
        overrides.override_type = 'force_link'
        and overrides.lead_id = least(pairs.lead_id, pairs.other_lead_id)
        and overrides.other_lead_id = greatest(pairs.lead_id, pairs.other_lead_id);

    {{ insert_manual_overrides(
        'do_not_link',
        'select lead_id, other_lead_id from backfill_split_pairs',
        'split_customer: leads split off customer ' ~ customer_id ~ ' into ' ~ new_customer_id,
    ) }}
{% endmacro %}


{% macro split_payload(customer_id, lead_ids) -%}
    {#- SQL jsonb expression: the Audit payload of a split (after its writes) - the plan's
        summary, with what was moved and created counted from the ledger. -#}
    ({{ split_summary() }}) || jsonb_build_object(
        'operationId', {{ dbt.string_literal(invocation_id) }},
        'operation', 'split_customer',
        'customerId', {{ dbt.string_literal(customer_id) }},
        'leadIds', to_jsonb({{ sql_text_array(lead_ids) }}),
        'moved', ({{ merge_moved_counts(moves_of_this_invocation()) }}) || jsonb_build_object(
            'CustomerAddress', (
                select count(*) from {{ ref('backfill_ledger') }}
                where
                    run_id = {{ dbt.string_literal(invocation_id) }}
                    and object_type = 'customer_address'
            ),
            'do_not_link pairs', (select count(*) from backfill_split_pairs)
        )
    )
{%- endmacro %}


{% macro require_leads_of_customer(customer_id, lead_ids) %}
    {#- Stops split_customer with a message when a lead does not exist, is not the
        customer's, or when the leads are all the customer's leads. -#}
    {% set found = run_query(
        'select requested.lead_id::text, leads.id is not null as lead_exists, leads.customer_id::text'
        ~ ' from unnest(' ~ sql_text_array(lead_ids) ~ '::uuid[]) as requested (lead_id)'
        ~ ' left join ' ~ source('app', 'lead') ~ ' as leads on requested.lead_id = leads.id'
    ) %}
    {% set problems = [] %}
    {% for row in found.rows %}
        {% if not row[1] %}
            {% do problems.append('lead ' ~ row[0] ~ ' does not exist') %}
        {% elif row[2] is none %}
            {% do problems.append('lead ' ~ row[0] ~ ' has no customer') %}
        {% elif row[2] != customer_id %}
            {% do problems.append('lead ' ~ row[0] ~ ' belongs to customer ' ~ row[2]) %}
        {% endif %}
    {% endfor %}
    {% if problems %}
        {% do exceptions.raise_compiler_error(
            "split_customer: every lead in lead_ids must belong to customer " ~ customer_id
            ~ ", but:\n  - " ~ problems | join("\n  - ") ~ "\nNothing was changed."
        ) %}
    {% endif %}
    {% set remaining = run_query(
        'select count(*) from ' ~ source('app', 'lead') ~ ' where customer_id = '
        ~ dbt.string_literal(customer_id) ~ '::uuid and id not in ' ~ sql_uuid_list(lead_ids)
    ).columns[0].values()[0] %}
    {% if remaining == 0 %}
        {% do exceptions.raise_compiler_error(
            "split_customer: lead_ids lists every lead of customer " ~ customer_id ~ "; a split must leave"
            ~ " it at least one. (To move all of them to another customer, use merge_customers.)"
            ~ " Nothing was changed."
        ) %}
    {% endif %}
{% endmacro %}
