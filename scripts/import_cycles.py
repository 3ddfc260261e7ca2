"""Print the import cycles among the modules of a package, counting deferred (function-level) imports.

    python scripts/import_cycles.py src/conjure                    # TYPE_CHECKING blocks left out
    python scripts/import_cycles.py src/conjure --type-checking    # ... counted too
    python scripts/import_cycles.py src/conjure --parents          # `import a.b.c` also runs a, a.b

Exit status 1 when there is a cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part[0].isdigit() for part in parts):  # migration scripts are not modules
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path], type_checking: bool, parents: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    if not type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    named: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            named.add(base)
            named.update(f"{base}.{alias.name}" for alias in node.names)
    edges = set()
    for target in named:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if not target:
            continue
        parts = target.split(".")
        first = 2 if parents else len(parts)
        edges.update(".".join(parts[:i]) for i in range(first, len(parts) + 1))
    return {edge for edge in edges if edge in known and edge != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            visit(node)
    return found


def main() -> int:
    root = Path(sys.argv[1])
    known = modules(root)
    type_checking, parents = "--type-checking" in sys.argv, "--parents" in sys.argv
    graph = {name: imports(name, path, known, type_checking, parents) for name, path in known.items()}
    found = cycles(graph)
    for component in found:
        print(len(component), " ".join(component))
    print(f"{len(found)} cycle(s) among {len(known)} modules")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
