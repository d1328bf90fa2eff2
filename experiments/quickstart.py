r"""Quickstart: randomized and block Krylov SVD against the exact SVD.

Builds $A = U \operatorname{diag}(\sigma) V^\top \in \mathbb{R}^{m \times n}$ with the
prescribed spectrum $\sigma_i = \text{decay}^{\,i}$ ($i = 0, \dots, \min(m, n) - 1$) and
random orthonormal $U$, $V$ (QR of Gaussian matrices, signs fixed so they are Haar
distributed), then computes a rank-$k$ truncated SVD with

- `spectral.randomized_svd` (Halko, Martinsson & Tropp 2011),
- `spectral.block_krylov_svd` (Musco & Musco 2015),
- `jnp.linalg.svd` (exact, truncated to rank $k$),

and reports per method the median time, the spectral-norm error relative to the optimum,
$\|A - U_k \operatorname{diag}(S_k) V_{h,k}\|_2 / \sigma_{k+1}$ (1 is optimal, by
Eckart–Young–Mirsky), and the largest relative error of the $k$ singular values, plus a
figure of the computed against the exact singular values.
"""

import dataclasses
import functools
import statistics
import time
from typing import Any, Literal

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

import spectral

from ._config import require_positive, require_rank_below_min, working_dtype
from ._progress import Progress, no_progress

# Named PRNG streams: key(seed) is folded with these, one per independent use.
STREAM_LEFT = 0  # U of the test matrix
STREAM_RIGHT = 1  # V of the test matrix
STREAM_RANDOMIZED = 2  # test matrix of randomized_svd
STREAM_KRYLOV = 3  # starting block of block_krylov_svd

