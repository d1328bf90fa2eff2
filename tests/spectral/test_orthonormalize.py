"""The private Cholesky QR orthonormalization behind the range finder and block Krylov.

Oracle: NumPy's Householder QR spans the same space; the result must be orthonormal to
working precision for well-conditioned, ill-conditioned, rank-deficient and zero blocks.
"""

import re

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from spectral._orthonormalize import normalize_rows, orthonormalize, shifted_cholesky, svd_rows
from tests.helpers import subspace_distance


def block(kind, m=200, ell=12):
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((m, ell))
    if kind == "ill":  # condition number 1e12, all of it in the column scaling
        Y = Y @ np.diag(np.logspace(0, -12, ell))
    elif kind == "moderate":  # condition number 1e3: two Cholesky QR passes suffice
        Y = Y @ np.diag(np.logspace(0, -3, ell))
    elif kind == "rank_deficient":
        Y[:, 6:] = Y[:, :6] @ rng.standard_normal((6, ell - 6))
    elif kind == "zero":
        Y = np.zeros((m, ell))
    return jnp.asarray(Y)


@pytest.mark.parametrize("kind", ["random", "moderate", "ill", "rank_deficient", "zero"])
def test_orthonormal_with_the_same_span(kind):
    Y = block(kind)
    Q = jax.jit(orthonormalize)(Y)
    ell = Y.shape[1]
    # Orthonormal to ~ell * eps in every case (Householder fallback included).
    np.testing.assert_allclose(Q.T @ Q, np.eye(ell), atol=1e-13)
    if kind in ("random", "moderate", "ill"):
        Q_ref = np.linalg.qr(np.asarray(Y))[0]
        # Same span. For the 1e12-conditioned block the weakest direction is determined only
        # to eps * kappa ~ 1e-4, for any backward-stable method (Householder included).
        assert subspace_distance(Q, Q_ref) < {"random": 1e-12, "moderate": 1e-11, "ill": 1e-3}[kind]
    if kind == "rank_deficient":
        # The 6-dimensional span of Y lies inside the span of Q.
        U = np.linalg.svd(np.asarray(Y), full_matrices=False)[0][:, :6]
        assert np.linalg.norm(U - Q @ (Q.T @ U)) < 1e-12


def test_normalize_keeps_span_and_returns_a_well_conditioned_basis():
    Y = block("moderate")
    Qt = normalize_rows(Y.T)
    s = np.linalg.svd(np.asarray(Qt), compute_uv=False)
    assert s.max() / s.min() < 1.01
    assert subspace_distance(Qt.T, np.linalg.qr(np.asarray(Y))[0]) < 1e-11


@pytest.mark.parametrize("batched", [False, True])
def test_shifted_cholesky_falls_back_to_the_shift_that_cannot_fail(batched):
    # A "Gram matrix" (rank one, trace 3) with eigenvalues of -1e-10, as rounding can leave
    # in that of a rank-deficient block: the small shift (ell * eps) fails, the fallback
    # shift 11 (m ell + ell (ell + 1)) eps ell (2e-8 for m = 1e6, ell = 3) succeeds.
    u = np.random.default_rng(4).standard_normal(3)
    G = 3.0 * np.outer(u, u) / (u @ u) - 1e-10 * np.eye(3)
    m = 10**6
    safe = 11.0 * (m * 3 + 3 * 4) * np.finfo(np.float64).eps * 3
    if batched:
        # Under vmap both factorizations run (a select): a well-posed matrix beside the
        # failing one must keep its small-shift factor.
        stack = jnp.asarray(np.stack([G, np.eye(3)]))
        L = jax.vmap(lambda G: shifted_cholesky(G, m))(stack)
        np.testing.assert_allclose(L[1], np.eye(3) * np.sqrt(1 + 3 * np.finfo(float).eps))
        L = L[0]
    else:
        L = jax.jit(shifted_cholesky, static_argnums=1)(jnp.asarray(G), m)
    np.testing.assert_allclose(L @ L.T, G + safe * np.eye(3), atol=1e-14)
    assert np.all(np.isfinite(np.asarray(L)))


