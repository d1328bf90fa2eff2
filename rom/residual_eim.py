r"""The EIM evaluation of the a posteriori error estimator (Casenave, Ern & Lelièvre 2014).

The residual dual norm $\lVert r(\mu)\rVert_{X^{-1}} = \lVert G(\mu)\rVert_X$ is the norm of
the residual's Riesz representative $G(\mu) = X^{-1} r(\mu) = Z\theta(\mu)$, a linear
combination of the $M = 1 + QN$ representatives $Z = [X^{-1} f, X^{-1} A_q v_j]$ with the
coefficients $\theta(\mu) = (1, -\theta_q(\mu) c_j(\mu))$ (`rom.galerkin`). Expanding its
square as the quadratic form $\theta^\top (Z^\top X Z) \theta$ (the classical evaluation)
cancels terms of size $\lVert f\rVert_{X^{-1}}^2$ to produce one of size
$\lVert r\rVert^2$, so the estimate is lost once
$\lVert r\rVert / \lVert f\rVert \lesssim \sqrt\varepsilon$.

Casenave, Ern & Lelièvre approximate $G(\mu)$ itself by the **empirical interpolation
method** over the degrees of freedom: offline, EIM (`rom.eim`) of the snapshots
$G(\mu_p) = Z\theta(\mu_p)$ on a training set gives $d$ magic points $p$ and a collateral
basis $U$ ($n \times d$, residuals of residual representatives), and online

$$G(\mu) \approx U \lambda(\mu), \qquad U[p, :]\, \lambda(\mu) = G(\mu)[p] = Z[p, :]\,
\theta(\mu), \qquad \lVert r(\mu)\rVert_{X^{-1}} \approx \lVert U\lambda(\mu)\rVert_X
= \lVert R_U \lambda(\mu)\rVert_2,$$

with $U = Q_U R_U$ orthonormalized in $X$ offline (Gram–Schmidt twice). The $d$ values
$G(\mu)[p]$ are sums of the same large terms as before, but they are *vectors* summed
before anything is squared, so their rounding is $\varepsilon \lVert Z\rVert\lvert\theta\rvert$
absolute: the estimate stays accurate down to $\lVert r\rVert \approx \varepsilon
\lVert f\rVert$, not $\sqrt\varepsilon \lVert f\rVert$. The norm is then a sum of squares of
the $d$ entries of $R_U\lambda$, which cannot cancel.

The interpolation is exact when $d$ reaches the dimension of the span of the snapshots
(at most $M$; with $d$ = that numerical rank, the default, it reproduces the Riesz
representative of every parameter whose $\theta(\mu)$ lies in the span of the training
ones); a smaller $d$ is an approximation whose error the EIM training errors report.
Online cost $O(dM + d^2)$, the same order as the classical $O(M^2)$; offline the reduced
solves on the training set, one $n \times M$ by $M \times P$ product for the snapshots, and
EIM ($O(nPd^2)$).

Reference: Casenave, Ern & Lelièvre (2014), "Accurate and efficient evaluation of the a
posteriori error estimator in the reduced basis method", ESAIM: M2AN 48(1), 207–229.
[casenave2014]
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jaxtyping import Array, Float, Int

from .eim import eim


class ResidualInterpolant(eqx.Module):
    r"""EIM of the residual's Riesz representative: $\lVert r\rVert = \lVert R_U \lambda\rVert$.

    Attributes
    ----------
    points : Int[Array, " d"]
        The magic points $p$ (degrees of freedom).
    representatives : Float[Array, "d M"]
        $Z[p, :]$, the Riesz representatives at the magic points.
    interpolation_matrix : Float[Array, "d d"]
        $U[p, :]$ (unit lower triangular).
    factor : Float[Array, "d d"]
        $R_U$ with $U = Q_U R_U$, $Q_U^\top X Q_U = I$.
    errors : Float[Array, " d"]
        The EIM training errors (max norm) before each basis vector was added.
    """

    points: Int[Array, " d"]
    representatives: Float[Array, "d M"]
    interpolation_matrix: Float[Array, "d d"]
    factor: Float[Array, "d d"]
    errors: Float[Array, " d"]

    def residual_norm(self, theta: Float[Array, " M"]) -> Array:
        r"""$\lVert R_U\, U[p,:]^{-1} Z[p,:]\, \theta\rVert_2$: $O(dM + d^2)$."""
        values = self.representatives @ theta
        lam = jsl.solve_triangular(
            self.interpolation_matrix, values, lower=True, unit_diagonal=True
        )
        return jnp.linalg.norm(self.factor @ lam)


def residual_interpolant(
    model, reduced, training_set: Float[Array, "P p"], /, *, size: int | None = None, riesz=None
) -> ResidualInterpolant:
    r"""Build the EIM evaluation of `reduced`'s residual norm from a training set (offline).

    Parameters
    ----------
    model : rom.AffineModel
        The full-order model `reduced` was projected from.
    reduced : rom.ReducedModel
        Its Galerkin projection (`rom.galerkin` or `rom.weak_greedy`).
    training_set : Float[Array, "P p"]
        Parameters whose residual representatives train the EIM.
    size : int, optional
        $d \le \min(M, P)$, the number of magic points. By default the numerical rank of
        the snapshots (singular values above $\varepsilon \max(n, P) \sigma_1$), at most
        $M$: for $P \ge M$ training parameters typically $d = M$, where the interpolation
        reproduces every representative in the span of $Z$. Measured on the $2 \times 2$
        thermal block (`casenave2014`): with $d = M$ the estimate stays an upper bound down
        to true errors of $10^{-15}$, where the orthonormalized evaluation stops at
        $5 \cdot 10^{-15}$; cutting $d$ at the rounding floor of the residual instead
        (a few points once $\lVert r\rVert \approx \varepsilon \lVert f\rVert$) lost reliability.
    riesz : rom.RieszRepresentatives, optional
        The representatives of `reduced` (recomputed otherwise: $1 + QN$ solves with $X$).

    Returns
    -------
    ResidualInterpolant
        Attach it with ``eqx.tree_at`` or use `with_residual_interpolant`.
    """
    from .galerkin import residual_factorization, residual_matrix, riesz_representatives

    V = reduced.basis if reduced.active is None else reduced.basis[:, reduced.active]
    riesz = riesz_representatives(model, V) if riesz is None else riesz
    Z = residual_matrix(riesz)
    training = jnp.asarray(training_set, Z.dtype)
    if training.ndim != 2 or training.shape[1] != model.num_parameters:
        raise ValueError(
            f"training_set must be (P, p) = (P, {model.num_parameters}); got shape "
            f"{training.shape}."
        )
    thetas = jax.vmap(reduced.residual_coefficients)(training)  # (P, M)
    snapshots = Z @ thetas.T  # (n, P): G(mu_p)
    if size is None:
        size = min(_numerical_rank(snapshots), thetas.shape[1])
    else:
        M, P = thetas.shape[1], thetas.shape[0]
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= min(M, P):
            raise ValueError(
                f"size must be an int in [1, min(M, P)] = [1, {min(M, P)}]; got size={size!r}."
            )
    interpolant = eim(snapshots, size)
    _, factor = residual_factorization(model, interpolant.basis)
    return ResidualInterpolant(
        points=interpolant.indices,
        representatives=Z[interpolant.indices],
        interpolation_matrix=interpolant.interpolation_matrix,
        factor=factor,
        errors=interpolant.errors,
    )


def _numerical_rank(snapshots: Array) -> int:
    r"""The number of singular values of the snapshots above $\varepsilon \max(n, P) \sigma_1$."""
    s = np.linalg.svd(np.asarray(snapshots), compute_uv=False)
    floor = np.finfo(s.dtype).eps * max(snapshots.shape) * s[0]
    return max(1, int(np.count_nonzero(s > floor)))
