"""Exact DPP, k-DPP, projection-DPP and volume samplers against brute-force enumeration.

On ground sets of n <= 8 items every subset's probability is computed by determinants
(NumPy), and 20 000 samples (a fixed set of keys, so each test is deterministic) are
compared by Pearson's chi-square test. Under the null the p-value is uniform: a threshold
of 1e-3 fails a correct sampler with probability 1e-3 per fresh key set, and a sampler off
by a few percent in one subset fails reliably (20 000 samples resolve 1% of a
probability-0.2 cell at 4.5 sigma).
"""

import itertools
from collections import Counter

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spectral
from spectral import EighResult
from tests.helpers import P_VALUE, SAMPLES, chi_square_p, keys


def _det(M: np.ndarray, S: tuple) -> float:
    return float(np.linalg.det(M[np.ix_(S, S)])) if S else 1.0


def _random_psd(seed: int, n: int, rank: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, rank or n))
    return B @ B.T / n


def _sets_from_indices(samples) -> Counter:
    return Counter(tuple(sorted(int(i) for i in row)) for row in np.asarray(samples))


def _sets_from_masks(masks) -> Counter:
    return Counter(tuple(int(i) for i in np.flatnonzero(row)) for row in np.asarray(masks))


def test_projection_dpp_matches_brute_force():
    rng = np.random.default_rng(0)
    n, k = 7, 3
    V, _ = np.linalg.qr(rng.standard_normal((n, k)))
    K = V @ V.T
    samples = jax.jit(jax.vmap(lambda key: spectral.projection_dpp_sample(key, V)))(keys(1))
    probabilities = {S: _det(K, S) for S in itertools.combinations(range(n), k)}
    observed = _sets_from_indices(samples)
    assert all(len(S) == k for S in observed)  # distinct items, never a repeat
    assert chi_square_p(observed, probabilities) > P_VALUE


def test_k_dpp_matches_brute_force():
    n, k = 7, 3
    L = _random_psd(2, n)
    samples = jax.jit(jax.vmap(lambda key: spectral.k_dpp_sample(key, L, k)))(keys(3))
    weights = {S: _det(L, S) for S in itertools.combinations(range(n), k)}
    total = sum(weights.values())
    probabilities = {S: w / total for S, w in weights.items()}
    assert chi_square_p(_sets_from_indices(samples), probabilities) > P_VALUE


@pytest.mark.parametrize("kind", ["likelihood", "correlation"])
def test_dpp_matches_brute_force_and_marginals(kind):
    n = 6
    L = _random_psd(4, n)
    K = L @ np.linalg.inv(L + np.eye(n))
    K = 0.5 * (K + K.T)
    kernel = L if kind == "likelihood" else K
    masks = jax.jit(jax.vmap(lambda key: spectral.dpp_sample(key, kernel, kind=kind)))(keys(5))
    masks = np.asarray(masks)
    # P(Y = S) = det(L_S) / det(L + I); the same process as K = L (L + I)^-1.
    Z = np.linalg.det(L + np.eye(n))
    probabilities = {
        S: _det(L, S) / Z for size in range(n + 1) for S in itertools.combinations(range(n), size)
    }
    assert chi_square_p(_sets_from_masks(masks), probabilities) > P_VALUE
    # Marginals P(i in Y) = K_ii: within 5 binomial standard errors.
    diag = np.diag(K)
    np.testing.assert_array_less(
        np.abs(masks.mean(0) - diag), 5 * np.sqrt(diag * (1 - diag) / SAMPLES)
    )
    # E|Y| = tr K.
    sizes = masks.sum(1)
    assert abs(sizes.mean() - np.trace(K)) < 5 * sizes.std() / np.sqrt(SAMPLES)


def test_projection_dpp_marginals_are_the_diagonal():
    rng = np.random.default_rng(6)
    n, k = 8, 4
    V, _ = np.linalg.qr(rng.standard_normal((n, k)))
    samples = np.asarray(
        jax.jit(jax.vmap(lambda key: spectral.projection_dpp_sample(key, V)))(keys(7))
    )
    frequency = np.bincount(samples.ravel(), minlength=n) / SAMPLES
    diag = np.sum(V * V, axis=1)
    np.testing.assert_array_less(np.abs(frequency - diag), 5 * np.sqrt(diag * (1 - diag) / SAMPLES))


