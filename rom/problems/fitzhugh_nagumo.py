r"""The FitzHugh–Nagumo system of Chaturantabut & Sorensen (2010), Sec. 4.2, and its POD-DEIM model.

A model of the activation and deactivation of a spiking neuron:

$$\varepsilon v_t = \varepsilon^2 v_{xx} + f(v) - w + c, \qquad w_t = b v - \gamma w + c,
\qquad f(v) = v (v - 0.1)(1 - v),$$

on $x \in [0, 1]$, $t \in [0, T]$, $v = w = 0$ at $t = 0$, $v_x(0, t) = -i_0(t)$ with the
stimulus $i_0(t) = 50000\, t^3 e^{-15 t}$, $v_x(1, t) = 0$; $\varepsilon = 0.015$,
$b = 0.5$, $\gamma = 2$, $c = 0.05$. Centered finite differences on $N$ nodes (ghost points
for the Neumann conditions; the paper's $n = 1024$ is $N = 512$ nodes for each of $v$,
$w$). Time stepping is semi-implicit Euler: the linear part implicit (its matrix
$I - \Delta t A$ factored once), the cubic nonlinearity explicit, folded by
`jax.lax.scan`.

The reduced model (`reduce`) uses POD bases $V_v$, $V_w$ and a DEIM interpolant of
$f(v)$: each step costs $O(k^2 + mk)$ with every matrix precomputed; $f$ is evaluated at
the $m$ DEIM points only (it is pointwise).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float

from ..eim import Interpolant


def _cubic(v: Array) -> Array:
    return v * (v - 0.1) * (1.0 - v)


class FitzHughNagumo(eqx.Module):
    r"""The discretized system $y' = A y + F(v) + g(t)$, $y = (v, w)$.

    Attributes
    ----------
    linear : Float[Array, "2N 2N"]
        $A$.
    forcing_constant : Float[Array, " 2N"]
        The constant part of $g$ ($c / \varepsilon$, $c$).
    stimulus_node : Float[Array, " 2N"]
        The vector multiplying $i_0(t)$ in $g$ (the Neumann condition at $x = 0$).
    epsilon : float
        $\varepsilon$.
    dt : float
        Time step.
    steps : int
        Number of steps (static).
    """

    linear: Float[Array, "n n"]
    forcing_constant: Float[Array, " n"]
    stimulus_node: Float[Array, " n"]
    epsilon: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)

    @property
    def nodes(self) -> int:
        """$N$, nodes per field."""
        return self.linear.shape[0] // 2

    def stimulus(self, t: Array) -> Array:
        r"""$i_0(t) = 50000\, t^3 e^{-15 t}$."""
        return 5e4 * t**3 * jnp.exp(-15.0 * t)

    def nonlinear_term(self, v: Array) -> Array:
        r"""$f(v) / \varepsilon$, pointwise."""
        return _cubic(v) / self.epsilon

    def simulate(self) -> Float[Array, "steps 2N"]:
        """States after every step (semi-implicit Euler from zero)."""
        n = self.linear.shape[0]
        N = self.nodes
        factor = jsl.lu_factor(jnp.eye(n, dtype=self.linear.dtype) - self.dt * self.linear)

        def step(y, k):
            t = (k + 1) * self.dt
            g = self.forcing_constant + self.stimulus(t) * self.stimulus_node
            F = jnp.concatenate([self.nonlinear_term(y[:N]), jnp.zeros(N, y.dtype)])
            y = jsl.lu_solve(factor, y + self.dt * (F + g))
            return y, y

        _, ys = jax.lax.scan(
            step, jnp.zeros(n, self.linear.dtype), jnp.arange(self.steps, dtype=self.linear.dtype)
        )
        return ys

    def reduce(
        self, basis_v: Array, basis_w: Array, interpolant: Interpolant | None = None
    ) -> "ReducedFitzHughNagumo":
        """Galerkin projection on $(V_v, V_w)$, hyper-reduced by a DEIM interpolant of $f$."""
        N = self.nodes
        Vv, Vw = jnp.asarray(basis_v), jnp.asarray(basis_w)
        if Vv.shape[0] != N or Vw.shape[0] != N:
            raise ValueError(
                f"basis_v and basis_w must have N = {N} rows; got {Vv.shape} and {Vw.shape}."
            )
        kv, kw = Vv.shape[1], Vw.shape[1]
        V = jnp.zeros((2 * N, kv + kw), Vv.dtype).at[:N, :kv].set(Vv).at[N:, kv:].set(Vw)
        if interpolant is None:
            lift, sampled = Vv.T, Vv
        else:
            lift = (Vv.T @ interpolant.basis) @ jnp.linalg.inv(interpolant.interpolation_matrix)
            sampled = Vv[interpolant.indices]
        return ReducedFitzHughNagumo(
            linear=V.T @ self.linear @ V,
            forcing_constant=V.T @ self.forcing_constant,
            stimulus_node=V.T @ self.stimulus_node,
            lift=lift,
            sampled=sampled,
            basis=V,
            full=self,
        )


class ReducedFitzHughNagumo(eqx.Module):
    r"""POD(-DEIM) FitzHugh–Nagumo: the same scheme in $k_v + k_w$ coordinates.

    Attributes
    ----------
    linear : Float[Array, "k k"]
        $V^\top A V$.
    forcing_constant, stimulus_node : Float[Array, " k"]
        Projected forcing.
    lift : Float[Array, "kv m"]
        $V_v^\top U (U[p, :])^{-1}$ (or $V_v^\top$ without DEIM).
    sampled : Float[Array, "m kv"]
        $V_v[p, :]$ (or $V_v$).
    basis : Float[Array, "2N k"]
        The block-diagonal basis.
    full : FitzHughNagumo
        The full model (for the constants and the time grid).
    """

    linear: Float[Array, "k k"]
    forcing_constant: Float[Array, " k"]
    stimulus_node: Float[Array, " k"]
    lift: Float[Array, "kv m"]
    sampled: Float[Array, "m kv"]
    basis: Float[Array, "n k"]
    full: FitzHughNagumo

    def simulate(self) -> Float[Array, "steps k"]:
        """Reduced coordinates after every step, $O(k^2 + mk)$ per step."""
        k, kv = self.linear.shape[0], self.sampled.shape[1]
        model = self.full
        inverse = jnp.linalg.inv(jnp.eye(k, dtype=self.linear.dtype) - model.dt * self.linear)

        def step(a, j):
            t = (j + 1) * model.dt
            g = self.forcing_constant + model.stimulus(t) * self.stimulus_node
            f = self.lift @ model.nonlinear_term(self.sampled @ a[:kv])
            F = jnp.concatenate([f, jnp.zeros(k - kv, a.dtype)])
            a = inverse @ (a + model.dt * (F + g))
            return a, a

        _, states = jax.lax.scan(
            step, jnp.zeros(k, self.linear.dtype), jnp.arange(model.steps, dtype=self.linear.dtype)
        )
        return states


def fitzhugh_nagumo(
    nodes: int = 512, *, final_time: float = 8.0, dt: float = 0.004
) -> FitzHughNagumo:
    """The discretized system with `nodes` points per field on [0, 1]."""
    N = int(nodes)
    if N < 3:
        raise ValueError(f"nodes must be an int >= 3; got {nodes}.")
    steps = round(final_time / dt)
    if steps < 1:
        raise ValueError(f"final_time / dt must be at least 1; got {final_time} / {dt}.")
    eps, b, gamma, c = 0.015, 0.5, 2.0, 0.05
    h = 1.0 / (N - 1)
    D2 = (jnp.diag(jnp.full(N - 1, 1.0), 1) + jnp.diag(jnp.full(N - 1, 1.0), -1)) - 2 * jnp.eye(N)
    D2 = D2.at[0, 1].set(2.0).at[N - 1, N - 2].set(2.0) / h**2  # Neumann by ghost points
    eye = jnp.eye(N)
    A = jnp.block([[eps * D2, -eye / eps], [b * eye, -gamma * eye]])
    forcing = jnp.concatenate([jnp.full(N, c / eps), jnp.full(N, c)])
    # v_x(0) = -i0: the ghost value v_{-1} = v_1 + 2 h i0 adds eps * 2 i0 / h at node 0.
    stimulus = jnp.zeros(2 * N).at[0].set(eps * 2.0 / h)
    return FitzHughNagumo(A, forcing, stimulus, eps, dt, steps)
