"""Oracle tests of Lanczos against NumPy's eigh and SciPy's eigsh (ARPACK)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from jax.experimental import sparse as jsparse

import spectral
from tests.helpers import matrix_with_spectrum, symmetric_with_spectrum


@pytest.mark.parametrize("which", ["LM", "LA", "SA"])
def test_lanczos_matches_numpy_eigh(which):
    n = 100
    w = np.linspace(-3.0, 5.0, n)  # indefinite, gaps 8/99 ~ 0.08 between neighbours
    A = jnp.asarray(symmetric_with_spectrum(0, w))
    w_est, V = spectral.lanczos_eigh(jax.random.key(0), A, 4, iters=80, which=which)
    order = {"LM": np.argsort(-np.abs(w)), "LA": np.argsort(-w), "SA": np.argsort(w)}[which]
    # 80 steps on a spectrum with relative gap ~0.01 at the ends: Ritz values converged to
    # round-off (Kaniel–Paige bound far below eps); the residual check confirms the vectors.
    np.testing.assert_allclose(w_est, w[order[:4]], rtol=1e-10)
    residual = np.asarray(A @ V - V * w_est[None, :])
    assert np.linalg.norm(residual, axis=0).max() < 1e-8
    np.testing.assert_allclose(V.T @ V, np.eye(4), atol=1e-10)


def test_lanczos_matches_scipy_eigsh_on_sparse_matrix():
    n = 500
    R = sp.random(n, n, density=0.01, random_state=np.random.default_rng(1))
    L = (R + R.T).tocoo()
    ref = np.sort(spla.eigsh(L.tocsc(), k=4, which="LA", return_eigenvectors=False))[::-1]
    A = jsparse.BCOO.from_scipy_sparse(L)
    w_est, _ = spectral.lanczos_eigh(jax.random.key(1), A, 4, iters=150, which="LA")
    # The top of this spectrum has relative gaps ~1e-2: 150 steps converge the top four Ritz
    # values to round-off; ARPACK (tol = machine precision) is the oracle.
    np.testing.assert_allclose(w_est, ref, rtol=1e-10)


def test_lanczos_on_sparse_laplacian_against_closed_form():
    # 1-D Dirichlet Laplacian: eigenvalues 2 - 2 cos(pi j / (n + 1)). Its largest ones are
    # clustered (relative gaps ~1e-4), so ask for them with a full-dimension Krylov space.
    n = 120
    L = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="coo")
    w_est, _ = spectral.lanczos_eigh(
        jax.random.key(2), jsparse.BCOO.from_scipy_sparse(L), 5, iters=n, which="LA"
    )
    exact = 2 - 2 * np.cos(np.pi * np.arange(n, n - 5, -1) / (n + 1))
    np.testing.assert_allclose(w_est, exact, rtol=1e-12)


def test_lanczos_handles_invariant_subspace_breakdown():
    # Only three distinct eigenvalues, the largest with multiplicity 3: the Krylov space of
    # one start vector is 3-dimensional, so Lanczos breaks down after 3 steps and must
    # restart from fresh directions to find the other copies of the eigenvalue 2.
    w = np.r_[2.0, 2.0, 2.0, np.ones(17), np.zeros(20)]
    A = jnp.asarray(symmetric_with_spectrum(2, w))
    w_est, V = spectral.lanczos_eigh(jax.random.key(2), A, 3, iters=15, which="LA")
    assert np.all(np.isfinite(np.asarray(V)))
    np.testing.assert_allclose(w_est, [2.0, 2.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(A @ V, 2.0 * V, atol=1e-10)


def test_lanczos_with_full_dimension_is_exact():
    n = 12
    w = np.arange(1.0, n + 1)
    A = jnp.asarray(symmetric_with_spectrum(3, w))
    w_est, _ = spectral.lanczos_eigh(jax.random.key(3), A, n, iters=n, which="SA")
    np.testing.assert_allclose(w_est, w, rtol=1e-12)


def test_lanczos_matrix_free_without_transpose():
    n = 60
    A = jnp.asarray(symmetric_with_spectrum(4, 0.8 ** np.arange(n)))
    op = spectral.LinearOperator(lambda X: A @ X, None, (n, n), A.dtype)
    w_op, _ = spectral.lanczos_eigh(jax.random.key(4), op, 3, iters=40)
    np.testing.assert_allclose(w_op, 0.8 ** np.arange(3), rtol=1e-10)


def test_lanczos_float32():
    n = 60
    A = jnp.asarray(symmetric_with_spectrum(5, 0.8 ** np.arange(n)), dtype=jnp.float32)
    w_est, V = spectral.lanczos_eigh(jax.random.key(5), A, 3, iters=30)
    assert w_est.dtype == V.dtype == jnp.float32
    # float32 eps 1.2e-7 times ||A|| = 1, over eigenvalues >= 0.64: 1e-5 relative.
    np.testing.assert_allclose(w_est, 0.8 ** np.arange(3), rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"iters": 2},
            ValueError,
            r"iters must be in \[3, 30\] \(rank <= iters <= n\); got iters=2",
        ),
        ({"iters": 31}, ValueError, "got iters=31"),
        ({"which": "BE"}, ValueError, r"which must be one of \('LM', 'LA', 'SA'\); got which='BE'"),
    ],
)
def test_lanczos_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        spectral.lanczos_eigh(jax.random.key(0), jnp.eye(30), 3, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depth": -1}, "depth must be >= 0; got depth=-1"),
        ({"block_size": 0}, "block_size must be >= 1; got block_size=0"),
        (
            {"block_size": 2, "depth": 0},
            r"block_size \* \(depth \+ 1\) must lie in \[rank, min\(m, n\)\] = \[3, 20\]",
        ),
        ({"block_size": 10, "depth": 2}, r"got block_size=10, depth=2, giving 30"),
    ],
)
def test_block_krylov_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        spectral.block_krylov_svd(jax.random.key(0), jnp.ones((30, 20)), 3, **kwargs)


@pytest.mark.parametrize(("block_size", "depth"), [(3, 2), (2, 6), (4, 4)])
def test_block_krylov_when_the_krylov_space_is_exhausted(block_size, depth):
    # Rank-5 matrix, Krylov space of dimension block_size * (depth + 1) > 5: after the
    # space becomes invariant, new blocks must be completed orthogonally to the basis, or
    # the Rayleigh-Ritz extraction returns non-orthonormal vectors and a wrong product.
    A = jnp.asarray(matrix_with_spectrum(1, 120, 80, np.ones(5)))
    U, S, Vh = spectral.block_krylov_svd(
        jax.random.key(1), A, 9, depth=depth, block_size=block_size
    )
    np.testing.assert_allclose(U.T @ U, np.eye(9), atol=1e-12)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(9), atol=1e-12)
    np.testing.assert_allclose(S, np.r_[np.ones(5), np.zeros(4)], atol=1e-12)
    np.testing.assert_allclose(U * S[None, :] @ Vh, A, atol=1e-12)
