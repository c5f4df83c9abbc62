{% macro split_customer(customer_id=none, lead_ids=none, dry_run=false) %}
    {#- dbt run-operation split_customer: gives the listed leads of a customer a new
        customer of their own (with their jobs and addresses) and records do_not_link
        overrides so the next grouping keeps them apart; one transaction under the
        backfill lock, audited, ledger kept exact. See README, "Manual corrections". -#}
    {% set operation = 'split_customer' %}
    {% set usage = '{customer_id: <customer id>, lead_ids: [<lead id>, ...]}' %}
    {% set customer_id = uuid_argument(operation, 'customer_id', customer_id, usage) %}
    {% set lead_ids = uuid_list_argument(operation, 'lead_ids', lead_ids, usage) %}
    {% set dry_run = boolean_argument(operation, 'dry_run', dry_run) %}
    {% do require_backfill_relations(operation, ['backfill_ledger', 'manual_overrides', 'stg_app__leads']) %}
    {% do require_existing_customers(operation, {'customer_id': customer_id}) %}
    {% do require_leads_of_customer(customer_id, lead_ids) %}

    {% set preview = run_query(split_preview_sql(customer_id, lead_ids)).rows[0] %}
    {% if preview['new_customer_exists'] %}
        {% do exceptions.raise_compiler_error(
            operation ~ ": the new customer's id " ~ preview['new_customer_id'] ~ " (derived from its"
            ~ " earliest lead, " ~ preview['first_lead_id'] ~ ") is taken by an existing customer - the"
            ~ " one being split, whose id comes from that same lead. Split the other leads off instead:"
            ~ " --args '{customer_id: " ~ customer_id ~ ", lead_ids: [<the leads that should get a new"
            ~ " customer>]}' listing the leads of " ~ customer_id ~ " that are NOT in lead_ids now."
            ~ " Nothing was changed."
        ) %}
    {% endif %}

    {% set counts = {
        'Lead': preview['leads_moved'],
        'Job': preview['jobs_moved'],
        'CustomerAddress': preview['addresses_created'],
        'do_not_link pairs': preview['do_not_link_pairs'],
    } %}
    {% if dry_run %}
        {% set headline = '🔍 SPLIT DRY RUN (nothing was changed)' %}
    {% else %}
        {% set headline = '✂️  CUSTOMER SPLIT   operation ' ~ invocation_id %}
        {% do run_atomically('split_customer', split_statements(customer_id, lead_ids, preview['new_customer_id'])) %}
        {% set done = operation_moved_counts('backfill_customers_split') %}
        {% for what in counts.keys() | list %}
            {% do counts.update({what: done.get(what, 0)}) %}
        {% endfor %}
    {% endif %}
    {% do print('') %}
    {% do print('═' * 63) %}
    {% do print(headline) %}
    {% do print('═' * 63) %}
    {% do print(('New customer (would be) ' if dry_run else 'New customer ') ~ preview['new_customer_id']
        ~ ' for ' ~ lead_ids | length ~ ' lead(s) of ' ~ customer_id
        ~ ' (name ' ~ (preview['customer_name'] or '-') ~ ', phone ' ~ (preview['phone'] or '-')
        ~ ', e-mail ' ~ (preview['email'] or '-') ~ ')') %}
    {% do print('   ' ~ '%-24s' | format('Leads moved:') ~ counts['Lead']) %}
    {% do print('   ' ~ '%-24s' | format('Jobs moved:') ~ counts['Job']) %}
    {% do print('   ' ~ '%-24s' | format('Addresses created:') ~ counts['CustomerAddress']) %}
    {% do print('   ' ~ '%-24s' | format('do_not_link pairs:') ~ counts['do_not_link pairs']
        ~ '  (in ' ~ ref('manual_overrides') ~ ')') %}
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


{% macro split_leads_sql(customer_id, lead_ids) %}
    {#- SQL select: the leads to split off (as staged: normalized), still on the customer. -#}
    select
        lead_id,
        {{ clean_text('lead_name') }} as lead_name,
        phone_normalized,
        email_normalized,
        address,
        {{ normalize_address('address') }} as address_normalized,
        latitude,
        longitude,
        created_at

    from {{ ref('stg_app__leads') }}
    where
        lead_id in {{ sql_uuid_list(lead_ids) }}
        and current_customer_id = {{ dbt.string_literal(customer_id) }}::uuid
{% endmacro %}


{% macro split_new_customer_sql() %}
    {#- SQL select from `backfill_split_leads`: the new customer - id from the earliest lead, the most
        recent non-empty name, phone and e-mail (the backfill's survivorship rule). -#}
    select
        {{ customer_id_for_group(
            '(array_agg(lead_id order by created_at asc, lead_id asc))[1]'
        ) }} as customer_id,
        (array_agg(lead_id order by created_at asc, lead_id asc))[1] as first_lead_id,
        {{ most_recent_value('lead_name') }} as customer_name,
        {{ most_recent_value('phone_normalized') }} as phone,
        {{ most_recent_value('email_normalized') }} as email,
        count(*) as lead_count

    from backfill_split_leads
{% endmacro %}


{% macro split_new_addresses_sql(new_customer_id_sql) %}
    {#- SQL select from `backfill_split_leads`: one address per distinct (normalized) address of the
        leads, the text of the most recent lead that gave it; the most recent is primary. -#}
    select
        {{ customer_address_id(new_customer_id_sql, 'address_normalized') }}
            as customer_address_id,
        address,
        {{ parse_us_address('address') }} as address_parts,
        latitude,
        longitude,
        lead_id as source_lead_id,
        row_number() over (order by created_at desc, lead_id desc) = 1 as is_primary

    from (
        select distinct on (address_normalized) *
        from backfill_split_leads
        where address_normalized is not null
        order by address_normalized asc, created_at desc, lead_id desc
    ) as distinct_addresses
{% endmacro %}


{% macro split_preview_sql(customer_id, lead_ids) %}
    {#- SQL: one row - the new customer and what the split moves or creates. -#}
    with

    backfill_split_leads as (

        {{ split_leads_sql(customer_id, lead_ids) }}

    ),

    new_customer as (

        {{ split_new_customer_sql() }}

    )

    select
        new_customer.customer_id::text as new_customer_id,
        new_customer.first_lead_id::text as first_lead_id,
        new_customer.customer_name,
        new_customer.phone,
        new_customer.email,
        exists (
            select 1 from {{ source('app', 'customer') }} as customers
            where customers.id = new_customer.customer_id
        ) as new_customer_exists,
        new_customer.lead_count as leads_moved,
        (
            select count(*) from {{ source('app', 'job') }} as jobs
            where
                jobs.lead_id in (select backfill_split_leads.lead_id from backfill_split_leads)
                and jobs.customer_id = {{ dbt.string_literal(customer_id) }}::uuid
        ) as jobs_moved,
        (
            select count(*)
            from ({{ split_new_addresses_sql('(select new_customer.customer_id from new_customer)') }})
                as new_addresses
            where not exists (
                select 1 from {{ source('app', 'customer_address') }} as addresses
                where addresses.id = new_addresses.customer_address_id
            )
        ) as addresses_created,
        new_customer.lead_count * (
            select count(*) from {{ source('app', 'lead') }} as leads
            where
                leads.customer_id = {{ dbt.string_literal(customer_id) }}::uuid
                and leads.id not in (select backfill_split_leads.lead_id from backfill_split_leads)
        ) as do_not_link_pairs

    from new_customer
{% endmacro %}


{% macro split_statements(customer_id, lead_ids, new_customer_id) %}
    {#- The split's writes, for run_atomically. Ledger: the new customer and its addresses
        are entries of this operation (a rollback deletes them); entries that linked the
        moved leads and jobs now name the new customer (a rollback still unlinks them).
        Overrides: do_not_link for every (moved lead, remaining lead) pair, replacing a
        force_link recorded for the same pair. -#}
    {% set customer_literal = dbt.string_literal(customer_id) ~ '::uuid' %}
    {% set new_literal = dbt.string_literal(new_customer_id) ~ '::uuid' %}

    select id from {{ source('app', 'customer') }} where id = {{ customer_literal }} for update;
    select id from {{ source('app', 'lead') }} where id in {{ sql_uuid_list(lead_ids) }} for update;

    create temp table backfill_split_leads on commit drop as
    {{ split_leads_sql(customer_id, lead_ids) }};

    create temp table backfill_split_customer on commit drop as
    {{ split_new_customer_sql() }};

    do $backfill_split$
    begin
        if (select count(*) from backfill_split_leads) <> {{ lead_ids | length }} then
            raise exception using
                message = 'split_customer stopped without changing anything: the leads no longer all'
                    || ' belong to customer ' || {{ dbt.string_literal(customer_id) }};
        end if;
        if exists (
            select 1 from {{ source('app', 'customer') }} where id = {{ new_literal }}
        ) or (select customer_id from backfill_split_customer) <> {{ new_literal }} then
            raise exception using
                message = 'split_customer stopped without changing anything: the new customer id '
                    || {{ dbt.string_literal(new_customer_id) }} || ' is taken or changed';
        end if;
    end
    $backfill_split$;

    with written as (
        insert into {{ source('app', 'customer') }}
            (id, name, phone, email, metadata, created_at, updated_at)
        select
            customer_id,
            customer_name,
            phone,
            email,
            jsonb_build_object(
                'groupType', 'split',
                'splitFrom', {{ dbt.string_literal(customer_id) }},
                'leadCount', lead_count,
                'multipleLeads', lead_count > 1,
                'createdBy', {{ dbt.string_literal(var('created_by')) }},
                'createdAt', now(),
                'runId', {{ dbt.string_literal(invocation_id) }}
            ),
            now(),
            now()
        from backfill_split_customer
        returning id
    )
    {{ record_in_ledger('customer', 'id', 'id') }};

    create temp table backfill_split_moved (
        what text not null,
        object_id uuid not null
    ) on commit drop;

    with moved as (
        update {{ source('app', 'lead') }}
        set customer_id = {{ new_literal }}
        where
            id in (select backfill_split_leads.lead_id from backfill_split_leads)
            and customer_id = {{ customer_literal }}
        returning id
    )
    insert into backfill_split_moved (what, object_id)
    select 'Lead', id from moved;

    with moved as (
        update {{ source('app', 'job') }}
        set customer_id = {{ new_literal }}
        where
            lead_id in (select backfill_split_leads.lead_id from backfill_split_leads)
            and customer_id = {{ customer_literal }}
        returning id
    )
    insert into backfill_split_moved (what, object_id)
    select 'Job', id from moved;

    update {{ ref('backfill_ledger') }} as ledger
    set customer_id = {{ new_literal }}
    from backfill_split_moved as moved
    where
        ledger.object_id = moved.object_id
        and ledger.object_type = case moved.what when 'Lead' then 'lead' when 'Job' then 'job' end
        and ledger.customer_id = {{ customer_literal }}
        and ledger.rolled_back_at is null;

    with written as (
        insert into {{ source('app', 'customer_address') }}
            (id, customer_id, address, city, state, zip, lat, lng, is_primary, metadata, created_at)
        select
            customer_address_id,
            {{ new_literal }},
            address,
            address_parts[1],
            upper(address_parts[2]),
            address_parts[3],
            latitude,
            longitude,
            is_primary,
            jsonb_build_object(
                'createdBy', {{ dbt.string_literal(var('created_by')) }},
                'runId', {{ dbt.string_literal(invocation_id) }},
                'sourceLeadId', source_lead_id
            ),
            now()
        from ({{ split_new_addresses_sql(new_literal) }}) as new_addresses
        on conflict (id) do nothing
        returning id, customer_id
    ),

    recorded as (
        insert into backfill_split_moved (what, object_id)
        select 'CustomerAddress', id from written
    )

    {{ record_in_ledger('customer_address', 'id', 'customer_id') }};

    create temp table backfill_split_pairs on commit drop as
    select
        backfill_split_leads.lead_id,
        remaining_leads.id as other_lead_id
    from backfill_split_leads
    cross join {{ source('app', 'lead') }} as remaining_leads
    where remaining_leads.customer_id = {{ customer_literal }};

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

    insert into {{ source('app', 'audit') }} (id, lead_id, actor, action, payload, created_at)
    select
        gen_random_uuid(),
        null,
        'system',
        'backfill_customers_split',
        jsonb_build_object(
            'operationId', {{ dbt.string_literal(invocation_id) }},
            'operation', 'split_customer',
            'customerId', {{ dbt.string_literal(customer_id) }},
            'newCustomerId', {{ dbt.string_literal(new_customer_id) }},
            'leadIds', to_jsonb({{ sql_text_array(lead_ids) }}),
            'moved', (
                select
                    coalesce(jsonb_object_agg(what, moved_count), '{}'::jsonb)
                    || jsonb_build_object('do_not_link pairs', (select count(*) from backfill_split_pairs))
                from (
                    select what, count(*) as moved_count
                    from backfill_split_moved
                    group by what
                ) as moved_counts
            ),
            'createdBy', {{ dbt.string_literal(var('created_by')) }},
            'dbtVersion', {{ dbt.string_literal(dbt_version) }}
        ),
        now();
{% endmacro %}
