r"""POD-greedy: a reduced basis for linear parabolic problems, certified by the error bound.

Haasdonk & Ohlberger (2008). A weak greedy over parameters whose extension step is a POD
over time: starting from the empty basis (or from $u_0 / \lVert u_0\rVert_X$ when the model
has an initial value), repeat

1. evaluate the space-time error bound $\Delta_N(\mu)$ of `rom.parabolic` on every
   training parameter (online cost, `vmap`-ed over the training set);
2. stop if $\max_\mu \Delta_N(\mu) \le$ `tol` or $N =$ `max_basis`;
3. solve the full model at $\mu^* = \arg\max_\mu \Delta_N(\mu)$, $U = [u^1, \dots, u^K]$;
4. project out the current basis in the energy product, $E = U - V V^\top X U$ (applied
   twice, so $E$ is $X$-orthogonal to $V$ to round-off);
5. append the first `modes_per_step` POD modes of $E$ in the $X$ inner product
   (`rom.pod(E, inner_product=X)`: the leading left singular vectors of $X^{1/2} E$
   mapped back by $X^{-1/2}$), Gram–Schmidt-orthonormalized (twice) against $V$ in $X$,
   and extend the estimator's Riesz representatives by $X^{-1} M v$ and $X^{-1} A_q v$.

Modes whose singular value is below $100 K \varepsilon\, \lVert U\rVert_{X,F}$ are round-off
(the trajectory already lies in the span of $V$) and are not added; a step that adds nothing
ends the greedy. Because $E \perp_X V$, the first $m$ modes are the best $m$-dimensional
extension of the basis for the whole selected trajectory, in $\sum_k \lVert\cdot\rVert_X^2$
(the optimality of POD); Haasdonk (2013) shows that the resulting hierarchical bases
converge at rates comparable to the Kolmogorov $N$-widths of the solution set.

Each step is one jitted call on buffers of the final size `max_basis` (unused basis columns
are zero and carry zero reduced coefficients, see `ReducedParabolicModel.active`), so the
greedy compiles once, not once per basis size.

Cost per step: $K$ full sparse solves, the POD of an $n \times K$ matrix ($O(nK^2)$),
$(Q + 1)$ solves with $X$ per new vector, $O(n ((Q + 1) N_{\max})^2)$ for the
re-orthonormalization of the residual representatives, and
$O(P K ((Q + 1) N_{\max})^2 + P N_{\max}^3)$ for the estimates on $P$ training parameters.

References
----------
Haasdonk & Ohlberger (2008), "Reduced basis method for finite volume approximations of
parametrized linear evolution equations", ESAIM: M2AN 42(2), 277-302,
doi:10.1051/m2an:2008001.
Grepl & Patera (2005), "A posteriori error bounds for reduced-basis approximations of
parametrized parabolic partial differential equations", ESAIM: M2AN 39(1), 157-181,
doi:10.1051/m2an:2005006.
Haasdonk (2013), "Convergence rates of the POD-greedy method", ESAIM: M2AN 47(3), 859-873.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .galerkin import add_residual_column
from .parabolic import ParabolicModel, ReducedParabolicModel
from .pod import pod


class PODGreedyResult(NamedTuple):
    r"""The outcome of `pod_greedy`.

    Attributes
    ----------
    reduced_model : ReducedParabolicModel
        The Galerkin projection on the final basis, with its error estimator.
    max_estimates : Float[Array, " S"]
        $\max_\mu \Delta_N(\mu)$ over the training set before the first extension and after
        each one (the last is that of the final basis).
    selected : Float[Array, "T Q"]
        The parameters whose trajectories were compressed into the basis, in order
        ($T = S - 1$).
    basis_sizes : Int[Array, " S"]
        $N$ for each entry of `max_estimates`.
    """

    reduced_model: ReducedParabolicModel
    max_estimates: Float[Array, " S"]
    selected: Float[Array, "T Q"]
    basis_sizes: Int[Array, " S"]


class _State(NamedTuple):
    basis: Array  # (n, B), zero beyond count
    mass: Array  # (B, B): V^T M V
    operators: Array  # (Q, B, B): V^T A_q V
    rhs: Array  # (B,): V^T f
    initial: Array  # (B,): V^T X u0
    count: Array  # int32: basis vectors in use
    residual_basis: Array  # (n, 1 + (Q + 1) B), X-orthonormal basis of the Riesz representatives
    residual_factor: Array  # (1 + (Q + 1) B, 1 + (Q + 1) B): Z = residual_basis @ residual_factor


def _positions(B: int, Q: int, N: int) -> np.ndarray:
    """Residual columns in use for N basis vectors: f, M v_j (1 + j), A_q v_j (1 + B + qB + j)."""
    j = np.arange(N)
    return np.concatenate([[0], 1 + j, *[1 + B + q * B + j for q in range(Q)]])


def _reduced(model: ParabolicModel, state: _State) -> ReducedParabolicModel:
    B = state.basis.shape[1]
    affine = model.affine
    e0 = model.initial - state.basis @ state.initial
    return ReducedParabolicModel(
        mass=state.mass,
        operators=state.operators,
        rhs=state.rhs,
        initial=state.initial,
        initial_error=e0 @ (model.mass_matrix @ e0),
        residual_factor=state.residual_factor,
        basis=state.basis,
        reference=affine.reference,
        low=affine.low,
        high=affine.high,
        final_time=model.final_time,
        steps=model.steps,
        active=jnp.arange(B, dtype=state.count.dtype) < state.count,
    )


@eqx.filter_jit
def _trim(model: ParabolicModel, state: _State, N: int) -> ReducedParabolicModel:
    """The reduced model of the first N columns, without padding (unused rows of R are zero)."""
    padded = _reduced(model, state)
    position = _positions(state.basis.shape[1], model.num_parameters, N)
    return ReducedParabolicModel(
        mass=padded.mass[:N, :N],
        operators=padded.operators[:, :N, :N],
        rhs=padded.rhs[:N],
        initial=padded.initial[:N],
        initial_error=padded.initial_error,
        residual_factor=padded.residual_factor[np.ix_(position, position)],
        basis=padded.basis[:, :N],
        reference=padded.reference,
        low=padded.low,
        high=padded.high,
        final_time=model.final_time,
        steps=model.steps,
    )


def _append(model: ParabolicModel, product, state: _State, v: Array, keep: Array) -> _State:
    """Append the X-unit vector v (X-orthogonal to the basis) at position count, if keep."""
    affine = model.affine
    Q = model.num_parameters

    def add(state: _State) -> _State:
        B = state.basis.shape[1]
        p = state.count
        V = state.basis.at[:, p].set(v)
        Mv = model.mass_matrix @ v
        Av = jnp.stack([affine.term(q) @ v for q in range(Q)])  # (Q, n)
        Z = product.solve(jnp.concatenate([Mv[:, None], Av.T], axis=1))  # (n, Q + 1)
        positions = jnp.concatenate([1 + p[None], 1 + B + B * jnp.arange(Q, dtype=p.dtype) + p])

        def column(i, residual):
            return add_residual_column(affine, *residual, Z[:, i], positions[i])

        Qz, Rz = jax.lax.fori_loop(0, Q + 1, column, (state.residual_basis, state.residual_factor))
        # M and A_q are symmetric (AffineModel's SPD setting): one column gives the row too.
        mass_column = V.T @ Mv
        operator_columns = Av @ V  # (Q, B)
        operators = state.operators.at[:, :, p].set(operator_columns)
        return _State(
            basis=V,
            mass=state.mass.at[:, p].set(mass_column).at[p, :].set(mass_column),
            operators=operators.at[:, p, :].set(operator_columns),
            rhs=state.rhs.at[p].set(v @ affine.rhs),
            initial=state.initial.at[p].set(v @ (model.product @ model.initial)),
            count=p + 1,
            residual_basis=Qz,
            residual_factor=Rz,
        )

    return jax.lax.cond(keep & (state.count < state.basis.shape[1]), add, lambda s: s, state)


def _orthonormal_rest(model: ParabolicModel, V: Array, v: Array) -> tuple[Array, Array]:
    """Gram-Schmidt v against V in X (twice) and normalize; also return the norm before."""
    X = model.product
    for _ in range(2):
        v = v - V @ (V.T @ (X @ v))
    norm = model.affine.norm(v)
    return v / jnp.where(norm > 0, norm, 1.0), norm


@eqx.filter_jit
def _empty_state(model: ParabolicModel, product, B: int) -> _State:
    """Zero buffers for B basis vectors; the residual basis holds X^{-1} f only."""
    n, Q, dtype = model.size, model.num_parameters, model.affine.data.dtype
    R = 1 + (Q + 1) * B
    residual = add_residual_column(
        model.affine,
        jnp.zeros((n, R), dtype),
        jnp.zeros((R, R), dtype),
        product.solve(model.affine.rhs),
        0,
    )
    return _State(
        basis=jnp.zeros((n, B), dtype),
        mass=jnp.zeros((B, B), dtype),
        operators=jnp.zeros((Q, B, B), dtype),
        rhs=jnp.zeros((B,), dtype),
        initial=jnp.zeros((B,), dtype),
        count=jnp.asarray(0, jnp.int32),
        residual_basis=residual[0],
        residual_factor=residual[1],
    )


@eqx.filter_jit
def _start(model: ParabolicModel, product, state: _State, training: Array):
    """Put u0 / |u0|_X in the basis if the model's initial value is nonzero; estimates."""
    v, norm = _orthonormal_rest(model, state.basis, model.initial)
    state = _append(model, product, state, v, norm > 0)
    return state, jax.vmap(_reduced(model, state).estimate_error)(training)


