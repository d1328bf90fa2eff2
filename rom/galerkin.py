r"""Galerkin reduction of affine coercive models, with the residual-based error estimator.

For a reduced basis $V \in \mathbb R^{n \times N}$, orthonormal in the model's energy product
$X$, the reduced model solves $A_N(\mu) c = f_N$ with $A_N(\mu) = \sum_q \mu_q V^\top A_q V$
and $f_N = V^\top f$, projected once offline: the online cost is $O(QN^2 + N^3)$,
independent of $n$.

**A posteriori error estimator** (Patera & Rozza 2007; Haasdonk 2017). The residual
$r(\mu) = f - A(\mu) V c$ bounds the error in the energy norm,

$$\lVert u(\mu) - V c(\mu)\rVert_X \le \Delta(\mu) =
\frac{\lVert r(\mu)\rVert_{X^{-1}}}{\alpha_{LB}(\mu)},$$

with $\alpha_{LB}$ the min-theta coercivity bound. Offline/online: with the Riesz
representatives $z_0 = X^{-1} f$ and $z_{q,j} = X^{-1} A_q v_j$ ($1 + QN$ solves with $X$),
$\lVert r\rVert_{X^{-1}}^2 = \theta^\top G \theta$ for the Gram matrix
$G = Z^\top X Z$ and the coefficient vector $\theta = (1, -\mu_1 c, \dots, -\mu_Q c)$:
$O((QN)^2)$ online. This **classical** evaluation sums terms of size $\lVert f\rVert^2$ to
get a result of size $\lVert r\rVert^2$: it loses all accuracy once
$\lVert r\rVert / \lVert f\rVert \lesssim \sqrt{\varepsilon}$ (the estimate stalls or
becomes zero near relative errors of $10^{-8}$).

The **stable** evaluation (Buhr, Engwer, Ohlberger & Rave 2014, as in pyMOR's
`ResidualReductor`) orthonormalizes the Riesz representatives in $X$ offline,
$Z = Q R$ with $Q^\top X Q = I$ (Gram–Schmidt, twice), and evaluates
$\lVert r\rVert_{X^{-1}} = \lVert R \theta\rVert_2$: a vector is summed before it is
squared, so the estimate stays accurate down to $\varepsilon \lVert f\rVert$ instead of
$\sqrt{\varepsilon}\, \lVert f\rVert$, at the same online cost. It is the default.
"""

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._parameters import check_parameter, coercivity_bound, term_coefficients
from .affine import AffineModel
from .eim import Interpolant
from .residual_eim import ResidualInterpolant
from .semilinear import ReducedSemilinearModel, SemilinearModel, galerkin_semilinear

EVALUATIONS = ("stable", "classical", "eim")


class RieszRepresentatives(NamedTuple):
    r"""$X^{-1} f$ and $X^{-1} A_q V$, the offline part of the estimator.

    Attributes
    ----------
    rhs : Float[Array, " n"]
        $z_0 = X^{-1} f$.
    terms : Float[Array, "Q n N"]
        $z_{q, j} = X^{-1} A_q v_j$.
    """

    rhs: Float[Array, " n"]
    terms: Float[Array, "Q n N"]


