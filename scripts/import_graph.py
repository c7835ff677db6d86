"""Measure pgmath's import structure: cycles, deferred imports and function lengths.

Rerunnable evidence for issue 14 (item 1)::

    python scripts/import_graph.py            # summary
    python scripts/import_graph.py --verbose  # every cycle member and deferred import
    python scripts/import_graph.py --root /path/to/other/checkout  # e.g. before a change

The graph has one node per module under ``pgmath/`` (a package is its ``__init__``).
An edge ``a → b`` means module ``a`` imports ``b`` at module level; importing
``pgmath.exact.moments`` from outside ``pgmath.exact`` also runs
``pgmath/exact/__init__.py``, so that edge goes to ``pgmath.exact`` as well (the root
``pgmath`` facade excepted: every submodule would reach it; and a module's own packages
excepted: they are already running when it is imported). A cycle is a strongly connected component with more than one module. A *deferred*
import is an ``import`` inside a function body; those of a pgmath module are the ones
that hide a dependency (imports of optional extras such as torch, jax or matplotlib are
listed apart). Only the standard library is used, so this runs without installing pgmath.
"""
from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pgmath"


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    imports: set[str] = field(default_factory=set)
    deferred_internal: list[tuple[int, str]] = field(default_factory=list)
    deferred_external: list[tuple[int, str]] = field(default_factory=list)
    functions: list[tuple[int, str, int]] = field(default_factory=list)


def module_name(path: Path, root: Path = ROOT) -> tuple[str, bool]:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: Module, node: ast.AST, known: set[str]) -> list[str]:
    """The pgmath modules (or external top-level names) an import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = _resolve(module, node)
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if sub in known else base)
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(module: Module, body: list[ast.stmt], known: set[str], in_function: bool) -> None:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in _targets(module, node, known):
                internal = target == PACKAGE or target.startswith(PACKAGE + ".")
                if not in_function:
                    if internal:
                        module.imports.add(target)
                else:
                    found = module.deferred_internal if internal else module.deferred_external
                    if (node.lineno, target) not in found:
                        found.append((node.lineno, target))
            continue
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue  # annotations only: never executed
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            module.functions.append((length, node.name, node.lineno))
            _walk(module, node.body, known, True)
            continue
        for child_body in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, child_body, None)
            if isinstance(children, list):
                stmts = []
                for child in children:
                    if isinstance(child, ast.ExceptHandler):
                        stmts.extend(child.body)
                    elif isinstance(child, ast.stmt):
                        stmts.append(child)
                _walk(module, stmts, known, in_function)


def load(root: Path = ROOT) -> dict[str, Module]:
    paths = sorted((root / PACKAGE).rglob("*.py"))
    modules: dict[str, Module] = {}
    for path in paths:
        name, is_package = module_name(path, root)
        modules[name] = Module(name, path, is_package)
    known = set(modules)
    for module in modules.values():
        tree = ast.parse(module.path.read_text(), filename=str(module.path))
        _walk(module, tree.body, known, False)
    return modules


def _ancestors(name: str) -> set[str]:
    """The packages above ``name``, the root facade ``pgmath`` left out."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(2, len(parts))}


def edges(modules: dict[str, Module], *, deferred: bool = False) -> dict[str, set[str]]:
    """Module-level import edges, with the implicit edges to parent packages; with
    ``deferred=True`` the imports inside functions count too (the dependencies they hide)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module in modules.values():
        ancestors = _ancestors(module.name)
        targets = set(module.imports)
        if deferred:
            targets |= {target for _, target in module.deferred_internal}
        for target in targets:
            if target in modules and target != module.name:
                graph[module.name].add(target)  # the import the module asks for
            # the parent packages Python runs first, unless already running (our own)
            for parent in _ancestors(target):
                if parent in modules and parent not in ancestors and parent != module.name:
                    graph[module.name].add(parent)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns every component with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components, key=len, reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="a checkout of pgmath (default: this one)")
    parser.add_argument("--top", type=int, default=10, help="how many longest functions")
    args = parser.parse_args(argv)
    modules = load(args.root.resolve())
    graph = edges(modules)
    cycles = strongly_connected(graph)
    hidden = strongly_connected(edges(modules, deferred=True))
    internal = [(m.name, line, t) for m in modules.values() for line, t in m.deferred_internal]
    external = [(m.name, line, t) for m in modules.values() for line, t in m.deferred_external]
    functions = sorted(
        ((length, f"{m.name}.{name}", line) for m in modules.values()
         for length, name, line in m.functions),
        reverse=True,
    )
    print(f"modules: {len(modules)}, import edges: {sum(map(len, graph.values()))}")
    print(f"cycles: {len(cycles)}, sizes: {[len(c) for c in cycles]}")
    for c in cycles:
        print("  cycle:", ", ".join(c) if args.verbose else f"{c[0]}, ... ({len(c)} modules)")
    print(f"cycles counting deferred imports: {len(hidden)}, sizes: {[len(c) for c in hidden]}")
    for c in hidden:
        print("  cycle:", ", ".join(c) if args.verbose else f"{c[0]}, ... ({len(c)} modules)")
    print(f"deferred pgmath-internal imports: {len(internal)}")
    print(f"deferred imports of other packages: {len(external)}")
    if args.verbose:
        for name, line, target in internal:
            print(f"  internal: {name}:{line} -> {target}")
        for name, line, target in external:
            print(f"  external: {name}:{line} -> {target}")
    print(f"longest functions (lines): {len(functions)} functions,"
          f" {sum(f[0] > 50 for f in functions)} over 50 lines")
    for length, name, line in functions[: args.top]:
        print(f"  {length:4d}  {name}  (line {line})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
