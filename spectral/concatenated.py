r"""Concatenated-matrix SVD: error bounds, an incremental estimator, error-constrained clustering.

Matrices $A_1, \dots, A_m$ of one height $h$ (widths $w_k$) are compressed together by one
truncated SVD of their horizontal concatenation $C = [A_1, \dots, A_m]$ ($h \times N$,
$N = \sum_k w_k$): a shared basis $U_r$ ($h \times r$) and coefficients $U_r^\top A_k$.
The optimal rank-$r$ relative error (Eckart–Young) is

$$\varepsilon_r(C) = \frac{\lVert C - C_r\rVert_F}{\lVert C\rVert_F}
= \Big(\frac{\sum_{i > r} \sigma_i(C)^2}{\sum_i \sigma_i(C)^2}\Big)^{1/2}
= \Big(1 - \frac{\sum_{i \le r} \sigma_i(C)^2}{\lVert C\rVert_F^2}\Big)^{1/2}.$$

Any lower bound $L \le \sum_{i \le r} \sigma_i(C)^2$ gives the upper bound
$\varepsilon_r(C) \le (1 - L / \lVert C\rVert_F^2)^{1/2}$, and $\lVert C\rVert_F^2 =
\sum_k \lVert A_k\rVert_F^2$ is free. Shamrai (2026) derives such lower bounds from the
blocks, so that one can decide which matrices may share a basis without forming $C$. The
tool behind all three below is Ky Fan's maximum principle: for $M \succeq 0$,
$\sum_{i \le r} \lambda_i(M) = \max \operatorname{tr}(P M)$ over orthogonal projectors
$P$ of rank $\le r$; with $M = C C^\top = \sum_k A_k A_k^\top$,

$$\textstyle\sum_{i \le r} \sigma_i(C)^2 \ge \operatorname{tr}(P C C^\top)
= \sum_k \lVert P A_k\rVert_F^2 \quad\text{for every projector } P,\ \operatorname{rank} P \le r.
\tag{KF}$$

**(a) Weyl-type bound from the blocks' spectra** (`concatenation_weyl_bound`).
$L_a$ = the sum of the $r$ largest numbers of the pooled multiset
$\{\sigma_i(A_k)^2 : i, k\}$. *Proof.* The $r$ largest pooled values take the top $r_k$
values of each block, $\sum_k r_k \le r$. Let $P_k$ project onto the top-$r_k$ left
singular vectors of $A_k$ and $P$ onto the span of all of them: $\operatorname{rank} P \le
r$ and $P \succeq P_k$, so $P - P_k$ is a projector and, by (KF),
$\sum_{i \le r}\sigma_i(C)^2 \ge \sum_k \operatorname{tr}(P A_k A_k^\top) \ge \sum_k
\operatorname{tr}(P_k A_k A_k^\top) = \sum_k \sum_{i \le r_k} \sigma_i(A_k)^2 = L_a$.
$\square$ The paper's max-norm bound, $L \ge \sum_{k \in S} \lVert A_k\rVert_F^2$ for
blocks $S$ of total width $\le r$ (Weyl monotonicity $C C^\top \succeq C_S C_S^\top$), is the
special case $r_k = w_k$ on $S$, so $L_a$ is never smaller. It is tight when the blocks'
dominant subspaces are orthogonal, and weak when they coincide: $G$ copies of one
rank-$r$ matrix give $L_a = \lVert C\rVert_F^2 / G$.

**(b) Incremental-residual bound** (`concatenation_residual_bound`). In the given block
order let $\Pi_{k-1}$ project onto $\operatorname{span}(A_1, \dots, A_{k-1})$ (or onto any
larger subspace of a nested sequence) and $R_k = (I - \Pi_{k-1}) A_k$, $R_1 = A_1$.
$L_b$ = the sum of the $r$ largest numbers of $\{\sigma_i(R_k)^2 : i, k\}$. *Proof.* Take
the top $r_k$ values of each $R_k$ ($\sum r_k \le r$) and $P_k$ the projector onto the
corresponding left singular vectors of $R_k$. $\operatorname{range}(R_k) \perp
\operatorname{range}(\Pi_{k-1}) \supseteq \operatorname{range}(R_j)$, $j < k$, so the $P_k$
are mutually orthogonal and $P = \sum_k P_k$ is a projector of rank $\le r$. By (KF),
$\sum_{i \le r} \sigma_i(C)^2 \ge \sum_{k, j} \lVert P_k A_j\rVert_F^2 \ge \sum_k
\lVert P_k A_k\rVert_F^2 = \sum_k \lVert P_k R_k\rVert_F^2 = L_b$, since $P_k \Pi_{k-1} =
0$. $\square$ The residuals are the diagonal blocks of a block QR: with the Householder
QR $C = Q T$, $\operatorname{span}(Q_{:, <o_k}) \supseteq \operatorname{range}(C_{:, <o_k})$
($o_k = \sum_{j < k} w_j$) and $R_k = Q_{:, \ge o_k} T_{\ge o_k,\, \text{cols}(k)}$, whose
singular values are those of the diagonal block $T_{o_k : o_k + w_k,\, \text{cols}(k)}$.
Each block is credited only with what is new in it (energy of $A_j$ inside earlier blocks'
span is dropped), so the bound is tight for blocks with complementary column spaces and
order-dependent.

**(c) Incremental truncated SVD** (`IncrementalSVD`, `incremental_svd`; never forms
$C$). $B_0$ is empty, $Z_k = [B_{k-1}, A_k]$ and $B_k$ = the best rank-$\ell$ approximation
of $Z_k$, $\ell = r + $ `oversample`; the estimate uses $L_c = \sum_{i \le r}
\sigma_i(B_m)^2$. The paper presents this as an approximate estimator; it is in fact a
bound too. *Proof.* $B_k B_k^\top \preceq Z_k Z_k^\top = B_{k-1} B_{k-1}^\top + A_k
A_k^\top \preceq C_{k-1} C_{k-1}^\top + A_k A_k^\top = C_k C_k^\top$ by induction (a
truncated SVD keeps a subset of the eigenpairs of $Z_k Z_k^\top$). So $B_m B_m^\top \preceq
C C^\top$, and Weyl's monotonicity theorem gives $\sigma_i(B_m) \le \sigma_i(C)$ for
every $i$, hence $L_c \le \sum_{i \le r} \sigma_i(C)^2$. $\square$ Equality holds when
$\operatorname{rank}(C) \le \ell$ (nothing is ever truncated: $B_m B_m^\top = C C^\top$).
Remark: accumulating the residuals of each new block against the running basis,
$\sum_k \lVert (I - U_{k-1} U_{k-1}^\top) A_k\rVert_F^2$, bounds the error too, but less
tightly: for $\ell = r$ the truncation error of step $k$ is at most that residual (the old
basis is one rank-$r$ candidate for $Z_k$), and these errors sum to exactly
$\lVert C\rVert_F^2 - \lVert B_m\rVert_F^2$ (telescoping), the estimate of (c).

All three are upper bounds in exact arithmetic; in floating point they hold up to rounding
of relative size $O(\varepsilon_{\text{mach}})$ in $\varepsilon_r^2$. Directions whose
singular value is below $10\,\varepsilon_{\text{mach}} \max(\text{dims}) \lVert
C\rVert_F$ are treated as zero in the incremental SVD and in the streaming form of (b)
used by the clustering (their energy is at rounding level).

**Clustering** (`cluster_blocks`). The greedy scheme of the paper, with a bound or
estimate per method: ``"max_norm"`` uses (a), ``"residuals"`` (b), ``"approximate"`` (c).
Blocks are sorted by norm; the largest unassigned block seeds a cluster; the other
unassigned blocks are tried in turn (smallest norm first, or smallest residual against the
seed's top-$r$ basis), and a block joins if the cluster's bound with it stays $\le$
`tol`; repeat until every block is assigned. Every accepted cluster (two or more blocks)
therefore has $\varepsilon_r \le$ `tol` by the proofs above; a single block's own error
may exceed `tol` (nothing can be merged with it, and it is then best stored raw).

References
----------
Shamrai (2026), "Concatenated Matrix SVD: Compression Bounds, Incremental Approximation,
and Error-Constrained Clustering", arXiv:2601.11626. [shamrai2026]
Ky Fan (1949), "On a theorem of Weyl concerning eigenvalues of linear transformations I",
PNAS 35(11).
"""

