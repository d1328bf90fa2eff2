r"""The private triangular inverse by block doubling behind `spd_inverse` (Smith, Padé).

Oracle: SciPy's triangular solve against the identity (LAPACK's substitution), in float64
and float32; the derivative against the closed form $-L^{-1}\,\dot L\,L^{-1}$.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from spectral._symmetric import spd_inverse
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


def test_spd_inverse_derivative_matches_finite_differences():
    # Its custom JVP, -M^{-1} dM M^{-1} (two products instead of the Cholesky factorization's
    # triangular solves), against a central difference of NumPy's inverse (error O(h^2)).
    n, h = 10, 1e-5
    M = symmetric_with_spectrum(5, np.geomspace(1.0, 0.1, n))
    dM = symmetric_with_spectrum(6, np.linspace(-1.0, 1.0, n))
    _, tangent = jax.jvp(spd_inverse, (jnp.asarray(M),), (jnp.asarray(dM),))
    difference = (np.linalg.inv(M + h * dM) - np.linalg.inv(M - h * dM)) / (2 * h)
    np.testing.assert_allclose(tangent, difference, atol=1e-7)
