"""The parameter-box check shared by the full-order and reduced models of `rom`."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array


def check_parameter(mu, low: Array, high: Array, dtype) -> Array:
    """`mu` as an array of `dtype` and the box's shape, raising (also under jit) outside it."""
    mu = jnp.asarray(mu, dtype)
    if mu.shape != jnp.shape(low):
        raise ValueError(
            f"mu must have shape {jnp.shape(low)}, one value per parameter; got shape {mu.shape}."
        )
    return eqx.error_if(
        mu,
        jnp.any((mu < low) | (mu > high)),
        "mu is outside the model's parameter range [low, high].",
    )
