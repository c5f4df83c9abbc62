"""`backfill-dev`: the development commands of the project.

    backfill-dev db start|stop|status|destroy|env [--version 15|16|18] [--port N]
    backfill-dev schema create|drop [--schema S] [--psid-column C] [--no-customer-fks]
    backfill-dev generate --leads N [--seed S] [--reset] [--schema S] [--psid-column C]
    backfill-dev score [--schema S] [--psid-column C]
    backfill-dev quality [--leads N] [--seed S] [--keep] [--no-peer]
    backfill-dev report [--out DIR] [--schema S]
    backfill-dev demo [--leads N] [--seed S]
    backfill-dev lineage
    backfill-dev crash-test [--leads N] [--kills N] [--terminations N] [--slow-apply S]
                            [--operation build|rollback]
    backfill-dev live-traffic [--leads N] [--pause S] [--slow-apply S]
    backfill-dev hostile-input
    backfill-dev race [--rounds N] [--race build+build|build+rollback]
    backfill-dev bench [--sizes 100,10k,100k,1M] [--seed S] [--pg-version 16] [--per-row-max N]
                       [--network-delay-ms 1.0]

Commands that talk to PostgreSQL use the standard PG* variables; when PGPORT is not set
they use the development server of `db start` (`.devdb/` in the current directory).
Each subcommand is one entry of `COMMANDS` (at the end of this module).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2.extensions

from backfill_tools.db import appdb
from backfill_tools.db.devdb import DevDb, default_devdb
from backfill_tools.db.server import Server


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, its options and what it runs (returns an exit code)."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def project_dir() -> Path:
    return Path.cwd()


@contextmanager
def connect() -> Iterator[psycopg2.extensions.connection]:
    """The database of the PG* variables, else the development server's (closed after)."""
    env = None if os.environ.get("PGPORT") else default_devdb(project_dir()).libpq_env()
    conn = appdb.connect(env)
    try:
        yield conn
    finally:
        conn.close()


def add_app_schema_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = appdb.AppSchema()
    parser.add_argument("--schema", default=defaults.schema, help="the app's schema")
    parser.add_argument(
        "--psid-column", default=defaults.psid_column, help="the Lead column of Messenger PSIDs"
    )
    parser.add_argument(
        "--no-customer-fks",
        dest="customer_fks",
        action="store_false",
        help="Lead/Job.customer_id without foreign keys (when the tables are created)",
    )


def app_schema(args: argparse.Namespace) -> appdb.AppSchema:
    return appdb.AppSchema(args.schema, args.psid_column, args.customer_fks)


# -- db -------------------------------------------------------------------------------------
def _db_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("start", "stop", "status", "destroy", "env"),
        help="env: only the export lines of the running server (for eval), else exit 3",
    )
    parser.add_argument("--version", type=int, choices=(15, 16, 18), default=None)
    parser.add_argument("--port", type=int, default=None)


def _export_lines(db: DevDb) -> str:
    return "\n".join(f"export {key}={value}" for key, value in db.libpq_env().items())


def _db(args: argparse.Namespace) -> int:
    db = default_devdb(project_dir(), version=args.version, port=args.port)
    if args.action == "start":
        db.start()
        print(_export_lines(db))
    elif args.action == "stop":
        db.stop()
        print(f"stopped PostgreSQL {db.version} on port {db.port}", file=sys.stderr)
    elif args.action == "destroy":
        db.destroy()
        print(f"destroyed {db.data_dir}", file=sys.stderr)
    elif args.action == "env":
        if not db.is_running():
            print(
                f"backfill-dev db env: the development PostgreSQL {db.version} on port {db.port}"
                " is not running; start it with `make db-start` (or `backfill-dev db start`)",
                file=sys.stderr,
            )
            return 3
        print(_export_lines(db))
    else:
        running = db.is_running()
        state = "running" if running else "stopped"
        print(f"PostgreSQL {db.version} on port {db.port}: {state} ({db.data_dir})")
        if running:
            print(_export_lines(db))
        return 0 if running else 3
    return 0


# -- schema -----------------------------------------------------------------------------------
def _schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("create", "drop"))
    add_app_schema_arguments(parser)


def _schema(args: argparse.Namespace) -> int:
    app = app_schema(args)
    with connect() as conn:
        if args.action == "create":
            app.create(conn)
        else:
            app.drop(conn)
    print(f'{args.action}: app tables in schema "{app.schema}"', file=sys.stderr)
    return 0


# -- generate ---------------------------------------------------------------------------------
def _generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, required=True, help="how many leads to make")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reset", action="store_true", help="empty the app tables first")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    add_app_schema_arguments(parser)


def _generate(args: argparse.Namespace) -> int:
    from backfill_tools.quality.generate import generate

    app = app_schema(args)
    with connect() as conn:
        app.create(conn)  # no-op when the tables exist
        summary = generate(
            conn, app, args.leads, seed=args.seed, progress=not args.quiet, reset=args.reset
        )
    print(summary.format())
    return 0


