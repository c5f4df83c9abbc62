"""A wrong setup stops the run in on-run-start, with a clear message, before any write.

"Before any write": the app tables are unchanged and the project's own schema holds no
table (dbt creates the empty schema itself before on-run-start; the run's claim table and
everything else come after the checks).
"""

from __future__ import annotations

import json
import uuid

import pytest

from backfill_tools.dbtrun import DbtProject, DbtResult
from tests.appdata import AppDatabase
from tests.scenarios import seed_small_app

STOPPED = "customer backfill stopped before writing anything"
PROJECT_SCHEMAS = ("customer_backfill", "customer_backfill_dbt_test__audit")


def stops_before_writing(app_db: AppDatabase, project: DbtProject, **vars: object) -> DbtResult:
    """Run `dbt build` (with `vars`) and check it stopped before writing anything."""
    before = app_state(app_db)
    result = project.build(vars=vars, check=False)
    assert not result.ok
    assert STOPPED in result.output, result.output[-3000:]
    assert app_state(app_db) == before
    assert project_tables(app_db) == 0
    return result


def app_state(app_db: AppDatabase) -> dict[str, tuple]:
    """Every row of every table of the app schema (whatever tables it has)."""
    tables = [row[0] for row in app_db.query(
        "select tablename from pg_tables where schemaname = 'public' order by tablename"
    )]  # fmt: skip
    return {
        table: app_db.query(
            f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from \"{table}\" t"
        )[0]
        for table in tables
    }


def project_tables(app_db: AppDatabase) -> int:
    return int(
        app_db.scalar(
            "select count(*) from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
            " where n.nspname = 'customer_backfill'"
        )
    )


def test_an_app_schema_that_does_not_exist_is_named_with_where_the_tables_are(
    app_db: AppDatabase, project: DbtProject
) -> None:
    result = stops_before_writing(app_db, project, app_schema="crm")

    assert 'schema "crm" does not exist' in result.output
    assert 'schemas that have a "Lead" table: public' in result.output


def test_a_missing_table_and_missing_customer_id_columns_are_all_listed(
    app_db: AppDatabase, project: DbtProject
) -> None:
    app_db.execute('drop table "Audit"')
    app_db.execute('alter table "Lead" drop column customer_id')
    app_db.execute('alter table "Job" drop column customer_id')

    result = stops_before_writing(app_db, project)

    assert 'table "public"."Audit" does not exist' in result.output
    for table in ("Lead", "Job"):
        assert (
            f'table "public"."{table}" has no column "customer_id"; the app migration that'
            " adds customer_id must run before the backfill" in result.output
        )


@pytest.mark.parametrize(
    ("vars", "message"),
    [
        pytest.param(
            {"dry_run": "maybe"},
            "the var dry_run must be true or false, not 'maybe'",
            id="dry_run",
        ),
        pytest.param(
            {"lock_wait_timeout": "a while"},
            "the var lock_wait_timeout must be a lock timeout such as '5min', '30s' or '0'"
            " (wait forever), not 'a while'",
            id="lock_wait_timeout",
        ),
        pytest.param(
            {"run_claim_grace_period": "soon"},
            "the var run_claim_grace_period must be an interval such as '2 minutes'",
            id="run_claim_grace_period",
        ),
        pytest.param(
            {"min_work_mem": "plenty"},
            "the var min_work_mem must be a memory size PostgreSQL accepts for work_mem, such as"
            " '64MB' or '1GB' (empty: the server's setting), not 'plenty'",
            id="min_work_mem",
        ),
        pytest.param(
            {"verbose_group_limit": "many", "lead_psid_column": ""},
            "- the var verbose_group_limit must be a whole number, not 'many'",
            id="several",
        ),
    ],
)
def test_a_var_with_an_unusable_value_is_named(
    app_db: AppDatabase, project: DbtProject, vars: dict[str, object], message: str
) -> None:
    seed_small_app(app_db)
    before = app_db.fingerprints()

    result = project.build(vars=vars, check=False)

    assert not result.ok
    assert message in result.output, result.output[-3000:]
    if "lead_psid_column" in vars:  # several problems are listed together
        assert "- the var lead_psid_column is empty" in result.output
    assert app_db.fingerprints() == before
    assert project_tables(app_db) == 0


def test_a_jsonb_psid_column_is_refused(app_db: AppDatabase, project: DbtProject) -> None:
    app_db.execute('alter table "Lead" alter column "messengerPsid" type jsonb using null')
    app_db.add_lead(phone="555-123-4567")

    result = stops_before_writing(app_db, project)

    assert (
        'column "public"."Lead"."messengerPsid" is jsonb; a PSID must be text or an integer'
        " (a jsonb value is not one identifier): point the var lead_psid_column at a text"
        " column, or add one" in result.output
    )


def test_a_floating_point_psid_and_text_ids_are_refused_together(
    app_db: AppDatabase, project: DbtProject
) -> None:
    app_db.execute(
        'alter table "Lead" alter column "messengerPsid" type double precision using null'
    )
    app_db.execute('alter table "Job" drop constraint if exists "Job_customer_id_fkey"')
    app_db.execute('alter table "Job" alter column customer_id type text')

    result = stops_before_writing(app_db, project)

    assert "a floating-point number keeps about 15" in result.output
    assert 'column "public"."Job"."customer_id" is text; the backfill needs uuid' in result.output
    assert "@db.Uuid" in result.output


def test_an_integer_psid_column_is_read_as_its_digits(
    app_db: AppDatabase, project: DbtProject
) -> None:
    app_db.execute(
        'alter table "Lead" alter column "messengerPsid" type bigint using "messengerPsid"::bigint'
    )
    first = app_db.add_lead(psid="12345678901234567", name="Ann")
    other = app_db.add_lead(psid="12345678901234568", name="Bob")

    project.build()

    metadata = app_db.scalar(
        'select c.metadata from "Customer" c join "Lead" l on l.customer_id = c.id where l.id = %s',
        (first,),
    )
    assert metadata["groupKey"] == "psid:12345678901234567"
    assert app_db.lead_customer(first) != app_db.lead_customer(other)


