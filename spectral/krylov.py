"""Krylov-subspace eigensolvers: block Krylov SVD and Lanczos with full reorthogonalization.

Both build an orthonormal basis of a Krylov space in a preallocated buffer inside a
`jax.lax.fori_loop`, reorthogonalizing every new block against the whole basis (classical
Gram–Schmidt, twice), then extract Ritz values from the small projected problem.
"""

from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ._checks import as_operator, check_choice, check_finite, check_int, check_square, public_jit
from ._orthonormalize import orthonormalize_rows, svd_rows
from ._products import rows_times, rows_times_transpose
from ._results import EighResult, SVDResult


def _project_out_rows(Qt: Float[Array, "L m"], Wt: Float[Array, "b m"]) -> Float[Array, "b m"]:
    """Rows of `Wt` minus their projection on the rows of `Qt`, twice (CGS2).

    Zero rows of `Qt` (the unfilled part of a preallocated basis) are harmless.
    """
    Wt = Wt - (Wt @ Qt.T) @ Qt
    return Wt - (Wt @ Qt.T) @ Qt


@public_jit
def block_krylov_svd(
    key: PRNGKeyArray,
    A: Any,
    rank: int,
    /,
    *,
    depth: int = 2,
    block_size: int | None = None,
) -> SVDResult:
    r"""Truncated SVD from a block Krylov space (randomized block Krylov iteration).

    Builds an orthonormal basis $Q$ of
    $\mathcal K = \operatorname{span}[A\Omega, (AA^\top)A\Omega, \dots, (AA^\top)^q A\Omega]$
    for a Gaussian $\Omega \in \mathbb{R}^{n \times b}$, then takes the Rayleigh–Ritz
    approximation: the SVD of $B = Q^\top A$, $U = Q\tilde U_k$. Musco & Musco prove
    $\|A - U U^\top A\|_2 \le (1 + \epsilon)\sigma_{k+1}$ with high probability after
    $q = O(\log n / \sqrt{\epsilon})$ steps, against $O(\log n / \epsilon)$ for simultaneous
    (power) iteration, so it reaches a given accuracy in fewer passes over $A$.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws $\Omega$.
    A : operator, shape (m, n)
        Dense, BCOO, or `LinearOperator`.
    rank : int
        $k$; static, $1 \le k \le b (q + 1) \le \min(m, n)$.
    depth : int
        $q \ge 0$, the number of $AA^\top$ applications (the space has $q + 1$ blocks);
        static.
    block_size : int or None
        $b$, columns per block; `None` means $b = k$ (Musco & Musco's choice); static.

    Returns
    -------
    SVDResult
        `U` (m, k), `S` (k,) descending, `Vh` (k, n).

    Raises
    ------
    TypeError, ValueError
        For a bad operator or sizes out of range (including $b(q+1) > \min(m, n)$).
    EquinoxRuntimeError
        If `A` holds NaN or Inf.

    Notes
    -----
    Cost: $2q + 2$ passes over $A$ with a $b$-column block (the last one, $A^\top Q$, also
    gives $B$, because the products $A^\top Q_i$ of earlier blocks are kept), so
    $\approx 4(q + 1) m n b$ flops for dense $A$; plus $O(m b^2 (q + 1)^2)$ for the
    reorthogonalization and $O(n b^2 (q + 1)^2)$ for the final SVD. Memory
    $O((m + n) b (q + 1))$.

    References
    ----------
    Musco & Musco (2015), "Randomized block Krylov methods for stronger and faster
    approximate singular value decomposition", NeurIPS 28, arXiv:1504.05477. [musco2015]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> A = jax.random.normal(jax.random.key(1), (80, 50)) * 0.8 ** jnp.arange(50.0)
    >>> U, S, Vh = spectral.block_krylov_svd(jax.random.key(0), A, 4, depth=3)
    >>> bool(jnp.allclose(S, jnp.linalg.svd(A, compute_uv=False)[:4], rtol=1e-6))
    True
    """
    A = as_operator(A, "A")
    m, n = A.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n), why=" (at most min(m, n))")
    depth = check_int(depth, "depth", low=0)
    b = rank if block_size is None else check_int(block_size, "block_size", low=1)
    L = b * (depth + 1)
    if not rank <= L <= min(m, n):
        raise ValueError(
            f"block_size * (depth + 1) must lie in [rank, min(m, n)] = [{rank}, {min(m, n)}]; "
            f"got block_size={b}, depth={depth}, giving {L}."
        )
    Omega_t = jr.normal(key, (b, n), dtype=A.dtype)
    Y0t = orthonormalize_rows(check_finite(rows_times_transpose(Omega_t, A), "A"))
    Qt = jnp.zeros((L, m), A.dtype).at[:b].set(Y0t)  # the Krylov basis, as rows
    Zt = jnp.zeros((L, n), A.dtype)  # Zt[block i] = Qt[block i] @ A

    def extend(i, carry):
        Qt, Zt = carry
        Yit = jax.lax.dynamic_slice_in_dim(Qt, i * b, b, axis=0)
        Zit = rows_times(Yit, A)
        Zt = jax.lax.dynamic_update_slice_in_dim(Zt, Zit, i * b, axis=0)
        Wt = orthonormalize_rows(_project_out_rows(Qt, rows_times_transpose(Zit, A)))
        # Once more: if the Krylov space became invariant, Wt was (numerically) rank
        # deficient and its orthonormal completion need not be orthogonal to the basis.
        Wt = orthonormalize_rows(_project_out_rows(Qt, Wt))
        Qt = jax.lax.dynamic_update_slice_in_dim(Qt, Wt, (i + 1) * b, axis=0)
        return Qt, Zt

    Qt, Zt = jax.lax.fori_loop(0, depth, extend, (Qt, Zt))
    Zt = Zt.at[depth * b :].set(rows_times(Qt[depth * b :], A))
    Ub, S, Vh = svd_rows(Zt)  # Zt = Q^T A
    return SVDResult(Qt.T @ Ub[:, :rank], S[:rank], Vh[:rank])


