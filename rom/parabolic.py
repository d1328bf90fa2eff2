r"""Linear parabolic models, their Galerkin reduction and a certified space-time error bound.

The full-order model is the semi-discrete heat equation of an affine coercive model
(`rom.AffineModel` with a mass matrix, e.g. `rom.problems.thermal_block`),

$$M \dot u + A(\mu) u = f \quad\text{on } (0, T], \qquad u(0) = u_0 \;(\text{default } 0),
\qquad A(\mu) = \sum_{q=1}^Q \mu_q A_q,$$

discretized by implicit Euler with $K$ steps of $\Delta t = T / K$:

$$\Bigl(\frac{M}{\Delta t} + A(\mu)\Bigr) u^k = \frac{M}{\Delta t} u^{k-1} + f,
\qquad k = 1, \dots, K.$$

The matrix of every step is the same, $M / \Delta t + A(\mu)$, on the shared sparsity
pattern (its values are ``mass / dt + mu @ data``); the time loop is a `jax.lax.scan`.
Trajectories are returned as columns, $U = [u^1, \dots, u^K] \in \mathbb R^{n \times K}$
(snapshots are columns, as everywhere in `rom`); $u^0 = u_0$ is not included.

**Galerkin reduction.** For a basis $V \in \mathbb R^{n \times N}$ with $V^\top X V = I$
($X$ the energy product of the affine model), the reduced model runs the same scheme on
$M_N = V^\top M V$, $A_{N}(\mu) = \sum_q \mu_q V^\top A_q V$, $f_N = V^\top f$ and
$c^0 = V^\top X u_0$: one Cholesky factorization of $M_N / \Delta t + A_N(\mu)$ per
parameter and $K$ triangular solves, $O(QN^2 + N^3 + KN^2)$ online.

**A posteriori error bound** (Grepl & Patera 2005; Haasdonk & Ohlberger 2008). Let
$e^k = u^k - V c^k$ and let $r^k = f - M V (c^k - c^{k-1}) / \Delta t - A(\mu) V c^k$ be
the residual of step $k$; the error obeys $M (e^k - e^{k-1}) / \Delta t + A(\mu) e^k = r^k$.
With the coercivity bound $v^\top A(\mu) v \ge \alpha_{LB}(\mu) \lVert v\rVert_X^2$,
$\alpha_{LB}(\mu) = \min_q \mu_q / \bar\mu_q$ (`AffineModel.coercivity_lower_bound`):

1. test the error equation with $e^k$: $(e^k, e^k - e^{k-1})_M / \Delta t +
   \alpha_{LB} \lVert e^k\rVert_X^2 \le \lVert r^k\rVert_{X^{-1}} \lVert e^k\rVert_X$;
2. use $(a, a - b)_M \ge (\lVert a\rVert_M^2 - \lVert b\rVert_M^2) / 2$ on the left and
   Young's inequality $\lVert r\rVert \lVert e\rVert \le \lVert r\rVert^2 / (2\alpha_{LB}) +
   \alpha_{LB} \lVert e\rVert^2 / 2$ on the right, and multiply by $2 \Delta t$:
   $\lVert e^k\rVert_M^2 - \lVert e^{k-1}\rVert_M^2 + \alpha_{LB} \Delta t \lVert e^k\rVert_X^2
   \le \Delta t\, \lVert r^k\rVert_{X^{-1}}^2 / \alpha_{LB}$;
3. sum over $k = 1, \dots, K$ (the left side telescopes):

$$|||e|||^2 := \lVert e^K\rVert_M^2 + \alpha_{LB}(\mu)\, \Delta t \sum_{k=1}^K
\lVert e^k\rVert_X^2 \;\le\; \Delta(\mu)^2 := \lVert e^0\rVert_M^2 +
\frac{\Delta t}{\alpha_{LB}(\mu)} \sum_{k=1}^K \lVert r^k\rVert_{X^{-1}}^2 .$$

$e^0 = u_0 - V V^\top X u_0$ does not depend on $\mu$ (zero for $u_0 = 0$), so
$\lVert e^0\rVert_M^2$ is computed offline. `ReducedParabolicModel.estimate_error` returns
$\Delta(\mu)$, and `ParabolicModel.error_norm` the true $|||e|||$ it bounds.

**Offline/online.** The residual is affine in known coefficients: with the Riesz
representatives $Z = [X^{-1} f,\; X^{-1} M V,\; X^{-1} A_1 V, \dots, X^{-1} A_Q V]$
($1 + (Q + 1) N$ solves with $X$, offline), $X^{-1} r^k = Z \theta^k$ for
$\theta^k = (1,\; -(c^k - c^{k-1}) / \Delta t,\; -\mu_1 c^k, \dots, -\mu_Q c^k)$. As in
`rom.galerkin`, $Z = Q_Z R$ is orthonormalized in $X$ offline
(`rom.galerkin.residual_factorization`, Gram–Schmidt twice) and
$\lVert r^k\rVert_{X^{-1}} = \lVert R \theta^k\rVert_2$ is evaluated without squaring
(round-off stable down to $\varepsilon \lVert f\rVert$ rather than
$\sqrt\varepsilon \lVert f\rVert$): $O(K ((Q + 1) N)^2)$ online, independent of $n$.

References
----------
Grepl & Patera (2005), "A posteriori error bounds for reduced-basis approximations of
parametrized parabolic partial differential equations", ESAIM: M2AN 39(1), 157-181,
doi:10.1051/m2an:2005006.
Haasdonk & Ohlberger (2008), "Reduced basis method for finite volume approximations of
parametrized linear evolution equations", ESAIM: M2AN 42(2), 277-302,
doi:10.1051/m2an:2008001.
"""

