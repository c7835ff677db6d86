"""Hypothesis profiles: "ci" (selected when CI is set) is derandomised so that every CI
run draws the same examples; "dev" explores new examples on every run."""
import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("ci", derandomize=True, database=None, max_examples=40, **_common)
settings.register_profile("dev", max_examples=40, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
