"""Imports flow one way (issue 14): pgmath's modules sit in layers, a module imports only
from its own layer or below, no import hides inside a function, and there is no cycle.

The import graph comes from ``scripts/import_graph.py`` (``ast`` over ``pgmath/**/*.py``;
importing ``pgmath.exact.values`` from outside ``pgmath.exact`` also counts as importing
``pgmath.exact``, whose ``__init__`` Python runs first). To place a new module, add its
name (or its package's) to :data:`LAYERS`.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Bottom to top. A module belongs to the layer of its longest listed prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundations", ("pgmath._deprecation", "pgmath.errors", "pgmath.probability", "pgmath.paths", "pgmath.symbolic",
                     "pgmath.derivation", "pgmath.mkdocs_hook")),
    ("problems", ("pgmath.mdp", "pgmath.policies", "pgmath.policy_tables",
                  "pgmath.regressions")),
    ("trajectories", ("pgmath.trajectories",)),
    ("estimator protocol", ("pgmath.estimator_protocol",)),
    ("exact solvers and moments", ("pgmath.exact",)),
    ("estimators", ("pgmath.estimators", "pgmath.adapters", "pgmath.torch", "pgmath.jax")),
    ("check", ("pgmath.check", "pgmath.check_routes", "pgmath.testing")),
    ("continuous problems", ("pgmath.lqr",)),
    ("problem libraries", ("pgmath.environments", "pgmath.strategies", "pgmath.rollouts")),
    ("algorithms", ("pgmath.algorithms", "pgmath.lqr.figure")),
    ("claims", ("pgmath.claims", "pgmath.proofs", "pgmath.verification", "pgmath.docsite")),
    ("commands", ("pgmath.commands", "pgmath.cli", "pgmath.__main__")),
    ("facade", ("pgmath",)),
]

#: What a function may import lazily: optional extras (torch, jax; the docs' mkdocs and
#: latex2mathml) and what only figures or progress bars need. pgmath's own modules and the
#: core dependencies are imported at the top of the module.
OPTIONAL_LAZY = {"torch", "jax", "matplotlib", "tqdm", "latex2mathml", "mkdocs"}


def _load_script():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building
    spec.loader.exec_module(module)
    return module


graph_tool = _load_script()
MODULES = graph_tool.load(ROOT)


def layer_of(name: str) -> int:
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    if best is None:
        raise AssertionError(f"{name} is in no layer: add it to LAYERS in {__file__}")
    return best


def test_every_module_has_a_layer():
    for name in MODULES:
        layer_of(name)


def test_imports_point_down():
    """Every module-level import goes to the module's own layer or a lower one."""
    up = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
          for a, targets in graph_tool.edges(MODULES).items() for b in sorted(targets)
          if layer_of(b) > layer_of(a)]
    assert not up, "imports against the layers:\n" + "\n".join(up)


def test_no_deferred_pgmath_imports():
    """No ``import`` of a pgmath module inside a function (it would hide a dependency)."""
    found = [f"{m.name}:{line} imports {t}" for m in MODULES.values()
             for line, t in m.deferred_internal]
    assert not found, "\n".join(found)


def test_deferred_imports_are_optional_extras():
    """What a function imports lazily is an optional or heavy extra, never a core one."""
    found = [f"{m.name}:{line} imports {t}" for m in MODULES.values()
             for line, t in m.deferred_external if t.split(".")[0] not in OPTIONAL_LAZY]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("deferred", [False, True])
def test_no_import_cycle(deferred):
    cycles = graph_tool.strongly_connected(graph_tool.edges(MODULES, deferred=deferred))
    assert not cycles, cycles


def test_the_graph_tool_finds_a_cycle_and_a_deferred_import(tmp_path):
    """Guards the tool: a two-module cycle, a package reached through a submodule, and an
    import inside a function are all seen."""
    pkg = tmp_path / "pgmath"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub.c import x\n")
    (pkg / "sub" / "__init__.py").write_text("from .c import x\nfrom .d import y\n")
    (pkg / "sub" / "c.py").write_text("x = 1\n")
    (pkg / "sub" / "d.py").write_text("def f():\n    from ..a import z\n")
    modules = graph_tool.load(tmp_path)
    assert graph_tool.strongly_connected(graph_tool.edges(modules)) == []
    assert modules["pgmath.sub.d"].deferred_internal == [(2, "pgmath.a")]
    assert graph_tool.strongly_connected(graph_tool.edges(modules, deferred=True)) == [
        ["pgmath.a", "pgmath.sub", "pgmath.sub.d"]]
