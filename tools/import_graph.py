"""Checks the import graph of engine/, specs/ and formats/: no circles, arrows point down.

Every `import` and `from ... import` counts, at module level or inside a function. A
`from package import name` counts as an import of `package.name` when that is a module. A string
constant that names a module of the checked packages (`"formats.cifar"`, as the registry's table
of adapters holds) counts too: `importlib.import_module` turns it into an import. Run
`python tools/import_graph.py` for a report; exit status 1 when a circle or an upward arrow exists.
The test suite runs it too (tests/test_import_graph.py), so a new circle fails CI.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "specs", "formats")

#: Layers from the bottom up; a module may import its own layer and those below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("specs",),
    ("engine.errors",),
    ("engine.model",),
    ("engine.compute",),
    ("engine.io",),
    ("engine.interop",),
    ("engine.codecs",),
    ("engine.ops",),
    ("engine.format",),
    ("formats",),
    ("engine.registry",),
    ("engine.project",),
    ("engine.fetching",),
    ("engine.api", "engine.hl_ops", "engine.inspection", "engine"),
    ("engine.cli", "engine.__main__"),
)


@dataclass(frozen=True)
class Edge:
    """One import: `source` imports `target` at `line`."""

    source: str
    target: str
    line: int
    #: "import" for an import statement, "string" for a string naming a module (importlib)
    via: str = "import"


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the checked packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: Iterable[str]) -> list[Edge]:
    """The project modules that module `name` (at `path`) imports, anywhere in its body."""
    known = set(modules)
    is_package = path.name == "__init__.py"
    edges = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in known and "." in node.value:
                edges.append(Edge(name, node.value, node.lineno, via="string"))
            continue
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, is_package, node.module, node.level)
            targets = []
            for alias in node.names:
                child = f"{base}.{alias.name}"
                targets.append(child if child in known else base)
        else:
            continue
        for target in targets:
            resolved = _nearest_module(target, known)
            if resolved and resolved != name:
                edges.append(Edge(name, resolved, node.lineno))
    return edges


def _absolute(name: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = name.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, module] if module else parts)


def _nearest_module(target: str, known: set[str]) -> str | None:
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def graph(root: Path = ROOT) -> list[Edge]:
    """Every import edge between the project's modules."""
    modules = module_files(root)
    return [edge for name, path in modules.items() for edge in imports_of(name, path, modules)]


def circles(edges: Iterable[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    successors: dict[str, set[str]] = {}
    for edge in edges:
        successors.setdefault(edge.source, set()).add(edge.target)
        successors.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(successors):
        if start in index:
            continue
        work = [(start, iter(sorted(successors[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(found)


def layer_of(module: str) -> int:
    """The layer index of a module: the longest matching prefix in LAYERS."""
    best, best_length = -1, -1
    for position, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if (
                matches
                and len(prefix) > best_length
                and not (prefix == "engine" and module != prefix)
            ):
                best, best_length = position, len(prefix)
    if best < 0:
        raise ValueError(f"{module}: in no layer; add it to LAYERS in tools/import_graph.py")
    return best


def upward(edges: Iterable[Edge]) -> list[Edge]:
    """Imports of a higher layer than the importer's own."""
    return [edge for edge in edges if layer_of(edge.target) > layer_of(edge.source)]


def main() -> int:
    edges = graph()
    modules = module_files()
    found_circles = circles(edges)
    found_upward = upward(edges)
    strings: dict[tuple[str, str], int] = {}
    for edge in edges:
        if edge.via == "string":
            key = (edge.source, edge.target.split(".")[0])
            strings[key] = strings.get(key, 0) + 1
    print(f"{len(modules)} modules, {len(edges)} import edges")
    print(f"string imports (module names importlib imports): {sum(strings.values())}")
    for (source, package), count in sorted(strings.items()):
        print(f"  {source} names {count} modules of {package}")
    print(f"import circles: {len(found_circles)}")
    for component in found_circles:
        print("  " + " <-> ".join(component))
    print(f"upward imports: {len(found_upward)}")
    for edge in found_upward:
        print(f"  {edge.source} (line {edge.line}) imports {edge.target}")
    return 1 if found_circles or found_upward else 0


if __name__ == "__main__":
    sys.exit(main())
