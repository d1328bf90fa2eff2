r"""Nonintrusive matrix EIM: an affine decomposition of $A(\mu)$ from its entries alone.

A parametrized sparse matrix $A(\mu)$ with a fixed sparsity pattern of $\text{nnz}$
entries, whose parameter dependence is not affine, is approximated by the empirical
interpolation method (EIM) applied to the vector of its pattern values (Casenave, Ern,
Lelièvre & Sylvand 2013):

$$A(\mu) \approx A_{\text{EIM}}(\mu) = \sum_{k=1}^K \beta_k(\mu)\, A(\mu_k),
\qquad A_{\text{EIM}}(\mu)[i_j, c_j] = A(\mu)[i_j, c_j], \ j = 1, \dots, K,$$

with $K$ *magic entries* $(i_j, c_j)$ of the pattern and $K$ selected training parameters
$\mu_k$, both chosen greedily by `rom.eim` on the snapshot matrix
$F = [\operatorname{vec} A(\mu_1), \dots, \operatorname{vec} A(\mu_P)] \in
\mathbb R^{\text{nnz} \times P}$ of a training set. Online, $\beta(\mu)$ needs the $K$
magic entries of $A(\mu)$ and one triangular solve: $O(K)$ entry evaluations and $O(K^2)$
flops, independent of the mesh.

**Nonintrusive.** The method needs nothing of the assembly but its output: a function
returning requested entries $A(\mu)[\text{rows}, \text{cols}]$ (and, offline, all
pattern values, by default through the same function). The quadrature, the element
loops and the coefficient functions of the discretization stay inside the user's code,
which may be a black box (a legacy solver that can return selected matrix entries); no
affine expansion of the coefficient is derived by hand.

**Basis.** The EIM's collateral basis $U = [u_1, \dots, u_K]$ (the residuals it built,
scaled to 1 at their magic entries) spans the selected snapshots,
$\operatorname{span} U = \operatorname{span}\{A(\mu_k)\}$, with $U = F[:, \text{sel}]\, C$
for an upper triangular $C$. The interpolant is therefore the paper's
$\sum_k \beta_k(\mu) A(\mu_k)$, written in the $U$ basis: its $U$-coefficients are
$\gamma(\mu) = (U[p, :])^{-1} A(\mu)[p]$ and $\beta = C\gamma$. We store $U$ and $\gamma$:
$U[p, :]$ is unit lower triangular with entries of magnitude at most 1 (each $u_j$ is a
residual divided by its largest entry), so the online $K \times K$ solve stays well
conditioned (condition number 15 for 24 terms of `rom.problems.nonaffine_diffusion`)
where that of $A(\mu_k)[p]$, nearly parallel matrices, would not. `MatrixEIM.__call__`
returns $\gamma(\mu)$, the affine coefficients $\theta(\mu)$ of the terms
`data` $= U^\top$.

**Reduced basis.** `MatrixEIM.affine_model` builds a `rom.AffineModel` with these terms
and coefficient function, so Galerkin reduction, the a posteriori estimator and the weak
greedy apply unchanged: the classic offline/online split for a nonaffine operator
(Barrault et al. 2004; Grepl, Maday, Nguyen & Patera 2007). The reduced model approximates
the **EIM-approximated** full model $A_{\text{EIM}}(\mu) u = f$, and its estimator
certifies the error with respect to that model, not to the true $A(\mu)$; the two differ
by the EIM error, which the training errors `errors` and a test on unseen parameters
measure.

References
----------
Casenave, Ern, Lelièvre & Sylvand (2013), "A nonintrusive method to approximate linear
systems with nonlinear parameter dependence", arXiv:1307.4330. [casenave2013]
Barrault, Maday, Nguyen & Patera (2004), "An 'empirical interpolation' method", C. R.
Acad. Sci. Paris. [barrault2004] Grepl, Maday, Nguyen & Patera (2007), "Efficient
reduced-basis treatment of nonaffine and nonlinear partial differential equations",
ESAIM: M2AN. [grepl2007]
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float, Int

from spectral._checks import check_int

from .affine import AffineModel
from .eim import eim


class MatrixEIM(eqx.Module):
    r"""$A(\mu) \approx \sum_k \theta_k(\mu) U_k$, $\theta(\mu) = (U[p,:])^{-1} A(\mu)[p]$.

    Call it with a parameter for the coefficients $\theta(\mu)$ (the terms are the rows of
    `data`); `values(mu)` gives the approximate pattern values. Jittable (`eqx.filter_jit`)
    and `vmap`-able over parameters.

    Attributes
    ----------
    entries : callable
        ``entries(mu, rows, cols) -> values``, the user's entry function. A pytree field,
        not a static one: a method of a model holding arrays (``problem.entries``) keeps
        those arrays as leaves; a plain function is a non-array leaf, static under
        `eqx.filter_jit`.
    rows, cols : Int[Array, " K"]
        The magic entries $(i_j, c_j)$, in the order selected.
    positions : Int[Array, " K"]
        $p$: their positions in the pattern (``indices[positions] == (rows, cols)``).
    data : Float[Array, "K nnz"]
        $U^\top$: the affine terms on the pattern (the collateral basis, one term per row).
    interpolation_matrix : Float[Array, "K K"]
        $U[p, :]$, unit lower triangular (its strictly upper part, zero in exact
        arithmetic and at rounding level in the greedy's output, is set to zero).
    parameters : Float[Array, "K p"]
        The selected training parameters $\mu_k$: ``span data = span {A(mu_k)}``.
    errors : Float[Array, " K"]
        The EIM training errors: the largest entry error $\max_{\mu, e}
        |F - \mathcal I_j F|$ over training snapshots and pattern entries with
        $j = 0, \dots, K - 1$ terms.
    """

    entries: Callable
    rows: Int[Array, " K"]
    cols: Int[Array, " K"]
    positions: Int[Array, " K"]
    data: Float[Array, "K nnz"]
    interpolation_matrix: Float[Array, "K K"]
    parameters: Float[Array, "K p"]
    errors: Float[Array, " K"]

    @property
    def size(self) -> int:
        """$K$, the number of affine terms."""
        return self.data.shape[0]

    def __call__(self, mu) -> Float[Array, " K"]:
        r"""$\theta(\mu) = (U[p,:])^{-1} A(\mu)[p]$: $K$ entries, a $K \times K$ solve."""
        mu = jnp.asarray(mu, self.data.dtype)
        values = jnp.asarray(self.entries(mu, self.rows, self.cols), self.data.dtype)
        return jsl.solve_triangular(
            self.interpolation_matrix, values, lower=True, unit_diagonal=True
        )

    def values(self, mu) -> Float[Array, " nnz"]:
        r"""$\operatorname{vec} A_{\text{EIM}}(\mu) = U \theta(\mu)$, $O(K\,\text{nnz})$."""
        return self(mu) @ self.data

    def truncate(self, size: int) -> "MatrixEIM":
        r"""The first `size` terms: the EIM is hierarchical, so this is the `size`-term EIM.

        Each greedy step depends only on the terms before it, so the prefix equals a
        fresh `matrix_eim(..., size)` on the same training set: build once with a
        generous $K$, then keep the terms whose training `errors` are above a tolerance.
        """
        k = check_int(size, "size", low=1, high=self.size, why=" (at most the number of terms)")
        return MatrixEIM(
            entries=self.entries,
            rows=self.rows[:k],
            cols=self.cols[:k],
            positions=self.positions[:k],
            data=self.data[:k],
            interpolation_matrix=self.interpolation_matrix[:k, :k],
            parameters=self.parameters[:k],
            errors=self.errors[:k],
        )

    def affine_model(
        self,
        indices,
        rhs,
        *,
        low,
        high,
        reference_mu,
        coercivity: Callable | None = None,
        mass=None,
        solver: str = "banded",
    ) -> AffineModel:
        r"""$A_{\text{EIM}}(\mu) u = f$ as a `rom.AffineModel` with coefficient function `self`.

        Parameters
        ----------
        indices : Int[Array, "nnz 2"]
            The pattern the EIM was built on.
        rhs : Float[Array, " n"]
            $f$.
        low, high : Float[Array, " p"]
            The parameter box.
        reference_mu : Float[Array, " p"]
            $\bar\mu$: the energy product is $X = A_{\text{EIM}}(\bar\mu)$, which must be
            symmetric positive definite (unchecked here; the banded and dense solvers
            raise on a factorization that fails).
        coercivity : callable, optional
            $\mu \mapsto \alpha_{LB}(\mu)$, a lower bound of the coercivity constant of
            $A_{\text{EIM}}(\mu)$ in $X$. The min-theta bound of `rom.AffineModel` does
            not apply to EIM coefficients (they have no sign), so without it the reduced
            model's `estimate_error` raises. A bound for the true operator (as
            `coercivity_lower_bound` of `rom.problems.nonaffine_diffusion`) is a bound
            for the EIM operator only up to the EIM error of $A$ and of $X$: accurate
            enough EIM, or a safety factor, is the caller's responsibility. Measured on
            that problem ($h = 1/12$): the true operator's bound exceeds the coercivity
            constant of the 8-term EIM operator by up to 6%, and holds (to $10^{-9}$)
            from 12 terms on; the tests pass $0.9\,\alpha_{LB}$ with 8 terms.
        mass : Float[Array, " nnz"], optional
            The mass matrix on the pattern.
        solver : {"banded", "cg", "dense"}
            See `rom.AffineModel`.

        Returns
        -------
        AffineModel
            ``data = self.data``, ``theta = self``, ``reference = self(reference_mu)``.
        """
        dtype = self.data.dtype
        indices = jnp.asarray(indices)
        if indices.shape != (self.data.shape[1], 2):
            raise ValueError(
                f"indices must be the (nnz, 2) = ({self.data.shape[1]}, 2) pattern the EIM was "
                f"built on; got shape {indices.shape}."
            )
        low, high = jnp.asarray(low, dtype), jnp.asarray(high, dtype)
        if low.shape != (self.parameters.shape[1],) or high.shape != low.shape:
            raise ValueError(
                f"low and high must have shape ({self.parameters.shape[1]},), one bound per "
                f"parameter; got shapes {low.shape} and {high.shape}."
            )
        reference_mu = jnp.asarray(reference_mu, dtype)
        if reference_mu.shape != low.shape:
            raise ValueError(
                f"reference_mu must have shape {low.shape}; got shape {reference_mu.shape}."
            )
        return AffineModel(
            indices=indices,
            data=self.data,
            rhs=jnp.asarray(rhs, dtype),
            reference=self(reference_mu),
            low=low,
            high=high,
            mass=None if mass is None else jnp.asarray(mass, dtype),
            theta=self,
            coercivity=coercivity,
        ).with_solver(solver)


@eqx.filter_jit
def _snapshots(assemble: Callable, training: Array) -> Array:
    return jax.vmap(assemble)(training).T


def matrix_eim(
    entries: Callable,
    indices: Int[Array, "nnz 2"],
    training_set: Float[Array, "P p"],
    size: int,
    /,
    *,
    assemble: Callable | None = None,
) -> MatrixEIM:
    r"""Matrix EIM of $K$ = `size` terms from the entries of $A(\mu)$ on a training set.

    Parameters
    ----------
    entries : callable
        ``entries(mu, rows, cols) -> values``: $A(\mu)[\text{rows}, \text{cols}]$ for
        integer arrays `rows`, `cols` of one shape (jittable; the values have that shape).
    indices : Int[Array, "nnz 2"]
        The fixed sparsity pattern (row, column) of $A(\mu)$.
    training_set : Float[Array, "P p"]
        Training parameters, one per row.
    size : int
        $K$, the number of terms (static), in $[1, \min(\text{nnz}, P)]$ and at most the
        rank of the snapshots (checked: `rom.eim` raises when a residual vanishes).
    assemble : callable, optional
        ``assemble(mu) -> values`` of shape ``(nnz,)``, all pattern values at once (a
        faster assembly for the offline snapshots); by default
        ``entries(mu, indices[:, 0], indices[:, 1])``.

    Returns
    -------
    MatrixEIM
        The coefficient function $\mu \mapsto \theta(\mu)$ with its terms `data`.

    Raises
    ------
    ValueError
        If `indices` is not (nnz, 2), `training_set` not (P, p), `size` out of range, or
        `entries`/`assemble` return the wrong shape.
    TypeError
        If `size` is not an int, `indices` not integer or `training_set` not floating.

    Notes
    -----
    Offline: $P$ assemblies (`vmap`-ed) and the EIM greedy, $O(\text{nnz}\,P K^2)$ flops
    and $O(\text{nnz}\,P)$ memory for the snapshots. Online: $K$ entry evaluations and a
    $K \times K$ triangular solve for $\theta(\mu)$; $O(K\,\text{nnz})$ more for the
    pattern values (which a reduced model never forms: it projects the $K$ terms once).

    References
    ----------
    Casenave, Ern, Lelièvre & Sylvand (2013), "A nonintrusive method to approximate linear
    systems with nonlinear parameter dependence", arXiv:1307.4330. [casenave2013]

    Examples
    --------
    >>> problem = rom.problems.nonaffine_diffusion(1 / 16)
    >>> training = jnp.stack(jnp.meshgrid(jnp.geomspace(0.1, 10, 8),
    ...                                   jnp.linspace(0.2, 0.8, 25)), -1).reshape(-1, 2)
    >>> approx = rom.matrix_eim(problem.entries, problem.indices, training, 20,
    ...                         assemble=problem.assemble)
    >>> theta = approx(jnp.array([3.0, 0.45]))          # 20 entries of A(mu), one solve
    >>> model = approx.affine_model(problem.indices, problem.rhs, low=problem.low,
    ...     high=problem.high, reference_mu=problem.reference,
    ...     coercivity=problem.coercivity_lower_bound)
    >>> reduced = rom.weak_greedy(model, training, max_basis=10).reduced_model
    """
    if not callable(entries):
        raise TypeError(f"entries must be callable (mu, rows, cols) -> values; got {entries!r}.")
    if assemble is not None and not callable(assemble):
        raise TypeError(f"assemble must be callable mu -> values or None; got {assemble!r}.")
    indices = jnp.asarray(indices)
    if indices.ndim != 2 or indices.shape[1] != 2 or indices.shape[0] < 1:
        raise ValueError(
            f"indices must be (nnz, 2), one (row, column) per pattern entry; got shape "
            f"{indices.shape}."
        )
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        raise TypeError(f"indices must be integer; got dtype {indices.dtype}.")
    training = jnp.asarray(training_set)
    if training.ndim != 2 or training.shape[0] < 1:
        raise ValueError(
            f"training_set must be (P, p), one parameter per row; got shape {training.shape}."
        )
    if not jnp.issubdtype(training.dtype, jnp.floating):
        raise TypeError(f"training_set must be floating point; got dtype {training.dtype}.")
    nnz, (P, p) = indices.shape[0], training.shape
    K = check_int(size, "size", low=1, high=min(nnz, P), why=" (at most min(nnz, P))")
    rows, cols = indices[:, 0], indices[:, 1]
    if assemble is None:

        def assemble(mu: Any) -> Array:
            return entries(mu, rows, cols)

    mu_shape = jax.ShapeDtypeStruct((p,), training.dtype)
    probe = jax.ShapeDtypeStruct((K,), indices.dtype)
    _check_output_shape(entries, "entries", (mu_shape, probe, probe), (K,), "(K,) for (K,) rows")
    _check_output_shape(assemble, "assemble", (mu_shape,), (nnz,), "(nnz,)")
    F = jnp.asarray(_snapshots(assemble, training), training.dtype)  # (nnz, P)
    interpolant = eim(F, K)
    positions = interpolant.indices
    return MatrixEIM(
        entries=entries,
        rows=rows[positions],
        cols=cols[positions],
        positions=positions,
        data=interpolant.basis.T,
        # U[p] is unit lower triangular up to rounding: the residual that built u_j vanishes
        # at the earlier magic entries only to ~eps max|F| / errors[j]. Keep the triangle
        # that the greedy and the online solve use, so the stored matrix is the one solved.
        interpolation_matrix=jnp.tril(interpolant.interpolation_matrix, -1)
        + jnp.eye(K, dtype=F.dtype),
        parameters=training[interpolant.selected],
        errors=interpolant.errors,
    )


def _check_output_shape(fn: Callable, name: str, args: tuple, shape: tuple, expected: str):
    out = jax.eval_shape(fn, *args)
    if not hasattr(out, "shape") or tuple(out.shape) != shape:
        got = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"{name} must return values of shape {expected} = {shape}; got {got}.")
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise TypeError(f"{name} must return floating point values; got dtype {out.dtype}.")