import functools
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jax.experimental import sparse as jsparse
from jaxtyping import Array, Bool, Float

from ._parameters import check_parameter
from .affine import AffineModel
from .galerkin import residual_factorization


def _jit_method(method: Callable) -> Callable:
    """`equinox.filter_jit` of a method, its array arguments made arrays first.

    `filter_jit` treats Python scalars as static, so ``model.solve([0.1, 0.5])`` would
    compile once per parameter value; converting lists and scalars keeps them traced.
    """
    jitted = eqx.filter_jit(method)

    @functools.wraps(method)
    def wrapper(self, *args):
        return jitted(self, *(None if a is None else jnp.asarray(a) for a in args))

    return wrapper


def _step_solver(affine: AffineModel, values: Array) -> Callable[[Array], Array]:
    """The solve with the step matrix (pattern values `values`) of the implicit Euler loop.

    Called once per parameter, outside the time loop: a direct solver (``"banded"``,
    ``"dense"``) factors the step matrix once here, and each step costs two triangular
    solves; ``"cg"`` runs conjugate gradients at every step.
    """
    return affine.factor(values).solve


class ParabolicModel(eqx.Module):
    r"""$M \dot u + A(\mu) u = f$, $u(0) = u_0$, by implicit Euler: `solve(mu)` is $(n, K)$.

    Attributes
    ----------
    affine : AffineModel
        $A(\mu) = \sum_q \mu_q A_q$, $f$, the product $X$ and the parameter box; must have a
        mass matrix $M$ on its sparsity pattern.
    final_time : float
        $T$ (static).
    steps : int
        $K$, the number of implicit Euler steps (static); $\Delta t = T / K$.
    initial : Float[Array, " n"]
        $u_0$ (zeros when the constructor gets ``None``, the default).

    Examples
    --------
    >>> from rom.parabolic import ParabolicModel
    >>> from rom.problems import thermal_block
    >>> model = ParabolicModel(thermal_block((2, 2), 1 / 8), final_time=0.5, steps=10)
    >>> model.solve([0.1, 0.5, 1.0, 0.3]).shape  # (n, K)
    (113, 10)
    """

    affine: AffineModel
    final_time: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    initial: Float[Array, " n"]

    def __init__(
        self,
        affine: AffineModel,
        final_time: float,
        steps: int,
        initial: Array | None = None,
    ):
        if not isinstance(affine, AffineModel):
            raise TypeError(f"affine must be a rom.AffineModel; got {type(affine).__name__}.")
        if affine.theta is not None:
            raise ValueError(
                "affine must have the coefficients theta(mu) = mu (AffineModel.theta=None): "
                "the parabolic reduction and its error bound use the min-theta coercivity "
                "bound; got a model with a coefficient function."
            )
        if affine.mass is None:
            raise ValueError(
                "affine must have a mass matrix (AffineModel.mass) for the time derivative; "
                "got a model with mass=None."
            )
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
            raise ValueError(f"steps must be an int >= 1 (static); got steps={steps!r}.")
        final_time = float(final_time)
        if not final_time > 0:
            raise ValueError(f"final_time must be a positive float; got final_time={final_time}.")
        if initial is None:
            initial = jnp.zeros(affine.size, affine.data.dtype)
        initial = jnp.asarray(initial, affine.data.dtype)
        if initial.shape != (affine.size,):
            raise ValueError(
                f"initial must be a vector of shape (n,) = ({affine.size},); got shape "
                f"{initial.shape}."
            )
        self.affine = affine
        self.final_time = final_time
        self.steps = int(steps)
        self.initial = initial

    @property
    def size(self) -> int:
        """$n$."""
        return self.affine.size

    @property
    def num_parameters(self) -> int:
        """$Q$."""
        return self.affine.num_parameters

    @property
    def dt(self) -> float:
        r"""$\Delta t = T / K$."""
        return self.final_time / self.steps

    @property
    def product(self) -> jsparse.BCOO:
        """The energy product $X$ of the affine model."""
        return self.affine.product

    @property
    def mass_matrix(self) -> jsparse.BCOO:
        """$M$."""
        return self.affine.mass_matrix

    def check_parameter(self, mu: Array) -> Array:
        """`mu` as an array, raising (also under jit) if it leaves the parameter box."""
        return self.affine.check_parameter(mu)

    def coercivity_lower_bound(self, mu: Array) -> Array:
        r"""$\alpha_{LB}(\mu) = \min_q \mu_q / \bar\mu_q$."""
        return self.affine.coercivity_lower_bound(mu)

    @_jit_method
    def solve(self, mu: Array) -> Float[Array, "n K"]:
        r"""The trajectory $[u^1, \dots, u^K]$, one implicit Euler step per column.

        Cost: $K$ sparse solves with $M / \Delta t + A(\mu)$ (by the affine model's solver),
        in one `jax.lax.scan`; jittable and `vmap`-able over `mu`.
        """
        affine, dt = self.affine, self.dt
        mu = self.check_parameter(mu)
        solve = _step_solver(affine, affine.mass / dt + mu @ affine.data)
        M = self.mass_matrix

        def step(u, _):
            u = solve((M @ u) / dt + affine.rhs)
            return u, u

        _, U = jax.lax.scan(step, self.initial, None, length=self.steps)
        return U.T

    @_jit_method
    def error_norm(self, mu: Array, U: Array, approximation: Array) -> Array:
        r"""The space-time energy norm of $E = U - W$ that $\Delta(\mu)$ bounds.

        $$|||E||| = \Bigl(\lVert e^K\rVert_M^2 + \alpha_{LB}(\mu)\, \Delta t \sum_{k=1}^K
        \lVert e^k\rVert_X^2\Bigr)^{1/2},$$

        for trajectories `U`, `approximation` of shape $(n, K)$ (e.g. `solve(mu)` and
        `reduced.reconstruct(reduced.solve(mu))`). $O(K \cdot \text{nnz})$.
        """
        E = jnp.asarray(U) - jnp.asarray(approximation)
        if E.shape != (self.size, self.steps):
            raise ValueError(
                f"U and approximation must be trajectories of shape (n, K) = "
                f"({self.size}, {self.steps}); got shape {E.shape}."
            )
        alpha = self.coercivity_lower_bound(self.check_parameter(mu))
        final = E[:, -1] @ (self.mass_matrix @ E[:, -1])
        energy = jnp.sum(E * (self.product @ E))
        return jnp.sqrt(jnp.maximum(final + alpha * self.dt * energy, 0.0))


