r"""Tensor cross interpolation: a matrix product state from function evaluations.

`tt_cross` builds the tensor train (MPS, `spectral.mps.MPS`) of a tensor
$A[i_1 i_2 \dots i_n] = f(i_1, \dots, i_n)$, $i_k \in \{0, \dots, d_k - 1\}$, from values of
$f$ at a small set of multi-indices it picks itself, without ever forming the $\prod_k d_k$
entries: the hydrogen 1s orbital on a $2^{12} \times 2^{12} \times 2^{12}$ grid ($2^{36}$
points, 36 qubits) takes about $10^7$ evaluations. `grid_function` turns a function of
coordinates on a uniform grid into such a digit function, with the bit order of
`spectral.mps.tt_svd`.

**Skeleton (cross) interpolation.** A matrix of rank $r$ is exactly
$M = M[:, \mathcal J]\, M[\mathcal I, \mathcal J]^{-1}\, M[\mathcal I, :]$ for any $r$ rows
$\mathcal I$ and $r$ columns $\mathcal J$ whose intersection is nonsingular; for an
approximately low-rank matrix, the $r \times r$ submatrix of (nearly) maximal volume
$|\det M[\mathcal I, \mathcal J]|$ makes the max-norm error at most $(r + 1)\,\sigma_{r+1}$
(Goreinov & Tyrtyshnikov 2001). A tensor train applies this at every bond $k$, with left
multi-indices $\mathcal I_k \subset \{(i_1 \dots i_k)\}$ and right ones $\mathcal J_k \subset
\{(i_{k+1} \dots i_n)\}$, nested ($\mathcal I_k \subset \mathcal I_{k-1} \times [d_k]$,
$\mathcal J_k \subset [d_{k+1}] \times \mathcal J_{k+1}$):
$A \approx \prod_k A[\mathcal I_{k-1}, i_k, \mathcal J_k]\,
A[\mathcal I_k, \mathcal J_k]^{-1}$, exact on every pivot cross (Oseledets & Tyrtyshnikov
2010).

**maxvol** (Goreinov et al. 2010). For a tall $U \in \mathbb R^{N \times r}$ of full column
rank: start from the $r$ rows that LU with partial pivoting picks, form $B = U\, U[\mathcal
I]^{-1}$ (the identity on the chosen rows), and while some $|B_{ij}| > 1 + \delta$ swap row
$i$ in for the $j$-th chosen one (the volume grows by the factor $|B_{ij}|$; $B$ changes by
a rank-one update). At the end $U[\mathcal I]$ is a dominant submatrix and $B$ is the
interpolation matrix, $|B_{ij}| \le 1 + \delta$. Applied to an orthonormal $U$,
$\sigma_{\min}(U[\mathcal I]) = 1 / \lVert B\rVert_2 \ge (r + (1 + \delta)^2 r (N -
r))^{-1/2}$, so $B$ is computed stably even when the values of $f$ span many decades.

**The two-site update and rank adaptation** (DMRG-like; Savostyanov & Oseledets 2011). A
sweep visits the bonds $k = 1, \dots, n - 1$ from left to right, the next one from right to
left. At bond $k$ it evaluates the two-site block

$$\Pi_k[(\alpha, i_k), (i_{k+1}, \beta)] = f(\mathcal I_{k-1}[\alpha], i_k, i_{k+1},
\mathcal J_{k+1}[\beta]), \qquad \Pi_k \in \mathbb R^{r_{k-1} d_k \times d_{k+1} r_{k+1}},$$

computes its SVD $\Pi_k = U S V^\top$ and keeps the $r_k$ singular values above
$\tau = \max(\text{tol} \cdot \max|f|,\ \sqrt{\max(\text{shape})}\, \varepsilon\,\sigma_1)$
($\max|f|$ over every value seen so far; the second term is the SVD's noise floor), at most
`max_bond`. Left to right, maxvol on $U_{:, :r_k}$ picks the new $\mathcal I_k$ (rows of
$\mathcal I_{k-1} \times [d_k]$, so nested) and gives the core $G_k = U U[\mathcal
I_k]^{-1}$, shape $(r_{k-1}, d_k, r_k)$; right to left, maxvol on $V_{:, :r_k}$ picks
$\mathcal J_k$ and gives $G_{k+1}$. The last block of a sweep, restricted to the chosen rows
(columns), is the last (first) core: exact values of $f$. The rank of each bond is re-decided
at every visit from a block with up to $d$ times more rows (columns) than the bond had, so
ranks grow (at most $d$-fold per sweep) from those of the random initial pivots until the
discarded singular values fall below $\tau$, and shrink where they were too large.

**Stopping.** After each sweep the MPS is evaluated at `num_test_points` random
multi-indices (drawn once) and compared with $f$ there: `error_estimate` $= \max|f - \tilde
f| / \max|f|$ over them. The sweeps stop, with `converged=True`, once it is at most `tol`,
no bond was capped by `max_bond`, and no bond rank moved by more than $1 + 5\%$ since the
sweep before. They stop with `converged=False` after `max_sweeps`, or when the ranks have
settled and the last two sweeps (one in each direction, whose interpolation cores differ)
did not halve the best estimate before them: `tol` is below what floating point allows, the
noise floor decides the ranks, and the error stalls at tens to hundreds of $\varepsilon$;
the MPS of the sweep with the smallest estimate is returned then. The estimate is a
sample: a feature that no pivot and no test point touches (a narrow spike in a huge grid)
can go unseen, as with every black-box sampler; seed it with `initial_pivots`.

**Cost** per sweep, for $n$ sites of dimension $d$ and bonds $\chi$: about $n d^2 \chi^2$
evaluations of $f$ (one batched call per bond; nothing is cached, so every sweep pays them),
$n - 1$ SVDs of $d\chi \times d\chi$ blocks ($O(n d^3 \chi^3)$ flops), $n - 1$ maxvols
($O(d \chi^3)$ for the start, $O(d \chi^2)$ per swap), and memory $O(n d \chi^2)$ plus the
$d^2 \chi^2 n$ digits of one block. The ranks grow geometrically, so the total is a few times
the cost of the last sweep.

**What jits.** The sweep is a Python loop on the host: the ranks, hence the shapes, are
decided from singular values at every step. So `tt_cross` does not run under `jax.jit` (its
result has data-dependent shapes, like `spectral.mps.round` without `max_bond`). Jitted:
the SVD and rank decision of each block (`_svd_rank`, on the block zero-padded to a
bucketed square: sizes in steps of at most 1/4, so one compile per bucket, a dozen or so per
run; padding adds only zero singular values), the evaluation of the MPS at the test points
(a `lax.scan` over zero-padded cores), and the digit function of `grid_function`. `f` is
called on batches padded to powers of two (padding rows repeat the first row and are
discarded; `evaluations` counts the rows asked for), so a jitted `f` compiles a few times.
NumPy on the host: the index bookkeeping, and maxvol, a sequence of $O(d\chi^2)$ pivot
updates whose XLA compile (1 to 3 s per shape on a 2-core CPU) would cost more than running
it. Randomness: NumPy's generator seeded with the bits of `key` (a jitted `jax.random` draw
compiles per shape too); the same key gives the same result on every backend.

References
----------
- I. Oseledets, E. Tyrtyshnikov (2010), "TT-cross approximation for multidimensional
  arrays", Linear Algebra Appl. 432(1), 70-88, doi:10.1016/j.laa.2009.07.024.
- D. Savostyanov, I. Oseledets (2011), "Fast adaptive interpolation of multi-dimensional
  arrays in tensor train format", 7th Int. Workshop on Multidimensional (nD) Systems,
  doi:10.1109/nDS.2011.6076873.
- S. Goreinov, I. Oseledets, D. Savostyanov, E. Tyrtyshnikov, N. Zamarashkin (2010), "How to
  find a good submatrix", in Matrix Methods: Theory, Algorithms and Applications, World
  Scientific, 247-256, doi:10.1142/9789812836021_0015.
- S. Goreinov, E. Tyrtyshnikov (2001), "The maximal-volume concept in approximation by
  low-rank matrices", Contemp. Math. 280, 47-51.
- Y. Núñez Fernández, M. Jeannin, P. Dumitrescu, T. Kloss, J. Kaye, O. Parcollet, X. Waintal
  (2022), "Learning Feynman diagrams with tensor trains", Phys. Rev. X 12, 041018,
  arXiv:2207.06135; Y. Núñez Fernández et al. (2024), "Learning tensor networks with tensor
  cross interpolation: new algorithms and libraries", arXiv:2407.02454.

Examples
--------
$e^{-x} + e^{-3x}$ on $2^{20}$ points of $[0, 1)$ (20 qubits) has rank 2, from about 2000
values of $f$ (half of them the test points):

>>> import jax, jax.numpy as jnp
>>> from spectral.tt_cross import tt_cross, grid_function
>>> f = grid_function(lambda x: jnp.exp(-x) + jnp.exp(-3 * x), 20, 0.0, 1.0)
>>> res = tt_cross(jax.random.key(0), f, 20, tol=1e-6)
>>> max(res.ranks.tolist()), res.evaluations < 2**20 // 100, res.error_estimate < 1e-5
(2, True, True)

The 1s orbital $e^{-r}$ on $[-16, 16)^3$ with 7 qubits per coordinate, rounded like a
normalized state (``spectral.mps.round`` with an absolute threshold), has the bond dimensions
of TT-SVD of the dense $2^{21}$-point grid:

>>> from spectral import mps
>>> orbital = grid_function(lambda x, y, z: jnp.exp(-jnp.sqrt(x * x + y * y + z * z)),
...                         [7, 7, 7], -16.0, 16.0)  # doctest: +SKIP
>>> res = tt_cross(jax.random.key(0), orbital, 21, tol=1e-15)  # doctest: +SKIP
>>> state = mps.scale(res.mps, 1 / mps.norm(res.mps))  # doctest: +SKIP
>>> int(mps.round(state, tol=1e-12, criterion="absolute").ranks.max())  # doctest: +SKIP
87
"""

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Int, PRNGKeyArray

