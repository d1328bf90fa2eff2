"""Tests of `LinearOperator` and `aslinearoperator` against the dense matrices they wrap."""

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
from jax.experimental import sparse as jsparse
from jax.tree_util import Partial

import spectral

A = jnp.asarray(np.random.default_rng(0).standard_normal((7, 5)))
X = jnp.asarray(np.random.default_rng(1).standard_normal((5, 3)))
Y = jnp.asarray(np.random.default_rng(2).standard_normal((7, 3)))


def test_products_vectors_and_transpose():
    op = spectral.LinearOperator(lambda X: A @ X, lambda Y: A.T @ Y, A.shape, A.dtype)
    np.testing.assert_allclose(op @ X, A @ X, rtol=1e-14)
    np.testing.assert_allclose(op @ X[:, 0], A @ X[:, 0], rtol=1e-14)
    np.testing.assert_allclose(op.T @ Y, A.T @ Y, rtol=1e-14)
    assert op.T.shape == (5, 7)
    assert op.T.T.shape == (7, 5)
    assert op.ndim == 2
    assert op.dtype == jnp.float64


def test_transpose_derived_by_linear_transpose():
    op = spectral.LinearOperator(lambda X: A @ X, None, A.shape, A.dtype)
    np.testing.assert_allclose(op.T @ Y, A.T @ Y, rtol=1e-13)
    np.testing.assert_allclose(op.T @ Y[:, 0], A.T @ Y[:, 0], rtol=1e-13)


def _matmat(W, X):
    return W @ X


def test_partial_operator_crosses_jit_and_differentiates():
    op = spectral.LinearOperator(Partial(_matmat, A), None, A.shape, A.dtype)
    out = jax.jit(lambda op, X: op @ X)(op, X)
    np.testing.assert_allclose(out, A @ X, rtol=1e-14)

    def loss(W):
        o = spectral.LinearOperator(Partial(_matmat, W), None, W.shape, W.dtype)
        return jnp.sum(spectral.randomized_svd(jax.random.key(0), o, 2).S)

    g = jax.grad(loss)(A)
    g_dense = jax.grad(lambda W: jnp.sum(spectral.randomized_svd(jax.random.key(0), W, 2).S))(A)
    np.testing.assert_allclose(g, g_dense, rtol=1e-10)


@pytest.mark.parametrize(
    "source",
    [
        lambda: A,
        lambda: jsparse.BCOO.fromdense(A),
        lambda: lx.MatrixLinearOperator(A),
        lambda: (lambda X: A @ X, lambda Y: A.T @ Y),
    ],
    ids=["dense", "bcoo", "lineax", "callables"],
)
def test_aslinearoperator(source):
    op = spectral.aslinearoperator(source(), shape=A.shape, dtype=A.dtype)
    assert isinstance(op, spectral.LinearOperator)
    assert op.shape == A.shape
    np.testing.assert_allclose(op @ X, A @ X, rtol=1e-13)
    np.testing.assert_allclose(op.T @ Y, A.T @ Y, rtol=1e-13)
    assert spectral.aslinearoperator(op) is op


def test_aslinearoperator_errors():
    with pytest.raises(TypeError, match=r"A given as a tuple must be \(matmat, rmatmat\)"):
        spectral.aslinearoperator((lambda X: X, None))
    with pytest.raises(TypeError, match="A must be a matrix, a lineax operator"):
        spectral.aslinearoperator("not an operator")
    with pytest.raises(ValueError, match=r"A must be 2-D with shape \(m, n\); got shape \(3,\)"):
        spectral.aslinearoperator(jnp.ones(3))


def test_constructor_errors():
    with pytest.raises(TypeError, match="matmat must be callable; got ndarray"):
        spectral.LinearOperator(np.ones((2, 2)), None, (2, 2), jnp.float64)
    with pytest.raises(TypeError, match="rmatmat must be callable or None"):
        spectral.LinearOperator(lambda X: X, 3, (2, 2), jnp.float64)
    with pytest.raises(
        ValueError, match=r"shape must be \(m, n\) with m, n >= 1; got shape=\(2,\)"
    ):
        spectral.LinearOperator(lambda X: X, None, (2,), jnp.float64)


def test_operator_is_a_pytree_of_its_callables():
    op = spectral.LinearOperator(Partial(_matmat, A), None, A.shape, A.dtype)
    arrays = [x for x in jax.tree.leaves(op) if eqx.is_array(x)]
    assert len(arrays) == 1
    assert arrays[0] is A
