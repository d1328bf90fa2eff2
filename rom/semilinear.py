r"""Semilinear models $L u + g(u; \mu) = f$ with a pointwise nonlinearity; POD-DEIM reduction.

The full-order model: a sparse SPD linear part $L$ (a discrete Laplacian), a nonlinearity
acting entry by entry, $g(u; \mu)_i = g(u_i; \mu)$, and a load $f$. Because $g$ is
pointwise, its **restricted evaluation** at entries $p$ needs only $u[p]$:
$g(u; \mu)[p] = g(u[p]; \mu)$, which is what hyper-reduction exploits. Newton's method
solves it, each step a Jacobi-preconditioned CG solve with
$J = L + \operatorname{diag}(g'(u; \mu))$ (SPD when $g' \ge 0$).

**POD-DEIM** (Chaturantabut & Sorensen 2010): with a POD basis $V$ of solution snapshots and
a DEIM interpolant $(U, p)$ of nonlinear snapshots, the reduced model solves for $c$

$$V^\top L V c + V^\top U (U[p, :])^{-1} g(V[p, :] c; \mu) = V^\top f,$$

where $V^\top L V$, $V^\top f$, $V^\top U (U[p, :])^{-1}$ and $V[p, :]$ are precomputed:
online cost $O(k^3 + mk)$ per Newton step for $k$ modes and $m$ DEIM points, independent
of $n$. Without hyper-reduction (`interpolant=None`) the reduced model evaluates $g$ on the
full vector $V c$, $O(nk)$ per step.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.experimental import sparse as jsparse
from jaxtyping import Array, Float, Int

from ._parameters import check_parameter
from .affine import _jacobi_cg
from .eim import Interpolant

_STEPS = jnp.asarray([1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125])


class SemilinearModel(eqx.Module):
    r"""$L u + g(u; \mu) = f$, $g$ pointwise, solved by Newton with CG inner solves.

    Attributes
    ----------
    indices : Int[Array, "nnz 2"]
        Sparsity pattern of $L$.
    values : Float[Array, " nnz"]
        Entries of $L$.
    rhs : Float[Array, " n"]
        $f$.
    nonlinearity : Callable
        ``nonlinearity(u, mu)`` $= g(u; \mu)$, elementwise in `u`.
    low, high : Float[Array, " P"]
        The parameter box.
    newton_steps : int
        Newton iterations (fixed, for jit; quadratic convergence makes 10-15 plenty).
    """

    indices: Int[Array, "nnz 2"]
    values: Float[Array, " nnz"]
    rhs: Float[Array, " n"]
    nonlinearity: Callable = eqx.field(static=True)
    low: Float[Array, " P"]
    high: Float[Array, " P"]
    newton_steps: int = eqx.field(static=True, default=12)

    @property
    def size(self) -> int:
        """$n$."""
        return self.rhs.shape[0]

    @property
    def operator(self) -> jsparse.BCOO:
        """$L$."""
        n = self.size
        return jsparse.BCOO((self.values, self.indices), shape=(n, n))

    def check_parameter(self, mu: Array) -> Array:
        """`mu` as an array, raising (also under jit) outside the parameter box."""
        return check_parameter(mu, self.low, self.high, self.rhs.dtype)

    def residual(self, u: Array, mu: Array) -> Array:
        r"""$L u + g(u; \mu) - f$."""
        return self.operator @ u + self.nonlinearity(u, mu) - self.rhs

    def solve(self, mu: Array) -> Float[Array, " n"]:
        r"""$u(\mu)$ by Newton's method from $u = 0$."""
        mu = self.check_parameter(mu)
        derivative = jax.vmap(jax.grad(self.nonlinearity), in_axes=(0, None))
        on_diagonal = self.indices[:, 0] == self.indices[:, 1]

        def step(_, u):
            # J = L + diag(g'(u)): add g' to the diagonal entries of the pattern.
            shift = derivative(u, mu)[self.indices[:, 0]]
            values = self.values + jnp.where(on_diagonal, shift, 0.0)
            return u - _jacobi_cg(self.indices, values, self.residual(u, mu), 1e-13, 10_000)

        return jax.lax.fori_loop(0, self.newton_steps, step, jnp.zeros_like(self.rhs))

    def nonlinear_term(self, u: Array, mu: Array) -> Array:
        r"""$g(u; \mu)$ (for nonlinear snapshots)."""
        return self.nonlinearity(u, mu)


