"""Oracle tests of the randomized decompositions against NumPy's dense SVD/eigh.

Matrices have prescribed spectra (fast, slow and flat decay); expected-error bounds are
those of Halko, Martinsson & Tropp (2011), checked on the mean over many keys.
"""

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import spectral
from tests.helpers import (
    SPECTRA,
    matrix_with_spectrum,
    spectral_norm,
    subspace_distance,
    symmetric_with_spectrum,
)

M, N, K = 120, 80, 8


def exact_svd(A):
    U, s, Vh = np.linalg.svd(np.asarray(A), full_matrices=False)
    return U, s, Vh


@pytest.mark.parametrize("svd", [spectral.randomized_svd, spectral.block_krylov_svd])
def test_fast_decay_recovers_singular_triplets(svd):
    s = SPECTRA["fast"](N)
    A = jnp.asarray(matrix_with_spectrum(0, M, N, s))
    U, S, Vh = svd(jax.random.key(0), A, K)
    U0, s0, Vh0 = exact_svd(A)
    # sigma_{k+1}/sigma_k = 1/2 and the sketch captures sigma_1..sigma_18 to round-off after
    # two power iterations / two Krylov steps: triplets agree to ~1e-12; 1e-10 leaves margin.
    np.testing.assert_allclose(S, s0[:K], rtol=1e-10)
    assert subspace_distance(U, U0[:, :K]) < 1e-8
    assert subspace_distance(Vh.T, Vh0[:K].T) < 1e-8


@pytest.mark.parametrize("key", [0, 1])
def test_power_iterations_keep_small_singular_values_to_relative_accuracy(key):
    # sigma_i = 10^(-i/4): sigma_40 / sigma_1 = 1.8e-10, far below the square root of eps at
    # which a normalizer between power iterations may give directions up. The shifted
    # Cholesky QR normalizer keeps them: every one of the 40 singular values to ~1e-8
    # relative (NumPy's own SVD is only accurate to eps * sigma_1 / sigma_40 ~ 1e-6 there).
    # The earlier SVQB normalizer (eigh of the Gram matrix) lost them: 0.85-0.90 relative
    # errors for keys 0-2.
    s = 10.0 ** (-np.arange(300) / 4)
    A = jnp.asarray(matrix_with_spectrum(7, 600, 300, s))
    _, S, _ = spectral.randomized_svd(jax.random.key(key), A, 40, power_iters=4)
    np.testing.assert_allclose(S, np.linalg.svd(np.asarray(A), compute_uv=False)[:40], rtol=1e-5)


@pytest.mark.parametrize("svd", [spectral.randomized_svd, spectral.block_krylov_svd])
def test_exactly_low_rank_flat_spectrum_is_recovered_exactly(svd):
    # Rank-5 matrix with five equal singular values: any sketch of >= 5 columns spans its
    # range, so the answer is exact up to round-off, even though no gap separates the values.
    A = jnp.asarray(matrix_with_spectrum(1, M, N, np.ones(5)))
    U, S, Vh = svd(jax.random.key(1), A, 5)
    np.testing.assert_allclose(S, np.ones(5), rtol=1e-12)
    np.testing.assert_allclose(U * S[None, :] @ Vh, A, atol=1e-12)
    # Asking for more than the rank: the extra triplets have S = 0 and orthonormal vectors
    # (the sketch, or the Krylov space, is exhausted and must be completed orthogonally).
    U, S, Vh = svd(jax.random.key(1), A, 9)
    np.testing.assert_allclose(S[5:], 0.0, atol=1e-12)
    np.testing.assert_allclose(U.T @ U, np.eye(9), atol=1e-12)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(9), atol=1e-12)


