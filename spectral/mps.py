r"""Matrix product states (tensor trains): the pytree, its algebra, rounding and TT-SVD.

A vector $x \in \mathbb R^{d_1 d_2 \cdots d_n}$ (for amplitude encoding: a function sampled
on $2^n$ grid points, $d_k = 2$) is stored as $n$ cores $G_k$ of shape
$(\chi_{k-1}, d_k, \chi_k)$, $\chi_0 = \chi_n = 1$:

$$x[i_1 i_2 \dots i_n] = G_1[:, i_1, :]\, G_2[:, i_2, :] \cdots G_n[:, i_n, :],$$

the index $i_1 i_2 \dots i_n$ read in mixed radix, **most significant digit first** (the
first core holds the top bit; `x.reshape(d_1, ..., d_n)` in C order is the tensor). Storage
is $\sum_k \chi_{k-1} d_k \chi_k$ numbers instead of $\prod_k d_k$.

Operations (costs for $n$ sites of dimension $d$ and bond $\chi$):

- `to_dense` ($d^n$ memory: small $n$ only), `inner` and `norm` ($O(n d \chi^3)$),
- `add` (bond $\chi_a + \chi_b$), `scale`, `hadamard` (elementwise product, bond
  $\chi_a \chi_b$), `left_canonicalize`/`right_canonicalize` (QR sweeps, $O(n d \chi^3)$),
- `round` (Oseledets 2011, TT-rounding: QR sweep then truncated SVDs, $O(n d \chi^3)$),
- `tt_svd` (Oseledets 2011, TT-SVD of a dense vector or of a tensor of several
  coordinates, sequential or interleaved bits; $O(d^{n+1})$ for the first SVD).

Truncation. With `criterion="frobenius"` (default) the discarded singular values at each of
the $n - 1$ bonds have $\sum_{i > r} \sigma_i^2 \le \delta^2$, $\delta = \text{tol}\,
\lVert x\rVert / \sqrt{n - 1}$, so $\lVert x - \tilde x\rVert \le \text{tol}\,\lVert x\rVert$
(Oseledets 2011, Thm. 2.2). With `"absolute"` the singular values $\sigma_i \le$ tol are
dropped, with `"relative"` those $\le \text{tol}\,\sigma_1$ (quimb's ``cutoff_mode="abs"``
and ``"rel"``). At least one singular value is always kept.

Sizes are static, data is traced. Without `max_bond`, `round` and `tt_svd` return cores of
exactly the kept ranks, which needs concrete values (not under `jax.jit`). With `max_bond`,
every bond has the static size $\min(\text{max\_bond}, \text{the largest possible})$, the
singular values below the threshold are zeroed (the padding is exact zeros), the kept ranks
come back as an array, and the whole computation jits and differentiates (the SVD's
derivative skips the zero padding).

Reference: I. V. Oseledets, "Tensor-train decomposition", SIAM J. Sci. Comput. 33 (2011).

>>> import jax.numpy as jnp
>>> from spectral.mps import tt_svd, to_dense
>>> x = jnp.exp(-jnp.linspace(0.0, 4.0, 2**10))  # exp is a rank-1 tensor train
>>> res = tt_svd(x, tol=1e-12)
>>> res.ranks.tolist()
[1, 1, 1, 1, 1, 1, 1, 1, 1]
>>> bool(jnp.allclose(to_dense(res.mps), x))
True
"""

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._checks import check_choice

CRITERIA = ("frobenius", "absolute", "relative")
ORDERS = ("sequential", "interleaved")


