r"""Orthonormalization of tall blocks for subspace and Krylov iterations.

Householder QR (LAPACK `geqrf`/`orgqr`) is the robust way to orthonormalize an
$m \times \ell$ block, but on a CPU it is a poor fit for the inner loop of a randomized
method: it runs at BLAS-2 speed, and the BLAS threads it wakes keep spinning after it
returns and slow down the large matrix product that follows (measured: the next
$A^\top Q$ takes twice as long). The blocks here are instead orthonormalized through their
small Gram matrix, with one eigendecomposition of an $\ell \times \ell$ matrix and two
large, fast matrix products (SVQB, Stathopoulos & Wu 2002, in its symmetric form, which
returns the polar factor of $Y D$, so that the basis is unique and continuous in $Y$):

$$G = D Y^\top Y D,\quad D = \operatorname{diag}(Y^\top Y)^{-1/2},\quad
  G = V \Lambda V^\top,\quad Q = Y D V \Lambda^{-1/2} V^\top,$$

with eigenvalues below $\varepsilon\,\lambda_{\max}$ raised to that floor so that
rank-deficient blocks give tiny columns instead of Inf/NaN. Two passes give an orthonormal
basis when $\kappa(Y) \lesssim \varepsilon^{-1/2}$, and the result is checked and replaced
by Householder QR otherwise (`orthonormalize_rows`).

Between power iterations a well-conditioned basis of the same span is all that is needed
(the role of scikit-learn's LU): `normalize_rows` takes it from one *shifted Cholesky QR*
pass, $Q^\top = L^{-1} D Y^\top$ with $L L^\top = G + sI$, which calls no LAPACK
eigensolver (whose OpenBLAS threads, from $\ell = 64$ on, slow XLA's next product).

Blocks are stored as *rows* ($Y^\top \in \mathbb{R}^{\ell \times m}$, row-major), and the
products with a dense $A$ are arranged as plain (non-transposed) GEMMs (`_products`).

References
----------
Stathopoulos & Wu (2002), "A block orthogonalization procedure with constant
synchronization requirements", SIAM J. Sci. Comput. 23(6), doi:10.1137/S1064827500370883.
Fukaya, Kannan, Nakatsukasa, Yamamoto & Yanagisawa (2020), "Shifted Cholesky QR for
computing the QR factorization of ill-conditioned matrices", SIAM J. Sci. Comput. 42(1),
doi:10.1137/18M1218212. [fukaya2020]
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import full_precision_derivative, full_precision_products
from ._sequencing import after
from ._symmetric import blocked_cholesky_lower
from ._triangular import lower_triangular_inverse


@jax.custom_jvp
def _inv_sqrt_psd(G: Float[Array, "l l"]) -> tuple[Float[Array, "l l"], Float[Array, " l"]]:
    """`(G^{-1/2}, eigenvalues of G)` for symmetric PSD `G`, eigenvalues floored at eps."""
    dtype = G.dtype
    eps, tiny = jnp.finfo(dtype).eps, jnp.finfo(dtype).tiny
    w, V = jnp.linalg.eigh(G)
    s = jnp.sqrt(jnp.maximum(w, jnp.maximum(eps * w[-1], tiny)))
    return (V / s[None, :]) @ V.T, w


@_inv_sqrt_psd.defjvp
@full_precision_products  # traced lazily, maybe outside the public function's scope
def _inv_sqrt_psd_jvp(primals, tangents):
    # d(G^{-1/2}) solves the Sylvester equation M dX + dX M = -M dG M; in the eigenbasis
    # dX_ij = -(V^T dG V)_ij / (s_i s_j (s_i + s_j)). Unlike differentiating eigh, which
    # divides by eigenvalue gaps, this stays finite when G has repeated eigenvalues (as the
    # Gram matrix of a nearly orthonormal block, close to I, always has).
    (G,), (dG,) = primals, tangents
    dtype = G.dtype
    eps, tiny = jnp.finfo(dtype).eps, jnp.finfo(dtype).tiny
    w, V = jnp.linalg.eigh(G)
    s = jnp.sqrt(jnp.maximum(w, jnp.maximum(eps * w[-1], tiny)))
    M = (V / s[None, :]) @ V.T
    K = -1.0 / (s[:, None] * s[None, :] * (s[:, None] + s[None, :]))
    dM = V @ ((V.T @ dG @ V) * K) @ V.T
    dw = jnp.einsum("ij,ik,kj->j", V, dG, V)
    return (M, w), (dM, dw)


def _svqb(Yt: Float[Array, "l m"]) -> tuple[Float[Array, "l m"], Float[Array, " l"]]:
    """One SVQB pass on a row block; also returns the scaled Gram matrix's eigenvalues."""
    tiny = jnp.finfo(Yt.dtype).tiny
    gram = Yt @ Yt.T
    d = jax.lax.rsqrt(jnp.maximum(jnp.diagonal(gram), tiny))
    # M = D G^{-1/2}: the symmetric inverse square root (not V Lambda^{-1/2}) makes the
    # result the polar factor of Y D, unique and continuous in Y; a nearly orthonormal block
    # is left (nearly) unchanged instead of being rotated by the arbitrary eigenvectors of a
    # Gram matrix close to the identity.
    inv_sqrt, w = _inv_sqrt_psd(gram * d[:, None] * d[None, :])
    return (d[:, None] * inv_sqrt).T @ Yt, w


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
    LAPACK's Cholesky factorization does not below order 128 (`blocked_cholesky_lower` calls
    it only on blocks below that), and the triangular inverse is `lower_triangular_inverse`
    (products).

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

    Two SVQB passes ($8 m \ell^2$ flops in matrix products). If the first pass leaves a
    basis too ill-conditioned for the second to reach orthonormality to working precision
    ($\kappa^2 > 100$), Householder QR of `Yt.T` is used instead, so rank-deficient and
    very ill-conditioned blocks still give exactly orthonormal rows.
    """
    Q1t, _ = _svqb(Yt)
    Q2t, w = _svqb(Q1t)
    well_conditioned = (w[-1] > 0) & (w[-1] <= 100.0 * w[0])
    # Under vmap, lax.cond becomes a select that runs both branches; the Householder QR would
    # then be independent of the SVQB passes' eigh calls (see `_sequencing`; tested in
    # tests/spectral/test_orthonormalize.py).
    Yt = after(Yt, Q2t)
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
