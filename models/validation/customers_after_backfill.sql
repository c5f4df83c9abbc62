{#-
    The app's customers as the validation tests check them: the Customer rows
    after a real run; in a dry run, those plus the new customers the plan will
    create. `is_backfill_created` comes from the ledger (entries not rolled back)
    and, in a dry run, from the plan.
-#}
{{ config(materialized='ephemeral') }}

-- depends_on: {{ ref('backfill_runs') }}

with

-- read twice (the planned customers join it too): inlined, not materialized, so
-- each reader computes only the columns it uses. Materialized, every test paid for
-- normalizing every Customer's name, phone and e-mail (2 s per test at 200k customers).
customers as not materialized (

    select * from {{ ref('stg_app__customers') }}

),

ledger as (

    select * from {{ ref('backfill_ledger') }}

),

plan_customers as (

    select * from {{ ref('plan_customers') }}

),

backfill_created_customers as (

    select distinct ledger.object_id as customer_id
    from ledger
    where
        {{ ledger_creates_customer() }}
        and ledger.rolled_back_at is null

),

existing_customers as (

    select
        customers.customer_id,
        customers.phone_raw as phone,
        customers.phone_normalized,
        customers.email_normalized,
        customers.metadata ->> 'groupType' as group_type,
        backfill_created_customers.customer_id is not null as is_backfill_created,
        false as is_planned

    from customers
    left join backfill_created_customers
        on customers.customer_id = backfill_created_customers.customer_id

),

planned_customers as (

    -- only a dry run adds the customers the plan will create (plan e-mails are
    -- already normalized; the phone is in the app's format, beside its normalized form)
    select
        plan_customers.customer_id,
        plan_customers.phone,
        plan_customers.phone_normalized,
        plan_customers.email as email_normalized,
        plan_customers.group_type,
        true as is_backfill_created,
        true as is_planned

    from plan_customers
    left join customers
        on plan_customers.customer_id = customers.customer_id
    where
        {{ 'true' if is_dry_run() else 'false' }}
        and plan_customers.is_new_customer
        and customers.customer_id is null

),

final as (

    select * from existing_customers
    union all
    select * from planned_customers

)

select * from final