class MPS(eqx.Module):
    r"""A matrix product state, most significant site first.

    Cores $G_k$ of shape $(\chi_{k-1}, d_k, \chi_k)$, $\chi_0 = \chi_n = 1$.

    A pytree (its cores are the leaves), so it goes through `jax.jit`, `jax.vmap` and
    `jax.grad` like an array. Built from a list of cores, it checks their shapes: 3-D, bond
    dimensions that match between neighbours, boundary bonds of 1, one dtype.
    """

    cores: tuple[Array, ...]

    def __init__(self, cores: Sequence[Any]):
        self.cores = tuple(jnp.asarray(c) for c in cores)

    def __check_init__(self) -> None:
        _check_cores(self.cores)

    @property
    def num_sites(self) -> int:
        """The number of cores $n$."""
        return len(self.cores)

    @property
    def physical_dims(self) -> tuple[int, ...]:
        r"""$(d_1, \dots, d_n)$."""
        return tuple(int(c.shape[1]) for c in self.cores)

    @property
    def bond_dims(self) -> tuple[int, ...]:
        r"""The $n - 1$ inner bond dimensions $(\chi_1, \dots, \chi_{n-1})$ (array shapes)."""
        return tuple(int(c.shape[2]) for c in self.cores[:-1])

    @property
    def max_bond(self) -> int:
        r"""$\max_k \chi_k$ (1 for a single site)."""
        return max(self.bond_dims, default=1)

    @property
    def size(self) -> int:
        r"""The length $\prod_k d_k$ of the vector it represents."""
        return math.prod(self.physical_dims)

    @property
    def dtype(self) -> Any:
        """The cores' dtype."""
        return self.cores[0].dtype

    def __add__(self, other: "MPS") -> "MPS":
        return add(self, other)

    def __sub__(self, other: "MPS") -> "MPS":
        return add(self, scale(other, -1.0))

    def __mul__(self, c: Any) -> "MPS":
        return scale(self, c)

    __rmul__ = __mul__


def _check_cores(cores: tuple[Any, ...]) -> None:
    if len(cores) == 0:
        raise ValueError("MPS needs at least one core; got an empty list.")
    dtype = cores[0].dtype
    for k, core in enumerate(cores):
        if core.ndim != 3:
            raise ValueError(
                f"MPS core {k} must be 3-D with shape (chi_left, d, chi_right); got shape "
                f"{tuple(core.shape)}."
            )
        if core.dtype != dtype:
            raise TypeError(
                f"MPS cores must share one dtype; core 0 is {dtype} but core {k} is {core.dtype}."
            )
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(f"MPS cores must have a floating or complex dtype; got {dtype}.")
    if cores[0].shape[0] != 1:
        raise ValueError(
            f"MPS core 0 must have left bond dimension 1; got shape {tuple(cores[0].shape)}."
        )
    if cores[-1].shape[2] != 1:
        raise ValueError(
            f"MPS core {len(cores) - 1} (the last) must have right bond dimension 1; got shape "
            f"{tuple(cores[-1].shape)}."
        )
    for k in range(len(cores) - 1):
        if cores[k].shape[2] != cores[k + 1].shape[0]:
            raise ValueError(
                f"MPS bond dimensions do not match between cores {k} and {k + 1}: core {k} has "
                f"shape {tuple(cores[k].shape)} (right bond {cores[k].shape[2]}) but core "
                f"{k + 1} has shape {tuple(cores[k + 1].shape)} (left bond "
                f"{cores[k + 1].shape[0]})."
            )


def _check_mps(a: Any, name: str) -> MPS:
    if not isinstance(a, MPS):
        raise TypeError(f"{name} must be a spectral.mps.MPS; got an object of type {type(a)}.")
    return a


def _check_same_sites(a: MPS, b: MPS, names: str = "a and b") -> None:
    if a.physical_dims != b.physical_dims:
        raise ValueError(
            f"{names} must have the same physical dimensions site by site; got "
            f"{a.physical_dims} and {b.physical_dims}."
        )
    if a.dtype != b.dtype:
        raise TypeError(f"{names} must have the same dtype; got {a.dtype} and {b.dtype}.")


# --- dense conversion and contractions --------------------------------------------------


def to_dense(a: MPS) -> Array:
    r"""The vector $x$ of length $\prod_k d_k$ (most significant site first).

    Cost $O(\prod_k d_k \cdot \chi^2)$ time and $O(\prod_k d_k\, \chi)$ memory: small $n$ only.
    """
    a = _check_mps(a, "a")
    out = a.cores[0].reshape(-1, a.cores[0].shape[2])
    for core in a.cores[1:]:
        out = (out @ core.reshape(core.shape[0], -1)).reshape(-1, core.shape[2])
    return out.reshape(-1)


