"""Hypothesis profiles.

* ``ci`` (selected when CI is set): derandomised, so every CI run draws the same examples
  and the build cannot flake.
* ``dev`` (the default): new random examples on every run.
* ``random`` (``HYPOTHESIS_PROFILE=random``, run by ``.ci/random``): the randomised job that
  looks for defects without being able to fail the build: every property test runs
  :data:`RANDOM_FACTOR` times as many examples (its own ``max_examples`` included), with no
  example database, from the seed ``--hypothesis-seed`` gives, so a failure reproduces
  exactly with that seed.
"""
import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("ci", derandomize=True, database=None, max_examples=40, **_common)
settings.register_profile("dev", max_examples=40, **_common)
settings.register_profile("random", max_examples=40, database=None, print_blob=True, **_common)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)

#: Examples per property test in the ``random`` profile, as a multiple of its usual number.
RANDOM_FACTOR = int(os.environ.get("PGMATH_RANDOM_FACTOR", "5"))


def pytest_collection_modifyitems(config, items):
    """In the ``random`` profile, scale every property test's ``max_examples`` (a test's own
    ``@settings(max_examples=…)`` overrides a profile's, so the profile alone cannot)."""
    if PROFILE != "random":
        return
    done = set()
    for item in items:
        fn = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        if not getattr(fn, "is_hypothesis_test", False) or id(fn) in done:
            continue
        done.add(id(fn))
        own = fn._hypothesis_internal_use_settings
        if own.derandomize:
            continue  # a deliberately fixed search (e.g. "the strategy can generate X")
        fn._hypothesis_internal_use_settings = settings(
            own, max_examples=own.max_examples * RANDOM_FACTOR)