_WHICH = ("LM", "LA", "SA")


@public_jit
def lanczos_eigh(
    key: PRNGKeyArray,
    A: Any,
    rank: int,
    /,
    *,
    iters: int | None = None,
    which: str = "LM",
) -> EighResult:
    r"""Extreme eigenpairs of a symmetric operator by Lanczos with full reorthogonalization.

    Runs $j$ = `iters` steps of the Lanczos recurrence
    $\beta_{i} v_{i+1} = A v_i - \alpha_i v_i - \beta_{i-1} v_{i-1}$ from a random unit
    $v_0$, reorthogonalizing each new vector against all previous ones (twice), so that
    $V_j^\top A V_j = T_j$ is tridiagonal to working precision. The Ritz pairs
    $(\theta, V_j s)$ of $T_j = S\,\Theta\,S^\top$ approximate the extreme eigenpairs of
    $A$; the error in $\theta$ decays like a Chebyshev polynomial of degree $j$ in the
    relative gap (Saad 2011, Ch. 6). An invariant subspace (a breakdown $\beta_i \approx 0$)
    is handled by continuing from a fresh random vector orthogonal to the basis.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the starting vector (and any restart vectors).
    A : operator, shape (n, n)
        Symmetric (not checked). Only `A @ x` is used, so a `LinearOperator` needs no
        `rmatmat`.
    rank : int
        $k$, the number of eigenpairs; static, $1 \le k \le$ `iters`.
    iters : int or None
        $j$, the Krylov dimension (number of products with $A$); static,
        $k \le j \le n$. `None` means $\min(n, \max(2k + 1, 20))$, SciPy's `eigsh` default.
    which : {"LM", "LA", "SA"}
        Largest magnitude, largest algebraic, or smallest algebraic eigenvalues, as in
        `scipy.sparse.linalg.eigsh`; static.

    Returns
    -------
    EighResult
        `eigenvalues` (k,) most extreme first (by `which`), `eigenvectors` (n, k).

    Raises
    ------
    TypeError, ValueError
        For a bad operator (non-square included), sizes out of range or an unknown `which`.
    EquinoxRuntimeError
        If `A` holds NaN or Inf.

    Notes
    -----
    Cost: $j$ products $A v$, $O(n j^2)$ flops for the reorthogonalization and $O(j^3)$
    for the tridiagonal eigenproblem; memory $O(n j)$ for the basis.

    References
    ----------
    Lanczos (1950), "An iteration method for the solution of the eigenvalue problem of
    linear differential and integral operators", J. Res. Nat. Bur. Standards 45(4).
    Saad (2011), "Numerical methods for large eigenvalue problems", 2nd ed., SIAM,
    doi:10.1137/1.9781611970739. [lanczos1950, saad2011]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> A = jnp.diag(jnp.arange(1.0, 101.0))
    >>> w, V = spectral.lanczos_eigh(jax.random.key(0), A, 3, iters=60, which="LA")
    >>> [round(float(x), 6) for x in w]
    [100.0, 99.0, 98.0]
    """
    A = as_operator(A, "A")
    check_square(A, "A")
    n = A.shape[0]
    rank = check_int(rank, "rank", low=1, high=n, why=" (at most n)")
    if iters is None:
        iters = min(n, max(2 * rank + 1, 20))
    iters = check_int(iters, "iters", low=rank, high=n, why=" (rank <= iters <= n)")
    which = check_choice(which, "which", _WHICH)
    dtype = A.dtype
    eps = jnp.finfo(dtype).eps
    key_start, key_restart = jr.split(key)

    v0 = jr.normal(key_start, (n,), dtype=dtype)
    V = jnp.zeros((iters + 1, n), dtype).at[0].set(v0 / jnp.linalg.norm(v0))
    alpha = jnp.zeros((iters,), dtype)
    beta = jnp.zeros((iters,), dtype)

    def restart_vector(i, V):
        # An invariant subspace was found: continue from a random vector orthogonal to V.
        r = jr.normal(jr.fold_in(key_restart, i), (n,), dtype=dtype)
        r = r - V.T @ (V @ r)
        r = r - V.T @ (V @ r)
        return r / jnp.maximum(jnp.linalg.norm(r), jnp.finfo(dtype).tiny), jnp.zeros((), dtype)

    def step(i, carry):
        V, alpha, beta, scale = carry
        w = A @ V[i]
        h = V @ w
        w = w - V.T @ h
        h2 = V @ w
        w = w - V.T @ h2
        a = h[i] + h2[i]
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.maximum(jnp.abs(a), b))
        breakdown = b <= n * eps * scale
        v_next, b = jax.lax.cond(
            breakdown,
            restart_vector,
            lambda i, V: (w / jnp.where(b > 0, b, 1), b),
            i,
            V,
        )
        V = V.at[i + 1].set(v_next)  # row `iters` is scratch, dropped at the end
        return V, alpha.at[i].set(a), beta.at[i].set(b), scale

    V, alpha, beta, _ = jax.lax.fori_loop(0, iters, step, (V, alpha, beta, jnp.zeros((), dtype)))
    V = V[:iters]
    alpha = check_finite(alpha, "A")
    T = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    theta, S = jnp.linalg.eigh(T)
    if which == "LM":
        order = jnp.argsort(-jnp.abs(theta))
    elif which == "LA":
        order = jnp.argsort(-theta)
    else:
        order = jnp.argsort(theta)
    order = order[:rank]
    return EighResult(theta[order], V.T @ S[:, order])