def inner(a: MPS, b: MPS) -> Array:
    r"""$\langle a, b\rangle = \sum_i \overline{a_i}\, b_i$ by a left-to-right transfer sweep.

    Cost $O(n d \chi^3)$ time, $O(\chi^2)$ memory.
    """
    a, b = _check_mps(a, "a"), _check_mps(b, "b")
    _check_same_sites(a, b)
    env = jnp.ones((1, 1), a.dtype)
    for A, B in zip(a.cores, b.cores, strict=True):
        env = jnp.einsum("ab,aic,bid->cd", env, jnp.conj(A), B)
    return env[0, 0]


def norm(a: MPS) -> Array:
    r"""$\lVert a\rVert_2$, the norm of the first core after a right-canonicalizing sweep.

    No cancellation: accurate where $\sqrt{\langle a, a\rangle}$ would lose digits.
    Cost $O(n d \chi^3)$.
    """
    a = right_canonicalize(_check_mps(a, "a"))
    return jnp.linalg.norm(a.cores[0])


# --- algebra ------------------------------------------------------------------------------


def add(a: MPS, b: MPS) -> MPS:
    r"""$a + b$ with block-diagonal cores: bond dimensions $\chi_a + \chi_b$.

    Round it afterwards to compress. Cost: memory only.
    """
    a, b = _check_mps(a, "a"), _check_mps(b, "b")
    _check_same_sites(a, b)
    n = a.num_sites
    if n == 1:
        return MPS([a.cores[0] + b.cores[0]])
    cores = []
    for k, (A, B) in enumerate(zip(a.cores, b.cores, strict=True)):
        if k == 0:
            cores.append(jnp.concatenate([A, B], axis=2))
        elif k == n - 1:
            cores.append(jnp.concatenate([A, B], axis=0))
        else:
            la, d, ra = A.shape
            lb, _, rb = B.shape
            core = jnp.zeros((la + lb, d, ra + rb), a.dtype)
            core = core.at[:la, :, :ra].set(A).at[la:, :, ra:].set(B)
            cores.append(core)
    return MPS(cores)


def scale(a: MPS, c: Any) -> MPS:
    r"""$c\,a$ for a scalar $c$ (the first core is scaled)."""
    a = _check_mps(a, "a")
    c = jnp.asarray(c)
    if c.ndim != 0:
        raise ValueError(f"c must be a scalar; got shape {tuple(c.shape)}.")
    return MPS([a.cores[0] * c.astype(a.dtype), *a.cores[1:]])


def hadamard(a: MPS, b: MPS) -> MPS:
    r"""The elementwise product $a \odot b$, bond dimensions $\chi_a \chi_b$.

    Cores $G_k[(\alpha\beta), i, (\alpha'\beta')] = A_k[\alpha, i, \alpha']\,
    B_k[\beta, i, \beta']$. Cost $O(n d \chi_a^2 \chi_b^2)$ memory and time.
    """
    a, b = _check_mps(a, "a"), _check_mps(b, "b")
    _check_same_sites(a, b)
    cores = []
    for A, B in zip(a.cores, b.cores, strict=True):
        core = jnp.einsum("aic,bid->abicd", A, B)
        cores.append(core.reshape(A.shape[0] * B.shape[0], A.shape[1], A.shape[2] * B.shape[2]))
    return MPS(cores)


# --- canonical forms ------------------------------------------------------------------------


def _orthonormal_split(M: Array) -> tuple[Array, Array]:
    """M = Q R with orthonormal columns Q, R of min(M.shape) rows.

    For real input by the SVD (Q = U, R = S Vh) with the degeneracy-safe derivative: QR's
    derivative is infinite for rank-deficient M (a sum of MPS, a zero-padded bond), and
    gradients must flow through rounding. Complex input uses QR.
    """
    if not jnp.isrealobj(M):
        return jnp.linalg.qr(M)
    U, s, Vh = _safe_svd(M)
    return U, s[:, None] * Vh


