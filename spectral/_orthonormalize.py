r"""Orthonormalization of tall blocks for subspace and Krylov iterations.

Householder QR (LAPACK `geqrf`/`orgqr`) is the robust way to orthonormalize an
$m \times \ell$ block, but on a CPU it is a poor fit for the inner loop of a randomized
method: it runs at BLAS-2 speed, and the BLAS threads it wakes keep spinning after it
returns and slow down the large matrix product that follows (measured: the next
$A^\top Q$ takes twice as long). The blocks here are instead orthonormalized through their
small Gram matrix: a Cholesky factorization of an $\ell \times \ell$ matrix, its inverse
by products (`lower_triangular_inverse`) and two large, fast matrix products (Cholesky QR),

$$G = D Y^\top Y D,\quad D = \operatorname{diag}(Y^\top Y)^{-1/2},\quad
  L L^\top = G + sI,\quad Q^\top = L^{-1} D Y^\top.$$

The shift $s$ keeps the factorization defined for rank-deficient blocks, which then give
short rows instead of Inf/NaN (shifted Cholesky QR, Fukaya et al. 2020). One pass
(`normalize_rows`) gives the well-conditioned basis a normalizer between power iterations
needs (the role of scikit-learn's LU); a second, unshifted pass gives an orthonormal basis
when the first left one with $\kappa \lesssim 10$, and the result is otherwise replaced by
Householder QR (`orthonormalize_rows`).

No LAPACK eigensolver is called: an earlier version took the symmetric inverse square root
of $G$ (SVQB, Stathopoulos & Wu 2002), whose `syevd` wakes OpenBLAS's threads from
$\ell = 64$ on, and whose eigenvalue floor lost singular values below $\sqrt\varepsilon$
relative to the largest (`tests/spectral/test_randomized.py`). LAPACK's Cholesky
factorization is called only on blocks of order at most 127 (`blocked_cholesky_lower`),
below which it wakes no threads.

Blocks are stored as *rows* ($Y^\top \in \mathbb{R}^{\ell \times m}$, row-major), and the
products with a dense $A$ are arranged as plain (non-transposed) GEMMs (`_products`).

References
----------
Fukaya, Kannan, Nakatsukasa, Yamamoto & Yanagisawa (2020), "Shifted Cholesky QR for
computing the QR factorization of ill-conditioned matrices", SIAM J. Sci. Comput. 42(1),
doi:10.1137/18M1218212. [fukaya2020]
Stathopoulos & Wu (2002), "A block orthogonalization procedure with constant
synchronization requirements", SIAM J. Sci. Comput. 23(6), doi:10.1137/S1064827500370883.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import full_precision_derivative
from ._sequencing import after
from ._symmetric import blocked_cholesky_lower
from ._triangular import lower_triangular_inverse


def normalize_rows(Yt: Float[Array, "l m"]) -> Float[Array, "l m"]:
    r"""A well-conditioned basis of the row space of `Yt`: one shifted Cholesky QR pass.

    With $D = \operatorname{diag}(Y^\top Y)^{-1/2}$ and $G = D Y^\top Y D$ (unit diagonal),
    $L L^\top = G + s I$ and $Q^\top = L^{-1} D Y^\top$ ($4 m \ell^2$ flops in products).
    Then $Q^\top Q = I - s (G + sI)^{-1}$: singular values in $(0, 1]$, near 1 for every
    direction of $Y D$ with $\sigma^2 \gg s$, and directions below $\sqrt{s}$ shrunk rather
    than blown up, as a normalizer between power iterations needs (Fukaya et al. 2020). The
    shift is $s = \ell\varepsilon$; if the Cholesky factorization still fails (a numerically
    rank-deficient block, whose Gram matrix carries rounding errors up to about
    $m \ell \varepsilon$), it is redone with Fukaya et al.'s shift
    $11 (m\ell + \ell(\ell + 1))\,\varepsilon\,\lVert G\rVert_2$ ($\lVert G\rVert_2
    \le \ell$), which cannot fail.

    Unlike an SVQB pass, no LAPACK eigensolver: from $\ell = 64$ on, `syevd` wakes OpenBLAS
    threads that spin on and slow XLA's next product (`randomized_svd` of an
    $8000 \times 2000$ float64 matrix at $k = 54$: 595 ms with SVQB, 415 ms with this).

    References
    ----------
    Fukaya, Kannan, Nakatsukasa, Yamamoto & Yanagisawa (2020), "Shifted Cholesky QR for
    computing the QR factorization of ill-conditioned matrices", SIAM J. Sci. Comput.
    42(1), doi:10.1137/18M1218212. [fukaya2020]
    """
    tiny = jnp.finfo(Yt.dtype).tiny
    gram = Yt @ Yt.T
    d = jax.lax.rsqrt(jnp.maximum(jnp.diagonal(gram), tiny))
    factor = shifted_cholesky(gram * d[:, None] * d[None, :], Yt.shape[-1])
    return (lower_triangular_inverse(factor) * d[None, :]) @ Yt


def shifted_cholesky(G: Float[Array, "l l"], m: int) -> Float[Array, "l l"]:
    r"""Lower Cholesky factor of $G + sI$ for a Gram matrix $G$ of $m$-vectors, unit diagonal.

    $s = \ell\varepsilon$, or where that fails, $11 (m\ell + \ell(\ell + 1))\,\varepsilon\,
    \ell$ (Fukaya et al. 2020's shift with $\lVert G\rVert_2 \le \ell$), which cannot.
    """
    ell, dtype = G.shape[-1], G.dtype
    eps = jnp.finfo(dtype).eps
    eye = jnp.eye(ell, dtype=dtype)
    factor = blocked_cholesky_lower(G + (ell * eps) * eye)
    safe_shift = 11.0 * (m * ell + ell * (ell + 1)) * eps * ell
    # Ordered after the first factorization (see `_sequencing`: under vmap both run); the
    # dependence goes through nan_to_num because the first factor is NaN where it failed.
    G_safe = after(G + safe_shift * eye, jnp.nan_to_num(factor))
    return jax.lax.cond(
        jnp.all(jnp.isfinite(factor)), lambda: factor, lambda: blocked_cholesky_lower(G_safe)
    )


def orthonormalize_rows(Yt: Float[Array, "l m"]) -> Float[Array, "l m"]:
    r"""An orthonormal basis $Q^\top$ of the row space of `Yt` ($Q^\top Q = I$).

    Two Cholesky QR passes ($8 m \ell^2$ flops in matrix products): `normalize_rows`
    (shifted), then $Q_2^\top = L_2^{-1} Q_1^\top$ with $L_2 L_2^\top = Q_1^\top Q_1$,
    which leaves $\lVert Q_2^\top Q_2 - I\rVert \approx \varepsilon\,\kappa(Q_1)^2$. The
    second pass is used when $\lVert Q_1^\top Q_1 - I\rVert_F \le 0.98$, so that
    $\kappa(Q_1)^2 \le 99$ and the result is orthonormal to about $100\varepsilon$; otherwise
    (a rank-deficient or, after the column scaling, very ill-conditioned block) Householder
    QR of `Yt.T` is, so such blocks still give exactly orthonormal rows.
    """
    Q1t = normalize_rows(Yt)
    gram = Q1t @ Q1t.T
    eye = jnp.eye(gram.shape[-1], dtype=gram.dtype)
    well_conditioned = jnp.sum((gram - eye) ** 2) <= 0.98**2
    # NaN where the Gram matrix is not positive definite, and then not used.
    Q2t = lower_triangular_inverse(blocked_cholesky_lower(gram)) @ Q1t
    # Under vmap, lax.cond becomes a select that runs both branches; the Householder QR would
    # then be independent of the Cholesky factorizations (see `_sequencing`; tested in
    # tests/spectral/test_orthonormalize.py). nan_to_num: the dependence must not carry a
    # failed factorization's NaN into the fallback.
    Yt = after(Yt, jnp.nan_to_num(Q2t))
    return jax.lax.cond(well_conditioned, lambda: Q2t, lambda: _householder_rows(Yt))


@full_precision_derivative
def _householder_rows(Yt: Float[Array, "l m"]) -> Float[Array, "l m"]:
    return jnp.linalg.qr(Yt.T, mode="reduced")[0].T


def orthonormalize(Y: Float[Array, "m l"]) -> Float[Array, "m l"]:
    """Column version of `orthonormalize_rows`: an orthonormal basis of the span of `Y`."""
    return orthonormalize_rows(Y.T).T


def svd_rows(
    B: Float[Array, "l n"],
) -> tuple[Float[Array, "l l"], Float[Array, " l"], Float[Array, "l n"]]:
    r"""Thin SVD of a wide $\ell \times n$ block through an orthonormal basis of its rows.

    $B = R\,W^\top$ with $W^\top$ from `orthonormalize_rows` (matrix products) and
    $R = B W$ ($\ell \times \ell$); the SVD $R = \tilde U \Sigma \tilde V^\top$ then gives
    $B = \tilde U \Sigma (\tilde V^\top W^\top)$. As backward stable as LAPACK's SVD of
    $B$ (the error is $O(\varepsilon \|B\|)$), but the large part runs as matrix products:
    LAPACK's `gesdd` on the wide block wakes BLAS threads that keep spinning and slow down
    the next large product (see the module docstring).
    """
    Wt = orthonormalize_rows(B)
    R = B @ Wt.T
    # LAPACK's QR-iteration SVD (`gesvd`) rather than the default divide and conquer
    # (`gesdd`): as fast and as accurate at this size, but gesdd wakes OpenBLAS threads that
    # spin on after it (0.8 ms for 60 x 60, then the next 60 x 8000 by 8000 x 2000 float64
    # product took 46-50 ms instead of 31-33; after gesvd, 33.6).
    Ur, S, Vrh = jax.lax.linalg.svd(R, algorithm=jax.lax.linalg.SvdAlgorithm.QR)
    return Ur, S, Vrh @ Wt
