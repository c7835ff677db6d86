"""Run every docstring example of the pgmath package (their expected outputs were worked
by hand, so a failing example is a wrong number or a stale docstring)."""
import doctest
import importlib
import pkgutil

import pytest

import pgmath


def _modules() -> list[str]:
    """Modules with at least one example (found at collection, so new examples join)."""
    finder = doctest.DocTestFinder()
    names = sorted(m.name for m in pkgutil.walk_packages(pgmath.__path__, "pgmath."))
    return [n for n in names
            if any(t.examples for t in finder.find(importlib.import_module(n)))]


def test_examples_are_found():
    """Guards the collector: these modules have hand-worked examples."""
    assert {"pgmath.mdp", "pgmath.exact.moments"} <= set(_modules())


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
