r"""Products of an operator with blocks stored as rows.

A block of $\ell$ vectors of length $m$ is kept as $Y^\top \in \mathbb{R}^{\ell \times m}$
(row-major). For a dense `jax.Array` both products are arranged as plain, non-transposed
GEMMs ("NN": every operand read in its stored row-major layout):

- $Y^\top A$ is one NN product as written;
- $X^\top A^\top = (A X)^\top$ is computed as $A X$ with $X$ materialized column-wise
  (a transpose of the small $\ell \times n$ block), and the $m \times \ell$ result
  transposed back.

XLA's algebraic simplifier would fold those small transposes into the product's dimension
numbers, turning it back into a transposed-operand product; on XLA's CPU backend
(jax 0.10, AMD EPYC, float64, $8000 \times 2000$ times 60 columns) that form takes 90 ms
against 32 ms for the NN form, because it transposes the large operand. Optimization
barriers around the transposes keep them as separate, cheap copies (0.3-0.5 ms). The
barriers change no value, and are transparent to `jit`, `vmap` and autodiff.

Other operators (BCOO, `LinearOperator`) only promise `A @ X` and `A.T @ Y`, and get those,
with the small blocks transposed around them.
"""

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def materialized_transpose(x: Float[Array, "*batch a b"]) -> Float[Array, "*batch b a"]:
    """`x` with its last two axes swapped, as a copy XLA cannot fold into a product.

    Folded, the transpose would turn its neighbouring products into transposed-operand
    products, slower on XLA:CPU.
    """
    barrier = jax.lax.optimization_barrier
    return barrier(jnp.swapaxes(barrier(x), -1, -2))


def rows_times(Yt: Float[Array, "l m"], A: Any) -> Float[Array, "l n"]:
    r"""$Y^\top A = (A^\top Y)^\top$ for an $m \times n$ operator $A$."""
    if isinstance(A, jax.Array):
        return Yt @ A
    return (A.T @ Yt.T).T


def rows_times_transpose(Xt: Float[Array, "l n"], A: Any) -> Float[Array, "l m"]:
    r"""$X^\top A^\top = (A X)^\top$ for an $m \times n$ operator $A$."""
    if isinstance(A, jax.Array):
        return materialized_transpose(A @ materialized_transpose(Xt))
    return (A @ Xt.T).T
