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

One exception, for blocks of $61 \le \ell \le 128$ rows: XLA:CPU hands the NN product
$Y^\top A$ to YNNPACK, which is 2-3.6 times slower at those heights than at $\ell = 60$ or
$\ell \ge 129$ once $A$ outgrows the last-level cache (jax 0.10.1, AMD EPYC with AVX2 and a
32 MiB L3, float64 $8000 \times 2000$: 83 ms at $\ell = 64$ against 31 ms at $\ell = 60$ and
53 ms at $\ell = 129$; float32 the same; no such step for a $2000 \times 2000$ matrix). There
the product is written as $(A^\top Y)^\top$ with $A$ as the transposed left operand, which
XLA leaves to its Eigen kernels: 38 ms at $\ell = 64$, 68 ms at $\ell = 128$ (YNNPACK: 83
and 105). Outside that band the Eigen form is 15-40% slower than YNNPACK's, so it is used
only inside it. The band is a property of this backend and library version, measured, not a
law: `python -m experiments bench rsvd` prints the block heights on each side of it.

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


# Block heights at which XLA:CPU's YNNPACK product Y^T A is slow (module docstring).
SLOW_NN_HEIGHTS = range(61, 129)


def rows_times(Yt: Float[Array, "l m"], A: Any) -> Float[Array, "l n"]:
    r"""$Y^\top A = (A^\top Y)^\top$ for an $m \times n$ operator $A$."""
    if isinstance(A, jax.Array):
        if Yt.shape[-2] in SLOW_NN_HEIGHTS:
            return materialized_transpose(A.T @ materialized_transpose(Yt))
        return Yt @ A
    return (A.T @ Yt.T).T


def rows_times_transpose(Xt: Float[Array, "l n"], A: Any) -> Float[Array, "l m"]:
    r"""$X^\top A^\top = (A X)^\top$ for an $m \times n$ operator $A$."""
    if isinstance(A, jax.Array):
        return materialized_transpose(A @ materialized_transpose(Xt))
    return (A @ Xt.T).T
