{#-
    Leads without a customer whose jobs the app linked to a customer: the app has
    said who the lead is. A lead whose jobs point at one existing customer starts in
    that customer's group (int_identity_nodes); one whose jobs point at several is a
    merge candidate of each (int_leads_matching_several_customers). Small (only
    unlinked leads with linked jobs), so the models after it are keyed on its rows
    rather than on the jobs: a new job rebuilds them only when it changes this.
-#}
{{ config(
    indexes=[{'columns': ['lead_id'], 'unique': true}],
    dependents_read_content=true,
) }}

with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

jobs as (

    select * from {{ ref('stg_app__jobs') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

final as (

    select
        leads.lead_id,
        array_agg(distinct jobs.current_customer_id order by jobs.current_customer_id)
            as customer_ids

    from leads
    inner join jobs
        on leads.lead_id = jobs.lead_id
    inner join customers
        on jobs.current_customer_id = customers.customer_id
    where leads.current_customer_id is null
    group by leads.lead_id

)

select * from final
