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
    {#- SQL: creates the two tables, and backfill_ledger_checks, when missing. Run by
        claim_backfill_run, under its lock. -#}
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
    {{ create_ledger_checks_table() }}
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


{% macro content_fingerprint_sql(relation, by_record=false, unique_id=none) -%}
    {#- SQL scalar subquery: the fingerprint of every row of `relation`, in any order:
        `<rows>-<sum of a 64-bit hash of each row>` (row_hash_sql of fingerprinted_row_sql:
        an app source's rows as the columns the backfill reads, `unique_id` telling which;
        `by_record`: the relation is one of record_hashable_relations).
        relation_content_fingerprint runs it; the run's inputs are fingerprinted with it in
        one statement. -#}
    (
        select
            count(*)::text || '-'
            || coalesce(sum({{ row_hash_sql(fingerprinted_row_sql('fingerprinted', unique_id), by_record) }}::numeric), 0)::text
        from {{ relation }} as fingerprinted
    )
{%- endmacro %}


{% macro fingerprinted_row_sql(alias, unique_id=none, without_link=false) -%}
    {#- SQL: what a fingerprint hashes of each row of the table aliased `alias`. For an
        app source (`unique_id`), the row of the columns the backfill reads (app_contract):
        what the app changes in its other columns with every message (a lead's stage, its
        updated_at) changes no fingerprint, so the next run still finds nothing changed.
        For anything else, the whole row. `without_link` (an app source only): the row as
        it was before the run linked it (customer_id null), to take a link a run made out
        of a fingerprint. -#}
    {%- set columns = fingerprinted_columns(unique_id) -%}
    {%- if columns is none and without_link -%}
        {#- only the app tables a run links rows of have a link to take out -#}
        {% do exceptions.raise_compiler_error("fingerprinted_row_sql: no link to take out of " ~ unique_id) %}
    {%- elif columns is none -%}
        {{ alias }}
    {%- else -%}
        row(
        {%- for column in columns -%}
            {%- set value = alias ~ '.' ~ adapter.quote(column) -%}
            {#- a null of the column's own type -#}
            {{ '(case when false then ' ~ value ~ ' end)' if without_link and column == 'customer_id' else value }}
            {{- ', ' if not loop.last -}}
        {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}


{% macro fingerprinted_columns(unique_id) -%}
    {#- The columns a fingerprint of `unique_id` hashes: for a source of the app, those of
        app_contract(); none (every column) for anything else. -#}
    {% if unique_id is none or not unique_id.startswith('source.' ~ project_name ~ '.app.') %}
        {{ return(none) }}
    {% endif %}
    {{ return(app_contract().get(graph_node(unique_id).identifier)) }}
{%- endmacro %}


{% macro row_hash_sql(row, by_record) -%}
    {#- SQL: a 64-bit hash of the row `row` (a table alias or a row expression).
        `by_record`: hash_record_extended hashes the columns as they are (at 1M leads,
        "Lead" in 0.28 s); otherwise the row is written out as text and the text hashed
        (0.79 s), which any column type allows. A fingerprint and the hashes added to it
        later must be made the same way. -#}
    {%- if by_record -%}
        hash_record_extended({{ row }}, 0)
    {%- else -%}
        hashtextextended({{ row }}::text, 0)
    {%- endif -%}
{%- endmacro %}


{% macro record_hashable_relations(relations, unique_ids=[]) -%}
    {#- The relations of `relations` (as rendered) whose rows hash_record_extended can
        hash: on PostgreSQL 14 or later (before, it does not exist), when every column is
        of a type with an extended hash function (one with a default hash operator class,
        an enum, or an array of those; a domain as its base type) and compares with a
        deterministic collation (a case-insensitive one hashes 'A' and 'a' alike: a
        change of case would go unseen). Of an app source, only the columns a
        fingerprint hashes count (fingerprinted_columns; `unique_ids`: the source or
        node of each relation, in the same order). One catalog query. -#}
    {% if not execute or relations | length == 0 %}{{ return([]) }}{% endif %}
    {% set names = [] %}
    {% for relation in relations %}
        {% set columns = fingerprinted_columns(unique_ids[loop.index0] if unique_ids else none) %}
        {% do names.append('(' ~ dbt.string_literal(relation | string) ~ ', '
            ~ (sql_text_array(columns) if columns else 'null::text[]') ~ ')') %}
    {% endfor %}
    {% set found = run_query(
        "select relations.relation_name
        from (values " ~ names | join(', ') ~ ") as relations (relation_name, column_names)
        where
            current_setting('server_version_num')::int >= 140000
            and not exists (
                select 1
                from pg_attribute as attributes
                inner join pg_type as column_types
                    on attributes.atttypid = column_types.oid
                left join pg_collation as collations
                    on attributes.attcollation = collations.oid
                where
                    attributes.attrelid = to_regclass(relations.relation_name)
                    and (relations.column_names is null or attributes.attname = any(relations.column_names))
                    and attributes.attnum > 0
                    and not attributes.attisdropped
                    and (
                        collations.collisdeterministic is false
                        or not exists (
                            select 1
                            from pg_type as hashed_types
                            left join pg_type as element_types
                                on hashed_types.typelem = element_types.oid
                            where
                                hashed_types.oid = case column_types.typtype
                                    when 'd' then column_types.typbasetype
                                    else column_types.oid
                                end
                                and (
                                    hashed_types.typtype = 'e'
                                    or hashed_types.typcategory <> 'A'
                                    and " ~ has_extended_hash('hashed_types.oid') ~ "
                                    or hashed_types.typcategory = 'A'
                                    and (
                                        element_types.typtype = 'e'
                                        or " ~ has_extended_hash('element_types.oid') ~ "
                                    )
                                )
                        )
                    )
            )"
    ) %}
    {{ return(found.columns[0].values() | list) }}
{%- endmacro %}


{% macro has_extended_hash(type_oid) -%}
    {#- SQL condition: the type has a default hash operator class with an extended hash
        function (support function 2) for exactly that type (a type hashed through another,
        binary-compatible one, such as varchar, is not recognized: it is hashed as text). -#}
    exists (
        select 1
        from pg_opclass as operator_classes
        inner join pg_am as access_methods
            on operator_classes.opcmethod = access_methods.oid
        inner join pg_amproc as support_functions
            on
                operator_classes.opcfamily = support_functions.amprocfamily
                and support_functions.amprocnum = 2
        where
            access_methods.amname = 'hash'
            and operator_classes.opcdefault
            and operator_classes.opcintype = {{ type_oid }}
            and support_functions.amproclefttype = {{ type_oid }}
    )
{%- endmacro %}


{% macro project_code_key() -%}
    {#- md5 of everything a build of this project compiles: each node's code, config, test
        arguments, descriptions (the comments a kept view or table would otherwise keep)
        and file checksum (a seed's CSV: its table still holds the old rows
        when the build starts) (not its dependencies: they follow from the rest, and differ in a
        dry run, whose hooks read no source), every macro of the project, the dbt version, and the value of every
        var the project reads (except those that only change what is printed, whether
        tables are reused or how much memory a statement may use, and dry_run: a dry run may find the inputs of a real run
        unchanged). -#}
    {% set parts = [dbt_version] %}
    {% for unique_id, node in graph.nodes.items() | sort %}
        {% do parts.append(tojson([
            unique_id,
            node.get('raw_code'),
            node.get('config'),
            node.get('test_metadata'),
            node.get('checksum'),
            node.get('description'),
            node.get('columns'),
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
        if name not in ('dry_run', 'verbose', 'verbose_group_limit', 'reuse_unchanged_models', 'min_work_mem') %}
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
    select relation_name, build_key, definition_key
    from {{ build_key_registry() }}
    where
        relation_oid = case
            when left(relation_name, length({{ prefix }})) = {{ prefix }}
                then to_regclass(relation_name)::oid
        end
        and built_at > pg_postmaster_start_time()
{%- endmacro %}


{% macro build_records_key_sql() -%}
    {#- SQL scalar subquery: md5 of every valid build record (which tables hold what) and
        of the oid and definition of every view of the backfill's schema. A build that
        finds its inputs unchanged keeps the views (kept_in_unchanged_run): a view made
        again since the last validated run (by a failed build with other vars, or by
        hand; CREATE OR REPLACE keeps the oid) changes the key, and the next build then
        makes every view again. -#}
    (
        select md5(
            coalesce((
                select string_agg(relation_name || '=' || build_key, ',' order by relation_name)
                from ({{ valid_build_records_sql() }}) as records
            ), '')
            || '|' || coalesce((
                select string_agg(views.oid::text || ':' || md5(pg_get_viewdef(views.oid)), ',' order by views.oid)
                from pg_class as views
                inner join pg_namespace as schemas
                    on views.relnamespace = schemas.oid
                where views.relkind = 'v' and schemas.nspname = {{ dbt.string_literal(target.schema) }}
            ), '')
        )
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
    {% set inputs = plan_input_nodes() %}
    {% set existing = {} %}
    {% for unique_id in inputs %}
        {% set relation = node_relation(unique_id) %}
        {#- a seed or an incremental model is missing until the first build makes it -#}
        {% if unique_id.startswith('source.') or load_cached_relation(relation) is not none %}
            {% do existing.update({unique_id: relation}) %}
        {% endif %}
    {% endfor %}
    {% set by_record = record_hashable_relations(existing.values() | list, existing.keys() | list) %}
    {% for unique_id in inputs %}
        {% set relation = existing.get(unique_id) %}
        {% do entries.append(dbt.string_literal(unique_id) ~ ', ' ~ (
            content_fingerprint_sql(relation, relation | string in by_record, unique_id) if relation is not none
            else "'missing'")) %}
    {% endfor %}
    {% set may_be_unchanged = flags.WHICH == 'build' and var('reuse_unchanged_models') and not flags.FULL_REFRESH %}
    delete from {{ run_inputs_table() }};
    {{ fingerprints_table('backfill_current_inputs', entries) }}
    insert into {{ run_inputs_table() }} (invocation_id, inputs, inputs_key, unchanged_since_run_id)
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
    from backfill_current_inputs as current_inputs;
{%- endmacro %}


{% macro fingerprints_table(name, entries) -%}
    {#- SQL: a temporary table `name`, dropped at commit, of one row: `inputs`, the jsonb
        object of `entries` ("'key', expression" strings). A table made by a query, not
        an INSERT ... SELECT: PostgreSQL computes the fingerprints with parallel workers
        only for a query that writes nothing or creates its table (at 1M leads, 5.4 s
        inserted directly, 0.8 s this way with the hashes of row_hash_sql). -#}
    create temporary table {{ name }} on commit drop as
    select jsonb_build_object({{ entries | join(', ') }}) as inputs;
{%- endmacro %}


{% macro invocation_cache() -%}
    {#- A dict every node of this dbt invocation shares: dbt gives a macro no state that
        outlives its node, but every node's `graph` is the one dict dbt builds for the
        invocation. Holds what claim_backfill_run read once when the run started
        (remember_run_inputs), so each node need not ask the database again. Keyed by
        the invocation: a miss (another dbt version copying the graph) costs only the
        queries it saves. -#}
    {% set key = 'customer_backfill_invocation_cache' %}
    {% set cache = graph.get(key) %}
    {% if cache is none or cache.get('invocation_id') != invocation_id %}
        {% set cache = {'invocation_id': invocation_id} %}
        {% do graph.update({key: cache}) %}
    {% endif %}
    {{ return(cache) }}
{%- endmacro %}


{% macro remember_run_inputs() -%}
    {#- After claim_backfill_run has recorded this invocation's inputs (record_run_inputs):
        reads them back once with the build records, for every node (invocation_cache).
        When they are unchanged since the last validated run, also the build records
        (nothing in the run changes them: every table is kept) and the one row a check
        returns when it passes (test materialization): such a run's nodes then send no
        query at all. -#}
    {% set records = recorded_build_records() %}
    {% set cache = invocation_cache() %}
    {% do cache.update({'run_inputs': records['(invocation)']}) %}
    {% if records['(invocation)']['unchanged_since'] is not none %}
        {% do cache.update({
            'unchanged_run_build_records': records,
            'passed_check_result': run_query(passed_check_sql()),
        }) %}
    {% endif %}
{%- endmacro %}


{% macro unchanged_run_cached(name) -%}
    {#- What remember_run_inputs kept for a build that found its inputs unchanged:
        `unchanged_run_build_records` or `passed_check_result`; none in any other run. -#}
    {{ return(invocation_cache().get(name)) }}
{%- endmacro %}


{% macro run_inputs() -%}
    {#- {'inputs': {unique id: fingerprint}, 'unchanged_since': run id or none} of this
        invocation (empty inputs outside a build or a run). Read once per invocation
        (remember_run_inputs); asked of the database when not. -#}
    {% set cached = invocation_cache().get('run_inputs') if execute else none %}
    {% if cached is not none %}{{ return(cached) }}{% endif %}
    {% set found = run_query(
        "select inputs::text, unchanged_since_run_id from " ~ run_inputs_table()
        ~ " where invocation_id = " ~ dbt.string_literal(invocation_id)
    ) if execute else none %}
    {% if found is none or found.rows | length == 0 %}
        {{ return({'inputs': {}, 'unchanged_since': none}) }}
    {% endif %}
    {{ return({'inputs': fromjson(found.rows[0][0]), 'unchanged_since': found.rows[0][1]}) }}
{%- endmacro %}


{% macro is_unchanged_build() -%}
    {#- True in a `dbt build` that found its inputs unchanged since the last validated
        real run: what it keeps, skips or does not count. -#}
    {{ return(flags.WHICH == 'build' and unchanged_since_run() is not none) }}
{%- endmacro %}


{% macro passed_check_sql() -%}
    {#- SQL: the one row a passing check returns (failures, should_warn, should_error). -#}
    select 0 as failures, false as should_warn, false as should_error
{%- endmacro %}


{% macro unchanged_since_run() -%}
    {#- The run whose settled inputs this invocation found unchanged, or none. -#}
    {{ return(run_inputs()['unchanged_since']) }}
{%- endmacro %}


{% macro fingerprint_after_own_writes(unique_id, start_fingerprint, by_record) -%}
    {#- SQL text expression: `start_fingerprint` (a source's, when the run started) plus
        what this run's ledger says it wrote there: the rows it inserted (customers,
        addresses) added, the rows it linked counted once as they are now and once less as
        they were (the same row with a null customer_id: a link is only ever set where it
        was null). Anything else that changed the table since the run started makes the
        result differ from the table's fingerprint, and the next run then does the full
        work. `by_record`: the rows are hashed as the start fingerprint hashed them
        (row_hash_sql). -#}
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
                    {{ row_hash_sql(fingerprinted_row_sql('written', unique_id), by_record) }}::numeric
                    {% if write == 'update' %}
                    - {{ row_hash_sql(fingerprinted_row_sql('written', unique_id, without_link=true), by_record) }}::numeric
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
            {% set relations = {} %}
            {% for unique_id in current.inputs if unique_id != '(code)' %}
                {% do relations.update({unique_id: node_relation(unique_id)}) %}
            {% endfor %}
            {% set by_record = record_hashable_relations(relations.values() | list, relations.keys() | list) %}
            {% for unique_id, fingerprint in current.inputs.items() | sort %}
                {#- a seed or incremental model as it is now: the run has loaded it -#}
                {% set hashed_as_record = unique_id in relations and relations[unique_id] | string in by_record %}
                {% set expression = dbt.string_literal(fingerprint) if unique_id == '(code)'
                    else fingerprint_after_own_writes(unique_id, fingerprint, hashed_as_record) if unique_id.startswith('source.')
                    else content_fingerprint_sql(relations[unique_id], hashed_as_record, unique_id) %}
                {% do entries.append(dbt.string_literal(unique_id) ~ ', ' ~ expression) %}
            {% endfor %}
            delete from {{ settled_inputs_table() }};
            {{ fingerprints_table('backfill_settled_now', entries) }}
            insert into {{ settled_inputs_table() }} (run_id, inputs, inputs_key)
            select {{ dbt.string_literal(invocation_id) }}, settled.inputs, md5(settled.inputs::text)
            from backfill_settled_now as settled;
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