def test_volume_sampling_matches_brute_force_and_its_expected_error():
    rng = np.random.default_rng(8)
    m, n, k = 5, 7, 2
    A = rng.standard_normal((m, n)) * np.array([3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1])
    samples = jax.jit(jax.vmap(lambda key: spectral.volume_sample(key, A, k)))(keys(9))
    probabilities = _volume_probabilities(A, k)
    observed = _sets_from_indices(samples)
    assert chi_square_p(observed, probabilities) > P_VALUE

    # Deshpande et al. (2006): E ||A - P_S A||_F^2 = (k + 1) e_{k+1}(s^2) / e_k(s^2), exactly
    # the enumeration over S below; and it is at most (k + 1) ||A - A_k||_F^2.
    def error(S):
        C = A[:, list(S)]
        return float(np.linalg.norm(A - C @ np.linalg.pinv(C) @ A) ** 2)

    expected = sum(probabilities[S] * error(S) for S in probabilities)
    s2 = np.linalg.svd(A, compute_uv=False) ** 2
    e = [sum(np.prod(c) for c in itertools.combinations(s2, j)) for j in (k, k + 1)]
    np.testing.assert_allclose(expected, (k + 1) * e[1] / e[0], rtol=1e-10)
    assert expected <= (k + 1) * np.sum(s2[k:])
    errors = np.array([error(S) for S in observed.elements()])
    assert abs(errors.mean() - expected) < 5 * errors.std() / np.sqrt(SAMPLES)


def test_log_elementary_symmetric_matches_exact_integers():
    # Integer eigenvalues up to 1e6: Python's integers give e_l exactly, and e_40 is ~1e200.
    rng = np.random.default_rng(10)
    lam = rng.integers(1, 10**6, size=120)
    k = 40
    exact = [1] + [0] * k
    for value in lam:
        for j in range(k, 0, -1):
            exact[j] += int(value) * exact[j - 1]
    table = spectral.log_elementary_symmetric(jnp.asarray(lam, jnp.float64), k)
    assert table.shape == (121, k + 1)
    expected = np.array([np.log(float(e)) if e < 10**300 else np.log(e) for e in exact])
    np.testing.assert_allclose(np.asarray(table[-1]), expected, rtol=1e-12)
    # Zero eigenvalues: e_l of the first i values vanishes for l > i.
    table = spectral.log_elementary_symmetric(jnp.asarray([0.0, 2.0, 3.0]), 3)
    np.testing.assert_allclose(np.exp(np.asarray(table[-1])), [1.0, 5.0, 6.0, 0.0])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_k_dpp_on_ten_thousand_items_with_condition_1e6(dtype):
    # e_100 of eigenvalues up to 1e6 is beyond float64's range (the product of the 100
    # largest alone is ~1e480); the log-space selection does not overflow.
    n, r, k = 10_000, 300, 100
    rng = np.random.default_rng(11)
    V, _ = np.linalg.qr(rng.standard_normal((n, r)))
    lam = np.logspace(0, 6, r)
    assert np.sum(np.log(np.sort(lam)[-k:])) > np.log(np.finfo(np.float64).max)
    L = EighResult(jnp.asarray(lam, dtype), jnp.asarray(V, dtype))
    items = np.asarray(spectral.k_dpp_sample(jax.random.key(0), L, k))
    assert len(set(items.tolist())) == k
    assert items.min() >= 0
    assert items.max() < n


def test_samplers_are_deterministic_by_key_and_jittable():
    n = 6
    L = _random_psd(12, n)
    V, _ = np.linalg.qr(np.random.default_rng(13).standard_normal((n, 3)))
    A = np.random.default_rng(14).standard_normal((4, n))
    calls = [
        lambda key: spectral.k_dpp_sample(key, L, 2),
        lambda key: spectral.dpp_sample(key, L),
        lambda key: spectral.projection_dpp_sample(key, V),
        lambda key: spectral.volume_sample(key, A, 3),
    ]
    for call in calls:
        first = call(jax.random.key(0))
        np.testing.assert_array_equal(first, call(jax.random.key(0)))
        np.testing.assert_array_equal(first, jax.jit(call)(jax.random.key(0)))
        draws = {tuple(np.asarray(call(jax.random.key(s))).tolist()) for s in range(10)}
        assert len(draws) > 1


