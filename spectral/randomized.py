"""Randomized low-rank decompositions: range finder, SVD, symmetric eigh and Nyström.

All functions take the PRNG key first, treat sizes as static and data as traced, work in
the operator's dtype, and accept any operator (dense `jax.Array`, BCOO, `LinearOperator`).
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float, PRNGKeyArray

from ._checks import as_operator, check_finite, check_int, check_square, public_jit
from ._orthonormalize import normalize_rows, orthonormalize, orthonormalize_rows, svd_rows
from ._products import rows_times, rows_times_transpose
from ._results import EighResult, SVDResult


def _range_finder_rows(key: PRNGKeyArray, A: Any, size: int, power_iters: int) -> Array:
    """`Q.T` (size x m) for the range finder's orthonormal `Q` (blocks kept as rows)."""
    n = A.shape[1]
    Omega_t = jr.normal(key, (size, n), dtype=A.dtype)
    Yt = check_finite(rows_times_transpose(Omega_t, A), "A")

    def power_iteration(_, Yt):
        return rows_times_transpose(normalize_rows(rows_times(normalize_rows(Yt), A)), A)

    return orthonormalize_rows(jax.lax.fori_loop(0, power_iters, power_iteration, Yt))


@public_jit
def randomized_range_finder(
    key: PRNGKeyArray, A: Any, size: int, /, *, power_iters: int = 2
) -> Float[Array, "m size"]:
    r"""Orthonormal basis $Q$ of an approximate range of $A$ by randomized subspace iteration.

    Computes $Q = \operatorname{orth}\big((A A^\top)^q A \Omega\big)$ for a Gaussian test
    matrix $\Omega \in \mathbb{R}^{n \times \ell}$, re-normalizing the block after every
    product with $A$ or $A^\top$ so that the columns do not collapse onto the dominant
    singular vector in floating point (Algorithm 4.4 of Halko et al.). The normalizer is a
    shifted Cholesky QR pass on the column-scaled block (Fukaya et al. 2020), which keeps
    the span, tolerates rank deficiency and, unlike Householder QR, runs at matrix-product
    speed; the returned $Q$ is orthonormal to working precision (a second, unshifted pass,
    with Householder QR as the fallback when the block is too ill-conditioned for it).

    Parameters
    ----------
    key : PRNGKeyArray
        Draws $\Omega$.
    A : operator, shape (m, n)
        Dense, BCOO, or `LinearOperator`.
    size : int
        $\ell$, the number of columns of $Q$; static, $1 \le \ell \le \min(m, n)$.
    power_iters : int
        $q \ge 0$, the number of power iterations; static.

    Returns
    -------
    Float[Array, "m size"]
        $Q$ with orthonormal columns.

    Raises
    ------
    TypeError, ValueError
        For a non-operator, a non-2-D or non-floating `A`, or `size`/`power_iters` out of range.
    EquinoxRuntimeError
        If `A` holds NaN or Inf (checked on the first sketch, also under jit).

    Notes
    -----
    Cost: $2q + 1$ products of $A$ or $A^\top$ with an $\ell$-column block
    ($\approx 2(2q+1) m n \ell$ flops for dense $A$), plus $2q + 1$ orthonormalizations of
    $O((m + n)\ell^2)$; memory $O((m + n)\ell)$ beyond $A$.

    References
    ----------
    Halko, Martinsson & Tropp (2011), "Finding structure with randomness: probabilistic
    algorithms for constructing approximate matrix decompositions", SIAM Review 53(2),
    doi:10.1137/090771806. [halko2011]
    Fukaya, Kannan, Nakatsukasa, Yamamoto & Yanagisawa (2020), "Shifted Cholesky QR for
    computing the QR factorization of ill-conditioned matrices", SIAM J. Sci. Comput.
    42(1), doi:10.1137/18M1218212. [fukaya2020]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> A = jnp.outer(jnp.arange(1.0, 6.0), jnp.ones(4))     # rank one
    >>> Q = spectral.randomized_range_finder(jax.random.key(0), A, 1)
    >>> bool(jnp.allclose(Q @ (Q.T @ A), A, atol=1e-5))
    True
    """
    A = as_operator(A, "A")
    m, n = A.shape
    size = check_int(size, "size", low=1, high=min(m, n), why=" (at most min(m, n))")
    power_iters = check_int(power_iters, "power_iters", low=0)
    return _range_finder_rows(key, A, size, power_iters).T


