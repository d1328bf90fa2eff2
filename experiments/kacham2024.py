r"""Kacham & Woodruff (2024): the top eigenvector of a random-order stream, against Oja.

Reproduces the random-order-stream result of Kacham & Woodruff, "Approximating the Top
Eigenvector in Random Order Streams" (NeurIPS 2024): their algorithm
(`spectral.streaming.random_order_top_eigenvector`: heavy rows stored exactly, a block power
method on the rest) reaches correlation $1 - O(1/\sqrt R)$ with the top eigenvector $v_1$
of $A^\top A$, $R = \sigma_1^2/\sigma_2^2$, where Oja's method with a fixed learning rate can
be thrown off by heavy rows.

The instance (per gap parameter $R_\text{cov}$ in `ratios` and per stream): `num_light`
Gaussian rows with covariance $\operatorname{diag}(R_\text{cov}, 1, \dots, 1)$ in
$\mathbb R^d$, plus `num_heavy` heavy rows $\sqrt{\gamma\, n_\text{light}}\, u_j$ with
orthonormal $u_j \perp e_1$ (random directions in $e_1^\perp$; $\gamma$ =
`heavy_norm_sq`), so the heavy rows are orthogonal to $v_1 \approx e_1$ and each adds
$\gamma n_\text{light}$ to one eigenvalue of the bulk: $R \approx R_\text{cov}/(1 +
\gamma)$. The $x$-axis is the exact $R$ of each matrix (`numpy.linalg.eigh` of $A^\top A$,
which also gives the oracle $v_1$); the error is $1 - |\langle v, v_1\rangle|$.

Orders: ``random`` (a uniform permutation: the paper's model) and ``sorted`` (ascending
row norm, so the heavy rows come last: an adversarial order for a fixed-rate Oja, and one
that voids the random-order assumption).

Methods, all fed the same streams in blocks of `block_size` rows:

- ``random_order``: `random_order_top_eigenvector` with `num_blocks` power steps and a
  heavy buffer of `heavy_capacity` rows (``throw=False``; the table reports heavy rows
  seen, so an overflow is visible);
- ``oja_constant``: Oja (exact row-by-row) with $\eta_t = c$, $c$ from `lr_grid_constant`;
- ``oja_inverse``: Oja with $\eta_t = c / t$, $c$ from `lr_grid_inverse`.

Oja's constant $c$ is **chosen on a held-out stream** (an independent matrix of the same
$R_\text{cov}$, in the same order), separately per $R_\text{cov}$, order and schedule: the
grid value with the smallest held-out error. Then every method is scored on `repeats` test
streams (fresh matrices and permutations). The slope is a least-squares fit of
$\log(\text{median error})$ against $\log R$ over `ratios`.
"""

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from matplotlib.figure import Figure

from spectral.streaming import oja, random_order_top_eigenvector

from ._config import require_positive, working_dtype
from ._progress import Progress, no_progress

# Named PRNG streams: key(seed) is folded with one of these, then with the index of R_cov
# and the index of the stream.
STREAM_HELDOUT = 0  # the held-out matrices and permutations that choose Oja's constant
STREAM_TEST = 1  # the test matrices and permutations
STREAM_ALGORITHM = 2  # the algorithms' own keys (starting vectors)

