"""Gradient-based minimization with optax as one jitted `jax.lax.scan`."""

from collections.abc import Callable

import jax
import optax


def minimize(
    loss: Callable,
    params,
    *,
    steps: int,
    optimizer: optax.GradientTransformation,
    checkpoints: int = 1,
):
    """`steps` optimizer updates of `params` on `loss`, as `checkpoints` scans of equal length.

    Returns ``(params, losses, saved)``: the final parameters, the loss before each step
    (shape ``(steps,)``) and the parameters after each of the `checkpoints` segments
    (a pytree with a leading axis of that length; the last entry is the final `params`).
    `steps` must be a multiple of `checkpoints` (checked by the callers).
    """
    per_segment = steps // checkpoints

    def step(carry, _):
        params, state = carry
        value, grads = jax.value_and_grad(loss)(params)
        # optax mixes Python floats with its int32 step count: not allowed under
        # jax_numpy_dtype_promotion="strict", which a caller may have set.
        with jax.numpy_dtype_promotion("standard"):
            updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), value

    def segment(carry, _):
        carry, losses = jax.lax.scan(step, carry, length=per_segment)
        return carry, (carry[0], losses)

    (params, _), (saved, losses) = jax.lax.scan(
        segment, (params, optimizer.init(params)), length=checkpoints
    )
    return params, losses.reshape(-1), saved
