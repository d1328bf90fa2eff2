r"""The weak greedy algorithm: a reduced basis from the worst-estimated training parameter.

Binev et al. (2011); the standard offline stage of the certified reduced basis method
(Patera & Rozza 2007, Haasdonk 2017): starting from an empty basis, repeat

1. evaluate the error estimator $\Delta_N(\mu)$ on every training parameter (online cost,
   `vmap`-ed over the training set),
2. stop if $\max \Delta_N \le$ `tol` or $N =$ `max_basis`,
3. solve the full model at $\mu^* = \arg\max \Delta_N$, orthonormalize the solution in the
   energy product against the basis, and extend the estimator's Riesz representatives by
   $X^{-1} A_q v_{N+1}$ ($Q$ solves with $X$).

Each step is one jitted call on buffers of the final size `max_basis` (unused basis
columns are zero, and the reduced system is the identity there), so the greedy compiles
once instead of once per basis size.

With $\Delta_0(\mu) = \lVert f\rVert_{X^{-1}} / \alpha_{LB}(\mu)$ for the empty basis. The
cost per step is one full solve, $Q$ product solves and $O(P(QN)^2)$ for $P$ training
parameters.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .affine import AffineModel
from .galerkin import (
    ReducedModel,
    RieszRepresentatives,
    add_residual_column,
    residual_matrix,
)


class GreedyResult(NamedTuple):
    r"""The outcome of `weak_greedy`.

    Attributes
    ----------
    reduced_model : ReducedModel
        Galerkin projection on the final basis.
    max_estimates : Float[Array, " K"]
        $\max_\mu \Delta_N(\mu)$ over the training set for $N = 0, 1, \dots$ (the last
        one is that of the final basis).
    selected : Float[Array, "N Q"]
        The parameters whose solutions span the basis, in order.
    riesz : RieszRepresentatives
        The estimator's Riesz representatives for the final basis (prefixes of its columns
        are those of the smaller bases).
    """

    reduced_model: ReducedModel
    max_estimates: Float[Array, " K"]
    selected: Float[Array, "N Q"]
    riesz: RieszRepresentatives


class _State(NamedTuple):
    basis: Array  # (n, K), zero beyond count
    terms: Array  # (Q, n, K): X^-1 A_q v_j
    operators: Array  # (Q, K, K)
    rhs: Array  # (K,)
    count: Array  # number of basis vectors in use
    residual_basis: Array  # (n, 1 + QK): X-orthonormal basis of the Riesz representatives
    residual_factor: Array  # (1 + QK, 1 + QK): Z = residual_basis @ residual_factor


def _reduced(model: AffineModel, state: _State, z0: Array) -> ReducedModel:
    K = state.basis.shape[1]
    Z = residual_matrix(RieszRepresentatives(z0, state.terms))
    gram = Z.T @ (model.product @ Z)
    return ReducedModel(
        operators=state.operators,
        rhs=state.rhs,
        gram=0.5 * (gram + gram.T),
        basis=state.basis,
        reference=model.reference,
        low=model.low,
        high=model.high,
        active=jnp.arange(K) < state.count,
        residual_factor=state.residual_factor,
        theta=model.theta,
        coercivity=model.coercivity,
    )


@eqx.filter_jit
def _extend(model: AffineModel, product_factor, state: _State, mu, z0, training: Array):
    """Add the solution at mu to the basis; return the new state and the training estimates."""
    V, X, N = state.basis, model.product, state.count
    v = model.solve(mu)
    for _ in range(2):  # Gram-Schmidt in X, twice
        v = v - V @ (V.T @ (X @ v))
    v = v / model.norm(v)
    V = V.at[:, N].set(v)
    Av = jnp.stack([model.term(q) @ v for q in range(model.num_terms)])  # (Q, n)
    new_terms = product_factor.solve(Av.T).T
    terms = state.terms.at[:, :, N].set(new_terms)
    K = V.shape[1]
    Qz, Rz = state.residual_basis, state.residual_factor
    for q in range(model.num_terms):
        Qz, Rz = add_residual_column(model, Qz, Rz, new_terms[q], 1 + q * K + N)
    column = Av @ V  # (Q, K): v_j^T A_q v
    operators = state.operators.at[:, :, N].set(column).at[:, N, :].set(column)
    rhs = state.rhs.at[N].set(v @ model.rhs)
    state = _State(V, terms, operators, rhs, N + 1, Qz, Rz)
    reduced = _reduced(model, state, z0)
    return state, jax.vmap(reduced.estimate_error)(training)


def weak_greedy(
    model: AffineModel,
    training_set: Float[Array, "P Q"],
    /,
    *,
    max_basis: int,
    tol: float = 0.0,
    progress=None,
) -> GreedyResult:
    r"""Build a reduced basis greedily from the a posteriori error estimator.

    Parameters
    ----------
    model : AffineModel
        The full-order model.
    training_set : Float[Array, "P Q"]
        Training parameters, one per row (checked against the parameter box).
    max_basis : int
        The largest basis size.
    tol : float
        Stop once the largest estimate on the training set is at most `tol`.
    progress : callable, optional
        Called as ``progress(N, max_estimate)`` after each step (for logging).
    """
    training = jnp.asarray(training_set, model.data.dtype)
    if training.ndim != 2 or training.shape[1] != model.num_parameters:
        raise ValueError(
            f"training_set must be (P, p) = (P, {model.num_parameters}); got shape "
            f"{training.shape}."
        )
    training = eqx.error_if(
        training,
        jnp.any((training < model.low[None, :]) | (training > model.high[None, :])),
        "training_set has parameters outside the model's parameter range [low, high].",
    )
    if not isinstance(max_basis, int) or not 1 <= max_basis <= model.size:
        raise ValueError(f"max_basis must be an int in [1, {model.size}]; got {max_basis}.")
    product_factor = model.product_factor()  # X is factored once (solver "banded", "dense")
    z0 = product_factor.solve(model.rhs)
    alpha = jax.vmap(model.coercivity_lower_bound)(training)
    estimates = model.norm(z0) / alpha
    n, Q, K, dtype = model.size, model.num_terms, max_basis, model.data.dtype
    M = 1 + Q * K
    residual = add_residual_column(model, jnp.zeros((n, M), dtype), jnp.zeros((M, M), dtype), z0, 0)
    state = _State(
        jnp.zeros((n, K), dtype),
        jnp.zeros((Q, n, K), dtype),
        jnp.zeros((Q, K, K), dtype),
        jnp.zeros((K,), dtype),
        jnp.asarray(0),
        *residual,
    )
    selected, maxima = [], [float(jnp.max(estimates))]
    while True:
        if progress is not None:
            progress(len(selected), maxima[-1])
        if maxima[-1] <= tol or len(selected) == max_basis:
            break
        mu = training[jnp.argmax(estimates)]
        selected.append(mu)
        state, estimates = _extend(model, product_factor, state, mu, z0, training)
        maxima.append(float(jnp.max(estimates)))
    if not selected:
        raise ValueError(
            f"the largest estimate on the training set, {maxima[0]:.3g}, is already below "
            f"tol = {tol}: nothing to reduce."
        )
    N = len(selected)
    riesz = RieszRepresentatives(z0, state.terms[:, :, :N])
    reduced = _trim(model, state, riesz, N)
    return GreedyResult(reduced, jnp.asarray(maxima), jnp.stack(selected), riesz)


@eqx.filter_jit
def _trim(model: AffineModel, state: _State, riesz: RieszRepresentatives, N: int) -> ReducedModel:
    """The reduced model of the first N basis vectors, from the greedy's buffers.

    What `rom.galerkin` would compute, without repeating the projection or the
    factorization of the Riesz representatives: $Z = Q R$ over the padded column slots
    $1 + qK + j$ restricts to the slots in use ($R$ has zero rows at the others).
    """
    K, Q = state.basis.shape[1], model.num_terms
    slots = np.concatenate([[0], 1 + (np.arange(Q)[:, None] * K + np.arange(N)).ravel()])
    Z = residual_matrix(riesz)
    gram = Z.T @ (model.product @ Z)
    return ReducedModel(
        operators=state.operators[:, :N, :N],
        rhs=state.rhs[:N],
        gram=0.5 * (gram + gram.T),
        basis=state.basis[:, :N],
        reference=model.reference,
        low=model.low,
        high=model.high,
        residual_factor=state.residual_factor[slots][:, slots],
        theta=model.theta,
        coercivity=model.coercivity,
    )