def _sketch_size(rank: int, oversample: int, m: int, n: int) -> int:
    return min(rank + oversample, m, n)


@public_jit
def randomized_svd(
    key: PRNGKeyArray,
    A: Any,
    rank: int,
    /,
    *,
    oversample: int = 10,
    power_iters: int = 2,
) -> SVDResult:
    r"""Truncated SVD $A \approx U \operatorname{diag}(S) V_h$ by randomized subspace iteration.

    With $Q$ from `randomized_range_finder` ($\ell = k + p$ columns, $q$ power
    iterations), forms $B = Q^\top A$ (one product $A^\top Q$), takes the SVD
    $B = \tilde U \Sigma V_h$ of the small $\ell \times n$ matrix and returns the leading
    $k$ triplets with $U = Q \tilde U$. For $q = 0$ and $p \ge 2$ the projection onto the
    sketch satisfies (Halko et al., Thm. 10.5)

    $$\mathbb{E}\,\|A - Q Q^\top A\|_F
      \le \Big(1 + \tfrac{k}{p - 1}\Big)^{1/2} \Big(\sum_{j > k} \sigma_j^2\Big)^{1/2},$$

    the spectral-norm analogue is Thm. 10.6 (Cor. 10.10 with power iterations), and the
    truncation to rank $k$ adds at most $\sigma_{k+1}$:
    $\|A - U \operatorname{diag}(S) V_h\|_2 \le \sigma_{k+1} + \|A - Q Q^\top A\|_2$
    (Sec. 9.4). Each power iteration sharpens the error towards $\sigma_{k+1}$ by
    raising the singular values to the power $2q + 1$.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the Gaussian test matrix; same key, same result.
    A : operator, shape (m, n)
        Dense, BCOO, or `LinearOperator`.
    rank : int
        $k$, the number of singular triplets; static, $1 \le k \le \min(m, n)$.
    oversample : int
        $p \ge 0$ extra sketch columns (clipped so that $k + p \le \min(m, n)$); static.
    power_iters : int
        $q \ge 0$ power iterations; static.

    Returns
    -------
    SVDResult
        `U` (m, k) orthonormal, `S` (k,) descending, `Vh` (k, n) orthonormal rows.

    Raises
    ------
    TypeError, ValueError
        For a non-operator, a non-2-D or non-floating `A`, or `rank`, `oversample` or
        `power_iters` out of range.
    EquinoxRuntimeError
        If `A` holds NaN or Inf (checked on the first sketch, also under jit).

    Notes
    -----
    Cost: $2q + 2$ passes over $A$, each a product with an $\ell$-column block
    ($\approx 4(q + 1) m n \ell$ flops for dense $A$), which is the physical floor of the
    method; the orthonormalizations and the small SVD add $O((m + n)\ell^2)$ per pass. Memory
    $O((m + n)\ell)$ beyond $A$.

    References
    ----------
    Halko, Martinsson & Tropp (2011), "Finding structure with randomness: probabilistic
    algorithms for constructing approximate matrix decompositions", SIAM Review 53(2),
    doi:10.1137/090771806. [halko2011]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> A = jax.random.normal(jax.random.key(1), (60, 40)) * 0.5 ** jnp.arange(40.0)
    >>> U, S, Vh = spectral.randomized_svd(jax.random.key(0), A, 5)
    >>> U.shape, S.shape, Vh.shape
    ((60, 5), (5,), (5, 40))
    >>> bool(jnp.allclose(S, jnp.linalg.svd(A, compute_uv=False)[:5], rtol=1e-4))
    True
    """
    A = as_operator(A, "A")
    m, n = A.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n), why=" (at most min(m, n))")
    oversample = check_int(oversample, "oversample", low=0)
    power_iters = check_int(power_iters, "power_iters", low=0)
    ell = _sketch_size(rank, oversample, m, n)
    Qt = _range_finder_rows(key, A, ell, power_iters)
    B = rows_times(Qt, A)  # Q^T A, (ell, n)
    Ub, S, Vh = svd_rows(B)
    return SVDResult(Qt.T @ Ub[:, :rank], S[:rank], Vh[:rank])