class ReducedModel(eqx.Module):
    r"""A Galerkin-reduced affine model: `solve(mu)`, `estimate_error(mu)`, `reconstruct(c)`.

    Attributes
    ----------
    operators : Float[Array, "Q N N"]
        $V^\top A_q V$.
    rhs : Float[Array, " N"]
        $V^\top f$.
    gram : Float[Array, "1+QN 1+QN"]
        $G = Z^\top X Z$ of the Riesz representatives.
    basis : Float[Array, "n N"]
        $V$.
    reference, low, high : Float[Array, " Q"], Float[Array, " p"]
        As in the full model.
    theta, coercivity : callable or None
        As in the full model: the coefficient function and the coercivity bound.
    residual_factor : Float[Array, "1+QN 1+QN"] or None
        $R$ with $Z = QR$, $Q$ orthonormal in $X$ (the stable evaluation).
    residual_interpolant : ResidualInterpolant or None
        The EIM evaluation of the residual norm (Casenave, Ern & Lelièvre 2014), if built.
    estimator : {"stable", "classical", "eim"}
        The default evaluation of the residual norm.
    active : Bool[Array, " N"] or None
        For a basis padded to a fixed size (the greedy's buffers): which columns are in
        use. Unused columns are zero and their rows of the reduced system are the identity,
        so they carry zero coefficients.
    """

    operators: Float[Array, "Q N N"]
    rhs: Float[Array, " N"]
    gram: Float[Array, "M M"]
    basis: Float[Array, "n N"]
    reference: Float[Array, " Q"]
    low: Float[Array, " p"]
    high: Float[Array, " p"]
    residual_factor: Float[Array, "M M"] | None = None
    theta: Callable | None = None
    coercivity: Callable | None = None
    residual_interpolant: ResidualInterpolant | None = None
    estimator: str = eqx.field(static=True, default="stable")
    active: Bool[Array, " N"] | None = None

    def _check(self, mu: Array) -> Array:
        return check_parameter(mu, self.low, self.high, self.rhs.dtype)

    def coefficients(self, mu: Array) -> Float[Array, " Q"]:
        r"""$\theta(\mu)$, the parameter checked against the box."""
        return term_coefficients(self.theta, self._check(mu))

    def solve(self, mu: Array) -> Float[Array, " N"]:
        r"""Reduced coefficients $c(\mu)$, $O(QN^2 + N^3)$."""
        A = jnp.tensordot(self.coefficients(mu), self.operators, 1)
        if self.active is not None:
            A = A + jnp.diag(jnp.where(self.active, 0.0, 1.0).astype(A.dtype))
        return jnp.linalg.solve(A, self.rhs)

    def residual_coefficients(self, mu: Array, c: Array | None = None) -> Float[Array, " M"]:
        r"""$\theta = (1, -\theta_q(\mu) c_j)$, ordered $1 + qN + j$: $X^{-1} r = Z\theta$."""
        c = self.solve(mu) if c is None else c
        coefficients = self.coefficients(mu)
        return jnp.concatenate(
            [jnp.ones(1, c.dtype), -(coefficients[:, None] * c[None, :]).ravel()]
        )

    def residual_norm(
        self, mu: Array, c: Array | None = None, *, evaluation: str | None = None
    ) -> Array:
        r"""$\lVert f - A(\mu) V c\rVert_{X^{-1}}$ by the `evaluation` rule (default `estimator`).

        ``"eim"`` needs a `residual_interpolant` (`rom.residual_interpolant`).
        """
        evaluation = self.estimator if evaluation is None else evaluation
        if evaluation not in EVALUATIONS:
            raise ValueError(
                f"evaluation must be one of {EVALUATIONS}; got evaluation={evaluation!r}."
            )
        theta = self.residual_coefficients(mu, c)
        if evaluation == "stable":
            if self.residual_factor is None:
                raise ValueError("this reduced model has no residual factor; use 'classical'.")
            return jnp.linalg.norm(self.residual_factor @ theta)
        if evaluation == "eim":
            if self.residual_interpolant is None:
                raise ValueError(
                    "evaluation='eim' needs a residual interpolant: build one with "
                    "rom.residual_interpolant and attach it with with_residual_interpolant."
                )
            return self.residual_interpolant.residual_norm(theta)
        return jnp.sqrt(jnp.maximum(theta @ (self.gram @ theta), 0.0))

    def with_residual_interpolant(self, interpolant: ResidualInterpolant) -> "ReducedModel":
        """The same model with the EIM evaluation of the residual norm attached."""
        return dataclasses.replace(self, residual_interpolant=interpolant)

    def estimate_error(self, mu: Array, *, evaluation: str | None = None) -> Array:
        r"""$\Delta(\mu) = \lVert r\rVert_{X^{-1}} / \alpha_{LB}(\mu)$ (min-theta by default)."""
        mu = self._check(mu)
        alpha = coercivity_bound(self.coercivity, self.theta, self.reference, mu)
        return self.residual_norm(mu, evaluation=evaluation) / alpha

    def reconstruct(self, c: Array) -> Float[Array, " n"]:
        """$V c$."""
        return self.basis @ c


def residual_matrix(riesz: RieszRepresentatives) -> Float[Array, "n M"]:
    r"""$Z = [z_0, z_{1,1}, \dots, z_{Q,N}]$ with $X^{-1} r = Z\theta$ (column $1 + qN + j$)."""
    terms = riesz.terms
    return jnp.concatenate(
        [riesz.rhs[:, None], jnp.moveaxis(terms, 0, 1).reshape(terms.shape[1], -1)], axis=1
    )


def riesz_representatives(model: AffineModel, basis: Array) -> RieszRepresentatives:
    """The $1 + QN$ solves with the product the estimator needs (one factorization of $X$)."""
    factor = model.product_factor()
    terms = jnp.stack([factor.solve(model.term(q) @ basis) for q in range(model.num_terms)])
    return RieszRepresentatives(factor.solve(model.rhs), terms)


