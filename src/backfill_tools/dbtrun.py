"""Running the real `dbt` CLI of the project's venv against a chosen database.

Tests, the demo and the benchmarks all go through here, so that what they run
is exactly what a user types: `dbt build`, `dbt test`, `dbt run-operation ...`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


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

    def process_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.update(
            {
                "DBT_PROFILES_DIR": str(self.work_dir),
                "DBT_TARGET_PATH": str(self.work_dir / "target"),
                "DBT_LOG_PATH": str(self.work_dir / "logs"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DBT_USE_COLORS": "false",
                "BACKFILL_SCHEMA": self.schema,
            }
        )
        return env

    def start(self, *args: str, vars: dict[str, object] | None = None) -> subprocess.Popen:
        """Start a dbt command without waiting (for crash and concurrency tests)."""
        return subprocess.Popen(
            self.command(*args, vars=vars),
            cwd=self.project_dir,
            env=self.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self,
        *args: str,
        vars: dict[str, object] | None = None,
        check: bool = True,
        timeout: float = 900,
    ) -> DbtResult:
        cmd = self.command(*args, vars=vars)
        done = subprocess.run(
            cmd,
            cwd=self.project_dir,
            env=self.process_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = DbtResult(cmd, done.returncode, done.stdout, done.stderr)
        if check and not result.ok:
            raise AssertionError(
                f"`{' '.join(args)}` failed ({done.returncode}):\n{result.output[-6000:]}"
            )
        return result

    def build(self, dry_run: bool = False, **kwargs: object) -> DbtResult:
        vars = dict(kwargs.pop("vars", None) or {})  # type: ignore[call-overload]
        if dry_run:
            vars["dry_run"] = True
        return self.run("build", vars=vars, **kwargs)  # type: ignore[arg-type]
