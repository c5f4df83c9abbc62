{% macro live_leads_for_a_new_customer(condition) -%}
    {#- SQL select: the leads of "Lead" that satisfy `condition`, read live and normalized
        as staging does, with what survivor_columns and addresses_to_add read (a phone
        or e-mail the grouping rejects as junk is left out; a role address is kept).
        For the operations that make a customer outside a run: split_customer and
        link_lead. -#}
    select
        lead_id,
        lead_name,
        case
            when {{ identifier_rejection_reason("'phone'", 'phone_normalized') }} is null
                then phone_normalized
        end as contact_phone,
        case
            when coalesce(
                {{ identifier_rejection_reason("'email'", 'email_normalized') }}, 'email_role_address'
            ) = 'email_role_address'
                then email_normalized
        end as contact_email,
        coalesce(
            {{ identifier_rejection_reason("'email'", 'email_normalized') }} = 'email_role_address', false
        ) as is_role_email,
        address,
        address_normalized,
        latitude,
        longitude,
        created_at

    from (
        select
            id as lead_id,
            {{ clean_text('name') }} as lead_name,
            {{ normalize_phone('phone') }} as phone_normalized,
            {{ normalize_email('email') }} as email_normalized,
            {{ clean_text('address') }} as address,
            {{ normalize_address('address') }} as address_normalized,
            lat as latitude,
            lng as longitude,
            created_at

        from {{ source('app', 'lead') }}
        where {{ condition }}
    ) as leads
{%- endmacro %}


{% macro new_customer_from_leads(leads) -%}
    {#- SQL select: the one customer made of the rows of `leads` (live_leads_for_a_new_customer),
        as a run makes one - its id from the earliest lead, survivor_columns for the
        values, the phone in the app's format. -#}
    select
        {{ customer_id_for_group('first_lead_id') }} as customer_id,
        first_lead_id,
        {{ fixed_name_case('survivor_name') }} as customer_name,
        {{ customer_phone('survivor_phone') }} as phone,
        survivor_phone as phone_normalized,
        survivor_email as email,
        lead_count

    from (
        select
            (array_agg(lead_id order by created_at asc, lead_id asc))[1] as first_lead_id,
            count(*) as lead_count,
            {{ survivor_columns() }}
        from {{ leads }}
        having count(*) > 0
    ) as survivors
{%- endmacro %}


{% macro new_customer_addresses(leads, customers) -%}
    {#- SQL select: the addresses that the leads of `leads` give the customer of
        `customers` (one row, customer_id): addresses_to_add, against the addresses
        the customer already has. -#}
    {{ addresses_to_add(
        '(select customers.customer_id, leads.* from ' ~ leads ~ ' as leads cross join '
        ~ customers ~ ' as customers)',
        '(select customer_id, ' ~ normalize_address('address') ~ ' as address_normalized, is_primary from '
        ~ source('app', 'customer_address') ~ ' where customer_id in (select customer_id from '
        ~ customers ~ '))'
    ) }}
{%- endmacro %}
