"""Kronecker algebra against its dense counterparts (float64, factors of unequal sizes)."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import spectral
from tests.helpers import dot_precisions

# 2 and 3 modes, unequal sizes; products of at most 60 grid points keep the dense oracles
# cheap. Dense float64 operations on matrices this size are exact to ~1e-13 relative, so
# 1e-10 (the tolerance) is met with margin.
SIZES = [(3, 5), (3, 4, 5)]
TOL = 1e-10


def spd_factors(sizes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for m in sizes:
        B = rng.standard_normal((m, m))
        out.append(jnp.asarray(B @ B.T / m + 0.5 * np.eye(m)))
    return out


def se_factor(m, lengthscale):
    """A squared-exponential kernel matrix on m points of [0, 1]: eigenvalues decay to
    rounding level and cluster there, where differentiating eigh divides by ~0 gaps."""
    x = np.linspace(0.0, 1.0, m)
    return jnp.asarray(np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / lengthscale**2))


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_matmul_and_transpose_match_dense_for_rectangular_factors(sizes):
    rng = np.random.default_rng(1)
    factors = [jnp.asarray(rng.standard_normal((m, m + 1 + j))) for j, m in enumerate(sizes)]
    K = spectral.Kronecker(factors)
    D = np.asarray(K.to_dense())
    assert K.shape == D.shape
    np.testing.assert_allclose(D, functools.reduce(np.kron, map(np.asarray, factors)))
    x = rng.standard_normal(K.shape[1])
    X = rng.standard_normal((K.shape[1], 3))
    Y = rng.standard_normal((K.shape[0], 2))
    assert rel(K @ x, D @ x) < TOL
    assert rel(K @ X, D @ X) < TOL
    assert rel(K.T @ Y, D.T @ Y) < TOL
    # mode_apply on the grid tensor is the same product.
    T = x.reshape([F.shape[1] for F in factors])
    assert rel(spectral.mode_apply(T, factors).ravel(), D @ x) < TOL
    # The operator works where spectral takes operators: randomized SVD of K.
    _, S, _ = spectral.randomized_svd(jax.random.key(0), K, 3, power_iters=4)
    np.testing.assert_allclose(S, np.linalg.svd(D, compute_uv=False)[:3], rtol=1e-6)


def test_mode_apply_skips_none_and_carries_trailing_axes():
    rng = np.random.default_rng(2)
    T = jnp.asarray(rng.standard_normal((3, 4, 2)))
    B = jnp.asarray(rng.standard_normal((5, 4)))
    out = spectral.mode_apply(T, [None, B])
    np.testing.assert_allclose(out, np.einsum("ji,aic->ajc", B, T), rtol=0, atol=1e-14)


@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_factorizations_match_dense(sizes):
    K = spectral.Kronecker(spd_factors(sizes))
    D = np.asarray(K.to_dense())
    w, Q = spectral.kron_eigh(K)
    assert isinstance(Q, spectral.Kronecker)
    Qd = np.asarray(Q.to_dense())
    assert rel(Qd @ np.diag(w) @ Qd.T, D) < TOL
    np.testing.assert_allclose(np.sort(w), np.linalg.eigvalsh(D), rtol=TOL)
    L = spectral.kron_cholesky(K)
    assert rel(L.to_dense(), np.linalg.cholesky(D)) < TOL


@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_solve_and_logdet_match_dense(sizes):
    rng = np.random.default_rng(3)
    # Unshifted: any invertible square factors (not symmetric).
    factors = [jnp.asarray(rng.standard_normal((m, m)) + 2 * m * np.eye(m)) for m in sizes]
    K = spectral.Kronecker(factors)
    D = np.asarray(K.to_dense())
    y = rng.standard_normal(K.shape[0])
    Y = rng.standard_normal((K.shape[0], 2))
    assert rel(spectral.kron_solve(K, y), np.linalg.solve(D, y)) < TOL
    assert rel(spectral.kron_solve(K, Y), np.linalg.solve(D, Y)) < TOL
    np.testing.assert_allclose(spectral.kron_logdet(K), np.linalg.slogdet(D)[1], rtol=TOL)
    # Shifted: symmetric PSD factors, one of them singular (rank 1).
    S = spd_factors(sizes)
    S[0] = jnp.outer(S[0][0], S[0][0])
    K = spectral.Kronecker(S)
    D = np.asarray(K.to_dense()) + 0.1 * np.eye(K.shape[0])
    assert rel(spectral.kron_solve(K, y, shift=0.1), np.linalg.solve(D, y)) < TOL
    assert rel(spectral.kron_solve(K, Y, shift=0.1), np.linalg.solve(D, Y)) < TOL
    np.testing.assert_allclose(
        spectral.kron_logdet(K, shift=0.1), np.linalg.slogdet(D)[1], rtol=TOL
    )


def test_shifted_derivatives_against_finite_differences():
    """Forward and reverse mode in the factors, the shift and y (central differences)."""
    A, B = spd_factors((3, 4), seed=4)
    y = jnp.asarray(np.random.default_rng(4).standard_normal(12))

    def solve(A, B, s, y):
        return spectral.kron_solve(spectral.Kronecker((A @ A.T, B @ B.T)), y, shift=s)

    def logdet(A, B, s):
        return spectral.kron_logdet(spectral.Kronecker((A @ A.T, B @ B.T)), shift=s)

    check_grads(solve, (A, B, 0.3, y), order=1, modes=("fwd", "rev"))
    check_grads(logdet, (A, B, 0.3), order=1, modes=("fwd", "rev"))


def test_gp_marginal_likelihood_gradient_with_clustered_eigenvalues():
    """The gradient of the GP negative log marginal likelihood in the lengthscales and noise
    equals the dense one, on smooth kernels whose eigenvalues cluster at rounding level
    (gaps ~1e-17: differentiating eigh there divides by them)."""
    y = jnp.asarray(np.random.default_rng(5).standard_normal(20 * 15))

    def factors(params):
        return se_factor(20, params[0]), se_factor(15, params[1])

    def se(m, ell):
        x = jnp.linspace(0.0, 1.0, m)
        return jnp.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / ell**2)

    def nlml_kron(params):
        K = spectral.Kronecker((se(20, params[0]), se(15, params[1])))
        noise = params[2]
        return 0.5 * y @ spectral.kron_solve(K, y, shift=noise) + 0.5 * spectral.kron_logdet(
            K, shift=noise
        )

    def nlml_dense(params):
        D = jnp.kron(se(20, params[0]), se(15, params[1])) + params[2] * jnp.eye(300)
        L = jnp.linalg.cholesky(D)
        alpha = jax.scipy.linalg.cho_solve((L, True), y)
        return 0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diag(L)))

    params = jnp.array([0.3, 0.5, 1e-2])
    w = np.linalg.eigvalsh(np.asarray(factors(params)[0]))
    assert np.min(np.diff(np.sort(w))) < 1e-15  # the clustered spectrum the rule is for
    np.testing.assert_allclose(nlml_kron(params), nlml_dense(params), rtol=1e-10)
    g_kron, g_dense = jax.grad(nlml_kron)(params), jax.grad(nlml_dense)(params)
    assert np.all(np.isfinite(g_kron))
    # kappa(K + 1e-2 I) ~ 1e4: the dense Cholesky gradient itself is accurate to ~1e-11.
    np.testing.assert_allclose(g_kron, g_dense, rtol=1e-8)


def test_jit_vmap_and_pytree():
    K = spectral.Kronecker(spd_factors((3, 4), seed=6))
    Y = jnp.asarray(np.random.default_rng(6).standard_normal((5, 12)))
    mapped = jax.jit(jax.vmap(lambda y, K: spectral.kron_solve(K, y, shift=0.2), (0, None)))
    direct = spectral.kron_solve(K, Y.T, shift=0.2).T
    np.testing.assert_allclose(mapped(Y, K), direct, rtol=0, atol=1e-13)
    # A batch of operators (vmap over the factors' leading axis).
    batch = jax.tree.map(lambda F: jnp.stack([F, 2.0 * F]), K)
    logdets = jax.vmap(lambda K: spectral.kron_logdet(K, shift=0.2))(batch)
    for b, scale in enumerate((1.0, 2.0)):
        D = scale**2 * np.asarray(K.to_dense()) + 0.2 * np.eye(12)
        np.testing.assert_allclose(logdets[b], np.linalg.slogdet(D)[1], rtol=1e-12)


def test_products_run_at_full_precision():
    K = spectral.Kronecker([F.astype(jnp.float32) for F in spd_factors((3, 4))])
    y = jnp.ones(12, dtype=jnp.float32)
    highest = (jax.lax.Precision.HIGHEST,) * 2

    def loss(K):
        return jnp.sum(spectral.kron_solve(K, y, shift=0.1)) + spectral.kron_logdet(K, shift=0.1)

    forward = dot_precisions(lambda K: spectral.kron_solve(K, y, shift=0.1), K)
    backward = dot_precisions(jax.grad(jax.jit(loss)), K)
    assert forward
    assert backward
    assert set(forward) == set(backward) == {highest}


def test_bad_input():
    K = spectral.Kronecker(spd_factors((3, 4)))
    rect = spectral.Kronecker([jnp.ones((3, 2)), jnp.eye(4)])
    with pytest.raises(ValueError, match=r"kron_solve needs square factors; factors\[0\] has"):
        spectral.kron_solve(rect, jnp.ones(12))
    with pytest.raises(ValueError, match=r"kron_logdet needs square factors"):
        spectral.kron_logdet(rect)
    with pytest.raises(ValueError, match=r"kron_eigh needs square factors"):
        spectral.kron_eigh(rect)
    with pytest.raises(ValueError, match=r"kron_cholesky needs square factors"):
        spectral.kron_cholesky(rect)
    with pytest.raises(ValueError, match=r"y must have shape \(12,\) or \(12, k\)"):
        spectral.kron_solve(K, jnp.ones(13))
    with pytest.raises(ValueError, match=r"x must have shape \(12,\)"):
        K @ jnp.ones(10)
    with pytest.raises(ValueError, match=r"mats\[1\] must have shape \(m, 4\)"):
        spectral.mode_apply(jnp.ones((3, 4)), [None, jnp.ones((2, 3))])
    with pytest.raises(ValueError, match=r"factors\[1\] must be a matrix"):
        spectral.Kronecker([jnp.eye(2), jnp.ones(3)])
    with pytest.raises(TypeError, match="factors must share one dtype"):
        spectral.Kronecker([jnp.eye(2), jnp.eye(2, dtype=jnp.float32)])
    with pytest.raises(TypeError, match=r"K must be a spectral\.Kronecker"):
        spectral.kron_solve(jnp.eye(4), jnp.ones(4))
    indefinite = spectral.Kronecker([jnp.diag(jnp.array([1.0, -1.0, 2.0])), jnp.eye(4)])
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"factors\[0\] must be positive semi"):
        spectral.kron_solve(indefinite, jnp.ones(12), shift=0.1)
    nonsym = spectral.Kronecker([jnp.array([[1.0, 0.5], [0.0, 1.0]]), jnp.eye(2)])
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"factors\[0\] must be symmetric"):
        spectral.kron_logdet(nonsym, shift=0.1)
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"factors\[0\] must be symmetric pos"):
        spectral.kron_cholesky(indefinite)
