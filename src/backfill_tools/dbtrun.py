"""Running the real `dbt` CLI of the project's venv against a chosen database.

Tests, the demo, the harnesses and the benchmarks all start dbt here (`DbtProject`), so
that what they run is exactly what a user types: `dbt build`, `dbt test`,
`dbt run-operation ...`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PROJECT_DIR = Path(__file__).resolve().parents[2]
# What a copy of the project needs (DbtProject.copy).
PROJECT_FILES = ("dbt_project.yml", "selectors.yml", "profiles.yml.example")
PROJECT_FOLDERS = ("models", "macros", "seeds", "data-tests", "analyses")
# what a `dbt build` prints when it found its inputs unchanged since a validated real run
# (macros/reporting/print_backfill_summary.sql, print_unchanged_run)
UNCHANGED_RUN = "Nothing has changed since run"
# Where a started command's output goes: subprocess.PIPE or STDOUT, a file, or None.
Output = int | IO[str] | None


def dbt_executable() -> str:
    """The dbt next to the running Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise RuntimeError("dbt is not installed: run `make setup`")
    return found


@dataclass
class DbtResult:
    """What one dbt command printed and how it ended."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class DbtProject:
    """The project, pointed at one database, with its own target and log folders."""

    env: dict[str, str]
    work_dir: Path
    project_dir: Path = PROJECT_DIR
    schema: str = "customer_backfill"
    base_vars: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        profiles = self.work_dir / "profiles.yml"
        if not profiles.exists():
            shutil.copy(self.project_dir / "profiles.yml.example", profiles)

    def command(self, *args: str, vars: dict[str, object] | None = None) -> list[str]:
        merged = {**self.base_vars, **(vars or {})}
        cmd = [dbt_executable(), *args]
        if merged:
            cmd += ["--vars", json.dumps(merged)]
        return cmd

    def process_env(self, colors: bool = False) -> dict[str, str]:
        """dbt's environment: the database's PG* variables, this project's folders and
        schema; no colors unless `colors` (output read by a program, not a person)."""
        env = {**os.environ, **self.env}
        env.update(
            {
                "DBT_PROFILES_DIR": str(self.work_dir),
                "DBT_TARGET_PATH": str(self.work_dir / "target"),
                "DBT_LOG_PATH": str(self.work_dir / "logs"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "BACKFILL_SCHEMA": self.schema,
            }
        )
        if not colors:
            env["DBT_USE_COLORS"] = "false"
        return env

    def start(
        self,
        *args: str,
        vars: dict[str, object] | None = None,
        stdout: Output = subprocess.PIPE,
        stderr: Output = subprocess.PIPE,
    ) -> subprocess.Popen:
        """Start a dbt command without waiting (crash, race and benchmark harnesses).

        `stdout` and `stderr` are as `subprocess` takes them: PIPE (read from the process),
        an open file, STDOUT for stderr (into stdout), or None (this process's terminal,
        with dbt's colors).
        """
        return subprocess.Popen(
            self.command(*args, vars=vars),
            cwd=self.project_dir,
            env=self.process_env(colors=stdout is None),
            stdout=stdout,
            stderr=stderr,
            text=True,
        )

    def run(
        self,
        *args: str,
        vars: dict[str, object] | None = None,
        check: bool = True,
        timeout: float | None = 900,
        stream: bool = False,
    ) -> DbtResult:
        """Run a dbt command to its end. Its output is captured, or with `stream` printed as
        it comes (the demo), and then not in the result."""
        output = None if stream else subprocess.PIPE
        process = self.start(*args, vars=vars, stdout=output, stderr=output)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        command = self.command(*args, vars=vars)
        result = DbtResult(command, process.returncode, stdout or "", stderr or "")
        if check and not result.ok:
            raise AssertionError(
                f"`{' '.join(args)}` failed ({result.returncode}):\n{result.output[-6000:]}"
            )
        return result

    def build(self, dry_run: bool = False, **kwargs: object) -> DbtResult:
        vars = dict(kwargs.pop("vars", None) or {})  # type: ignore[call-overload]
        if dry_run:
            vars["dry_run"] = True
        return self.run("build", vars=vars, **kwargs)  # type: ignore[arg-type]

    def copy(self, project_dir: Path, work_dir: Path) -> DbtProject:
        """A copy of this project's files in `project_dir` (for a test that adds a model
        or a macro), on the same database, run from `work_dir`."""
        project_dir.mkdir(parents=True)
        for name in PROJECT_FILES:
            shutil.copy(self.project_dir / name, project_dir / name)
        for folder in PROJECT_FOLDERS:
            shutil.copytree(self.project_dir / folder, project_dir / folder)
        return DbtProject(
            env=self.env,
            work_dir=work_dir,
            project_dir=project_dir,
            schema=self.schema,
            base_vars=self.base_vars,
        )
