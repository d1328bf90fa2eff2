"""Wall-clock timing shared by the benchmarks."""

import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit OpenBLAS (jaxlib's LAPACK kernels, NumPy) to one thread, restored on exit.

    OpenBLAS's threads spin on after a call and take cores from XLA's next products; on a
    busy 2-core machine they also spin against other processes (a QR of 1000 x 500 took 7 s
    with two threads and 0.04 s with one).
    """
    from threadpoolctl import threadpool_limits

    # jaxlib loads its LAPACK library on first use; threadpoolctl only sees loaded ones.
    jax.block_until_ready(jnp.linalg.svd(jnp.eye(2)))
    return threadpool_limits(limits=1, user_api="blas")


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


def interleaved_times(
    fns: dict[str, Callable[[], Any]], repeats: int, *, seed: int = 0
) -> dict[str, list[float]]:
    """Wall times of each of `fns` over `repeats` rounds that call every one in turn.

    One warm-up call each first. Interleaving puts every function under the same machine
    conditions (a shared CPU's load drifts over seconds), so ratios between them, such as a
    method's time against the products it cannot avoid, are not biased by when each was
    measured. Each round calls them in a fresh random order (seeded): in a fixed order every
    function always follows the same one, and a call's time depends on what ran just before
    it (caches, the thread pool's state). On the shared 2-core VM two byte-identical programs
    took 54 and 42 ms in fixed positions.
    """
    for fn in fns.values():
        jax.block_until_ready(fn())
    names = list(fns)
    rng = np.random.default_rng(seed)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for i in rng.permutation(len(names)):
            name = names[i]
            start = time.perf_counter()
            jax.block_until_ready(fns[name]())
            times[name].append(time.perf_counter() - start)
    return times


def interleaved_median_times(
    fns: dict[str, Callable[[], Any]], repeats: int, *, seed: int = 0
) -> dict[str, float]:
    """The median of each function's times from `interleaved_times`."""
    times = interleaved_times(fns, repeats, seed=seed)
    return {name: statistics.median(t) for name, t in times.items()}
