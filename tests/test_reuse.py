"""Tables of the plan that a run keeps when nothing they are built from has changed
(the `reusable_table` materialization), and rebuilds as soon as something has."""

from __future__ import annotations

import json
import re
from pathlib import Path

from backfill_tools.dbtrun import UNCHANGED_RUN, DbtProject
from backfill_tools.quality.changes import app_changes, load_changes
from backfill_tools.quality.generate import generate
from tests.appdata import AppDatabase
from tests.scenarios import node_results, node_statuses, seed_small_app, statistics

APP_STATE = """
    select 'customer', md5(coalesce(string_agg(
        concat_ws('|', id, name, phone, email, metadata - 'createdAt' - 'runId'), ',' order by id
    ), ''))
    from "Customer"
    union all
    select 'lead', md5(coalesce(string_agg(concat_ws('|', id, customer_id), ',' order by id), ''))
    from "Lead"
    union all
    select 'job', md5(coalesce(string_agg(concat_ws('|', id, customer_id), ',' order by id), ''))
    from "Job"
    union all
    select 'address', md5(coalesce(string_agg(
        concat_ws('|', id, customer_id, address, city, state, zip, is_primary), ',' order by id
    ), ''))
    from "CustomerAddress"
"""


def model_outcomes(project: DbtProject) -> dict[str, str]:
    """Each reusable table of the last dbt command: 'reused', 'updated' (in place, a
    table kept per row) or 'built'."""
    manifest = json.loads((project.work_dir / "target" / "manifest.json").read_text())
    outcomes: dict[str, str] = {}
    for result in node_results(project):
        node = manifest["nodes"].get(result["unique_id"], {})
        if node.get("config", {}).get("materialized") == "reusable_table":
            assert result["status"] == "success", result
            message = result["message"] or ""
            outcomes[node["name"]] = (
                "reused"
                if message == "REUSED"
                else "updated"
                if message.startswith("UPDATED ")
                else "built"
            )
    return outcomes


def app_state(db: AppDatabase) -> dict[str, str]:
    """The app's customers, links and addresses, without the columns a run stamps."""
    return {name: digest for name, digest in db.query(APP_STATE)}