def test_dpp_max_size_bounds_the_work_and_raises_when_exceeded():
    n = 6
    K = np.diag([0.999, 0.999, 0.001, 0.001, 0.001, 0.001])
    mask = spectral.dpp_sample(jax.random.key(0), K, kind="correlation", max_size=3)
    assert mask.shape == (n,)
    assert mask.sum() <= 3
    with pytest.raises(eqx.EquinoxRuntimeError, match="more items than max_size"):
        spectral.dpp_sample(jax.random.key(0), np.eye(n), kind="correlation", max_size=3)


def test_bad_input_is_a_clear_error():
    key = jax.random.key(0)
    low_rank = _random_psd(15, 6, rank=2)
    with pytest.raises(eqx.EquinoxRuntimeError, match="larger than the numerical rank of L"):
        spectral.k_dpp_sample(key, low_rank, 3)
    A = np.random.default_rng(16).standard_normal((6, 2)) @ np.ones((2, 5))
    with pytest.raises(eqx.EquinoxRuntimeError, match="larger than the numerical rank of A"):
        spectral.volume_sample(key, A, 3)
    with pytest.raises(ValueError, match="k must be in"):
        spectral.volume_sample(key, A, 6)
    with pytest.raises(eqx.EquinoxRuntimeError, match="kernel must be symmetric"):
        spectral.dpp_sample(key, np.triu(np.ones((4, 4))))
    with pytest.raises(eqx.EquinoxRuntimeError, match="must be positive semidefinite"):
        spectral.dpp_sample(key, np.diag([1.0, -0.5, 2.0]))
    with pytest.raises(eqx.EquinoxRuntimeError, match="must be positive semidefinite"):
        spectral.k_dpp_sample(key, np.diag([1.0, -0.5, 2.0]), 1)
    with pytest.raises(eqx.EquinoxRuntimeError, match="eigenvalues in \\[0, 1\\]"):
        spectral.dpp_sample(key, np.diag([0.5, 1.5]), kind="correlation")
    with pytest.raises(eqx.EquinoxRuntimeError, match="V must have orthonormal columns"):
        spectral.projection_dpp_sample(key, np.ones((5, 2)))
    with pytest.raises(ValueError, match="V must be \\(n, k\\)"):
        spectral.projection_dpp_sample(key, np.eye(3)[:, :0])
    with pytest.raises(ValueError, match="square"):
        spectral.k_dpp_sample(key, np.ones((3, 4)), 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        spectral.dpp_sample(key, np.eye(3), kind="L")
    with pytest.raises(ValueError, match="EighResult needs"):
        spectral.k_dpp_sample(key, EighResult(jnp.ones(3), jnp.eye(4)[:, :2]), 1)


def _volume_probabilities(A: np.ndarray, k: int) -> dict:
    gram = A.T @ A
    weights = {S: _det(gram, S) for S in itertools.combinations(range(A.shape[1]), k)}
    total = sum(weights.values())
    return {S: w / total for S, w in weights.items()}


def test_volume_cur_samples_columns_and_rows_by_volume():
    # cur(method="volume") draws its columns from the volume distribution of A's columns and
    # its rows from that of A's rows (chi-square against enumeration, as above).
    rng = np.random.default_rng(17)
    A = rng.standard_normal((6, 7)) * np.linspace(2.0, 0.2, 7)
    k = 2
    results = jax.jit(jax.vmap(lambda key: spectral.cur(key, A, k, method="volume")))(keys(18))
    cols = _sets_from_indices(results.cols)
    rows = _sets_from_indices(results.rows)
    assert chi_square_p(cols, _volume_probabilities(A, k)) > P_VALUE
    assert chi_square_p(rows, _volume_probabilities(A.T, k)) > P_VALUE
    np.testing.assert_array_equal(results.C[0], A[:, np.asarray(results.cols[0])])
    np.testing.assert_array_equal(results.R[0], A[np.asarray(results.rows[0]), :])


def test_log_elementary_symmetric_under_jit_and_bad_input():
    lam = jnp.asarray([1.0, 2.0, 3.0])
    table = jax.jit(lambda v: spectral.log_elementary_symmetric(v, 2))(lam)
    np.testing.assert_allclose(np.exp(np.asarray(table[-1])), [1.0, 6.0, 11.0], rtol=1e-12)
    with pytest.raises(ValueError, match="k must be"):
        spectral.log_elementary_symmetric(lam, -1)
