r"""Empirical interpolation: EIM (magic points), DEIM and Q-DEIM.

An interpolant of a vector $f \in \mathbb R^n$ (a nonlinear term evaluated on a mesh, a
function on a grid) in a *collateral basis* $U \in \mathbb R^{n \times k}$ from its values
at $k$ *interpolation indices* $p$:

$$\mathcal I f = U\, (U[p, :])^{-1} f[p], \qquad (\mathcal I f)[p] = f[p].$$

Only the $k$ entries $f[p]$ are needed online: a hyper-reduced model evaluates its
nonlinearity at those entries alone. The methods differ in how $U$ and $p$ are built:

- **EIM** (Barrault, Maday, Nguyen & Patera 2004; Maday et al. 2009): greedily from a
  training set of vectors $F = [f_1, \dots, f_N]$: take the training vector worst
  interpolated by the current interpolant (in the max norm), its residual's entry of
  largest magnitude as the next *magic point*, and the residual scaled to 1 there as the
  next basis vector. $U[p, :]$ is then unit lower triangular and the interpolation error of
  the training set is reported at each step. $O(nNk^2)$ for $k$ steps.
- **DEIM** (Chaturantabut & Sorensen 2010): $U$ is given (typically POD modes of the
  nonlinear snapshots) and $p$ are its DEIM indices (`spectral.deim_indices`, a pivoted
  LU). The error is within $\lVert (U[p, :])^{-1}\rVert_2$ of the best approximation in
  $\operatorname{span} U$.
- **Q-DEIM** (Drmač & Gugercin 2016): $p$ from a column-pivoted QR of $U^\top$
  (`spectral.qdeim_indices`), with a better bound on that constant.

All three return an `Interpolant`.

References
----------
Barrault, Maday, Nguyen & Patera (2004), "An 'empirical interpolation' method",
C. R. Acad. Sci. Paris. [barrault2004] Chaturantabut & Sorensen (2010), "Nonlinear Model
Reduction via Discrete Empirical Interpolation", SIAM J. Sci. Comput. [chaturantabut2010]
Drmač & Gugercin (2016), "A New Selection Operator for the Discrete Empirical
Interpolation Method", SIAM J. Sci. Comput. [drmac2016]
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float, Int

import spectral
from spectral._checks import check_int, public_jit


class Interpolant(eqx.Module):
    r"""An empirical interpolant $\mathcal I f = U (U[p, :])^{-1} f[p]$.

    Attributes
    ----------
    indices : Int[Array, " k"]
        $p$, the interpolation indices (magic points), in the order selected.
    basis : Float[Array, "n k"]
        $U$, the collateral basis.
    interpolation_matrix : Float[Array, "k k"]
        $U[p, :]$ (unit lower triangular for EIM).
    errors : Float[Array, " k"] or None
        For EIM, the max-norm interpolation error of the training set with $j$ basis
        vectors, $j = 0, \dots, k - 1$ (the residual each new vector was built from).
    selected : Int[Array, " k"] or None
        For EIM, the training column each basis vector was built from: the basis spans
        the selected training vectors, ``span U = span F[:, selected]``.
    """

    indices: Int[Array, " k"]
    basis: Float[Array, "n k"]
    interpolation_matrix: Float[Array, "k k"]
    errors: Float[Array, " k"] | None = None
    selected: Int[Array, " k"] | None = None

    def coefficients(self, values: Float[Array, "k ..."]) -> Float[Array, "k ..."]:
        r"""$(U[p, :])^{-1} f[p]$ from the values $f[p]$ at the indices."""
        return jnp.linalg.solve(self.interpolation_matrix, values)

    def __call__(self, values: Float[Array, "k ..."]) -> Float[Array, "n ..."]:
        r"""$\mathcal I f$ from the values $f[p]$ at the indices."""
        return self.basis @ self.coefficients(values)

    def interpolate(self, f: Float[Array, "n ..."]) -> Float[Array, "n ..."]:
        r"""$\mathcal I f$ from the full vector $f$ (reads only $f[p]$)."""
        return self(jnp.asarray(f)[self.indices])


def _check_basis(U: Any) -> Array:
    U = jnp.asarray(U)
    if U.ndim != 2 or not 1 <= U.shape[1] <= U.shape[0]:
        raise ValueError(
            f"basis must be (n, k) with 1 <= k <= n, one basis vector per column; got shape "
            f"{U.shape}."
        )
    if not jnp.issubdtype(U.dtype, jnp.floating):
        raise TypeError(f"basis must be floating point; got dtype {U.dtype}.")
    return U


def _interpolant(U: Array, indices: Array) -> Interpolant:
    P = U[indices]
    P = eqx.error_if(
        P,
        ~jnp.all(jnp.isfinite(jnp.linalg.inv(P))),
        "basis[indices] is singular: the basis columns are linearly dependent.",
    )
    return Interpolant(indices, U, P)


@public_jit
def deim(basis: Float[Array, "n k"], /) -> Interpolant:
    """DEIM interpolant of the collateral basis (Chaturantabut & Sorensen 2010), $O(nk^2)$."""
    U = _check_basis(basis)
    return _interpolant(U, spectral.deim_indices(U))


@public_jit
def qdeim(basis: Float[Array, "n k"], /) -> Interpolant:
    """Q-DEIM interpolant of the collateral basis (Drmač & Gugercin 2016), $O(nk^2)$."""
    U = _check_basis(basis)
    return _interpolant(U, spectral.qdeim_indices(U))


@public_jit
def eim(training: Float[Array, "n N"], size: int, /) -> Interpolant:
    r"""Greedy EIM of `size` magic points from a training set (one vector per column).

    Parameters
    ----------
    training : Float[Array, "n N"]
        $F$: the function evaluations, one training parameter per column.
    size : int
        $k$, the number of magic points and basis vectors (static); at most the rank of
        $F$ (checked under jit: a zero residual cannot be normalized).

    Returns
    -------
    Interpolant
        With `errors[j]` the max-norm training error with $j$ basis vectors; the error with
        all $k$ is ``jnp.max(jnp.abs(F - interpolant.interpolate(F)))``. To stop at a
        tolerance, build with a generous `size` and keep the first $j$ vectors whose
        error is above it (`errors` is nonincreasing in practice, not in theory).
    """
    F = jnp.asarray(training)
    if F.ndim != 2:
        raise ValueError(
            f"training must be (n, N), one function evaluation per column; got shape {F.shape}."
        )
    if not jnp.issubdtype(F.dtype, jnp.floating):
        raise TypeError(f"training must be floating point; got dtype {F.dtype}.")
    n, N = F.shape
    k = check_int(size, "size", low=1, high=min(n, N), why=" (at most min(n, N))")
    eye = jnp.eye(k, dtype=F.dtype)

    def step(j, state):
        U, indices, T, errors, selected = state
        # Residual of interpolating every training vector with the first j basis vectors
        # (T is U[indices] padded with the identity, so the solve ignores unused slots).
        active = jnp.arange(k) < j
        values = jnp.where(active[:, None], F[indices], 0.0)
        R = F - U @ jsl.solve_triangular(T, values, lower=True, unit_diagonal=True)
        flat = jnp.argmax(jnp.abs(R))
        point, column = flat // N, flat % N
        pivot = R[point, column]
        errors = errors.at[j].set(jnp.abs(pivot))
        u = R[:, column] / pivot
        U = U.at[:, j].set(u)
        indices = indices.at[j].set(point.astype(indices.dtype))
        selected = selected.at[j].set(column.astype(selected.dtype))
        T = jnp.where(active[None, :] | (jnp.arange(k) == j)[None, :], U[indices], eye)
        T = jnp.where((jnp.arange(k) <= j)[:, None], T, eye)
        return U, indices, T, errors, selected

    state = (
        jnp.zeros((n, k), F.dtype),
        jnp.zeros((k,), jnp.int32),
        eye,
        jnp.zeros((k,), F.dtype),
        jnp.zeros((k,), jnp.int32),
    )
    U, indices, _, errors, selected = jax.lax.fori_loop(0, k, step, state)
    scale = jnp.max(jnp.abs(F))
    errors = eqx.error_if(
        errors,
        jnp.min(errors) <= jnp.finfo(F.dtype).eps * scale,
        "size is larger than the rank of the training set: a residual vanished before "
        "size magic points were found; pass a smaller size.",
    )
    return Interpolant(indices, U, U[indices], errors, selected)
