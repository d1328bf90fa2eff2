"""POD (batch and streaming) against NumPy's SVD, Euclidean and weighted.

The weighted oracle: with the Cholesky factor W = L L^T, the POD in <u, v>_W is the SVD of
L^T S mapped back by L^-T (NumPy, float64). Singular values of well-separated spectra agree
to a few ulps of sigma_1 (1e-10 relative leaves room for the Cholesky and QR rounding);
modes are compared as projectors, so signs and rotations within equal singular values do
not matter. The Gram method squares the snapshots, which limits its singular values to
sqrt(eps) sigma_1 relative accuracy: it is compared only on the leading, large ones.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse as jsparse

import rom

N, M = 60, 30


def _snapshots(seed: int = 0, rank: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, rank)) * 0.5 ** np.arange(rank)) @ rng.standard_normal(
        (rank, M)
    )


def _mass_matrix() -> np.ndarray:
    """The P1 mass matrix of a uniform 1-D mesh: tridiagonal, SPD."""
    h = 1.0 / (N + 1)
    return h / 6 * (4 * np.eye(N) + np.eye(N, k=1) + np.eye(N, k=-1))


def _oracle(S: np.ndarray, W: np.ndarray | None, r: int):
    if W is None:
        U, s, _ = np.linalg.svd(S, full_matrices=False)
        return U[:, :r], s[:r]
    L = np.linalg.cholesky(W)
    U, s, _ = np.linalg.svd(L.T @ S, full_matrices=False)
    return np.linalg.solve(L.T, U[:, :r]), s[:r]


def _projector(Phi: np.ndarray, W: np.ndarray | None) -> np.ndarray:
    return Phi @ Phi.T @ (np.eye(len(Phi)) if W is None else W)


@pytest.mark.parametrize("product", ["euclidean", "mass", "mass_bcoo"])
@pytest.mark.parametrize("method", ["svd", "gram", "randomized"])
def test_pod_matches_numpy(product, method):
    S = _snapshots()
    W = None if product == "euclidean" else _mass_matrix()
    W_arg = None if W is None else jnp.asarray(W)
    if product == "mass_bcoo":
        W_arg = jsparse.BCOO.fromdense(W_arg)
    r = 5
    result = rom.pod(S, rank=r, inner_product=W_arg, method=method, key=jax.random.key(0))
    Phi_ref, s_ref = _oracle(S, W, r)
    rtol = 1e-6 if method == "gram" else 1e-10
    np.testing.assert_allclose(result.singular_values, s_ref, rtol=rtol)
    Phi = np.asarray(result.modes)
    G = np.eye(N) if W is None else W
    np.testing.assert_allclose(Phi.T @ G @ Phi, np.eye(r), atol=1e-10)
    np.testing.assert_allclose(_projector(Phi, W), _projector(Phi_ref, W), atol=1e-6)
    total = np.sum(_oracle(S, W, M)[1] ** 2)
    np.testing.assert_allclose(result.energy, np.cumsum(s_ref**2) / total, rtol=1e-6)


def test_tol_keeps_the_fewest_modes_for_the_energy():
    S = _snapshots(1)
    s = np.linalg.svd(S, compute_uv=False)
    remaining = 1 - np.cumsum(s**2) / np.sum(s**2)
    for tol in (0.5, 1e-1, 1e-2, 1e-3):
        expected = int(np.argmax(remaining <= tol**2)) + 1
        assert rom.pod(S, tol=tol).modes.shape == (N, expected), tol


def test_pod_under_jit_and_float32():
    S = _snapshots(2)
    got = jax.jit(lambda S: rom.pod(S, rank=4))(jnp.asarray(S))
    np.testing.assert_allclose(
        got.singular_values, np.linalg.svd(S, compute_uv=False)[:4], rtol=1e-10
    )
    S32 = jnp.asarray(S, jnp.float32)
    r32 = rom.pod(S32, rank=4)
    assert r32.modes.dtype == jnp.float32
    # float32: singular values to ~10 eps_32 * sigma_1 / sigma_4 ~ 1e-5 relative.
    np.testing.assert_allclose(
        r32.singular_values, np.linalg.svd(S, compute_uv=False)[:4], rtol=1e-4
    )


@pytest.mark.parametrize("product", ["euclidean", "mass"])
def test_streaming_pod_equals_batch_pod_when_the_rank_fits(product):
    S = _snapshots(3, rank=6)
    W = None if product == "euclidean" else _mass_matrix()
    stream = rom.streaming_pod(N, 6, inner_product=None if W is None else jnp.asarray(W))
    state = stream.init()
    for chunk in np.split(S, 5, axis=1):
        state = stream.update(state, jnp.asarray(chunk))
    result = stream.result(state)
    Phi_ref, s_ref = _oracle(S, W, 6)
    np.testing.assert_allclose(result.singular_values, s_ref, rtol=1e-9)
    np.testing.assert_allclose(
        _projector(np.asarray(result.modes), W), _projector(Phi_ref, W), atol=1e-8
    )
    np.testing.assert_allclose(result.energy[-1], 1.0, rtol=1e-10)


def test_streaming_pod_truncates_within_the_discarded_energy_and_scans():
    # Rank 12 data, 4 modes kept: each update discards at most the energy beyond rank 4,
    # so every kept singular value is below the true one (a compression) and within the
    # total discarded energy of it (Brand 2006); with sigma_5 / sigma_4 = 0.5 the top four
    # come out within a few percent.
    S = _snapshots(4, rank=12)
    stream = rom.streaming_pod(N, 4)
    chunks = jnp.asarray(S).reshape(N, 6, 5).transpose(1, 0, 2)  # 6 chunks of 5 columns

    def fold(state, chunk):
        return stream.update(state, chunk), None

    state, _ = jax.lax.scan(fold, stream.init(), chunks)
    s = np.linalg.svd(S, compute_uv=False)
    got = np.asarray(stream.result(state).singular_values)
    assert np.all(got <= s[:4] * (1 + 1e-12))
    assert np.all(s[:4] - got <= np.sqrt(np.sum(s[4:] ** 2)))
    np.testing.assert_allclose(got, s[:4], rtol=0.05)


def test_bad_input_is_a_clear_error():
    S = _snapshots()
    with pytest.raises(ValueError, match=r"rank must be in \[1, 30\] \(at most min\(n, m\) = 30"):
        rom.pod(S, rank=31)
    with pytest.raises(ValueError, match="snapshots must be a 2-D array"):
        rom.pod(S[:, 0])
    with pytest.raises(ValueError, match=r"inner_product must be an \(n, n\) = \(60, 60\)"):
        rom.pod(S, inner_product=np.eye(59))
    with pytest.raises(ValueError, match="needs a PRNG key"):
        rom.pod(S, method="randomized")
    with pytest.raises(ValueError, match="method must be one of"):
        rom.pod(S, method="qr")
    with pytest.raises(ValueError, match="pass a static rank"):
        jax.jit(lambda S: rom.pod(S, tol=1e-3).modes)(S)
    with pytest.raises(eqx.EquinoxRuntimeError, match="symmetric positive definite on the span"):
        rom.pod(S, inner_product=-np.eye(N))
    stream = rom.streaming_pod(N, 4)
    with pytest.raises(ValueError, match=r"chunk must be \(n, c\) = \(60, c\)"):
        stream.update(stream.init(), jnp.ones((59, 2)))
    with pytest.raises(ValueError, match="rank must be in"):
        rom.streaming_pod(N, 61)