from collections.abc import Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._checks import check_choice, check_int, full_precision_products, public_jit

METHODS = ("max_norm", "residuals", "approximate")
ORDERS = ("norm", "residual")
_NEGLIGIBLE = 10.0  # directions below _NEGLIGIBLE * eps * max(dims) * ||C||_F are zero


# --- input checks --------------------------------------------------------------------------


def _check_blocks(blocks: Any, name: str = "blocks") -> list[Array]:
    """A non-empty list of 2-D floating arrays of one height and one dtype."""
    if isinstance(blocks, jax.Array | np.ndarray):
        stacked = jnp.asarray(blocks)
        if stacked.ndim != 3:
            raise ValueError(
                f"{name} given as one array must be 3-D, (m, h, w): m blocks of shape (h, w); "
                f"got shape {stacked.shape}."
            )
        blocks = [stacked[k] for k in range(stacked.shape[0])]
    if not isinstance(blocks, Sequence) or isinstance(blocks, str):
        raise TypeError(
            f"{name} must be a sequence of matrices (h, w_k) or an array (m, h, w); got "
            f"{type(blocks).__name__}."
        )
    if len(blocks) == 0:
        raise ValueError(f"{name} must hold at least one matrix; got an empty sequence.")
    out = []
    for k, A in enumerate(blocks):
        A = jnp.asarray(A)
        if A.ndim != 2:
            raise ValueError(f"{name}[{k}] must be a matrix (h, w); got shape {A.shape}.")
        if not jnp.issubdtype(A.dtype, jnp.floating):
            raise TypeError(f"{name}[{k}] must have a real floating dtype; got {A.dtype}.")
        if A.shape[1] == 0:
            raise ValueError(f"{name}[{k}] has no columns (shape {A.shape}).")
        if out and A.shape[0] != out[0].shape[0]:
            raise ValueError(
                f"{name} must all have the same number of rows h (they are concatenated "
                f"side by side, [A_1, ..., A_m]); {name}[0] has {out[0].shape[0]} rows but "
                f"{name}[{k}] has {A.shape[0]}."
            )
        if out and A.dtype != out[0].dtype:
            raise TypeError(
                f"{name} must share one dtype; {name}[0] is {out[0].dtype} but {name}[{k}] "
                f"is {A.dtype}."
            )
        out.append(A)
    return out