def left_canonicalize(a: MPS) -> MPS:
    r"""The same vector with cores $1, \dots, n-1$ left-orthonormal.

    Left-orthonormal: $\sum_{\alpha, i} \overline{G[\alpha, i, \beta]} G[\alpha, i, \beta']
    = \delta_{\beta\beta'}$. A left-to-right sweep of orthonormal splittings (SVDs for real
    cores, so that gradients stay finite on rank-deficient cores; QR for complex ones); the
    norm ends up in the last core. Bond dimensions never grow (they become
    $\min(\chi_{k-1} d_k, \chi_k)$). Cost $O(n d \chi^3)$.
    """
    a = _check_mps(a, "a")
    cores = list(a.cores)
    for k in range(len(cores) - 1):
        left, d, right = cores[k].shape
        Q, R = _orthonormal_split(cores[k].reshape(left * d, right))
        cores[k] = Q.reshape(left, d, Q.shape[1])
        cores[k + 1] = jnp.einsum("ab,bic->aic", R, cores[k + 1])
    return MPS(cores)


def right_canonicalize(a: MPS) -> MPS:
    r"""The same vector with cores $2, \dots, n$ right-orthonormal.

    A right-to-left sweep as in `left_canonicalize`; the norm ends up in the first core.
    Cost $O(n d \chi^3)$.
    """
    a = _check_mps(a, "a")
    cores = list(a.cores)
    for k in range(len(cores) - 1, 0, -1):
        cores[k - 1], cores[k] = _right_step(cores[k - 1], cores[k])
    return MPS(cores)


@jax.jit
def _right_step(previous: Array, core: Array) -> tuple[Array, Array]:
    """One step of `right_canonicalize`: `core` right-orthonormal, its R into `previous`.

    Jitted per shape (one compile instead of one per operation when called eagerly).
    """
    left, d, right = core.shape
    Q, R = _orthonormal_split(core.reshape(left, d * right).T)  # core = R^T Q^T
    return jnp.einsum("aib,cb->aic", previous, R), Q.T.reshape(Q.shape[1], d, right)


# --- truncation ---------------------------------------------------------------------------


class TruncationResult(NamedTuple):
    r"""What `round` and `tt_svd` return.

    - `mps`: the truncated MPS (bonds padded with zeros to a static size when `max_bond` was
      given).
    - `ranks`: the $n - 1$ kept bond ranks (int array).
    - `error`: $\sqrt{\sum_k \sum_{i > r_k} \sigma_{k,i}^2}$, the Frobenius norm of all
      discarded singular values, an upper bound on $\lVert x - \tilde x\rVert_2$.
    """

    mps: MPS
    ranks: Int[Array, " n_bonds"]
    error: Float[Array, ""]


def _kept(s: Array, threshold: Array, criterion: str) -> Array:
    """Boolean mask of the singular values `s` (descending) kept under `criterion`."""
    if criterion == "frobenius":
        # keep sigma_i while the tail from i on is larger than the threshold
        tail = jnp.sqrt(jnp.cumsum((s * s)[::-1])[::-1])
        keep = tail > threshold
    elif criterion == "absolute":
        keep = s > threshold
    else:
        keep = s > threshold * s[0]
    return keep.at[0].set(True)


@jax.custom_jvp
def _safe_svd(M: Array) -> tuple[Array, Array, Array]:
    """Thin SVD whose derivative is finite for repeated (e.g. zero-padded) singular values."""
    # a plain tuple: the JVP rule returns one, and custom_jvp needs equal pytree structures
    return tuple(jnp.linalg.svd(M, full_matrices=False))