def test_a_real_run_after_its_dry_run_reuses_the_plan_and_applies_the_same(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    planned = statistics(project.build(dry_run=True).stdout)
    assert set(model_outcomes(project).values()) == {"built"}

    applied = project.build()
    outcomes = model_outcomes(project)

    # plan_summary carries the run's id, so its SQL differs in every run
    assert outcomes.pop("plan_summary") == "built"
    assert len(outcomes) >= 25
    assert set(outcomes.values()) == {"reused"}
    assert f"Reused {len(outcomes)} of {len(outcomes) + 1} tables of the plan" in applied.stdout
    assert statistics(applied.stdout) == planned
    reused_state = app_state(app_db)

    # the same run with every table rebuilt writes the same
    project.run("run-operation", "rollback_backfill")
    rebuilt = project.build(vars={"reuse_unchanged_models": False})
    assert set(model_outcomes(project).values()) == {"built"}
    assert "Reused" not in rebuilt.stdout
    assert app_state(app_db) == reused_state
    assert statistics(rebuilt.stdout) == planned


def test_a_changed_lead_rebuilds_the_plan_and_is_applied(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_small_app(app_db)
    project.build(dry_run=True)
    # after the dry run the lead with no usable identifier gets Cy's e-mail
    app_db.execute(
        f"update {app_db.table('Lead')} set email = 'cy@y.org' where id = %s",
        (ids["nothing_lead"],),
    )

    project.build()
    outcomes = model_outcomes(project)

    # staging normalizes that lead again, in place; what reads it is rebuilt
    assert outcomes["stg_app__leads"] == "updated"
    assert outcomes["plan_lead_links"] == "built"
    assert app_db.lead_customer(ids["nothing_lead"]) == app_db.lead_customer(ids["email_lead"])


def test_a_new_job_rebuilds_only_what_reads_jobs(app_db: AppDatabase, project: DbtProject) -> None:
    ids = seed_small_app(app_db)
    project.build(dry_run=True)
    new_job = app_db.add_job(ids["email_lead"])

    project.build()
    outcomes = model_outcomes(project)

    assert outcomes["stg_app__leads"] == "reused"
    assert outcomes["int_leads_grouped_by_identity"] == "reused"
    assert outcomes["plan_job_links"] == "built"
    assert outcomes["plan_conflicts"] == "built"
    assert app_db.job_customer(new_job) == app_db.lead_customer(ids["email_lead"])


def test_a_changed_var_or_seed_rebuilds_what_uses_it(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)

    project.build(dry_run=True, vars={"identity_max_leads_per_value": 3})
    by_var = model_outcomes(project)
    # the cap is in the screening's SQL: it and everything after it are rebuilt
    assert by_var["stg_app__leads"] == "reused"
    assert by_var["int_identifier_values_screened"] == "built"
    assert by_var["int_leads_grouped_by_identity"] == "built"

    project.build(dry_run=True, vars={"identity_max_leads_per_value": 3})
    assert model_outcomes(project)["int_leads_grouped_by_identity"] == "reused"

    # a seed's rows are read, not its file: a row added by hand is seen
    app_db.execute(
        "insert into customer_backfill.identifier_blocklist"
        " (identifier_type, match_kind, pattern, reason)"
        " values ('email', 'email_domain', 'y.org', 'added by hand')"
    )
    project.run(
        "run",
        "--select",
        "int_identifier_values_screened+",
        vars={"dry_run": True, "identity_max_leads_per_value": 3},
    )
    assert model_outcomes(project)["int_identifier_values_screened"] == "built"


def test_a_table_replaced_by_hand_or_older_than_the_server_is_rebuilt(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)
    # replaced outside dbt: same name, another table
    app_db.execute(
        "create table customer_backfill.nodes_copy as"
        " select * from customer_backfill.int_identity_nodes;"
        " drop table customer_backfill.int_identity_nodes cascade;"
        " alter table customer_backfill.nodes_copy rename to int_identity_nodes"
    )

    project.build(dry_run=True)
    outcomes = model_outcomes(project)
    assert outcomes["stg_app__leads"] == "reused"
    assert outcomes["int_identity_nodes"] == "built"
    # rebuilt with the same key: what the next tables were built from has not changed
    assert outcomes["int_node_identifiers"] == "reused"

    # crash recovery empties unlogged tables: a table built before the server last
    # started is never reused
    app_db.execute(
        "update customer_backfill.backfill_build_keys"
        " set built_at = pg_postmaster_start_time() - interval '1 second'"
    )
    project.build(dry_run=True)
    assert set(model_outcomes(project).values()) == {"built"}

    project.run("build", "--full-refresh", vars={"dry_run": True})
    assert set(model_outcomes(project).values()) == {"built"}


COMMENTS = """
    select
        obj_description('customer_backfill.plan_customers'::regclass, 'pg_class'),
        col_description('customer_backfill.plan_customers'::regclass, 1)
"""


def test_a_reused_table_keeps_its_comments_and_gets_them_again_when_its_docs_key_differs(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build(dry_run=True)
    [(table_comment, column_comment)] = app_db.query(COMMENTS)
    assert table_comment.startswith("One row per customer that receives leads")
    assert column_comment

    # reused: its comments are those the build wrote (no COMMENT statement this time)
    project.build(dry_run=True)
    assert model_outcomes(project)["plan_customers"] == "reused"
    assert app_db.query(COMMENTS) == [(table_comment, column_comment)]

    # a docs key that differs (here: a key recorded by an earlier version, which has
    # none): the table is still reused, and its comments are written again
    app_db.execute(
        "comment on table customer_backfill.plan_customers is null;"
        " update customer_backfill.backfill_build_keys"
        " set build_key = split_part(build_key, '|', 1)"
    )
    project.build(dry_run=True)
    assert model_outcomes(project)["plan_customers"] == "reused"
    assert app_db.query(COMMENTS) == [(table_comment, column_comment)]


UNCHANGED = UNCHANGED_RUN


def last_run(db: AppDatabase) -> tuple:
    """The latest row of backfill_runs: run id, leads linked, the run it found unchanged."""
    return db.query(
        "select run_id, leads_linked, unchanged_since_run_id"
        " from customer_backfill.backfill_runs order by applied_at desc limit 1"
    )[0]


def audit_rows(db: AppDatabase) -> int:
    return db.scalar(f"select count(*) from {db.table('Audit')}")


def test_a_re_run_after_an_applied_run_keeps_everything_writes_nothing_and_skips_the_checks(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build()
    applied_run, linked, _ = last_run(app_db)
    assert linked > 0
    applied_state = app_state(app_db)
    audits = audit_rows(app_db)

    log = project.work_dir / "logs" / "dbt.log"
    log.unlink()
    rerun = project.build()

    assert f"{UNCHANGED} {applied_run} applied its plan" in rerun.stdout
    assert set(model_outcomes(project).values()) == {"reused"}
    # the views, the seeds and the tables that only define themselves are kept too, and
    # no node but the run's own row sends a statement: the checks pass on what was read
    # when the run started
    kept = node_results_by_name(project, exclude=("test", "operation"))
    assert {name for name, message in kept.items() if message != "REUSED"} == {"backfill_runs"}
    assert {"stg_app__jobs", "do_not_link", "backfill_ledger", "manual_overrides"} <= set(kept)
    assert statements_by_node(log) == {"model.customer_backfill.backfill_runs"}
    assert app_state(app_db) == applied_state
    _, rerun_linked, unchanged_since = last_run(app_db)
    assert (rerun_linked, unchanged_since) == (0, applied_run)
    assert audit_rows(app_db) == audits + 1
    # the run row counts the state the applied run left: what it linked is already linked
    assert statistics(rerun.stdout)["Leads already linked"] == app_db.scalar(
        f"select count(*) from {app_db.table('Lead')} where customer_id is not null"
    )
    # a preview finds the same: nothing to do
    preview = project.build(dry_run=True)
    assert "nothing to do" in preview.stdout
    assert f"{UNCHANGED} {applied_run}" in preview.stdout

    # The checks are not run again: a plan table spoiled by hand (no input of the run
    # changes) passes the unchanged build, and `dbt test`, which runs every check, fails.
    app_db.execute(
        "update customer_backfill.plan_customers set customer_id = null"
        " where customer_id = (select customer_id from customer_backfill.plan_customers limit 1)"
    )
    assert f"{UNCHANGED} {applied_run}" in project.build().stdout
    assert not project.run("test", check=False).ok


def test_an_unchanged_build_keeps_the_views_unless_one_was_changed(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build()
    applied_run, _, _ = last_run(app_db)
    project.build()
    assert node_results_by_name(project)["stg_app__jobs"] == "REUSED"

    # one changed since (here by hand, as a failed build with other vars would) is not
    # the view the run validated, whether made again or replaced in place (same oid):
    # the next build does the full work, every view made again as the project defines it
    definition = app_db.scalar("select pg_get_viewdef('customer_backfill.stg_app__jobs'::regclass)")
    replaced_in_place = (
        "create or replace view customer_backfill.stg_app__jobs as"
        f" select * from ({definition.rstrip().rstrip(';')}) as jobs where false"
    )
    made_again = (
        "drop view customer_backfill.stg_app__jobs;"
        " create view customer_backfill.stg_app__jobs as select 1 as job_id"
    )
    for change in (replaced_in_place, made_again):
        app_db.execute(change)
        assert UNCHANGED not in project.build().stdout
        remade = node_results_by_name(project)
        assert "REUSED" not in (remade["stg_app__jobs"], remade["stg_app__customers"])
        assert app_db.scalar("select count(*) from customer_backfill.stg_app__jobs") > 0
        latest_run, _, _ = last_run(app_db)
        assert latest_run != applied_run
        assert f"{UNCHANGED} {latest_run}" in project.build().stdout


def test_an_unchanged_build_rebuilds_a_table_that_has_no_key(
    app_db: AppDatabase, project: DbtProject, tmp_path: Path
) -> None:
    # a reusable table that reads an ephemeral model has no build key: it is rebuilt by
    # every build, an unchanged one too, in its own repeatable-read transaction, though
    # looking for its key asked the database first (the definition of a view it reads,
    # whose id sorts before the ephemeral model's)
    copied = project.copy(tmp_path / "project", tmp_path / "copy")
    models = copied.project_dir / "models"
    (models / "zz_ephemeral_lead_ids.sql").write_text(
        "{{ config(materialized='ephemeral') }}\nselect lead_id from {{ ref('stg_app__leads') }}\n"
    )
    (models / "leads_read_through_an_ephemeral.sql").write_text(
        "{{ config(materialized='reusable_table') }}\n"
        "-- depends_on: {{ ref('stg_app__customers') }}\n"
        "select lead_id from {{ ref('zz_ephemeral_lead_ids') }}\n"
    )
    seed_small_app(app_db)
    copied.build()
    applied_run, _, _ = last_run(app_db)
    rerun = copied.build()
    assert f"{UNCHANGED} {applied_run}" in rerun.stdout
    outcomes = node_results_by_name(copied)
    assert outcomes["leads_read_through_an_ephemeral"] != "REUSED"
    assert outcomes["plan_customers"] == "REUSED"
    assert app_db.scalar(
        "select count(*) from customer_backfill.leads_read_through_an_ephemeral"
    ) == app_db.scalar(f"select count(*) from {app_db.table('Lead')}")


def node_results_by_name(project: DbtProject, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """The message of each node of the last dbt command, by name (`REUSED` when kept);
    `exclude`: resource types left out (`test`, `operation`)."""
    return {
        result["unique_id"].split(".")[2]: result["message"]
        for result in node_results(project)
        if result["unique_id"].split(".")[0] not in exclude
    }


def statements_by_node(log: Path) -> set[str]:
    """The nodes that sent a statement to the database in the dbt command whose debug log
    is `log` (dbt logs each as `On <node>: <sql>`)."""
    return set(re.findall(r"On ((?:model|seed|test)\.[\w.]+): (?!Close)", log.read_text()))


def test_a_change_after_an_applied_run_is_applied_by_the_next_run_in_full(
    app_db: AppDatabase, project: DbtProject
) -> None:
    ids = seed_small_app(app_db)
    project.build()

    # the app adds a lead with an e-mail of the applied run's customers
    new_lead = app_db.add_lead(email="cy@y.org", name="Cy")
    changed = project.build()
    assert UNCHANGED not in changed.stdout
    assert "built" in model_outcomes(project).values()
    changed_run, linked, unchanged_since = last_run(app_db)
    assert (linked, unchanged_since) == (1, None)
    assert app_db.lead_customer(new_lead) == app_db.lead_customer(ids["email_lead"])

    # that run's own link is its settled state: the next run finds nothing changed
    assert f"{UNCHANGED} {changed_run}" in project.build().stdout

    # another var, a rollback: the full work again
    assert UNCHANGED not in project.build(vars={"identity_max_leads_per_value": 3}).stdout
    project.run("run-operation", "rollback_backfill")
    after_rollback = project.build(vars={"identity_max_leads_per_value": 3})
    assert UNCHANGED not in after_rollback.stdout
    assert statistics(after_rollback.stdout)["Leads linked"] > 0


def settled_fingerprint(db: AppDatabase, table: str) -> str:
    """The fingerprint of an app table that the last real run left (its own writes added)."""
    return db.scalar(
        "select inputs ->> %s from customer_backfill.backfill_settled_inputs",
        (f"source.customer_backfill.app.{table}",),
    )


def summed_hashes(db: AppDatabase, table: str, row_hash: str) -> str:
    """`<rows>-<sum of row_hash>` over the rows of an app table (alias `r`)."""
    return db.scalar(
        f"select count(*)::text || '-' || coalesce(sum(({row_hash})::numeric), 0)::text"
        f" from {db.table(table)} as r"
    )


def app_contract(project: DbtProject) -> dict[str, list[str]]:
    """The app columns the backfill reads or writes, by table (the macro app_contract)."""
    compiled = project.run("compile", "-q", "--inline", "{{ tojson(app_contract()) }}")
    return json.loads(compiled.stdout.strip().splitlines()[-1])


def read_row(contract: dict[str, list[str]], table: str) -> str:
    """The row of the columns of `table` (alias `r`) the backfill reads: what it fingerprints."""
    return "row(" + ", ".join(f'r."{column}"' for column in contract[table]) + ")"


def test_rows_are_fingerprinted_as_records_unless_a_column_read_cannot_be_hashed(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    # a column the backfill reads whose type has no hash function of its own (varchar is
    # hashed through text): "Lead" is hashed as text; one it does not read (json, no hash
    # function at all) does not count: "Job" is hashed as records
    app_db.execute(f"alter table {app_db.table('Lead')} alter column phone type varchar(40)")
    app_db.execute(f"alter table {app_db.table('Job')} add column legacy_payload json")
    project.build()

    # hashed as records from PostgreSQL 14 on (hash_record_extended), as text before;
    # either way only the columns the backfill reads
    contract = app_contract(project)
    by_record = app_db.scalar("select current_setting('server_version_num')::int >= 140000")
    job_row = read_row(contract, "Job")
    job_hash = (
        f"hash_record_extended({job_row}, 0)"
        if by_record
        else f"hashtextextended({job_row}::text, 0)"
    )
    assert settled_fingerprint(app_db, "job") == summed_hashes(app_db, "Job", job_hash)
    assert settled_fingerprint(app_db, "lead") == summed_hashes(
        app_db, "Lead", f"hashtextextended({read_row(contract, 'Lead')}::text, 0)"
    )
    # either way the state the run's own writes left is recognised
    applied_run = last_run(app_db)[0]
    assert f"{UNCHANGED} {applied_run}" in project.build().stdout

    # the column it does not read changes: nothing to do
    app_db.execute(f"update {app_db.table('Job')} set legacy_payload = '{{\"v\": 1}}'")
    assert f"{UNCHANGED} {applied_run}" in project.build().stdout

    # a change of a column the backfill reads is seen: the next run does the full work
    app_db.execute(
        f"update {app_db.table('Lead')} set lat = 41.5"
        f" where id = (select id from {app_db.table('Lead')} order by id limit 1)"
    )
    assert UNCHANGED not in project.build().stdout


def test_what_the_app_changes_in_columns_the_backfill_does_not_read_is_no_change(
    app_db: AppDatabase, project: DbtProject
) -> None:
    seed_small_app(app_db)
    project.build()
    applied_run = last_run(app_db)[0]

    # what the app writes with every message: a lead's stage, its state, its last
    # message, updated_at; a job's status and reminders
    app_db.execute(
        f"""update {app_db.table("Lead")} set stage = 'quoting', "stateMetadata" = '{{"step": 2}}',
        last_customer_message_at = now(), last_agent_message_at = now(), curbside = true,
        updated_at = now() + interval '1 minute'"""
    )
    app_db.execute(
        f"update {app_db.table('Job')} set status = 'completed', reminder_sent_at = now(),"
        " updated_at = now() + interval '1 minute'"
    )
    rerun = project.build()
    assert f"{UNCHANGED} {applied_run}" in rerun.stdout
    assert set(model_outcomes(project).values()) == {"reused"}

    # a migration adds a column the backfill does not read, and a lead arrives: staging
    # is still kept per lead (its definition counts only the column types it reads)
    app_db.execute(f"alter table {app_db.table('Lead')} add column referral_code text")
    new_lead = app_db.add_lead(email="cy@y.org", name="Cy")
    project.build()
    assert model_outcomes(project)["stg_app__leads"] == "updated"
    assert app_db.lead_customer(new_lead) is not None

    # Nothing the backfill does reads any other column: on an app that has only those
    # of app_contract, a rollback, a run that rebuilds every table, and every check pass.
    contract = app_contract(project)
    for table, columns in contract.items():
        for (column,) in app_db.query(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            (app_db.schema.schema, table),
        ):
            if column not in columns:
                app_db.execute(f'alter table {app_db.table(table)} drop column "{column}" cascade')
    project.run("run-operation", "rollback_backfill")
    assert statistics(project.build(dry_run=True).stdout)["Leads linked"] > 0
    rebuilt = project.build(vars={"reuse_unchanged_models": False})
    assert set(model_outcomes(project).values()) == {"built"}
    assert statistics(rebuilt.stdout)["Leads linked"] > 0
    project.run("test")


STAGED_LEADS = """
    select md5(coalesce(string_agg(leads::text, ',' order by lead_id), ''))
    from customer_backfill.stg_app__leads as leads
"""


def updated_rows(project: DbtProject, model: str) -> tuple[int, int, bool]:
    """(rows computed again, rows copied, written anew rather than in place) of a table
    kept per row that the last command brought up to date."""
    message = next(r["message"] for r in node_results(project) if r["unique_id"].endswith(model))
    # UPDATED <n> rows, <m> copied, and (written anew) unless it was in place
    words = message.split()
    assert words[0] == "UPDATED", message
    return int(words[1]), int(words[3]), message.endswith("(written anew)")


def test_staging_kept_per_lead_is_what_a_rebuild_makes(
    app_db: AppDatabase, project: DbtProject
) -> None:
    # that module imports this one
    from tests.test_identity_scope import app_changes_of_every_kind

    generate(app_db.conn, app_db.schema, 500, seed=11)
    project.build()
    # between runs: new leads, new and removed identifiers, a deleted lead, a lead
    # that moved house, a renamed lead; and the links the apply made
    load_changes(app_db.conn, app_db.schema, app_changes(11, 500, new_fraction=0.05))
    app_changes_of_every_kind(app_db)
    app_db.execute(
        f"update {app_db.table('Lead')} set name = 'Ana Maria Souza'"
        " where id = (select id from " + app_db.table("Lead") + " order by id limit 1)"
    )

    project.build(dry_run=True)
    assert model_outcomes(project)["stg_app__leads"] == "updated"
    rebuilt, copied, written_anew = updated_rows(project, "stg_app__leads")
    # the new and changed leads are normalized again; the applied links only copied,
    # and so many that the table is written anew (kept rows and computed ones)
    assert 25 <= rebuilt < 100
    assert copied > 250
    assert written_anew
    updated = app_db.scalar(STAGED_LEADS)

    project.run("build", "--full-refresh", "--select", "stg_app__leads", vars={"dry_run": True})
    assert model_outcomes(project)["stg_app__leads"] == "built"
    assert app_db.scalar(STAGED_LEADS) == updated

    # a few changes (under a fifth of the rows) are applied in place, to the same rows
    app_db.add_lead(name="Noa Lindqvist", email="noa.lindqvist@example.org")
    project.build(dry_run=True)
    assert updated_rows(project, "stg_app__leads") == (1, 0, False)
    updated = app_db.scalar(STAGED_LEADS)
    project.run("build", "--full-refresh", "--select", "stg_app__leads", vars={"dry_run": True})
    assert app_db.scalar(STAGED_LEADS) == updated

    # nothing changed since: kept; a var the staging SQL reads: built again
    project.build(dry_run=True)
    assert model_outcomes(project)["stg_app__leads"] == "reused"
    project.build(dry_run=True, vars={"identity_address_stage": False})
    assert model_outcomes(project)["stg_app__leads"] == "built"


KEPT_PER_ROW = (
    "materialized='reusable_table',"
    " update_rows_by={'key': 'lead_id', 'inputs_hash': 'inputs_hash', 'copied_columns': []}"
)


def test_a_table_kept_per_row_refuses_what_would_make_it_differ_from_a_rebuild(
    app_db: AppDatabase, project: DbtProject, tmp_path: Path
) -> None:
    # a copy of the project, with two models that break the rules of update_rows_by
    broken = project.copy(tmp_path / "project", tmp_path / "copy")
    copy = broken.project_dir
    (copy / "models" / "kept_by_two_inputs.sql").write_text(
        f"{{{{ config({KEPT_PER_ROW}) }}}}\n"
        "select leads.id as lead_id, md5(jobs.id::text) as inputs_hash\n"
        "from {{ source('app', 'lead') }} as leads\n"
        "inner join {{ source('app', 'job') }} as jobs on jobs.lead_id = leads.id\n"
    )
    (copy / "models" / "kept_with_a_hook_outside.sql").write_text(
        f"{{{{ config({KEPT_PER_ROW},"
        " pre_hook=[{'sql': 'select 1', 'transaction': false}]) }}\n"
        "select lead_id, normalized_inputs_hash as inputs_hash from {{ ref('stg_app__leads') }}\n"
    )

    # a second input's rows would change nothing the table compares
    two_inputs = broken.run("run", "--select", "kept_by_two_inputs", check=False)
    assert not two_inputs.ok
    assert "reads the rows of exactly one source, seed or incremental model" in two_inputs.output
    # a pre-hook outside the transaction would commit and drop the changes found
    hook = broken.run("run", "--select", "stg_app__leads kept_with_a_hook_outside", check=False)
    assert not hook.ok
    assert "cannot have a pre-hook outside its transaction" in hook.output
    assert node_statuses(broken)["stg_app__leads"] == "success"
