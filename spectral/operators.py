"""Matrix-free linear operators.

An *operator* in `spectral` is anything with `.shape`, `.dtype`, `A @ X` and `A.T @ Y`: a
dense `jax.Array`, a `jax.experimental.sparse.BCOO` matrix, or a `LinearOperator` built from
callables. Algorithms that only need products accept all of them.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.tree_util import Partial
from jaxtyping import Array, Float


class _LinearTranspose(eqx.Module):
    """`Y -> A.T @ Y` derived from `X -> A @ X` by `jax.linear_transpose`."""

    matmat: Callable
    n: int = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)

    def __call__(self, Y: Float[Array, "m l"]) -> Float[Array, "n l"]:
        primal = jax.ShapeDtypeStruct((self.n, Y.shape[1]), self.dtype)
        (X,) = jax.linear_transpose(self.matmat, primal)(Y)
        return X


class LinearOperator(eqx.Module):
    r"""A matrix-free linear operator $A \in \mathbb{R}^{m \times n}$ given by its products.

    Parameters
    ----------
    matmat : Callable[[Float[Array, "n l"]], Float[Array, "m l"]]
        $X \mapsto A X$ for a block of `l` columns.
    rmatmat : Callable[[Float[Array, "m l"]], Float[Array, "n l"]] or None
        $Y \mapsto A^\top Y$. If `None`, it is derived from `matmat` by
        `jax.linear_transpose` (so `matmat` must then be linear and traceable).
    shape : tuple[int, int]
        `(m, n)`.
    dtype : dtype
        The dtype of the operator's products.

    Notes
    -----
    A `LinearOperator` is an `equinox.Module`, hence a pytree whose leaves are the two
    callables. Pass callables that carry their parameters as pytree leaves
    (`jax.tree_util.Partial(f, W)` or an `equinox.Module` with `__call__`) and the
    operator can cross `jax.jit` boundaries as a traced argument and be differentiated
    with respect to those parameters. A plain closure works everywhere in `spectral`
    (the public functions use `equinox.filter_jit`), but its captured arrays are
    compile-time constants. `spectral` checks at trace time that `A @ X` and `A.T @ Y`
    have the shapes `shape` promises; linearity and (where an algorithm needs it)
    symmetry are not checked.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import spectral
    >>> M = jnp.arange(6.0).reshape(3, 2)
    >>> op = spectral.LinearOperator(lambda X: M @ X, lambda Y: M.T @ Y, (3, 2), M.dtype)
    >>> (op @ jnp.ones(2)).tolist(), (op.T @ jnp.ones(3)).tolist()
    ([1.0, 5.0, 9.0], [6.0, 9.0])
    """

    matmat: Callable
    rmatmat: Callable | None
    shape: tuple[int, int] = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)

    def __init__(
        self,
        matmat: Callable,
        rmatmat: Callable | None,
        shape: tuple[int, int],
        dtype: Any,
    ):
        if not callable(matmat):
            raise TypeError(f"matmat must be callable; got {type(matmat).__name__}.")
        if rmatmat is not None and not callable(rmatmat):
            raise TypeError(f"rmatmat must be callable or None; got {type(rmatmat).__name__}.")
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be (m, n) with m, n >= 1; got shape={shape}.")
        self.matmat = matmat
        self.rmatmat = rmatmat
        self.shape = shape
        self.dtype = jnp.dtype(dtype)

    @property
    def ndim(self) -> int:
        """Always 2."""
        return 2

    def __matmul__(self, X: Float[Array, "n ..."]) -> Float[Array, "m ..."]:
        if X.ndim == 1:
            return self.matmat(X[:, None])[:, 0]
        return self.matmat(X)

    @property
    def T(self) -> "LinearOperator":
        r"""The transpose $A^\top$ (swaps `matmat` and `rmatmat`)."""
        m, n = self.shape
        rmatmat = self.rmatmat
        if rmatmat is None:
            rmatmat = _LinearTranspose(self.matmat, n, self.dtype)
        return LinearOperator(rmatmat, self.matmat, (n, m), self.dtype)


def _dense_matmat(A: Any, X: Array) -> Array:
    return A @ X


def _dense_rmatmat(A: Any, Y: Array) -> Array:
    return A.T @ Y


def _lineax_matmat(op: Any, X: Array) -> Array:
    return jax.vmap(op.mv, in_axes=1, out_axes=1)(X)


def aslinearoperator(
    A: Any, *, shape: tuple[int, int] | None = None, dtype: Any = None
) -> LinearOperator:
    """Adapt a matrix, a lineax operator, or a pair of callables to a `LinearOperator`.

    Parameters
    ----------
    A : jax.Array, BCOO, LinearOperator, lineax.AbstractLinearOperator or tuple
        A dense or sparse matrix, an operator with lineax's interface (`mv`,
        `transpose`, `in_structure`, `out_structure`), or a pair `(matmat, rmatmat)` of
        callables (`rmatmat` may be `None`).
    shape, dtype : optional
        Required for a pair of callables; ignored otherwise.

    Returns
    -------
    LinearOperator
        The same linear map; its parameters (the matrix, the lineax operator) stay pytree
        leaves, so gradients reach them.

    Raises
    ------
    TypeError
        If `A` is none of the above, or `shape`/`dtype` are missing for a pair of callables.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import spectral
    >>> op = spectral.aslinearoperator(jnp.eye(3))
    >>> op.shape
    (3, 3)
    """
    if isinstance(A, LinearOperator):
        return A
    if isinstance(A, tuple):
        if len(A) != 2 or shape is None or dtype is None:
            raise TypeError(
                "A given as a tuple must be (matmat, rmatmat) with shape= and dtype= passed; "
                f"got a tuple of length {len(A)}, shape={shape}, dtype={dtype}."
            )
        return LinearOperator(A[0], A[1], shape, dtype)
    if all(hasattr(A, attr) for attr in ("mv", "transpose", "in_structure", "out_structure")):
        (n,) = A.in_structure().shape
        (m,) = A.out_structure().shape
        return LinearOperator(
            Partial(_lineax_matmat, A),
            Partial(_lineax_matmat, A.transpose()),
            (m, n),
            A.out_structure().dtype,
        )
    if hasattr(A, "shape") and hasattr(A, "dtype") and hasattr(A, "__matmul__"):
        if len(A.shape) != 2:
            raise ValueError(f"A must be 2-D with shape (m, n); got shape {tuple(A.shape)}.")
        return LinearOperator(
            Partial(_dense_matmat, A), Partial(_dense_rmatmat, A), A.shape, A.dtype
        )
    raise TypeError(
        "A must be a matrix, a lineax operator or a (matmat, rmatmat) pair; "
        f"got an object of type {type(A)}."
    )
