"""The benchmarks' one timer: median and best wall time of a call, in ms."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_best_ms(fn: Callable[[], object], repeat: int, warmup: int = 1) -> tuple[float, float]:
    """(median, best) wall time of ``fn()`` over ``repeat`` calls after ``warmup`` untimed ones, ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)
