r"""Musco & Musco (2015): block Krylov against simultaneous (power) iteration, per pass over $A$.

Reproduces the headline of Musco & Musco, "Randomized block Krylov methods for stronger and
faster approximate singular value decomposition", NeurIPS 28 (2015): randomized block
Krylov iteration reaches a $(1 + \epsilon)$ spectral-norm error, and the per-vector error
guarantee, in $q = O(\log n / \sqrt{\epsilon})$ iterations, against $O(\log n / \epsilon)$
for simultaneous iteration (block power iteration), and in their experiments it converges
in markedly fewer iterations.

Test matrix: $A = U \operatorname{diag}(\sigma) V^\top \in \mathbb{R}^{m \times n}$ with
Haar-random orthonormal $U$, $V$ and the heavy-tailed spectrum $\sigma_j = j^{-\alpha}$
(`decay_exponent` $= \alpha$; $\alpha = 1/2$ leaves a long tail of singular values just
below $\sigma_{k+1}$ and a small gap $\sigma_{k+1}/\sigma_k = (k/(k+1))^\alpha$, the regime
where the gap-independent bounds matter). For each depth $q$:

- `spectral.block_krylov_svd(key, A, k, depth=q)`: block size $k$, $2q + 2$ passes over $A$;
- `spectral.randomized_svd(key, A, k, oversample=0, power_iters=q)`: simultaneous
  iteration with block size $k$, also $2q + 2$ passes,

each returning $U \in \mathbb{R}^{m \times k}$ with $U \operatorname{diag}(S) V_h = UU^\top A$.
Errors, measured exactly in float64 for every key (`jax.lax.map` over `num_keys` keys), are
Musco & Musco's two criteria:

- spectral: $\|A - UU^\top A\|_2 / \sigma_{k+1} - 1$ (their guarantee: $\le \epsilon$),
  computed as $\lambda_{\max}(E^\top E)^{1/2}$ with $E = A - U(U^\top A)$ formed first;
- per-vector: $\max_i |u_i^\top AA^\top u_i - \sigma_i^2| / \sigma_{k+1}^2$ (their
  guarantee: $\le \epsilon$),

with $\sigma_i$ the singular values of $A$ as stored (`numpy.linalg.svd`, float64). For each
$\epsilon$ in `eps_levels`, the table reports the passes at the first depth of each method's
grid at which *every* key meets $\epsilon$; the "paper" column is the ratio of the two
iteration bounds, $(\log n/\epsilon)/(\log n/\sqrt\epsilon) = 1/\sqrt\epsilon$ (constants
ignored), to set beside the measured ratio.
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

from ._config import require_positive, require_rank_below_min, working_dtype
from ._progress import Progress, no_progress

# Named PRNG streams: key(seed) is folded with these, one per independent use.
STREAM_LEFT = 0  # U of the test matrix
STREAM_RIGHT = 1  # V of the test matrix
STREAM_SKETCH = 2  # the keys of both methods (the same key gives both the same start block)

METHODS = ("block_krylov_svd", "randomized_svd")
ERRORS = ("spectral", "per_vector")


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the Musco-Musco block Krylov experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys.
    dtype : {"float64", "float32"}
        Working precision of the matrix and the methods (errors are measured in float64;
        in float32 they bottom out near $10^{-6}$).
    m, n : int
        Shape of the test matrix.
    rank : int
        $k$, the target rank and the block size of both methods; $1 \le k < \min(m, n)$.
    decay_exponent : float
        $\alpha > 0$ in $\sigma_j = j^{-\alpha}$.
    krylov_depths : list of int
        Depths $q \ge 0$ of `block_krylov_svd`; $k(q + 1) \le \min(m, n)$.
    power_iters : list of int
        Power iterations $q \ge 0$ of `randomized_svd` (`oversample=0`).
    num_keys : int
        Independent starting blocks per setting (`jax.lax.map` over the keys).
    eps_levels : list of float
        The accuracies $\epsilon > 0$ of the table.
    """

    seed: int
    dtype: Literal["float64", "float32"]
    m: int
    n: int
    rank: int
    decay_exponent: float
    krylov_depths: list[int]
    power_iters: list[int]
    num_keys: int
    eps_levels: list[float]

    def __post_init__(self):
        require_positive(self, "m", "n", "num_keys")
        require_rank_below_min(self.rank, self.m, self.n)
        r = min(self.m, self.n)
        if not self.decay_exponent > 0:
            raise ValueError(f"decay_exponent must be positive; got {self.decay_exponent}.")
        for name in ("krylov_depths", "power_iters"):
            values = getattr(self, name)
            if not values or min(values) < 0:
                raise ValueError(
                    f"{name} must be a non-empty list of non-negative integers; got {values}."
                )
        too_deep = [q for q in self.krylov_depths if self.rank * (q + 1) > r]
        if too_deep:
            raise ValueError(
                f"krylov_depths must satisfy rank * (depth + 1) <= min(m, n) = {r} (the Krylov "
                f"space dimension); got depths {too_deep} with rank {self.rank}."
            )
        if not self.eps_levels or min(self.eps_levels) <= 0:
            raise ValueError(
                f"eps_levels must be a non-empty list of positive numbers; got {self.eps_levels}."
            )