ORDERS = ("random", "sorted")
METHODS = ("random_order", "oja_constant", "oja_inverse")
SCHEDULE = {"oja_constant": "constant", "oja_inverse": "inverse"}
PAPER_SLOPE = -0.5  # correlation 1 - O(1/sqrt(R)): the error bound decays like R^(-1/2)


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the Kacham-Woodruff random-order-stream experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys.
    d : int
        Row width.
    num_light : int
        Gaussian rows per matrix, $n_\text{light}$.
    num_heavy : int
        Heavy rows per matrix, at most $d - 1$ (orthonormal directions in $e_1^\perp$).
    heavy_norm_sq : float
        $\gamma$: each heavy row has squared norm $\gamma\, n_\text{light}$.
    ratios : list of float
        The covariance gaps $R_\text{cov} > 1 + \gamma$ (so that $v_1 \approx e_1$).
    repeats : int
        Test streams per $R_\text{cov}$ and order.
    block_size : int
        Rows per ``update`` call.
    num_blocks : int
        $P$, the power-method steps of the random-order algorithm.
    heavy_capacity : int
        Its heavy-row buffer.
    lr_grid_constant : list of float
        Candidate constants $c$ for Oja with $\eta_t = c$.
    lr_grid_inverse : list of float
        Candidate constants $c$ for Oja with $\eta_t = c / t$.
    """

    seed: int
    d: int
    num_light: int
    num_heavy: int
    heavy_norm_sq: float
    ratios: list[float]
    repeats: int
    block_size: int
    num_blocks: int
    heavy_capacity: int
    lr_grid_constant: list[float]
    lr_grid_inverse: list[float]

    def __post_init__(self):
        require_positive(
            self, "d", "num_light", "repeats", "block_size", "num_blocks", "heavy_capacity"
        )
        if not 0 <= self.num_heavy <= self.d - 1:
            raise ValueError(
                f"num_heavy must be in [0, d - 1] = [0, {self.d - 1}] (orthonormal heavy rows "
                f"orthogonal to e_1); got {self.num_heavy}."
            )
        if not self.heavy_norm_sq > 0:
            raise ValueError(f"heavy_norm_sq must be positive; got {self.heavy_norm_sq}.")
        if not self.ratios or min(self.ratios) <= 1 + self.heavy_norm_sq:
            raise ValueError(
                f"ratios must be a non-empty list of numbers > 1 + heavy_norm_sq = "
                f"{1 + self.heavy_norm_sq} (else e_1 is not the top eigenvector); got "
                f"{self.ratios}."
            )
        if self.num_blocks > self.num_light + self.num_heavy:
            raise ValueError(
                f"num_blocks must be at most the number of rows, "
                f"{self.num_light + self.num_heavy}; got {self.num_blocks}."
            )
        for name in ("lr_grid_constant", "lr_grid_inverse"):
            grid = getattr(self, name)
            if not grid or min(grid) <= 0:
                raise ValueError(
                    f"{name} must be a non-empty list of positive numbers; got {grid}."
                )


# --- the instance ------------------------------------------------------------------------


def _rng(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded by the bits of a JAX key (data in NumPy: no XLA compiles)."""
    return np.random.default_rng(np.asarray(jr.key_data(key)).ravel().tolist())


def make_matrix(cfg: Config, ratio: float, key: jax.Array) -> np.ndarray:
    r"""Light Gaussian rows with covariance diag(ratio, 1, ..., 1), then the heavy rows."""
    rng = _rng(key)
    light = rng.standard_normal((cfg.num_light, cfg.d))
    light[:, 0] *= math.sqrt(ratio)
    if not cfg.num_heavy:
        return light
    Q, _ = np.linalg.qr(rng.standard_normal((cfg.d - 1, cfg.num_heavy)))
    heavy = np.zeros((cfg.num_heavy, cfg.d))
    heavy[:, 1:] = Q.T * math.sqrt(cfg.heavy_norm_sq * cfg.num_light)
    return np.concatenate([light, heavy])


def order_rows(A: np.ndarray, order: str, key: jax.Array) -> np.ndarray:
    """The stream: a uniform permutation of the rows, or the rows by ascending norm."""
    if order == "random":
        return A[_rng(key).permutation(A.shape[0])]
    return A[np.argsort(np.sum(A * A, axis=1), kind="stable")]


def top_eigenpair(A: np.ndarray) -> tuple[np.ndarray, float]:
    """The oracle: v1 and R = sigma1^2 / sigma2^2 from numpy.linalg.eigh of A^T A."""
    w, V = np.linalg.eigh(A.T @ A)
    return V[:, -1], float(w[-1] / w[-2])


# --- folding a stream --------------------------------------------------------------------


def _fold(alg: Any, stream: jax.Array, block_size: int) -> Any:
    """init, update over blocks of `block_size` rows (lax.scan), then the remainder."""
    N, d = stream.shape
    full = N // block_size
    state = alg.init(stream.dtype)
    blocks = stream[: full * block_size].reshape(full, block_size, d)
    state, _ = jax.lax.scan(lambda s, X: (alg.update(s, X), None), state, blocks)
    if full * block_size < N:
        state = alg.update(state, stream[full * block_size :])
    return state


