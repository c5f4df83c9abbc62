{% materialization reusable_table, adapter='postgres' %}
    {#- A table that is rebuilt only when what it is built from has changed.
        Its build key is the md5 of its compiled SQL, its table settings and the build
        keys of everything it reads (reusable_table_build_key). A build records the key
        in backfill_build_keys, in the transaction that puts the new table in place; the
        next run that computes the same key, for the same table (same oid), built since
        the server last started (an unlogged table is emptied by crash recovery), keeps
        the table and prints REUSED. A table kept per row (config update_rows_by) whose
        own SQL and settings are those it was built with is brought up to date from the
        rows whose inputs changed and prints UPDATED (update_rows_in_place.sql).
        Otherwise, and always with --full-refresh or var reuse_unchanged_models: false,
        it builds like dbt's `table` materialization. -#}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- if config.get('update_rows_by') and pre_hooks | rejectattr('transaction') | list | length > 0 -%}
        {#- such a hook commits, which would drop find_row_changes' temporary tables -#}
        {% do exceptions.raise_compiler_error(
            model.name ~ ": a table kept per row (update_rows_by) cannot have a pre-hook outside its transaction"
        ) %}
    {%- endif -%}

    {#- One snapshot for the whole transaction (start_build_transaction). A build that
        found its inputs unchanged since the last validated real run uses the build
        records read when it started (remember_run_inputs): it keeps every table, and a
        kept table sends no query. -#}
    {%- set kept_records = unchanged_run_cached('unchanged_run_build_records') -%}
    {%- if kept_records is not none and kept_records.get(target_relation.render(), {}).get('build_key') is none -%}
        {#- a table without a record (one that reads what has no key is always rebuilt)
            is built as in any run -#}
        {%- set kept_records = none -%}
    {%- endif -%}
    {% if kept_records is none %}{% do start_build_transaction() %}{% endif %}
    {#- Every recorded key, read once (one query, not one per relation it depends on). -#}
    {%- set records = kept_records if kept_records is not none else recorded_build_records() -%}
    {%- set recorded = records.get(
        target_relation.render(), {'build_key': none, 'docs_key': none, 'definition_key': none}
    ) -%}
    {#- A build that found its inputs unchanged since the last validated real run keeps
        every table that run left (unchanged_runs.sql): no key to compute. -#}
    {%- set build_key = recorded.build_key if records['(invocation)'].unchanged_since and recorded.build_key
        else reusable_table_build_key(records) -%}
    {%- set docs_key = reusable_table_docs_key() -%}

    {%- if build_key is not none and reusable_table_is_current(recorded.build_key, build_key) -%}
        {{ log("reused " ~ target_relation ~ ": nothing it is built from has changed", info=false) }}
        {#- The table's comments (persist_docs) are those written with the docs key
            recorded: rewritten only when the descriptions have changed since (each
            rewrite is a catalog query and a COMMENT per column). -#}
        {% if recorded.docs_key != docs_key %}
            {% do persist_docs(target_relation, model) %}
            {% call statement('record_docs_key') -%}
                {{ record_build_key(target_relation, build_key, docs_key, recorded.definition_key) }}
            {%- endcall %}
            {{ adapter.commit() }}
        {% elif kept_records is none %}
            {{ adapter.commit() }}
        {% endif %}
        {% do store_raw_result('main', message='REUSED', code='REUSED', rows_affected=0) %}
        {{ return({'relations': [target_relation]}) }}
    {%- endif -%}

    {#- (not expected: a table with a record is current in such a run; nothing was sent yet) -#}
    {% if kept_records is not none %}{% do start_build_transaction() %}{% endif %}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set definition_key = reusable_table_definition_key(records) -%}

    {#- A table kept per row (config update_rows_by) whose definition is unchanged is
        brought up to date from its rows whose inputs changed: in place when they are
        few, otherwise written anew from the rows it keeps and those it computes. -#}
    {%- set build_sql = sql -%}
    {%- set row_changes = none -%}
    {%- if existing_relation is not none and definition_key is not none
        and reusable_table_is_current(recorded.definition_key, definition_key) -%}
        {%- set row_changes = find_row_changes(target_relation, sql, config.get('update_rows_by')) -%}
        {%- if row_changes.in_place -%}
            {{ run_hooks(pre_hooks, inside_transaction=False) }}
            {{ run_hooks(pre_hooks, inside_transaction=True) }}
            {% call statement('main') -%}
                {{ update_rows_in_place(target_relation, sql, row_changes) }}
            {%- endcall %}
            {{ run_hooks(post_hooks, inside_transaction=True) }}
            {% call statement('record_build_key') -%}
                {{ record_build_key(target_relation, build_key, docs_key, definition_key) }}
            {%- endcall %}
            {% if recorded.docs_key != docs_key %}
                {% do persist_docs(target_relation, model) %}
            {% endif %}
            {{ adapter.commit() }}
            {{ run_hooks(post_hooks, inside_transaction=False) }}
            {% do store_raw_result('main', **row_changes_result(row_changes)) %}
            {{ return({'relations': [target_relation]}) }}
        {%- endif -%}
        {%- set build_sql = rows_kept_and_computed_sql(target_relation, sql, row_changes) -%}
    {%- endif -%}

    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
    {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
    {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
    {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}
    {% set grant_config = config.get('grants') %}

    {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
    {{ drop_relation_if_exists(preexisting_backup_relation) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('main') -%}
        {{ get_create_table_as_sql(False, intermediate_relation, build_sql) }}
    {%- endcall %}

    {% do create_indexes(intermediate_relation) %}

    {% if existing_relation is not none %}
        {% set existing_relation = load_cached_relation(existing_relation) %}
        {% if existing_relation is not none %}
            {{ adapter.rename_relation(existing_relation, backup_relation) }}
        {% endif %}
    {% endif %}

    {{ adapter.rename_relation(intermediate_relation, target_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}

    {% call statement('record_build_key') -%}
        {{ record_build_key(target_relation, build_key, docs_key, definition_key) }}
    {%- endcall %}

    {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
    {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}

    {% do persist_docs(target_relation, model) %}

    {{ adapter.commit() }}

    {{ drop_relation_if_exists(backup_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {% if row_changes is not none %}
        {% do store_raw_result('main', **row_changes_result(row_changes)) %}
    {% endif %}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro start_build_transaction() -%}
    {#- The first statement of a reusable table's build: one snapshot for the whole
        transaction, so the fingerprints of the rows its key describes are those the
        table is then built from; in the same round trip, the transaction's work_mem
        (raise_work_mem). -#}
    {% call statement('repeatable_read') -%}
        set transaction isolation level repeatable read;
        {{ raise_work_mem() }}
    {%- endcall %}
{%- endmacro %}


{% macro build_key_registry() -%}
    {#- The relation that holds the build key of each reusable table (see create_build_key_registry). -#}
    {{- return(api.Relation.create(
        database=target.dbname, schema=target.schema, identifier='backfill_build_keys'
    )) -}}
{%- endmacro %}


{% macro create_build_key_registry() -%}
    {#- SQL: creates backfill_build_keys when missing (and the column a registry made by
        an earlier version lacks). Run by claim_backfill_run, under its lock, before any
        model. -#}
    create table if not exists {{ build_key_registry() }} (
        relation_name text primary key,
        build_key text not null,
        relation_oid oid not null,
        built_at timestamptz not null default now(),
        invocation_id text not null
    );
    alter table {{ build_key_registry() }} add column if not exists definition_key text;
{%- endmacro %}


{% macro record_build_key(relation, build_key, docs_key=none, definition_key=none) -%}
    {#- SQL: records the key a reusable table was just built with (none: forgets it), the
        docs key of the comments it was given (stored after the build key, `|`), and the
        definition key of a table kept per row (reusable_table_definition_key). -#}
    delete from {{ build_key_registry() }}
    where relation_name = {{ dbt.string_literal(relation.render()) }};
    {% if build_key is not none %}
        insert into {{ build_key_registry() }} (
            relation_name, build_key, relation_oid, invocation_id, definition_key
        )
        values (
            {{ dbt.string_literal(relation.render()) }},
            {{ dbt.string_literal(build_key ~ ('|' ~ docs_key if docs_key is not none else '')) }},
            to_regclass({{ dbt.string_literal(relation.render()) }})::oid,
            {{ dbt.string_literal(invocation_id) }},
            {{ dbt.string_literal(definition_key) if definition_key is not none else 'null' }}
        );
    {% endif %}
{%- endmacro %}


{% macro recorded_build_key(relation, records) -%}
    {#- The build key recorded for `relation` in `records` (recorded_build_records), or
        none: never recorded, the table was replaced since (another oid), or built
        before the server last started. -#}
    {{ return(records.get(relation.render(), {}).get('build_key')) }}
{%- endmacro %}


{% macro recorded_build_records() -%}
    {#- {relation name: {build_key, docs_key, definition_key}} of every reusable table whose recorded key
        still holds (valid_build_records_sql), and '(invocation)': {unchanged_since,
        inputs} (run_inputs). A key recorded by an earlier version has no docs key (none).
        One query. -#}
    {% set records = {'(invocation)': {'unchanged_since': none, 'inputs': {}}} %}
    {% if not execute %}{{ return(records) }}{% endif %}
    {#- and, in the same query, this invocation's inputs (record_run_inputs) -#}
    {% set found = run_query(
        valid_build_records_sql()
        ~ " union all select '(invocation)', coalesce(unchanged_since_run_id, '') || '|' || inputs::text, null from "
        ~ run_inputs_table() ~ " where invocation_id = " ~ dbt.string_literal(invocation_id)
    ) %}
    {% for row in found.rows if row[0] == '(invocation)' %}
        {% set parts = row[1].split('|', 1) %}
        {% do records.update({'(invocation)': {'unchanged_since': parts[0] or none, 'inputs': fromjson(parts[1])}}) %}
    {% endfor %}
    {% for row in found.rows if row[0] != '(invocation)' %}
        {% set parts = row[1].split('|', 1) %}
        {% do records.update({row[0]: {
            'build_key': parts[0],
            'docs_key': parts[1] if parts | length == 2 else none,
            'definition_key': row[2],
        }}) %}
    {% endfor %}
    {{ return(records) }}
{%- endmacro %}


{% macro reusable_table_is_current(recorded_key, build_key) -%}
    {#- True when the table may be kept: reuse is on, no --full-refresh, and the key
        recorded for the table is `build_key`. -#}
    {{ return(
        var('reuse_unchanged_models')
        and not should_full_refresh()
        and recorded_key is not none
        and recorded_key == build_key
    ) }}
{%- endmacro %}


{% macro reusable_table_docs_key() -%}
    {#- md5 of what persist_docs writes for the current model: its persist_docs
        setting, its description and its columns' descriptions. Not part of the build
        key: a changed description rewrites the comments, it does not rebuild the
        table or what reads it. -#}
    {% set columns = [] %}
    {% for name, column in model.columns.items() | sort %}
        {% do columns.append([name, column.description]) %}
    {% endfor %}
    {{ return(local_md5(tojson([config.get('persist_docs'), model.description, columns]))) }}
{%- endmacro %}


{% macro reusable_table_build_key(records) -%}
    {#- The current model's build key: md5 of its compiled SQL, the settings that shape
        its table, and the key of each relation it depends on (dependency_build_key);
        none when one of them has no key, and the model is then always rebuilt. -#}
    {{ return(build_key_of(reusable_table_settings(), model.depends_on.nodes, records)) }}
{%- endmacro %}


{% macro reusable_table_settings() -%}
    {#- What shapes the current model's table besides what it reads: its compiled SQL and
        its table settings (indexes, unlogged, update_rows_by), as texts. -#}
    {{ return([
        sql,
        tojson(config.get('indexes')),
        tojson(config.get('unlogged')),
    ] + ([tojson(config.get('update_rows_by'))] if config.get('update_rows_by') else [])) }}
{%- endmacro %}


{% macro build_key_of(parts, dependency_ids, records) -%}
    {#- md5 of `parts` and of the key of each dependency (dependency_build_key); none
        when one of them has none. -#}
    {% for unique_id in dependency_ids | sort %}
        {% set key = dependency_build_key(unique_id, records) %}
        {% if key is none %}{{ return(none) }}{% endif %}
        {% do parts.append(unique_id ~ '=' ~ key) %}
    {% endfor %}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}


{% macro dependency_build_key(unique_id, records) -%}
    {#- The key of what a model reads from `unique_id`: the content of a source, a seed or
        an incremental model (their rows change without a build of theirs), a view's
        definition as stored and the keys of what it reads, a reusable table's recorded
        key - or its content, when it says so (config dependents_read_content: a small
        table rebuilt often whose rows seldom change). None for anything else (a plain
        table, an ephemeral model). -#}
    {% set node = graph_node(unique_id) %}
    {% if node is none %}{{ return(none) }}{% endif %}
    {% set relation = node_relation(unique_id) %}
    {% set materialized = none if unique_id.startswith('source.') else node.config.materialized %}
    {% set fingerprint_at_start = records.get('(invocation)', {}).get('inputs', {}).get(unique_id) %}
    {% if unique_id.startswith('source.') and fingerprint_at_start is not none %}
        {#- a source's rows as the run started (record_run_inputs): one scan per run. A row
            the app changes later in the run makes the next run rebuild (its key differs). -#}
        {{ return(fingerprint_at_start) }}
    {% elif is_read_as_content(unique_id) %}
        {{ return(relation_content_fingerprint(relation, unique_id)) }}
    {% elif materialized == 'view' %}
        {% set definition = view_definition(relation) %}
        {% if definition is none %}{{ return(none) }}{% endif %}
        {{ return(build_key_of([definition], node.depends_on.nodes, records)) }}
    {% elif materialized == 'reusable_table' and node.config.get('dependents_read_content') %}
        {{ return(relation_content_fingerprint(relation)) }}
    {% elif materialized == 'reusable_table' %}
        {{ return(recorded_build_key(relation, records)) }}
    {% endif %}
    {{ return(none) }}
{%- endmacro %}


{% macro view_definition(relation) -%}
    {#- The definition of a view as PostgreSQL stores it, or none when it does not exist. -#}
    {% set found = run_query(
        "select pg_get_viewdef(to_regclass(" ~ dbt.string_literal(relation.render()) ~ "))"
    ) %}
    {{ return(found.rows[0][0] if found.rows | length == 1 else none) }}
{%- endmacro %}


{% macro relation_content_fingerprint(relation, unique_id=none) -%}
    {#- A fingerprint of every row of `relation`, in any order: the row count and the sum
        of a 64-bit hash of each row (content_fingerprint_sql: every column, or those the
        backfill reads of an app source `unique_id`). Computed when a model needs it, so
        it describes the rows that model is about to read. -#}
    {% set by_record = relation | string in record_hashable_relations([relation], [unique_id]) %}
    {% set found = run_query("select " ~ content_fingerprint_sql(relation, by_record, unique_id)) %}
    {{ return(found.rows[0][0]) }}
{%- endmacro %}
