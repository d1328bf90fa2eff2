r"""Halko, Martinsson & Tropp (2011): range finder error against $\sigma_{\ell+1}$ and the bounds.

Reproduces, on synthetic matrices, the headline of the numerical examples of Halko,
Martinsson & Tropp, "Finding structure with randomness", SIAM Review 53(2), Sec. 7
(Fig. 7.2, and Figs. 7.6-7.8 in spirit): the randomized range finder's actual error

$$e_\ell = \|A - Q Q^\top A\|_2, \qquad Q = \texttt{spectral.randomized\_range\_finder}(
  \text{key}, A, \ell, \text{power\_iters}=q),$$

tracks the minimal possible error $\sigma_{\ell+1}$ as the sketch size $\ell$ grows, and
power iterations $q = 1, 2, 3$ close the gap on a slowly decaying spectrum.

Test matrices: $A = U \operatorname{diag}(\sigma) V^\top \in \mathbb{R}^{m \times n}$ with
Haar-random orthonormal $U$, $V$ and a prescribed spectrum (the paper's Laplace
integral operator and image matrices are replaced by these, which is stated here rather
than hidden):

1. *fast decay* $\sigma_j = \exp(-(j - 1)/\tau)$ (`fast_scale` $= \tau$), with $q = 0$ and
   every sketch size in `fast_sizes`: $e_\ell$ (mean, min and max over `num_keys` keys,
   `jax.lax.map` over the keys) against $\sigma_{\ell+1}$, as in their Fig. 7.2;
2. *slow decay* $\sigma_j = j^{-\alpha}$ (`slow_exponent` $= \alpha$; 1 gives $1/j$), with
   $q$ in `power_iters` and $\ell$ in `slow_sizes`, as in their Figs. 7.6-7.8.

The "paper" column is the expected-error bound of their Sec. 10, evaluated on the
singular values $\sigma_j$ of the matrix as stored (computed by `numpy.linalg.svd` in
float64) and minimized over the splits $\ell = k + p$ that the theorems allow
($k \ge 2$, $p \ge 2$; none exists for $\ell < 4$):

- spectral norm, $q = 0$ (Thm. 10.6):
  $\mathbb{E}\,e_\ell \le \big(1 + \sqrt{k/(p-1)}\big)\sigma_{k+1}
  + \tfrac{e\sqrt{k+p}}{p}\big(\sum_{j>k}\sigma_j^2\big)^{1/2}$;
- spectral norm, $q \ge 0$ (Cor. 10.10):
  $\mathbb{E}\,e_\ell \le \Big[\big(1 + \sqrt{k/(p-1)}\big)\sigma_{k+1}^{2q+1}
  + \tfrac{e\sqrt{k+p}}{p}\big(\sum_{j>k}\sigma_j^{2(2q+1)}\big)^{1/2}\Big]^{1/(2q+1)}$
  (which is Thm. 10.6 at $q = 0$);
- Frobenius norm, $q = 0$ (Thm. 10.5):
  $\mathbb{E}\,\|A - QQ^\top A\|_F \le \big(1 + k/(p-1)\big)^{1/2}
  \big(\sum_{j>k}\sigma_j^2\big)^{1/2}$.

"ours" is the mean over the keys of the measured error, computed exactly in float64:
$E = A - Q(Q^\top A)$ in NumPy, $\|E\|_2 = \lambda_{\max}(E^\top E)^{1/2}$ by
`numpy.linalg.eigvalsh` (forming $E$ first keeps the relative accuracy of
$\lambda_{\max}$ at machine precision even when $\|E\|_2 \ll \|A\|_2$), and $\|E\|_F$.
Since the bounds are on the expectation, the mean over a few keys may in principle exceed
them; in practice they are loose by a factor of a few, and the notes say whether any is
exceeded.
"""