def _random_order_run(
    d: int, num_blocks: int, capacity: int, block_size: int, key: jax.Array, stream: jax.Array
) -> tuple[Any, Any]:
    alg = random_order_top_eigenvector(
        key,
        d,
        num_rows=stream.shape[0],
        num_blocks=num_blocks,
        heavy_capacity=capacity,
        throw=False,
    )
    state = _fold(alg, stream, block_size)
    return alg.result(state).eigenvectors[:, 0], state.num_heavy


def _oja_run(
    d: int, schedule: str, block_size: int, key: jax.Array, stream: jax.Array, lrs: jax.Array
) -> jax.Array:
    """Oja's final vector for every step-size constant in `lrs` (vmapped): (len(lrs), d)."""

    def one(lr):
        alg = oja(key, d, lr=lr, schedule=schedule)
        return _fold(alg, stream, block_size).V[:, 0]

    return jax.vmap(one)(lrs)


_random_order_jit = jax.jit(_random_order_run, static_argnums=(0, 1, 2, 3))
_oja_jit = jax.jit(_oja_run, static_argnums=(0, 1, 2))


def _error(v: Any, v1: np.ndarray) -> np.ndarray:
    """1 - |<v, v1>| for one vector (d,) or a stack (g, d)."""
    v = np.asarray(v)
    return 1.0 - np.abs(v @ v1) / np.linalg.norm(v, axis=-1)


def _stream(cfg: Config, ratio: float, order: str, key: jax.Array) -> tuple:
    k_matrix, k_order = jr.split(key)
    A = make_matrix(cfg, ratio, k_matrix)
    v1, R = top_eigenpair(A)
    return jnp.asarray(order_rows(A, order, k_order)), v1, R


# --- the experiment ----------------------------------------------------------------------


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    r"""Error $1 - |\langle v, v_1\rangle|$ against $R$ per method and order.

    Returns
    -------
    dict
        `table` (one row per $(R_\text{cov}, \text{order}, \text{method})$), `figures`
        (`error_vs_R`, `oja_tuning`), `data` (per-stream errors, $R$, chosen rates,
        held-out sweeps, slopes) and `notes` (the paper's claim beside ours).
    """
    dtype = working_dtype("float64")  # errors down to 1e-7 need float64 (x64 must be on)
    root = jr.key(cfg.seed)
    grids = {
        "oja_constant": jnp.asarray(cfg.lr_grid_constant, dtype),
        "oja_inverse": jnp.asarray(cfg.lr_grid_inverse, dtype),
    }
    settings = [(i, ratio, order) for i, ratio in enumerate(cfg.ratios) for order in ORDERS]
    table, data = [], {"settings": []}
    for i, ratio, order in progress(settings, desc="kacham2024 settings"):
        o = ORDERS.index(order)
        alg_key = jr.fold_in(jr.fold_in(root, STREAM_ALGORITHM), i)
        # Held-out stream: choose each Oja schedule's constant.
        stream, v1, _ = _stream(
            cfg, ratio, order, jr.fold_in(jr.fold_in(jr.fold_in(root, STREAM_HELDOUT), i), o)
        )
        chosen, sweeps = {}, {}
        for method, schedule in SCHEDULE.items():
            errors = _error(
                _oja_jit(cfg.d, schedule, cfg.block_size, alg_key, stream, grids[method]), v1
            )
            chosen[method] = int(np.argmin(errors))
            sweeps[method] = errors.tolist()
        # Test streams: every method. Oja runs the whole grid (one compiled function per
        # schedule) and is scored at the held-out choice.
        errors = {m: [] for m in METHODS}
        Rs, heavy_seen = [], []
        for r in range(cfg.repeats):
            test_key = jr.fold_in(jr.fold_in(jr.fold_in(root, STREAM_TEST), i), r)
            stream, v1, R = _stream(cfg, ratio, order, test_key)
            Rs.append(R)
            v, num_heavy = _random_order_jit(
                cfg.d,
                cfg.num_blocks,
                cfg.heavy_capacity,
                cfg.block_size,
                jr.fold_in(alg_key, r),
                stream,
            )
            errors["random_order"].append(float(_error(v, v1)))
            heavy_seen.append(int(num_heavy))
            for method, schedule in SCHEDULE.items():
                V = _oja_jit(
                    cfg.d, schedule, cfg.block_size, jr.fold_in(alg_key, r), stream, grids[method]
                )
                errors[method].append(float(_error(V[chosen[method]], v1)))
        for method in METHODS:
            e = np.asarray(errors[method])
            table.append(
                {
                    "R_cov": ratio,
                    "R": float(np.mean(Rs)),
                    "order": order,
                    "method": method,
                    "lr": float(grids[method][chosen[method]]) if method in chosen else None,
                    "err_median": float(np.median(e)),
                    "err_max": float(np.max(e)),
                    "heavy_seen": max(heavy_seen) if method == "random_order" else None,
                }
            )
        data["settings"].append(
            {
                "R_cov": ratio,
                "order": order,
                "R": Rs,
                "errors": errors,
                "heavy_seen": heavy_seen,
                "heldout_errors": sweeps,
                "chosen_lr": {m: float(grids[m][c]) for m, c in chosen.items()},
            }
        )
    slopes = {
        (order, method): fit_slope(table, order, method) for order in ORDERS for method in METHODS
    }
    data["slopes"] = {f"{o}/{m}": s for (o, m), s in slopes.items()}
    data["lr_grids"] = {m: np.asarray(g).tolist() for m, g in grids.items()}
    return {
        "table": table,
        "figures": {"error_vs_R": _figure(cfg, table, slopes), "oja_tuning": _tuning(cfg, data)},
        "data": data,
        "notes": _notes(cfg, table, slopes),
    }