def _check_rank(rank: Any) -> int:
    return check_int(rank, "rank", low=1)


def _check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating):
        raise TypeError(f"tol must be a Python float (a relative error); got {tol!r}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite relative error > 0; got tol={tol}.")
    return float(tol)


def _relative_error(tail: Array, total: Array) -> Array:
    """`sqrt(tail / total)`, clipped at 0, and 0 for an all-zero concatenation."""
    safe = jnp.where(total > 0, total, 1.0)
    return jnp.where(total > 0, jnp.sqrt(jnp.clip(tail / safe, 0.0, 1.0)), 0.0)


def _top_sum(values: Array, r: int) -> Array:
    """Sum of the `r` largest entries (all of them if there are fewer)."""
    return jnp.sum(jax.lax.top_k(values, min(r, values.shape[0]))[0])


# --- one-shot functions ----------------------------------------------------------------------


@public_jit
def concatenation_error(blocks: Sequence[Float[Array, "h _"]], rank: int, /) -> Float[Array, ""]:
    r"""Optimal rank-$r$ relative error $\lVert C - C_r\rVert_F / \lVert C\rVert_F$ of $C$.

    The reference the bounds are measured against: the singular values of the formed
    concatenation, $\varepsilon_r = (\sum_{i > r} \sigma_i^2 / \sum_i \sigma_i^2)^{1/2}$ (the
    tail summed directly, no cancellation).

    Parameters
    ----------
    blocks : sequence of Float[Array, "h w_k"], or Float[Array, "m h w"]
        The matrices, of one height $h$.
    rank : int
        $r \ge 1$; static.

    Returns
    -------
    Float[Array, ""]
        $\varepsilon_r(C) \in [0, 1]$ (0 if $C = 0$ or $r \ge \operatorname{rank} C$).

    Raises
    ------
    ValueError, TypeError
        For an empty or malformed `blocks` (different heights, dtypes, non-matrices) or
        `rank < 1`.

    Notes
    -----
    Cost: one SVD of the $h \times N$ concatenation, $O(h N \min(h, N))$; memory $O(hN)$.

    References
    ----------
    Shamrai (2026), arXiv:2601.11626 [shamrai2026].
    """
    blocks = _check_blocks(blocks)
    r = _check_rank(rank)
    C = jnp.concatenate(blocks, axis=1)
    s = jnp.linalg.svd(C, compute_uv=False)
    return _relative_error(jnp.sum(s[r:] ** 2), jnp.sum(s**2))


@public_jit
def concatenation_weyl_bound(
    blocks: Sequence[Float[Array, "h _"]], rank: int, /
) -> Float[Array, ""]:
    r"""Upper bound (a) on $\varepsilon_r([A_1, \dots, A_m])$ from the blocks' own spectra.

    $\varepsilon_r \le (\sum \text{pool}_{>r} / \sum \text{pool})^{1/2}$, where the pool is
    the multiset $\{\sigma_i(A_k)^2\}$ sorted descending and its total is
    $\lVert C\rVert_F^2$; proof in the module docstring (Ky Fan's maximum principle; the
    paper's Weyl / max-norm bound is a special case). Independent of block order.

    Parameters
    ----------
    blocks : sequence of Float[Array, "h w_k"], or Float[Array, "m h w"]
        The matrices, of one height $h$.
    rank : int
        $r \ge 1$; static.

    Returns
    -------
    Float[Array, ""]
        The bound, in $[0, 1]$.

    Raises
    ------
    ValueError, TypeError
        As `concatenation_error`.

    Notes
    -----
    Cost: the singular values of every block, $O(\sum_k h w_k \min(h, w_k))$; the
    concatenation is never formed. Memory $O(\max_k h w_k)$ beyond the blocks.

    References
    ----------
    Shamrai (2026), arXiv:2601.11626 [shamrai2026].

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.concatenated import concatenation_error, concatenation_weyl_bound
    >>> blocks = [jnp.eye(4)[:, :2], 0.1 * jnp.ones((4, 3))]
    >>> bool(concatenation_weyl_bound(blocks, 2) >= concatenation_error(blocks, 2))
    True
    """
    blocks = _check_blocks(blocks)
    r = _check_rank(rank)
    pool = jnp.concatenate([jnp.linalg.svd(A, compute_uv=False) ** 2 for A in blocks])
    pool = jnp.sort(pool)[::-1]
    return _relative_error(jnp.sum(pool[r:]), jnp.sum(pool))


