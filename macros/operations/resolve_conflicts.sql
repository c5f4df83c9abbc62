{% macro resolve_conflicts(dry_run=false) %}
    {#- dbt run-operation resolve_conflicts: settles the conflicts of the last plan
        (plan_conflicts) that the project's identity rules can decide - the customers
        a conflict involves are one person: they are merged into the oldest of them
        (plan_conflict_resolutions says which), in one transaction under the backfill
        lock, audited, every change in the ledger (a rollback undoes it). The next
        `dbt build` links the leads and jobs. A conflict between different people is
        listed with the command that settles it. See docs/operations.md. -#}
    {% set operation = 'resolve_conflicts' %}
    {% set dry_run = boolean_argument(operation, 'dry_run', dry_run) %}
    {% do require_backfill_relations(operation, ['backfill_ledger', 'manual_overrides', 'plan_conflict_resolutions']) %}
    {% set references = movable_customer_references(operation) %}

    {% set plan = resolve_conflicts_plan(references) %}
    {% set summary_sql %}
        select jsonb_build_object(
            'merges', (
                select coalesce(jsonb_agg(jsonb_build_object('from', from_id, 'into', into_id)
                    order by into_id, from_id), '[]'::jsonb)
                from backfill_merge_pairs
            ),
            'moved', ({{ merge_moved_counts() }})
        )::text
    {% endset %}

    {% if dry_run %}
        {% set done = fromjson(preview_atomically(plan, summary_sql).rows[0][0]) %}
    {% elif run_query('select exists (' ~ resolvable_merge_pairs() ~ ')').rows[0][0] %}
        {% do run_atomically(operation,
            plan ~ merge_customer_pairs_writes(references, operation)
            ~ insert_audit_row('backfill_customers_resolve', resolve_payload())
        ) %}
        {% set done = read_back_audit_payload('backfill_customers_resolve') %}
    {% else %}
        {#- nothing to merge: no transaction, no Audit row; the conflicts are listed -#}
        {% set done = {'merges': [], 'moved': {}} %}
    {% endif %}
    {{ print_conflict_resolutions(done, dry_run) }}
{% endmacro %}


{% macro resolve_conflicts_plan(references) %}
    {#- SQL statements: what resolve_conflicts does, as temporary tables - the merge pairs
        of the last plan (plan_conflict_resolutions) whose customers all still exist,
        and merge_customer_pairs_plan for them. -#}
    create temp table backfill_merge_pairs on commit drop as
    {{ resolvable_merge_pairs() | trim }};
    {{ merge_customer_pairs_plan(references) }}
{% endmacro %}


{% macro resolvable_merge_pairs() %}
    {#- SQL select: the merges of the last plan (plan_conflict_resolutions) whose customers
        all still exist - a merge done already, or a customer the app deleted since the
        plan was built, is left out (from_id, into_id, reason). -#}
    {% set resolutions = ref('plan_conflict_resolutions') %}
    select distinct
        resolutions.customer_id as from_id,
        resolutions.merged_into_customer_id as into_id,
        'resolve_conflicts' as reason
    from {{ resolutions }} as resolutions
    where
        resolutions.merged_into_customer_id is not null
        and not exists (
            select 1
            from {{ resolutions }} as same_set
            left join {{ source('app', 'customer') }} as customers
                on same_set.customer_id = customers.id
            where
                coalesce(same_set.merged_into_customer_id, same_set.customer_id)
                = resolutions.merged_into_customer_id
                and customers.id is null
        )
{% endmacro %}


{% macro resolve_payload() -%}
    {#- SQL jsonb expression: the Audit payload of resolve_conflicts (after its writes). -#}
    jsonb_build_object(
        'operationId', {{ dbt.string_literal(invocation_id) }},
        'operation', 'resolve_conflicts',
        'merges', (
            select coalesce(jsonb_agg(jsonb_build_object('from', from_id, 'into', into_id, 'reason', reason)
                order by into_id, from_id), '[]'::jsonb)
            from backfill_merge_pairs
        ),
        'moved', ({{ merge_moved_counts(moves_of_this_invocation()) }})
    )
{%- endmacro %}


{% macro print_conflict_resolutions(done, dry_run) %}
    {#- Prints what resolve_conflicts merged (or would), and each conflict it leaves to a
        person, with the command that settles it. -#}
    {% set resolutions = ref('plan_conflict_resolutions') %}
    {#- A refused conflict's candidates, as they are after its merges (a candidate merged
        into another is shown as that one). -#}
    {% set refused = run_query(
        'select conflict_type, object_id::text, lead_id::text, min(refusal_reason) as refusal_reason,'
        ~ ' min(candidate_id::text) filter (where is_suggested_link) as suggested,'
        ~ " string_agg(distinct candidate_id::text || ' (' || coalesce(customers.name, 'no name') || ', '"
        ~ " || coalesce(customers.phone, 'no phone') || ', ' || coalesce(customers.email, 'no e-mail') || ')',"
        ~ " '|') as candidates"
        ~ ' from (select resolutions.*, coalesce(resolutions.merged_into_customer_id, resolutions.customer_id)'
        ~ ' as candidate_id from ' ~ resolutions ~ ' as resolutions'
        ~ ' where not resolutions.is_conflict_resolved) as refused'
        ~ ' left join ' ~ source('app', 'customer') ~ ' as customers on refused.candidate_id = customers.id'
        ~ ' group by 1, 2, 3 order by 1, 2'
    ) %}
    {{ print_banner(('🔍 RESOLVE CONFLICTS DRY RUN (nothing was changed)' if dry_run
        else '🤝 CONFLICTS RESOLVED   operation ' ~ invocation_id)
        if done['merges'] | length > 0 else 'RESOLVE CONFLICTS: nothing to merge') }}
    {% do print('') %}
    {% if done['merges'] | length > 0 %}
        {% do print(('Would merge' if dry_run else 'Merged') ~ ' ' ~ done['merges'] | length
            ~ ' customer(s) into the oldest customer of the same person (the identity rules: one PSID at most,'
            ~ ' first names that agree, no do_not_link):') %}
        {% for merge in done['merges'][:var('verbose_group_limit') | int] %}
            {% do print('   - ' ~ merge['from'] ~ '  ->  ' ~ merge['into']) %}
        {% endfor %}
        {% if done['merges'] | length > var('verbose_group_limit') | int %}
            {% do print('   ... and ' ~ (done['merges'] | length - var('verbose_group_limit') | int)
                ~ ' more (select * from ' ~ resolutions ~ ')') %}
        {% endif %}
        {% set lines = [] %}
        {% for table, row_count in done['moved'].items() %}
            {% do lines.append(('"' ~ table ~ '" rows moved:', row_count)) %}
        {% endfor %}
        {{ print_counts(lines) }}
        {% do print('') %}
        {% do print('Next: dbt build' ~ (" --vars '{dry_run: true}', then dbt build," if dry_run else ',')
            ~ ' which links the leads and jobs of the merged conflicts.') %}
    {% else %}
        {% do print('No conflict of the last plan (' ~ ref('plan_conflicts') ~ ') is between customers of one'
            ~ ' person that still exist. (Run dbt build --vars \'{dry_run: true}\' to plan again.)') %}
    {% endif %}
    {% if refused.rows | length > 0 %}
        {% do print('') %}
        {% do print(refused.rows | length ~ ' conflict(s) are between different people; a person must decide:') %}
        {% for row in refused.rows %}
            {% set candidates = row['candidates'].split('|') %}
            {% if row['conflict_type'] == 'lead_matches_several_customers' %}
                {% do print('   - lead ' ~ row['lead_id'] ~ ' (' ~ row['refusal_reason'] ~ ') stays unlinked;'
                    ~ ' link it to one of its candidates, or to a customer of its own:') %}
                {% for candidate in candidates %}
                    {% set candidate_id = candidate.split(' ')[0] %}
                    {% do print("       dbt run-operation link_lead --args '{lead_id: " ~ row['lead_id']
                        ~ ", customer_id: " ~ candidate_id ~ "}'   # " ~ candidate[37:]
                        ~ ('  <- its first name matches' if candidate_id == row['suggested'] else '')) %}
                {% endfor %}
                {% do print("       dbt run-operation link_lead --args '{lead_id: " ~ row['lead_id']
                    ~ ", customer_id: new}'") %}
            {% else %}
                {% do print('   - job ' ~ row['object_id'] ~ ' (' ~ row['refusal_reason'] ~ '): it and its lead'
                    ~ ' keep their different customers (' ~ candidates | join(' / ') ~ '); both have one, so no'
                    ~ ' coverage gate needs more. If they are one person: dbt run-operation merge_customers'
                    ~ " --args '{into: <the one that stays>, from: <the other>}'") %}
            {% endif %}
        {% endfor %}
    {% endif %}
    {% do print('') %}
{% endmacro %}
