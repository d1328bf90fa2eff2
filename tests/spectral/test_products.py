"""The private row-block products behind the range finder and block Krylov.

Oracle: NumPy's products. The dense forms are also checked for their compiled shape: both
must reach XLA as plain (non-transposed) matrix products, which is what makes them fast
(see `spectral/_products.py`).
"""

import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse as jsparse

import spectral
from spectral._products import rows_times, rows_times_transpose


def _problem(m=40, n=25, ell=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal((ell, m)), rng.standard_normal((ell, n))


@pytest.mark.parametrize("form", ["dense", "bcoo", "operator"])
def test_products_match_numpy(form):
    A, Yt, Xt = _problem()
    op = {
        "dense": jnp.asarray(A),
        "bcoo": jsparse.BCOO.fromdense(jnp.asarray(A)),
        "operator": spectral.LinearOperator(
            lambda X: jnp.asarray(A) @ X, lambda Y: jnp.asarray(A).T @ Y, A.shape, A.dtype
        ),
    }[form]
    np.testing.assert_allclose(eqx.filter_jit(rows_times)(Yt, op), Yt @ A, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(
        eqx.filter_jit(rows_times_transpose)(Xt, op), Xt @ A.T, rtol=1e-13, atol=1e-13
    )


def test_dense_products_batch_and_differentiate():
    A, _, Xt = _problem()
    A = jnp.asarray(A)
    batch = jnp.stack([jnp.asarray(Xt), 2.0 * jnp.asarray(Xt)])
    np.testing.assert_allclose(
        jax.vmap(rows_times_transpose, in_axes=(0, None))(batch, A),
        np.einsum("bln,mn->blm", np.asarray(batch), np.asarray(A)),
        rtol=1e-13,
    )
    # d/dXt sum((Xt A^T)^2) = 2 Xt A^T A.
    grad = jax.grad(lambda Xt: jnp.sum(rows_times_transpose(Xt, A) ** 2))(jnp.asarray(Xt))
    np.testing.assert_allclose(grad, 2.0 * Xt @ np.asarray(A).T @ np.asarray(A), rtol=1e-12)


@pytest.mark.skipif(
    jax.default_backend() != "cpu",
    reason="the layout this guards is XLA:CPU's (GPUs transpose in the GEMM)",
)
def test_dense_products_compile_to_non_transposed_gemms():
    A, Yt, Xt = _problem(m=400, n=300, ell=8)
    for fn, block in ((rows_times, Yt), (rows_times_transpose, Xt)):
        hlo = jax.jit(fn).lower(jnp.asarray(block), jnp.asarray(A)).compile().as_text()
        dots = re.findall(r"lhs_contracting_dims=\{(\d)\}, rhs_contracting_dims=\{(\d)\}", hlo)
        assert dots, hlo
        assert all(d == ("1", "0") for d in dots), (fn.__name__, dots)


def _close(actual, desired):
    # Sums of 150 products of O(1) numbers: rounding errors of order 1e-14 times the largest
    # entry, which a relative tolerance alone would refuse on entries that cancel to near 0.
    desired = np.asarray(desired)
    np.testing.assert_allclose(actual, desired, rtol=1e-12, atol=1e-12 * np.abs(desired).max())


@pytest.mark.parametrize("ell", [60, 61, 128, 129])
def test_rows_times_on_both_sides_of_the_slow_band(ell):
    # Heights 61..128 take the (A^T Y)^T form, the others the NN form (spectral/_products.py);
    # both must give Y^T A, also batched and differentiated.
    A, Yt, _ = _problem(m=150, n=40, ell=ell, seed=ell)
    Aj = jnp.asarray(A)
    _close(jax.jit(rows_times)(jnp.asarray(Yt), Aj), Yt @ A)
    batch = jnp.stack([jnp.asarray(Yt), -3.0 * jnp.asarray(Yt)])
    _close(
        jax.vmap(rows_times, in_axes=(0, None))(batch, Aj),
        np.einsum("blm,mn->bln", np.asarray(batch), A),
    )
    # d/dYt sum((Yt A)^2) = 2 Yt A A^T.
    grad = jax.grad(lambda Yt: jnp.sum(rows_times(Yt, Aj) ** 2))(jnp.asarray(Yt))
    _close(grad, 2.0 * Yt @ A @ A.T)


@pytest.mark.skipif(
    jax.default_backend() != "cpu",
    reason="the band this guards is XLA:CPU's (YNNPACK's slow block heights)",
)
@pytest.mark.parametrize(("ell", "lhs_contracting"), [(60, "1"), (61, "0"), (128, "0"), (129, "1")])
def test_rows_times_in_the_slow_band_contracts_a_transposed_left_operand(ell, lhs_contracting):
    A, Yt, _ = _problem(m=300, n=40, ell=ell)
    hlo = jax.jit(rows_times).lower(jnp.asarray(Yt), jnp.asarray(A)).compile().as_text()
    dots = re.findall(r"lhs_contracting_dims=\{(\d)\}, rhs_contracting_dims=\{(\d)\}", hlo)
    assert dots == [(lhs_contracting, "0")], dots
