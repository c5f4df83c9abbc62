{#- The ledger's tests read only the entries no passing run of them has read. The ledger
    only grows (a first apply of a million leads adds 2.6 million entries), and an entry
    never changes but to be marked rolled back, which takes it out of what the tests
    read. Its grain is per run: all the entries of one run are written by
    one transaction. So entries a passing test read need no second look, and a nightly
    run's tests read what the nights since added, not the whole history (at 1M leads
    after a first apply, 7.2 s of work in every run).
    Every write path draws the ledger's sequence under the backfill lock and commits
    before it lets go, so the entries up to the sequence's last value, read while no
    write path holds that lock, are all committed: a dbt command takes that value when
    it starts
    (ledger_sequence_at_start, in claim_backfill_run) and, once every test of the
    ledger it ran has passed, marks it checked (record_checked_ledger). The tests' `where`
    (models/marts/run_state/_run_state__models.yml) reads the entries in force after the
    greatest sequence value marked checked (all of them before any is), and any entry
    without a sequence recorded since the first mark (a ledger of an earlier version has
    such entries; no write path writes one now). -#}


{% macro ledger_checks_table() -%}
    {#- One row per dbt command that may test the ledger: the ledger's sequence when it
        started, and when its ledger tests had all passed. -#}
    {{- return(api.Relation.create(database=target.dbname, schema=target.schema, identifier='backfill_ledger_checks')) -}}
{%- endmacro %}


{% macro create_ledger_checks_table() -%}
    {#- SQL: creates backfill_ledger_checks when missing (in create_run_state_tables, run
        by claim_backfill_run under its lock, before any test). -#}
    create table if not exists {{ ledger_checks_table() }} (
        invocation_id text primary key,
        sequence_at_start bigint,
        started_at timestamptz not null default now(),
        passed_at timestamptz
    );
{%- endmacro %}


{% macro ledger_sequence_at_start() -%}
    {#- SQL, for claim_backfill_run's transaction: this command's row of
        backfill_ledger_checks, with the last value of the ledger's sequence (0 before the
        first entry), or null when a write path holds the backfill lock just after it was
        read: that one may have drawn values it has not committed. Any other drew and
        committed before it let go of the lock, so every entry up to the value is visible
        to this command's tests. Read, not taken: only write paths hold the lock (the
        harnesses tell an apply by it). -#}
    insert into {{ ledger_checks_table() }} (invocation_id, sequence_at_start)
    select
        {{ dbt.string_literal(invocation_id) }},
        coalesce(pg_sequence_last_value(to_regclass({{ dbt.string_literal(ledger_sequence()) }})), 0);

    update {{ ledger_checks_table() }}
    set sequence_at_start = null
    where
        invocation_id = {{ dbt.string_literal(invocation_id) }}
        and exists (
            select 1
            from pg_locks as locks
            cross join (select {{ backfill_lock_key() }} as value) as backfill_key
            where
                locks.locktype = 'advisory'
                and locks.granted
                and locks.database = (select oid from pg_database where datname = current_database())
                and locks.objsubid = 1
                and locks.classid::bigint = (backfill_key.value >> 32) & 4294967295
                and locks.objid::bigint = backfill_key.value & 4294967295
        );
{%- endmacro %}


{% macro record_checked_ledger(results) -%}
    {#- on-run-end: marks this command's ledger sequence at start checked when it ran every
        test of backfill_ledger and all passed (not a build that found its inputs
        unchanged, which runs no test, nor one with --empty, whose tests read no row). -#}
    {% if execute and flags.WHICH in ('build', 'test') and not invocation_args_dict.get('empty')
        and unchanged_since_run() is none %}
        {% set ledger_id = 'model.' ~ project_name ~ '.backfill_ledger' %}
        {% set ns = namespace(tests=0, passed=0) %}
        {% for node in graph.nodes.values() if node.resource_type == 'test' and node.attached_node == ledger_id %}
            {% set ns.tests = ns.tests + 1 %}
        {% endfor %}
        {% for result in results if result.node.resource_type == 'test' and result.node.attached_node == ledger_id %}
            {% if result.status | string == 'pass' %}{% set ns.passed = ns.passed + 1 %}{% endif %}
        {% endfor %}
        {% if ns.tests > 0 and ns.passed == ns.tests %}
            {% do run_query(
                "update " ~ ledger_checks_table() ~ " set passed_at = now()"
                ~ " where invocation_id = " ~ dbt.string_literal(invocation_id)
            ) %}
        {% endif %}
    {% endif %}
    select 1
{%- endmacro %}