@public_jit
def concatenation_residual_bound(
    blocks: Sequence[Float[Array, "h _"]], rank: int, /
) -> Float[Array, ""]:
    r"""Upper bound (b) on $\varepsilon_r([A_1, \dots, A_m])$ from the incremental residuals.

    $\varepsilon_r^2 \le 1 - L_b / \lVert C\rVert_F^2$ with $L_b$ the sum of the $r$ largest
    $\sigma_i(R_k)^2$, $R_k = (I - \Pi_{k-1}) A_k$ the part of block $k$ outside the span of
    the blocks before it (in the given order); proof in the module docstring. The residuals
    are read off one Householder QR of $C$: the singular values of $R_k$ are those of the
    diagonal block of the triangular factor at block $k$'s rows and columns.

    Parameters
    ----------
    blocks : sequence of Float[Array, "h w_k"], or Float[Array, "m h w"]
        The matrices, of one height $h$, in the order the bound credits them.
    rank : int
        $r \ge 1$; static.

    Returns
    -------
    Float[Array, ""]
        The bound, in $[0, 1]$.

    Raises
    ------
    ValueError, TypeError
        As `concatenation_error`.

    Notes
    -----
    Cost: a QR of the $h \times N$ concatenation, $O(h N \min(h, N))$, and the SVDs of the
    $w_k \times w_k$ diagonal blocks; memory $O(hN)$. `cluster_blocks` uses a streaming
    form of the same bound that keeps an $h \times h$ basis instead of $C$.

    References
    ----------
    Shamrai (2026), arXiv:2601.11626 [shamrai2026].
    """
    blocks = _check_blocks(blocks)
    r = _check_rank(rank)
    C = jnp.concatenate(blocks, axis=1)
    T = jnp.linalg.qr(C, mode="r")  # (min(h, N), N)
    pool, start = [], 0
    for A in blocks:
        width = A.shape[1]
        if start < T.shape[0]:
            D = T[start : start + width, start : start + width]
            pool.append(jnp.linalg.svd(D, compute_uv=False) ** 2)
        start += width
    total = jnp.sum(C * C)
    return _relative_error(total - _top_sum(jnp.concatenate(pool), r), total)


# --- incremental truncated SVD ---------------------------------------------------------------


class IncrementalSVDState(NamedTuple):
    r"""State of `IncrementalSVD`: the running rank-$\ell$ factor $B = U \operatorname{diag}(S)$.

    Attributes
    ----------
    U : Float[Array, "h l"]
        Left singular vectors of $B$ (columns with $S_i = 0$ are unused).
    S : Float[Array, " l"]
        Singular values of $B$, descending.
    sq_norm : Float[Array, ""]
        $\lVert C\rVert_F^2$ of every block folded in so far.
    count : Int[Array, ""]
        Number of blocks folded in.
    """

    U: Float[Array, "h l"]
    S: Float[Array, " l"]
    sq_norm: Float[Array, ""]
    count: Int[Array, ""]


class ConcatenatedSVDResult(NamedTuple):
    r"""Result of the incremental estimator: $C C^\top \approx U \operatorname{diag}(S)^2 U^\top$.

    Attributes
    ----------
    U : Float[Array, "h r"]
        The shared rank-$r$ basis (orthonormal where $S > 0$).
    S : Float[Array, " r"]
        Lower bounds $S_i \le \sigma_i(C)$, descending (equal when $\operatorname{rank} C
        \le \ell$).
    error : Float[Array, ""]
        $(1 - \sum_i S_i^2 / \lVert C\rVert_F^2)^{1/2} \ge \varepsilon_r(C)$.
    """

    U: Float[Array, "h r"]
    S: Float[Array, " r"]
    error: Float[Array, ""]