class ReducedParabolicModel(eqx.Module):
    r"""The Galerkin-reduced parabolic model: `solve(mu)` $(N, K)$, `estimate_error(mu)`.

    Attributes
    ----------
    mass : Float[Array, "N N"]
        $M_N = V^\top M V$.
    operators : Float[Array, "Q N N"]
        $V^\top A_q V$.
    rhs : Float[Array, " N"]
        $V^\top f$.
    initial : Float[Array, " N"]
        $c^0 = V^\top X u_0$.
    initial_error : Float[Array, ""]
        $\lVert u_0 - V c^0\rVert_M^2$ (zero for $u_0 = 0$).
    residual_factor : Float[Array, "R R"]
        $R$ with $Z = Q_Z R$, $Q_Z$ orthonormal in $X$, for the Riesz representatives
        $Z = [X^{-1} f, X^{-1} M V, X^{-1} A_1 V, \dots, X^{-1} A_Q V]$
        ($R = 1 + (Q + 1) N$).
    basis : Float[Array, "n N"]
        $V$.
    reference, low, high : Float[Array, " Q"]
        As in the affine model.
    final_time : float
        $T$ (static).
    steps : int
        $K$ (static).
    active : Bool[Array, " N"] or None
        For a basis padded to a fixed size (the POD-greedy's buffers): the columns in use.
        Unused columns are zero, their rows of the step matrix are the identity, so they
        carry zero coefficients and add nothing to the residual.
    """

    mass: Float[Array, "N N"]
    operators: Float[Array, "Q N N"]
    rhs: Float[Array, " N"]
    initial: Float[Array, " N"]
    initial_error: Float[Array, ""]
    residual_factor: Float[Array, "R R"]
    basis: Float[Array, "n N"]
    reference: Float[Array, " Q"]
    low: Float[Array, " Q"]
    high: Float[Array, " Q"]
    final_time: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    active: Bool[Array, " N"] | None = None

    @property
    def dt(self) -> float:
        r"""$\Delta t = T / K$."""
        return self.final_time / self.steps

    def _check(self, mu: Array) -> Array:
        return check_parameter(mu, self.low, self.high, self.rhs.dtype)

    @_jit_method
    def solve(self, mu: Array) -> Float[Array, "N K"]:
        r"""Reduced coefficients $[c^1, \dots, c^K]$, $O(QN^2 + N^3 + KN^2)$."""
        mu = self._check(mu)
        dt = self.dt
        S = self.mass / dt + jnp.tensordot(mu, self.operators, 1)
        if self.active is not None:
            S = S + jnp.diag(jnp.where(self.active, 0.0, 1.0).astype(S.dtype))
        factor = jsl.cho_factor(S)

        def step(c, _):
            c = jsl.cho_solve(factor, (self.mass @ c) / dt + self.rhs)
            return c, c

        _, C = jax.lax.scan(step, self.initial, None, length=self.steps)
        return C.T

    @_jit_method
    def residual_norms(self, mu: Array, C: Array | None = None) -> Float[Array, " K"]:
        r"""$\lVert r^k\rVert_{X^{-1}} = \lVert R \theta^k\rVert_2$, $k = 1, \dots, K$.

        `C` defaults to `solve(mu)`; $O(K ((Q + 1) N)^2)$.
        """
        mu = self._check(mu)
        C = self.solve(mu) if C is None else C
        K = C.shape[1]
        previous = jnp.concatenate([self.initial[:, None], C[:, :-1]], axis=1)
        Theta = jnp.concatenate(
            [
                jnp.ones((1, K), C.dtype),
                -(C - previous) / self.dt,
                -(mu[:, None, None] * C[None, :, :]).reshape(-1, K),
            ],
            axis=0,
        )
        return jnp.linalg.norm(self.residual_factor @ Theta, axis=0)

    @_jit_method
    def estimate_error(self, mu: Array) -> Array:
        r"""The space-time error bound $\Delta(\mu) \ge |||u - V c|||$ (module docstring).

        $$\Delta(\mu)^2 = \lVert e^0\rVert_M^2 + \frac{\Delta t}{\alpha_{LB}(\mu)}
        \sum_{k=1}^K \lVert r^k\rVert_{X^{-1}}^2,$$

        $O(QN^2 + N^3 + K ((Q + 1) N)^2)$, independent of $n$.
        """
        mu = self._check(mu)
        alpha = jnp.min(mu / self.reference)
        squares = jnp.sum(self.residual_norms(mu) ** 2)
        return jnp.sqrt(self.initial_error + self.dt / alpha * squares)

    def reconstruct(self, C: Array) -> Array:
        """$V C$: a reduced trajectory $(N, K)$ (or one coefficient vector) in full space."""
        return self.basis @ C


