"""Fixtures: one real PostgreSQL server per session, one fresh database per test."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.devdb import DevDb, free_port
from backfill_tools.db.server import Server
from backfill_tools.dbtrun import DbtProject
from tests.appdata import AppDatabase


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """The server every test uses: embedded 16 by default, BACKFILL_TEST_PG_VERSION to choose
    15, 16 or 18; BACKFILL_TESTS_USE_PGHOST=1 to use the server of the PG* variables instead
    (each test creates and drops its own database there)."""
    if os.environ.get("BACKFILL_TESTS_USE_PGHOST") == "1":
        yield Server.from_environment()
        return
    version = int(os.environ.get("BACKFILL_TEST_PG_VERSION", "16"))
    # Not under pytest's own temporary folder: the server runs as another user, and each
    # new pytest session of this user (another checkout's, say) makes /tmp/pytest-of-<user>
    # private again - the server then lost its data folder mid-run ("Permission denied").
    data_dir = Path(tempfile.mkdtemp(prefix="backfill-test-pg-"))
    devdb = _start_server(data_dir / f"pg{version}", version)
    yield devdb.server
    devdb.destroy()
    shutil.rmtree(data_dir, ignore_errors=True)


def _start_server(data_dir: Path, version: int, attempts: int = 3) -> DevDb:
    """Test workers (pytest -n) each start a server: a free port can be taken by another
    worker's server before this one binds it, so try another port then."""
    for _attempt in range(attempts - 1):
        server = DevDb(data_dir=data_dir, port=free_port(), version=version)
        try:
            return server.start()
        except RuntimeError:
            server.stop()
    return DevDb(data_dir=data_dir, port=free_port(), version=version).start()


@pytest.fixture
def app_schema() -> AppSchema:
    """How the app lays out its tables; tests of other layouts override this fixture."""
    return AppSchema()


@pytest.fixture
def app_db(pg_server: Server, app_schema: AppSchema) -> Iterator[AppDatabase]:
    """A new database holding the app's (empty) tables."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    env = pg_server.create_database(name)
    conn = connect(env)
    app_schema.create(conn)
    database = AppDatabase(conn=conn, env=env, schema=app_schema)
    yield database
    conn.close()
    pg_server.drop_database(name)


@pytest.fixture
def project(app_db: AppDatabase, tmp_path: Path, app_schema: AppSchema) -> DbtProject:
    """The real dbt project pointed at the test's database."""
    return DbtProject(env=app_db.env, work_dir=tmp_path / "dbt", base_vars=app_schema.dbt_vars())