@_safe_svd.defjvp
def _safe_svd_jvp(primals: tuple, tangents: tuple) -> tuple:
    # The standard thin-SVD derivative (e.g. Townsend 2016), with the 1/(s_j^2 - s_i^2)
    # factors set to zero for (near-)equal pairs: the derivative of the subspace spanned by a
    # degenerate cluster is well defined, the split inside it is not and does not matter to
    # anything that truncation keeps or drops as a whole.
    (M,), (dM,) = primals, tangents
    U, s, Vh = _safe_svd(M)
    V = Vh.conj().T
    dP = U.conj().T @ dM @ V
    ds = jnp.real(jnp.diagonal(dP))
    s2 = s * s
    diff = s2[None, :] - s2[:, None]
    scale = jnp.finfo(s.dtype).eps * jnp.maximum(s2[None, :], s2[:, None]) * 1e2
    F = jnp.where(jnp.abs(diff) > scale, 1.0 / jnp.where(diff == 0, 1.0, diff), 0.0)
    S = jnp.diag(s).astype(M.dtype)
    dPS = dP @ S
    SdP = S @ dP
    dU_inner = F * (dPS + dPS.conj().T)
    dV_inner = F * (SdP + SdP.conj().T)
    s_inv = jnp.where(s > jnp.finfo(s.dtype).tiny ** 0.5, 1.0 / jnp.where(s > 0, s, 1.0), 0.0)
    m, n = M.shape
    dU = U @ dU_inner.astype(M.dtype)
    dV = V @ dV_inner.astype(M.dtype)
    if m > len(s):
        dU = dU + (dM @ V - U @ dP) * s_inv.astype(M.dtype)[None, :]
    if n > len(s):
        dV = dV + (dM.conj().T @ U - V @ dP.conj().T) * s_inv.astype(M.dtype)[None, :]
    return (U, s, Vh), (dU, ds.astype(s.dtype), dV.conj().T)


def _truncated_step(
    M: Array, threshold: Array, criterion: str, max_keep: int | None
) -> tuple[Array, Array, Array, Array]:
    """SVD of the unfolding M, truncated: (U_r, S_r Vh_r, rank, discarded squared norm).

    With `max_keep` the result has min(max_keep, min(M.shape)) columns and the dropped ones
    are zeroed (traced rank); without it, exactly `rank` columns (concrete values needed).
    Both paths are jitted per shape, so an eager sweep compiles once per distinct unfolding.
    """
    if max_keep is not None:
        return _padded_step(M, threshold, criterion, max_keep)
    U, s, Vh, rank, discarded = _svd_and_rank(M, threshold, criterion)
    if isinstance(rank, jax.core.Tracer):
        raise ValueError(
            "max_bond is needed under jax.jit: the kept ranks depend on the data, and the "
            "bond dimensions of the result must be static. Pass max_bond=... to get "
            "zero-padded bonds of that size and the kept ranks as an array."
        )
    U_r, SVh_r = _leading(U, s, Vh, int(rank))
    return U_r, SVh_r, rank, discarded


@functools.partial(jax.jit, static_argnames=("criterion",))
def _svd_and_rank(
    M: Array, threshold: Array, criterion: str
) -> tuple[Array, Array, Array, Array, Array]:
    """(U, s, Vh, kept rank, discarded squared norm) of the unfolding M."""
    # complex input takes JAX's own SVD derivative (the safe one below is for real input)
    U, s, Vh = _safe_svd(M) if jnp.isrealobj(M) else jnp.linalg.svd(M, full_matrices=False)
    keep = _kept(s, threshold, criterion)
    return U, s, Vh, jnp.sum(keep), jnp.sum(jnp.where(keep, 0.0, s * s))


@functools.partial(jax.jit, static_argnames=("r",))
def _leading(U: Array, s: Array, Vh: Array, r: int) -> tuple[Array, Array]:
    """(U_r, S_r Vh_r): the first r singular triplets."""
    return U[:, :r], s[:r, None].astype(Vh.dtype) * Vh[:r]