from ._checks import check_choice, check_int
from .mps import MPS, ORDERS

_DTYPES = (np.float32, np.float64, np.complex64, np.complex128)

# --- result -------------------------------------------------------------------------------


class CrossResult(NamedTuple):
    r"""What `tt_cross` returns.

    Attributes
    ----------
    mps : MPS
        The tensor train: that of the last sweep if converged, else that of the sweep with the
        smallest error estimate. Its cores $G_1, \dots, G_{n-1}$ (after a left-to-right sweep;
        $G_2, \dots, G_n$ after a right-to-left one) are interpolation cores, entries bounded
        by about 1 and the identity on the pivots, not orthonormal; the remaining core holds
        values of $f$. Round it with `spectral.mps.round` to the smallest bonds for a
        threshold.
    ranks : Int[Array, " n_bonds"]
        The $n - 1$ bond dimensions of `mps`.
    evaluations : int
        The number of multi-indices at which `f` was asked for a value (block entries and test
        points, repeats included; the padding of batches is not counted).
    sweeps : int
        The number of sweeps done, each one pass over the bonds in one direction.
    error_estimate : float
        $\max |f - \tilde f| / \max |f|$ of `mps` over the random test points.
    converged : bool
        Whether the stopping rule was met (see the module docstring): error estimate at most
        `tol`, ranks settled, none capped by `max_bond`.
    """

    mps: MPS
    ranks: Int[Array, " n_bonds"]
    evaluations: int
    sweeps: int
    error_estimate: float
    converged: bool