# -- score ------------------------------------------------------------------------------------
def _score_arguments(parser: argparse.ArgumentParser) -> None:
    add_app_schema_arguments(parser)


def _score(args: argparse.Namespace) -> int:
    from backfill_tools.quality.score import score

    with connect() as conn:
        scores = score(conn, app_schema(args))
    print(scores.format_table())
    return 0


# -- demo, bench, lineage, quality, report ----------------------------------------------------
def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=5000, help="how many leads to generate")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generator")


def _demo(args: argparse.Namespace) -> int:
    from backfill_tools.demo import run_demo

    run_demo(leads=args.leads, seed=args.seed)
    return 0


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        default="100,10k,100k,1M",
        help="leads per dataset (default 100,10k,100k,1M; a size of at most 1,000 leads"
        " measures dbt's own fixed cost, which the report sets against the targets)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generator")
    parser.add_argument("--pg-version", type=int, choices=(15, 16, 18), default=16)
    parser.add_argument(
        "--per-row-max",
        type=int,
        default=100_000,
        help="run the per-row baseline only up to this many leads (it is slow)",
    )
    parser.add_argument(
        "--network-delay-ms",
        type=float,
        default=None,
        metavar="MS",
        help="also run the project and the per-row script through a local proxy that adds"
        " MS milliseconds to each round trip (a database on another machine), side by side",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: bench-results/")
    parser.add_argument(
        "--project-dir",
        action="append",
        default=None,
        metavar="[LABEL=]DIR",
        help="a dbt project to measure (default: this one); repeat to compare checkouts"
        " step by step under the same load, e.g. before=../old after=.",
    )


def project_dirs(specs: list[str]) -> dict[str, Path]:
    """`before=../old` / `../old` -> {label: resolved path} (label: the folder's name)."""
    dirs: dict[str, Path] = {}
    for spec in specs:
        label, _, path = spec.rpartition("=")
        directory = Path(path).resolve()
        dirs[label or directory.name] = directory
    return dirs


def _bench(args: argparse.Namespace) -> int:
    from backfill_tools.bench.runner import bench_main, parse_sizes
    from backfill_tools.dbtrun import PROJECT_DIR

    bench_main(
        sizes=parse_sizes(args.sizes),
        seed=args.seed,
        pg_version=args.pg_version,
        per_row_max=args.per_row_max,
        out_dir=args.out or project_dir() / "bench-results",
        command="backfill-dev bench " + " ".join(sys.argv[2:]),
        project_dirs=project_dirs(args.project_dir or [str(PROJECT_DIR)]),
        network_delay_ms=args.network_delay_ms,
    )
    return 0


def _lineage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest", type=Path, default=None, help="dbt manifest (default target/manifest.json)"
    )


def _lineage(args: argparse.Namespace) -> int:
    from backfill_tools.lineage import mermaid

    print(mermaid(args.manifest) if args.manifest else mermaid())
    return 0


def _quality_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=100_000, help="how many leads to generate")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generator")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch databases (backfill_quality_*)"
    )
    parser.add_argument(
        "--no-peer",
        dest="peer",
        action="store_false",
        help="skip Splink's rows (Splink, a development dependency, installs on first use)",
    )


def _quality(args: argparse.Namespace) -> int:
    from backfill_tools.quality.groupings import run_quality

    return run_quality(
        scratch_server(), leads=args.leads, seed=args.seed, keep=args.keep, peer=args.peer
    )


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="folder of the report (default reports/)"
    )
    parser.add_argument(
        "--schema",
        default=os.environ.get("BACKFILL_SCHEMA", "customer_backfill"),
        help="the project's schema (default $BACKFILL_SCHEMA or customer_backfill)",
    )


def _report(args: argparse.Namespace) -> int:
    from backfill_tools.quality.review import write_report

    with connect() as conn:
        run, written = write_report(conn, args.schema, args.out)
    print(f"run {run.run_id} ({'applied' if run.applied else 'dry run'}); written:")
    for path in written:
        print(path)
    return 0


# -- crash-test -------------------------------------------------------------------------------
def scratch_server() -> Server:
    """The server to make scratch databases on: the PG* variables' when PGPORT is set, else
    the development server (started if needed)."""
    if os.environ.get("PGPORT"):
        return Server.from_environment()
    return default_devdb(project_dir()).start().server


def _print_flushed(line: str) -> None:
    print(line, flush=True)


