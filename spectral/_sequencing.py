"""Ordering of LAPACK calls inside one XLA computation.

With jaxlib 0.10.2, XLA:CPU may run two *independent* batched LAPACK calls (eigh, Cholesky,
LU, QR) of one computation at once, and then deadlocks its thread pool (each call waits in
`ParallelBatchMap` for work queued behind the other). A data dependence orders them; an
`optimization_barrier` does not.
"""

import jax
import jax.numpy as jnp


def after(x: jax.Array, dependency: jax.Array) -> jax.Array:
    """`x`, made to depend on `dependency` (matrices, same batch shape), so XLA computes it first.

    Adds `0 * dependency[..., :1, :1]`: the value of `x` is unchanged when `dependency` is
    finite.
    """
    return x + jnp.zeros((), x.dtype) * dependency[..., :1, :1]