import dataclasses
import functools
import math
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
STREAM_FAST_LEFT = 0  # U of the fast-decay matrix
STREAM_FAST_RIGHT = 1  # V of the fast-decay matrix
STREAM_SLOW_LEFT = 2  # U of the slow-decay matrix
STREAM_SLOW_RIGHT = 3  # V of the slow-decay matrix
STREAM_FAST_SKETCH = 4  # the keys of the range finder on the fast-decay matrix
STREAM_SLOW_SKETCH = 5  # the keys of the range finder on the slow-decay matrix


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the Halko-Martinsson-Tropp range-finder experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys.
    dtype : {"float64", "float32"}
        Working precision of the matrices and the range finder (errors are always
        measured in float64).
    m, n : int
        Shape of both test matrices.
    num_keys : int
        Independent test matrices $\Omega$ per setting (`jax.lax.map` over the keys); the
        tables report their mean, minimum and maximum.
    fast_scale : float
        $\tau > 0$ in the fast-decay spectrum $\sigma_j = \exp(-(j-1)/\tau)$.
    fast_sizes : list of int
        Sketch sizes $\ell$ for the fast-decay matrix ($q = 0$);
        $1 \le \ell < \min(m, n)$ so that $\sigma_{\ell+1}$ exists.
    slow_exponent : float
        $\alpha > 0$ in the slow-decay spectrum $\sigma_j = j^{-\alpha}$.
    slow_sizes : list of int
        Sketch sizes $\ell$ for the slow-decay matrix.
    power_iters : list of int
        Power iterations $q \ge 0$ for the slow-decay matrix (each with every size in
        `slow_sizes`).
    """

    seed: int
    dtype: Literal["float64", "float32"]
    m: int
    n: int
    num_keys: int
    fast_scale: float
    fast_sizes: list[int]
    slow_exponent: float
    slow_sizes: list[int]
    power_iters: list[int]

    def __post_init__(self):
        require_positive(self, "m", "n", "num_keys")
        r = min(self.m, self.n)
        for name in ("fast_sizes", "slow_sizes"):
            sizes = getattr(self, name)
            if not sizes:
                raise ValueError(f"{name} must not be empty.")
            bad = [size for size in sizes if not 1 <= size < r]
            if bad:
                raise ValueError(
                    f"{name} must lie in [1, min(m, n) - 1] = [1, {r - 1}] (sigma_(l+1) is "
                    f"the reference error); got {bad}."
                )
        if not self.power_iters or min(self.power_iters) < 0:
            raise ValueError(
                f"power_iters must be a non-empty list of non-negative integers; got "
                f"{self.power_iters}."
            )
        for name in ("fast_scale", "slow_exponent"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive; got {getattr(self, name)}.")


def _haar_orthonormal(key: jax.Array, rows: int, cols: int, dtype: Any) -> jax.Array:
    Q, R = jnp.linalg.qr(jr.normal(key, (rows, cols), dtype=dtype))
    return Q * jnp.where(jnp.diagonal(R) < 0, -1, 1).astype(dtype)[None, :]


@functools.partial(jax.jit, static_argnames=("m", "n", "dtype"))
def matrix_with_spectrum(
    key_left: jax.Array, key_right: jax.Array, sigma: jax.Array, m: int, n: int, dtype: Any
) -> jax.Array:
    r"""$A = U \operatorname{diag}(\sigma) V^\top$ with Haar-random orthonormal $U$, $V$.

    Parameters
    ----------
    key_left, key_right : PRNGKeyArray
        Draw $U \in \mathbb{R}^{m \times r}$ and $V \in \mathbb{R}^{n \times r}$,
        $r = \min(m, n)$ (QR of Gaussian matrices, signs fixed so they are Haar).
    sigma : Array, shape (min(m, n),)
        The singular values.
    m, n : int
        Shape of $A$; static.
    dtype : numpy.dtype
        Of $A$; static.

    Returns
    -------
    Array, shape (m, n)
        The matrix, in `dtype`.
    """
    r = min(m, n)
    U = _haar_orthonormal(key_left, m, r, dtype)
    V = _haar_orthonormal(key_right, n, r, dtype)
    return (U * sigma.astype(dtype)[None, :]) @ V.T


@functools.partial(jax.jit, static_argnames=("size", "power_iters"))
def _range_finder_batch(keys: jax.Array, A: jax.Array, size: int, power_iters: int) -> jax.Array:
    """`randomized_range_finder` for every key: Q of shape (keys, m, size).

    `jax.lax.map`, not `jax.vmap`: programs with several batched LAPACK calls were seen to
    deadlock XLA's CPU runtime (jaxlib 0.10.2, 2 cores; details in `tropp2017`).
    """
    return jax.lax.map(
        lambda key: spectral.randomized_range_finder(key, A, size, power_iters=power_iters), keys
    )


def _errors(A: np.ndarray, Q: np.ndarray) -> tuple[float, float]:
    """(||A - Q Q^T A||_2, ||A - Q Q^T A||_F), exactly, in float64."""
    E = A - Q @ (Q.T @ A)
    G = E.T @ E if E.shape[0] >= E.shape[1] else E @ E.T
    return math.sqrt(max(float(np.linalg.eigvalsh(G)[-1]), 0.0)), float(np.linalg.norm(E))


def spectral_bound(
    sigma: np.ndarray, size: int, power_iters: int
) -> tuple[float | None, int | None]:
    r"""Halko et al.'s bound on $\mathbb{E}\,\|A - QQ^\top A\|_2$, minimized over the split.

    Corollary 10.10 (Theorem 10.6 when $q = 0$) with $\ell = k + p$, $k \ge 2$, $p \ge 2$.

    Parameters
    ----------
    sigma : numpy.ndarray
        The singular values of $A$, descending.
    size : int
        The sketch size $\ell$.
    power_iters : int
        $q$.

    Returns
    -------
    (float or None, int or None)
        The smallest bound over $k = 2, \dots, \ell - 2$, and the $k$ attaining it;
        `(None, None)` when $\ell < 4$ (no admissible split).
    """
    s = 2 * power_iters + 1
    best: tuple[float | None, int | None] = (None, None)
    for k in range(2, size - 1):
        p = size - k
        # Scale by sigma_1 so that sigma**(2s) does not underflow for large q.
        x = sigma / sigma[0]
        inner = (1 + math.sqrt(k / (p - 1))) * x[k] ** s + math.e * math.sqrt(k + p) / p * float(
            np.sqrt(np.sum(x[k:] ** (2 * s)))
        )
        bound = float(sigma[0] * inner ** (1 / s))
        if best[0] is None or bound < best[0]:
            best = (bound, k)
    return best


def frobenius_bound(sigma: np.ndarray, size: int) -> tuple[float | None, int | None]:
    r"""Halko et al.'s Theorem 10.5 bound on $\mathbb{E}\,\|A - QQ^\top A\|_F$ ($q = 0$).

    Parameters
    ----------
    sigma : numpy.ndarray
        The singular values of $A$, descending.
    size : int
        The sketch size $\ell = k + p$.

    Returns
    -------
    (float or None, int or None)
        The smallest $(1 + k/(p-1))^{1/2} (\sum_{j>k} \sigma_j^2)^{1/2}$ over
        $k = 2, \dots, \ell - 2$, and its $k$; `(None, None)` when $\ell < 4$.
    """
    best: tuple[float | None, int | None] = (None, None)
    for k in range(2, size - 1):
        p = size - k
        bound = math.sqrt(1 + k / (p - 1)) * float(np.sqrt(np.sum(sigma[k:] ** 2)))
        if best[0] is None or bound < best[0]:
            best = (bound, k)
    return best


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    """Measure the range finder's error against sigma_(l+1) and Halko et al.'s bounds.

    Parameters
    ----------
    cfg : Config
        The experiment's settings.
    progress : Progress
        Wraps the loop over (spectrum, q, l) settings.

    Returns
    -------
    dict
        `table` (one row per setting: `spectrum`, `q`, `l`, `sigma_l1`, `paper`, `ours`,
        `ours_over_paper`, `ours_min`, `ours_max`, `ours_over_sigma`, `bound_k`,
        `paper_F`, `ours_F`, `ours_over_paper_F`), `figures` (`range_finder_error`),
        `data` (the errors per key behind the figure) and `notes`.

    Raises
    ------
    RuntimeError
        If `cfg.dtype` is `"float64"` but `jax_enable_x64` is off.
    """
    dtype = working_dtype(cfg.dtype)
    root = jr.key(cfg.seed)
    r = min(cfg.m, cfg.n)
    j = np.arange(1, r + 1, dtype=np.float64)
    prescribed = {
        "fast": np.exp(-(j - 1) / cfg.fast_scale),
        "slow": j ** (-cfg.slow_exponent),
    }
    streams = {
        "fast": (STREAM_FAST_LEFT, STREAM_FAST_RIGHT, STREAM_FAST_SKETCH),
        "slow": (STREAM_SLOW_LEFT, STREAM_SLOW_RIGHT, STREAM_SLOW_SKETCH),
    }
    matrices, sigmas, keys = {}, {}, {}
    for name, (left, right, sketch) in streams.items():
        A = matrix_with_spectrum(
            jr.fold_in(root, left),
            jr.fold_in(root, right),
            jnp.asarray(prescribed[name]),
            cfg.m,
            cfg.n,
            dtype,
        )
        matrices[name] = A
        # The reference singular values are those of the matrix as stored (in float32 they
        # differ from the prescribed ones by ~1e-7 sigma_1).
        sigmas[name] = np.linalg.svd(np.asarray(A, np.float64), compute_uv=False)
        keys[name] = jr.split(jr.fold_in(root, sketch), cfg.num_keys)

    settings = [("fast", 0, size) for size in sorted(set(cfg.fast_sizes))]
    settings += [
        ("slow", q, size)
        for q in sorted(set(cfg.power_iters))
        for size in sorted(set(cfg.slow_sizes))
    ]
    measured: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}
    for name, q, size in progress(settings, desc=f"hmt2011 range finder {cfg.m}x{cfg.n}"):
        Qs = np.asarray(_range_finder_batch(keys[name], matrices[name], size, q), np.float64)
        A64 = np.asarray(matrices[name], np.float64)
        errs = np.array([_errors(A64, Q) for Q in Qs])
        measured[name, q, size] = (errs[:, 0], errs[:, 1])

    table = []
    for name, q, size in settings:
        sigma = sigmas[name]
        spec, fro = measured[name, q, size]
        bound, bound_k = spectral_bound(sigma, size, q)
        bound_F = frobenius_bound(sigma, size)[0] if q == 0 else None
        ours, ours_F = float(np.mean(spec)), float(np.mean(fro))
        table.append(
            {
                "spectrum": name,
                "q": q,
                "l": size,
                "sigma_l1": float(sigma[size]),
                "paper": bound,
                "ours": ours,
                "ours_over_paper": None if bound is None else ours / bound,
                "ours_min": float(np.min(spec)),
                "ours_max": float(np.max(spec)),
                "ours_over_sigma": ours / float(sigma[size]),
                "bound_k": bound_k,
                "paper_F": bound_F,
                "ours_F": ours_F if q == 0 else None,
                "ours_over_paper_F": None if bound_F is None else ours_F / bound_F,
            }
        )

    ratios = [row["ours_over_paper"] for row in table if row["ours_over_paper"] is not None]
    ratios_F = [row["ours_over_paper_F"] for row in table if row["ours_over_paper_F"] is not None]
    within = all(x <= 1 for x in ratios + ratios_F)
    by_setting = {(row["spectrum"], row["q"], row["l"]): row for row in table}
    fast_over_sigma = [row["ours_over_sigma"] for row in table if row["spectrum"] == "fast"]
    notes = [
        f"A: {cfg.m} x {cfg.n} {cfg.dtype}, A = U diag(sigma) V^T with Haar U, V; 'fast': "
        f"sigma_j = exp(-(j-1)/{cfg.fast_scale:g}), 'slow': sigma_j = j^-{cfg.slow_exponent:g}; "
        f"Q = spectral.randomized_range_finder(key, A, l, power_iters=q), "
        f"{cfg.num_keys} keys (jax.lax.map).",
        "sigma_l1: sigma_(l+1), the smallest possible ||A - Q Q^T A||_2 for any l-column Q "
        "(Eckart-Young); ours_over_sigma = ours / sigma_l1 (1 is optimal).",
        "paper: Halko et al.'s bound on E||A - Q Q^T A||_2 (Thm. 10.6 for q = 0, Cor. 10.10 "
        "for q > 0), minimized over l = k + p with k, p >= 2 (bound_k is the minimizing k; "
        "no bound for l < 4); paper_F: Thm. 10.5 (Frobenius, q = 0).",
        "ours: mean over the keys of the exact ||A - Q Q^T A||_2 (float64); ours_min, "
        "ours_max: over the keys; ours_F: mean Frobenius error.",
        (
            "Every mean error is within its bound"
            if within
            else "NOT every mean error is within its bound"
        )
        + f": max ours/paper = {_fmt_max(ratios)}, max ours_F/paper_F = "
        f"{_fmt_max(ratios_F)}.",
        f"Fast decay, q = 0: e_l / sigma_(l+1) lies in [{min(fast_over_sigma):.3g}, "
        f"{max(fast_over_sigma):.3g}] (the paper's Fig. 7.2: e_l tracks sigma_(l+1)).",
    ]
    slow_q = sorted(set(cfg.power_iters))
    size = max(cfg.slow_sizes)
    gaps = [f"q={q}: {by_setting['slow', q, size]['ours_over_sigma']:.3g}" for q in slow_q]
    notes.append(
        f"Slow decay, l = {size}: e_l / sigma_(l+1) by q: "
        + ", ".join(gaps)
        + " (the paper's Figs. 7.6-7.8: power iterations close the gap to the optimum)."
    )

    figure = _figure(cfg, settings, measured, sigmas)
    data = {
        "sigma_fast": sigmas["fast"],
        "sigma_slow": sigmas["slow"],
        "settings": [list(s) for s in settings],
        "spectral_errors": [measured[s][0] for s in settings],
        "frobenius_errors": [measured[s][1] for s in settings],
    }
    return {"table": table, "figures": {"range_finder_error": figure}, "data": data, "notes": notes}


def _fmt_max(values: list[float]) -> str:
    return f"{max(values):.3g}" if values else "n/a"


def _figure(
    cfg: Config,
    settings: list[tuple[str, int, int]],
    measured: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]],
    sigmas: dict[str, np.ndarray],
) -> Figure:
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_fast, ax_slow = fig.subplots(1, 2)

    sizes = [size for name, _, size in settings if name == "fast"]
    top = max(sizes) + 1
    ell = np.arange(1, top + 1)
    ax_fast.semilogy(ell, sigmas["fast"][ell], "k-", lw=1.2, label=r"$\sigma_{\ell+1}$ (optimal)")
    spec = [measured["fast", 0, size][0] for size in sizes]
    mean = np.array([s.mean() for s in spec])
    low, high = np.array([s.min() for s in spec]), np.array([s.max() for s in spec])
    ax_fast.errorbar(
        sizes,
        mean,
        yerr=[mean - low, high - mean],
        fmt="o",
        mfc="none",
        ms=5,
        capsize=2,
        label=rf"$e_\ell$ (mean, min-max over {cfg.num_keys} keys)",
    )
    bounds = [(size, spectral_bound(sigmas["fast"], size, 0)[0]) for size in sizes]
    bounds = [(size, b) for size, b in bounds if b is not None]
    if bounds:
        ax_fast.semilogy(
            *zip(*bounds, strict=True), "--", color="C3", lw=1, label="bound (Thm. 10.6)"
        )
    ax_fast.set_xlabel(r"sketch size $\ell$")
    ax_fast.set_ylabel(r"$\|A - QQ^\top A\|_2$")
    ax_fast.set_title(rf"fast decay $\sigma_j = e^{{-(j-1)/{cfg.fast_scale:g}}}$, $q = 0$")
    ax_fast.legend(fontsize=8)

    sizes_slow = sorted({size for name, _, size in settings if name == "slow"})
    qs = sorted({q for name, q, _ in settings if name == "slow"})
    ell = np.arange(1, max(sizes_slow) + 2)
    ax_slow.loglog(ell, sigmas["slow"][ell], "k-", lw=1.2, label=r"$\sigma_{\ell+1}$ (optimal)")
    for i, q in enumerate(qs):
        mean = [measured["slow", q, size][0].mean() for size in sizes_slow]
        ax_slow.loglog(
            sizes_slow, mean, "o-", color=f"C{i}", ms=5, lw=1, label=rf"$e_\ell$, $q = {q}$"
        )
        bounds = [(size, spectral_bound(sigmas["slow"], size, q)[0]) for size in sizes_slow]
        bounds = [(size, b) for size, b in bounds if b is not None]
        if bounds:
            ax_slow.loglog(*zip(*bounds, strict=True), "--", color=f"C{i}", lw=0.8)
    ax_slow.set_xlabel(r"sketch size $\ell$")
    ax_slow.set_ylabel(r"$\|A - QQ^\top A\|_2$ (mean over keys)")
    ax_slow.set_title(
        rf"slow decay $\sigma_j = j^{{-{cfg.slow_exponent:g}}}$; dashed: bound (Cor. 10.10)"
    )
    ax_slow.legend(fontsize=8)
    fig.suptitle(
        f"Halko, Martinsson & Tropp (2011): range finder error, {cfg.m} x {cfg.n} {cfg.dtype}"
    )
    return fig
