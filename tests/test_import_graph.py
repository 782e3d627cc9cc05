"""The shape of the code, as a test: no package imports itself back, and the hot path's core imports no outer layer.

The graph is read from the source with ``ast`` (nothing is imported, so no import side effects and no optional
dependency is needed). Its nodes are the packages directly under ``hokusai_auth`` and ``hokusai`` (``keys``,
``validation``, ``hokusai.cli``, ...) and their top-level modules (``runtime``, ``app``, ``settings``, ...), each its
own node. Every import counts: inside functions and under ``TYPE_CHECKING`` too, since a cycle that only type
checking sees is still two packages that cannot be understood one without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOTS = ("hokusai_auth", "hokusai")

# validation/ is the hot path's core. Storage, Redis, usage and the wiring reach it through the small protocols
# of validation/ports.py, which the outer packages implement; it never imports them.
NEVER = {
    "hokusai_auth.validation": {
        "hokusai_auth.app",
        "hokusai_auth.cluster",
        "hokusai_auth.db",
        "hokusai_auth.embed",
        "hokusai_auth.gateway",
        "hokusai_auth.keys",
        "hokusai_auth.propagation",
        "hokusai_auth.runtime",
        "hokusai_auth.usage",
    },
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing file, relative to src/
    line: int
    target: str  # the module imported


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for root in ROOTS for path in sorted((SRC / root).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    source = str(path.relative_to(SRC))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"  # ``from pkg import module`` imports the module
                yield Import(source, node.lineno, submodule if submodule in known else base)


def node_of(module: str) -> str | None:
    """The graph node a module belongs to: ``root.first`` (a package, a folder of scripts such as migrations/, or a
    top-level module), or the root itself for its ``__init__``; None outside the project."""
    parts = module.split(".")
    if parts[0] not in ROOTS:
        return None
    return ".".join(parts[:2])


@dataclass
class Graph:
    edges: dict[str, dict[str, list[Import]]]  # node -> node -> the imports that make the arrow

    def cycles(self) -> list[list[str]]:
        """Strongly connected components with more than one node (Tarjan)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []

        def visit(node: str) -> None:
            index[node] = low[node] = len(index)
            stack.append(node)
            on_stack.add(node)
            for target in self.edges.get(node, {}):
                if target not in index:
                    visit(target)
                    low[node] = min(low[node], low[target])
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

        for node in sorted(self.edges):
            if node not in index:
                visit(node)
        return found

    def describe(self, component: list[str]) -> str:
        members = set(component)
        lines = [" <-> ".join(component)]
        for source in component:
            for target, made_by in sorted(self.edges.get(source, {}).items()):
                if target in members:
                    where = ", ".join(sorted({f"{item.source}:{item.line} ({item.target})" for item in made_by}))
                    lines.append(f"  {source} -> {target}: {where}")
        return "\n".join(lines)


def build_graph() -> Graph:
    found = modules()
    known = set(found)
    edges: dict[str, dict[str, list[Import]]] = {}
    for name, path in found.items():
        source_node = node_of(name)
        assert source_node is not None
        arrows = edges.setdefault(source_node, {})
        for item in imports_of(name, path, known):
            target_node = node_of(item.target)
            if target_node is not None and target_node != source_node:
                arrows.setdefault(target_node, []).append(item)
    return Graph(edges)


def test_the_graph_is_read_from_the_source() -> None:
    graph = build_graph()
    # A few arrows that must be there, so an empty or misread graph cannot pass the tests below.
    assert "hokusai_auth.validation" in graph.edges["hokusai_auth.runtime"]
    assert "hokusai_auth.runtime" in graph.edges["hokusai_auth.app"]
    assert "hokusai_auth.keys" in graph.edges["hokusai_auth.usage"]


def test_a_cycle_is_found_whatever_its_length() -> None:
    arrow: list[Import] = []
    graph = Graph({"a": {"b": arrow}, "b": {"c": arrow}, "c": {"a": arrow, "d": arrow}, "d": {}})
    assert graph.cycles() == [["a", "b", "c"]]
    assert Graph({"a": {"b": arrow}, "b": {}}).cycles() == []


def test_no_package_imports_itself_back() -> None:
    graph = build_graph()
    cycles = graph.cycles()
    assert not cycles, "package cycles:\n" + "\n".join(graph.describe(component) for component in cycles)


def test_the_validation_core_imports_no_outer_layer() -> None:
    graph = build_graph()
    broken = [
        f"{source} -> {target}: " + ", ".join(f"{item.source}:{item.line}" for item in graph.edges[source][target])
        for source, forbidden in NEVER.items()
        for target in sorted(forbidden & set(graph.edges.get(source, {})))
    ]
    assert not broken, "validation/ reaches an outer layer:\n" + "\n".join(broken)