_EXACT = "jnp.linalg.svd"


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the quickstart experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys.
    dtype : {"float64", "float32"}
        Working precision of the matrix and the algorithms.
    m, n : int
        Shape of the test matrix.
    rank : int
        $k$, the truncation rank; $1 \le k < \min(m, n)$ so that $\sigma_{k+1}$ exists.
    decay : float
        Spectrum $\sigma_i = \text{decay}^{\,i}$, $0 < \text{decay} < 1$.
    oversample : int
        `randomized_svd`'s oversampling $p \ge 0$.
    power_iters : int
        `randomized_svd`'s power iterations $q \ge 0$ ($2q + 2$ passes over $A$).
    krylov_depth : int
        `block_krylov_svd`'s depth ($2\,\text{depth} + 2$ passes over $A$, block size
        $k$; needs $k(\text{depth} + 1) \le \min(m, n)$).
    repeats : int
        Timed calls per method after one warm-up (compiling) call; the median is reported.
    """

    seed: int
    dtype: Literal["float64", "float32"]
    m: int
    n: int
    rank: int
    decay: float
    oversample: int
    power_iters: int
    krylov_depth: int
    repeats: int

    def __post_init__(self):
        require_positive(self, "m", "n", "repeats")
        require_rank_below_min(self.rank, self.m, self.n)
        r = min(self.m, self.n)
        if not 0.0 < self.decay < 1.0:
            raise ValueError(f"decay must lie in (0, 1); got {self.decay}.")
        for name in ("oversample", "power_iters", "krylov_depth"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative; got {getattr(self, name)}.")
        if self.rank * (self.krylov_depth + 1) > r:
            raise ValueError(
                f"rank * (krylov_depth + 1) must be at most min(m, n) = {r} (the Krylov "
                f"space dimension); got {self.rank} * {self.krylov_depth + 1}."
            )


@functools.partial(jax.jit, static_argnames=("m", "n", "dtype"))
def prescribed_matrix(
    key: jax.Array, m: int, n: int, decay: float, dtype: Any
) -> tuple[jax.Array, jax.Array]:
    r"""$A = U \operatorname{diag}(\sigma) V^\top$ with $\sigma_i = \text{decay}^{\,i}$.

    Parameters
    ----------
    key : PRNGKeyArray
        Folded with `STREAM_LEFT` and `STREAM_RIGHT` for $U$ and $V$.
    m, n : int
        Shape of $A$.
    decay : float
        Ratio of consecutive singular values.
    dtype : numpy.dtype
        Of $A$ and $\sigma$; static (as are `m` and `n`: the function is jitted).

    Returns
    -------
    A : Array, shape (m, n)
        The test matrix.
    sigma : Array, shape (min(m, n),)
        Its singular values, descending.

    Notes
    -----
    Cost: two Householder QRs, $O((m + n) r^2)$ with $r = \min(m, n)$, and one product,
    $2 m n r$ flops.
    """
    r = min(m, n)
    U = _haar_orthonormal(jr.fold_in(key, STREAM_LEFT), m, r, dtype)
    V = _haar_orthonormal(jr.fold_in(key, STREAM_RIGHT), n, r, dtype)
    sigma = decay ** jnp.arange(r, dtype=dtype)
    return (U * sigma[None, :]) @ V.T, sigma


def _haar_orthonormal(key: jax.Array, rows: int, cols: int, dtype: Any) -> jax.Array:
    Q, R = jnp.linalg.qr(jr.normal(key, (rows, cols), dtype=dtype))
    return Q * jnp.where(jnp.diagonal(R) < 0, -1, 1).astype(dtype)[None, :]


@functools.partial(jax.jit, static_argnames="rank")
def _exact_svd(A: jax.Array, rank: int) -> tuple[jax.Array, ...]:
    """Thin SVD truncated to `rank`, and all the singular values (for the figure)."""
    U, S, Vh = jnp.linalg.svd(A, full_matrices=False)
    return U[:, :rank], S[:rank], Vh[:rank], S


@jax.jit
def _residual_norm(A: jax.Array, U: jax.Array, S: jax.Array, Vh: jax.Array) -> jax.Array:
    return jnp.linalg.norm(A - (U * S[None, :]) @ Vh, 2)


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    """Time and check randomized, block Krylov and exact truncated SVDs on one matrix.

    Parameters
    ----------
    cfg : Config
        The experiment's settings.
    progress : Progress
        Wraps the loop over timed calls and error evaluations.

    Returns
    -------
    dict
        `table` (one row per method: `method`, `time_s`, `first_call_s`,
        `speedup_vs_exact`, `passes`, `err_ratio`, `max_sv_rel_err`), `figures`
        (`singular_values`), `data` (the plotted singular values) and `notes`.

    Raises
    ------
    RuntimeError
        If `cfg.dtype` is `"float64"` but `jax_enable_x64` is off (JAX would silently
        compute in float32).
    """
    dtype = working_dtype(cfg.dtype)
    root = jr.key(cfg.seed)
    A, sigma = prescribed_matrix(root, cfg.m, cfg.n, cfg.decay, dtype)
    A = jax.block_until_ready(A)
    k = cfg.rank
    key_rsvd = jr.fold_in(root, STREAM_RANDOMIZED)
    key_krylov = jr.fold_in(root, STREAM_KRYLOV)

    methods = {
        "randomized_svd": lambda: spectral.randomized_svd(
            key_rsvd, A, k, oversample=cfg.oversample, power_iters=cfg.power_iters
        ),
        "block_krylov_svd": lambda: spectral.block_krylov_svd(
            key_krylov, A, k, depth=cfg.krylov_depth
        ),
        _EXACT: lambda: _exact_svd(A, k),
    }
    passes = {
        "randomized_svd": 2 * cfg.power_iters + 2,
        "block_krylov_svd": 2 * cfg.krylov_depth + 2,
        _EXACT: None,
    }

    # Call 0 of each method is the warm-up (it compiles), calls 1..repeats are timed.
    schedule = [("time", name, i) for name in methods for i in range(cfg.repeats + 1)]
    schedule += [("error", name, 0) for name in methods]
    times: dict[str, list[float]] = {name: [] for name in methods}
    first: dict[str, float] = {}
    outputs: dict[str, Any] = {}
    errors: dict[str, float] = {}
    for task, name, i in progress(schedule, desc=f"quickstart {cfg.m}x{cfg.n} rank {k}"):
        if task == "time":
            start = time.perf_counter()
            out = jax.block_until_ready(methods[name]())
            elapsed = time.perf_counter() - start
            if i == 0:
                first[name], outputs[name] = elapsed, out
            else:
                times[name].append(elapsed)
        else:
            U, S, Vh = outputs[name][:3]
            errors[name] = float(_residual_norm(A, U, S, Vh))

    sigma_np = np.asarray(sigma, dtype=np.float64)
    sigma_next = float(sigma_np[k])  # sigma_(k+1), the optimal rank-k error
    exact_time = statistics.median(times[_EXACT])
    table = []
    for name in methods:
        S = np.asarray(outputs[name][1], dtype=np.float64)
        median = statistics.median(times[name])
        table.append(
            {
                "method": name,
                "time_s": median,
                "first_call_s": first[name],
                "speedup_vs_exact": exact_time / median,
                "passes": passes[name],
                "err_ratio": errors[name] / sigma_next,
                "max_sv_rel_err": float(np.max(np.abs(S - sigma_np[:k]) / sigma_np[:k])),
            }
        )

    shown = min(len(sigma_np), 3 * k)
    S_exact_all = np.asarray(outputs[_EXACT][3], dtype=np.float64)[:shown]
    S_rsvd = np.asarray(outputs["randomized_svd"][1], dtype=np.float64)
    S_krylov = np.asarray(outputs["block_krylov_svd"][1], dtype=np.float64)
    figure = _figure(cfg, sigma_np[:shown], S_exact_all, S_rsvd, S_krylov)
    return {
        "table": table,
        "figures": {"singular_values": figure},
        "data": {
            "sigma_prescribed": sigma_np[:shown],
            "S_exact": S_exact_all,
            "S_randomized_svd": S_rsvd,
            "S_block_krylov_svd": S_krylov,
        },
        "notes": [
            f"A: {cfg.m} x {cfg.n} {cfg.dtype}, sigma_i = {cfg.decay}**i; rank k = {k}, "
            f"sigma_(k+1) = {sigma_next:.4g}.",
            f"time_s: median of {cfg.repeats} calls after a warm-up call (first_call_s, "
            "which includes jit compilation).",
            "passes: products of A or A^T with a block of vectors.",
            "err_ratio: ||A - U diag(S) Vh||_2 / sigma_(k+1); 1 is optimal (Eckart-Young).",
            "max_sv_rel_err: max_i |S_i - sigma_i| / sigma_i over the k computed values.",
        ],
    }


def _figure(
    cfg: Config, sigma: np.ndarray, S_exact: np.ndarray, S_rsvd: np.ndarray, S_krylov: np.ndarray
) -> Figure:
    k = cfg.rank
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax, ax_err = fig.subplots(1, 2)
    labels = {
        "rsvd": f"randomized_svd (q={cfg.power_iters})",
        "krylov": f"block_krylov_svd (depth={cfg.krylov_depth})",
    }
    i = np.arange(1, k + 1)
    ax.semilogy(np.arange(1, len(S_exact) + 1), S_exact, "k.-", lw=1, label=_EXACT)
    ax.semilogy(i, S_rsvd, "o", mfc="none", ms=7, label=labels["rsvd"])
    ax.semilogy(i, S_krylov, "x", ms=6, label=labels["krylov"])
    ax.axvline(k + 0.5, color="0.6", ls=":", lw=1)
    ax.set_xlabel("index $i$")
    ax.set_ylabel(r"singular value $\sigma_i$")
    ax.set_title(f"{cfg.m} x {cfg.n} {cfg.dtype}, rank {k}, decay {cfg.decay}")
    ax.legend()

    floor = np.finfo(np.dtype(cfg.dtype)).eps / 10  # exact zeros would vanish on a log axis
    for S, style, label in [(S_rsvd, "o-", labels["rsvd"]), (S_krylov, "x-", labels["krylov"])]:
        rel = np.maximum(np.abs(S - sigma[:k]) / sigma[:k], floor)
        ax_err.semilogy(i, rel, style, mfc="none", ms=6, lw=1, label=label)
    ax_err.set_xlabel("index $i$")
    ax_err.set_ylabel(r"relative error $|S_i - \sigma_i| / \sigma_i$")
    ax_err.set_title(r"error against the prescribed $\sigma_i$")
    ax_err.legend()
    for a in (ax, ax_err):
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
