r"""Parameters of the full-order and reduced models of `rom`: box check, term coefficients.

A model $A(\mu) = \sum_q \theta_q(\mu) A_q$ has the coefficients $\theta(\mu) = \mu$ unless
it carries a coefficient function (a matrix EIM, `rom.matrix_eim`, gives one). The
min-theta coercivity bound $\min_q \theta_q(\mu) / \bar\theta_q$ holds for $\theta = \mu > 0$
and positive semidefinite $A_q$; other coefficient functions need a bound of their own.
"""

from collections.abc import Callable

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


def term_coefficients(theta: Callable | None, mu: Array) -> Array:
    r"""$\theta(\mu)$: `mu` itself, or the model's coefficient function of it."""
    return mu if theta is None else jnp.asarray(theta(mu), mu.dtype)


def coercivity_bound(
    coercivity: Callable | None, theta: Callable | None, reference: Array, mu: Array
) -> Array:
    r"""$\alpha_{LB}(\mu)$: the model's own bound, else min-theta (only for $\theta = \mu$)."""
    if coercivity is not None:
        return jnp.asarray(coercivity(mu), mu.dtype)
    if theta is not None:
        raise ValueError(
            "this model's coefficients are not the parameters themselves (a coefficient "
            "function theta), so the min-theta coercivity bound does not apply: pass "
            "coercivity=, a function mu -> a lower bound of the coercivity constant."
        )
    return jnp.min(mu / reference)