class IncrementalSVD(eqx.Module):
    r"""Streaming rank-$r$ SVD of $C = [A_1, A_2, \dots]$, a block at a time: init, update, result.

    Keeps $B_k$ = the best rank-$\ell$ approximation of $[B_{k-1}, A_k]$, $\ell = r +$
    `oversample`, as $U \operatorname{diag}(S)$ (the right factor is never needed), and
    $\lVert C\rVert_F^2$. `result` gives the top-$r$ part and the error estimate
    $(1 - \sum_{i \le r} S_i^2 / \lVert C\rVert_F^2)^{1/2}$, which is an upper bound on the
    optimal $\varepsilon_r(C)$ ($B B^\top \preceq C C^\top$; proof in the module docstring)
    and exact when $\operatorname{rank} C \le \ell$.

    One `update` with an $h \times w$ block: project it on the basis twice
    ($O(h \ell w)$), an SVD of the residual ($O(h w \min(h, w))$), an SVD of the
    $(\ell + \min(h, w)) \times (\ell + w)$ core and the basis rotation
    $O(h \ell (\ell + w))$. Memory $O(h (\ell + w))$; the state is a fixed-shape pytree, so
    equal-width blocks can be folded with `jax.lax.scan`.

    Attributes
    ----------
    rank : int
        $r \ge 1$.
    oversample : int
        $\ell - r \ge 0$ extra directions tracked (the paper's oversampling); more makes
        the estimate tighter.

    References
    ----------
    Shamrai (2026), arXiv:2601.11626 [shamrai2026]; Brand (2006), "Fast low-rank
    modifications of the thin singular value decomposition", Linear Algebra Appl. 415.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from spectral.concatenated import IncrementalSVD
    >>> blocks = jax.random.normal(jax.random.key(0), (5, 20, 3))
    >>> alg = IncrementalSVD(rank=4, oversample=2)
    >>> state = alg.init(None, blocks[0])
    >>> state, _ = jax.lax.scan(lambda s, A: (alg.update(s, A), None), state, blocks)
    >>> res = alg.result(state)
    >>> res.U.shape, res.S.shape
    ((20, 4), (4,))
    """

    rank: int = eqx.field(static=True)
    oversample: int = eqx.field(static=True, default=0)

    def __check_init__(self):
        _check_rank(self.rank)
        check_int(self.oversample, "oversample", low=0)

    def init(self, key: PRNGKeyArray | None, example: Any) -> IncrementalSVDState:
        """The empty state for blocks like `example` (an array or `jax.ShapeDtypeStruct` (h, w)).

        `key` is ignored (the algorithm is deterministic); it is accepted for the streaming
        protocol.
        """
        del key
        shape, dtype = tuple(example.shape), example.dtype
        if len(shape) != 2 or not jnp.issubdtype(dtype, jnp.floating):
            raise ValueError(
                f"example must describe a floating block (h, w); got shape {shape}, dtype {dtype}."
            )
        h, ell = shape[0], self.rank + self.oversample
        if ell > h:
            raise ValueError(
                f"rank + oversample must be <= the block height h = {h} (the basis is h x "
                f"(rank + oversample)); got rank={self.rank}, oversample={self.oversample}."
            )
        return IncrementalSVDState(
            jnp.zeros((h, ell), dtype),
            jnp.zeros((ell,), dtype),
            jnp.zeros((), dtype),
            jnp.zeros((), jnp.int32),
        )

    def update(self, state: IncrementalSVDState, block: Float[Array, "h w"]) -> IncrementalSVDState:
        """Fold in one block (columns appended to $C$)."""
        block = jnp.asarray(block)
        h = state.U.shape[0]
        if block.ndim != 2 or block.shape[0] != h:
            raise ValueError(f"block must be a matrix (h, w) = ({h}, w); got shape {block.shape}.")
        if block.dtype != state.U.dtype:
            raise TypeError(
                f"block must have the dtype of the state, {state.U.dtype}; got {block.dtype}."
            )
        return _incremental_update(state, block)

    def result(self, state: IncrementalSVDState) -> ConcatenatedSVDResult:
        """The rank-$r$ basis, the singular-value lower bounds and the error estimate."""
        S = state.S[: self.rank]
        error = _relative_error(state.sq_norm - jnp.sum(S**2), state.sq_norm)
        return ConcatenatedSVDResult(state.U[:, : self.rank], S, error)


@eqx.filter_jit
@full_precision_products
def _incremental_update(state: IncrementalSVDState, A: Array) -> IncrementalSVDState:
    U, S, sq_norm, count = state
    h, w = A.shape
    ell = S.shape[0]
    dtype = A.dtype
    sq_norm = sq_norm + jnp.sum(A * A)
    sq_norm = eqx.error_if(sq_norm, ~jnp.isfinite(sq_norm), "block contains NaN or Inf.")
    threshold = _NEGLIGIBLE * jnp.finfo(dtype).eps * max(h, ell + w) * jnp.sqrt(sq_norm)
    Ua = jnp.where((S > 0)[None, :], U, 0.0)  # unused columns take no part
    Y = Ua.T @ A
    R = A - Ua @ Y
    Y2 = Ua.T @ R  # twice is enough
    R = R - Ua @ Y2
    Y = Y + Y2
    Ur, Sr, Vrh = jnp.linalg.svd(R, full_matrices=False)
    Sr = jnp.where(Sr > threshold, Sr, 0.0)
    p = Sr.shape[0]
    # [B, A] = [Ua, Ur] K,  K = [[diag(S), Y], [0, diag(Sr) Vrh]]; zero rows for unused
    # or negligible directions, so the kept left singular vectors avoid them.
    K = jnp.block([[jnp.diag(S), Y], [jnp.zeros((p, ell), dtype), Sr[:, None] * Vrh]])
    Uk, Sk, _ = jnp.linalg.svd(K, full_matrices=False)
    U = jnp.concatenate([Ua, Ur], axis=1) @ Uk[:, :ell]
    S = jnp.where(Sk[:ell] > threshold, Sk[:ell], 0.0)
    return IncrementalSVDState(U, S, sq_norm, count + 1)


