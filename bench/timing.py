"""The one timing helper of the benchmarks: median wall time of repeated calls, after warm-up."""
from __future__ import annotations

import time


def median_ms(fn, repeats: int = 20, warmup: int = 2) -> float:
    """Median milliseconds of `fn(i)` over `repeats` calls (i = call number, so each call can differ)."""
    times = []
    for i in range(warmup + repeats):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    measured = sorted(times[warmup:])
    return measured[len(measured) // 2]