def _haar_orthonormal(key: jax.Array, rows: int, cols: int, dtype: Any) -> jax.Array:
    Q, R = jnp.linalg.qr(jr.normal(key, (rows, cols), dtype=dtype))
    return Q * jnp.where(jnp.diagonal(R) < 0, -1, 1).astype(dtype)[None, :]


@functools.partial(jax.jit, static_argnames=("m", "n", "dtype"))
def heavy_tailed_matrix(key: jax.Array, m: int, n: int, alpha: float, dtype: Any) -> jax.Array:
    r"""$A = U \operatorname{diag}(j^{-\alpha}) V^\top$ with Haar-random orthonormal $U$, $V$.

    Parameters
    ----------
    key : PRNGKeyArray
        Folded with `STREAM_LEFT` and `STREAM_RIGHT` for $U$ and $V$.
    m, n : int
        Shape; static.
    alpha : float
        The decay exponent.
    dtype : numpy.dtype
        Of $A$; static.

    Returns
    -------
    Array, shape (m, n)
        The matrix.
    """
    r = min(m, n)
    U = _haar_orthonormal(jr.fold_in(key, STREAM_LEFT), m, r, dtype)
    V = _haar_orthonormal(jr.fold_in(key, STREAM_RIGHT), n, r, dtype)
    sigma = jnp.arange(1, r + 1, dtype=dtype) ** (-jnp.asarray(alpha, dtype))
    return (U * sigma[None, :]) @ V.T


@functools.partial(jax.jit, static_argnames=("method", "rank", "depth"))
def _left_vectors(keys: jax.Array, A: jax.Array, method: str, rank: int, depth: int) -> jax.Array:
    """The computed U (keys, m, rank) of one method at one depth, for every key.

    `jax.lax.map`, not `jax.vmap`: programs with several batched LAPACK calls were seen to
    deadlock XLA's CPU runtime (jaxlib 0.10.2, 2 cores; details in `tropp2017`).
    """
    if method == "block_krylov_svd":

        def one(key):
            return spectral.block_krylov_svd(key, A, rank, depth=depth).U
    else:

        def one(key):
            return spectral.randomized_svd(key, A, rank, oversample=0, power_iters=depth).U

    return jax.lax.map(one, keys)


def _errors(A: np.ndarray, sigma: np.ndarray, U: np.ndarray, rank: int) -> tuple[float, float]:
    """(spectral, per-vector) error of U, exactly in float64 (see the module docstring)."""
    E = A - U @ (U.T @ A)
    G = E.T @ E if E.shape[0] >= E.shape[1] else E @ E.T
    norm = math.sqrt(max(float(np.linalg.eigvalsh(G)[-1]), 0.0))
    s_next = float(sigma[rank])
    rayleigh = np.sum((A.T @ U) ** 2, axis=0)  # u_i^T A A^T u_i
    per_vector = float(np.max(np.abs(rayleigh - sigma[:rank] ** 2))) / s_next**2
    return norm / s_next - 1.0, per_vector


