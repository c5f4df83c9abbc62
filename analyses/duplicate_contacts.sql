{#-
    Design document, data-quality check 3 (duplicate contacts), for every customer,
    not only the backfill's: each normalized phone or e-mail held by more than one
    customer, with who created each (the app or the backfill). The dbt tests fail on
    two backfill customers sharing a phone and warn on shared e-mails; this lists
    them all for a person to decide (merge_customers, or leave a family apart).
-#}

with

customers as (

    select * from {{ ref('stg_app__customers') }}

),

ledger as (

    select * from {{ ref('backfill_ledger') }}

),

backfill_created as (

    select distinct ledger.object_id as customer_id
    from ledger
    where
        {{ ledger_creates_customer() }}
        and ledger.rolled_back_at is null

),

contacts as (

    select
        'phone' as contact_type,
        phone_normalized as contact,
        customer_id

    from customers
    where phone_normalized is not null

    union all

    select
        'email' as contact_type,
        email_normalized as contact,
        customer_id

    from customers
    where email_normalized is not null

),

shared_contacts as (

    select
        contact_type,
        contact

    from contacts
    group by contact_type, contact
    having count(*) > 1

),

final as (

    select
        shared_contacts.contact_type,
        shared_contacts.contact,
        contacts.customer_id,
        customers.customer_name,
        backfill_created.customer_id is not null as is_backfill_created,
        customers.created_at

    from shared_contacts
    inner join contacts
        on
            shared_contacts.contact_type = contacts.contact_type
            and shared_contacts.contact = contacts.contact
    inner join customers
        on contacts.customer_id = customers.customer_id
    left join backfill_created
        on contacts.customer_id = backfill_created.customer_id

)

select * from final
order by contact_type asc, contact asc, created_at asc
