r"""Full-order linear models with an affine parameter dependence, assembled sparse.

$$A(\mu)\, u(\mu) = f, \qquad A(\mu) = \sum_{q=1}^Q \mu_q A_q,$$

with every $A_q$ stored on one shared sparsity pattern (the union of their patterns), so
$A(\mu)$ is a `jax.experimental.sparse.BCOO` matrix whose data is the product
$\mu^\top D$ of the parameter vector with the $Q \times \text{nnz}$ data array: assembling it
for a new parameter costs one small matrix-vector product. $A(\mu)$ must be symmetric
positive definite on the parameter box (coercive problems, the setting of the reduced
basis method). Solves are jittable and `vmap`-able over parameters, by one of

- ``"banded"``: a sparse direct solve, `spectral.banded_cholesky` after a
  bandwidth-reducing ordering of the pattern ($O(n \beta^2)$ to factor, $O(n \beta)$ per
  right-hand side for bandwidth $\beta$; accurate to rounding). The product $X$ is factored
  once and reused (`product_factor`) for the many Riesz representatives of the estimator;
- ``"cg"``: conjugate gradients with a Jacobi preconditioner
  (`jax.scipy.sparse.linalg.cg`), for patterns too wide to factor;
- ``"dense"``: a dense Cholesky factorization, for small problems.

The model carries its energy product $X = A(\bar\mu)$ at a reference parameter
$\bar\mu$ (the $H^1_0$ product of the thermal block, $\bar\mu = 1$), for which the
min-theta bound $\alpha(\mu) \ge \min_q \mu_q / \bar\mu_q$ (Patera & Rozza 2007) is a
lower bound of the coercivity constant when every $A_q$ is positive semidefinite.
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import jax.scipy.sparse.linalg as jspla
import numpy as np
from jax.experimental import sparse as jsparse
from jaxtyping import Array, Float, Int

from spectral import BandedPattern, banded_cholesky, banded_pattern

from ._parameters import check_parameter, coercivity_bound, term_coefficients

SOLVERS = ("banded", "cg", "dense")


class AffineModel(eqx.Module):
    r"""$\sum_q \theta_q(\mu) A_q\, u = f$ on a shared sparsity pattern, with an energy product.

    Attributes
    ----------
    indices : Int[Array, "nnz 2"]
        The shared sparsity pattern (row, column).
    data : Float[Array, "Q nnz"]
        Entries of $A_1, \dots, A_Q$ on the pattern.
    rhs : Float[Array, " n"]
        $f$.
    reference : Float[Array, " Q"]
        $\bar\theta$: the product is $X = \sum_q \bar\theta_q A_q$ (for $\theta = \mu$,
        $X = A(\bar\mu)$).
    low, high : Float[Array, " p"]
        The parameter box; `solve` and reduced models check parameters against it.
    theta : callable or None
        The coefficient function $\mu \mapsto \theta(\mu) \in \mathbb R^Q$ (jittable), or
        None for $\theta(\mu) = \mu$ (then $p = Q$).
    coercivity : callable or None
        $\mu \mapsto \alpha_{LB}(\mu)$, a lower bound of the coercivity constant in $X$; by
        default the min-theta bound, valid for $\theta = \mu > 0$ and PSD terms.
    mass : Float[Array, " nnz"] or None
        The $L^2$ mass matrix on the same pattern, if the problem has one.
    solver : {"banded", "cg", "dense"}
        A sparse direct solve (needs `banded`; see `with_solver`), Jacobi-preconditioned
        conjugate gradients (any size; accurate to `cg_tol`), or a dense Cholesky
        factorization (small problems, $O(n^3)$).
    banded : spectral.BandedPattern or None
        The ordering of the pattern for ``solver="banded"``.
    cg_tol : float
        Relative residual tolerance of the conjugate gradient solves.
    cg_maxiter : int
        Their iteration cap.
    """

    indices: Int[Array, "nnz 2"]
    data: Float[Array, "Q nnz"]
    rhs: Float[Array, " n"]
    reference: Float[Array, " Q"]
    low: Float[Array, " Q"]
    high: Float[Array, " Q"]
    mass: Float[Array, " nnz"] | None = None
    theta: Callable | None = None
    coercivity: Callable | None = None
    solver: str = eqx.field(static=True, default="cg")
    banded: BandedPattern | None = None
    cg_tol: float = eqx.field(static=True, default=1e-12)
    cg_maxiter: int = eqx.field(static=True, default=20_000)

    @property
    def size(self) -> int:
        """$n$, the number of degrees of freedom."""
        return self.rhs.shape[0]

    @property
    def num_parameters(self) -> int:
        r"""$p$, the dimension of $\mu$."""
        return self.low.shape[0]

    @property
    def num_terms(self) -> int:
        """$Q$, the number of affine terms."""
        return self.data.shape[0]

    def coefficients(self, mu: Array) -> Float[Array, " Q"]:
        r"""$\theta(\mu)$, the parameter checked against the box."""
        return term_coefficients(self.theta, self.check_parameter(mu))

    def _matrix(self, values: Array) -> jsparse.BCOO:
        n = self.size
        return jsparse.BCOO((values, self.indices), shape=(n, n))

    def check_parameter(self, mu: Array) -> Array:
        """`mu` as an array, raising (also under jit) if it leaves the parameter box."""
        return check_parameter(mu, self.low, self.high, self.data.dtype)

    def operator(self, mu: Array) -> jsparse.BCOO:
        r"""$A(\mu)$ as a BCOO matrix."""
        return self._matrix(self.coefficients(mu) @ self.data)

    def term(self, q: int) -> jsparse.BCOO:
        """$A_q$."""
        return self._matrix(self.data[q])

    @property
    def product(self) -> jsparse.BCOO:
        r"""The energy product $X = A(\bar\mu)$."""
        return self._matrix(self.reference @ self.data)

    @property
    def mass_matrix(self) -> jsparse.BCOO:
        """The $L^2$ mass matrix."""
        if self.mass is None:
            raise ValueError("this model has no mass matrix.")
        return self._matrix(self.mass)

    def with_solver(self, solver: str) -> "AffineModel":
        """The same model, solving by `solver`; ``"banded"`` orders the pattern (host, once)."""
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}; got solver={solver!r}.")
        banded = self.banded
        if solver == "banded" and banded is None:
            banded = banded_pattern(np.asarray(self.indices), self.size)
        return dataclasses.replace(self, solver=solver, banded=banded)

    def factor(self, values: Array):
        """A factorization of the matrix with these pattern values (SPD): ``.solve(b)``.

        `b` is a vector or an $(n, k)$ matrix of right-hand sides. For ``"cg"`` nothing is
        factored; each `solve` runs conjugate gradients.
        """
        if self.solver == "banded":
            if self.banded is None:
                raise ValueError(
                    "solver='banded' needs the ordered pattern: build the model with "
                    "model.with_solver('banded')."
                )
            return banded_cholesky(self.banded, values)
        if self.solver == "dense":
            n = self.size
            A = (
                jnp.zeros((n, n), values.dtype)
                .at[self.indices[:, 0], self.indices[:, 1]]
                .add(values)
            )
            return DenseCholesky(jnp.linalg.cholesky(A))
        return JacobiCG(self.indices, values, self.cg_tol, self.cg_maxiter)

    def solve_values(self, values: Array, b: Array) -> Array:
        """Solve with the matrix of the given pattern values (SPD), by `solver`."""
        return self.factor(values).solve(b)

    def solve(self, mu: Array) -> Float[Array, " n"]:
        r"""$u(\mu)$."""
        return self.solve_values(self.coefficients(mu) @ self.data, self.rhs)

    def product_factor(self):
        r"""`factor` of the product $X$: factor once, then ``.solve(b)`` for each $X^{-1} b$."""
        return self.factor(self.reference @ self.data)

    def solve_product(self, b: Array) -> Array:
        r"""$X^{-1} b$ (Riesz representatives in the energy product)."""
        return self.product_factor().solve(b)

    def coercivity_lower_bound(self, mu: Array) -> Array:
        r"""$\alpha_{LB}(\mu)$: `coercivity`, or min-theta $\min_q \mu_q / \bar\mu_q$."""
        mu = jnp.asarray(mu, self.data.dtype)
        return coercivity_bound(self.coercivity, self.theta, self.reference, mu)

    def norm(self, u: Array) -> Array:
        r"""$\lVert u\rVert_X = \sqrt{u^\top X u}$."""
        return jnp.sqrt(jnp.maximum(u @ (self.product @ u), 0.0))


class DenseCholesky(eqx.Module):
    """A dense Cholesky factor $L$: ``solve(b)`` for a vector or an $(n, k)$ matrix."""

    lower: Float[Array, "n n"]

    def solve(self, b: Array) -> Array:
        """$A^{-1} b$ by two triangular solves."""
        return jsl.cho_solve((self.lower, True), b)


class JacobiCG(eqx.Module):
    """Jacobi-preconditioned conjugate gradients with a sparse SPD matrix, column by column."""

    indices: Int[Array, "nnz 2"]
    values: Float[Array, " nnz"]
    tol: float = eqx.field(static=True)
    maxiter: int = eqx.field(static=True)

    def solve(self, b: Array) -> Array:
        """$A^{-1} b$ to the relative residual `tol`, each column on its own."""
        if b.ndim == 2:
            return jax.vmap(self.solve, in_axes=1, out_axes=1)(b)
        return _jacobi_cg(self.indices, self.values, b, self.tol, self.maxiter)


@functools.partial(jax.jit, static_argnames=("tol", "maxiter"))
def _jacobi_cg(indices: Array, values: Array, b: Array, tol: float, maxiter: int) -> Array:
    """Conjugate gradients with the matrix (values, indices), Jacobi-preconditioned."""
    n = b.shape[0]
    A = jsparse.BCOO((values, indices), shape=(n, n))
    on_diagonal = indices[:, 0] == indices[:, 1]
    diagonal = jnp.zeros(n, values.dtype).at[indices[:, 0]].add(jnp.where(on_diagonal, values, 0.0))
    x, _ = jspla.cg(lambda v: A @ v, b, tol=tol, maxiter=maxiter, M=lambda v: v / diagonal)
    return x


def sum_duplicates(rows: Any, cols: Any, values: Any, n: int) -> tuple[Any, Any]:
    """COO triplets (NumPy) -> (unique (nnz, 2) indices, summed values), for assembly."""
    rows, cols = np.asarray(rows), np.asarray(cols)
    values = np.atleast_2d(np.asarray(values))
    keys = rows.astype(np.int64) * n + cols
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.zeros((values.shape[0], len(unique)), values.dtype)
    for q in range(values.shape[0]):
        np.add.at(summed[q], inverse, values[q])
    indices = np.stack([unique // n, unique % n], axis=1).astype(np.int32)
    return indices, summed