@public_jit
def incremental_svd(
    blocks: Sequence[Float[Array, "h _"]], rank: int, /, *, oversample: int = 0
) -> ConcatenatedSVDResult:
    r"""Rank-$r$ SVD estimate of $C = [A_1, \dots, A_m]$ folded block by block, never forming $C$.

    `IncrementalSVD(rank, oversample)` run over the blocks in order (a `lax.scan` for a
    stacked (m, h, w) array). `error` is an upper bound on the optimal rank-$r$ relative
    error, exact when $\operatorname{rank} C \le r +$ `oversample`.

    Parameters
    ----------
    blocks : sequence of Float[Array, "h w_k"], or Float[Array, "m h w"]
        The matrices, of one height $h$.
    rank : int
        $r$, $1 \le r$, $r +$ `oversample` $\le h$; static.
    oversample : int
        Extra tracked directions; static.

    Returns
    -------
    ConcatenatedSVDResult
        `U` (h, r), `S` (r,) with $S_i \le \sigma_i(C)$, `error` $\ge \varepsilon_r(C)$.

    Raises
    ------
    ValueError, TypeError
        As `concatenation_error`, and for $r +$ `oversample` $> h$.
    EquinoxRuntimeError
        If a block holds NaN or Inf.

    Notes
    -----
    Cost $O(\sum_k h (\ell + w_k)^2)$ flops, $\ell = r +$ `oversample`; memory
    $O(h(\ell + \max_k w_k))$ beyond the blocks.

    References
    ----------
    Shamrai (2026), arXiv:2601.11626 [shamrai2026].

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.concatenated import incremental_svd
    >>> blocks = [jnp.eye(6)[:, :2], jnp.eye(6)[:, 2:3]]
    >>> res = incremental_svd(blocks, 3)
    >>> float(res.error)
    0.0
    """
    alg = IncrementalSVD(rank=_check_rank(rank), oversample=oversample)
    if isinstance(blocks, jax.Array | np.ndarray) and jnp.ndim(blocks) == 3:
        stacked = jnp.asarray(blocks)
        _check_blocks(stacked[:1])
        state = alg.init(None, stacked[0])
        state, _ = jax.lax.scan(lambda s, A: (alg.update(s, A), None), state, stacked)
        return alg.result(state)
    blocks = _check_blocks(blocks)
    state = alg.init(None, blocks[0])
    for A in blocks:
        state = alg.update(state, A)
    return alg.result(state)


# --- streaming bounds (a) and (b), for the clustering -------------------------------------------


class _PoolState(NamedTuple):
    pool: Array  # (r,) the r largest credited squared singular values, descending
    sq_norm: Array  # ||C||_F^2


class _ResidualState(NamedTuple):
    Q: Array  # (h, h) orthonormal basis of the span so far (zero columns where unused)
    used: Array  # (h,) bool
    pool: Array  # (r,)
    sq_norm: Array


def _merge_pool(pool: Array, values: Array) -> Array:
    r = pool.shape[0]
    both = jnp.concatenate([pool, values])
    return jax.lax.top_k(both, r)[0]


@eqx.filter_jit
@full_precision_products
def _weyl_update(state: _PoolState, A: Array) -> _PoolState:
    s = jnp.linalg.svd(A, compute_uv=False)
    return _PoolState(_merge_pool(state.pool, s**2), state.sq_norm + jnp.sum(A * A))


@eqx.filter_jit
@full_precision_products
def _residual_update(state: _ResidualState, A: Array) -> _ResidualState:
    Q, used, pool, sq_norm = state
    h, w = A.shape
    sq_norm = sq_norm + jnp.sum(A * A)
    threshold = _NEGLIGIBLE * jnp.finfo(A.dtype).eps * max(h, w) * jnp.sqrt(sq_norm)
    R = A - Q @ (Q.T @ A)
    R = R - Q @ (Q.T @ R)
    Ur, Sr, _ = jnp.linalg.svd(R, full_matrices=False)
    keep = Sr > threshold
    position = jnp.cumsum(keep) - 1  # rank of each kept direction among the kept ones
    free = jnp.nonzero(~used, size=h, fill_value=h)[0]
    slot = free[jnp.clip(position, 0, h - 1)]
    target = jnp.where(keep & (slot < h), slot, h)  # h: dropped (out of bounds)
    added = target < h
    Q = Q.at[:, target].set(jnp.where(added[None, :], Ur, 0.0), mode="drop")
    used = used.at[target].set(True, mode="drop")
    pool = _merge_pool(pool, jnp.where(added, Sr**2, 0.0))
    return _ResidualState(Q, used, pool, sq_norm)