def _first_reaching(
    depths: list[int], worst: np.ndarray, eps: float
) -> tuple[int | None, int | None]:
    """(first depth with worst <= eps, the grid depth before it), or (None, last depth)."""
    previous = None
    for q, err in zip(depths, worst, strict=True):
        if err <= eps:
            return q, previous
        previous = q
    return None, previous


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    r"""Errors of block Krylov and simultaneous iteration against the number of passes.

    Parameters
    ----------
    cfg : Config
        The experiment's settings.
    progress : Progress
        Wraps the loop over (method, depth) settings.

    Returns
    -------
    dict
        `table` (one row per error criterion and $\epsilon$: `error`, `eps`,
        `krylov_passes`, `power_passes`, `power_bracket`, `paper`, `ours`,
        `ours_iters`), `figures` (`error_vs_passes`), `data` (errors per key and depth)
        and `notes`.

    Raises
    ------
    RuntimeError
        If `cfg.dtype` is `"float64"` but `jax_enable_x64` is off.
    """
    dtype = working_dtype(cfg.dtype)
    root = jr.key(cfg.seed)
    k = cfg.rank
    A = heavy_tailed_matrix(root, cfg.m, cfg.n, cfg.decay_exponent, dtype)
    A64 = np.asarray(A, np.float64)
    sigma = np.linalg.svd(A64, compute_uv=False)
    keys = jr.split(jr.fold_in(root, STREAM_SKETCH), cfg.num_keys)

    depths = {
        "block_krylov_svd": sorted(set(cfg.krylov_depths)),
        "randomized_svd": sorted(set(cfg.power_iters)),
    }
    settings = [(method, q) for method in METHODS for q in depths[method]]
    errors: dict[tuple[str, int], np.ndarray] = {}  # (keys, 2): spectral, per-vector
    for method, q in progress(settings, desc=f"musco2015 {cfg.m}x{cfg.n} rank {k}"):
        Us = np.asarray(_left_vectors(keys, A, method, k, q), np.float64)
        errors[method, q] = np.array([_errors(A64, sigma, U, k) for U in Us])

    def passes(q: int | None) -> int | None:
        return None if q is None else 2 * q + 2

    table = []
    for e, error in enumerate(ERRORS):
        worst = {
            method: np.array([errors[method, q][:, e].max() for q in depths[method]])
            for method in METHODS
        }
        for eps in cfg.eps_levels:
            q_krylov, _ = _first_reaching(
                depths["block_krylov_svd"], worst["block_krylov_svd"], eps
            )
            q_power, q_power_before = _first_reaching(
                depths["randomized_svd"], worst["randomized_svd"], eps
            )
            p_krylov, p_power = passes(q_krylov), passes(q_power)
            if q_power is None:
                bracket = f"> {passes(q_power_before)}"
            elif q_power_before is None:
                bracket = f"<= {p_power}"
            else:
                bracket = f"({passes(q_power_before)}, {p_power}]"
            both = p_krylov is not None and p_power is not None
            table.append(
                {
                    "error": error,
                    "eps": eps,
                    "krylov_passes": p_krylov,
                    "power_passes": p_power,
                    "power_bracket": bracket,
                    "paper": 1 / math.sqrt(eps),
                    "ours": p_power / p_krylov if both else None,
                    "ours_iters": q_power / q_krylov if both and q_krylov > 0 else None,
                }
            )

    notes = [
        f"A: {cfg.m} x {cfg.n} {cfg.dtype}, sigma_j = j^-{cfg.decay_exponent:g} with Haar singular "
        f"vectors; rank k = {k} (block size k for both methods), sigma_(k+1)/sigma_k = "
        f"{sigma[k] / sigma[k - 1]:.4f}; {cfg.num_keys} keys (jax.lax.map).",
        "spectral: ||A - U U^T A||_2 / sigma_(k+1) - 1; per_vector: max_i |u_i^T A A^T u_i - "
        "sigma_i^2| / sigma_(k+1)^2 (Musco & Musco's two guarantees, each <= eps).",
        "krylov_passes, power_passes: 2q + 2 at the first grid depth q where every key meets "
        "eps (block_krylov_svd depth q; randomized_svd power_iters q, oversample 0); "
        f"Krylov depths {depths['block_krylov_svd']}, power iterations "
        f"{depths['randomized_svd']}; power_bracket: the passes between the last grid "
        "point that missed eps and the first that met it. Empty: not reached on the grid.",
        "paper: ratio of the iteration bounds, (log n / eps) / (log n / sqrt(eps)) = "
        "1/sqrt(eps) (simultaneous iteration O(log n / eps), block Krylov O(log n / sqrt(eps)), "
        "constants ignored); ours: power_passes / krylov_passes; ours_iters: the ratio of "
        "iteration counts q.",
    ]
    if len(cfg.eps_levels) > 1:
        hi, lo = max(cfg.eps_levels), min(cfg.eps_levels)
        for error in ERRORS:
            rows = {row["eps"]: row for row in table if row["error"] == error}
            growth = [
                f"{label} {_arrow(rows[hi][column], rows[lo][column])}"
                for label, column in (("Krylov", "krylov_passes"), ("power", "power_passes"))
            ]
            notes.append(
                f"{error}: passes from eps = {hi:g} to {lo:g}: "
                + ", ".join(growth)
                + f"; the bounds' iteration counts grow by sqrt({hi:g}/{lo:g}) = "
                f"{math.sqrt(hi / lo):.3g} (Krylov) and {hi / lo:.3g} (power)."
            )
    return {
        "table": table,
        "figures": {"error_vs_passes": _figure(cfg, depths, errors, sigma)},
        "data": {
            "sigma": sigma,
            "depths": depths,
            "errors": {f"{method}/{q}": errors[method, q] for method, q in settings},
        },
        "notes": notes,
    }