@pytest.fixture
def read_only_role(app_db: AppDatabase) -> str:
    """A login role that may read the app tables and nothing else. The project's schema
    and the validation tests' schema exist (made by an admin): dbt creates a missing
    schema itself before on-run-start,
    so without it dbt would stop first, with PostgreSQL's own 'permission denied for
    database' (see the test after the next ones)."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    app_db.execute(f'create role "{role}" login')
    app_db.execute(f'grant usage on schema public to "{role}"')
    app_db.execute(f'grant select on all tables in schema public to "{role}"')
    for schema in PROJECT_SCHEMAS:
        app_db.execute(f"create schema {schema}")
        app_db.execute(f'grant usage on schema {schema} to "{role}"')
    yield role
    app_db.execute(f'drop owned by "{role}"')
    app_db.execute(f'drop role "{role}"')


def test_a_read_only_role_is_told_which_grants_are_missing(
    app_db: AppDatabase, project: DbtProject, read_only_role: str
) -> None:
    seed_small_app(app_db)
    project.env = {**project.env, "PGUSER": read_only_role}

    result = stops_before_writing(app_db, project)

    assert "the database role lacks privileges the backfill needs" in result.output
    role = f'"{read_only_role}"'
    for table in ("Customer", "CustomerAddress", "Audit"):
        relation = f'"public"."{table}"'
        grant = f"INSERT on {relation}: grant insert on {relation} to {role}"
        assert grant in result.output, grant
    for grant in (
        'UPDATE (customer_id) on "public"."Lead": grant update (customer_id) on "public"."Lead"',
        'UPDATE (customer_id) on "public"."Job": grant update (customer_id) on "public"."Job"',
        'CREATE on schema "customer_backfill" (where the project keeps the plan',
        'CREATE on schema "customer_backfill_dbt_test__audit"',
    ):
        assert grant in result.output, grant
    assert 'SELECT on "public"."Lead"' not in result.output


def test_the_grants_the_message_names_are_enough_for_a_real_run(
    app_db: AppDatabase, project: DbtProject, read_only_role: str
) -> None:
    seed_small_app(app_db)
    role = f'"{read_only_role}"'
    for grant in (
        f'grant insert on "public"."Customer" to {role}',
        f'grant insert on "public"."CustomerAddress" to {role}',
        f'grant insert on "public"."Audit" to {role}',
        f'grant update (customer_id) on "public"."Lead" to {role}',
        f'grant update (customer_id) on "public"."Job" to {role}',
        f"grant create on schema customer_backfill to {role}",
        f"grant create on schema customer_backfill_dbt_test__audit to {role}",
    ):
        app_db.execute(grant)
    project.env = {**project.env, "PGUSER": read_only_role}

    project.build()

    assert app_db.count("Lead", "customer_id is null") == 0


def test_a_dry_run_needs_only_read_access_to_the_app(
    app_db: AppDatabase, project: DbtProject, read_only_role: str
) -> None:
    seed_small_app(app_db)
    for schema in PROJECT_SCHEMAS:
        app_db.execute(f'grant create on schema {schema} to "{read_only_role}"')
    project.env = {**project.env, "PGUSER": read_only_role}
    before = app_db.fingerprints()

    result = project.build(dry_run=True)

    assert "DRY RUN COMPLETE" in result.stdout
    assert app_db.fingerprints() == before


def test_without_the_projects_schema_and_create_on_the_database_dbt_itself_stops_first(
    app_db: AppDatabase, project: DbtProject, read_only_role: str
) -> None:
    for schema in PROJECT_SCHEMAS:
        app_db.execute(f"drop schema {schema}")
    seed_small_app(app_db)
    before = app_db.fingerprints()
    project.env = {**project.env, "PGUSER": read_only_role}

    result = project.build(check=False)

    assert not result.ok
    assert f"permission denied for database {app_db.env['PGDATABASE']}" in result.output
    assert app_db.fingerprints() == before


SERVERS = {
    "pg12": (120017, "PostgreSQL 12.17 on x86_64-pc-linux-gnu"),
    "pg9.6": (90624, "PostgreSQL 9.6.24 on x86_64-pc-linux-gnu"),
    "cockroachdb": (130000, "CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu)"),
    "redshift": (80002, "PostgreSQL 8.0.2 on i686-pc-linux-gnu, Redshift 1.0.28422"),
}


def test_a_server_that_is_not_postgresql_13_or_later_is_refused_and_this_one_is_accepted(
    app_db: AppDatabase, project: DbtProject
) -> None:
    servers = {**SERVERS, "this": tuple(app_db.query(
        "select current_setting('server_version_num')::int, version()"
    )[0])}  # fmt: skip
    calls = ", ".join(
        f"'{name}': server_version_problem({number}, '{text}')"
        for name, (number, text) in servers.items()
    )

    rendered = project.run("compile", "--quiet", "--inline", f"{{{{ tojson({{{calls}}}) }}}}")

    problems = json.loads(rendered.stdout.strip().splitlines()[-1])
    assert problems.pop("this") == ""
    assert "the server is PostgreSQL 12.17" in problems["pg12"]
    assert "the server is PostgreSQL 9.6.24" in problems["pg9.6"]
    assert "the database is not PostgreSQL" in problems["cockroachdb"]
    assert "PostgreSQL 8.0.2" in problems["redshift"]
    assert all("the backfill needs PostgreSQL 13 or later" in text for text in problems.values())