def _pool_bound(state: _PoolState | _ResidualState) -> Array:
    return _relative_error(state.sq_norm - jnp.sum(state.pool), state.sq_norm)


class _Estimator:
    """A uniform (init, update, bound) over the three methods, for the clustering loop."""

    def __init__(self, method: str, rank: int, oversample: int, h: int, dtype: Any):
        self.method, self.rank, self.h, self.dtype = method, rank, h, dtype
        if method == "approximate":
            ell = min(rank + oversample, h)
            self.alg = IncrementalSVD(rank=min(rank, ell), oversample=ell - min(rank, ell))

    def init(self) -> Any:
        zero = jnp.zeros((), self.dtype)
        pool = jnp.zeros((self.rank,), self.dtype)
        if self.method == "max_norm":
            return _PoolState(pool, zero)
        if self.method == "residuals":
            Q = jnp.zeros((self.h, self.h), self.dtype)
            return _ResidualState(Q, jnp.zeros((self.h,), bool), pool, zero)
        return self.alg.init(None, jax.ShapeDtypeStruct((self.h, 1), self.dtype))

    def update(self, state: Any, A: Array) -> Any:
        if self.method == "max_norm":
            return _weyl_update(state, A)
        if self.method == "residuals":
            return _residual_update(state, A)
        return _incremental_update(state, A)

    def bound(self, state: Any) -> float:
        if self.method == "approximate":
            return float(self.alg.result(state).error)
        return float(_pool_bound(state))


# --- clustering -------------------------------------------------------------------------------


class ClusteringResult(NamedTuple):
    r"""Clusters of matrices that share one rank-$r$ basis.

    Attributes
    ----------
    labels : Int[Array, " m"]
        Cluster of each input matrix, numbered in the order clusters were formed.
    estimates : Float[Array, " k"]
        Each cluster's bound / estimate of $\varepsilon_r$ (what the algorithm tested).
    errors : Float[Array, " k"]
        Each cluster's exact $\varepsilon_r$ (from a QR-accumulated $h \times h$ factor of its
        concatenation, as accurate as its SVD), or NaN with ``exact=False``.
    """

    labels: Int[Array, " m"]
    estimates: Float[Array, " k"]
    errors: Float[Array, " k"]


@eqx.filter_jit
@full_precision_products
def _sq_norm(A: Array) -> Array:
    return jnp.sum(A * A)


@eqx.filter_jit
@full_precision_products
def _top_basis(A: Array, r: int) -> Array:
    U, _, _ = jnp.linalg.svd(A, full_matrices=False)
    return U[:, : min(r, U.shape[1])]


@eqx.filter_jit
@full_precision_products
def _residual_sq(U: Array, A: Array) -> Array:
    R = A - U @ (U.T @ A)
    return jnp.sum(R * R)


@eqx.filter_jit
@full_precision_products
def _gram_factor_update(L: Array, A: Array) -> Array:
    r"""$L'$ with $L' L'^\top = L L^\top + A A^\top$: the transposed R factor of $[L, A]^\top$.

    Orthogonal transformations only (no squaring), so the singular values of the final $L$
    are those of the concatenation to backward-stable accuracy, at a fixed shape $h \times h$.
    """
    return jnp.linalg.qr(jnp.concatenate([L, A], axis=1).T, mode="r")[: L.shape[0]].T


@eqx.filter_jit
@full_precision_products
def _factor_error(L: Array, r: int) -> Array:
    s = jnp.linalg.svd(L, compute_uv=False)
    return _relative_error(jnp.sum(s[r:] ** 2), jnp.sum(s**2))


def _exact_error(blocks: list[Array], rank: int) -> float:
    r"""$\varepsilon_r$ of the concatenation from an $h \times h$ factor accumulated blockwise."""
    h = blocks[0].shape[0]
    L = jnp.zeros((h, h), blocks[0].dtype)
    for A in blocks:
        L = _gram_factor_update(L, A)
    return float(_factor_error(L, rank))


