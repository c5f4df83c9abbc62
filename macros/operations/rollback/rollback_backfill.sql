{% macro rollback_backfill(run_id=none, dry_run=false, force=false) %}
    {#- dbt run-operation rollback_backfill: undoes exactly the changes that backfill runs
        (and customer operations) recorded in the ledger, newest first, in one
        transaction under the backfill lock, and records the rollback as an Audit row.
        See docs/operations.md. -#}
    {% set operation = 'rollback_backfill' %}
    {% set dry_run = boolean_argument(operation, 'dry_run', dry_run) %}
    {% set force = boolean_argument(operation, 'force', force) %}
    {% do require_backfill_relations(operation, ['backfill_ledger', 'backfill_runs']) %}
    {% set run_ids = rollback_run_ids(run_id) %}
    {% if run_ids | length == 0 %}
        {% do print('Nothing to roll back: no run has ledger entries that are not rolled back already.'
            ~ ' Nothing was changed.') %}
        {{ return('') }}
    {% endif %}
    {% do stop_if_changed_later(run_ids) %}

    {% set references = customer_references() %}
    {#- Fresh statistics for every table it reads and writes: the app's may date from
        before a run, and the ledger's from before the last rollback. With
        "CustomerAddress" last analyzed empty, a rollback's plan nested-looped 44,573
        addresses over 61,524 customers (cancelled after 15 min at 100k leads). -#}
    {% do run_query(analyze_relations([
        source('app', 'lead'),
        source('app', 'job'),
        source('app', 'customer_address'),
        source('app', 'customer'),
        ref('backfill_ledger'),
    ])) %}
    {% set runs = run_query(rollback_runs_listing_sql(run_ids)) %}
    {% set links_required = customer_links_required() %}

    {#- A dry run (and a rollback the app's NOT NULL may forbid) previews the plan: the
        same statements as the real rollback, in a transaction rolled back. Counted as
        with force, so that a stopped rollback can say what force would do. -#}
    {% if dry_run or links_required %}
        {% set preview = fromjson(preview_atomically(
            rollback_plan(run_ids, references, force=true, lock_customers=false),
            'select (' ~ rollback_payload(run_ids, force, 'backfill_rollback_actions') ~ ')::text'
        ).rows[0][0]) %}
        {% do stop_if_links_required(links_required, preview['stats'], dry_run) %}
        {% if dry_run %}
            {% set stops = preview['keptCustomers'] | length > 0 and not force %}
            {{ print_rollback_summary('🔍 ROLLBACK DRY RUN (nothing was changed)', runs, preview,
                'would stop' if stops else 'would keep') }}
            {% if stops %}
                {% do print('A real rollback would stop here and change nothing, because of the customers above.'
                    ~ ' With force: true it keeps them (and their leads, jobs and addresses) and rolls back'
                    ~ ' the rest.') %}
            {% endif %}
            {{ return('') }}
        {% endif %}
    {% endif %}

    {#- A real rollback computes nothing before its transaction: the transaction finds
        the customers in use under its locks, and the counts come from its Audit row. -#}
    {% do run_atomically('the rollback',
        rollback_plan(run_ids, references, force, lock_customers=true)
        ~ rollback_writes(run_ids, references, force)
    ) %}

    {% set done = read_back_audit_payload('backfill_customers_rollback') %}
    {% if done is none %}
        {#- No Audit row: without force, customers in use made the transaction change
            nothing. List them, with what force would do. -#}
        {% set preview = fromjson(preview_atomically(
            rollback_plan(run_ids, references, force=true, lock_customers=false),
            'select (' ~ rollback_payload(run_ids, true, 'backfill_rollback_actions') ~ ')::text'
        ).rows[0][0]) %}
        {{ print_rollback_summary('⛔ ROLLBACK STOPPED (nothing was changed)', runs, preview, 'stopped') }}
        {% do exceptions.raise_compiler_error(
            "rollback_backfill stopped before changing anything: "
            ~ (preview['stats']['customersKept'] ~ " customer(s) the backfill created are now used by the app"
               ~ " (listed above)" if preview['keptCustomers'] | length > 0
               else "a customer the backfill created was used by the app while the rollback ran")
            ~ "; deleting them would delete or orphan app data. Resolve them, or run again with"
            ~ " --args '{force: true}' to keep those customers and roll back everything else."
        ) %}
    {% endif %}
    {{ print_rollback_summary('↩️  BACKFILL ROLLED BACK   rollback ' ~ invocation_id, runs, done, 'kept') }}
{% endmacro %}


{% macro stop_if_changed_later(run_ids) %}
    {#- Stops the rollback before anything changes when a run or operation that is not
        rolled back here changed again what these runs changed (a merge moved a lead a
        run linked): undoing them alone would undo under it. Names those runs. -#}
    {% set ledger = ref('backfill_ledger') %}
    {% set later = run_query(
        'select later.run_id, count(*) from ' ~ ledger ~ ' as selected'
        ~ ' inner join ' ~ ledger ~ ' as later'
        ~ ' on later.object_id = selected.object_id and later.object_type = selected.object_type'
        ~ " and coalesce(later.object_table, '') = coalesce(selected.object_table, '')"
        ~ ' where selected.run_id in ' ~ sql_text_list(run_ids) ~ ' and selected.rolled_back_at is null'
        ~ ' and later.run_id not in ' ~ sql_text_list(run_ids) ~ ' and later.rolled_back_at is null'
        ~ ' and (coalesce(later.change_sequence, 0), later.recorded_at)'
        ~ ' > (coalesce(selected.change_sequence, 0), selected.recorded_at)'
        ~ ' group by later.run_id order by later.run_id'
    ) %}
    {% if later.rows | length > 0 %}
        {% set listing = [] %}
        {% for row in later.rows %}
            {% do listing.append('  ' ~ row[0] ~ '  (' ~ row[1] ~ ' later change(s))') %}
        {% endfor %}
        {% do exceptions.raise_compiler_error(
            "rollback_backfill stopped before changing anything: later runs or operations that are not"
            ~ " rolled back here changed again what these runs changed:\n" ~ listing | join('\n')
            ~ "\nRoll them back too (add them to run_id), or roll them back first."
        ) %}
    {% endif %}
{% endmacro %}


{% macro stop_if_links_required(tables, stats, dry_run) %}
    {#- Stops the rollback (its dry run says it would stop) when it would set customer_id
        back to null on a table where the app now requires one: the app's migration after
        the backfill made "Lead".customer_id / "Job".customer_id NOT NULL. -#}
    {% set unlinks = {'Lead': stats['leadsUnlinked'], 'Job': stats['jobsUnlinked']} %}
    {% set blocked = [] %}
    {% for table in tables if unlinks[table] > 0 %}
        {% do blocked.append(unlinks[table] ~ ' "' ~ table ~ '" row(s)') %}
    {% endfor %}
    {% if blocked %}
        {% set message = "rollback_backfill " ~ ("would stop" if dry_run else "stopped")
            ~ " before changing anything: it would set customer_id back to null on " ~ blocked | join(' and ')
            ~ ", but the app now requires a customer there (" ~ tables | join(', ')
            ~ " customer_id is NOT NULL: the app's migration after the backfill ran). Undoing the backfill"
            ~ " would break the app. To correct customers, use merge_customers or split_customer, which move"
            ~ " leads between customers and never unlink them. To undo the backfill itself, first revert that"
            ~ " migration (alter table ... alter column customer_id drop not null), then run the rollback again." %}
        {% if dry_run %}
            {% do print(message) %}
        {% else %}
            {% do exceptions.raise_compiler_error(message) %}
        {% endif %}
    {% endif %}
{% endmacro %}
