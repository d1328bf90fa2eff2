r"""Jacobi eigenvalue and singular value algorithms with random, cyclic or greedy pivoting.

Two-sided Jacobi (`jacobi_eigh`) diagonalizes a symmetric $A$ by plane rotations
$A \leftarrow J_{pq}^\top A J_{pq}$, each chosen to zero the pair $(p, q)$; one-sided
Jacobi (Hestenes 1958; `jacobi_svd`) rotates the columns of $X$ until they are mutually
orthogonal, which is two-sided Jacobi applied implicitly to $X^\top X$. Both reduce the
off-diagonal mass

$$\operatorname{off}(A)^2 = \sum_{i \ne j} a_{ij}^2$$

by exactly $2 a_{pq}^2$ per rotation, because an orthogonal similarity keeps
$\lVert A\rVert_F$ and the rotated $2 \times 2$ block becomes diagonal.

Pivoting, the rule that picks the pairs:

- ``"random"`` (Detherage & Shah): at each step a uniformly random perfect matching of
  the indices (a random permutation read in pairs) and all its $\lfloor n/2\rfloor$
  disjoint rotations at once; disjoint rotations commute, so a step is one vectorized
  update of $O(n^2)$ work. A single uniformly random pair $(p, q)$ gives
  $\mathbb{E}\,\operatorname{off}(A')^2 = (1 - 2/(n(n-1)))\operatorname{off}(A)^2$ (the
  expected decrease is $2\,\mathbb{E}\,a_{pq}^2 = \operatorname{off}(A)^2 / \binom{n}{2}$);
  a random perfect matching contains each pair with probability $1/(n-1)$ ($n$ even;
  $1/n$ for odd $n$), so a step gives $\mathbb{E}\,\operatorname{off}(A')^2 =
  (1 - 1/(n-1))\operatorname{off}(A)^2$ (resp. $(1 - 1/n)$). These are exact identities
  for every $A$, hence $\mathbb{E}\operatorname{off}(A_t)^2$ decays exactly geometrically:
  the linear rate of Detherage & Shah's randomized pivoting for pairs ($k = 2$).
- ``"cyclic"``: the round-robin (tournament) ordering: $n - 1$ perfect matchings per sweep
  that together visit every pair once (Brent & Luk's parallel ordering), also applied as
  vectorized steps; quadratically convergent in the last sweeps.
- ``"greedy"``: classical Jacobi (1846): one rotation per step, at the largest
  $|a_{pq}|$ (for the SVD: the largest $|x_p^\top x_q| / (\lVert x_p\rVert \lVert
  x_q\rVert)$); $O(n^2)$ per step for the search.

A sweep is $n - 1$ matching steps ($n$ for odd $n$) for ``"random"`` and ``"cyclic"``,
and $n(n-1)/2$ single rotations for ``"greedy"``: $n(n-1)/2$ rotations in all, in each case.
Odd $n$ is handled by a zero dummy row and column (its rotations are exactly the identity).

References
----------
Detherage & Shah (2025), "A Unified Perspective on Orthogonalization and
Diagonalization", arXiv:2505.02023. [detherage2025]
Hestenes (1958), "Inversion of matrices by biorthogonalization and related results",
J. SIAM 6(1). Brent & Luk (1985), "The solution of singular-value and symmetric eigenvalue
problems on multiprocessor arrays", SIAM J. Sci. Stat. Comput. 6(1).
Demmel & Veselić (1992), "Jacobi's method is more accurate than QR", SIAM J. Matrix Anal.
Appl. 13(4).
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ._checks import check_choice, check_int, public_jit
from ._results import EighResult, SVDResult

PIVOTINGS = ("random", "cyclic", "greedy")
DEFAULT_SWEEPS = 40


# --- rotations ---------------------------------------------------------------------------


def _rotation(app: Array, aqq: Array, apq: Array) -> tuple[Array, Array, Array]:
    r"""$(c, s, t)$ of the rotation that zeroes $a_{pq}$ of $[[a_{pp}, a_{pq}], [a_{pq}, a_{qq}]]$.

    $t = \tan\phi$ is the smaller root of $t^2 + 2\theta t - 1 = 0$, $\theta = (a_{qq} -
    a_{pp}) / (2 a_{pq})$, written without $\theta$ (no overflow, $t = 0$ when $a_{pq} =
    0$): $t = 2 a_{pq} \operatorname{sign}(d) / (|d| + \sqrt{d^2 + 4 a_{pq}^2})$, $d =
    a_{qq} - a_{pp}$, $\operatorname{sign}(0) = 1$. With $J_{pp} = J_{qq} = c$, $J_{pq} = s$,
    $J_{qp} = -s$: $(J^\top A J)_{pq} = 0$, $a'_{pp} = a_{pp} - t a_{pq}$ and
    $a'_{qq} = a_{qq} + t a_{pq}$.
    """
    d = aqq - app
    sign = jnp.where(d >= 0, 1.0, -1.0).astype(d.dtype)
    denominator = jnp.abs(d) + jnp.hypot(d, 2 * apq)
    safe = jnp.where(denominator > 0, denominator, 1.0)
    t = jnp.where(denominator > 0, 2 * apq * sign / safe, 0.0)
    c = 1 / jnp.sqrt(1 + t * t)
    return c, t * c, t


def _rotate_columns(X: Array, p: Array, q: Array, c: Array, s: Array) -> Array:
    """`X @ J` for disjoint pairs: column p <- c x_p - s x_q, column q <- s x_p + c x_q."""
    Xp, Xq = X[:, p], X[:, q]
    c, s = c[None, :], s[None, :]
    return X.at[:, p].set(c * Xp - s * Xq).at[:, q].set(s * Xp + c * Xq)


def _rotate_rows(X: Array, p: Array, q: Array, c: Array, s: Array) -> Array:
    """`J.T @ X` for disjoint pairs."""
    Xp, Xq = X[p, :], X[q, :]
    c, s = c[:, None], s[:, None]
    return X.at[p, :].set(c * Xp - s * Xq).at[q, :].set(s * Xp + c * Xq)


def _two_sided_step(A: Array, V: Array, p: Array, q: Array) -> tuple[Array, Array]:
    """Apply the rotations of the disjoint pairs (p, q) to symmetric A and accumulate V."""
    app, aqq, apq = A[p, p], A[q, q], A[p, q]
    c, s, t = _rotation(app, aqq, apq)
    A = _rotate_rows(_rotate_columns(A, p, q, c, s), p, q, c, s)
    # The rotated 2 x 2 blocks are diagonal by construction: set them exactly.
    A = A.at[p, p].set(app - t * apq).at[q, q].set(aqq + t * apq)
    A = A.at[p, q].set(0.0).at[q, p].set(0.0)
    return A, _rotate_columns(V, p, q, c, s)


def _one_sided_step(X: Array, V: Array, p: Array, q: Array) -> tuple[Array, Array]:
    """Rotate the column pairs (p, q) of X to orthogonality (Hestenes), accumulate V."""
    Xp, Xq = X[:, p], X[:, q]
    alpha = jnp.sum(Xp * Xp, axis=0)
    beta = jnp.sum(Xq * Xq, axis=0)
    gamma = jnp.sum(Xp * Xq, axis=0)
    c, s, _ = _rotation(alpha, beta, gamma)
    return _rotate_columns(X, p, q, c, s), _rotate_columns(V, p, q, c, s)


# --- pivoting schedules --------------------------------------------------------------------


def round_robin(n: int) -> np.ndarray:
    """The round-robin schedule on an even number `n` of indices: `(n - 1, n // 2, 2)`.

    Round `t` fixes index 0 and rotates the others by `t` (the circle method); every pair
    `{i, j}` appears in exactly one round, and each round is a perfect matching.
    """
    others = np.arange(1, n)
    rounds = []
    for t in range(n - 1):
        ring = np.concatenate([[0], np.roll(others, t)])
        rounds.append(np.stack([ring[: n // 2], ring[::-1][: n // 2]], axis=1))
    return np.asarray(rounds, dtype=np.int32)


def random_matching(key: PRNGKeyArray, n: int) -> tuple[Array, Array]:
    """A uniformly random perfect matching of `range(n)`, `n` even: pairs `(p[i], q[i])`.

    The permutation sorts `n` i.i.d. uniform numbers (one sort; ties have probability ~0).
    """
    perm = jnp.argsort(jr.uniform(key, (n,)))
    return perm[0::2], perm[1::2]


def _largest_pair(M: Array) -> tuple[Array, Array]:
    """`(p, q)` (arrays of length 1) of the largest `|M[p, q]|`, `p != q`."""
    n = M.shape[0]
    scores = jnp.where(jnp.eye(n, dtype=bool), -1.0, jnp.abs(M))
    flat = jnp.argmax(scores)
    i, j = flat // n, flat % n
    return jnp.minimum(i, j)[None], jnp.maximum(i, j)[None]


def _off_norm(A: Array) -> Array:
    r"""$\operatorname{off}(A) = \lVert A - \operatorname{diag}(A)\rVert_F$."""
    return jnp.sqrt(jnp.sum(jnp.where(jnp.eye(A.shape[0], dtype=bool), 0.0, A * A)))


def _cosines(X: Array) -> Array:
    r"""Cosines $|x_p^\top x_q| / (\lVert x_p\rVert \lVert x_q\rVert)$, zero on the diagonal."""
    G = X.T @ X
    d = jnp.sqrt(jnp.diag(G))
    scale = d[:, None] * d[None, :]
    cos = jnp.where(scale > 0, jnp.abs(G) / jnp.where(scale > 0, scale, 1.0), 0.0)
    return jnp.where(jnp.eye(G.shape[0], dtype=bool), 0.0, cos)


def _sweep(
    state: tuple[Array, Array],
    key: PRNGKeyArray,
    sweep: Array,
    pivoting: str,
    step: Callable,
    pivot_matrix: Callable,
) -> tuple[Array, Array]:
    """One sweep: n(n-1)/2 rotations in matchings (random, cyclic) or one at a time (greedy)."""
    n = state[1].shape[0]
    if pivoting == "greedy":

        def greedy_step(_, carry):
            p, q = _largest_pair(pivot_matrix(carry[0]))
            return step(*carry, p, q)

        return jax.lax.fori_loop(0, n * (n - 1) // 2, greedy_step, state)
    if pivoting == "cyclic":
        schedule = jnp.asarray(round_robin(n))

        def cyclic_step(t, carry):
            return step(*carry, schedule[t, :, 0], schedule[t, :, 1])

        return jax.lax.fori_loop(0, n - 1, cyclic_step, state)
    # The sweep's n - 1 matchings at once: rows of argsort of i.i.d. uniforms.
    perms = jnp.argsort(jr.uniform(jr.fold_in(key, sweep), (n - 1, n)), axis=1)

    def random_step(t, carry):
        return step(*carry, perms[t, 0::2], perms[t, 1::2])

    return jax.lax.fori_loop(0, n - 1, random_step, state)


def _iterate(
    key: PRNGKeyArray,
    state: tuple[Array, Array],
    pivoting: str,
    sweeps: int,
    step: Callable,
    converged: Callable,
    pivot_matrix: Callable,
) -> tuple[tuple[Array, Array], Array]:
    """Sweeps until `converged(state)` or `sweeps` of them; returns the state and the count."""

    def cond(carry):
        state, k = carry
        return (k < sweeps) & ~converged(state[0])

    def body(carry):
        state, k = carry
        return _sweep(state, key, k, pivoting, step, pivot_matrix), k + 1

    return jax.lax.while_loop(cond, body, (state, jnp.asarray(0, jnp.int32)))


def _pad_even(A: Array, rows: bool) -> Array:
    """Append a zero column (and a zero row if `rows`) when the column count is odd."""
    if A.shape[1] % 2 == 0:
        return A
    return jnp.pad(A, ((0, 1 if rows else 0), (0, 1)))


def _check_options(key: Any, pivoting: str, sweeps: int, tol: Any) -> None:
    check_choice(pivoting, "pivoting", PIVOTINGS)
    check_int(sweeps, "sweeps", low=1)
    if key is None and pivoting == "random":
        raise ValueError(
            "pivoting='random' needs a PRNG key: pass jax.random.key(...) as the first "
            "argument (key=None is accepted for 'cyclic' and 'greedy' only)."
        )
    if isinstance(tol, int | float) and not tol >= 0:
        raise ValueError(f"tol must be a nonnegative float or None; got tol={tol}.")


def _batched(fn: Callable, key: Any, A: Array) -> Any:
    """Apply the single-matrix `fn(key, A)` over the leading dimensions of `A` (shared key)."""
    if A.ndim == 2:
        return fn(key, A)
    batch = A.shape[:-2]
    flat = A.reshape((-1, *A.shape[-2:]))
    out = jax.vmap(lambda M: fn(key, M))(flat)
    return jax.tree.map(lambda x: x.reshape((*batch, *x.shape[1:])), out)


# --- eigh ----------------------------------------------------------------------------------


@public_jit
def jacobi_eigh(
    key: PRNGKeyArray | None,
    A: Float[Array, "*batch n n"],
    /,
    *,
    pivoting: str = "random",
    sweeps: int = DEFAULT_SWEEPS,
    tol: float | None = None,
) -> EighResult:
    r"""Symmetric eigendecomposition $A = V \operatorname{diag}(w) V^\top$ by two-sided Jacobi.

    Rotations $A \leftarrow J^\top A J$, $V \leftarrow V J$ (see the module docstring for
    the pivotings), sweep after sweep, until $\operatorname{off}(A) \le \mathrm{tol}\,
    \lVert A\rVert_F$ or `sweeps` sweeps; the diagonal is then $w$. Each rotation zeroes
    its pair and lowers $\operatorname{off}(A)^2$ by exactly $2 a_{pq}^2$; the rotated
    $2 \times 2$ blocks are written exactly diagonal.

    Parameters
    ----------
    key : PRNGKeyArray or None
        Draws the random matchings (``pivoting="random"``); ignored (may be None) otherwise.
    A : Float[Array, "*batch n n"]
        Symmetric matrix, or a batch of them (the batch shares `key`; `jax.vmap` over keys
        for independent draws).
    pivoting : str
        ``"random"``, ``"cyclic"`` or ``"greedy"``; static.
    sweeps : int
        Maximum number of sweeps ($\ge 1$), each $n(n-1)/2$ rotations; static. The loop
        stops earlier once converged (a `lax.while_loop`; under `vmap` it runs until every
        matrix of the batch has converged).
    tol : float or None
        Stop when $\operatorname{off}(A) \le \mathrm{tol}\,\lVert A\rVert_F$; None means
        $\sqrt{n}\,\varepsilon$ of the dtype. 0 runs every sweep.

    Returns
    -------
    EighResult
        `eigenvalues` ascending (as `jnp.linalg.eigh`), `eigenvectors` the matching
        orthonormal columns.

    Raises
    ------
    ValueError, TypeError
        For a non-square or non-floating `A`, an unknown `pivoting`, `sweeps < 1`, a
        negative `tol`, or no key with ``pivoting="random"``.
    EquinoxRuntimeError
        If `A` holds NaN or Inf, or is not symmetric to within
        $100\,\varepsilon \max_{ij}|a_{ij}|$ (checked at run time, also under jit).

    Notes
    -----
    Cost per sweep: $n(n-1)/2$ rotations of $O(n)$ flops each on $A$ and on $V$,
    $\approx 6 n^3$ flops, in $n - 1$ vectorized steps (random, cyclic) or $n(n-1)/2$
    sequential ones with an $O(n^2)$ pivot search each (greedy: $O(n^4)$ per sweep). Cyclic
    and greedy Jacobi converge quadratically in the end (typically 6-10 sweeps); random
    matchings miss each pair with probability about $1/e$ per sweep, so they need about
    $2 \ln n$ sweeps more. Memory $O(n^2)$.

    References
    ----------
    Detherage & Shah (2025), "A Unified Perspective on Orthogonalization and
    Diagonalization", arXiv:2505.02023 [detherage2025]; Jacobi (1846); Brent & Luk (1985).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from spectral.jacobi import jacobi_eigh
    >>> A = jnp.array([[2.0, 1.0], [1.0, 2.0]])
    >>> w, V = jacobi_eigh(jax.random.key(0), A)
    >>> bool(jnp.allclose(w, jnp.array([1.0, 3.0])))
    True
    """
    _check_options(key, pivoting, sweeps, tol)
    A = jnp.asarray(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"A must be square (symmetric), (..., n, n); got shape {A.shape}.")
    if not jnp.issubdtype(A.dtype, jnp.floating):
        raise TypeError(f"A must have a real floating dtype; got dtype {A.dtype}.")
    A = _check_symmetric(A)
    return _batched(lambda k, M: _eigh_single(k, M, pivoting, sweeps, tol), key, A)


def _check_symmetric(A: Array) -> Array:
    eps = jnp.finfo(A.dtype).eps
    A = eqx.error_if(A, ~jnp.all(jnp.isfinite(A)), "A contains NaN or Inf.")
    asym = jnp.max(jnp.abs(A - jnp.swapaxes(A, -1, -2)), axis=(-2, -1))
    scale = jnp.max(jnp.abs(A), axis=(-2, -1))
    return eqx.error_if(
        A,
        asym > 100 * eps * scale,
        "A must be symmetric: max |A - A^T| exceeds 100 eps max |A|.",
    )


def _eigh_single(key: Any, A: Array, pivoting: str, sweeps: int, tol: float | None) -> EighResult:
    n = A.shape[0]
    dtype = A.dtype
    A = 0.5 * (A + A.T)  # exactly symmetric (A passed the symmetry check)
    P = _pad_even(A, rows=True)
    m = P.shape[0]
    V = jnp.eye(m, dtype=dtype)
    tol = jnp.sqrt(n) * jnp.finfo(dtype).eps if tol is None else tol
    threshold = jnp.asarray(tol, dtype) * jnp.sqrt(jnp.sum(A * A))
    key = jr.key(0) if key is None else key
    (P, V), _ = _iterate(
        key,
        (P, V),
        pivoting,
        sweeps,
        _two_sided_step,
        lambda P: _off_norm(P) <= threshold,
        lambda P: P,
    )
    w = jnp.diag(P)[:n]
    order = jnp.argsort(w)
    return EighResult(w[order], V[:n, :n][:, order])


# --- svd -----------------------------------------------------------------------------------


@public_jit
def jacobi_svd(
    key: PRNGKeyArray | None,
    A: Float[Array, "*batch m n"],
    /,
    *,
    pivoting: str = "random",
    sweeps: int = DEFAULT_SWEEPS,
    tol: float | None = None,
) -> SVDResult:
    r"""Thin SVD $A = U \operatorname{diag}(S) V_h$ by one-sided (Hestenes) Jacobi.

    With $X = A$ ($m \ge n$; otherwise $X = A^\top$ and the factors swap), rotate column
    pairs $X \leftarrow X J$, $V \leftarrow V J$ until every pair is orthogonal to
    $\max_{p \ne q} |x_p^\top x_q| / (\lVert x_p\rVert \lVert x_q\rVert) \le \mathrm{tol}$
    (the relative criterion of Demmel & Veselić) or `sweeps` sweeps. Then $X = A V$ has
    orthogonal columns, $S_i = \lVert x_i\rVert$ and $U = X \operatorname{diag}(S)^{-1}$.
    Each rotation is the two-sided Jacobi rotation of the $2 \times 2$ Gram block
    $[[x_p^\top x_p, x_p^\top x_q], [x_q^\top x_p, x_q^\top x_q]]$, i.e. two-sided Jacobi
    on $X^\top X$ without forming it; pivotings as in `jacobi_eigh` (greedy picks the
    largest cosine, tracked on $X^\top X$, recomputed every sweep).

    Parameters
    ----------
    key : PRNGKeyArray or None
        Draws the random matchings (``pivoting="random"``); ignored (may be None) otherwise.
    A : Float[Array, "*batch m n"]
        Any matrix, or a batch of them (sharing `key`).
    pivoting : str
        ``"random"``, ``"cyclic"`` or ``"greedy"``; static.
    sweeps : int
        Maximum number of sweeps ($\ge 1$); static; stops early once converged.
    tol : float or None
        The cosine threshold; None means $\sqrt{\max(m, n)}\,\varepsilon$ (as LAPACK's
        ``gesvj``).

    Returns
    -------
    SVDResult
        `U` (m, k), `S` (k,) descending, `Vh` (k, n), $k = \min(m, n)$, as
        `jnp.linalg.svd(A, full_matrices=False)`. Columns of `U` for zero singular values
        complete it to an orthonormal set (a Householder QR of the normalized columns).

    Raises
    ------
    ValueError, TypeError
        For input that is not a (batch of) matrix, a non-floating dtype, an unknown
        `pivoting`, `sweeps < 1`, a negative `tol`, or no key with ``pivoting="random"``.
    EquinoxRuntimeError
        If `A` holds NaN or Inf (checked at run time, also under jit).

    Notes
    -----
    Cost per sweep, for $X$ of shape $(m, n)$, $m \ge n$: $n(n-1)/2$ rotations, each
    $O(m)$ for the three inner products and $O(m + n)$ for the update: $\approx 5 m n^2$
    flops ($O(m n^2 + n^4)$ for greedy, whose pivot search is $O(n^2)$ per rotation); plus
    $O(m n^2)$ once for the convergence test of each sweep and the final QR. Memory
    $O(mn + n^2)$.

    References
    ----------
    Hestenes (1958); Detherage & Shah (2025), arXiv:2505.02023 [detherage2025];
    Demmel & Veselić (1992).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from spectral.jacobi import jacobi_svd
    >>> A = jnp.array([[3.0, 0.0], [4.0, 5.0]])
    >>> U, S, Vh = jacobi_svd(jax.random.key(0), A)
    >>> bool(jnp.allclose((U * S) @ Vh, A, atol=1e-5))
    True
    """
    _check_options(key, pivoting, sweeps, tol)
    A = jnp.asarray(A)
    if A.ndim < 2:
        raise ValueError(f"A must be a matrix or a batch of them, (..., m, n); got {A.shape}.")
    if not jnp.issubdtype(A.dtype, jnp.floating):
        raise TypeError(f"A must have a real floating dtype; got dtype {A.dtype}.")
    A = eqx.error_if(A, ~jnp.all(jnp.isfinite(A)), "A contains NaN or Inf.")
    return _batched(lambda k, M: _svd_single(k, M, pivoting, sweeps, tol), key, A)


def _svd_single(key: Any, A: Array, pivoting: str, sweeps: int, tol: float | None) -> SVDResult:
    m, n = A.shape
    if m < n:
        U, S, Vh = _svd_single(key, A.T, pivoting, sweeps, tol)
        return SVDResult(Vh.T, S, U.T)
    dtype = A.dtype
    X = _pad_even(A, rows=False)
    V = jnp.eye(X.shape[1], dtype=dtype)
    tol = jnp.sqrt(m) * jnp.finfo(dtype).eps if tol is None else tol
    tol = jnp.asarray(tol, dtype)
    key = jr.key(0) if key is None else key
    if pivoting == "greedy":
        X, V = _greedy_svd(X, V, sweeps, tol)
    else:
        (X, V), _ = _iterate(
            key,
            (X, V),
            pivoting,
            sweeps,
            _one_sided_step,
            lambda X: jnp.max(_cosines(X)) <= tol,
            _cosines,
        )
    X, V = X[:, :n], V[:n, :n]
    S = jnp.sqrt(jnp.sum(X * X, axis=0))
    order = jnp.argsort(-S)
    S, X, V = S[order], X[:, order], V[:, order]
    W = X / jnp.where(S > 0, S, 1.0)[None, :]
    Q, R = jnp.linalg.qr(W)
    signs = jnp.where(jnp.diag(R) < 0, -1.0, 1.0).astype(dtype)
    return SVDResult(Q * signs[None, :], S, V.T)


def _greedy_svd(X: Array, V: Array, sweeps: int, tol: Array) -> tuple[Array, Array]:
    r"""Greedy one-sided Jacobi: pivot on the largest cosine of the Gram matrix $X^\top X$.

    The Gram matrix is computed once per sweep; after each rotation its rows and columns
    $p, q$ are recomputed from the rotated columns ($O(mn)$, the cost of the rotation's
    inner products anyway).
    """
    n = X.shape[1]

    def cond(carry):
        X, _, k = carry
        return (k < sweeps) & (jnp.max(_cosines(X)) > tol)

    def step(_, state):
        X, V, G = state
        d = jnp.sqrt(jnp.abs(jnp.diag(G)))
        scale = d[:, None] * d[None, :]
        p, q = _largest_pair(jnp.where(scale > 0, G / jnp.where(scale > 0, scale, 1.0), 0.0))
        X, V = _one_sided_step(X, V, p, q)
        cols = X.T @ X[:, jnp.concatenate([p, q])]  # (n, 2)
        G = G.at[:, p].set(cols[:, :1]).at[:, q].set(cols[:, 1:])
        G = G.at[p, :].set(cols[:, :1].T).at[q, :].set(cols[:, 1:].T)
        return X, V, G

    def body(carry):
        X, V, k = carry
        X, V, _ = jax.lax.fori_loop(0, n * (n - 1) // 2, step, (X, V, X.T @ X))
        return X, V, k + 1

    X, V, _ = jax.lax.while_loop(cond, body, (X, V, jnp.asarray(0, jnp.int32)))
    return X, V
