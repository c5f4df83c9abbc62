"""`make demo`: the whole backfill on an embedded PostgreSQL, as a user would run it.

Starts the development database, (re)creates the app tables with a labeled
synthetic dataset, then runs exactly the commands of the README from the project
root: the dry run, the real run and the tests, and says where to look.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.devdb import default_devdb
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import PROJECT_DIR, DbtProject
from backfill_tools.quality.generate import generate

DEMO_COMMANDS: list[list[str]] = [
    ["build", "--vars", "{dry_run: true}"],
    ["build"],
    ["test"],
]


def _banner(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m", flush=True)


def reset_app_database(env: dict[str, str], app: AppSchema, project_schema: str) -> None:
    """Drop the app tables and the project's own schema, then create empty app tables."""
    conn = connect(env)
    app.drop(conn)
    with conn.cursor() as cur:
        cur.execute(f'drop schema if exists "{project_schema}" cascade')
        cur.execute(f'drop schema if exists "{project_schema}_dbt_test__audit" cascade')
    conn.commit()
    app.create(conn)
    conn.close()


def run_dbt(project: DbtProject, args: list[str]) -> float:
    """Run one dbt command from the project root, its output streamed; return seconds."""
    command = ["dbt", *args]
    _banner(" ".join(command if len(args) < 2 else [*command[:-1], repr(command[-1])]))
    started = time.monotonic()
    done = project.run(*args, check=False, timeout=None, stream=True)
    seconds = time.monotonic() - started
    if not done.ok:
        raise SystemExit(f"dbt {' '.join(args)} failed with exit code {done.returncode}")
    return seconds


DEMO_DATABASE_ON_YOUR_SERVER = "customer_backfill_demo"


def run_demo(leads: int = 5000, seed: int = 7) -> None:
    if os.environ.get("PGHOST"):
        server = Server.from_environment()
        _banner(
            f"using the PostgreSQL of PGHOST={server.env['PGHOST']}: creating (or reusing) its"
            f" database {DEMO_DATABASE_ON_YOUR_SERVER}; no other database is touched"
        )
        server.create_database(DEMO_DATABASE_ON_YOUR_SERVER)
        libpq = server.libpq_env(DEMO_DATABASE_ON_YOUR_SERVER)
    else:
        db = default_devdb(PROJECT_DIR)
        _banner(f"starting the embedded PostgreSQL {db.version} on 127.0.0.1:{db.port}")
        db.start()
        libpq = db.libpq_env()
    project_schema = os.environ.get("BACKFILL_SCHEMA", "customer_backfill")
    # the project's own profiles.yml, target/ and logs/, as a user running dbt there
    project = DbtProject(env=libpq, work_dir=PROJECT_DIR, schema=project_schema)

    _banner(f"creating the app tables and {leads:,} synthetic leads (seed {seed})")
    reset_app_database(libpq, AppSchema(), project_schema)
    conn = connect(libpq)
    summary = generate(conn, AppSchema(), leads=leads, seed=seed, progress=True, reset=True)
    conn.close()
    for name, value in dataclasses.asdict(summary).items():
        print(
            f"   {name.replace('_', ' '):<24} {value:,.1f}"
            if isinstance(value, float)
            else f"   {name.replace('_', ' '):<24} {value:,}"
        )

    timings = {" ".join(args): run_dbt(project, args) for args in DEMO_COMMANDS}

    _banner("done")
    for command, seconds in timings.items():
        print(f"   dbt {command:<34} {seconds:6.1f} s")
    exports = " ".join(f"{key}={value}" for key, value in libpq.items() if value)
    print(
        f"""
Where to look:
   export {exports}
   psql -c 'select * from {project_schema}.backfill_runs'        # one row per applied run
   psql -c 'select * from {project_schema}.plan_customers limit 20'
   psql -c 'select * from {project_schema}.plan_conflicts limit 20'
   psql -c 'select payload from "Audit" order by created_at desc limit 1'
   .venv/bin/dbt build --vars '{{dry_run: true, verbose: true}}'   # preview again, per group
   .venv/bin/backfill-dev report                                 # review of this run, in reports/
   .venv/bin/dbt run-operation resolve_conflicts --args '{{dry_run: true}}'   # the app's next step
   .venv/bin/dbt run-operation rollback_backfill --args '{{dry_run: true}}'
   .venv/bin/backfill-dev db stop                                # stop the database
""",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="backfill-dev demo", description=__doc__)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args(argv)
    run_demo(options.leads, options.seed)


if __name__ == "__main__":
    main(sys.argv[1:])
