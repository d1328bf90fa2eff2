r"""Tropp, Yurtsever, Udell & Cevher (2017): fixed-rank Nyström error against Theorem 4.1.

Reproduces the headline of Tropp, Yurtsever, Udell & Cevher, "Fixed-rank approximation of
a positive-semidefinite matrix from streaming data", NeurIPS 30 (2017): the rank-$r$
truncation $\hat A_r = [\![\hat A_{\text{nys}}]\!]_r$ of the Nyström approximation
$\hat A_{\text{nys}} = Y(\Omega^\top Y)^{+}Y^\top$, $Y = A\Omega$, computed stably by their
Algorithm 3 (`spectral.nystrom(key, A, r, oversample=k - r)`: orthonormalized Gaussian
$\Omega \in \mathbb{R}^{n \times k}$, shift $\nu = \sqrt n\,\varepsilon\,\|Y\|_F$, Cholesky,
SVD), attains near-optimal error in the Schatten 1-norm (trace norm), and it stays
accurate where a naive implementation of the same formula loses accuracy.

The bound evaluated ("paper" column) is Theorem 4.1 of the paper for a real standard
normal test matrix (their $\alpha = 1$): for $1 \le r < k - 1$,

$$\mathbb{E}\,\|A - \hat A_r\|_* \le \Big(1 + \frac{r}{k - r - 1}\Big)\,
  \|A - [\![A]\!]_r\|_*,$$

with $[\![A]\!]_r$ a best rank-$r$ approximation, so $\|A - [\![A]\!]_r\|_* =
\sum_{i > r} \lambda_i(A)$. (Algorithm 3 orthonormalizes $\Omega$; the Nyström
approximation depends only on $\operatorname{range}(\Omega)$, so the theorem applies
unchanged.) "ours" is the mean over `num_keys` keys of the measured ratio
$\|A - \hat A_r\|_* / \|A - [\![A]\!]_r\|_*$ (1 is optimal), with the trace norm computed
exactly as $\sum_i |\lambda_i(A - \hat A_r)|$ by `numpy.linalg.eigvalsh` in float64 against
the float64 matrix. As an expectation bound it constrains the mean, not each draw, and for
flat tails it is nearly tight, so a mean over a few keys can exceed it by sampling error:
the notes say whether any row does.

The naive contrast is the same formula computed directly, inline here (it is an
illustration, not a library function): Gaussian $\Omega$ (the same draw as the stable
method's before orthonormalization, so both approximate the same $\hat A_{\text{nys}}$),
$Y = A\Omega$, $P = $ `jnp.linalg.pinv`$(\Omega^\top Y$, `rtol=naive_pinv_rtol`$)$, and
the rank-$r$ truncation of $YPY^\top$ through the thin QR $Y = QR$ (the leading
eigenpairs of the $k \times k$ matrix $RPR^\top$). With `naive_pinv_rtol = 0` the
pseudo-inverse inverts every singular value of $\Omega^\top A\Omega$, including those that
rounding has made meaningless when $A$ is numerically low-rank; JAX's default cutoff
($10\,k\,\varepsilon$ relative) truncates them, which regularizes the formula (set
`naive_pinv_rtol` to compare).

Test matrices ($n \times n$, effective rank $R$; the families of the paper's synthetic
experiments, Sec. 5, with $n = 1000$, $R = 10$ there; the methods are invariant under
$A \mapsto VAV^\top$ for orthogonal $V$, so the diagonal ones lose no generality):

- `LowRank(xi)`: $\operatorname{diag}(1, \dots, 1, 0, \dots, 0) + \xi n^{-1} W$ ($R$ ones,
  $W = GG^\top$ Wishart, $G$ standard normal $n \times n$) for $\xi$ in `lowrank_noise`;
- `PolyDecay(p)`: $\operatorname{diag}(1, \dots, 1, 2^{-p}, 3^{-p}, \dots, (n-R+1)^{-p})$
  for $p$ in `poly_decay`;
- `ExpDecay(q)`: $\operatorname{diag}(1, \dots, 1, 10^{-q}, 10^{-2q}, \dots,
  10^{-(n-R)q})$ for $q$ in `exp_decay`.
"""

import dataclasses
import functools
from typing import Any, Literal

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from matplotlib.figure import Figure

import spectral

from ._config import require_positive, working_dtype
from ._progress import Progress, no_progress

# Named PRNG streams: key(seed) is folded with these, one per independent use.
STREAM_NOISE = 0  # G of the Wishart noise W = G G^T of the LowRank matrices
STREAM_SKETCH = 1  # the keys of the test matrices (shared by the stable and naive methods)

