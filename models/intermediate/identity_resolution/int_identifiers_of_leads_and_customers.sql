{#-
    Every identifier every lead and every app customer carries, as normalized in
    staging: a lead's PSID, phone, e-mail and address keys (int_lead_address_keys),
    a customer's phone and e-mail. All of them, whatever the run resolves: the
    values' counts (int_identifier_values_screened) and the run's scope
    (int_identity_scope) are read here. int_node_identifiers keeps the nodes the
    run resolves.
    No index: its readers join it by hash. At 1M leads, after an applied run and the
    app's changes, none of them used the index by value, which took 4.4 s to build
    (the model 8-12 s with it); in a first run only the scope did, for one join of
    27,000 values (0.3 s with it). A unique index on the grain was used by no reader
    either (2.7 s); the grain test checks the grain.
-#}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

lead_address_keys as (

    select * from {{ ref('int_lead_address_keys') }}

),

lead_identifiers as (

    select
        'lead' as owner_type,
        leads.lead_id as owner_id,
        leads.current_customer_id as customer_id,
        identifiers.identifier_type,
        identifiers.identifier_value

    from leads
    cross join
        lateral (
            values
            ('psid', leads.psid),
            ('phone', leads.phone_normalized),
            ('email', leads.email_normalized)
        ) as identifiers (identifier_type, identifier_value)
    where identifiers.identifier_value is not null

),

lead_addresses as (

    select
        'lead' as owner_type,
        lead_address_keys.lead_id as owner_id,
        leads.current_customer_id as customer_id,
        'address' as identifier_type,
        lead_address_keys.address_key as identifier_value

    from lead_address_keys
    inner join leads
        on lead_address_keys.lead_id = leads.lead_id

),

customer_identifiers as (

    select
        'customer' as owner_type,
        customers.customer_id as owner_id,
        customers.customer_id,
        identifiers.identifier_type,
        identifiers.identifier_value

    from customers
    cross join
        lateral (
            values
            ('phone', customers.phone_normalized),
            ('email', customers.email_normalized)
        ) as identifiers (identifier_type, identifier_value)
    where identifiers.identifier_value is not null

),

final as (

    select * from lead_identifiers
    union all
    select * from lead_addresses
    union all
    select * from customer_identifiers

)

select * from final
