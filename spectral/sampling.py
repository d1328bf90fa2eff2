r"""Exact samplers of determinantal point processes and volume sampling on a finite ground set.

A determinantal point process (DPP) on $\{1, \dots, n\}$ with *correlation kernel* $K$
($0 \preceq K \preceq I$) has inclusion probabilities $P(S \subseteq Y) = \det K_S$; with
*likelihood kernel* $L \succeq 0$, $P(Y = S) = \det L_S / \det(L + I)$, the same process
as $K = L (L + I)^{-1}$. Its marginals are $P(i \in Y) = K_{ii}$.

All samplers here are the spectral algorithm of Hough, Krishnapur, Peres & Virág (2006):
a DPP is a mixture of *projection* DPPs. Draw a set of eigenvectors of the kernel
(independently with probabilities $\lambda_i / (1 + \lambda_i)$ for $L$, $\lambda_i$ for
$K$; for a $k$-DPP, exactly $k$ of them, by the elementary symmetric polynomials, Kulesza
& Taskar 2012, Alg. 8), then sample the projection DPP of the chosen orthonormal features
$V \in \mathbb R^{n \times d}$ by the chain rule: item $j$ is drawn with probability
proportional to the squared norm of the part of its feature row $V_{j,:}$ orthogonal to the
rows drawn so far, and the basis of those rows grows by one Gram–Schmidt step.

Numerical safeguards (the failures DPPy users met): residual norms are updated
incrementally, so rounding can make them slightly negative; they are clamped at 0 and the
drawn item's residual is set to exactly 0 (it cannot be drawn twice). Each new basis
vector is orthogonalized twice ("twice is enough", Giraud et al. 2005), so the basis stays
orthonormal to working precision for any $d$. The elementary symmetric polynomials
$e_l(\lambda_1, \dots, \lambda_i)$ are computed in log space (`logaddexp` recurrences): for
$n = 10^4$ items and eigenvalues spanning $10^6$, $e_k$ overflows float64 for $k$ in the
tens, its logarithm does not. Eigenvalues below $n \varepsilon \lambda_{\max}$ count as 0
(the numerical rank), so $k$ larger than the rank is an error, not a sample of a
degenerate set.

Volume sampling (Deshpande, Rademacher, Vempala & Wang 2006) draws $k$ columns with
$P(S) \propto \det(A_S^\top A_S)$: the $k$-DPP with $L = A^\top A$, sampled from the SVD of
$A$ (never forming $A^\top A$). Its columns give $\mathbb E \lVert A - P_{A_S} A\rVert_F^2
= (k + 1)\, e_{k+1}(\sigma^2) / e_k(\sigma^2) \le (k + 1) \lVert A - A_k\rVert_F^2$.

Costs: an eigendecomposition ($O(n^3)$, skipped when an `EighResult` is passed) or an SVD
for volume sampling, $O(n)$ per eigenvalue for the selection, and $O(n d^2)$ for the
chain rule.

References
----------
Hough, Krishnapur, Peres & Virág (2006), "Determinantal processes and independence",
Probability Surveys. [hough2006] Kulesza & Taskar (2012), "Determinantal point processes
for machine learning", Found. Trends Mach. Learn. [kulesza2012] Deshpande, Rademacher,
Vempala & Wang (2006), "Matrix approximation and projective clustering via volume
sampling", Theory of Computing. [deshpande2006] Gautier, Polito, Bardenet & Valko (2019),
"DPPy: DPP Sampling with Python", JMLR. [gautier2019]
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from ._checks import check_choice, check_int, public_jit
from ._results import EighResult

KINDS = ("likelihood", "correlation")


def _orthonormal_extension(E: Array, i: Array, v: Array) -> Array:
    """Row `i` of `E` set to `v` orthogonalized (twice) against rows `< i`, normalized.

    Rows of `E` from `i` on are zero, so projecting against all rows is projecting against
    the first `i`.
    """
    for _ in range(2):
        v = v - E.T @ (E @ v)
    norm = jnp.linalg.norm(v)
    return E.at[i].set(v / jnp.where(norm > 0, norm, 1))


def _projection_chain(key: PRNGKeyArray, V: Array, count: Array | int) -> Array:
    r"""Items of the projection DPP with kernel $V V^\top$, by the chain rule.

    `V` is $(n, d)$ with orthonormal columns among the first `count` (the rest zero);
    `count` may be traced. Returns $(d,)$ indices in the order drawn, `n` (out of range)
    after the first `count`.
    """
    n, d = V.shape
    keys = jax.random.split(key, d)
    residual = jnp.sum(V * V, axis=1)
    basis = jnp.zeros((d, d), V.dtype)
    items = jnp.full((d,), n, jnp.int32)

    def draw(i, state):
        basis, residual, items = state
        weights = jnp.maximum(residual, 0.0)
        j = jax.random.categorical(keys[i], jnp.log(weights))
        new_basis = _orthonormal_extension(basis, i, V[j])
        projection = V @ new_basis[i]
        new_residual = jnp.maximum(residual - projection * projection, 0.0).at[j].set(0.0)
        new = (new_basis, new_residual, items.at[i].set(j.astype(jnp.int32)))
        return jax.tree.map(lambda a, b: jnp.where(i < count, a, b), new, state)

    _, _, items = jax.lax.fori_loop(0, d, draw, (basis, residual, items))
    return items


def log_elementary_symmetric(eigenvalues: Float[Array, " n"], k: int) -> Float[Array, "n+1 k+1"]:
    r"""$\log e_l(\lambda_1, \dots, \lambda_i)$ for $i = 0, \dots, n$ and $l = 0, \dots, k$.

    The recurrence $e_l^{(i)} = e_l^{(i-1)} + \lambda_i e_{l-1}^{(i-1)}$ in log space
    (`logaddexp`), so it neither overflows nor underflows; zero eigenvalues give
    $\log 0 = -\infty$ terms, which `logaddexp` handles. $O(nk)$.
    """
    k = check_int(k, "k", low=0)
    log_lam = jnp.log(jnp.maximum(eigenvalues, 0.0))
    first = jnp.full((k + 1,), -jnp.inf, log_lam.dtype).at[0].set(0.0)

    def add(row, log_l):
        new = row.at[1:].set(jnp.logaddexp(row[1:], log_l + row[:-1]))
        return new, new

    _, rows = jax.lax.scan(add, first, log_lam)
    return jnp.concatenate([first[None], rows])


def _select_k_eigenvectors(key: PRNGKeyArray, eigenvalues: Array, k: int) -> Array:
    r"""A mask of exactly $k$ eigenvalues, $P(J) \propto \prod_{i \in J} \lambda_i$.

    Kulesza & Taskar (2012), Alg. 8, in log space: from $i = n$ down, keep $i$ with
    probability $\lambda_i e_{l-1}^{(i-1)} / e_l^{(i)}$, $l$ the number still to keep.
    """
    n = eigenvalues.shape[0]
    table = log_elementary_symmetric(eigenvalues, k)
    log_lam = jnp.log(jnp.maximum(eigenvalues, 0.0))
    log_u = jnp.log(jax.random.uniform(key, (n,), eigenvalues.dtype))

    def keep(left, inputs):
        previous, current, log_l, log_u_i = inputs
        log_p = log_l + previous[jnp.maximum(left - 1, 0)] - current[left]
        take = (left > 0) & (log_u_i < log_p)
        return left - take.astype(left.dtype), take

    xs = (table[:-1], table[1:], log_lam, log_u)
    _, mask = jax.lax.scan(keep, jnp.asarray(k), xs, reverse=True)
    return mask


def _k_dpp_from_spectrum(
    key: PRNGKeyArray,
    eigenvalues: Array,
    eigenvectors: Array,
    k: int,
    relative_cut: float,
    rank_error: str,
) -> Array:
    """The k-DPP with kernel `V diag(eigenvalues) V^T`, eigenvalues already checked >= 0.

    Eigenvalues below `relative_cut * max(eigenvalues)` are rounding noise and count as 0:
    `n eps` for an eigendecomposition of the kernel, `(max(m, n) eps)^2` for squared
    singular values (whose noise is `eps sigma_max` before squaring).
    """
    key_eig, key_chain = jax.random.split(key)
    cut = relative_cut * jnp.max(eigenvalues)
    eigenvalues = jnp.where(eigenvalues > cut, eigenvalues, 0.0)
    log_ek = log_elementary_symmetric(eigenvalues, k)[-1, k]
    eigenvalues = eqx.error_if(eigenvalues, log_ek == -jnp.inf, rank_error)
    mask = _select_k_eigenvectors(key_eig, eigenvalues, k)
    (chosen,) = jnp.nonzero(mask, size=k)
    return _projection_chain(key_chain, eigenvectors[:, chosen], k)


def _symmetric_eigh(kernel: Any, name: str, kind: str) -> tuple[Array, Array]:
    """Eigenpairs of a kernel given as a symmetric matrix or an `EighResult`, checked."""
    if isinstance(kernel, EighResult):
        w, Q = jnp.asarray(kernel.eigenvalues), jnp.asarray(kernel.eigenvectors)
        if w.ndim != 1 or Q.ndim != 2 or Q.shape[1] != w.shape[0] or Q.shape[1] > Q.shape[0]:
            raise ValueError(
                f"{name} as an EighResult needs eigenvalues (r,) and eigenvectors (n, r) with "
                f"r <= n; got shapes {w.shape} and {Q.shape}."
            )
        n = Q.shape[0]
    else:
        L = jnp.asarray(kernel)
        if L.ndim != 2 or L.shape[0] != L.shape[1]:
            raise ValueError(f"{name} must be a square (n, n) kernel matrix; got shape {L.shape}.")
        n = L.shape[0]
        if not jnp.issubdtype(L.dtype, jnp.floating):
            raise TypeError(f"{name} must be floating point; got dtype {L.dtype}.")
        eps = jnp.finfo(L.dtype).eps
        L = eqx.error_if(
            L,
            jnp.max(jnp.abs(L - L.T)) > 10 * n * eps * jnp.max(jnp.abs(L)),
            f"{name} must be symmetric; got {name} != {name}.T.",
        )
        w, Q = jnp.linalg.eigh(L)
    if not jnp.issubdtype(w.dtype, jnp.floating):
        raise TypeError(f"{name} must be floating point; got dtype {w.dtype}.")
    eps = jnp.finfo(w.dtype).eps
    slack = 10 * n * eps * jnp.maximum(jnp.max(jnp.abs(w)), 1.0 if kind == "correlation" else 0.0)
    w = eqx.error_if(
        w,
        jnp.min(w) < -slack,
        f"{name} must be positive semidefinite; it has a negative eigenvalue (a DPP with it "
        "would have negative probabilities).",
    )
    if kind == "correlation":
        w = eqx.error_if(
            w,
            jnp.max(w) > 1 + slack,
            f"{name} as a correlation kernel must have eigenvalues in [0, 1]; it has one above "
            "1 (inclusion probabilities above 1). Pass kind='likelihood' for an L-ensemble.",
        )
        w = jnp.minimum(w, 1.0)
    return jnp.maximum(w, 0.0), Q


@public_jit
def projection_dpp_sample(key: PRNGKeyArray, V: Float[Array, "n k"], /) -> Int[Array, " k"]:
    r"""A sample of the projection DPP with kernel $K = V V^\top$: $k$ items, $P(S) = \det K_S$.

    Parameters
    ----------
    key : PRNGKeyArray
        The randomness; the same key gives the same sample on every backend.
    V : Float[Array, "n k"]
        Orthonormal features, one row per item ($V^\top V = I_k$; checked, also under jit:
        features of rank below $k$ cannot give $k$ items).

    Returns
    -------
    Int[Array, " k"]
        Distinct items in the order drawn by the chain rule, $O(nk^2)$ (see the module
        docstring for the safeguards).
    """
    V = jnp.asarray(V)
    if V.ndim != 2 or not 1 <= V.shape[1] <= V.shape[0]:
        raise ValueError(
            f"V must be (n, k) orthonormal features with 1 <= k <= n; got shape {V.shape}."
        )
    if not jnp.issubdtype(V.dtype, jnp.floating):
        raise TypeError(f"V must be floating point; got dtype {V.dtype}.")
    n, k = V.shape
    eps = jnp.finfo(V.dtype).eps
    gram_error = jnp.linalg.norm(V.T @ V - jnp.eye(k, dtype=V.dtype))
    V = eqx.error_if(
        V,
        ~(gram_error <= jnp.minimum(0.1, 100 * n * eps)),
        "V must have orthonormal columns (V.T @ V = I); features of rank below k = V.shape[1] "
        "cannot give k items (orthonormalize them first, e.g. by jnp.linalg.qr).",
    )
    return _projection_chain(key, V, k)


@public_jit
def k_dpp_sample(key: PRNGKeyArray, L: Any, k: int, /) -> Int[Array, " k"]:
    r"""A sample of the $k$-DPP with likelihood kernel $L$: $P(S) \propto \det L_S$, $|S| = k$.

    Parameters
    ----------
    key : PRNGKeyArray
        The randomness.
    L : Float[Array, "n n"] or EighResult
        A symmetric positive semidefinite kernel (checked), or its eigendecomposition
        ``EighResult(eigenvalues (r,), eigenvectors (n, r))`` (e.g. of a low-rank kernel; no
        $O(n^3)$ eigendecomposition then).
    k : int
        The sample size (static), at most the numerical rank of $L$ (checked under jit).

    Returns
    -------
    Int[Array, " k"]
        Distinct items in the order drawn. The eigenvector selection uses elementary
        symmetric polynomials in log space, so kernels of $10^4$ items with condition $10^6$
        work in float32 and float64.
    """
    k = check_int(k, "k", low=1)
    w, Q = _symmetric_eigh(L, "L", "likelihood")
    if k > w.shape[0]:
        raise ValueError(f"k must be <= the number of eigenvalues {w.shape[0]}; got k={k}.")
    n = Q.shape[0]
    return _k_dpp_from_spectrum(
        key,
        w,
        Q,
        k,
        n * float(jnp.finfo(w.dtype).eps),
        f"k = {k} is larger than the numerical rank of L: no set of k items has det(L_S) > 0.",
    )


@public_jit
def dpp_sample(
    key: PRNGKeyArray, kernel: Any, /, *, kind: str = "likelihood", max_size: int | None = None
) -> Bool[Array, " n"]:
    r"""A sample of the DPP with likelihood kernel $L$ or correlation kernel $K$, as a mask.

    Parameters
    ----------
    key : PRNGKeyArray
        The randomness.
    kernel : Float[Array, "n n"] or EighResult
        $L \succeq 0$ (``kind="likelihood"``: $P(Y = S) = \det L_S / \det(L + I)$) or
        $0 \preceq K \preceq I$ (``kind="correlation"``: $P(S \subseteq Y) = \det K_S$),
        symmetric (checked, also under jit), or its eigendecomposition.
    kind : {"likelihood", "correlation"}
        Which kernel `kernel` is.
    max_size : int, optional
        A static bound on the sample size: the chain rule then works on at most `max_size`
        features, $O(n \cdot \text{max\_size}^2)$ instead of $O(n r^2)$. A draw larger than
        `max_size` raises (under jit too), never truncates. Default: the number of
        eigenvalues.

    Returns
    -------
    Bool[Array, " n"]
        The sample as a mask over items (a fixed shape, so it jits and vmaps; take
        `jnp.flatnonzero(mask)` outside jit for the indices). Its size is random, with mean
        $\operatorname{tr} K$.
    """
    kind = check_choice(kind, "kind", KINDS)
    w, Q = _symmetric_eigh(kernel, "kernel", kind)
    n, r = Q.shape
    max_size = check_int(r if max_size is None else max_size, "max_size", low=1, high=r)
    key_eig, key_chain = jax.random.split(key)
    probability = w / (1 + w) if kind == "likelihood" else w
    chosen = jax.random.uniform(key_eig, (r,), w.dtype) < probability
    count = jnp.sum(chosen)
    count = eqx.error_if(
        count, count > max_size, "The sample has more items than max_size; raise max_size."
    )
    (order,) = jnp.nonzero(chosen, size=max_size, fill_value=0)
    V = jnp.where(jnp.arange(max_size) < count, Q[:, order], 0.0)
    items = _projection_chain(key_chain, V, count)
    return jnp.zeros((n,), bool).at[items].set(True, mode="drop")


@public_jit
def volume_sample(key: PRNGKeyArray, A: Float[Array, "m n"], k: int, /) -> Int[Array, " k"]:
    r"""$k$ columns of $A$ by volume sampling: $P(S) \propto \det(A_S^\top A_S)$.

    The $k$-DPP with $L = A^\top A$, from the SVD of $A$ ($O(mn \min(m, n))$, without
    forming $A^\top A$). For rows, pass $A^\top$. $k$ at most the numerical rank of $A$
    (checked under jit). The selected columns satisfy $\mathbb E \lVert A - P_{A_S} A
    \rVert_F^2 \le (k + 1) \lVert A - A_k\rVert_F^2$ (Deshpande et al. 2006).
    """
    A = jnp.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"A must be a matrix (m, n); got shape {A.shape}.")
    if not jnp.issubdtype(A.dtype, jnp.floating):
        raise TypeError(f"A must be floating point; got dtype {A.dtype}.")
    k = check_int(k, "k", low=1, high=min(A.shape), why=" (min(A.shape), the largest rank)")
    _, s, Vh = jnp.linalg.svd(A, full_matrices=False)
    cut = (max(A.shape) * float(jnp.finfo(A.dtype).eps)) ** 2
    return _k_dpp_from_spectrum(
        key,
        s * s,
        Vh.T,
        k,
        cut,
        f"k = {k} is larger than the numerical rank of A: every set of k "
        "columns has det(A_S^T A_S) = 0.",
    )
