{#- The unchanged re-run. A real run that applied its plan and passed every check leaves
    the app tables in a state its own plan has already settled: a build on it would
    write nothing. The run records that state (its inputs' fingerprints as its own
    writes left them) and, once every check has passed, marks it validated. The next
    `dbt build` that finds the same inputs, the same project and the same vars keeps
    every table, writes nothing but its run row and Audit row, and does not re-run the
    checks (docs/performance.md, "The unchanged re-run"). -#}


{% macro run_inputs_table() -%}
    {#- One row per invocation: its inputs' fingerprints when it started, and the run it
        found them unchanged since (or null). -#}
    {{- return(api.Relation.create(database=target.dbname, schema=target.schema, identifier='backfill_run_inputs')) -}}
{%- endmacro %}


{% macro settled_inputs_table() -%}
    {#- The inputs a real run left behind (one row: the latest), validated or not. -#}
    {{- return(api.Relation.create(database=target.dbname, schema=target.schema, identifier='backfill_settled_inputs')) -}}
{%- endmacro %}


{% macro create_run_state_tables() -%}
    {#- SQL: creates the two tables when missing. Run by claim_backfill_run, under its lock. -#}
    create table if not exists {{ run_inputs_table() }} (
        invocation_id text primary key,
        inputs jsonb not null,
        inputs_key text not null,
        unchanged_since_run_id text,
        recorded_at timestamptz not null default now()
    );
    create table if not exists {{ settled_inputs_table() }} (
        run_id text primary key,
        inputs jsonb not null,
        inputs_key text not null,
        records_key text,
        settled_at timestamptz not null default now(),
        validated_at timestamptz
    );
{%- endmacro %}


{% macro plan_input_nodes() -%}
    {#- The unique ids of what the plan's tables are built from and a run does not build
        itself into them: every source, seed and incremental model a reusable table reads,
        directly or through views and ephemeral models. -#}
    {% set found = [] %}
    {% set visited = [] %}
    {% set pending = [] %}
    {% for node in graph.nodes.values() if node.config.materialized == 'reusable_table' %}
        {% do pending.extend(node.depends_on.nodes) %}
    {% endfor %}
    {#- a breadth-first walk (Jinja has no while loop) -#}
    {% for _ in range(100000) if pending | length > 0 %}
        {% set current = pending.pop() %}
        {% if current not in visited %}
            {% do visited.append(current) %}
            {% set node = graph_node(current) %}
            {% if is_read_as_content(current) %}
                {% do found.append(current) %}
            {% elif node is not none and node.config.materialized in ('view', 'ephemeral') %}
                {% do pending.extend(node.depends_on.nodes) %}
            {% endif %}
        {% endif %}
    {% endfor %}
    {{ return(found | sort) }}
{%- endmacro %}


{% macro graph_node(unique_id) -%}
    {#- The source or the node of dbt's graph with this unique id, or none. -#}
    {{ return(graph.sources.get(unique_id) if unique_id.startswith('source.') else graph.nodes.get(unique_id)) }}
{%- endmacro %}


{% macro is_read_as_content(unique_id) -%}
    {#- True for a source, a seed or an incremental model: their rows change without a
        build of theirs, so what a model reads from them is their content. -#}
    {% set node = graph_node(unique_id) %}
    {{ return(node is not none and (
        unique_id.startswith('source.') or node.resource_type == 'seed'
        or node.config.materialized == 'incremental'
    )) }}
{%- endmacro %}


{% macro node_relation(unique_id) -%}
    {#- The relation of a source or a node of the graph. -#}
    {% set node = graph_node(unique_id) %}
    {{ return(api.Relation.create(
        database=node.database,
        schema=node.schema,
        identifier=node.identifier if unique_id.startswith('source.') else node.alias,
    )) }}
{%- endmacro %}


{% macro content_fingerprint_sql(relation) -%}
    {#- SQL scalar subquery: the fingerprint of every row of `relation`, in any order:
        `<rows>-<sum of a 64-bit hash of each row as text>` (relation_content_fingerprint
        runs it; the run's inputs are fingerprinted with it in one statement). -#}
    (
        select count(*)::text || '-' || coalesce(sum(hashtextextended(fingerprinted::text, 0)::numeric), 0)::text
        from {{ relation }} as fingerprinted
    )
{%- endmacro %}


{% macro project_code_key() -%}
    {#- md5 of everything a build of this project compiles: each node's code, config, test
        arguments and file checksum (a seed's CSV: its table still holds the old rows
        when the build starts) (not its dependencies: they follow from the rest, and differ in a
        dry run, whose hooks read no source), every macro of the project, the dbt version, and the value of every
        var the project reads (except those that only change what is printed or whether
        tables are reused, and dry_run: a dry run may find the inputs of a real run
        unchanged). -#}
    {% set parts = [dbt_version] %}
    {% for unique_id, node in graph.nodes.items() | sort %}
        {% do parts.append(tojson([
            unique_id,
            node.get('raw_code'),
            node.get('config'),
            node.get('test_metadata'),
            node.get('checksum'),
        ])) %}
    {% endfor %}
    {% set var_names = [] %}
    {% for name, value in context.items() | sort if value.macro is defined and value.macro.package_name == project_name %}
        {% do parts.append(name ~ '=' ~ value.macro.macro_sql) %}
        {% do var_names.extend(modules.re.findall("var\\(\\s*'(\\w+)'", value.macro.macro_sql)) %}
    {% endfor %}
    {% for node in graph.nodes.values() %}
        {% do var_names.extend(modules.re.findall("var\\(\\s*'(\\w+)'", node.get('raw_code') or '')) %}
    {% endfor %}
    {% for name in var_names | unique | sort
        if name not in ('dry_run', 'verbose', 'verbose_group_limit', 'reuse_unchanged_models') %}
        {% do parts.append('var ' ~ name ~ '=' ~ tojson(var(name, none))) %}
    {% endfor %}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}


{% macro valid_build_records_sql() -%}
    {#- SQL: the rows of backfill_build_keys that still hold: the same table (same oid),
        built since the server last started. A database copied from another
        (createdb -T) holds the other's records, named in that database: to_regclass
        would refuse them ("cross-database references are not implemented"), so the case
        looks only at this database's names. -#}
    {% set prefix = dbt.string_literal(adapter.quote(target.dbname) ~ '.') %}
    select relation_name, build_key
    from {{ build_key_registry() }}
    where
        relation_oid = case
            when left(relation_name, length({{ prefix }})) = {{ prefix }}
                then to_regclass(relation_name)::oid
        end
        and built_at > pg_postmaster_start_time()
{%- endmacro %}


{% macro build_records_key_sql() -%}
    {#- SQL scalar subquery: md5 of every valid build record (which tables hold what). -#}
    (
        select md5(coalesce(string_agg(relation_name || '=' || build_key, ',' order by relation_name), ''))
        from ({{ valid_build_records_sql() }}) as records
    )
{%- endmacro %}


{% macro record_run_inputs() -%}
    {#- SQL, for claim_backfill_run's transaction: this invocation's inputs (the
        fingerprint of each plan input, the project's code key) and whether they are those
        the latest validated real run settled, with the same tables in place. Only `dbt
        build` looks; --full-refresh and var reuse_unchanged_models: false never find
        anything unchanged. The fingerprints also serve as the sources' keys in the run's
        build keys (dependency_build_key): one scan of each source per run. -#}
    {% set entries = ["'(code)', " ~ dbt.string_literal(project_code_key())] %}
    {% for unique_id in plan_input_nodes() %}
        {% set relation = node_relation(unique_id) %}
        {#- a seed or an incremental model is missing until the first build makes it -#}
        {% set exists = unique_id.startswith('source.') or load_cached_relation(relation) is not none %}
        {% do entries.append(dbt.string_literal(unique_id) ~ ', '
            ~ (content_fingerprint_sql(relation) if exists else "'missing'")) %}
    {% endfor %}
    {% set may_be_unchanged = flags.WHICH == 'build' and var('reuse_unchanged_models') and not flags.FULL_REFRESH %}
    delete from {{ run_inputs_table() }};
    insert into {{ run_inputs_table() }} (invocation_id, inputs, inputs_key, unchanged_since_run_id)
    -- materialized: the fingerprints are computed once, not once per use of `inputs`
    with current_inputs as materialized (
        select jsonb_build_object({{ entries | join(', ') }}) as inputs
    )
    select
        {{ dbt.string_literal(invocation_id) }},
        current_inputs.inputs,
        md5(current_inputs.inputs::text),
        {% if may_be_unchanged %}
        (
            select settled.run_id
            from {{ settled_inputs_table() }} as settled
            where
                settled.validated_at is not null
                and settled.inputs_key = md5(current_inputs.inputs::text)
                and settled.records_key = {{ build_records_key_sql() }}
        )
        {% else %}
        null
        {% endif %}
    from current_inputs;
{%- endmacro %}


{% macro run_inputs() -%}
    {#- {'inputs': {unique id: fingerprint}, 'unchanged_since': run id or none} of this
        invocation (empty inputs outside a build or a run). -#}
    {% set found = run_query(
        "select inputs::text, unchanged_since_run_id from " ~ run_inputs_table()
        ~ " where invocation_id = " ~ dbt.string_literal(invocation_id)
    ) if execute else none %}
    {% if found is none or found.rows | length == 0 %}
        {{ return({'inputs': {}, 'unchanged_since': none}) }}
    {% endif %}
    {{ return({'inputs': fromjson(found.rows[0][0]), 'unchanged_since': found.rows[0][1]}) }}
{%- endmacro %}


{% macro unchanged_since_run() -%}
    {#- The run whose settled inputs this invocation found unchanged, or none. -#}
    {{ return(run_inputs()['unchanged_since']) }}
{%- endmacro %}


{% macro fingerprint_after_own_writes(unique_id, start_fingerprint) -%}
    {#- SQL text expression: `start_fingerprint` (a source's, when the run started) plus
        what this run's ledger says it wrote there: the rows it inserted (customers,
        addresses) added, the rows it linked counted once as they are now and once less as
        they were (the same row with a null customer_id: a link is only ever set where it
        was null). Anything else that changed the table since the run started makes the
        result differ from the table's fingerprint, and the next run then does the full
        work. -#}
    {% set object_types = {
        'source.' ~ project_name ~ '.app.lead': ('lead', 'update'),
        'source.' ~ project_name ~ '.app.job': ('job', 'update'),
        'source.' ~ project_name ~ '.app.customer': ('customer', 'insert'),
        'source.' ~ project_name ~ '.app.customer_address': ('customer_address', 'insert'),
    } %}
    {% set start = dbt.string_literal(start_fingerprint) %}
    {% if unique_id not in object_types %}{{ return(start) }}{% endif %}
    {% set object_type, write = object_types[unique_id] %}
    {% set relation = node_relation(unique_id) %}
    (
        select
            (split_part({{ start }}, '-', 1)::bigint + {{ 'count(*)' if write == 'insert' else '0' }})::text
            || '-' || (
                substr({{ start }}, strpos({{ start }}, '-') + 1)::numeric
                + coalesce(sum(
                    hashtextextended(written::text, 0)::numeric
                    {% if write == 'update' %}
                    - hashtextextended(jsonb_populate_record(written, '{"customer_id": null}')::text, 0)::numeric
                    {% endif %}
                ), 0)
            )::text
        from {{ relation }} as written
        inner join {{ ref('backfill_ledger') }} as ledger
            on written.id = ledger.object_id
        where
            ledger.run_id = {{ dbt.string_literal(invocation_id) }}
            and ledger.object_type = {{ dbt.string_literal(object_type) }}
    )
{%- endmacro %}


{% macro record_settled_inputs() -%}
    {#- Post-hook of backfill_runs, in the apply's transaction, after its writes: the
        inputs this run leaves behind (fingerprint_after_own_writes), as the only row of
        backfill_settled_inputs, not yet validated. Nothing in a dry run or in a run that
        found its inputs unchanged (the settled row already describes them). -#}
    {% if execute and not is_dry_run() %}
        {% set current = run_inputs() %}
        {% if current.inputs and current.unchanged_since is none %}
            {% set entries = [] %}
            {% for unique_id, fingerprint in current.inputs.items() | sort %}
                {#- a seed or incremental model as it is now: the run has loaded it -#}
                {% set expression = dbt.string_literal(fingerprint) if unique_id == '(code)'
                    else fingerprint_after_own_writes(unique_id, fingerprint) if unique_id.startswith('source.')
                    else content_fingerprint_sql(node_relation(unique_id)) %}
                {% do entries.append(dbt.string_literal(unique_id) ~ ', ' ~ expression) %}
            {% endfor %}
            delete from {{ settled_inputs_table() }};
            insert into {{ settled_inputs_table() }} (run_id, inputs, inputs_key)
            -- materialized: computed once, not once per use of `inputs`
            with settled as materialized (
                select jsonb_build_object({{ entries | join(', ') }}) as inputs
            )
            select {{ dbt.string_literal(invocation_id) }}, settled.inputs, md5(settled.inputs::text)
            from settled;
        {% endif %}
    {% endif %}
{%- endmacro %}


{% macro validate_settled_inputs(results) -%}
    {#- on-run-end: the inputs this real run settled become what the next build may find
        unchanged, once every node of the project ran and passed (warnings allowed): then
        with the tables now in place (their build records). -#}
    {% if execute and flags.WHICH == 'build' and not is_dry_run() %}
        {% set passed = ['success', 'pass', 'warn'] %}
        {% set ns = namespace(all_passed=results | length > 0) %}
        {% for result in results if result.status | string not in passed %}
            {% set ns.all_passed = false %}
        {% endfor %}
        {% set selected = invocation_args_dict.get('select') or invocation_args_dict.get('exclude')
            or invocation_args_dict.get('selector') %}
        {% if ns.all_passed and not selected %}
            {% do run_query(
                "update " ~ settled_inputs_table() ~ " set validated_at = now(), records_key = "
                ~ build_records_key_sql() ~ " where run_id = " ~ dbt.string_literal(invocation_id)
            ) %}
        {% endif %}
    {% endif %}
    select 1
{%- endmacro %}
