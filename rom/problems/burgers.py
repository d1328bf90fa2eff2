r"""1-D viscous Burgers with a parametrized viscosity, and its POD-DEIM model.

$$u_t + \bigl(\tfrac12 u^2\bigr)_x = \nu\, u_{xx} \quad \text{on } (0, 1),\qquad
u(0, t) = u(1, t) = 0, \qquad u(x, 0) = \sin(\pi x)^2 \cdot \text{amplitude},$$

with $\nu \in [\nu_{\min}, \nu_{\max}]$ the parameter. Centered finite differences on $n$
interior nodes; semi-implicit Euler (diffusion implicit through the factored matrix
$I - \Delta t\, \nu D_2$, convection explicit), folded by `jax.lax.scan`. The initial hump
steepens into a moving front whose width scales with $\nu$.

The convective term $N(u) = -D_1 (u^2 / 2)$ is not pointwise, but it is local: entry $i$
needs $u_{i-1}$ and $u_{i+1}$. Its restricted evaluation at DEIM points $p$ therefore
reads the reduced state at $p \pm 1$, $(V[p \pm 1, :])\, c$, and the POD-DEIM model costs
$O(k^2 + mk)$ per step: $V^\top U (U[p, :])^{-1}$ and $V[p \pm 1, :]$ are precomputed.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float

from ..eim import Interpolant


class Burgers(eqx.Module):
    r"""The discretized viscous Burgers equation, $\nu$ the parameter.

    Attributes
    ----------
    second : Float[Array, "n n"]
        $D_2$ (Dirichlet).
    initial : Float[Array, " n"]
        $u(x, 0)$.
    h : float
        Mesh width.
    dt : float
        Time step.
    steps : int
        Number of steps (static).
    low, high : float
        The viscosity range.
    """

    second: Float[Array, "n n"]
    initial: Float[Array, " n"]
    h: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    low: float = eqx.field(static=True)
    high: float = eqx.field(static=True)

    def _check(self, nu: Array) -> Array:
        nu = jnp.asarray(nu, self.initial.dtype)
        if nu.shape != ():
            raise ValueError(f"nu must be a scalar viscosity; got shape {nu.shape}.")
        return eqx.error_if(
            nu, (nu < self.low) | (nu > self.high), "nu is outside the model's viscosity range."
        )

    def convection(self, u: Array) -> Array:
        r"""$N(u) = -D_1 (u^2/2)$ with zero boundary values, centered."""
        flux = 0.5 * jnp.pad(u, 1) ** 2
        return -(flux[2:] - flux[:-2]) / (2 * self.h)

    def simulate(self, nu: Array) -> Float[Array, "steps n"]:
        """States after every step."""
        nu = self._check(nu)
        n = self.initial.shape[0]
        factor = jsl.lu_factor(jnp.eye(n, dtype=nu.dtype) - self.dt * nu * self.second)

        def step(u, _):
            u = jsl.lu_solve(factor, u + self.dt * self.convection(u))
            return u, u

        _, states = jax.lax.scan(step, self.initial, None, length=self.steps)
        return states

    def reduce(self, basis: Array, interpolant: Interpolant | None = None) -> "ReducedBurgers":
        """Galerkin projection on `basis`, the convection hyper-reduced by `interpolant`."""
        V = jnp.asarray(basis)
        n = self.initial.shape[0]
        if V.ndim != 2 or V.shape[0] != n:
            raise ValueError(f"basis must be (n, k) = ({n}, k); got shape {V.shape}.")
        padded = jnp.pad(V, ((1, 1), (0, 0)))  # rows p - 1 and p + 1 of the zero-extended V
        if interpolant is None:
            indices = jnp.arange(n)
            lift = V.T
        else:
            indices = interpolant.indices
            lift = (V.T @ interpolant.basis) @ jnp.linalg.inv(interpolant.interpolation_matrix)
        return ReducedBurgers(
            second=V.T @ self.second @ V,
            initial=V.T @ self.initial,
            lift=lift,
            left=padded[indices],
            right=padded[indices + 2],
            basis=V,
            full=self,
        )


class ReducedBurgers(eqx.Module):
    r"""POD(-DEIM) Burgers: the same scheme in $k$ coordinates.

    Attributes
    ----------
    second : Float[Array, "k k"]
        $V^\top D_2 V$.
    initial : Float[Array, " k"]
        $V^\top u_0$.
    lift : Float[Array, "k m"]
        $V^\top U (U[p, :])^{-1}$, or $V^\top$ without DEIM.
    left, right : Float[Array, "m k"]
        $V[p - 1, :]$ and $V[p + 1, :]$ (zero outside the domain).
    basis : Float[Array, "n k"]
        $V$.
    full : Burgers
        The full model (constants and time grid).
    """

    second: Float[Array, "k k"]
    initial: Float[Array, " k"]
    lift: Float[Array, "k m"]
    left: Float[Array, "m k"]
    right: Float[Array, "m k"]
    basis: Float[Array, "n k"]
    full: Burgers

    def simulate(self, nu: Array) -> Float[Array, "steps k"]:
        """Reduced coordinates after every step, $O(k^2 + mk)$ per step."""
        model = self.full
        nu = model._check(nu)
        k = self.initial.shape[0]
        inverse = jnp.linalg.inv(jnp.eye(k, dtype=nu.dtype) - model.dt * nu * self.second)

        def step(c, _):
            a, b = self.left @ c, self.right @ c
            convection = -(0.5 * b**2 - 0.5 * a**2) / (2 * model.h)
            c = inverse @ (c + model.dt * (self.lift @ convection))
            return c, c

        _, states = jax.lax.scan(step, self.initial, None, length=model.steps)
        return states


def burgers(
    nodes: int = 1000,
    *,
    final_time: float = 1.0,
    dt: float = 5e-4,
    viscosity_range: tuple[float, float] = (0.005, 0.05),
    amplitude: float = 1.0,
) -> Burgers:
    """The viscous Burgers problem on `nodes` interior points."""
    n = int(nodes)
    if n < 3:
        raise ValueError(f"nodes must be an int >= 3; got {nodes}.")
    steps = round(final_time / dt)
    if steps < 1:
        raise ValueError(f"final_time / dt must be at least 1; got {final_time} / {dt}.")
    low, high = viscosity_range
    if not 0 < low <= high:
        raise ValueError(f"viscosity_range must satisfy 0 < low <= high; got {viscosity_range}.")
    h = 1.0 / (n + 1)
    x = jnp.arange(1, n + 1, dtype=jnp.result_type(float)) * h
    D2 = (jnp.eye(n, k=1) + jnp.eye(n, k=-1) - 2 * jnp.eye(n)) / h**2
    return Burgers(D2, amplitude * jnp.sin(jnp.pi * x) ** 2, h, dt, steps, low, high)
