"""Timing helper shared by the benchmark scripts in bench/."""
from __future__ import annotations

import time
from typing import Callable


def best_time(f: Callable[[], object], repeat: int = 3, warmup: bool = True) -> float:
    """The minimum wall time (seconds) of ``repeat`` calls of ``f``: on a shared machine
    the minimum is the least disturbed measurement."""
    if warmup:
        f()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)
