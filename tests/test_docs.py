"""Every command a user can type is documented: each make target, each run-operation and
each var appears in the README or in docs/ (as sqlite-utils checks its CLI commands)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documentation() -> str:
    return "\n".join(path.read_text() for path in DOCS if path.name != "performance-history.md")


def make_targets() -> list[str]:
    """The targets `make help` lists (a `## ` comment after the target)."""
    makefile = (ROOT / "Makefile").read_text()
    return re.findall(r"^([a-z][a-z-]*):.*## ", makefile, flags=re.MULTILINE)


def run_operations() -> list[str]:
    """The macros documented as `dbt run-operation <name>` entry points."""
    names = []
    for path in (ROOT / "macros").rglob("_*__macros.yml"):
        for macro in yaml.safe_load(path.read_text()).get("macros", []):
            if "`dbt run-operation" in str(macro.get("description", "")):
                names.append(macro["name"])
    return sorted(names)


def project_vars() -> list[str]:
    return sorted(yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"])


def test_the_lists_are_not_empty() -> None:
    assert {"demo", "test", "lint", "bench", "quality"} <= set(make_targets())
    assert {"rollback_backfill", "resolve_conflicts", "link_lead"} <= set(run_operations())
    assert {"dry_run", "app_schema", "customer_phone_format"} <= set(project_vars())


@pytest.mark.parametrize("target", make_targets())
def test_every_make_target_is_documented(target: str) -> None:
    assert re.search(rf"make {re.escape(target)}\b", documentation()), target


@pytest.mark.parametrize("operation", run_operations())
def test_every_run_operation_is_documented(operation: str) -> None:
    assert f"run-operation {operation}" in documentation(), operation


@pytest.mark.parametrize("name", project_vars())
def test_every_var_is_documented(name: str) -> None:
    assert re.search(rf"`{re.escape(name)}`", documentation()), name


def test_the_readme_is_a_first_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for link in re.findall(r"\]\(((?:docs|\.)/[^)#]+)", readme):
        assert (ROOT / link).exists(), link
