r"""Row and column selection: DEIM, Q-DEIM, leverage scores, CUR and interpolative decompositions.

A CUR decomposition $A \approx C U R$ keeps actual columns $C = A[:, J]$ and rows
$R = A[I, :]$ of $A$, so it stays sparse, nonnegative or interpretable where $A$ is. The
index sets come from a basis of the dominant singular subspaces:

- **DEIM** (Chaturantabut & Sorensen 2010; Sorensen & Embree 2016): greedy interpolation
  indices of $V \in \mathbb R^{n \times k}$, each the entry of largest magnitude of the
  residual of interpolating the next basis vector at the indices so far. It is exactly
  Gaussian elimination with partial pivoting on $V$: the indices are the first $k$ row
  pivots of the LU factorization $PV = LU$. With $\eta_p = \lVert (P^\top V)^{-1}\rVert_2$,
  interpolation at the indices is within $\eta_p$ of the orthogonal projection, and
  $\eta_p < \sqrt{nk/3}\, 2^k$ (usually far less).
- **Q-DEIM** (Drmač & Gugercin 2016): the first $k$ column pivots of the QR factorization
  with column pivoting of $V^\top$; $\eta_p \le \sqrt{n - k + 1}\, \sqrt{4^k + 6k - 1} / 3$,
  and its indices are often slightly better than DEIM's.
- **Leverage scores** (Mahoney & Drineas 2009; Drineas et al. 2012): $\ell_i =
  \lVert V_k[i, :]\rVert_2^2$ sums to $k$; sampling indices with probabilities
  $\ell_i / k$ gives relative-error CUR with high probability for $O(k \log k / \epsilon^2)$
  samples.
- **Volume sampling** (Deshpande et al. 2006): $k$ columns with $P(J) \propto
  \det(A_J^\top A_J)$, exactly (`spectral.volume_sample`); then
  $\mathbb E \lVert A - C C^+ A\rVert_F^2 \le (k + 1) \lVert A - A_k\rVert_F^2$.

DEIM-CUR with the core $U = C^+ A R^+$ satisfies (Sorensen & Embree 2016, Thm. 4.1)
$\lVert A - CUR\rVert_2 \le (\eta_p + \eta_q)\,\sigma_{k+1}$, with $\eta_p$, $\eta_q$ those
of the row and column selections from the exact singular vectors.

References
----------
Sorensen & Embree (2016), "A DEIM Induced CUR Factorization", SIAM J. Sci. Comput.
[sorensen2016] Chaturantabut & Sorensen (2010), "Nonlinear Model Reduction via Discrete
Empirical Interpolation", SIAM J. Sci. Comput. [chaturantabut2010] Drmač & Gugercin (2016),
"A New Selection Operator for the Discrete Empirical Interpolation Method", SIAM J. Sci.
Comput. [drmac2016] Mahoney & Drineas (2009), "CUR matrix decompositions for improved data
analysis", PNAS. [mahoney2009] Drineas, Magdon-Ismail, Mahoney & Woodruff (2012), "Fast
approximation of matrix coherence and statistical leverage", JMLR. [drineas2012]
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._checks import check_choice, check_int, public_jit
from ._results import SVDResult
from .randomized import randomized_svd
from .sampling import volume_sample

METHODS = ("deim", "qdeim", "leverage", "volume", "uniform")
CORES = ("pinv", "cross")
BASES = ("exact", "randomized")


class CURResult(NamedTuple):
    r"""$A \approx C U R$ with $C = A[:, \text{cols}]$ and $R = A[\text{rows}, :]$.

    Attributes
    ----------
    C : Float[Array, "m c"]
        Selected columns of $A$.
    U : Float[Array, "c r"]
        The core.
    R : Float[Array, "r n"]
        Selected rows of $A$.
    cols : Int[Array, " c"]
        Column indices, in the order selected.
    rows : Int[Array, " r"]
        Row indices, in the order selected.
    """

    C: Float[Array, "m c"]
    U: Float[Array, "c r"]
    R: Float[Array, "r n"]
    cols: Int[Array, " c"]
    rows: Int[Array, " r"]


def _check_basis(V: Array, name: str) -> Array:
    V = jnp.asarray(V)
    if V.ndim != 2 or V.shape[1] > V.shape[0] or V.shape[1] < 1:
        raise ValueError(
            f"{name} must be an (n, k) basis with 1 <= k <= n (one column per basis vector); "
            f"got shape {V.shape}."
        )
    if not jnp.issubdtype(V.dtype, jnp.floating):
        raise TypeError(f"{name} must be floating point; got dtype {V.dtype}.")
    return V


@public_jit
def deim_indices(V: Float[Array, "n k"], /) -> Int[Array, " k"]:
    r"""DEIM interpolation indices of the basis $V$ (columns), in the order selected.

    The greedy rule of Chaturantabut & Sorensen (2010): $p_1 = \arg\max_i \lvert V_{i1}\rvert$
    and $p_j = \arg\max_i \lvert r_j\rvert_i$ for the residual $r_j = v_j - V_{:, <j}
    (V_{p_{<j}, <j})^{-1} V_{p_{<j}, j}$. That is the row pivoting of Gaussian elimination
    with partial pivoting, which computes it: one LU factorization of $V$, $O(nk^2)$ flops.
    Ties go to the smaller index.
    """
    V = _check_basis(V, "V")
    k = V.shape[1]
    _, _, permutation = jax.lax.linalg.lu(V)
    return permutation[:k]


@public_jit
def qdeim_indices(V: Float[Array, "n k"], /) -> Int[Array, " k"]:
    r"""Q-DEIM indices of the basis $V$: the first $k$ pivots of a column-pivoted QR of $V^\top$.

    Drmač & Gugercin (2016). $O(nk^2)$ flops; the bound on $\lVert (P^\top V)^{-1}\rVert_2$
    grows like $\sqrt{n}\, 2^k$ at worst, as DEIM's, but with a smaller constant.
    """
    V = _check_basis(V, "V")
    k = V.shape[1]
    _, _, pivots = jsl.qr(V.T, mode="economic", pivoting=True)
    return pivots[:k]


@public_jit
def leverage_scores(
    A: Any,
    rank: int,
    /,
    *,
    axis: int = 1,
    key: PRNGKeyArray | None = None,
    oversample: int = 10,
    power_iters: int = 2,
) -> Float[Array, " n"]:
    r"""Rank-$k$ leverage scores of the columns (`axis=1`) or rows (`axis=0`) of $A$.

    $\ell_j = \lVert V_k[j, :]\rVert_2^2$ for the top-$k$ right singular vectors (columns),
    or the left ones (rows); they lie in $[0, 1]$ and sum to $k$. Without `key`, from the
    exact SVD ($O(mn \min(m, n))$); with `key`, from `randomized_svd(key, A, rank,
    oversample=, power_iters=)` ($O(mnk)$ for a dense $A$, any operator), the fast
    approximation in the spirit of Drineas et al. (2012): accurate when the spectrum has
    a gap after $\sigma_k$.
    """
    rank = check_int(rank, "rank", low=1)
    axis = check_int(axis, "axis", low=0, high=1)
    svd = _top_svd(A, rank, key, oversample, power_iters)
    basis = svd.Vh.T if axis == 1 else svd.U
    return jnp.sum(basis * basis, axis=1)


def _top_svd(A: Any, rank: int, key, oversample: int, power_iters: int) -> SVDResult:
    if key is None:
        A = jnp.asarray(A)
        if A.ndim != 2:
            raise ValueError(f"A must be a matrix; got shape {A.shape}.")
        if rank > min(A.shape):
            raise ValueError(f"rank must be <= min(A.shape) = {min(A.shape)}; got rank={rank}.")
        U, S, Vh = jnp.linalg.svd(A, full_matrices=False)
        return SVDResult(U[:, :rank], S[:rank], Vh[:rank])
    return randomized_svd(key, A, rank, oversample=oversample, power_iters=power_iters)


def _select(key, V: Array, method: str, count: int) -> Array:
    """`count` indices from the basis `V` (rows are candidates) by `method`."""
    n = V.shape[0]
    if method == "deim":
        return deim_indices(V)
    if method == "qdeim":
        return qdeim_indices(V)
    if method == "leverage":
        scores = jnp.sum(V * V, axis=1)
        return jax.random.choice(key, n, (count,), replace=False, p=scores / jnp.sum(scores))
    return jax.random.choice(key, n, (count,), replace=False)


@public_jit
def cur(
    key: PRNGKeyArray,
    A: Float[Array, "m n"],
    rank: int,
    /,
    *,
    method: str = "deim",
    core: str = "pinv",
    columns: int | None = None,
    rows: int | None = None,
    basis: str = "exact",
) -> CURResult:
    r"""CUR decomposition $A \approx C U R$ of a dense matrix.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the sampled indices (``"leverage"``, ``"uniform"``) and the randomized basis.
    A : Float[Array, "m n"]
        The matrix.
    rank : int
        $k$, the rank of the singular subspaces the indices come from (static).
    method : {"deim", "qdeim", "leverage", "volume", "uniform"}
        DEIM-CUR (Sorensen & Embree 2016) and Q-DEIM select exactly $k$ rows and columns
        from the top-$k$ singular vectors; ``"leverage"`` samples without replacement with
        probabilities proportional to the rank-$k$ leverage scores (Mahoney & Drineas
        2009); ``"volume"`` volume-samples columns of $A$ and rows of $A$ (each an exact
        $k$-DPP on the SVD of $A$, whatever `basis`; at most the rank of $A$);
        ``"uniform"`` samples uniformly.
    core : {"pinv", "cross"}
        $U = C^+ A R^+$ (the best core for the chosen $C$, $R$ in the Frobenius norm;
        $O(mn(c + r))$) or the cross approximation $U = A[\text{rows}, \text{cols}]^+$
        (only the selected entries; it can be much worse).
    columns, rows : int, optional
        How many columns and rows the sampling methods draw (default $k$; DEIM and Q-DEIM
        always select $k$).
    basis : {"exact", "randomized"}
        The singular vectors: `jnp.linalg.svd` ($O(mn\min(m, n))$), or `randomized_svd`
        with the key ($O(mnk)$, for large matrices). The DEIM bound holds for the exact
        basis.

    Returns
    -------
    CURResult
        `C`, `U`, `R`, `cols`, `rows`.
    """
    method = check_choice(method, "method", METHODS)
    core = check_choice(core, "core", CORES)
    basis = check_choice(basis, "basis", BASES)
    A = jnp.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"A must be a dense matrix; got shape {A.shape}.")
    m, n = A.shape
    rank = check_int(rank, "rank", low=1, high=min(m, n))
    if method in ("deim", "qdeim") and (columns not in (None, rank) or rows not in (None, rank)):
        raise ValueError(
            f"method={method!r} selects exactly rank = {rank} columns and rows; got "
            f"columns={columns}, rows={rows}."
        )
    columns = check_int(rank if columns is None else columns, "columns", low=1, high=n)
    rows = check_int(rank if rows is None else rows, "rows", low=1, high=m)
    k_basis, k_cols, k_rows = jax.random.split(key, 3)
    if method == "volume":
        cols, row_idx = volume_sample(k_cols, A, columns), volume_sample(k_rows, A.T, rows)
    else:
        svd = _top_svd(A, rank, None if basis == "exact" else k_basis, 10, 2)
        cols = _select(k_cols, svd.Vh.T, method, columns)
        row_idx = _select(k_rows, svd.U, method, rows)
    C, R = A[:, cols], A[row_idx, :]
    if core == "pinv":
        U = jnp.linalg.pinv(C) @ A @ jnp.linalg.pinv(R)
    else:
        U = jnp.linalg.pinv(A[row_idx][:, cols])
    return CURResult(C, U, R, cols, row_idx)


@public_jit
def interpolative(
    key: PRNGKeyArray, A: Float[Array, "m n"], rank: int, /, *, basis: str = "randomized"
) -> tuple[Int[Array, " k"], Float[Array, "k n"]]:
    r"""Column interpolative decomposition $A \approx A[:, J]\, X$ with $X[:, J] = I$.

    $J$ are the Q-DEIM indices of the top-$k$ right singular vectors (from `randomized_svd`
    with `key`, or the exact SVD) and $X = A[:, J]^+ A$, the least-squares coefficients
    (so the selected columns are reproduced exactly). Returns ``(cols, X)``. Cost
    $O(mnk)$ plus the basis.
    """
    basis = check_choice(basis, "basis", BASES)
    A = jnp.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"A must be a dense matrix; got shape {A.shape}.")
    rank = check_int(rank, "rank", low=1, high=min(A.shape))
    svd = _top_svd(A, rank, None if basis == "exact" else key, 10, 2)
    cols = qdeim_indices(svd.Vh.T)
    X = jnp.linalg.lstsq(A[:, cols], A)[0]
    return cols, X