@functools.partial(jax.jit, static_argnames=("criterion", "max_keep"))
def _padded_step(
    M: Array, threshold: Array, criterion: str, max_keep: int
) -> tuple[Array, Array, Array, Array]:
    """`_truncated_step` with a static width: dropped triplets zeroed, the rank traced."""
    U, s, Vh, rank, discarded = _svd_and_rank(M, threshold, criterion)
    keep = _kept(s, threshold, criterion)
    r = min(max_keep, s.shape[0])
    mask = keep[:r].astype(s.dtype)
    return (
        U[:, :r] * mask[None, :].astype(U.dtype),
        (mask * s[:r])[:, None].astype(Vh.dtype) * Vh[:r],
        jnp.minimum(rank, r),
        discarded + jnp.sum(jnp.where(keep[r:], s[r:] * s[r:], 0.0)),
    )


def _check_truncation(tol: Any, max_bond: int | None, criterion: str) -> Array:
    check_choice(criterion, "criterion", CRITERIA)
    if max_bond is not None and (
        isinstance(max_bond, bool) or not isinstance(max_bond, int | np.integer) or max_bond < 1
    ):
        raise ValueError(f"max_bond must be None or an int >= 1; got {max_bond!r}.")
    tol = jnp.asarray(tol)
    if tol.ndim != 0:
        raise ValueError(f"tol must be a scalar; got shape {tuple(tol.shape)}.")
    if not isinstance(tol, jax.core.Tracer) and not bool(tol >= 0):
        raise ValueError(f"tol must be >= 0; got {float(tol)}.")
    return tol


def round(  # the name tensor-train libraries use (teneva, ttpy); spectral.mps.round
    a: MPS,
    *,
    tol: Any = 0.0,
    max_bond: int | None = None,
    criterion: str = "frobenius",
) -> TruncationResult:
    r"""TT-rounding (Oseledets 2011, Alg. 2): the MPS of smallest bonds within the threshold.

    A right-canonicalizing QR sweep, then a left-to-right sweep of SVDs of the unfoldings
    $G_k \in \mathbb R^{\chi_{k-1} d_k \times \chi_k}$; with the right part orthonormal, their
    singular values are those of the whole vector's unfolding at bond $k$, so the truncation
    criterion (see the module docstring) holds globally. Cost $O(n d \chi^3)$.

    Parameters
    ----------
    a : MPS
        The state.
    tol : float or Array
        The threshold (traced; >= 0). With the default criterion, the result is within
        ``tol * norm(a)`` of `a`.
    max_bond : int, optional
        A static cap on every bond; with it the function jits and the bonds are zero-padded
        to ``min(max_bond, ...)``. Without it the bonds are exactly the kept ranks (not
        under jit).
    criterion : {"frobenius", "absolute", "relative"}
        Relative to the norm and summed over bonds, absolute, or relative to the largest
        singular value at each bond (static).

    Returns
    -------
    TruncationResult
        ``(mps, ranks, error)``.
    """
    a = _check_mps(a, "a")
    tol = _check_truncation(tol, max_bond, criterion)
    a = right_canonicalize(a)
    n = a.num_sites
    real = jnp.finfo(a.dtype).dtype
    if criterion == "frobenius":
        threshold = tol.astype(real) * jnp.linalg.norm(a.cores[0]) / math.sqrt(max(n - 1, 1))
    else:
        threshold = tol.astype(real)
    cores = list(a.cores)
    ranks, discarded = [], jnp.zeros((), real)
    for k in range(n - 1):
        left, d, right = cores[k].shape
        U, SVh, rank, disc = _truncated_step(
            cores[k].reshape(left * d, right), threshold, criterion, max_bond
        )
        cores[k] = U.reshape(left, d, U.shape[1])
        cores[k + 1] = jnp.einsum("ab,bic->aic", SVh, cores[k + 1])
        ranks.append(rank)
        discarded = discarded + disc
    ranks_arr = jnp.stack(ranks) if ranks else jnp.zeros((0,), jnp.int32)
    return TruncationResult(MPS(cores), ranks_arr, jnp.sqrt(discarded))