@public_jit
def randomized_eigh(
    key: PRNGKeyArray,
    A: Any,
    rank: int,
    /,
    *,
    oversample: int = 10,
    power_iters: int = 2,
) -> EighResult:
    r"""Dominant eigenpairs of a symmetric operator by randomized subspace iteration.

    With $Q$ from `randomized_range_finder` (for symmetric $A$, $Q$ approximates the span
    of the eigenvectors of largest $|\lambda|$), forms the Rayleigh quotient
    $T = Q^\top A Q$, its eigendecomposition $T = Z \Lambda Z^\top$, and returns the $k$
    eigenpairs of largest magnitude, $(\lambda_i, Q z_i)$ (Halko et al., Algorithm 5.3).

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the Gaussian test matrix.
    A : operator, shape (n, n)
        Symmetric (not checked: a non-symmetric `A` gives the eigenpairs of an unspecified
        compression of it). Dense, BCOO, or `LinearOperator`.
    rank : int
        $k$; static, $1 \le k \le n$.
    oversample : int
        $p \ge 0$ extra sketch columns (clipped to $k + p \le n$); static.
    power_iters : int
        $q \ge 0$ power iterations; static.

    Returns
    -------
    EighResult
        `eigenvalues` (k,) ordered by decreasing magnitude, `eigenvectors` (n, k)
        orthonormal.

    Raises
    ------
    TypeError, ValueError
        For a bad operator (non-square included), or sizes out of range.
    EquinoxRuntimeError
        If `A` holds NaN or Inf.

    Notes
    -----
    Cost: $2q + 2$ products of $A$ with an $\ell$-column block, $\ell = k + p$, plus
    $O(n \ell^2)$ for the orthonormalizations and $O(\ell^3)$ for the small eigh.

    References
    ----------
    Halko, Martinsson & Tropp (2011), SIAM Review 53(2), doi:10.1137/090771806. [halko2011]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> A = jnp.diag(jnp.array([5.0, -4.0, 1.0, 0.1, 0.01]))
    >>> w, V = spectral.randomized_eigh(jax.random.key(0), A, 2, oversample=3)
    >>> [round(float(x), 4) for x in w]
    [5.0, -4.0]
    """
    A = as_operator(A, "A")
    check_square(A, "A")
    n = A.shape[0]
    rank = check_int(rank, "rank", low=1, high=n, why=" (at most n)")
    oversample = check_int(oversample, "oversample", low=0)
    power_iters = check_int(power_iters, "power_iters", low=0)
    ell = _sketch_size(rank, oversample, n, n)
    Qt = _range_finder_rows(key, A, ell, power_iters)
    Q = Qt.T
    T = rows_times(Qt, A) @ Q  # Q^T A Q
    w, Z = jnp.linalg.eigh(0.5 * (T + T.T))
    order = jnp.argsort(-jnp.abs(w))[:rank]
    return EighResult(w[order], Q @ Z[:, order])


