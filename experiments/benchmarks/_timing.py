"""Wall-clock timing shared by the benchmarks."""

import statistics
import time
from collections.abc import Callable
from typing import Any

import jax


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of `fn()` over `repeats` calls after one warm-up call (which compiles).

    Every call is synchronized with `jax.block_until_ready`, so the time covers the work, not
    its dispatch. Returns `(seconds, last output)`.
    """
    out = jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times), out
