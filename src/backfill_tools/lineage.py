"""The models' lineage as a Mermaid flowchart, read from dbt's manifest.

`dbt parse` (or `dbt docs generate`) writes target/manifest.json; this turns its
sources, seeds and models into the diagram the README shows.
"""

from __future__ import annotations

import json
from pathlib import Path

from backfill_tools.dbtrun import PROJECT_DIR

SHOWN = ("source", "seed", "model")


def _label(node: dict) -> str:
    if node["resource_type"] == "source":
        return f"{node['source_name']}.{node['identifier']}"
    return str(node["name"])


def mermaid(manifest_path: Path = PROJECT_DIR / "target" / "manifest.json") -> str:
    manifest = json.loads(manifest_path.read_text())
    nodes = {**manifest["nodes"], **manifest["sources"]}
    shown = {key: node for key, node in nodes.items() if node["resource_type"] in SHOWN}
    ids = {key: _label(node).replace(".", "_") for key, node in shown.items()}
    lines = ["flowchart LR"]
    for key in sorted(shown, key=ids.__getitem__):
        node = shown[key]
        shape = ("[(", ")]") if node["resource_type"] in ("source", "seed") else ("[", "]")
        lines.append(f"    {ids[key]}{shape[0]}{_label(node)}{shape[1]}")
    edges = {
        f"    {ids[parent]} --> {ids[key]}"
        for key in shown
        for parent in shown[key].get("depends_on", {}).get("nodes", [])
        if parent in shown
    }
    return "\n".join([*lines, *sorted(edges)])
