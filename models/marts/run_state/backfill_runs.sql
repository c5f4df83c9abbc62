{#-
    The apply step. In a real run its pre-hooks open one transaction, take the
    backfill lock and write the plan into the app tables (recording each write in
    `backfill_ledger`); the model then adds this run's row, counted from what was
    actually written, and its post-hook adds the Audit row. dbt commits once, at
    the end: every write of the run commits together or not at all.
    In a dry run the hooks render to nothing and no row is added. A column a new
    release adds is appended to an existing history (null in its earlier rows).
    A run that found its inputs unchanged since a validated real run (unchanged_runs.sql)
    writes nothing: its row counts what that run left, and names it.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['run_id'], 'unique': true}],
    pre_hook=[
        "{{ begin_backfill_transaction() }}",
        "{{ apply_backfill_plan() }}",
    ],
    post_hook=[
        "{{ insert_backfill_audit_row() }}",
        "{{ record_settled_inputs() }}",
    ],
) }}

-- depends_on: {{ ref('plan_customers') }}
-- depends_on: {{ ref('plan_customer_addresses') }}
-- depends_on: {{ ref('plan_lead_links') }}
-- depends_on: {{ ref('plan_job_links') }}

{%- set unchanged_since = unchanged_since_run() %}

with

ledger as (

    select * from {{ ref('backfill_ledger') }}

),

plan_summary as (

    {% if unchanged_since %}
    -- the plan in place is the one that run applied: the state it left
    select
        leads_already_linked + leads_linked as leads_already_linked,
        leads_not_linked,
        jobs_already_linked + jobs_linked as jobs_already_linked,
        conflicts,
        errors,
        0 as customers_by_psid,
        0 as customers_by_phone,
        0 as customers_by_email,
        0 as customers_by_address,
        0 as customers_individual
    from {{ this }}
    where run_id = {{ dbt.string_literal(unchanged_since) }}
    {% else %}
    select * from {{ ref('plan_summary') }}
    {% endif %}

),

plan_conflicts as (

    select * from {{ ref('plan_conflicts') }}

),

-- a run that found nothing changed wrote nothing: it does not scan the ledger (2.6
-- million entries after a first apply at 1M leads)
this_run_ledger as (

    select *
    from ledger
    where {{ 'false' if unchanged_since else 'run_id = ' ~ dbt.string_literal(invocation_id) }}

),

created_customers as (

    select ledger.object_id as customer_id
    from this_run_ledger as ledger
    where {{ ledger_creates_customer() }}

),

written as (

    select
        count(*) filter (where {{ ledger_creates_customer() }}) as customers_created,
        count(distinct ledger.customer_id) filter (
            where ledger.object_type = 'lead'
            and ledger.customer_id not in (select created_customers.customer_id from created_customers)
        ) as customers_reused,
        count(*) filter (where ledger.object_type = 'lead') as leads_linked,
        count(*) filter (where ledger.object_type = 'job') as jobs_linked,
        count(*) filter (where ledger.object_type = 'customer_address') as addresses_created

    from this_run_ledger as ledger

),

conflict_sample as (

    select coalesce(jsonb_agg(to_jsonb(sampled) - 'conflict_id'), '[]'::jsonb) as conflicts

    from (
        select *
        from plan_conflicts
        order by conflict_type, object_id
        limit 100
    ) as sampled

),

final as (

    select
        {{ dbt.string_literal(invocation_id) }} as run_id,
        'apply' as run_mode,
        {{ dbt.string_literal(run_started_at.isoformat()) }}::timestamptz as started_at,
        now() as applied_at,
        written.customers_created,
        written.customers_reused,
        written.leads_linked,
        plan_summary.leads_already_linked,
        plan_summary.leads_not_linked,
        written.jobs_linked,
        plan_summary.jobs_already_linked,
        written.addresses_created,
        plan_summary.conflicts,
        plan_summary.errors,
        plan_summary.customers_by_psid,
        plan_summary.customers_by_phone,
        plan_summary.customers_by_email,
        plan_summary.customers_individual,
        plan_summary.customers_by_address,
        {{ dbt.string_literal(unchanged_since) if unchanged_since else 'null' }}::text as unchanged_since_run_id,
        jsonb_build_object(
            'runId', {{ dbt.string_literal(invocation_id) }},
            'unchangedSinceRunId', {{ dbt.string_literal(unchanged_since) if unchanged_since else 'null::text' }},
            'mode', 'apply',
            'startedAt', {{ dbt.string_literal(run_started_at.isoformat()) }},
            'appliedAt', now(),
            'createdBy', {{ dbt.string_literal(var('created_by')) }},
            'dbtVersion', {{ dbt.string_literal(dbt_version) }},
            'stats', jsonb_build_object(
                'customersCreated', written.customers_created,
                'customersReused', written.customers_reused,
                'leadsLinked', written.leads_linked,
                'leadsAlreadyLinked', plan_summary.leads_already_linked,
                'leadsNotLinked', plan_summary.leads_not_linked,
                'jobsLinked', written.jobs_linked,
                'jobsAlreadyLinked', plan_summary.jobs_already_linked,
                'addressesCreated', written.addresses_created,
                'conflicts', plan_summary.conflicts,
                'errors', plan_summary.errors
            ),
            'grouping', jsonb_build_object(
                'psid', plan_summary.customers_by_psid,
                'phone', plan_summary.customers_by_phone,
                'email', plan_summary.customers_by_email,
                'address', plan_summary.customers_by_address,
                'individual', plan_summary.customers_individual
            ),
            'conflicts', conflict_sample.conflicts,
            'errors', '[]'::jsonb
        ) as audit_payload

    from plan_summary
    cross join written
    cross join conflict_sample
    {% if is_dry_run() %}
    where false
    {% endif %}

)

select * from final
