"""A PostgreSQL server reached through the PG* variables, and the databases made there.

Everything that makes scratch databases goes through `Server`: the tests' fixtures, the
demo on a user's server, the harnesses, the benchmark and `quality`. A copy of a template
database (`create database ... template ...`) is written once, in `create_database`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2.extensions

from backfill_tools.db.appdb import connect

SERVER_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server given by PG* variables (their PGDATABASE is ignored)."""

    env: dict[str, str]

    @classmethod
    def from_environment(cls) -> Server:
        """The server of this process's PG* variables (a server the user runs)."""
        return cls({key: os.environ[key] for key in SERVER_VARIABLES if os.environ.get(key)})

    def libpq_env(self, database: str) -> dict[str, str]:
        """The PG* variables that point a client (and dbt) at `database` on this server."""
        return {**self.env, "PGDATABASE": database}

    @contextmanager
    def connection(self, database: str) -> Iterator[psycopg2.extensions.connection]:
        conn = connect(self.libpq_env(database))
        try:
            yield conn
        finally:
            conn.close()

    def admin(self, *statements: str, database: str = "postgres") -> None:
        """Statements on `database`, each outside a transaction."""
        with self.connection(database) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)

    def exists(self, name: str) -> bool:
        with self.connection("postgres") as conn, conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            return cur.fetchone() is not None

    def create_database(
        self, name: str, template: str | None = None, strategy: str | None = None
    ) -> dict[str, str]:
        """`name` (kept when it exists): empty, or a copy of `template` (`strategy`:
        PostgreSQL's, e.g. `file_copy`); returns its PG* variables."""
        if not self.exists(name):
            clause = f' template "{template}"' if template else ""
            clause += f" strategy {strategy}" if strategy else ""
            self.admin(f'create database "{name}"{clause}')
        return self.libpq_env(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'drop database if exists "{name}" with (force)')

    def recreate(
        self, name: str, template: str | None = None, strategy: str | None = None
    ) -> dict[str, str]:
        """A new database `name` (an earlier one of that name dropped): empty, or a copy
        of `template`; returns its PG* variables."""
        self.drop_database(name)
        return self.create_database(name, template, strategy)