def _crash_test_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=30_000, help="leads in the dataset")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kills", type=int, default=21, help="SIGKILLs of `dbt build`")
    parser.add_argument(
        "--terminations", type=int, default=3, help="pg_terminate_backend of the apply's backend"
    )
    parser.add_argument(
        "--slow-apply",
        type=float,
        default=0.0,
        help="test-only: seconds each apply statement sleeps (a trigger), for small datasets",
    )
    parser.add_argument(
        "--operation",
        choices=("build", "rollback"),
        default="build",
        help="what to kill: dbt build, or dbt run-operation rollback_backfill after a run",
    )
    parser.add_argument("--work-dir", type=Path, default=Path("target/crash-test"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    add_app_schema_arguments(parser)


def _crash_test(args: argparse.Namespace) -> int:
    from backfill_tools.harness.crash import CrashConfig, run_crash_test

    config = CrashConfig(
        work_dir=args.work_dir.resolve(),
        leads=args.leads,
        seed=args.seed,
        kills=args.kills,
        terminations=args.terminations,
        slow_apply=args.slow_apply,
        app=app_schema(args),
        keep=args.keep,
        operation=args.operation,
    )
    report = run_crash_test(scratch_server(), config, out=_print_flushed)
    return 0 if report.held else 2


# -- live-traffic -----------------------------------------------------------------------------
def _live_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=30_000, help="leads in the dataset")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pause", type=float, default=0.01, help="seconds between the app's transactions"
    )
    parser.add_argument("--max-seconds", type=float, default=900.0, help="the app's time bound")
    parser.add_argument(
        "--slow-apply", type=float, default=0.0, help="test-only: see crash-test --slow-apply"
    )
    parser.add_argument("--work-dir", type=Path, default=Path("target/live-traffic"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    add_app_schema_arguments(parser)


def _live_traffic(args: argparse.Namespace) -> int:
    from backfill_tools.harness.traffic import TrafficConfig, run_live_traffic

    config = TrafficConfig(
        work_dir=args.work_dir.resolve(),
        leads=args.leads,
        seed=args.seed,
        pause=args.pause,
        max_seconds=args.max_seconds,
        slow_apply=args.slow_apply,
        app=app_schema(args),
        keep=args.keep,
    )
    report = run_live_traffic(scratch_server(), config, out=lambda line: print(line, flush=True))
    return 0 if report.held else 2


# -- hostile-input ----------------------------------------------------------------------------
def _hostile_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", type=Path, default=Path("target/hostile-input"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    add_app_schema_arguments(parser)


def _hostile_input(args: argparse.Namespace) -> int:
    from backfill_tools.harness.hostile import run_hostile_input

    report = run_hostile_input(
        scratch_server(), args.work_dir.resolve(), app_schema(args), keep=args.keep
    )
    return 0 if report.held else 2


# -- race -------------------------------------------------------------------------------------
def _race_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leads", type=int, default=300, help="leads in the dataset")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5, help="how many times to run each race")
    parser.add_argument(
        "--race",
        action="append",
        choices=("build+build", "build+rollback"),
        help="which race (default: both)",
    )
    parser.add_argument("--work-dir", type=Path, default=Path("target/race"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    add_app_schema_arguments(parser)


def _race(args: argparse.Namespace) -> int:
    from backfill_tools.harness.race import RaceConfig, run_races

    config = RaceConfig(
        work_dir=args.work_dir.resolve(),
        leads=args.leads,
        seed=args.seed,
        rounds=args.rounds,
        races=tuple(args.race or ("build+build", "build+rollback")),
        app=app_schema(args),
        keep=args.keep,
    )
    results = run_races(scratch_server(), config, out=_print_flushed)
    return 0 if all(result.held for result in results) else 2


# Every subcommand: name -> Command(help, add_arguments, run). A new one goes here, with its
# code in its own module, imported inside its `run` (so `--help` stays fast).
COMMANDS: dict[str, Command] = {
    "demo": Command("the whole backfill on the development database", _demo_arguments, _demo),
    "lineage": Command("the models' lineage as a Mermaid flowchart", _lineage_arguments, _lineage),
    "db": Command(
        "start/stop/status/destroy the development PostgreSQL; env: its PG* variables",
        _db_arguments,
        _db,
    ),
    "schema": Command("create/drop the app tables", _schema_arguments, _schema),
    "generate": Command("fill the app tables with labeled data", _generate_arguments, _generate),
    "score": Command("score Lead.customer_id against the truth", _score_arguments, _score),
    "quality": Command(
        "precision/recall of the one-pass and the staged grouping on labeled data",
        _quality_arguments,
        _quality,
    ),
    "report": Command(
        "the identity review report of the last run, dry or applied (reports/identity-review.md,"
        " .html)",
        _report_arguments,
        _report,
    ),
    "crash-test": Command(
        "kill dbt build at many points; check all-or-nothing and convergence",
        _crash_test_arguments,
        _crash_test,
    ),
    "live-traffic": Command(
        "app writes while a backfill runs; check nothing is lost or duplicated",
        _live_traffic_arguments,
        _live_traffic,
    ),
    "race": Command(
        "start two writers together (two builds; a build and a rollback); check the result",
        _race_arguments,
        _race,
    ),
    "hostile-input": Command(
        "run the build over a corpus of awkward identifiers; print the table",
        _hostile_input_arguments,
        _hostile_input,
    ),
    "bench": Command(
        "time the project against the per-row script and the SQL floor", _bench_arguments, _bench
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backfill-dev", description=__doc__.split("\n\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (RuntimeError, ValueError, psycopg2.Error) as error:
        print(f"backfill-dev {args.command}: {error}", file=sys.stderr)
        return 1