class ReducedSemilinearModel(eqx.Module):
    r"""A POD(-DEIM) reduced semilinear model: `solve(mu)` and `reconstruct(c)`.

    Attributes
    ----------
    linear : Float[Array, "k k"]
        $V^\top L V$.
    rhs : Float[Array, " k"]
        $V^\top f$.
    lift : Float[Array, "k m"]
        $V^\top U (U[p, :])^{-1}$ (hyper-reduced), or $V^\top$ (without hyper-reduction).
    sampled_basis : Float[Array, "m k"]
        $V[p, :]$, or $V$.
    basis : Float[Array, "n k"]
        $V$.
    nonlinearity : Callable
        $g$.
    low, high : Float[Array, " P"]
        The parameter box.
    newton_steps : int
        Newton iterations (damped: each takes the best of six step lengths).
    """

    linear: Float[Array, "k k"]
    rhs: Float[Array, " k"]
    lift: Float[Array, "k m"]
    sampled_basis: Float[Array, "m k"]
    basis: Float[Array, "n k"]
    nonlinearity: Callable = eqx.field(static=True)
    low: Float[Array, " P"]
    high: Float[Array, " P"]
    newton_steps: int = eqx.field(static=True, default=12)

    def solve(self, mu: Array) -> Float[Array, " k"]:
        """Reduced coefficients by Newton's method, $O(k^3 + mk)$ per step."""
        mu = check_parameter(mu, self.low, self.high, self.rhs.dtype)
        derivative = jax.vmap(jax.grad(self.nonlinearity), in_axes=(0, None))

        def residual(c):
            return (
                self.linear @ c
                + self.lift @ self.nonlinearity(self.sampled_basis @ c, mu)
                - self.rhs
            )

        def step(_, c):
            w = self.sampled_basis @ c
            jacobian = self.linear + self.lift @ (derivative(w, mu)[:, None] * self.sampled_basis)
            delta = jnp.linalg.solve(jacobian, residual(c))
            # Damped Newton: the hyper-reduced Jacobian is not symmetric and a full step can
            # overshoot into exp overflow; take the step length of {1, 1/2, ..., 1/32} with
            # the smallest reduced residual (a non-finite one counts as infinite).
            candidates = c[None, :] - _STEPS[:, None].astype(c.dtype) * delta[None, :]
            norms = jax.vmap(lambda x: jnp.linalg.norm(residual(x)))(candidates)
            norms = jnp.where(jnp.isfinite(norms), norms, jnp.inf)
            return candidates[jnp.argmin(norms)]

        return jax.lax.fori_loop(0, self.newton_steps, step, jnp.zeros_like(self.rhs))

    def reconstruct(self, c: Array) -> Float[Array, " n"]:
        """$V c$."""
        return self.basis @ c


def galerkin_semilinear(
    model: SemilinearModel, basis: Array, /, *, hyperreduction: Interpolant | None = None
) -> ReducedSemilinearModel:
    """Galerkin projection of a semilinear model, hyper-reduced by an `rom.Interpolant`."""
    V = jnp.asarray(basis)
    if V.ndim != 2 or V.shape[0] != model.size:
        raise ValueError(f"basis must be (n, k) = ({model.size}, k); got shape {V.shape}.")
    gram_error = jnp.max(jnp.abs(V.T @ V - jnp.eye(V.shape[1], dtype=V.dtype)))
    V = eqx.error_if(V, gram_error > 1e-6, "basis must have orthonormal columns (V.T @ V = I).")
    if hyperreduction is None:
        lift, sampled = V.T, V
    else:
        if hyperreduction.basis.shape[0] != model.size:
            raise ValueError(
                f"hyperreduction must interpolate vectors of size n = {model.size}; its basis "
                f"has shape {hyperreduction.basis.shape}."
            )
        lift = (V.T @ hyperreduction.basis) @ jnp.linalg.inv(hyperreduction.interpolation_matrix)
        sampled = V[hyperreduction.indices]
    return ReducedSemilinearModel(
        linear=V.T @ (model.operator @ V),
        rhs=V.T @ model.rhs,
        lift=lift,
        sampled_basis=sampled,
        basis=V,
        nonlinearity=model.nonlinearity,
        low=model.low,
        high=model.high,
        newton_steps=model.newton_steps,
    )
