"""Jacobi eigh / SVD with random, cyclic and greedy pivoting, against numpy.linalg."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from spectral.jacobi import (
    PIVOTINGS,
    _off_norm,
    _pad_even,
    _two_sided_step,
    jacobi_eigh,
    jacobi_svd,
    random_matching,
    round_robin,
)
from tests.helpers import matrix_with_spectrum, symmetric_with_spectrum


def _spectrum(n: int, seed: int) -> np.ndarray:
    """Eigenvalues of both signs with |w| in [1, 10]: per-eigenvalue relative errors are
    well defined and a backward-stable method gets them to a few eps * ||A|| / |w| <= 10 eps."""
    rng = np.random.default_rng(seed)
    return rng.uniform(1, 10, n) * rng.choice([-1.0, 1.0], n)


@pytest.mark.parametrize("pivoting", PIVOTINGS)
def test_eigh_matches_numpy(pivoting, getkey):
    n = 9  # odd: exercises the zero dummy row and column
    A = symmetric_with_spectrum(n, _spectrum(n, n))
    w, V = jacobi_eigh(getkey(), jnp.asarray(A), pivoting=pivoting)
    ref = np.linalg.eigh(A).eigenvalues
    # The bar: relative error <= 1e-12 in float64 (measured: ~1e-15).
    np.testing.assert_array_less(np.abs(np.asarray(w) - ref) / np.abs(ref), 1e-12)
    V = np.asarray(V)
    # Backward stability: residual and orthogonality at a modest multiple of n eps ||A||.
    assert np.abs(A @ V - V * np.asarray(w)).max() <= 1e-12 * np.abs(A).max()
    np.testing.assert_allclose(V.T @ V, np.eye(n), atol=1e-12)
    assert np.all(np.diff(np.asarray(w)) >= 0)  # ascending, as jnp.linalg.eigh


def test_eigh_one_by_one_and_clustered():
    w, V = jacobi_eigh(None, jnp.array([[3.0]]), pivoting="cyclic")
    assert float(w[0]) == 3.0
    assert float(V[0, 0]) == 1.0
    # Repeated eigenvalues: eigenvalues still to 1e-12, the eigenspace basis orthonormal.
    # (9 x 9 and the default options: the compiled function of test_eigh_matches_numpy.)
    w_true = np.array([2.0, 2.0, 2.0, -5.0, 7.0, 7.0, 1.0, 3.0, 3.0])
    A = symmetric_with_spectrum(3, w_true)
    w, V = jacobi_eigh(jr.key(0), jnp.asarray(A))
    np.testing.assert_allclose(np.asarray(w), np.sort(w_true), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(V.T @ V), np.eye(9), atol=1e-12)


@pytest.mark.parametrize("pivoting", PIVOTINGS)
def test_svd_matches_numpy(pivoting, getkey):
    m, n = 9, 5
    k = min(m, n)
    s = np.geomspace(10, 1e-3, k)
    A = matrix_with_spectrum(m + n, m, n, s)
    U, S, Vh = jacobi_svd(getkey(), jnp.asarray(A), pivoting=pivoting)
    assert (U.shape, S.shape, Vh.shape) == ((m, k), (k,), (k, n))
    ref = np.linalg.svd(A, compute_uv=False)
    # One-sided Jacobi has high relative accuracy (Demmel & Veselic): even sigma = 1e-3 of a
    # matrix of norm 10 comes out to a few eps relative; 1e-12 is the bar.
    np.testing.assert_array_less(np.abs(np.asarray(S) - ref) / ref, 1e-12)
    U, S, Vh = map(np.asarray, (U, S, Vh))
    np.testing.assert_allclose((U * S) @ Vh, A, atol=1e-12 * s[0])
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-12)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(k), atol=1e-12)


def test_svd_wide_rank_deficient(getkey):
    # Wide (m < n): the SVD of A^T, factors swapped; rank 3 of 6: the QR completes the
    # singular vectors of the zero singular values to orthonormal sets.
    A = matrix_with_spectrum(0, 6, 8, np.array([3.0, 2.0, 1.0]))
    U, S, Vh = jacobi_svd(getkey(), jnp.asarray(A), pivoting="random")
    assert (U.shape, S.shape, Vh.shape) == ((6, 6), (6,), (6, 8))
    U, S, Vh = map(np.asarray, (U, S, Vh))
    np.testing.assert_allclose(S[:3], [3, 2, 1], rtol=1e-12)
    assert np.all(S[3:] < 1e-14)
    np.testing.assert_allclose(U.T @ U, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(6), atol=1e-12)
    np.testing.assert_allclose((U * S) @ Vh, A, atol=1e-13)


def test_single_random_rotation_decay_rate():
    """E off(A')^2 = (1 - 2/(n(n-1))) off(A)^2 for one rotation at a uniform random pair.

    The identity is exact for every A: a rotation lowers off^2 by exactly 2 a_pq^2, and the
    mean of 2 a_pq^2 over the n(n-1)/2 pairs is off(A)^2 / (n(n-1)/2). The sample mean of
    the ratio over 4000 keys must be within 4 standard errors of it (a false failure has
    probability ~6e-5; the seeds are fixed, so the test is deterministic).
    """
    n, samples = 6, 4000
    A = jnp.asarray(symmetric_with_spectrum(1, np.arange(1.0, n + 1)))
    iu = jnp.asarray(np.triu_indices(n, 1))

    def ratio(key):
        pair = jr.randint(key, (), 0, iu.shape[1])
        p, q = iu[0, pair][None], iu[1, pair][None]
        A2, _ = _two_sided_step(A, jnp.eye(n), p, q)
        # The decrease is exactly 2 a_pq^2 (up to rounding).
        drop = _off_norm(A) ** 2 - _off_norm(A2) ** 2
        return _off_norm(A2) ** 2 / _off_norm(A) ** 2, drop - 2 * A[p[0], q[0]] ** 2

    ratios, slack = jax.jit(jax.vmap(ratio))(jr.split(jr.key(0), samples))
    np.testing.assert_allclose(np.asarray(slack), 0, atol=1e-12)
    ratios = np.asarray(ratios)
    expected = 1 - 2 / (n * (n - 1))
    standard_error = ratios.std(ddof=1) / np.sqrt(samples)
    assert abs(ratios.mean() - expected) <= 4 * standard_error, (ratios.mean(), expected)


@pytest.mark.parametrize("n", [6, 7])
def test_random_matching_step_decay_rate(n):
    """One step of pivoting='random' (a random perfect matching, all its rotations at once):
    each pair is in the matching with probability 1/(n-1) (n even) or 1/n (n odd, one index
    sits out), so E off(A')^2 = (1 - 1/(n-1)) off(A)^2, resp. (1 - 1/n) off(A)^2, exactly."""
    samples = 4000
    A = jnp.asarray(symmetric_with_spectrum(2, np.linspace(-3, 4, n)))
    P = _pad_even(A, rows=True)
    m = P.shape[0]

    def ratio(key):
        p, q = random_matching(key, m)
        P2, _ = _two_sided_step(P, jnp.eye(m), p, q)
        return _off_norm(P2) ** 2 / _off_norm(P) ** 2

    ratios = np.asarray(jax.jit(jax.vmap(ratio))(jr.split(jr.key(1), samples)))
    expected = 1 - 1 / (n - 1) if n % 2 == 0 else 1 - 1 / n
    standard_error = ratios.std(ddof=1) / np.sqrt(samples)
    assert abs(ratios.mean() - expected) <= 4 * standard_error, (ratios.mean(), expected)


def test_schedules_are_matchings():
    for n in (2, 6, 8):
        rounds = round_robin(n)
        assert rounds.shape == (n - 1, n // 2, 2)
        for pairs in rounds:
            assert sorted(pairs.ravel().tolist()) == list(range(n))
        seen = {tuple(sorted(pair)) for pairs in rounds for pair in pairs.tolist()}
        assert seen == set(itertools.combinations(range(n), 2))
    p, q = random_matching(jr.key(3), 10)
    assert sorted(np.concatenate([p, q]).tolist()) == list(range(10))


def test_vmap_jit_and_batch_dims():
    n, batch = 5, 3
    As = np.stack([symmetric_with_spectrum(s, _spectrum(n, s)) for s in range(batch)])
    keys = jr.split(jr.key(7), batch)
    eigh = jax.vmap(lambda k, A: jacobi_eigh(k, A, pivoting="random"))
    w, V = eigh(keys, jnp.asarray(As))
    assert w.shape == (batch, n)
    assert V.shape == (batch, n, n)
    np.testing.assert_allclose(np.asarray(w), np.linalg.eigvalsh(As), rtol=1e-12)
    # Same keys, same result.
    np.testing.assert_array_equal(np.asarray(eigh(keys, jnp.asarray(As)).eigenvectors), V)
    # Leading batch dimensions, under an outer jit with the static options marked static.
    jitted = jax.jit(jacobi_svd, static_argnames=("pivoting", "sweeps"))
    Bs = np.random.default_rng(0).standard_normal((2, batch, 6, 4))
    U, S, Vh = jitted(None, Bs, pivoting="cyclic", sweeps=30)
    assert (U.shape, S.shape, Vh.shape) == ((2, batch, 6, 4), (2, batch, 4), (2, batch, 4, 4))
    np.testing.assert_allclose(np.asarray(S), np.linalg.svd(Bs, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose(np.asarray((U * S[..., None, :]) @ Vh), Bs, atol=1e-13)


def test_float32():
    A = symmetric_with_spectrum(4, _spectrum(8, 4)).astype(np.float32)
    w, V = jacobi_eigh(jr.key(0), jnp.asarray(A))
    assert w.dtype == jnp.float32
    assert V.dtype == jnp.float32
    ref = np.linalg.eigvalsh(A.astype(np.float64))
    # float32 eps = 1.2e-7; ||A|| / |w| <= 10: a few 1e-6 relative at most.
    np.testing.assert_array_less(np.abs(np.asarray(w, np.float64) - ref) / np.abs(ref), 1e-5)


def test_bad_input(getkey):
    key = getkey()
    with pytest.raises(ValueError, match="square"):
        jacobi_eigh(key, jnp.ones((3, 4)))
    # 9 x 9, default options: reuses the compiled function of test_eigh_matches_numpy.
    upper = jnp.triu(jnp.ones((9, 9)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="symmetric"):
        jacobi_eigh(key, upper)
    with pytest.raises(eqx.EquinoxRuntimeError, match="NaN"):
        jacobi_eigh(key, upper.at[0, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="pivoting must be one of"):
        jacobi_eigh(key, jnp.eye(3), pivoting="sequential")
    with pytest.raises(ValueError, match="pivoting must be one of"):
        jacobi_svd(key, jnp.eye(3), pivoting="largest")
    with pytest.raises(ValueError, match="sweeps must be >= 1"):
        jacobi_svd(key, jnp.eye(3), sweeps=0)
    with pytest.raises(ValueError, match="needs a PRNG key"):
        jacobi_eigh(None, jnp.eye(3))
    with pytest.raises(ValueError, match="tol must be"):
        jacobi_eigh(key, jnp.eye(3), tol=-1.0)
    with pytest.raises(ValueError, match=r"\(\.\.\., m, n\)"):
        jacobi_svd(key, jnp.ones(3))
    with pytest.raises(TypeError, match="floating"):
        jacobi_svd(key, jnp.ones((3, 3), jnp.int32))