METHODS = ("stable", "naive")


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the Tropp et al. fixed-rank Nyström experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys.
    dtype : {"float64", "float32"}
        Working precision of the main comparison (`ours`, `naive`).
    contrast_float32 : bool
        Also run both methods in float32 (columns `stable_f32`, `naive_f32`); ignored when
        `dtype` is already float32.
    n : int
        Size of the test matrices.
    effective_rank : int
        $R$, the number of unit eigenvalues ($1 \le R < n$).
    rank : int
        $r$, the rank of the approximation ($1 \le r$).
    sketch_sizes : list of int
        Sketch sizes $k$, each with $r + 2 \le k \le n$ (Theorem 4.1 needs $k > r + 1$).
    num_keys : int
        Independent test matrices per setting (`jax.lax.map` over keys and matrices).
    lowrank_noise : list of float
        $\xi > 0$ of the `LowRank` matrices (may be empty).
    poly_decay : list of float
        $p > 0$ of the `PolyDecay` matrices (may be empty).
    exp_decay : list of float
        $q > 0$ of the `ExpDecay` matrices (may be empty).
    naive_pinv_rtol : float
        `rtol` of `jnp.linalg.pinv` in the naive method ($\ge 0$; 0 is the exact
        pseudo-inverse).
    """

    seed: int
    dtype: Literal["float64", "float32"]
    contrast_float32: bool
    n: int
    effective_rank: int
    rank: int
    sketch_sizes: list[int]
    num_keys: int
    lowrank_noise: list[float]
    poly_decay: list[float]
    exp_decay: list[float]
    naive_pinv_rtol: float

    def __post_init__(self):
        require_positive(self, "n", "num_keys", "rank")
        if not 1 <= self.effective_rank < self.n:
            raise ValueError(
                f"effective_rank must satisfy 1 <= R < n = {self.n}; got {self.effective_rank}."
            )
        bad = [k for k in self.sketch_sizes if not self.rank + 2 <= k <= self.n]
        if not self.sketch_sizes or bad:
            raise ValueError(
                f"sketch_sizes must be a non-empty list with rank + 2 <= k <= n, i.e. in "
                f"[{self.rank + 2}, {self.n}] (Theorem 4.1 needs k > rank + 1); got "
                f"{self.sketch_sizes}."
            )
        for name in ("lowrank_noise", "poly_decay", "exp_decay"):
            values = getattr(self, name)
            if any(not v > 0 for v in values):
                raise ValueError(f"{name} must hold positive numbers; got {values}.")
        if not (self.lowrank_noise or self.poly_decay or self.exp_decay):
            raise ValueError(
                "At least one of lowrank_noise, poly_decay, exp_decay must be non-empty."
            )
        if not self.naive_pinv_rtol >= 0:
            raise ValueError(f"naive_pinv_rtol must be non-negative; got {self.naive_pinv_rtol}.")


def synthetic_matrices(cfg: Config, key: jax.Array) -> dict[str, np.ndarray]:
    """The configured test matrices, in float64, by name (see the module docstring).

    Parameters
    ----------
    cfg : Config
        Sizes and the parameters of the three families.
    key : PRNGKeyArray
        Draws the Wishart noise of the `LowRank` matrices.

    Returns
    -------
    dict of str to numpy.ndarray
        Symmetric positive semidefinite (n, n) matrices, e.g. `"LowRank(0.0001)"`.
    """
    n, R = cfg.n, cfg.effective_rank
    ones = np.ones(R)
    matrices: dict[str, np.ndarray] = {}
    if cfg.lowrank_noise:
        # Drawn in float32 (exactly representable in float64) so that the matrix does not
        # depend on whether x64 is enabled.
        G = np.asarray(jr.normal(key, (n, n), dtype=jnp.float32), np.float64)
        W = G @ G.T
        for xi in cfg.lowrank_noise:
            A = xi / n * W
            A[np.arange(R), np.arange(R)] += 1.0
            matrices[f"LowRank({xi:g})"] = 0.5 * (A + A.T)
    for p in cfg.poly_decay:
        matrices[f"PolyDecay({p:g})"] = np.diag(np.r_[ones, np.arange(2.0, n - R + 2) ** -p])
    for q in cfg.exp_decay:
        matrices[f"ExpDecay({q:g})"] = np.diag(
            np.r_[ones, 10.0 ** (-q * np.arange(1.0, n - R + 1))]
        )
    return matrices


@functools.partial(jax.jit, static_argnames=("method", "rank", "size", "rtol"))
def _approximations(
    keys: jax.Array, As: jax.Array, method: str, rank: int, size: int, rtol: float
) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues (M, K, r) and eigenvectors (M, K, n, r) of A_r for every matrix and key.

    The loops over matrices and keys are `jax.lax.map`, not `jax.vmap`: batching turns the
    LAPACK calls inside (eigh, QR, Cholesky, SVD, and both branches of the library's
    orthonormalization fallback, a `lax.cond` that `vmap` makes a `select`) into batched
    calls that XLA's CPU runtime may run concurrently, and with jaxlib 0.10.2 on a 2-core
    machine such programs were seen to deadlock (all threads idle in futex waits; e.g. a
    `jit` of ten `vmap`ped `jnp.linalg.qr` calls hangs, while `lax.map` or
    `jax_cpu_enable_async_dispatch=False` does not). The work per key is the same.
    """

    def stable(key, A):
        return spectral.nystrom(key, A, rank, oversample=size - rank)

    def naive(key, A):
        Omega = jr.normal(key, (A.shape[0], size), dtype=A.dtype)
        Y = A @ Omega
        P = jnp.linalg.pinv(Omega.T @ Y, rtol=rtol)
        Q, R = jnp.linalg.qr(Y)
        M = R @ P @ R.T  # Y P Y^T = Q M Q^T
        w, V = jnp.linalg.eigh(0.5 * (M + M.T))
        return w[::-1][:rank], Q @ V[:, ::-1][:, :rank]

    one = stable if method == "stable" else naive
    return jax.lax.map(lambda A: jax.lax.map(lambda key: one(key, A), keys), As)


