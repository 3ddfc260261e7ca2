"""No import cycle among ``src/conjure`` modules, counting deferred (in-function) and TYPE_CHECKING imports.

Every module is parsed with ``ast`` (nothing is imported), every ``import`` statement anywhere in
it becomes an edge, and the strongly connected components of that graph must all be single
modules. ``from conjure.x import y`` points at ``conjure.x.y`` when ``y`` is a submodule, else at
``conjure.x``; a package's ``__init__`` is the package. The implicit import of parent packages is
not counted: it is what Python does for every submodule, not a dependency the code chose.

``make cycles`` (``python -m tests.platform.test_import_cycles``) prints the cycles and the
import lines that close them.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

# importer -> imported -> line numbers of the import statements in the importer
Graph = dict[str, dict[str, list[int]]]


def module_names(src: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``src`` by dotted name (a package's ``__init__`` is the package)."""
    names: dict[str, Path] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> Iterator[str]:
    """The dotted names an import statement may reach (resolved against the known modules by the caller)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:
        # Relative: level 1 is the importer's own package (a package's __init__ is its own package).
        anchor = importer.split(".") if is_package else importer.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        yield f"{base}.{alias.name}"  # a submodule, else the caller falls back to ``base``


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module ``name`` starts with: ``conjure.x.y``, or ``conjure.x`` if y is not one."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(src: Path = SRC, package: str = "conjure") -> Graph:
    """The module graph of ``package``: every import statement of every module, wherever it sits."""
    modules = module_names(src, package)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, name, is_package):
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != name:
                    graph[name].setdefault(resolved, []).append(node.lineno)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found, key=lambda c: (-len(c), c))


def describe(graph: Graph, component: list[str]) -> str:
    """A cycle and the import lines inside it, to know which import to move."""
    members = set(component)
    lines = [f"cycle of {len(component)} modules: {', '.join(component)}"]
    for importer in component:
        for imported, linenos in sorted(graph[importer].items()):
            if imported in members:
                where = ",".join(str(n) for n in sorted(set(linenos)))
                lines.append(f"  {importer}:{where} -> {imported}")
    return "\n".join(lines)


def report(graph: Graph) -> str:
    return "\n".join(describe(graph, component) for component in cycles(graph))


def test_no_import_cycles_in_conjure() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the module scan found too few modules: is SRC right?"
    found = report(graph)
    assert not found, f"import cycles among src/conjure modules:\n{found}"


def test_the_check_finds_deferred_and_type_checking_cycles(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import c\n")
    # a -> b at module level, b -> a only inside a function: still a cycle.
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.a import thing\n")
    # c -> d at module level, d -> the package pkg.sub (whose __init__ imports c) under TYPE_CHECKING.
    (pkg / "sub" / "c.py").write_text("import pkg.sub.d\n")
    (pkg / "sub" / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import Name\n"
    )
    # e -> f with no way back: not a cycle.
    (pkg / "e.py").write_text("from .sub import c\nfrom pkg import f\n")
    (pkg / "f.py").write_text("import os\n")

    graph = import_graph(tmp_path, "pkg")

    assert cycles(graph) == [["pkg.sub", "pkg.sub.c", "pkg.sub.d"], ["pkg.a", "pkg.b"]]
    assert graph["pkg.e"] == {"pkg.sub.c": [1], "pkg.f": [2]}
    assert "pkg.b:2 -> pkg.a" in report(graph)


if __name__ == "__main__":
    found_cycles = report(import_graph())
    print(found_cycles or "no import cycles among src/conjure modules")
    sys.exit(1 if found_cycles else 0)
