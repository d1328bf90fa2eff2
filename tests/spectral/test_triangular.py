r"""The private triangular inverse by block doubling behind `spd_inverse` (Smith, Padé), and
the blocked Cholesky factorization built on it (shifted Cholesky QR).

Oracle: SciPy's triangular solve against the identity (LAPACK's substitution), in float64
and float32; the derivative against the closed form $-L^{-1}\,\dot L\,L^{-1}$; NumPy's
Cholesky factorization.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from spectral._symmetric import blocked_cholesky_lower, spd_inverse
from spectral._triangular import _padded_order, lower_triangular_inverse

from ..helpers import symmetric_with_spectrum


def _cholesky_factors(seed: int, batch: tuple[int, ...], n: int, kappa: float) -> np.ndarray:
    """Cholesky factors of SPD matrices with condition number `kappa` (so kappa(L)^2 ~ it)."""
    count = int(np.prod(batch, dtype=int))
    M = [symmetric_with_spectrum(seed + i, np.geomspace(1.0, 1.0 / kappa, n)) for i in range(count)]
    return np.linalg.cholesky(np.reshape(M, (*batch, n, n)))


# Powers of two, the padded sizes c * 2^p (c <= 8), sizes just above them, and n <= 8
# (the base blocks alone).
SIZES = [1, 2, 3, 5, 8, 9, 16, 17, 48, 64, 65, 100]


@pytest.mark.parametrize("n", SIZES)
def test_inverse_matches_scipy_float64(n):
    L = _cholesky_factors(n, (2, 3), n, 1e4)
    # Its upper triangle is not read: garbage there changes nothing.
    garbage = np.triu(np.random.default_rng(n).standard_normal((n, n)), 1)
    got = jax.jit(lower_triangular_inverse)(jnp.asarray(L + garbage))
    for index in np.ndindex(2, 3):
        expected = scipy.linalg.solve_triangular(L[index], np.eye(n), lower=True)
        # Both are backward stable: forward errors of a few eps kappa(L) (kappa(L) <= 100).
        atol = 1e-12 * np.abs(expected).max()
        np.testing.assert_allclose(got[index], expected, rtol=0, atol=atol)
        assert np.all(np.triu(np.asarray(got[index]), 1) == 0)


@pytest.mark.parametrize("n", [7, 64, 100])
def test_inverse_float32_and_vmap(n):
    L = _cholesky_factors(7 * n, (4,), n, 1e2)
    got = jax.jit(jax.vmap(lower_triangular_inverse))(jnp.asarray(L, jnp.float32))
    assert got.dtype == jnp.float32
    expected = np.linalg.inv(L)
    # kappa(L) = 10: forward error ~ n eps_32 kappa(L).
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * np.abs(expected).max())


@pytest.mark.parametrize("n", [20, 60, 100])
def test_inverse_lowers_without_a_gather(n):
    # The diagonal blocks are reshapes and slices: jnp.diagonal's gather made the inverse
    # ~20% slower to compile on XLA:CPU, and it is compiled five times per randomized_svd.
    hlo = jax.jit(lower_triangular_inverse).lower(jnp.zeros((3, n, n))).as_text()
    assert "dot_general" in hlo  # the products are in the lowered text
    assert "gather" not in hlo


def test_padded_order_is_at_most_a_quarter_larger():
    for n in range(1, 2049):
        c, N = _padded_order(n)
        assert c <= 8
        assert N >= n
        assert N % c == 0
        assert (N // c) & (N // c - 1) == 0  # a power of two
        assert N == n if n <= 8 else N < 1.25 * n


def test_derivative_is_the_closed_form():
    n = 12
    L = jnp.asarray(_cholesky_factors(3, (), n, 10.0))
    dL = jnp.tril(jnp.asarray(np.random.default_rng(4).standard_normal((n, n))))
    X, dX = jax.jvp(lower_triangular_inverse, (L,), (dL,))
    np.testing.assert_allclose(dX, -X @ dL @ X, atol=1e-12)


def test_zero_on_the_diagonal_is_not_finite():
    L = jnp.tril(jnp.ones((4, 4))).at[2, 2].set(0.0)
    assert not np.all(np.isfinite(lower_triangular_inverse(L)))


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the calls it guards are XLA:CPU's")
def test_spd_inverse_calls_lapack_only_for_the_cholesky_factorization():
    # A triangular solve is OpenBLAS's trsm on XLA:CPU, whose threads spin on after the call
    # and slow XLA's next products (2x with OpenBLAS's default threads: see
    # spectral/_triangular.py). spd_inverse keeps one LAPACK call, the Cholesky factorization.
    spectrum = np.geomspace(1.0, 0.1, 16)
    M = jnp.asarray(np.stack([symmetric_with_spectrum(i, spectrum) for i in range(3)]))
    hlo = jax.jit(spd_inverse).lower(M).compile().as_text()
    calls = set(re.findall(r'custom_call_target="([^"]+)"', hlo))
    assert calls == {"lapack_dpotrf_ffi"}, calls
    np.testing.assert_allclose(spd_inverse(M), np.linalg.inv(M), atol=1e-12)


def _check_jvp_against_central_difference(fn, oracle, n, h, seed):
    """`fn`'s JVP at an SPD M (spectrum 1..0.1) against (oracle(M + h dM) - oracle(M - h dM)) / 2h.

    The difference's error is O(h^2) (1e-10 for h = 1e-5) plus rounding O(eps / h); 1e-7
    leaves margin for both.
    """
    M = symmetric_with_spectrum(seed, np.geomspace(1.0, 0.1, n))
    dM = symmetric_with_spectrum(seed + 1, np.linspace(-1.0, 1.0, n))
    _, tangent = jax.jvp(fn, (jnp.asarray(M),), (jnp.asarray(dM),))
    difference = (oracle(M + h * dM) - oracle(M - h * dM)) / (2 * h)
    np.testing.assert_allclose(tangent, difference, atol=1e-7)


def test_spd_inverse_derivative_matches_finite_differences():
    # Its custom JVP, -M^{-1} dM M^{-1} (two products instead of the Cholesky factorization's
    # triangular solves), against a central difference of NumPy's inverse.
    _check_jvp_against_central_difference(spd_inverse, np.linalg.inv, n=10, h=1e-5, seed=5)


@pytest.mark.parametrize("n", [50, 127, 128, 200, 257])
def test_blocked_cholesky_matches_numpy_and_calls_lapack_on_blocks_below_128(n):
    # Orders >= 128 split in halves (recursively) so that LAPACK's potrf, which wakes
    # OpenBLAS's threads from order 128 on, only sees blocks of order <= 127.
    M = np.stack([symmetric_with_spectrum(n + i, np.geomspace(1.0, 1e-6, n)) for i in range(2)])
    fn = jax.jit(blocked_cholesky_lower)
    L = fn(jnp.asarray(M))
    # Backward-stable factorizations of a matrix with condition number 1e6: the factors agree
    # to about eps * kappa(L) = 2e-16 * 1e3, relative to their largest entry.
    np.testing.assert_allclose(L, np.linalg.cholesky(M), atol=1e-12)
    np.testing.assert_array_equal(np.triu(np.asarray(L), 1), 0.0)
    hlo = fn.lower(jnp.asarray(M)).compile().as_text()
    potrf = [line for line in hlo.splitlines() if 'custom_call_target="lapack_dpotrf_ffi"' in line]
    orders = {int(re.search(r"f64\[2,(\d+),\1\]", line).group(1)) for line in potrf}
    assert orders, hlo
    assert max(orders) <= 127, orders
    assert set(re.findall(r'custom_call_target="([^"]+)"', hlo)) == {"lapack_dpotrf_ffi"}


def test_blocked_cholesky_of_an_indefinite_matrix_is_not_finite():
    # As LAPACK's: NaN where the factorization fails (the second half here), so that callers
    # can detect it.
    M = np.eye(200)
    M[150, 150] = -1.0
    assert not np.all(np.isfinite(np.asarray(blocked_cholesky_lower(jnp.asarray(M)))))


def test_blocked_cholesky_derivative_matches_finite_differences():
    # Through both halves of an order-130 matrix (the triangular inverse, the Schur
    # complement), against a central difference of NumPy's factorization.
    _check_jvp_against_central_difference(
        blocked_cholesky_lower, np.linalg.cholesky, n=130, h=1e-5, seed=8
    )