@public_jit
def nystrom(
    key: PRNGKeyArray,
    A: Any,
    rank: int,
    /,
    *,
    oversample: int = 10,
    power_iters: int = 0,
) -> EighResult:
    r"""Low-rank eigendecomposition of a PSD operator by the stable shifted Nyström method.

    The Nyström approximation $\hat A = (A\Omega)(\Omega^\top A \Omega)^{+}(A\Omega)^\top$
    is computed stably as in Tropp et al. (2017), Algorithm 3: with an orthonormal test
    matrix $\Omega$ ($\ell = k + p$ columns), $Y = A\Omega$, a shift
    $\nu = \sqrt{n}\,\varepsilon\,\|Y\|_F$, $Y_\nu = Y + \nu\Omega$,
    $C = \operatorname{chol}(\Omega^\top Y_\nu)$, $B = Y_\nu C^{-\top}$, the thin SVD
    $B = U \Sigma W^\top$, and eigenvalues $\max(\Sigma^2 - \nu, 0)$; the leading $k$ are
    returned. The shift keeps the Cholesky factorization well-posed when $A$ is
    numerically rank deficient, and is removed afterwards.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the test matrix.
    A : operator, shape (n, n)
        Symmetric positive semidefinite. Dense, BCOO, or `LinearOperator`.
    rank : int
        $k$; static, $1 \le k \le n$.
    oversample : int
        $p \ge 0$ (clipped to $k + p \le n$); static.
    power_iters : int
        $q \ge 0$; if positive, $\Omega$ is the output of `randomized_range_finder` with $q$
        power iterations instead of an orthonormalized Gaussian matrix (more accurate for
        slowly decaying spectra, at $2q$ more passes); static.

    Returns
    -------
    EighResult
        `eigenvalues` (k,) non-negative, descending; `eigenvectors` (n, k) orthonormal.

    Raises
    ------
    TypeError, ValueError
        For a bad operator (non-square included), or sizes out of range.
    EquinoxRuntimeError
        If `A` holds NaN or Inf, or if $\Omega^\top (A + \nu I)\Omega$ is not positive
        definite, which happens when `A` is not positive semidefinite (symmetry itself is not
        checked).

    Notes
    -----
    Cost: one pass over $A$ ($2 n^2 \ell$ flops for dense $A$) when `power_iters=0`,
    $2q + 2$ otherwise, plus $O(n \ell^2)$ for the QR, Cholesky solve and SVD.

    References
    ----------
    Tropp, Yurtsever, Udell & Cevher (2017), "Fixed-rank approximation of a
    positive-semidefinite matrix from streaming data", NeurIPS 30, arXiv:1706.05736.
    [tropp2017]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> X = jax.random.normal(jax.random.key(1), (50, 3))
    >>> w, V = spectral.nystrom(jax.random.key(0), X @ X.T, 3)
    >>> bool(jnp.allclose(w, jnp.linalg.eigvalsh(X @ X.T)[::-1][:3], rtol=1e-4))
    True
    """
    A = as_operator(A, "A")
    check_square(A, "A")
    n = A.shape[0]
    rank = check_int(rank, "rank", low=1, high=n, why=" (at most n)")
    oversample = check_int(oversample, "oversample", low=0)
    power_iters = check_int(power_iters, "power_iters", low=0)
    ell = _sketch_size(rank, oversample, n, n)
    if power_iters > 0:
        Omega = _range_finder_rows(key, A, ell, power_iters).T
    else:
        Omega = orthonormalize(jr.normal(key, (n, ell), dtype=A.dtype))
    Y = check_finite(A @ Omega, "A")
    eps = jnp.finfo(A.dtype).eps
    nu = jnp.sqrt(jnp.asarray(n, A.dtype)) * eps * jnp.linalg.norm(Y)
    Y_nu = Y + nu * Omega
    G = Omega.T @ Y_nu
    C = jnp.linalg.cholesky(0.5 * (G + G.T))
    C = eqx.error_if(
        C,
        ~jnp.all(jnp.isfinite(C)),
        "A must be positive semidefinite: the Cholesky factorization of "
        "Omega^T (A + nu I) Omega failed.",
    )
    B = jsl.solve_triangular(C, Y_nu.T, lower=True).T  # Y_nu C^{-T}
    _, sigma, Ut = svd_rows(B.T)
    U = Ut.T
    eigenvalues = jnp.maximum(sigma[:rank] ** 2 - nu, 0.0)
    return EighResult(eigenvalues, U[:, :rank])
