"""Tables of the plan that a run keeps when nothing they are built from has changed
(the `reusable_table` materialization), and rebuilds as soon as something has."""

from __future__ import annotations

import json

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase
from tests.scenarios import seed_small_app, statistics

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
    """Each reusable table of the last dbt command: 'reused' or 'built'."""
    results = json.loads((project.work_dir / "target" / "run_results.json").read_text())
    manifest = json.loads((project.work_dir / "target" / "manifest.json").read_text())
    outcomes: dict[str, str] = {}
    for result in results["results"]:
        node = manifest["nodes"].get(result["unique_id"], {})
        if node.get("config", {}).get("materialized") == "reusable_table":
            assert result["status"] == "success", result
            outcomes[node["name"]] = "reused" if result["message"] == "REUSED" else "built"
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

    assert outcomes["stg_app__leads"] == "built"
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
