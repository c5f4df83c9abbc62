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