def fit_slope(table: list[dict], order: str, method: str) -> float:
    """Least-squares slope of log(median error) against log R over the ratios."""
    rows = [r for r in table if r["order"] == order and r["method"] == method]
    if len(rows) < 2:
        return math.nan
    x = np.log([r["R"] for r in rows])
    y = np.log([max(r["err_median"], 1e-300) for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def _notes(cfg: Config, table: list[dict], slopes: dict) -> list[str]:
    n = cfg.num_light + cfg.num_heavy
    notes = [
        f"d = {cfg.d}; {cfg.num_light} Gaussian rows with covariance diag(R_cov, 1, ..., 1) "
        f"plus {cfg.num_heavy} heavy rows of squared norm {cfg.heavy_norm_sq:g} * "
        f"{cfg.num_light} orthogonal to e_1 (n = {n}); R = sigma1^2/sigma2^2 of each matrix "
        f"(exact); error = 1 - |<v, v1>|, median over {cfg.repeats} test streams; blocks of "
        f"{cfg.block_size} rows.",
        f"random_order: Kacham-Woodruff with {cfg.num_blocks} power blocks and a "
        f"{cfg.heavy_capacity}-row heavy buffer. Oja: exact row-by-row, eta = c "
        "(oja_constant) or c/t (oja_inverse); c chosen on a held-out stream per R_cov, order "
        "and schedule (column lr), from the config's grids.",
        f"Paper (Kacham & Woodruff 2024, Thm. 1): correlation 1 - O(1/sqrt(R)) in random "
        f"order, i.e. an error bound with log-log slope {PAPER_SLOPE}. Ours: fitted slope "
        f"{slopes[('random', 'random_order')]:.2f} in random order "
        f"({slopes[('sorted', 'random_order')]:.2f} sorted). A slope at or below -1/2 is "
        "consistent with the bound, which is an upper bound; on Gaussian rows the block "
        "sampling noise gives about d P / (n R), slope -1.",
        "Oja slopes (random order): constant "
        f"{slopes[('random', 'oja_constant')]:.2f}, c/t {slopes[('random', 'oja_inverse')]:.2f}; "
        f"sorted: constant {slopes[('sorted', 'oja_constant')]:.2f}, c/t "
        f"{slopes[('sorted', 'oja_inverse')]:.2f}.",
    ]
    for order in ORDERS:
        rows = {(r["R_cov"], r["method"]): r for r in table if r["order"] == order}
        ratios = ", ".join(
            f"R={rows[(x, 'random_order')]['R']:.3g}: "
            + "/".join(f"{rows[(x, m)]['err_median']:.1e}" for m in METHODS)
            for x in cfg.ratios
        )
        notes.append(
            f"{order} order, median error random_order/oja_constant/oja_inverse: {ratios}."
        )
    worst = {
        m: max(r["err_max"] for r in table if r["order"] == "random" and r["method"] == m)
        for m in METHODS
    }
    notes.append(
        "Worst test stream over all R_cov, random order: "
        + ", ".join(f"{m} {worst[m]:.1e}" for m in METHODS)
        + ". The held-out-best Oja constants sit next to the smallest rate that still "
        "converges within the stream (figure oja_tuning), so they do not always transfer to "
        "a new stream; the random-order algorithm has no rate to tune."
    )
    overflow = [
        r for r in table if r["method"] == "random_order" and r["heavy_seen"] > cfg.heavy_capacity
    ]
    if overflow:
        notes.append(
            "heavy buffer overflowed (rows fed to the power method instead) for: "
            + ", ".join(f"R_cov={r['R_cov']:g} {r['order']}" for r in overflow)
            + "."
        )
    return notes


STYLE = {
    "random_order": {"color": "C0", "marker": "o", "label": "Kacham-Woodruff"},
    "oja_constant": {"color": "C1", "marker": "s", "label": "Oja, best constant rate"},
    "oja_inverse": {"color": "C2", "marker": "^", "label": "Oja, c/t"},
}


def _figure(cfg: Config, table: list[dict], slopes: dict) -> Figure:
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, order in zip(axes, ORDERS, strict=True):
        for method in METHODS:
            rows = [r for r in table if r["order"] == order and r["method"] == method]
            R = np.array([r["R"] for r in rows])
            err = np.array([r["err_median"] for r in rows])
            label = STYLE[method]["label"] + f" (slope {slopes[(order, method)]:.2f})"
            ax.plot(
                R,
                err,
                ms=4,
                lw=1,
                color=STYLE[method]["color"],
                marker=STYLE[method]["marker"],
                label=label,
            )
        rows = [r for r in table if r["order"] == order and r["method"] == "random_order"]
        R = np.array([r["R"] for r in rows])
        anchor = rows[0]["err_median"] * math.sqrt(R[0])
        ax.plot(
            R,
            anchor / np.sqrt(R),
            color="0.5",
            ls="--",
            lw=0.8,
            label=r"$\propto R^{-1/2}$ (paper's bound)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$R = \sigma_1^2 / \sigma_2^2$")
        ax.set_title(f"{order} order")
        ax.legend(fontsize=7)
    axes[0].set_ylabel(r"$1 - |\langle v, v_1\rangle|$ (median)")
    fig.suptitle(
        f"Kacham & Woodruff (2024): top eigenvector from a stream, d = {cfg.d}, "
        f"{cfg.num_light} + {cfg.num_heavy} heavy rows"
    )
    return fig


def _tuning(cfg: Config, data: dict) -> Figure:
    """Held-out error against Oja's constant, per R_cov (random order)."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    settings = [s for s in data["settings"] if s["order"] == "random"]
    for ax, method in zip(axes, SCHEDULE, strict=True):
        grid = np.asarray(data["lr_grids"][method])
        for j, s in enumerate(settings):
            ax.plot(
                grid,
                np.maximum(s["heldout_errors"][method], 1e-16),
                color=f"C{j % 10}",
                lw=1,
                marker=".",
                label=f"R_cov={s['R_cov']:g}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("c" + (" (eta = c)" if method == "oja_constant" else " (eta = c / t)"))
        ax.set_title(f"{STYLE[method]['label']}: held-out error, random order")
    axes[0].set_ylabel(r"$1 - |\langle v, v_1\rangle|$")
    axes[1].legend(fontsize=7)
    return fig
