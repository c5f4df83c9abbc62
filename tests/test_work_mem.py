"""The backfill's own transactions get at least var min_work_mem of PostgreSQL's
work_mem, and never less than the server gives them.

Read through the real materialization and the real write-path transaction: a copy of the
project gets a model and an operation that record the work_mem their statements ran with.
"""

from __future__ import annotations

from pathlib import Path

from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase

PROBE_MODEL = """{{ config(materialized='reusable_table') }}
select current_setting('work_mem') as work_mem
"""

PROBE_OPERATION = """{% macro probe_write_path_work_mem() %}
    {#- what a write path's transaction (begin_backfill_transaction) runs with -#}
    {% do run_query(
        begin_backfill_transaction('the probe')
        ~ " drop table if exists " ~ target.schema ~ ".write_path_work_mem;"
        ~ " create table " ~ target.schema ~ ".write_path_work_mem as"
        ~ " select current_setting('work_mem') as work_mem; commit;"
    ) %}
{% endmacro %}
"""


def probed_work_mem(
    app_db: AppDatabase, probe: DbtProject, vars: dict[str, object] | None = None
) -> tuple[str, str]:
    """The work_mem of a table build and of a write path, with `vars`."""
    probe.run("run", "--select", "work_mem_probe", "--full-refresh", vars=vars)
    probe.run("run-operation", "probe_write_path_work_mem", vars=vars)
    return (
        str(app_db.scalar("select work_mem from customer_backfill.work_mem_probe")),
        str(app_db.scalar("select work_mem from customer_backfill.write_path_work_mem")),
    )


def test_table_builds_and_write_paths_get_at_least_min_work_mem_and_never_less_than_the_server(
    app_db: AppDatabase, project: DbtProject, tmp_path: Path
) -> None:
    probe = project.copy(tmp_path / "project", tmp_path / "probe")
    (probe.project_dir / "models" / "work_mem_probe.sql").write_text(PROBE_MODEL)
    (probe.project_dir / "macros" / "probe_write_path_work_mem.sql").write_text(PROBE_OPERATION)
    database = app_db.env["PGDATABASE"]

    # a server that gives 1MB: both get the default 64MB, or what the var asks
    app_db.execute(f"alter database \"{database}\" set work_mem = '1MB'")
    assert probed_work_mem(app_db, probe) == ("64MB", "64MB")
    assert probed_work_mem(app_db, probe, {"min_work_mem": "8MB"}) == ("8MB", "8MB")
    # a number without a unit is kB, as in postgresql.conf
    assert probed_work_mem(app_db, probe, {"min_work_mem": 16384}) == ("16MB", "16MB")
    # an empty var leaves the server's setting
    assert probed_work_mem(app_db, probe, {"min_work_mem": ""}) == ("1MB", "1MB")

    # a server that gives more keeps its own
    app_db.execute(f"alter database \"{database}\" set work_mem = '256MB'")
    assert probed_work_mem(app_db, probe) == ("256MB", "256MB")