def _trace_norm_error(A: np.ndarray, w: np.ndarray, V: np.ndarray) -> float:
    """||A - V diag(w) V^T||_* exactly, in float64."""
    return float(np.sum(np.abs(np.linalg.eigvalsh(A - (V * w[None, :]) @ V.T))))


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    """Trace-norm error of stable and naive fixed-rank Nyström against Theorem 4.1.

    Parameters
    ----------
    cfg : Config
        The experiment's settings.
    progress : Progress
        Wraps the loop over (precision, method, sketch size) settings.

    Returns
    -------
    dict
        `table` (one row per matrix and sketch size: `matrix`, `k`, `paper`, `ours`,
        `ours_over_paper`, `ours_max`, `naive`, and `stable_f32`, `naive_f32` when
        `contrast_float32`), `figures` (`error_vs_sketch_size`), `data` (the ratios per
        key) and `notes`.

    Raises
    ------
    RuntimeError
        If `cfg.dtype` is `"float64"` but `jax_enable_x64` is off.
    """
    working_dtype(cfg.dtype)
    root = jr.key(cfg.seed)
    r = cfg.rank
    matrices = synthetic_matrices(cfg, jr.fold_in(root, STREAM_NOISE))
    names = list(matrices)
    optimal = {name: float(np.sum(np.linalg.eigvalsh(A)[::-1][r:])) for name, A in matrices.items()}
    keys = jr.split(jr.fold_in(root, STREAM_SKETCH), cfg.num_keys)

    dtypes = [cfg.dtype]
    if cfg.contrast_float32 and cfg.dtype != "float32":
        dtypes.append("float32")
    sizes = sorted(set(cfg.sketch_sizes))
    settings = [(dtype, method, k) for dtype in dtypes for method in METHODS for k in sizes]
    stacked = {
        dtype: jnp.asarray(np.stack([matrices[name] for name in names]), dtype) for dtype in dtypes
    }
    ratios: dict[tuple[str, str, int], np.ndarray] = {}  # (matrices, keys)
    for dtype, method, k in progress(settings, desc=f"tropp2017 n={cfg.n} rank {r}"):
        w, V = _approximations(keys, stacked[dtype], method, r, k, cfg.naive_pinv_rtol)
        w, V = np.asarray(w, np.float64), np.asarray(V, np.float64)
        ratios[dtype, method, k] = np.array(
            [
                [
                    _trace_norm_error(matrices[name], w[i, j], V[i, j]) / optimal[name]
                    for j in range(cfg.num_keys)
                ]
                for i, name in enumerate(names)
            ]
        )

    def column(dtype: str, method: str) -> str:
        if dtype == cfg.dtype:
            return "ours" if method == "stable" else "naive"
        return f"{method}_f32"

    table = []
    for i, name in enumerate(names):
        for k in sizes:
            bound = 1 + r / (k - r - 1)
            ours = float(ratios[cfg.dtype, "stable", k][i].mean())
            row: dict[str, Any] = {
                "matrix": name,
                "k": k,
                "paper": bound,
                "ours": ours,
                "ours_over_paper": ours / bound,
                "ours_max": float(ratios[cfg.dtype, "stable", k][i].max()),
            }
            for dtype in dtypes:
                for method in METHODS:
                    if (dtype, method) != (cfg.dtype, "stable"):
                        row[column(dtype, method)] = float(ratios[dtype, method, k][i].mean())
            table.append(row)

    exceed = [f"{row['matrix']} k={row['k']}" for row in table if row["ours"] > row["paper"]]
    worst = []
    for stable, naive in [("ours", "naive"), ("stable_f32", "naive_f32")][: len(dtypes)]:
        row = max(table, key=lambda row: row[naive] / row[stable])
        worst.append(
            f"{naive}/{stable} at most {row[naive] / row[stable]:.4g} ({row['matrix']}, "
            f"k = {row['k']}: {row[naive]:.4g} against {row[stable]:.4g})"
        )
    notes = [
        f"n = {cfg.n}, effective rank R = {cfg.effective_rank}, approximation rank r = {r}; "
        f"{cfg.num_keys} keys per setting (jax.lax.map over matrices and keys); "
        "||A - [[A]]_r||_* per matrix: "
        + ", ".join(f"{name} {optimal[name]:.4g}" for name in names)
        + ".",
        "paper: Theorem 4.1's factor 1 + r/(k - r - 1), a bound on E||A - Ahat_r||_* / "
        "||A - [[A]]_r||_* (real Gaussian test matrix).",
        f"ours: mean over the keys of ||A - Ahat_r||_* / ||A - [[A]]_r||_* for spectral.nystrom "
        f"(Algorithm 3) in {cfg.dtype}; ours_max: the worst key; 1 is optimal.",
        f"naive: the same ratio for Y pinv(Omega^T Y, rtol={cfg.naive_pinv_rtol:g}) Y^T "
        f"truncated to rank r, in {cfg.dtype}, same Omega"
        + ("; stable_f32, naive_f32: both methods in float32." if len(dtypes) > 1 else "."),
        (
            "Every mean is within the bound."
            if not exceed
            else "The mean exceeds the bound (an expectation bound; sampling error over "
            f"{cfg.num_keys} keys) for: " + ", ".join(exceed) + "."
        ),
        "Loss of accuracy of the naive formula: " + "; ".join(worst) + ".",
    ]
    data = {
        "matrices": names,
        "sketch_sizes": sizes,
        "optimal_trace_norm_error": [optimal[name] for name in names],
        "ratios": {
            f"{dtype}/{method}/{k}": ratios[dtype, method, k] for dtype, method, k in settings
        },
    }
    figure = _figure(cfg, names, sizes, dtypes, ratios)
    return {
        "table": table,
        "figures": {"error_vs_sketch_size": figure},
        "data": data,
        "notes": notes,
    }


