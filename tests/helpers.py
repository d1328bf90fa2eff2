"""Test helpers: matrices with prescribed spectra, dtype-keyed tolerances, spectral norms."""

from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats


def tol(dtype, scale: float = 1.0) -> float:
    """Tolerance keyed on dtype: `scale * sqrt(eps)`-ish for float32, tighter for float64.

    Algorithms here lose a few digits to the conditioning of the small projected problems,
    so float64 comparisons use 1e-8 and float32 ones 1e-3 (about 1e4 * eps in each case).
    """
    return scale * {jnp.dtype("float64"): 1e-8, jnp.dtype("float32"): 1e-3}[jnp.dtype(dtype)]


def orthogonal(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    """A Haar-distributed m x k matrix with orthonormal columns."""
    Q, R = np.linalg.qr(rng.standard_normal((m, k)))
    return Q * np.sign(np.diag(R))


def matrix_with_spectrum(seed: int, m: int, n: int, s: np.ndarray) -> np.ndarray:
    """A = U diag(s) V^T with random orthonormal U (m x r), V (n x r), r = len(s)."""
    rng = np.random.default_rng(seed)
    r = len(s)
    return (orthogonal(rng, m, r) * s) @ orthogonal(rng, n, r).T


def symmetric_with_spectrum(seed: int, w: np.ndarray) -> np.ndarray:
    """A = V diag(w) V^T with a random orthogonal V."""
    rng = np.random.default_rng(seed)
    V = orthogonal(rng, len(w), len(w))
    A = (V * w) @ V.T
    return 0.5 * (A + A.T)


SPECTRA = {
    # sigma_i for i = 0..n-1
    "fast": lambda n: 0.5 ** np.arange(n),
    "slow": lambda n: 1.0 / (1.0 + np.arange(n)),
    "flat": lambda n: np.ones(n),
}


def spectral_norm(M) -> float:
    """||M||_2 by a dense NumPy SVD (the oracle)."""
    return float(np.linalg.norm(np.asarray(M), 2))


def subspace_distance(U, V) -> float:
    """||U U^T - V V^T||_2 = sin of the largest principal angle between the spans."""
    U, V = np.asarray(U), np.asarray(V)
    return spectral_norm(U @ U.T - V @ V.T)


def dot_precisions(fn, *args) -> list:
    """The ``precision`` of every `dot_general` in the jaxpr of `fn(*args)`, sub-jaxprs included.

    The jaxpr of a traced function records each product's precision as it will be lowered:
    `None` is the backend's default (TensorFloat-32 or bfloat16 passes for float32 on GPUs
    and TPUs), ``(HIGHEST, HIGHEST)`` full float32.
    """
    import jax
    from jax.extend import core

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "dot_general":
                found.append(eqn.params["precision"])
            for param in eqn.params.values():
                for sub in param if isinstance(param, tuple | list) else (param,):
                    if isinstance(sub, core.ClosedJaxpr):
                        walk(sub.jaxpr)
                    elif isinstance(sub, core.Jaxpr):
                        walk(sub)

    found: list = []
    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return found


# Sampler tests: a fixed key set of SAMPLES draws, Pearson chi-square at P_VALUE.
SAMPLES = 20_000
P_VALUE = 1e-3


def keys(seed: int, count: int = SAMPLES) -> jax.Array:
    return jax.random.split(jax.random.key(seed), count)


def chi_square_p(observed: Counter, probabilities: dict) -> float:
    """Pearson's test; cells with expected count below 5 are pooled into one."""
    total = sum(observed.values())
    assert set(observed) <= set(probabilities), set(observed) - set(probabilities)
    np.testing.assert_allclose(sum(probabilities.values()), 1.0, rtol=1e-10)
    big = [s for s, p in probabilities.items() if p * total >= 5]
    small = [s for s in probabilities if s not in big]
    obs = [observed[s] for s in big]
    exp = [probabilities[s] * total for s in big]
    if small:
        obs.append(sum(observed[s] for s in small))
        exp.append(sum(probabilities[s] for s in small) * total)
    exp = np.asarray(exp) * sum(obs) / np.sum(exp)  # exact normalization for scipy
    return float(stats.chisquare(obs, exp).pvalue)