def test_normalize_rows_of_a_rank_deficient_block_is_finite_and_keeps_its_span():
    # Normalizing between power iterations must never produce Inf/NaN, whatever the rank.
    Y = block("rank_deficient", m=2000)
    Qt = jax.jit(normalize_rows)(Y.T)
    assert np.all(np.isfinite(np.asarray(Qt)))
    s = np.linalg.svd(np.asarray(Qt), compute_uv=False)
    assert s.max() <= 1.0 + 1e-12  # Q^T Q = I - s (G + sI)^{-1}
    U = np.linalg.svd(np.asarray(Y), full_matrices=False)[0][:, :6]
    # The 6-dimensional span of Y lies in the span of the rows of Qt, through its
    # well-normalized directions (singular values near 1).
    Q_big = np.linalg.svd(np.asarray(Qt).T, full_matrices=False)[0][:, s > 0.5]
    assert Q_big.shape[1] == 6
    assert np.linalg.norm(U - Q_big @ (Q_big.T @ U)) < 1e-10


def test_nearly_orthonormal_block_is_left_nearly_unchanged():
    # Cholesky QR of an orthonormal block has L = I up to rounding: the block is not rotated,
    # so results do not depend on how the basis of a well-determined span is chosen.
    Q0 = np.linalg.qr(np.random.default_rng(1).standard_normal((100, 8)))[0]
    Q = orthonormalize(jnp.asarray(Q0))
    np.testing.assert_allclose(Q, Q0, atol=1e-13)


_VMAP_PROGRAM = """
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
import spectral
A = jax.random.normal(jax.random.key(1), (400, 120)) @ jnp.diag(0.9 ** jnp.arange(120.0))
for i in range(4):
    keys = jax.random.split(jax.random.key(i), 8)
    jax.block_until_ready(jax.vmap(lambda k: spectral.randomized_svd(k, A, 10))(keys))
print("done")
"""


def test_vmapped_svd_does_not_deadlock():
    # Under vmap the Householder fallback runs beside the Cholesky passes; two independent LAPACK
    # calls running concurrently deadlocked XLA:CPU (jaxlib 0.10.2) until they were ordered
    # by a data dependence. Run in a subprocess so that a regression fails instead of hanging.
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _VMAP_PROGRAM], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"


def test_gradient_through_a_nearly_orthonormal_block_is_finite():
    # The second pass sees a Gram matrix close to I (repeated eigenvalues): its derivative
    # must not divide by eigenvalue gaps (a Cholesky factorization's does not).
    Q0 = jnp.asarray(np.linalg.qr(np.random.default_rng(2).standard_normal((50, 6)))[0])
    W = jnp.asarray(np.random.default_rng(3).standard_normal((50, 6)))
    loss = jax.jit(lambda Y: jnp.sum(orthonormalize(Y) * W))  # op by op: 6.7 s, not 1.8
    g = jax.grad(loss)(Q0)
    assert np.all(np.isfinite(np.asarray(g)))
    jax.test_util.check_grads(loss, (Q0,), 1, eps=1e-6)


def test_svd_rows_matches_numpy_by_the_qr_iteration_svd():
    # The thin SVD of a wide block, against NumPy's, on a graded spectrum (1 to 1e-10).
    rng = np.random.default_rng(3)
    B = (rng.standard_normal((8, 8)) * np.logspace(0, -10, 8)) @ rng.standard_normal((8, 50))
    U, S, Vh = jax.jit(svd_rows)(jnp.asarray(B))
    np.testing.assert_allclose(S, np.linalg.svd(B, compute_uv=False), rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose((U * S[None, :]) @ Vh, B, atol=1e-13)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(8), atol=1e-13)
    if jax.default_backend() == "cpu":
        # LAPACK's gesvd, not the default gesdd: gesdd wakes OpenBLAS threads that spin on
        # and slow the next large XLA product by half (spectral/_orthonormalize.py).
        hlo = jax.jit(svd_rows).lower(jnp.asarray(B)).compile().as_text()
        calls = set(re.findall(r'custom_call_target="([^"]+)"', hlo))
        assert "lapack_dgesvd_ffi" in calls, calls
        assert not any("gesdd" in call for call in calls), calls
