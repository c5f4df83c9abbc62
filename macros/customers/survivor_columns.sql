{% macro survivor_columns() -%}
    {#- SQL select-list of aggregates: what a new customer takes from its leads (a group
        of rows with lead_id, lead_name, contact_phone and contact_email - the lead's
        phone and e-mail when they are not junk -, is_role_email and created_at) -
        survivor_name (the best-formed name: best_formed_name), survivor_phone (the
        most recent phone) and survivor_email (the most recent e-mail, a personal
        address preferred to a role address). The backfill's plan, split_customer and
        link_lead make customers with it; new_customer_name and customer_phone give
        the values as stored. -#}
    {{ best_formed_name('lead_name') }} as survivor_name,
    {{ most_recent_value('contact_phone') }} as survivor_phone,
    {{ most_recent_value('contact_email', 'is_role_email asc, created_at desc, lead_id desc') }}
        as survivor_email
{%- endmacro %}