@pytest.mark.parametrize("decay", ["slow", "flat"])
@pytest.mark.parametrize("power_iters", [0, 1, 2])
def test_hmt_expected_spectral_error_bound(decay, power_iters):
    """HMT Corollary 10.10 (q > 0) / Theorem 10.6 (q = 0), mean over 32 keys.

    E||(I - QQ^T)A||_2 <= [(1 + sqrt(k/(p-1))) s_{k+1}^{2q+1}
                           + e sqrt(k+p)/p (sum_{j>k} s_j^{2(2q+1)})^{1/2}]^{1/(2q+1)}.
    The bound is on the expectation; the sample mean of 32 draws has a standard error well
    under 10% of the mean here, while the bound holds with a margin of 2x or more, so the
    test cannot fail by sampling noise and does fail if the range finder loses accuracy.
    Also the deterministic HMT Section 9.4 inequality for the rank-k truncation,
    ||A - U S Vh||_2 <= s_{k+1} + ||(I - QQ^T)A||_2, for every key.
    """
    s = SPECTRA[decay](N)
    A = jnp.asarray(matrix_with_spectrum(2, M, N, s))
    p, q = 5, power_iters
    keys = jax.random.split(jax.random.key(2), 32)
    Qs = jax.vmap(lambda k: spectral.randomized_range_finder(k, A, K + p, power_iters=q))(keys)
    errors = np.array([spectral_norm(A - Q @ (Q.T @ A)) for Q in Qs])
    tail = s[K:] ** (2 * q + 1)
    bound = (
        (1 + np.sqrt(K / (p - 1))) * tail[0] + np.e * np.sqrt(K + p) / p * np.linalg.norm(tail)
    ) ** (1 / (2 * q + 1))
    assert errors.mean() <= bound
    assert errors.min() >= s[K + p] * (1 - 1e-10)  # no rank-(k+p) projection beats s_{k+p+1}
    for key, err in zip(keys, errors, strict=True):
        U, S, Vh = spectral.randomized_svd(key, A, K, oversample=p, power_iters=q)
        assert spectral_norm(A - U * S[None, :] @ Vh) <= s[K] + err + 1e-12


def test_hmt_expected_frobenius_error_bound():
    """HMT Theorem 10.5: E||(I - QQ^T)A||_F <= (1 + k/(p-1))^{1/2} (sum_{j>k} s_j^2)^{1/2}."""
    s = SPECTRA["slow"](N)
    A = jnp.asarray(matrix_with_spectrum(3, M, N, s))
    p = 4
    keys = jax.random.split(jax.random.key(3), 64)
    Qs = jax.vmap(lambda k: spectral.randomized_range_finder(k, A, K + p, power_iters=0))(keys)
    errors = np.linalg.norm(np.asarray(A)[None] - Qs @ (jnp.swapaxes(Qs, 1, 2) @ A), axis=(1, 2))
    bound = np.sqrt(1 + K / (p - 1)) * np.linalg.norm(s[K:])
    optimal = np.linalg.norm(s[K + p :])  # best rank-(k+p) Frobenius error
    assert optimal <= errors.min()
    assert errors.mean() <= bound


def test_power_iterations_reduce_error_on_slow_decay():
    s = SPECTRA["slow"](N)
    A = jnp.asarray(matrix_with_spectrum(4, M, N, s))
    keys = jax.random.split(jax.random.key(4), 8)

    def mean_ratio(q):
        out = [spectral.randomized_svd(k, A, K, oversample=5, power_iters=q) for k in keys]
        return np.mean([spectral_norm(A - U * S[None, :] @ Vh) / s[K] for U, S, Vh in out])

    ratios = [mean_ratio(q) for q in (0, 1, 3)]
    assert ratios[0] > ratios[1] > ratios[2] >= 1.0
    assert ratios[2] < 1.3  # 3 power iterations: within 30% of optimal on 1/i decay


def test_block_krylov_beats_power_iteration_at_equal_passes():
    """Musco & Musco (2015): at the same number of passes and block size, the Krylov space
    contains the power-iteration space, so its Rayleigh–Ritz error is no larger (on average
    over keys; here strictly smaller on a slowly decaying spectrum)."""
    s = SPECTRA["slow"](N)
    A = jnp.asarray(matrix_with_spectrum(5, M, N, s))
    keys = jax.random.split(jax.random.key(5), 8)
    krylov, power = [], []
    for key in keys:
        U, S, Vh = spectral.block_krylov_svd(key, A, K, depth=2)  # 6 passes, block K
        krylov.append(spectral_norm(A - U * S[None, :] @ Vh) / s[K])
        U, S, Vh = spectral.randomized_svd(key, A, K, oversample=0, power_iters=2)  # 6 passes
        power.append(spectral_norm(A - U * S[None, :] @ Vh) / s[K])
    assert np.mean(krylov) < np.mean(power)


@pytest.mark.parametrize("decay", ["fast", "slow"])
def test_randomized_eigh_matches_numpy_on_indefinite_matrix(decay):
    n = 90
    w = SPECTRA[decay](n) * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    A = jnp.asarray(symmetric_with_spectrum(6, w))
    w_est, V = spectral.randomized_eigh(jax.random.key(6), A, 6, oversample=10, power_iters=4)
    order = np.argsort(-np.abs(w))[:6]
    # fast decay: exact to round-off; slow decay (1/i, signs alternating): the top six
    # are well separated from |w_16| = 1/16 after 4 power iterations, 1e-4 relative suffices.
    rtol = 1e-10 if decay == "fast" else 1e-4
    np.testing.assert_allclose(w_est, w[order], rtol=rtol)
    residual = np.asarray(A @ V - V * w_est[None, :])
    assert np.linalg.norm(residual, axis=0).max() < (1e-8 if decay == "fast" else 1e-2)


