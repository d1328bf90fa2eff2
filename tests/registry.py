"""Every public algorithm of `spectral`, registered once for the generic contract tests.

An entry says how to call the algorithm (`call(key, A, rank)`), what kind of operator it
needs ("general", "symmetric" or "psd"), and which outputs are orthonormal bases.
"""

import dataclasses
from collections.abc import Callable

import spectral


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    call: Callable  # (key, A, rank) -> result
    kind: str  # "general" | "symmetric" | "psd"
    result: str  # "svd" | "eigh" | "range"


ALGORITHMS = [
    Entry(
        "randomized_range_finder",
        lambda key, A, k: spectral.randomized_range_finder(key, A, k, power_iters=2),
        "general",
        "range",
    ),
    Entry(
        "randomized_svd",
        lambda key, A, k: spectral.randomized_svd(key, A, k, oversample=5, power_iters=2),
        "general",
        "svd",
    ),
    Entry(
        "block_krylov_svd",
        lambda key, A, k: spectral.block_krylov_svd(key, A, k, depth=2),
        "general",
        "svd",
    ),
    Entry(
        "randomized_eigh",
        lambda key, A, k: spectral.randomized_eigh(key, A, k, oversample=5, power_iters=2),
        "symmetric",
        "eigh",
    ),
    Entry(
        "nystrom",
        lambda key, A, k: spectral.nystrom(key, A, k, oversample=5),
        "psd",
        "eigh",
    ),
    Entry(
        "lanczos_eigh",
        lambda key, A, k: spectral.lanczos_eigh(key, A, k, iters=12),
        "symmetric",
        "eigh",
    ),
]

IDS = [entry.name for entry in ALGORITHMS]