def _arrow(before: int | None, after: int | None) -> str:
    if before is None or after is None:
        return f"{before} -> {after} (not reached on the grid)"
    return f"{before} -> {after} (x{after / before:.3g})"


def _figure(
    cfg: Config,
    depths: dict[str, list[int]],
    errors: dict[tuple[str, int], np.ndarray],
    sigma: np.ndarray,
) -> Figure:
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    floor = np.finfo(np.dtype(cfg.dtype)).eps  # errors below rounding would vanish on a log axis
    labels = {
        "block_krylov_svd": "block_krylov_svd (block Krylov)",
        "randomized_svd": "randomized_svd, oversample 0 (simultaneous iteration)",
    }
    for e, (ax, error) in enumerate(zip(axes, ERRORS, strict=True)):
        for i, method in enumerate(METHODS):
            passes = np.array([2 * q + 2 for q in depths[method]])
            errs = np.array([np.maximum(errors[method, q][:, e], floor) for q in depths[method]])
            ax.semilogy(
                passes, errs.mean(axis=1), "o-", color=f"C{i}", ms=4, lw=1, label=labels[method]
            )
            ax.fill_between(
                passes, errs.min(axis=1), errs.max(axis=1), color=f"C{i}", alpha=0.2, lw=0
            )
        for eps in cfg.eps_levels:
            ax.axhline(eps, color="0.5", ls=":", lw=1)
        ax.set_xlabel("passes over $A$ ($2q + 2$)")
        ax.set_title(
            r"spectral: $\|A - UU^\top A\|_2 / \sigma_{k+1} - 1$"
            if error == "spectral"
            else r"per-vector: $\max_i |u_i^\top AA^\top u_i - \sigma_i^2| / \sigma_{k+1}^2$"
        )
    axes[0].set_ylabel(f"error (mean; band: min-max over {cfg.num_keys} keys)")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"Musco & Musco (2015): {cfg.m} x {cfg.n} {cfg.dtype}, "
        rf"$\sigma_j = j^{{-{cfg.decay_exponent:g}}}$, $k = {cfg.rank}$; dotted: $\epsilon$"
    )
    return fig