def test_nystrom_matches_numpy_and_is_exact_on_low_rank_psd():
    n = 90
    w = SPECTRA["fast"](n)
    A = jnp.asarray(symmetric_with_spectrum(7, w))
    w_est, V = spectral.nystrom(jax.random.key(7), A, 6, oversample=20)
    # Nyström error is governed by the tail beyond l = 26: 0.5^26 ~ 1e-8 relative to w_6.
    np.testing.assert_allclose(w_est, w[:6], rtol=1e-6)
    # Exactly rank 4, sketch of 14 columns: Omega^T A Omega is singular, the shift makes the
    # Cholesky well-posed and the result is exact up to the shift (~ sqrt(n) eps ||A||).
    R = jnp.asarray(symmetric_with_spectrum(8, np.r_[np.ones(4) * 3.0, np.zeros(n - 4)]))
    w_est, V = spectral.nystrom(jax.random.key(8), R, 4, oversample=10)
    np.testing.assert_allclose(w_est, 3.0 * np.ones(4), rtol=1e-10)
    np.testing.assert_allclose(V * w_est[None, :] @ V.T, R, atol=1e-10)


def test_nystrom_with_power_iterations_is_more_accurate_on_slow_decay():
    n = 90
    w = SPECTRA["slow"](n)
    A = jnp.asarray(symmetric_with_spectrum(9, w))

    def err(q):
        w_est, V = spectral.nystrom(jax.random.key(9), A, 6, oversample=6, power_iters=q)
        return spectral_norm(A - V * w_est[None, :] @ V.T)

    assert err(2) < err(0)
    assert err(2) < 1.5 * w[6]


def test_nystrom_rejects_indefinite_matrix():
    A = jnp.asarray(symmetric_with_spectrum(10, np.r_[1.0, -1.0, 0.5, np.zeros(20)]))
    with pytest.raises(eqx.EquinoxRuntimeError, match="A must be positive semidefinite"):
        jax.block_until_ready(spectral.nystrom(jax.random.key(0), A, 2))


def test_float32_accuracy():
    s = SPECTRA["fast"](N)
    A = jnp.asarray(matrix_with_spectrum(11, M, N, s), dtype=jnp.float32)
    U, S, Vh = spectral.randomized_svd(jax.random.key(11), A, K)
    # float32: eps = 1.2e-7, singular values down to 0.5^7 = 8e-3, so the absolute error
    # ~ eps * ||A|| is 1.5e-5 relative to the smallest one; 1e-4 leaves margin.
    np.testing.assert_allclose(S, s[:K], rtol=1e-4)
    assert S.dtype == U.dtype == Vh.dtype == jnp.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"oversample": -1}, "oversample must be >= 0; got oversample=-1"),
        ({"power_iters": -2}, "power_iters must be >= 0; got power_iters=-2"),
        ({"power_iters": 1.5}, "power_iters must be a Python int"),
    ],
)
def test_bad_options(kwargs, match):
    A = jnp.ones((10, 8))
    with pytest.raises((ValueError, TypeError), match=match):
        spectral.randomized_svd(jax.random.key(0), A, 2, **kwargs)


@settings(max_examples=8, deadline=None)  # each example compiles anew (new shapes)
@given(
    m=st.integers(4, 30),
    n=st.integers(4, 30),
    data=st.data(),
)
def test_properties_of_randomized_svd(m, n, data):
    """Orthonormality, interlacing (S_i <= sigma_i), scale equivariance, determinism."""
    rank = data.draw(st.integers(1, min(m, n)))
    seed = data.draw(st.integers(0, 2**16))
    A = jnp.asarray(np.random.default_rng(seed).standard_normal((m, n)))
    key = jax.random.key(seed)
    U, S, Vh = spectral.randomized_svd(key, A, rank, oversample=2, power_iters=1)
    eye = np.eye(rank)
    np.testing.assert_allclose(U.T @ U, eye, atol=1e-10)
    np.testing.assert_allclose(Vh @ Vh.T, eye, atol=1e-10)
    s = np.linalg.svd(np.asarray(A), compute_uv=False)
    # S are the singular values of a projection Q Q^T A, hence interlace below A's.
    assert np.all(np.diff(S) <= 1e-12)
    assert np.all(s[:rank] * (1 + 1e-10) + 1e-12 >= S)
    _U2, S2, _Vh2 = spectral.randomized_svd(key, -3.0 * A, rank, oversample=2, power_iters=1)
    np.testing.assert_allclose(S2, 3.0 * S, rtol=1e-9, atol=1e-12)
    _U3, S3, _Vh3 = spectral.randomized_svd(key, A, rank, oversample=2, power_iters=1)
    np.testing.assert_array_equal(S3, S)