def galerkin(
    model,
    basis: Array,
    /,
    *,
    riesz: RieszRepresentatives | None = None,
    hyperreduction: Interpolant | None = None,
) -> ReducedModel | ReducedSemilinearModel:
    r"""Project `model` onto `basis` (orthonormal in `model.product`; checked, also under jit).

    Parameters
    ----------
    model : AffineModel, SemilinearModel or ParabolicModel
        The full-order model (the last two are reduced by `rom.semilinear` and
        `rom.galerkin_parabolic`).
    basis : Float[Array, "n N"]
        $V$, with $V^\top X V = I$.
    riesz : RieszRepresentatives, optional
        Precomputed $X^{-1} f$ and $X^{-1} A_q V$ (the greedy extends them column by
        column); computed here otherwise ($1 + QN$ solves with $X$).
    hyperreduction : Interpolant, optional
        For a `rom.SemilinearModel`: a DEIM/EIM interpolant of its nonlinear term, which
        the reduced model then evaluates at the interpolation indices only
        (`rom.semilinear`). Affine models need none.

    Returns
    -------
    ReducedModel or ReducedSemilinearModel
        Jittable, `vmap`-able over parameters.
    """
    if isinstance(model, SemilinearModel):
        return galerkin_semilinear(model, basis, hyperreduction=hyperreduction)
    from .parabolic import ParabolicModel, galerkin_parabolic  # parabolic builds on this module

    if isinstance(model, ParabolicModel):
        if hyperreduction is not None or riesz is not None:
            raise ValueError("a ParabolicModel takes neither hyperreduction nor riesz.")
        return galerkin_parabolic(model, basis)
    if hyperreduction is not None:
        raise ValueError("hyperreduction applies to nonlinear (semilinear) models only.")
    V = jnp.asarray(basis)
    if V.ndim != 2 or V.shape[0] != model.size or V.shape[1] < 1:
        raise ValueError(
            f"basis must be (n, N) = ({model.size}, N) with N >= 1; got shape {V.shape}."
        )
    X = model.product
    gram_error = jnp.max(jnp.abs(V.T @ (X @ V) - jnp.eye(V.shape[1], dtype=V.dtype)))
    V = eqx.error_if(
        V,
        gram_error > 1e-6,
        "basis must be orthonormal in the model's product (V.T @ X @ V = I); "
        "orthonormalize it first, e.g. with rom.orthonormalize.",
    )
    operators = jnp.stack([V.T @ (model.term(q) @ V) for q in range(model.num_terms)])
    riesz = riesz_representatives(model, V) if riesz is None else riesz
    Z = residual_matrix(riesz)
    gram = Z.T @ (X @ Z)
    _, factor = residual_factorization(model, Z)
    return ReducedModel(
        operators=operators,
        rhs=V.T @ model.rhs,
        gram=0.5 * (gram + gram.T),
        basis=V,
        reference=model.reference,
        low=model.low,
        high=model.high,
        residual_factor=factor,
        theta=model.theta,
        coercivity=model.coercivity,
    )


def add_residual_column(model: AffineModel, Q: Array, R: Array, z: Array, position) -> tuple:
    r"""Extend $Z = QR$ ($Q$ orthonormal in $X$, zero columns unused) by column `z` at `position`.

    Gram–Schmidt against $Q$, twice; a remainder below $10^{-13} \lVert z\rVert_X$ is
    dropped (the column lies in the span already).
    """
    X = model.product
    coefficients = jnp.zeros(Q.shape[1], z.dtype)
    v = z
    for _ in range(2):
        a = Q.T @ (X @ v)
        v = v - Q @ a
        coefficients = coefficients + a
    norm = model.norm(v)
    keep = norm > 1e-13 * model.norm(z)
    Q = Q.at[:, position].set(jnp.where(keep, v / jnp.where(keep, norm, 1.0), 0.0))
    R = R.at[:, position].set(coefficients.at[position].set(jnp.where(keep, norm, 0.0)))
    return Q, R


@eqx.filter_jit
def residual_factorization(model: AffineModel, Z: Array) -> tuple[Array, Array]:
    r"""$Z = QR$ with $Q^\top X Q = I$ (on the columns kept), column by column."""
    n, M = Z.shape

    def body(j, state):
        return add_residual_column(model, *state, Z[:, j], j)

    return jax.lax.fori_loop(0, M, body, (jnp.zeros((n, M), Z.dtype), jnp.zeros((M, M), Z.dtype)))


def orthonormalize(model: AffineModel, basis: Array, vectors: Array) -> Array:
    r"""`vectors` Gram–Schmidt-orthonormalized (twice) in $X$ against `basis` and each other."""
    X = model.product
    out = basis
    for v in jnp.asarray(vectors).T:
        for _ in range(2):
            if out.shape[1]:
                v = v - out @ (out.T @ (X @ v))
        out = jnp.concatenate([out, (v / model.norm(v))[:, None]], axis=1)
    return out
