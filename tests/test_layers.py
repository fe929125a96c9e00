"""The package's imports run one way: no circle between its parts, nothing imported from a layer above.

Every module of `spark_sched` is read with `ast` (no import, no Spark): its
module-level, function-level and type-checking imports, `from x import y`
resolved to the module `x.y` when there is one. Modules are grouped by the
part they belong to -- a subpackage (`priority`, `bench`) or a top-level
module (`config`, `errors`); the package's own `__init__` is the public facade
`spark_sched` -- and the parts' graph must have no circle and must follow
`LAYERS`. A lower layer that needs something of a higher one gets that thing
moved down, not an exception here; a new part must be given its layer below.
"""

from __future__ import annotations

import ast
import graphlib
import importlib.util
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

PACKAGE = "spark_sched"
# the package as installed: the source tree in development, the wheel in the test image
ROOT = Path(importlib.util.find_spec(PACKAGE).origin).parent  # type: ignore[arg-type,union-attr]

# Highest first. A part may import parts of its own layer or of any layer below it, never above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("bench",),
    ("workloads",),  # demos, benches' and tests' workloads: no mechanism imports them
    ("sim",),  # the scheduling model: calls the mechanisms' decision objects, never Spark
    ("spark_sched",),  # the public facade (the package's __init__)
    ("composer",),
    ("sampling",),
    ("testbed",),
    ("submit", "session"),
    ("cluster",),
    ("locality",),
    ("measure",),
    ("topology",),
    ("config",),
    ("priority",),
    ("jobscope",),
    ("pools",),
    ("runtime", "settings_file", "files", "registry", "plots", "procfs", "connect"),
    ("tomlread",),
    ("mixes",),  # the composer's mix as data (numpy only), drawn by both the bench's workload and the model
    ("compat", "errors", "figures", "sparkversions"),  # figures: null with its reason; sparkversions: a log's Spark
)

Graph = dict[str, set[str]]


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for its `__init__`)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(source: str, name: str, is_package: bool, known: Iterable[str]) -> Iterator[str]:
    """The package's modules that `source` (module `name`) imports, wherever the import statement stands."""
    known = set(known)
    here = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _closest(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                yield from _closest(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base, known)


def _closest(dotted: str, known: set[str]) -> Iterator[str]:
    """`dotted` itself when it is one of the package's modules, else its longest prefix that is."""
    parts = dotted.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    if parts:
        yield ".".join(parts)


def part_of(module: str) -> str:
    """The part a module belongs to: its top-level subpackage or module, `spark_sched` for the facade."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def part_graph(root: Path = ROOT) -> tuple[Graph, dict[tuple[str, str], list[str]]]:
    """Which part imports which (self-imports left out), and the module imports behind each edge."""
    files = module_files(root)
    graph: Graph = {part_of(m): set() for m in files}
    why: dict[tuple[str, str], list[str]] = {}
    for module, path in files.items():
        for target in imported_modules(path.read_text(), module, path.name == "__init__.py", files):
            a, b = part_of(module), part_of(target)
            if a != b:
                graph[a].add(b)
                why.setdefault((a, b), []).append(f"{module} -> {target}")
    return graph, why


def circle(graph: Mapping[str, set[str]]) -> list[str]:
    """A circle of parts (first part repeated at the end), or [] when the graph is acyclic."""
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def undeclared(graph: Mapping[str, set[str]], layers: Sequence[Sequence[str]]) -> list[str]:
    """Parts that `layers` does not place."""
    placed = {part for names in layers for part in names}
    return sorted(part for part in graph if part not in placed)


def upward(graph: Mapping[str, set[str]], layers: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """Every (importer, imported) pair where the imported part sits in a higher layer than its importer."""
    level = {part: i for i, names in enumerate(layers) for part in names}
    return [(a, b) for a in sorted(graph) for b in sorted(graph[a])
            if a in level and b in level and level[b] < level[a]]


def test_the_parts_import_one_way_without_circles() -> None:
    graph, why = part_graph()
    loop = circle(graph)
    edges = "; ".join(why[(a, b)][0] for a, b in zip(loop, loop[1:], strict=False))
    assert not loop, f"circle: {' -> '.join(loop)} ({edges})"
    assert undeclared(graph, LAYERS) == [], "give these parts a layer in LAYERS"
    wrong = [f"{a} imports {b}, a higher layer: {', '.join(why[(a, b)][:3])}" for a, b in upward(graph, LAYERS)]
    assert not wrong, "\n".join(wrong)


def test_every_declared_layer_names_an_existing_part() -> None:
    graph, _ = part_graph()
    declared = [part for names in LAYERS for part in names]
    assert len(declared) == len(set(declared)), "a part declared in two layers"
    assert sorted(set(declared) - set(graph)) == [], "layers name parts that no longer exist"


# -- the checks themselves can fail --------------------------------------------------------------------------


def test_a_circle_and_an_upward_import_are_caught() -> None:
    layers = (("cli",), ("priority",), ("config",), ("errors",))
    good: Graph = {"cli": {"priority", "config"}, "priority": {"errors"}, "config": {"priority"}, "errors": set()}
    assert circle(good) == [] and upward(good, layers) == [("config", "priority")]
    bad: Graph = {**good, "priority": {"config", "errors"}}  # the lazy priority <-> config cycle this test guards
    assert set(circle(bad)) == {"priority", "config"}
    assert undeclared({"cli": set(), "sim": {"cli"}}, layers) == ["sim"]
    assert upward({"priority": {"cli"}, "cli": set()}, layers) == [("priority", "cli")]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import spark_sched.measure.eventlog as e\n", {"spark_sched.measure.eventlog"}),
        ("from spark_sched.measure import measure\n", {"spark_sched.measure"}),
        ("from spark_sched.measure import eventlog\n", {"spark_sched.measure.eventlog"}),
        ("def late():\n    from spark_sched.config import load_settings\n", {"spark_sched.config"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from spark_sched import config\n",
         {"spark_sched.config"}),
        ("from . import model\nfrom ..errors import SettingsError\n",
         {"spark_sched.pools.model", "spark_sched.errors"}),
        ("import os\nfrom pyspark.sql import SparkSession\n", set()),
    ],
)
def test_imports_are_found_wherever_they_stand(source: str, expected: set[str]) -> None:
    known = {"spark_sched", "spark_sched.config", "spark_sched.errors", "spark_sched.measure",
             "spark_sched.measure.eventlog", "spark_sched.pools", "spark_sched.pools.model", "spark_sched.pools.load"}
    assert set(imported_modules(source, "spark_sched.pools.load", False, known)) == expected