def _check_basis(model: ParabolicModel, basis: Array) -> Array:
    V = jnp.asarray(basis)
    if V.ndim != 2 or V.shape[0] != model.size or V.shape[1] < 1:
        raise ValueError(
            f"basis must be (n, N) = ({model.size}, N) with N >= 1; got shape {V.shape}."
        )
    gram_error = jnp.max(jnp.abs(V.T @ (model.product @ V) - jnp.eye(V.shape[1], dtype=V.dtype)))
    return eqx.error_if(
        V,
        gram_error > 1e-6,
        "basis must be orthonormal in the model's product (V.T @ X @ V = I); "
        "orthonormalize it first, e.g. with rom.orthonormalize.",
    )


@eqx.filter_jit
def galerkin_parabolic(model: ParabolicModel, basis: Array, /) -> ReducedParabolicModel:
    r"""Project the parabolic `model` onto `basis` and assemble its error estimator.

    Parameters
    ----------
    model : ParabolicModel
        The full-order model.
    basis : Float[Array, "n N"]
        $V$ with $V^\top X V = I$ (checked, also under jit: `equinox.EquinoxRuntimeError`).

    Returns
    -------
    ReducedParabolicModel
        Jittable, `vmap`-able over parameters.

    Notes
    -----
    Offline cost: $1 + (Q + 1) N$ solves with $X$ (the Riesz representatives, with one
    factorization of $X$), their $X$-orthonormalization ($O(n ((Q + 1) N)^2)$) and the projections
    ($O(Q \cdot \text{nnz} \cdot N + Q n N^2)$).
    """
    if not isinstance(model, ParabolicModel):
        raise TypeError(f"model must be a rom.ParabolicModel; got {type(model).__name__}.")
    V = _check_basis(model, basis)
    affine = model.affine
    n = V.shape[0]
    X, M = model.product, model.mass_matrix
    MV = M @ V
    AV = jnp.stack([affine.term(q) @ V for q in range(model.num_parameters)])  # (Q, n, N)
    columns = [affine.rhs[:, None], MV, jnp.moveaxis(AV, 0, 1).reshape(n, -1)]
    Z = affine.product_factor().solve(jnp.concatenate(columns, axis=1))  # X factored once
    _, R = residual_factorization(affine, Z)
    mass = V.T @ MV
    u0 = model.initial
    c0 = V.T @ (X @ u0)
    correction = V.T @ (X @ (u0 - V @ c0))  # project twice: X-orthogonal to round-off
    c0 = c0 + correction
    e0 = u0 - V @ c0
    return ReducedParabolicModel(
        mass=0.5 * (mass + mass.T),
        operators=jnp.einsum("nj,qnk->qjk", V, AV),
        rhs=V.T @ affine.rhs,
        initial=c0,
        initial_error=e0 @ (M @ e0),
        residual_factor=R,
        basis=V,
        reference=affine.reference,
        low=affine.low,
        high=affine.high,
        final_time=model.final_time,
        steps=model.steps,
    )
