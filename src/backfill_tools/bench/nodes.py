"""Where a dbt command's time went, from its `run_results.json` and `manifest.json`.

The slowest nodes and the seconds summed per resource type say what costs most; the
critical path says what sets the wall clock: the longest chain of nodes that had to run
one after the other. dbt runs the rest on its other threads beside that chain, so making
a node off the path faster does not shorten the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

NodeTiming = tuple[str, str, float]  # resource type, name, seconds


@dataclass
class CriticalPath:
    """The longest chain of a dbt command: its seconds and its nodes in run order."""

    seconds: float = 0.0
    nodes: list[tuple[str, float]] = field(default_factory=list)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def node_seconds(target_dir: Path) -> dict[str, float]:
    """Seconds of every node (by unique id) of the last dbt command."""
    results = _read_json(target_dir / "run_results.json").get("results", [])
    return {node["unique_id"]: float(node["execution_time"]) for node in results}


def node_timings(target_dir: Path) -> list[NodeTiming]:
    """(resource type, name, seconds) of every node of the last dbt command."""
    return [
        (unique_id.split(".")[0], unique_id.split(".")[2], seconds)
        for unique_id, seconds in node_seconds(target_dir).items()
    ]


def slowest_nodes(timings: list[NodeTiming], count: int = 6) -> list[tuple[str, float]]:
    ranked = sorted(timings, key=lambda node: node[2], reverse=True)
    return [(name, seconds) for _, name, seconds in ranked[:count]]


def seconds_by_type(timings: list[NodeTiming]) -> dict[str, float]:
    """Summed node seconds per resource type (threads overlap: the sum exceeds the wall time)."""
    totals: dict[str, float] = {}
    for resource_type, _, seconds in timings:
        totals[resource_type] = totals.get(resource_type, 0.0) + seconds
    return totals


def _short_name(unique_id: str) -> str:
    """A generic test's id ends in a hash and a unit test's id in the model's name then
    the test's: `not_null_plan_customers_customer_id`, `test_..._normalizes_phones`."""
    parts = unique_id.split(".")
    return parts[-1] if unique_id.startswith("unit_test.") else parts[2]


def build_order(target_dir: Path) -> dict[str, set[str]]:
    """For each node that ran, the nodes that ran and that it waited for.

    The order is dbt's own: the graph with test edges it writes to `graph_summary.json`
    (a node waits for its parents and for the tests of what it is built from; a failing
    test skips what is downstream), followed through the nodes that do not run
    (sources, ephemeral models). That graph leaves out unit tests, which `dbt build`
    runs after the model's parents and before the model: they are added from the
    manifest. Empty when the files are missing or from another invocation, and for
    `run-operation`, which has no graph.
    """
    seconds = node_seconds(target_dir)
    summary = _read_json(target_dir / "graph_summary.json")
    invocation = _read_json(target_dir / "run_results.json").get("metadata", {})
    graph = summary.get("with_test_edges", {})
    if not seconds or not graph or summary["_invocation_id"] != invocation.get("invocation_id"):
        return {}
    declared: dict[str, set[str]] = {}
    for node in graph.values():
        for successor in node.get("succ", []):
            declared.setdefault(graph[str(successor)]["name"], set()).add(node["name"])

    @cache
    def waits_for(unique_id: str) -> frozenset[str]:
        found: set[str] = set()
        for parent in declared.get(unique_id, ()):
            found |= {parent} if parent in seconds else waits_for(parent)
        return frozenset(found)

    order = {
        unique_id: set(waits_for(unique_id))
        for unique_id in seconds
        if not unique_id.startswith("operation.")
    }
    unit_tests = _read_json(target_dir / "manifest.json").get("unit_tests", {})
    for unit_test, spec in unit_tests.items():
        models = [m for m in spec.get("depends_on", {}).get("nodes", []) if m in order]
        if unit_test in order:
            # the graph has the unit test after its model; `dbt build` runs it before
            order[unit_test] = set().union(*(waits_for(model) for model in models))
            for model in models:
                order[model].add(unit_test)
    return order


def _longest_chain(seconds: dict[str, float], dependencies: dict[str, set[str]]) -> CriticalPath:
    @cache
    def longest_to(unique_id: str) -> tuple[float, tuple[str, ...]]:
        before = max(
            (longest_to(parent) for parent in dependencies.get(unique_id, ())),
            default=(0.0, ()),
        )
        return before[0] + seconds[unique_id], (*before[1], unique_id)

    if not dependencies:
        return CriticalPath()
    total, chain = max((longest_to(unique_id) for unique_id in dependencies), default=(0.0, ()))
    return CriticalPath(total, [(_short_name(node), seconds[node]) for node in chain])


def _operations(seconds: dict[str, float], hook: str) -> Iterable[tuple[str, float]]:
    return [
        (_short_name(unique_id), took)
        for unique_id, took in seconds.items()
        if unique_id.startswith("operation.") and f"-{hook}-" in unique_id
    ]


def critical_path(target_dir: Path) -> CriticalPath:
    """The chain of the last dbt command that set its wall clock: the on-run-start hooks,
    the longest chain of nodes in the order `dbt build` imposes, the on-run-end hooks.
    Between nodes dbt adds a little of its own time, so the run's wall clock is longer."""
    order = build_order(target_dir)
    if not order:
        return CriticalPath()
    seconds = node_seconds(target_dir)
    chain = _longest_chain(seconds, order)
    nodes = [
        *_operations(seconds, "on-run-start"),
        *chain.nodes,
        *_operations(seconds, "on-run-end"),
    ]
    return CriticalPath(sum(took for _, took in nodes), nodes)