# --- shapes -------------------------------------------------------------------------------


_FLOOR = 1.0  # noise floor: sqrt(max(N, M)) * _FLOOR * eps * sigma_1


def _bucket(size: int) -> int:
    """`size` rounded up to a multiple of 16 (up to 64), then of 2**(bit_length - 3).

    At most 1/4 padding above 64, four sizes per octave: the jitted kernels compile rarely.
    """
    step = 16 if size <= 64 else 1 << (int(size).bit_length() - 3)
    return -(-int(size) // step) * step


def _batch_bucket(size: int) -> int:
    """Batch sizes for `f`: powers of two, at least 1024 (few compiles of a jitted `f`)."""
    return max(1024, 1 << (int(size) - 1).bit_length())


def _pad2(M: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), M.dtype)
    out[: M.shape[0], : M.shape[1]] = M
    return out


# --- jitted kernels -----------------------------------------------------------------------


@jax.jit
def _svd_rank(
    Pi: Array, floor: Array, threshold: Array, max_bond: Array
) -> tuple[Array, Array, Array, Array]:
    """SVD of a zero-padded square block and its kept rank: (U, s, kept, rank).

    kept = #{sigma_i > max(threshold, floor * sigma_1)}, rank = clip(kept, 1, max_bond).
    The padding adds zero singular values only, and the singular vectors of the nonzero
    ones vanish on the padded rows.
    """
    U, s, _ = jnp.linalg.svd(Pi, full_matrices=False)
    kept = jnp.sum(s > jnp.maximum(threshold, floor * s[0])).astype(jnp.int32)
    return U, s, kept, jnp.clip(kept, 1, max_bond)


