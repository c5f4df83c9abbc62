{#-
    Every identifier every node carries, as normalized in staging: a lead's PSID,
    phone, e-mail and address keys (int_lead_address_keys), an existing customer's
    phone and e-mail. Everything after joins this.
-#}
{{ config(
    indexes=[
        {'columns': ['node_id', 'identifier_type', 'identifier_value'], 'unique': true},
        {'columns': ['identifier_type', 'identifier_value']},
    ],
) }}

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

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

lead_identifiers as (

    select
        nodes.node_id,
        identifiers.identifier_type,
        identifiers.identifier_value

    from leads
    inner join nodes
        on leads.lead_id = nodes.lead_id
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
        nodes.node_id,
        'address' as identifier_type,
        lead_address_keys.address_key as identifier_value

    from lead_address_keys
    inner join nodes
        on lead_address_keys.lead_id = nodes.lead_id

),

customer_identifiers as (

    select
        nodes.node_id,
        identifiers.identifier_type,
        identifiers.identifier_value

    from customers
    inner join nodes
        on
            customers.customer_id = nodes.customer_id
            and nodes.node_type = 'customer'
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