def cluster_blocks(
    blocks: Sequence[Float[Array, "h _"]],
    rank: int,
    tol: float,
    /,
    *,
    method: str = "approximate",
    order: str = "norm",
    oversample: int = 5,
    exact: bool = True,
) -> ClusteringResult:
    r"""Group matrices so that each group's concatenation has rank-$r$ relative error $\le$ `tol`.

    The greedy clustering of Shamrai (2026), with the test of method

    - ``"max_norm"``: the Weyl-type bound (a), from the blocks' spectra; fastest,
      conservative (it merges small blocks into large ones);
    - ``"residuals"``: the incremental-residual bound (b), with an $h \times h$ basis of
      the cluster's span; tight for blocks with complementary column spaces;
    - ``"approximate"``: the incremental rank-$(r+\text{oversample})$ SVD (c); tight for
      blocks sharing a column space. The paper calls it approximate; its estimate is also an
      upper bound (module docstring).

    Blocks are sorted by Frobenius norm; the largest unassigned one seeds a cluster; every
    other unassigned block is tried once, in `order` (``"norm"``: smallest norm first, as
    the paper; ``"residual"``: smallest $\lVert (I - U U^\top) A_j\rVert_F$ first, $U$ the
    seed's top-$r$ left singular vectors), and joins if the cluster's bound with it stays
    $\le$ `tol` (the cluster's state is then updated with it). The paper stops at the first
    block that fails; trying every block once can only enlarge clusters, and each
    acceptance re-checks the whole cluster, so the guarantee is unchanged: every cluster of
    two or more blocks has $\varepsilon_r \le$ `tol` (exact arithmetic; rounding moves the
    bounds by $O(\varepsilon_{\text{mach}} / \varepsilon_r)$). A single block whose own error
    exceeds `tol` stays alone (store it raw).

    Parameters
    ----------
    blocks : sequence of Float[Array, "h w_k"], or Float[Array, "m h w"]
        The matrices, of one height $h$.
    rank : int
        $r \ge 1$, the shared rank of each cluster.
    tol : float
        The relative-error budget, $> 0$ (a Python float: it steers Python-level choices).
    method : str
        ``"max_norm"``, ``"residuals"`` or ``"approximate"``.
    order : str
        ``"norm"`` or ``"residual"``: the order in which candidates are tried.
    oversample : int
        Extra directions of the incremental SVD (``"approximate"`` only).
    exact : bool
        Also compute each cluster's exact error: the SVD of an $h \times h$ factor $L$ with
        $L L^\top = C C^\top$, accumulated by QR over the cluster's blocks (orthogonal
        transformations only, so as accurate as an SVD of $C$, without forming it).

    Returns
    -------
    ClusteringResult
        `labels` (m,), and per cluster the tested `estimates` and the exact `errors`.

    Raises
    ------
    ValueError, TypeError
        For malformed `blocks` (different heights, ...), `rank < 1`, `tol <= 0`, or an
        unknown `method` / `order`.

    Notes
    -----
    Not jittable as a whole (clusters have data-dependent sizes): a Python loop over jitted,
    fixed-shape state updates, compiled once per block shape. With $k$ clusters it makes
    $O(m k)$ updates, each $O(h w \min(h, w))$ (max-norm), $O(h^2 w)$ (residuals) or
    $O(h (\ell + w)^2)$ (approximate), plus $O(h^2 (h + w))$ per block and one $h \times h$
    SVD per cluster with ``exact=True``.

    References
    ----------
    Shamrai (2026), arXiv:2601.11626 [shamrai2026].

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from spectral.concatenated import cluster_blocks
    >>> U = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (10, 2)))[0]
    >>> W = jax.random.normal(jax.random.key(1), (4, 2, 3))
    >>> blocks = [U @ W[0], U @ W[1], jnp.eye(10)[:, 5:8], U @ W[2]]
    >>> res = cluster_blocks(blocks, 2, 0.01)
    >>> [int(res.labels[i] == res.labels[0]) for i in range(4)]
    [1, 1, 0, 1]
    """
    blocks = _check_blocks(blocks)
    rank = _check_rank(rank)
    tol = _check_tol(tol)
    method = check_choice(method, "method", METHODS)
    order = check_choice(order, "order", ORDERS)
    oversample = check_int(oversample, "oversample", low=0)
    h, dtype = blocks[0].shape[0], blocks[0].dtype
    estimator = _Estimator(method, rank, oversample, h, dtype)
    sq_norms = [float(_sq_norm(A)) for A in blocks]
    remaining = sorted(range(len(blocks)), key=lambda k: (-sq_norms[k], k))
    labels = np.full(len(blocks), -1, np.int32)
    estimates, errors = [], []
    while remaining:
        seed, rest = remaining[0], remaining[1:]
        state = estimator.update(estimator.init(), blocks[seed])
        if order == "norm":
            candidates = rest[::-1]
        else:
            U = _top_basis(blocks[seed], rank)
            residual = {j: float(_residual_sq(U, blocks[j])) for j in rest}
            candidates = sorted(rest, key=lambda j: (residual[j], j))
        members = [seed]
        for j in candidates:
            trial = estimator.update(state, blocks[j])
            if estimator.bound(trial) <= tol:
                state = trial
                members.append(j)
        labels[members] = len(estimates)
        estimates.append(estimator.bound(state))
        if exact:
            errors.append(_exact_error([blocks[j] for j in sorted(members)], rank))
        else:
            errors.append(float("nan"))
        taken = set(members)
        remaining = [j for j in remaining if j not in taken]
    return ClusteringResult(
        jnp.asarray(labels), jnp.asarray(estimates, dtype), jnp.asarray(errors, dtype)
    )