def _maxvol(Q: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """maxvol: the rows of a dominant r x r submatrix of a tall Q, and Q Q[rows]^{-1}.

    Q is N x r of full column rank; on return every |B_ij| <= 1 + delta. The start is
    Gauss-Jordan elimination on the columns with partial pivoting (column k takes the row of
    largest |B_ik|, then B <- B M_k turns that row into e_k): the rows LU with partial
    pivoting would choose, and B = Q Q[rows]^{-1} at the end. Then, while some |B_ij| >
    1 + delta, row i replaces rows[j] (the volume grows by |B_ij|) and
    B <- B - B[:, j] (B[i, :] - e_j) / B[i, j]. B is recomputed by a solve at the end, so
    the rounding of the updates does not reach the result.
    """
    N, r = Q.shape
    B = Q.copy()
    rows = np.empty(r, np.int64)
    free = np.ones(N, bool)
    for k in range(r):
        i = int(np.argmax(np.where(free, np.abs(B[:, k]), -1.0)))
        pivot = B[:, k] / B[i, k]
        B -= pivot[:, None] * B[i, :][None, :]
        B[:, k] = pivot
        rows[k], free[i] = i, False
    for _ in range(4 * r):
        flat = int(np.argmax(np.abs(B)))
        i, j = divmod(flat, r)
        if abs(B[i, j]) <= 1 + delta:
            break
        correction = B[i, :].copy()
        correction[j] -= 1
        B -= B[:, j][:, None] * (correction / B[i, j])[None, :]
        rows[j] = i
    B = np.linalg.solve(Q[rows].T, Q.T).T
    B[rows] = np.eye(r, dtype=B.dtype)  # exact identity at the pivots (solve leaves ~eps)
    return rows, B


@jax.jit
def _mps_values(cores: Array, digits: Array) -> Array:
    """Values of an MPS, cores zero-padded and stacked to (n, R, d, R), at digits (b, n)."""
    b = digits.shape[0]
    R = cores.shape[1]
    v = jnp.zeros((b, R), cores.dtype).at[:, 0].set(1)

    def step(v, inputs):
        core, digit = inputs
        w = (v @ core.reshape(R, -1)).reshape(b, core.shape[1], R)
        return jnp.take_along_axis(w, digit[:, None, None], axis=1)[:, 0, :], None

    v, _ = jax.lax.scan(step, v, (cores, digits.T))
    return v[:, 0]


def _evaluate_mps(cores: list[np.ndarray], digits: np.ndarray) -> np.ndarray:
    """The MPS at the rows of `digits`, by the jitted `_mps_values` on padded cores."""
    R = _bucket(max(max(c.shape[0], c.shape[2]) for c in cores))
    d = max(c.shape[1] for c in cores)
    stacked = np.zeros((len(cores), R, d, R), cores[0].dtype)
    for k, c in enumerate(cores):
        stacked[k, : c.shape[0], : c.shape[1], : c.shape[2]] = c
    return np.asarray(_mps_values(jnp.asarray(stacked), jnp.asarray(digits)))


# --- the function wrapper -----------------------------------------------------------------


class _Sampler:
    """Calls `f` on padded batches, checks what comes back, counts rows and tracks max|f|."""

    def __init__(self, f: Callable, n: int, chunk: int):
        self.f, self.n, self.chunk = f, n, chunk
        self.evaluations = 0
        self.fmax = 0.0
        self.dtype: Any = None

    def _call(self, digits: np.ndarray) -> np.ndarray:
        b = digits.shape[0]
        values = self.f(jnp.asarray(digits))
        shape = getattr(values, "shape", None)
        if shape is None or tuple(shape) != (b,):
            got = f"an object of type {type(values).__name__}" if shape is None else tuple(shape)
            raise ValueError(
                f"f must map digits of shape (batch, n) = ({b}, {self.n}) to values of shape "
                f"(batch,) = ({b},); got {got}."
            )
        values = np.asarray(values)
        if values.dtype not in _DTYPES:
            raise TypeError(
                "f must return float32, float64, complex64 or complex128 values; got dtype "
                f"{values.dtype}."
            )
        if self.dtype is None:
            self.dtype = values.dtype
        elif values.dtype != self.dtype:
            raise TypeError(
                f"f must return one dtype for every batch; got {self.dtype}, then {values.dtype}."
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("f returned NaN or Inf; tt_cross needs finite values.")
        return values

    def __call__(self, digits: np.ndarray) -> np.ndarray:
        """Values of `f` at the rows of `digits` (b, n).

        In batches of at most `chunk` rows, padded to power-of-two sizes.
        """
        b = digits.shape[0]
        out = []
        for start in range(0, b, self.chunk):
            part = digits[start : start + self.chunk]
            size = min(self.chunk, _batch_bucket(part.shape[0]))
            if part.shape[0] < size:
                pad = np.broadcast_to(part[:1], (size - part.shape[0], self.n))
                part = np.concatenate([part, pad])
            out.append(self._call(np.ascontiguousarray(part, dtype=np.int32)))
        values = np.concatenate(out)[:b]
        self.evaluations += b
        self.fmax = max(self.fmax, float(np.max(np.abs(values))))
        return values


# --- checks -------------------------------------------------------------------------------


def _seed(key: Any) -> np.ndarray:
    """The bits of a PRNG key (new-style or legacy uint32), to seed NumPy's generator."""
    try:
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jr.key_data(key)
        bits = np.asarray(key)
    except (AttributeError, TypeError):
        bits = np.asarray([])
    if bits.dtype != np.uint32 or bits.size == 0:
        raise TypeError(
            f"key must be a jax.random.key(...) or a legacy jax.random.PRNGKey(...); got {key!r}."
        )
    return bits.ravel().astype(np.uint64)


def _check_dims(physical_dims: Any) -> tuple[int, ...]:
    if isinstance(physical_dims, int | np.integer) and not isinstance(physical_dims, bool):
        if physical_dims < 1:
            raise ValueError(
                "physical_dims, given as an int, is the number of sites n (each of dimension "
                f"2) and must be >= 1; got {physical_dims}."
            )
        return (2,) * int(physical_dims)
    if not isinstance(physical_dims, Sequence) or isinstance(physical_dims, str):
        raise TypeError(
            "physical_dims must be an int (the number of sites, each of dimension 2) or a "
            f"sequence of ints (d_1, ..., d_n); got {physical_dims!r}."
        )
    if len(physical_dims) == 0:
        raise ValueError("physical_dims must name at least one site; got an empty sequence.")
    dims = []
    for k, d in enumerate(physical_dims):
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 2:
            raise ValueError(f"physical_dims[{k}] must be an int >= 2; got {d!r}.")
        dims.append(int(d))
    return tuple(dims)


def _check_nonnegative(value: Any, name: str) -> float:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, jax.errors.ConcretizationTypeError):
        raise TypeError(f"{name} must be a concrete number >= 0; got {value!r}.") from None
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {name}={number!r}.")
    return number


def _check_pivots(pivots: Any, dims: tuple[int, ...]) -> np.ndarray:
    n = len(dims)
    p = np.asarray(pivots)
    if p.ndim != 2 or p.shape[1] != n or p.shape[0] < 1:
        raise ValueError(
            f"initial_pivots must have shape (p, n) = (p, {n}) with p >= 1; got shape {p.shape}."
        )
    if not np.issubdtype(p.dtype, np.integer):
        raise TypeError(f"initial_pivots must hold integer digits; got dtype {p.dtype}.")
    if np.any(p < 0) or np.any(p >= np.asarray(dims)[None, :]):
        raise ValueError(
            f"initial_pivots must have 0 <= initial_pivots[:, k] < physical_dims[k] = {dims}."
        )
    return p.astype(np.int32)


# --- the sweep ----------------------------------------------------------------------------


def _unique_rows(a: np.ndarray) -> np.ndarray:
    """The distinct rows of `a`, in order of first appearance."""
    if a.shape[1] == 0:
        return a[:1]
    _, first = np.unique(a, axis=0, return_index=True)
    return a[np.sort(first)]


def _settled(before: list[int], after: list[int]) -> bool:
    """Whether the rank profile settled: no bond moved by more than 1 + 5%."""
    return len(before) == len(after) and all(
        abs(a - b) <= 1 + 0.05 * b for a, b in zip(after, before, strict=True)
    )


def _block(left: np.ndarray, d1: int, d2: int, right: np.ndarray) -> np.ndarray:
    """Digits (ra, d1, d2, rc, n) of the two-site block: left[a], i1, i2, right[c]."""
    ra, rc = left.shape[0], right.shape[0]
    nl, nr = left.shape[1], right.shape[1]
    out = np.empty((ra, d1, d2, rc, nl + 2 + nr), np.int32)
    out[..., :nl] = left[:, None, None, None, :]
    out[..., nl] = np.arange(d1)[None, :, None, None]
    out[..., nl + 1] = np.arange(d2)[None, None, :, None]
    out[..., nl + 2 :] = right[None, None, None, :, :]
    return out


def _step(
    Pi: np.ndarray, threshold: float, max_bond: int, delta: float
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One two-site step on the block Pi (N x M).

    Returns (rows, B, kept, rank): the maxvol rows of the first `rank` left singular vectors
    U, B = U U[rows]^{-1} (N x rank), and the number of singular values above the threshold
    (`rank` is it clipped to [1, max_bond]). The SVD runs in the jitted `_svd_rank` on Pi
    zero-padded to a bucketed square; maxvol on the host.
    """
    N, M = Pi.shape
    S = _bucket(max(N, M))
    real = np.finfo(Pi.dtype).dtype
    floor = _FLOOR * math.sqrt(max(N, M)) * float(np.finfo(real).eps)
    U, s, kept, rank = _svd_rank(
        jnp.asarray(_pad2(Pi, S, S)),
        jnp.asarray(floor, real),
        jnp.asarray(threshold, real),
        jnp.asarray(max_bond, jnp.int32),
    )
    kept, rank = int(kept), int(rank)
    if float(np.asarray(s)[0]) == 0.0:  # an all-zero block (f vanishes there): any row will do
        return np.zeros(1, np.int64), np.eye(N, 1, dtype=Pi.dtype), kept, 1
    rows, B = _maxvol(np.asarray(U)[:N, :rank], delta)
    return rows, B, kept, rank


def tt_cross(
    key: PRNGKeyArray,
    f: Callable[[Array], Array],
    physical_dims: int | Sequence[int],
    /,
    *,
    tol: float = 1e-10,
    max_bond: int = 256,
    max_sweeps: int = 24,
    initial_rank: int = 4,
    initial_pivots: Any = None,
    num_test_points: int = 1024,
    batch_size: int = 2**18,
    maxvol_delta: float = 1e-2,
) -> CrossResult:
    r"""Tensor train of $A[i_1 \dots i_n] = f(i_1, \dots, i_n)$ by two-site cross interpolation.

    Builds $A \approx G_1[i_1]\, G_2[i_2] \cdots G_n[i_n]$ from values of `f` on two-site
    blocks $f(\mathcal I_{k-1}, i_k, i_{k+1}, \mathcal J_{k+1})$ whose pivots maxvol chooses,
    with bond ranks decided by the SVD of each block; the dense $\prod_k d_k$ tensor is never
    formed. See the module docstring for the algorithm, the stopping rule and what jits.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the initial pivots and the test points (`jax.random.key` or a legacy
        `PRNGKey`; the same bits give the same result).
    f : callable
        Vectorized: maps an int32 array of digits of shape (batch, n), rows
        $(i_1, \dots, i_n)$ with the most significant site first and $0 \le i_k < d_k$, to
        values of shape (batch,): float32, float64, complex64 or complex128, one dtype (the
        MPS gets it). Called from the host on batches of at most `batch_size` rows padded to
        powers of two, so a jitted `f` compiles a few times only.
    physical_dims : int or sequence of int
        $n$, for $n$ sites of dimension 2 (qubits), or $(d_1, \dots, d_n)$, each $\ge 2$.
    tol : float
        Target relative accuracy in the max norm, $\max|A - \tilde A| \lesssim \text{tol}
        \max|A|$: block singular values below $\text{tol} \max|f|$ are dropped, and the
        test-point error must reach `tol` to stop. Values below the noise floor (about
        $10^{-14}$ in float64, $10^{-6}$ in float32) ask for the most accurate cross the
        floating point allows; the sweeps then stop when the error stops improving, with
        `converged=False`.
    max_bond : int
        Cap on every bond dimension.
    max_sweeps : int
        Maximum number of sweeps (each one pass over the bonds in one direction).
    initial_rank : int
        Number of random initial pivots (uniformly drawn multi-indices).
    initial_pivots : int array of shape (p, n), optional
        Extra initial pivots, e.g. where $|f|$ peaks or a feature is narrow; they join the
        random ones.
    num_test_points : int
        Random multi-indices at which the error is estimated after each sweep.
    batch_size : int
        The most rows passed to `f` in one call (larger blocks are split).
    maxvol_delta : float
        maxvol stops when every interpolation coefficient is at most $1 + \delta$ in modulus.

    Returns
    -------
    CrossResult
        `(mps, ranks, evaluations, sweeps, error_estimate, converged)`.

    Raises
    ------
    ValueError
        For $n < 1$ or a $d_k < 2$; `tol` or `maxvol_delta` negative or not finite;
        `max_bond`, `max_sweeps`, `initial_rank`, `num_test_points` or `batch_size` < 1;
        initial pivots of the wrong shape or out of range; `f` returning a wrong shape, NaN
        or Inf.
    TypeError
        For a non-callable `f`, `f` returning another dtype (integers, say), or a key that is
        not a JAX PRNG key.

    Notes
    -----
    Per sweep about $n d^2 \chi^2$ evaluations and $O(n d^3 \chi^3)$ flops, $O(n d \chi^2)$
    memory (module docstring). Not jittable: the ranks decide the shapes, step by step, in a
    host-side loop; the SVD of each block and the test-point contraction are jitted kernels.
    The estimate is a sample at random points: a feature that neither pivots nor test points
    touch is not seen (seed it with `initial_pivots`).

    References
    ----------
    Oseledets & Tyrtyshnikov (2010), "TT-cross approximation for multidimensional arrays",
    doi:10.1016/j.laa.2009.07.024; Savostyanov & Oseledets (2011), "Fast adaptive
    interpolation of multi-dimensional arrays in tensor train format",
    doi:10.1109/nDS.2011.6076873; Goreinov et al. (2010), "How to find a good submatrix",
    doi:10.1142/9789812836021_0015.

    Examples
    --------
    A sum of three separable terms on sites of dimensions 3, 4, 5, 6 has rank 3 (where the
    bond allows it):

    >>> import jax, jax.numpy as jnp
    >>> from spectral.tt_cross import tt_cross
    >>> f = lambda i: jnp.sum(jnp.exp(-jnp.arange(1, 4)[None, :] * i.sum(axis=1)[:, None]
    ...                               / 10), axis=1)
    >>> tt_cross(jax.random.key(0), f, [3, 4, 5, 6], tol=1e-6).ranks.tolist()
    [3, 3, 3]
    """
    if not callable(f):
        raise TypeError(f"f must be callable (digits (batch, n) -> values (batch,)); got {f!r}.")
    dims = _check_dims(physical_dims)
    n = len(dims)
    tol = _check_nonnegative(tol, "tol")
    delta = _check_nonnegative(maxvol_delta, "maxvol_delta")
    max_bond = check_int(max_bond, "max_bond", low=1)
    max_sweeps = check_int(max_sweeps, "max_sweeps", low=1)
    initial_rank = check_int(initial_rank, "initial_rank", low=1)
    num_test_points = check_int(num_test_points, "num_test_points", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    extra = None if initial_pivots is None else _check_pivots(initial_pivots, dims)
    rng = np.random.default_rng(_seed(key))
    sampler = _Sampler(f, n, batch_size)

    if n == 1:  # nothing to interpolate: the d_1 values are the tensor
        values = sampler(np.arange(dims[0], dtype=np.int32)[:, None])
        mps = MPS([jnp.asarray(values.reshape(1, dims[0], 1))])
        return CrossResult(mps, jnp.zeros((0,), jnp.int32), sampler.evaluations, 0, 0.0, True)

    def draw(count: int) -> np.ndarray:
        return np.floor(rng.random((count, n)) * np.asarray(dims)[None, :]).astype(np.int32)

    pivots = draw(initial_rank)
    test_digits = draw(num_test_points)
    test_values = sampler(test_digits)
    if extra is not None:
        pivots = np.concatenate([extra, pivots])
    # left[k]: the pivots' digits of sites 0..k-1 (r_k, k); right[k]: of sites k..n-1
    left = [_unique_rows(pivots[:, :k]) for k in range(n + 1)]
    right = [_unique_rows(pivots[:, k:]) for k in range(n + 1)]
    cores: list[np.ndarray] = [np.zeros((1, d, 1), sampler.dtype) for d in dims]

    sweeps, estimate, converged = 0, math.inf, False
    history: list[float] = []
    previous: list[int] = []
    best: tuple[float, list[np.ndarray]] | None = None
    while sweeps < max_sweeps:
        forward = sweeps % 2 == 0
        capped = False
        for k in range(1, n) if forward else range(n - 1, 0, -1):
            # the block of bond k, between sites k-1 and k (0-based)
            d1, d2 = dims[k - 1], dims[k]
            digits = _block(left[k - 1], d1, d2, right[k + 1])
            ra, rc = left[k - 1].shape[0], right[k + 1].shape[0]
            Pi = sampler(digits.reshape(-1, n)).reshape(ra * d1, d2 * rc)
            threshold = tol * sampler.fmax
            if forward:
                rows, B, kept, r = _step(Pi, threshold, max_bond, delta)
                left[k] = digits[:, :, 0, 0, :k].reshape(ra * d1, k)[rows]
                cores[k - 1] = B.reshape(ra, d1, r)
                if k == n - 1:
                    cores[k] = Pi[rows].reshape(r, d2, rc)
            else:
                cols, B, kept, r = _step(Pi.T, threshold, max_bond, delta)
                right[k] = digits[0, 0, :, :, k:].reshape(d2 * rc, n - k)[cols]
                cores[k] = B.T.reshape(r, d2, rc)
                if k == 1:
                    cores[k - 1] = Pi[:, cols].reshape(ra, d1, r)
            capped = capped or kept > max_bond
        sweeps += 1

        approx = _evaluate_mps(cores, test_digits)
        estimate = float(np.max(np.abs(approx - test_values))) / (sampler.fmax or 1.0)
        ranks = [c.shape[2] for c in cores[:-1]]
        settled = _settled(previous, ranks)
        previous = ranks
        converged = estimate <= tol and settled and not capped
        history.append(estimate)
        if best is None or converged or estimate < best[0]:
            best = (estimate, list(cores))
        # stalled: settled ranks, and the last two sweeps (one each way: the two directions
        # give different interpolation cores) no better than half the best before them
        stalled = settled and len(history) >= 4 and min(history[-2:]) > 0.5 * min(history[:-2])
        if converged or stalled:
            break

    estimate, cores = best  # the last sweep's MPS if converged, else the best one seen
    mps = MPS([jnp.asarray(c) for c in cores])
    ranks_array = jnp.asarray([c.shape[2] for c in cores[:-1]], jnp.int32)
    return CrossResult(mps, ranks_array, sampler.evaluations, sweeps, estimate, converged)


# --- grid functions -----------------------------------------------------------------------


def grid_function(
    fn: Callable[..., Array],
    num_qubits_per_coordinate: int | Sequence[int],
    lower: float | Sequence[float],
    upper: float | Sequence[float],
    *,
    order: str = "sequential",
    dtype: Any = None,
) -> Callable[[Array], Array]:
    r"""A digit function for `tt_cross` from a function of coordinates on a uniform grid.

    For $c$ coordinates with $n_1, \dots, n_c$ qubits, the grid is
    $x^{(m)}_j = \ell_m + j\,(u_m - \ell_m) / 2^{n_m}$, $j = 0, \dots, 2^{n_m} - 1$ (the upper
    end excluded), and the returned function maps digits of shape (batch, $\sum_m n_m$) to
    `fn(x1, ..., xc)` (each $x^{(m)}$ of shape (batch,)). The bit order is that of
    `spectral.mps.tt_svd` for an array of shape $(2^{n_1}, \dots, 2^{n_c})$ sampled on the
    grid: ``"sequential"``, every digit of $x^{(1)}$ (most significant first), then those of
    $x^{(2)}$, ...; ``"interleaved"``, $x^{(1)}_1 x^{(2)}_1 \dots x^{(c)}_1 x^{(1)}_2 \dots$
    (coordinates that run out of digits drop out).

    Parameters
    ----------
    fn : callable
        `fn(x1, ..., xc) -> values` of shape (batch,), in jnp (it is jitted).
    num_qubits_per_coordinate : int or sequence of int
        $n_m \ge 1$ for each coordinate (an int: the same for all).
    lower, upper : float or sequence of float
        The box $[\ell_m, u_m)$, $\ell_m < u_m$. The number of coordinates $c$ is the length
        of whichever of the three arguments is a sequence (all that are must agree); 1 if
        none is.
    order : str
        ``"sequential"`` or ``"interleaved"``.
    dtype : dtype, optional
        Of the coordinates; JAX's default float if omitted.

    Returns
    -------
    callable
        `g(digits) -> fn(...)`, jitted, for `tt_cross(key, g, sum(n_m))`.

    Raises
    ------
    ValueError
        For $n_m < 1$ or more qubits than the dtype's mantissa holds exactly (24 in float32,
        53 in float64), $\ell_m \ge u_m$, mismatched lengths, an unknown order; when called,
        for digits of the wrong width.
    TypeError
        For a non-callable `fn` or a non-floating `dtype`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.tt_cross import grid_function
    >>> g = grid_function(lambda x, y: x + 10 * y, [2, 1], [0.0, 0.0], [4.0, 2.0])
    >>> g(jnp.array([[1, 0, 1], [0, 1, 0]], jnp.int32)).tolist()  # x = 2, y = 1; x = 1, y = 0
    [12.0, 1.0]
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable (x1, ..., xc) -> values; got {fn!r}.")
    check_choice(order, "order", ORDERS)
    args = {"num_qubits_per_coordinate": num_qubits_per_coordinate, "lower": lower, "upper": upper}
    lengths = {name: len(v) for name, v in args.items() if isinstance(v, Sequence | np.ndarray)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the per-coordinate arguments must have one length; got {lengths}.")
    c = next(iter(lengths.values()), 1)
    if c < 1:
        raise ValueError("grid_function needs at least one coordinate; got empty sequences.")

    def per_coordinate(v: Any) -> list:
        return list(v) if isinstance(v, Sequence | np.ndarray) else [v] * c

    nq = [
        check_int(q, f"num_qubits_per_coordinate[{m}]", low=1)
        for m, q in enumerate(per_coordinate(num_qubits_per_coordinate))
    ]
    lo = [float(v) for v in per_coordinate(lower)]
    hi = [float(v) for v in per_coordinate(upper)]
    for m in range(c):
        if not (math.isfinite(lo[m]) and math.isfinite(hi[m]) and lo[m] < hi[m]):
            raise ValueError(
                f"lower[{m}] < upper[{m}] (finite) is needed; got lower={lo[m]}, upper={hi[m]}."
            )
    dtype = jnp.zeros(()).dtype if dtype is None else jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a real floating dtype; got {dtype}.")
    bits = jnp.finfo(dtype).nmant + 1
    if max(nq) > bits:
        raise ValueError(
            f"num_qubits_per_coordinate must be at most {bits} for {dtype} coordinates (grid "
            f"indices must be exact); got {nq}."
        )

    # site s -> (coordinate, level); level 0 is the most significant digit
    if order == "sequential":
        sites = [(m, level) for m in range(c) for level in range(nq[m])]
    else:
        sites = [(m, level) for level in range(max(nq)) for m in range(c) if level < nq[m]]
    n = len(sites)
    W = np.zeros((n, c))
    for s, (m, level) in enumerate(sites):
        W[s, m] = 2.0 ** (nq[m] - 1 - level)
    W = jnp.asarray(W, dtype)  # digits @ W = the grid indices j_m, exact integers
    h = jnp.asarray([(hi[m] - lo[m]) / 2.0 ** nq[m] for m in range(c)], dtype)
    offset = jnp.asarray(lo, dtype)

    @jax.jit
    def g(digits: Array) -> Array:
        if digits.ndim != 2 or digits.shape[1] != n:
            raise ValueError(
                f"digits must have shape (batch, {n}) for this grid ({nq} qubits per "
                f"coordinate); got shape {tuple(digits.shape)}."
            )
        x = offset[None, :] + (digits.astype(dtype) @ W) * h[None, :]
        return fn(*(x[:, m] for m in range(c)))

    return g