@eqx.filter_jit
def _extend(
    model: ParabolicModel,
    product,
    state: _State,
    mu: Array,
    training: Array,
    modes_per_step: Array,
) -> tuple[_State, Array]:
    """One POD-greedy step at mu; the new state and the training estimates.

    All $K$ modes cost what one does (a thin SVD), so `modes_per_step` is traced: one
    compilation serves every value.
    """
    X = model.product
    U = model.solve(mu)
    V = state.basis
    E = U - V @ (V.T @ (X @ U))
    E = E - V @ (V.T @ (X @ E))  # twice: X-orthogonal to V to round-off
    modes, sigma, _ = pod(E, inner_product=X)  # all min(n, K) modes
    scale = jnp.sqrt(jnp.maximum(jnp.sum(U * (X @ U)), 0.0))
    threshold = 100 * model.steps * jnp.finfo(U.dtype).eps * scale

    def add_mode(i, state):
        v, norm = _orthonormal_rest(model, state.basis, modes[:, i])
        return _append(model, product, state, v, (sigma[i] > threshold) & (norm > 0))

    state = jax.lax.fori_loop(0, modes_per_step, add_mode, state)
    return state, jax.vmap(_reduced(model, state).estimate_error)(training)


def pod_greedy(
    model: ParabolicModel,
    training_set: Float[Array, "P Q"],
    /,
    *,
    max_basis: int,
    tol: float = 0.0,
    modes_per_step: int = 1,
    progress=None,
) -> PODGreedyResult:
    r"""Build a reduced basis for a parabolic model by the POD-greedy algorithm.

    Repeat: $\mu^* = \arg\max_{\mu \in \text{training}} \Delta_N(\mu)$; append the leading
    POD modes (in $X$) of $E = U(\mu^*) - V V^\top X U(\mu^*)$. See the module docstring.

    Parameters
    ----------
    model : ParabolicModel
        The full-order model.
    training_set : Float[Array, "P Q"]
        Training parameters, one per row (checked against the parameter box, also under
        jit: `equinox.EquinoxRuntimeError`).
    max_basis : int
        The largest basis size $N_{\max}$ (the buffers' size), in $[1, n]$; it counts the
        initial-value vector when the model has one.
    tol : float
        Stop once the largest estimate on the training set is at most `tol`.
    modes_per_step : int
        POD modes of the projection error added per step, in $[1, \min(K, n)]$ (fewer in
        the last step if the basis fills up, or if $E$ has fewer non-round-off modes).
    progress : callable, optional
        Called as ``progress(N, max_estimate)`` with the current basis size and largest
        training estimate, before each step and once for the final basis (for logging).

    Returns
    -------
    PODGreedyResult
        `reduced_model`, `max_estimates`, `selected`, `basis_sizes`.

    Raises
    ------
    TypeError
        If `model` is not a `ParabolicModel`.
    ValueError
        For a training set that is not $(P, Q)$, a `max_basis` or `modes_per_step` out of
        range, a negative `tol`, or a training set whose largest estimate is already at
        most `tol` with an empty basis.

    Notes
    -----
    Per step: $K$ full solves, $O(nK^2)$ for the POD, $Q + 1$ solves with $X$ per added
    mode, and $O(P K ((Q + 1) N_{\max})^2)$ for the estimates; one jitted call, compiled once
    for all steps (and for every `modes_per_step`). Memory: $O(n (Q + 2) N_{\max})$.

    References
    ----------
    Haasdonk & Ohlberger (2008), ESAIM: M2AN 42(2), 277-302 (the POD-greedy); Grepl &
    Patera (2005), ESAIM: M2AN 39(1), 157-181 (the error bound).

    Examples
    --------
    >>> import numpy as np
    >>> from rom.parabolic import ParabolicModel
    >>> from rom.pod_greedy import pod_greedy
    >>> from rom.problems import thermal_block
    >>> model = ParabolicModel(thermal_block((2, 2), 1 / 8), final_time=0.5, steps=10)
    >>> training = np.random.default_rng(0).uniform(0.1, 1.0, (16, 4))
    >>> result = pod_greedy(model, training, max_basis=6)
    >>> result.reduced_model.basis.shape
    (113, 6)
    """
    if not isinstance(model, ParabolicModel):
        raise TypeError(f"model must be a rom.ParabolicModel; got {type(model).__name__}.")
    affine = model.affine
    Q, n, K, dtype = model.num_parameters, model.size, model.steps, affine.data.dtype
    training = jnp.asarray(training_set, dtype)
    if training.ndim != 2 or training.shape[1] != Q or training.shape[0] < 1:
        raise ValueError(
            f"training_set must be (P, Q) = (P, {Q}) with P >= 1, one parameter per row; got "
            f"shape {training.shape}."
        )
    training = eqx.error_if(
        training,
        jnp.any((training < affine.low[None, :]) | (training > affine.high[None, :])),
        "training_set has parameters outside the model's parameter range [low, high].",
    )
    for name, value, high, why in (
        ("max_basis", max_basis, n, "the number of degrees of freedom n"),
        ("modes_per_step", modes_per_step, min(K, n), "min(K, n): a trajectory has K columns"),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | np.integer)
            or not (1 <= value <= high)
        ):
            raise ValueError(f"{name} must be an int in [1, {high}] ({why}); got {name}={value!r}.")
    max_basis, modes_per_step = int(max_basis), int(modes_per_step)
    if not tol >= 0:
        raise ValueError(f"tol must be a nonnegative float; got tol={tol}.")
    product = affine.product_factor()  # X factored once for all Riesz representatives
    state = _empty_state(model, product, max_basis)
    state, estimates = _start(model, product, state, training)
    selected, maxima, sizes = [], [float(jnp.max(estimates))], [int(state.count)]
    while True:
        if progress is not None:
            progress(sizes[-1], maxima[-1])
        if maxima[-1] <= tol or sizes[-1] >= max_basis:
            break
        mu = training[jnp.argmax(estimates)]
        state, new_estimates = _extend(
            model, product, state, mu, training, jnp.asarray(modes_per_step, jnp.int32)
        )
        if int(state.count) == sizes[-1]:
            break  # the worst trajectory lies in the span already (to round-off)
        estimates = new_estimates
        selected.append(mu)
        maxima.append(float(jnp.max(estimates)))
        sizes.append(int(state.count))
    if sizes[-1] == 0:
        raise ValueError(
            f"the largest estimate on the training set, {maxima[0]:.3g}, is already below "
            f"tol = {tol}: nothing to reduce."
        )
    return PODGreedyResult(
        reduced_model=_trim(model, state, sizes[-1]),
        max_estimates=jnp.asarray(maxima),
        selected=jnp.stack(selected) if selected else jnp.zeros((0, Q), dtype),
        basis_sizes=jnp.asarray(sizes),
    )