def _figure(
    cfg: Config,
    names: list[str],
    sizes: list[int],
    dtypes: list[str],
    ratios: dict[tuple[str, str, int], np.ndarray],
) -> Figure:
    count = len(names)
    cols = 2 if count == 4 else min(count, 3)
    rows = -(-count // cols)
    fig = Figure(figsize=(4.2 * cols, 3.6 * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    r = cfg.rank
    k = np.array(sizes)
    floor = 1e-16  # excess errors at rounding level would vanish on a log axis
    styles = {
        (dtypes[0], "stable"): ("o-", "C0"),
        (dtypes[0], "naive"): ("s--", "C1"),
        ("float32", "stable"): ("^-", "C2"),
        ("float32", "naive"): ("v--", "C3"),
    }
    for i, (ax, name) in enumerate(zip(axes, names, strict=False)):
        ax.semilogy(k, r / (k - r - 1), "k:", lw=1.2, label="Thm. 4.1: r/(k-r-1)")
        for dtype in dtypes:
            for method in METHODS:
                excess = np.array(
                    [np.maximum(ratios[dtype, method, s][i] - 1, floor) for s in sizes]
                )
                style, color = styles[dtype, method]
                label = f"{'spectral.nystrom' if method == 'stable' else 'naive pinv'} ({dtype})"
                ax.semilogy(k, excess.mean(axis=1), style, color=color, ms=4, lw=1, label=label)
        ax.set_title(name)
        ax.set_xlabel("sketch size $k$")
        ax.set_ylabel(r"$\|A - \hat A_r\|_* / \|A - [\![A]\!]_r\|_* - 1$")
    for ax in axes[count:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"Tropp et al. (2017): fixed-rank Nyström, n = {cfg.n}, r = {r}, "
        f"mean over {cfg.num_keys} keys"
    )
    return fig