def _bits_tensor(x: Array, d: int, order: str) -> tuple[Array, int]:
    """Reshape x into a tensor with one axis of length d per site, in the given bit order.

    x is 1-D of length d^n, or has one axis of length d^{n_c} per coordinate.
    """
    per_axis = []
    for axis, length in enumerate(x.shape):
        n_c = round_log(length, d)
        if n_c is None:
            raise ValueError(
                f"x: axis {axis} has length {length}, which is not a power of the physical "
                f"dimension {d}; pad or resample the grid to {d}**n points per coordinate."
            )
        per_axis.append(n_c)
    tensor = x.reshape(tuple(d for n_c in per_axis for _ in range(n_c)))
    if order == "interleaved" and x.ndim > 1:
        starts = np.cumsum([0, *per_axis[:-1]])
        perm = [
            int(starts[c] + level)
            for level in range(max(per_axis))
            for c in range(x.ndim)
            if level < per_axis[c]
        ]
        tensor = tensor.transpose(perm)
    return tensor, sum(per_axis)


def round_log(length: int, d: int) -> int | None:
    """The n with d**n == length, or None."""
    n, p = 0, 1
    while p < length:
        p *= d
        n += 1
    return n if p == length else None


def tt_svd(
    x: Any,
    *,
    tol: Any = 0.0,
    max_bond: int | None = None,
    criterion: str = "frobenius",
    physical_dim: int = 2,
    order: str = "sequential",
) -> TruncationResult:
    r"""TT-SVD (Oseledets 2011, Alg. 1): the MPS of a dense vector or multi-coordinate grid.

    Bit order: a 1-D `x` of length $d^n$ gets one site per digit of the index, most
    significant first. An array with one axis per coordinate (each of length $d^{n_c}$, e.g. a
    3-D orbital on a $2^{n_x} \times 2^{n_y} \times 2^{n_z}$ grid) gets, with
    `order="sequential"`, all the digits of $x$, then those of $y$, then $z$ (the C-order
    flattening); with `order="interleaved"`, $x_1 y_1 z_1 x_2 y_2 z_2 \dots$ (top digits
    first).

    Cost: a sweep of SVDs of unfoldings, the first of size $d \times d^{n-1}$:
    $O(d^{n} \chi)$ to $O(d^{n+1})$ time; the dense input bounds what fits.

    Parameters
    ----------
    x : Array
        The vector or grid (real or complex).
    tol, max_bond, criterion
        As in `round`.
    physical_dim : int
        $d$ (2 for qubits; static).
    order : {"sequential", "interleaved"}
        The bit order of several coordinates (static).

    Returns
    -------
    TruncationResult
        ``(mps, ranks, error)``.
    """
    check_choice(order, "order", ORDERS)
    if isinstance(physical_dim, bool) or not isinstance(physical_dim, int) or physical_dim < 2:
        raise ValueError(f"physical_dim must be an int >= 2; got {physical_dim!r}.")
    tol = _check_truncation(tol, max_bond, criterion)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(f"x must have a floating or complex dtype; got {x.dtype}.")
    if x.ndim == 0:
        raise ValueError("x must have at least one axis; got a scalar.")
    tensor, n = _bits_tensor(x, physical_dim, order)
    if n == 0:
        raise ValueError(f"x must have at least {physical_dim} entries; got shape {x.shape}.")
    d = physical_dim
    real = jnp.finfo(x.dtype).dtype
    if criterion == "frobenius":
        threshold = tol.astype(real) * jnp.linalg.norm(x.reshape(-1)) / math.sqrt(max(n - 1, 1))
    else:
        threshold = tol.astype(real)
    rest = tensor.reshape(1, -1)
    cores, ranks, discarded = [], [], jnp.zeros((), real)
    for _ in range(n - 1):
        left = rest.shape[0]
        U, SVh, rank, disc = _truncated_step(
            rest.reshape(left * d, -1), threshold, criterion, max_bond
        )
        cores.append(U.reshape(left, d, U.shape[1]))
        rest = SVh
        ranks.append(rank)
        discarded = discarded + disc
    cores.append(rest.reshape(rest.shape[0], d, 1))
    ranks_arr = jnp.stack(ranks) if ranks else jnp.zeros((0,), jnp.int32)
    return TruncationResult(MPS(cores), ranks_arr, jnp.sqrt(discarded))
