"""Small building blocks for batches of symmetric matrices (shape (..., n, n))."""

import jax
import jax.numpy as jnp
from jaxtyping import Array

from ._checks import full_precision_products
from ._products import materialized_transpose
from ._triangular import lower_triangular_inverse


def eye_like(A: Array) -> Array:
    """The identity, broadcast to the shape and dtype of the batch `A`."""
    return jnp.broadcast_to(jnp.eye(A.shape[-1], dtype=A.dtype), A.shape)


def sym(A: Array) -> Array:
    r"""The symmetric part $(A + A^\top)/2$ of each matrix."""
    return 0.5 * (A + jnp.swapaxes(A, -1, -2))


def eig_upper_bound(A: Array) -> Array:
    r"""$\min(\|A\|_F, \|A\|_1) \ge \lambda_{\max}(A)$ for symmetric $A$, shape (..., 1, 1)."""
    fro = jnp.sqrt(jnp.sum(A * A, axis=(-2, -1), keepdims=True))
    one = jnp.max(jnp.sum(jnp.abs(A), axis=-2, keepdims=True), axis=-1, keepdims=True)
    return jnp.maximum(jnp.minimum(fro, one), jnp.finfo(A.dtype).tiny)


def cholesky_lower(M: Array) -> Array:
    r"""The lower Cholesky factor $L$ of symmetric positive definite $M = L L^\top$.

    NaN on and below the diagonal where it fails. Reads one triangle of $M$: symmetric up to
    rounding is enough.

    LAPACK works in column-major storage, so XLA:CPU would copy a row-major $M$ into it
    with a transpose, fused into whatever produces $M$ (at batch 64, $n = 64$, float32 a
    polynomial's last step took 0.46 ms that way against 0.05 ms). $M^\top$ in column-major
    storage is $M$ in row-major storage: factoring $M^\top$, which is $M$, needs no transpose.
    """
    return jax.lax.linalg.cholesky(jnp.swapaxes(M, -1, -2), symmetrize_input=False)


# LAPACK's Cholesky factorization (potrf) wakes OpenBLAS's threads, which then slow XLA's
# next product, from this order on (jax 0.10.1, 2-core AMD EPYC: a 60 x 8000 by 8000 x 2000
# float64 product after potrf took 43 ms at n = 128 against 32-33 ms at n = 64 and 100).
_UNBLOCKED_CHOLESKY_MAX = 127


def blocked_cholesky_lower(M: Array) -> Array:
    r"""`cholesky_lower` with LAPACK called only on diagonal blocks of order at most 127.

    $M = \begin{bmatrix} M_{11} & M_{21}^\top \\ M_{21} & M_{22} \end{bmatrix}$,
    $L_{11} = \operatorname{chol}(M_{11})$, $L_{21} = M_{21} L_{11}^{-\top}$ (by
    `lower_triangular_inverse`: products), $L_{22} = \operatorname{chol}(M_{22} - L_{21}
    L_{21}^\top)$, recursively on halves ($n^3/3$ flops as the unblocked factorization, plus
    $n^3/12$ per level for the inverses). Where a block fails, NaN below it, as
    `cholesky_lower`.
    """
    n = M.shape[-1]
    if n <= _UNBLOCKED_CHOLESKY_MAX:
        return cholesky_lower(M)
    h = n // 2
    L11 = blocked_cholesky_lower(M[..., :h, :h])
    L21 = M[..., h:, :h] @ materialized_transpose(lower_triangular_inverse(L11))
    L22 = blocked_cholesky_lower(M[..., h:, h:] - L21 @ materialized_transpose(L21))
    top = jnp.concatenate([L11, jnp.zeros((*L11.shape[:-1], n - h), M.dtype)], axis=-1)
    return jnp.concatenate([top, jnp.concatenate([L21, L22], axis=-1)], axis=-2)


@jax.custom_jvp
def spd_inverse(M: Array) -> Array:
    r"""$M^{-1} = L^{-\top} L^{-1}$ for symmetric positive definite $M = L L^\top$.

    A Cholesky factorization (LAPACK), a triangular inverse by block doubling
    (`lower_triangular_inverse`: batched products, no LAPACK/BLAS call, whose OpenBLAS
    threads would slow XLA's next products) and one product ($n^3/3 + n^3/3 + 2n^3$
    flops), stable for any positive definite $M$. Only the lower triangle of $M$ is read.
    The transpose of $L^{-1}$ is materialized: XLA:CPU runs the transposed-operand product
    $L^{-\top} L^{-1}$ about twice as slowly as a plain one (0.55 against 0.25 ms at batch
    64, $n = 64$, float32).
    """
    factor = cholesky_lower(M)
    inv_factor = lower_triangular_inverse(factor)
    return materialized_transpose(inv_factor) @ inv_factor


@spd_inverse.defjvp
@full_precision_products  # traced lazily, maybe outside the public function's scope
def _spd_inverse_jvp(primals, tangents):
    # The derivative of the inverse, -M^{-1} dM M^{-1}: two products, where JAX's derivative
    # of the Cholesky factorization would take triangular solves. (For the symmetric M this
    # is meant for; it takes a non-symmetric tangent as it is.)
    (M,), (dM,) = primals, tangents
    inverse = spd_inverse(M)
    return inverse, -inverse @ dM @ inverse


def check_matrix_batch(A: Array, name: str) -> None:
    """Trace-time check: a real floating square matrix or a batch of them."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(
            f"{name} must be a square matrix or a batch of them, shape (..., n, n); got shape "
            f"{A.shape}."
        )
    if not jnp.issubdtype(A.dtype, jnp.floating):
        raise TypeError(f"{name} must have a real floating dtype; got dtype {A.dtype}.")
