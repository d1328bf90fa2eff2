r"""Song, Sebe & Wang (2022): speed and accuracy of differentiable matrix square roots.

Reproduces the speed comparison of Song, Sebe & Wang, "Fast Differentiable Matrix Square
Root", ICLR 2022 (arXiv:2201.08663): the time of a forward and backward pass through
$A^{1/2}$ (and $A^{-1/2}$) for their Matrix Taylor Polynomial (MTP-Lya, ``"taylor"``) and
Matrix Padé Approximant (MPA-Lya, ``"pade"``), both with the Lyapunov-equation backward
solved by the Newton–Schulz sign iteration, against the Newton–Schulz iteration (NS) and
the eigendecomposition (their SVD baseline; ``"eigh"`` here, with its exact derivative), on
the batch shapes of their two applications: one $64 \times 64$ matrix (ZCA whitening in
decorrelated batch normalization) and $64$ matrices of size $48 \times 48$ (second-order
pooling in So-ViT). Their figures (NVIDIA K40 GPU, forward + backward, ms) are in
`PAPER_FWD_BWD_MS`; the notes say whether our ordering of the methods by time matches
theirs. It need not: on a CPU the LAPACK eigendecomposition of a $48 \times 48$ matrix is
cheap, while the paper's GPU SVD was its bottleneck.

Every method is `spectral.sqrtm` / `spectral.inv_sqrtm` with ``method=`` one of
``"eigh"``, ``"newton_schulz"``, ``"taylor"``, ``"pade"`` and the settings of the config
(Newton–Schulz steps, Taylor degree, Padé degrees, ``backward=`` and ``backward_iters``
for all but ``"eigh"``). With `contrast_unrolled` the experiment adds
``"newton_schulz_unrolled"``: the same Newton–Schulz forward (same normalizer, same
steps), written inline here and differentiated by autodiff through the unrolled
iterations, which is how the paper's NS baseline (iSQRT-COV) computes its gradient; the
library's ``"newton_schulz"`` instead uses the Lyapunov derivative of the exact function.

Test matrices (per batch shape $b \times n \times n$, `num_samples` $= N$): sample
covariances of centered random features with a decaying spectrum plus a ridge, as the
paper's matrices are covariances of CNN features,

$$F = Z \operatorname{diag}(j^{-\alpha/2})\,Q^\top, \quad
  C = \tfrac1N (F - \bar F)^\top (F - \bar F), \quad
  A = C + \rho\,\tfrac{\operatorname{tr} C}{n}\, I,$$

with $Z \in \mathbb{R}^{N \times n}$ standard normal, $Q$ a Haar-random rotation (so that
$A$ is not diagonally dominant), $\alpha$ = `spectrum_decay` and $\rho$ = `ridge`, built in
float64 and stored in `dtype` (exactly symmetric).

Timing: each method is a `jax.jit` function, *forward* $A \mapsto f(A)$ and
*forward + backward* $A \mapsto$ `jax.value_and_grad` of $L(A) = \sum_{ij} G_{ij}
f(A)_{ij}$ for a fixed standard normal $G$, each called once to compile, then `repeats`
times, the calls of all methods interleaved round-robin (so that a change of machine load
hits them alike), each waited for with `jax.block_until_ready`; the median is reported,
and the fastest call (on a shared machine the median measures the load too). The figure
`time_vs_error` plots, per batch shape, the forward time against the forward error and
the forward + backward time against the gradient error.

Errors, in float64 against the matrix as stored: the relative Frobenius error of the
forward over the batch, $\|f(A) - f_\star(A)\|_F / \|f_\star(A)\|_F$ with $f_\star$ from
`numpy.linalg.eigh`, and that of the gradient against the exact one,
$\nabla L = V [(V^\top \operatorname{sym}(G) V) \circ K] V^\top$ (Daleckii–Krein) with
$K_{ij} = 1/(s_i + s_j)$ for $A^{1/2}$ and $-1/(s_i s_j (s_i + s_j))$ for $A^{-1/2}$,
$s = \lambda(A)^{1/2}$.
"""

import dataclasses
import functools
import os
import statistics
import time
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

import spectral

from ._config import require_positive, working_dtype
from ._progress import Progress, no_progress

# Named PRNG streams: key(seed) is folded with these, then with the index of the shape.
STREAM_MATRICES = 0  # the covariances (`covariances` folds in the two below)
STREAM_COTANGENT = 1  # G, the weights of the scalar loss sum(G * f(A))
# Within a covariance batch's key:
STREAM_FEATURES = 0  # Z, the random features
STREAM_ROTATION = 1  # Q, the rotation of the feature spectrum

FUNCTIONS = ("sqrtm", "inv_sqrtm")
METHODS = ("eigh", "newton_schulz", "taylor", "pade")
UNROLLED = "newton_schulz_unrolled"
MODES = ("forward", "fwd_bwd")

# The paper's names for the methods.
PAPER_NAMES = {
    "eigh": "SVD",
    "newton_schulz": "NS iteration",
    "taylor": "MTP-Lya",
    "pade": "MPA-Lya",
    UNROLLED: "NS iteration (autodiff)",
}
# The paper's forward + backward times (ms, NVIDIA K40), by batch shape (b, n), as quoted
# in the issue that asked for this experiment: ZCA whitening (1 x 64 x 64) and So-ViT
# covariance pooling (64 x 48 x 48). The SVD figure at 64 x 48 x 48 is quoted as "about 83".
PAPER_FWD_BWD_MS = {
    (1, 64): {"pade": 2.52, "taylor": 2.36, "newton_schulz": 2.96, "eigh": 3.39},
    (64, 48): {"pade": 3.25, "taylor": 2.39, "newton_schulz": 10.38, "eigh": 83.0},
}


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the Song et al. speed-accuracy experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys.
    dtype : {"float32", "float64"}
        Working precision of the matrices and the methods (the paper's is float32); errors
        are always measured in float64.
    functions : list of {"sqrtm", "inv_sqrtm"}
        The matrix functions timed.
    methods : list of {"eigh", "newton_schulz", "taylor", "pade"}
        The `method=` of each timed variant.
    batch_sizes, sizes, num_samples : list of int
        The batch shapes $b \times n \times n$ (paired element by element) and the number
        of samples $N$ of each batch's covariances.
    spectrum_decay : float
        $\alpha \ge 0$: the features' variances are $j^{-\alpha}$, $j = 1..n$.
    ridge : float
        $\rho > 0$: $A = C + \rho\,(\operatorname{tr} C / n) I$.
    newton_schulz_iters : int
        `iters` of ``"newton_schulz"`` (and of the unrolled contrast).
    taylor_degree : int
        `degree` $K$ of ``"taylor"``.
    pade_degree : tuple of int
        `degree` $[M, N]$ of ``"pade"``.
    backward : {"newton_schulz", "eigh"}
        `backward=` of every method but ``"eigh"`` (which uses its exact derivative).
    backward_iters : int
        `backward_iters` of the Newton–Schulz Lyapunov solve.
    check : bool
        `check=` of `sqrtm` / `inv_sqrtm` (input validation, part of the timed work).
    contrast_unrolled : bool
        Also time ``"newton_schulz_unrolled"`` (autodiff through the iterations).
    repeats : int
        Timed calls per method and mode after one compiling call; the median and the
        fastest are reported.
    """

    seed: int
    dtype: Literal["float32", "float64"]
    functions: list[Literal["sqrtm", "inv_sqrtm"]]
    methods: list[Literal["eigh", "newton_schulz", "taylor", "pade"]]
    batch_sizes: list[int]
    sizes: list[int]
    num_samples: list[int]
    spectrum_decay: float
    ridge: float
    newton_schulz_iters: int
    taylor_degree: int
    pade_degree: tuple[int, ...]
    backward: Literal["newton_schulz", "eigh"]
    backward_iters: int
    check: bool
    contrast_unrolled: bool
    repeats: int

    def __post_init__(self):
        require_positive(self, "newton_schulz_iters", "taylor_degree", "backward_iters")
        require_positive(self, "repeats")
        for name in ("functions", "methods"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be a non-empty list without repeats; got {values}.")
        shapes = (self.batch_sizes, self.sizes, self.num_samples)
        if not self.sizes or len({len(s) for s in shapes}) != 1:
            raise ValueError(
                "batch_sizes, sizes and num_samples must be non-empty lists of equal length; "
                f"got {self.batch_sizes}, {self.sizes}, {self.num_samples}."
            )
        for name, low in (("batch_sizes", 1), ("sizes", 2), ("num_samples", 2)):
            bad = [v for v in getattr(self, name) if v < low]
            if bad:
                raise ValueError(f"{name} must hold integers >= {low}; got {getattr(self, name)}.")
        if len(set(zip(self.batch_sizes, self.sizes, strict=True))) != len(self.sizes):
            raise ValueError(
                f"the batch shapes (batch_sizes, sizes) must be distinct; got "
                f"{list(zip(self.batch_sizes, self.sizes, strict=True))}."
            )
        if not self.spectrum_decay >= 0:
            raise ValueError(f"spectrum_decay must be non-negative; got {self.spectrum_decay}.")
        if not self.ridge > 0:
            raise ValueError(f"ridge must be positive (A must be definite); got {self.ridge}.")
        M_N = self.pade_degree
        if len(M_N) != 2 or M_N[0] < 1 or M_N[1] < 0:
            raise ValueError(f"pade_degree must be [M, N] with M >= 1, N >= 0; got {list(M_N)}.")

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """The batch shapes as `(b, n)` pairs."""
        return list(zip(self.batch_sizes, self.sizes, strict=True))


def covariances(
    key: jax.Array, batch: int, n: int, num_samples: int, decay: float, ridge: float
) -> np.ndarray:
    r"""`batch` regularized sample covariances $A = C + \rho\,(\operatorname{tr} C/n) I$, float64.

    Parameters
    ----------
    key : PRNGKeyArray
        Folded with `STREAM_FEATURES` and `STREAM_ROTATION` for $Z$ and $Q$.
    batch, n, num_samples : int
        $b$, $n$ and $N$ (see the module docstring).
    decay : float
        $\alpha$: feature variances $j^{-\alpha}$ before the rotation.
    ridge : float
        $\rho$.

    Returns
    -------
    numpy.ndarray, shape (batch, n, n)
        Symmetric positive definite matrices.
    """
    # Drawn in float32 (exactly representable in float64) so that the matrices do not
    # depend on whether x64 is enabled.
    Z = np.asarray(
        jr.normal(jr.fold_in(key, STREAM_FEATURES), (batch, num_samples, n), jnp.float32),
        np.float64,
    )
    W = np.asarray(jr.normal(jr.fold_in(key, STREAM_ROTATION), (batch, n, n), jnp.float32))
    Q, R = np.linalg.qr(W.astype(np.float64))
    Q = Q * np.where(np.diagonal(R, axis1=-2, axis2=-1) < 0, -1.0, 1.0)[:, None, :]
    F = (Z * np.arange(1.0, n + 1) ** (-decay / 2)) @ np.swapaxes(Q, -1, -2)
    F = F - F.mean(axis=1, keepdims=True)
    C = np.swapaxes(F, -1, -2) @ F / num_samples
    C = 0.5 * (C + np.swapaxes(C, -1, -2))
    scale = np.trace(C, axis1=-2, axis2=-1)[:, None, None] / n
    return C + ridge * scale * np.eye(n)


def reference(A: np.ndarray, G: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    r"""$A^{p}$ ($p = \pm 1/2$) and the gradient of $\sum G \circ A^{p}$, exactly, in float64.

    Parameters
    ----------
    A : numpy.ndarray, shape (b, n, n)
        Symmetric positive definite.
    G : numpy.ndarray, shape (b, n, n)
        The loss weights.
    power : float
        $1/2$ or $-1/2$.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        $A^{p}$ and $\nabla_A \sum_{ij} G_{ij} (A^{p})_{ij}$ (Daleckii–Krein, the gradient
        over symmetric $A$, as `spectral.sqrtm` defines it).
    """
    w, V = np.linalg.eigh(A)
    s = np.sqrt(w)
    Vt = np.swapaxes(V, -1, -2)
    X = (V * (s if power > 0 else 1.0 / s)[:, None, :]) @ Vt
    K = 1.0 / (s[:, :, None] + s[:, None, :])
    if power < 0:
        K = -K / (s[:, :, None] * s[:, None, :])
    G_sym = 0.5 * (G + np.swapaxes(G, -1, -2))
    return X, V @ ((Vt @ G_sym @ V) * K) @ Vt


def _newton_schulz_unrolled(A: jax.Array, power: float, iters: int) -> jax.Array:
    """The library's Newton–Schulz forward, differentiated by autodiff through the steps."""
    A = 0.5 * (A + jnp.swapaxes(A, -1, -2))
    eye = jnp.broadcast_to(jnp.eye(A.shape[-1], dtype=A.dtype), A.shape)
    fro = jnp.sqrt(jnp.sum(A * A, axis=(-2, -1), keepdims=True))
    one = jnp.max(jnp.sum(jnp.abs(A), axis=-2, keepdims=True), axis=-1, keepdims=True)
    c = jnp.minimum(fro, one)
    Y, Z = A / c, eye
    for _ in range(iters):
        T = 0.5 * (3.0 * eye - Z @ Y)
        Y, Z = Y @ T, T @ Z
    return Y * jnp.sqrt(c) if power > 0 else Z / jnp.sqrt(c)


def matrix_root(cfg: Config, function: str, method: str) -> Callable[[jax.Array], jax.Array]:
    """`A -> f(A)` for `function` by `method` with the config's settings (not jitted).

    Parameters
    ----------
    cfg : Config
        Iterations, degrees, backward method.
    function : {"sqrtm", "inv_sqrtm"}
        The matrix function.
    method : str
        One of `METHODS` or `UNROLLED`.

    Returns
    -------
    Callable
        The batched matrix function.
    """
    if method == UNROLLED:
        power = 0.5 if function == "sqrtm" else -0.5
        return functools.partial(
            _newton_schulz_unrolled, power=power, iters=cfg.newton_schulz_iters
        )
    options: dict[str, Any] = {"method": method, "check": cfg.check}
    if method == "newton_schulz":
        options["iters"] = cfg.newton_schulz_iters
    elif method == "taylor":
        options["degree"] = cfg.taylor_degree
    elif method == "pade":
        options["degree"] = (cfg.pade_degree[0], cfg.pade_degree[1])
    if method != "eigh":
        options["backward"] = cfg.backward
        options["backward_iters"] = cfg.backward_iters
    f = spectral.sqrtm if function == "sqrtm" else spectral.inv_sqrtm
    return functools.partial(f, **options)


def _timed_functions(root: Callable[[jax.Array], jax.Array]) -> dict[str, Callable]:
    def loss(A: jax.Array, G: jax.Array) -> jax.Array:
        return jnp.sum(G * root(A))

    return {
        "forward": jax.jit(lambda A, G: root(A)),
        "fwd_bwd": jax.jit(jax.value_and_grad(loss)),
    }


def _relative_error(X: Any, X_ref: np.ndarray) -> float:
    X = np.asarray(X, np.float64)
    return float(np.linalg.norm(X - X_ref) / np.linalg.norm(X_ref))


def _shape_name(shape: tuple[int, int]) -> str:
    b, n = shape
    return f"{b}x{n}x{n}"


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    """Time forward and forward + backward passes of each method; measure their errors.

    Parameters
    ----------
    cfg : Config
        The experiment's settings.
    progress : Progress
        Wraps the loop over compiling and timed calls.

    Returns
    -------
    dict
        `table` (one row per function, batch shape and method: `function`, `shape`,
        `method`, `paper_name`, `forward_ms`, `forward_min_ms`, `fwd_bwd_ms`,
        `fwd_bwd_min_ms`, `paper_fwd_bwd_ms`, `fwd_bwd_over_eigh`, `forward_err`,
        `grad_err`, `compile_s`), `figures`
        (`time_vs_error`), `data` (every timed call, the condition numbers) and `notes`
        (settings, and whether the ordering of the methods by time matches the paper's).

    Raises
    ------
    RuntimeError
        If `cfg.dtype` is `"float64"` but `jax_enable_x64` is off.
    """
    dtype = working_dtype(cfg.dtype)
    root = jr.key(cfg.seed)
    methods = list(cfg.methods) + ([UNROLLED] if cfg.contrast_unrolled else [])
    shapes = cfg.shapes

    inputs: dict[tuple[int, int], tuple[jax.Array, jax.Array]] = {}
    references: dict[tuple[str, tuple[int, int]], tuple[np.ndarray, np.ndarray]] = {}
    kappas: dict[tuple[int, int], np.ndarray] = {}
    for i, ((b, n), num_samples) in enumerate(zip(shapes, cfg.num_samples, strict=True)):
        key = jr.fold_in(jr.fold_in(root, STREAM_MATRICES), i)
        A64 = covariances(key, b, n, num_samples, cfg.spectrum_decay, cfg.ridge)
        # Stored in the working dtype, exactly symmetric; the references use it as stored.
        A = jnp.asarray(A64, dtype)
        A = 0.5 * (A + jnp.swapaxes(A, -1, -2))
        G = jr.normal(jr.fold_in(jr.fold_in(root, STREAM_COTANGENT), i), (b, n, n), jnp.float32)
        G = G.astype(dtype)
        inputs[b, n] = jax.block_until_ready((A, G))
        A_stored, G_stored = np.asarray(A, np.float64), np.asarray(G, np.float64)
        w = np.linalg.eigvalsh(A_stored)
        kappas[b, n] = w[:, -1] / w[:, 0]
        for function in cfg.functions:
            power = 0.5 if function == "sqrtm" else -0.5
            references[function, (b, n)] = reference(A_stored, G_stored, power)

    cases = [(f, shape, m) for f in cfg.functions for shape in shapes for m in methods]
    fns = {case: _timed_functions(matrix_root(cfg, case[0], case[2])) for case in cases}
    tasks = [(case, mode) for case in cases for mode in MODES]
    # Call 0 of every (case, mode) compiles; then `repeats` rounds, each calling every
    # (case, mode) once, starting one task later each round.
    schedule = [(task, -1) for task in tasks]
    for r in range(cfg.repeats):
        shift = r % len(tasks)
        schedule += [(task, r) for task in tasks[shift:] + tasks[:shift]]
    compile_s: dict[tuple[tuple[str, tuple[int, int], str], str], float] = {}
    outputs: dict[tuple[tuple[str, tuple[int, int], str], str], Any] = {}
    times: dict[tuple[tuple[str, tuple[int, int], str], str], list[float]] = {
        task: [] for task in tasks
    }
    desc = "song2022 " + ", ".join(_shape_name(shape) for shape in shapes)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for (case, mode), r in progress(schedule, desc=desc):
        A, G = inputs[case[1]]
        start = time.perf_counter()
        out = jax.block_until_ready(fns[case][mode](A, G))
        elapsed = time.perf_counter() - start
        if r < 0:
            compile_s[case, mode], outputs[case, mode] = elapsed, out
        else:
            times[case, mode].append(elapsed)

    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    ms = {task: 1e3 * statistics.median(times[task]) for task in tasks}
    min_ms = {task: 1e3 * min(times[task]) for task in tasks}
    # The output dtype of every method, which should be the working dtype.
    wrong_dtype = sorted(
        {
            f"{case[2]} ({case[0]}) returned {outputs[case, 'forward'].dtype}"
            for case in cases
            if outputs[case, "forward"].dtype != dtype
        }
    )
    table = []
    for case in cases:
        function, shape, method = case
        X_ref, grad_ref = references[function, shape]
        # The paper's NS baseline is set beside both of our Newton-Schulz variants.
        paper_method = "newton_schulz" if method == UNROLLED else method
        paper = PAPER_FWD_BWD_MS.get(shape, {}).get(paper_method)
        eigh_ms = ms.get(((function, shape, "eigh"), "fwd_bwd"))
        table.append(
            {
                "function": function,
                "shape": _shape_name(shape),
                "method": method,
                "paper_name": PAPER_NAMES[method],
                "forward_ms": ms[case, "forward"],
                "forward_min_ms": min_ms[case, "forward"],
                "fwd_bwd_ms": ms[case, "fwd_bwd"],
                "fwd_bwd_min_ms": min_ms[case, "fwd_bwd"],
                "paper_fwd_bwd_ms": paper,
                "fwd_bwd_over_eigh": None if eigh_ms is None else ms[case, "fwd_bwd"] / eigh_ms,
                "forward_err": _relative_error(outputs[case, "forward"], X_ref),
                "grad_err": _relative_error(outputs[case, "fwd_bwd"][1], grad_ref),
                "compile_s": compile_s[case, "forward"] + compile_s[case, "fwd_bwd"],
            }
        )

    orderings = _orderings(cfg, table)
    notes = _notes(cfg, table, kappas, orderings, (load_before, load_after), wrong_dtype)
    data = {
        "shapes": [list(shape) for shape in shapes],
        "condition_numbers": [kappas[shape] for shape in shapes],
        "orderings": orderings,
        "load_average_1min": [load_before, load_after],
        "times_s": {
            f"{function}/{_shape_name(shape)}/{method}/{mode}": times[
                (function, shape, method), mode
            ]
            for (function, shape, method), mode in tasks
        },
        "paper_fwd_bwd_ms": {_shape_name(shape): ms_ for shape, ms_ in PAPER_FWD_BWD_MS.items()},
    }
    figure = _figure(cfg, table)
    return {"table": table, "figures": {"time_vs_error": figure}, "data": data, "notes": notes}


def _orderings(cfg: Config, table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per function and shape with paper figures: the methods by time, ours and the paper's."""
    result = []
    for function in cfg.functions:
        for shape in cfg.shapes:
            paper = PAPER_FWD_BWD_MS.get(shape)
            if paper is None:
                continue
            rows = [
                row
                for row in table
                if row["function"] == function
                and row["shape"] == _shape_name(shape)
                and row["method"] in paper
            ]
            if len(rows) < 2:
                continue
            ours = sorted(rows, key=lambda row: row["fwd_bwd_ms"])
            ours_min = sorted(rows, key=lambda row: row["fwd_bwd_min_ms"])
            theirs = sorted(paper, key=lambda method: paper[method])
            theirs = [m for m in theirs if any(row["method"] == m for row in rows)]
            result.append(
                {
                    "function": function,
                    "shape": _shape_name(shape),
                    "ours": [row["method"] for row in ours],
                    "ours_ms": [row["fwd_bwd_ms"] for row in ours],
                    "ours_by_min": [row["method"] for row in ours_min],
                    "ours_min_ms": [row["fwd_bwd_min_ms"] for row in ours_min],
                    "paper": theirs,
                    "paper_ms": [paper[m] for m in theirs],
                    "matches": [row["method"] for row in ours] == theirs,
                    "matches_by_min": [row["method"] for row in ours_min] == theirs,
                    "fastest_matches": ours[0]["method"] == theirs[0],
                }
            )
    return result


def _order_text(methods: list[str], values: list[float]) -> str:
    return " < ".join(f"{PAPER_NAMES[m]} {v:.3g}" for m, v in zip(methods, values, strict=True))


def _notes(
    cfg: Config,
    table: list[dict[str, Any]],
    kappas: dict[tuple[int, int], np.ndarray],
    orderings: list[dict[str, Any]],
    load: tuple[float | None, float | None],
    wrong_dtype: list[str],
) -> list[str]:
    devices = jax.devices()
    device = f"{devices[0].platform} ({devices[0].device_kind}, {os.cpu_count()} CPU cores)"
    matrices = "; ".join(
        f"{_shape_name(shape)}: N = {N} samples, kappa(A) in [{kappas[shape].min():.3g}, "
        f"{kappas[shape].max():.3g}]"
        for shape, N in zip(cfg.shapes, cfg.num_samples, strict=True)
    )
    M, N = cfg.pade_degree
    notes = [
        f"A: sample covariances of centered rotated features with variances j^-"
        f"{cfg.spectrum_decay:g}, plus a ridge {cfg.ridge:g} tr(C)/n, in {cfg.dtype}; "
        f"{matrices}.",
        f"Settings: newton_schulz iters = {cfg.newton_schulz_iters}, taylor degree = "
        f"{cfg.taylor_degree}, pade degree = [{M}, {N}]; every method but eigh "
        f"differentiates through backward = {cfg.backward!r} with backward_iters = "
        f"{cfg.backward_iters}; eigh uses its exact derivative; check = {cfg.check}.",
        f"forward_ms, fwd_bwd_ms: median of {cfg.repeats} jitted calls (after a compiling "
        "call; calls of all methods interleaved) of A -> f(A) and of "
        "jax.value_and_grad(sum(G * f(A))), on " + device + "; forward_min_ms, "
        "fwd_bwd_min_ms: the fastest of those calls; compile_s: the two compiling calls."
        + (
            f" 1-minute load average {load[0]:.2f} before the timing, {load[1]:.2f} after "
            "(a load above the core count means other processes competed for the CPU)."
            if load[0] is not None and load[1] is not None
            else ""
        ),
        "paper_fwd_bwd_ms: the paper's forward + backward time on an NVIDIA K40 GPU (SVD, "
        "NS iteration, MTP-Lya, MPA-Lya), at 1x64x64 for ZCA whitening and 64x48x48 for "
        "So-ViT (the SVD figure at 64x48x48 as 'about 83'), as quoted in the issue; shown "
        "beside both functions.",
        "forward_err: ||f(A) - f*(A)||_F / ||f*(A)||_F over the batch, f* by float64 eigh of "
        "A as stored; grad_err: the same for the gradient of sum(G * f(A)) against the exact "
        "(Daleckii-Krein) gradient.",
    ]
    spread: dict[str, tuple[float, float]] = {}
    for row in table:
        ratio = row["fwd_bwd_ms"] / row["fwd_bwd_min_ms"]
        low, high = spread.get(row["method"], (ratio, ratio))
        spread[row["method"]] = (min(low, ratio), max(high, ratio))
    notes.append(
        "Median / fastest forward + backward call, by method: "
        + ", ".join(
            f"{m} {low:.3g}" + (f"-{high:.3g}" if high > low else "")
            for m, (low, high) in spread.items()
        )
        + " (near 1 on a quiet machine; large where the calls competed for the CPU)."
    )
    if wrong_dtype:
        notes.append(
            f"WARNING: not every method computed in {cfg.dtype}: "
            + "; ".join(wrong_dtype)
            + " (a dtype promotion inside the library: its times are of that dtype)."
        )
    for o in orderings:
        verdict = "matches the paper's" if o["matches"] else "does NOT match the paper's"
        fastest = (
            "same fastest method"
            if o["fastest_matches"]
            else f"fastest here {PAPER_NAMES[o['ours'][0]]}, in the paper "
            f"{PAPER_NAMES[o['paper'][0]]}"
        )
        if o["ours_by_min"] == o["ours"]:
            by_min = "the same by the fastest call"
        else:
            by_min = (
                f"by the fastest call {_order_text(o['ours_by_min'], o['ours_min_ms'])}, which "
                + ("matches" if o["matches_by_min"] else "does not match either")
            )
        notes.append(
            f"Ordering, {o['function']} {o['shape']} (fwd+bwd ms, median): ours "
            f"{_order_text(o['ours'], o['ours_ms'])}; paper "
            f"{_order_text(o['paper'], o['paper_ms'])}: ours {verdict} ({fastest}; "
            f"{by_min})."
        )
    if cfg.contrast_unrolled:
        by_case = {(r["function"], r["shape"], r["method"]): r for r in table}
        parts = []
        for (function, shape, method), row in by_case.items():
            lib = by_case.get((function, shape, "newton_schulz"))
            if method == UNROLLED and lib is not None:
                parts.append(
                    f"{function} {shape}: {row['fwd_bwd_ms']:.3g} ms, grad_err "
                    f"{row['grad_err']:.2g} (library newton_schulz {lib['fwd_bwd_ms']:.3g} ms, "
                    f"{lib['grad_err']:.2g})"
                )
        notes.append(
            "newton_schulz_unrolled: the same Newton-Schulz forward, gradient by autodiff "
            "through the unrolled iterations (as the paper's NS baseline computes it; its "
            "paper_fwd_bwd_ms is that baseline's), exact for the truncated iteration rather "
            "than for A^(+-1/2)" + (": " + "; ".join(parts) if parts else "") + "."
        )
    return notes


def _figure(cfg: Config, table: list[dict[str, Any]]) -> Figure:
    shapes = [_shape_name(shape) for shape in cfg.shapes]
    fig = Figure(figsize=(4.6 * len(shapes) + 0.4, 7.6), layout="constrained")
    axes = np.asarray(fig.subplots(2, len(shapes), squeeze=False))
    markers = {"eigh": "s", "newton_schulz": "o", "taylor": "^", "pade": "D", UNROLLED: "v"}
    colors = {
        m: f"C{i}" for i, m in enumerate(("eigh", "newton_schulz", "taylor", "pade", UNROLLED))
    }
    floor = float(np.finfo(np.dtype(cfg.dtype)).eps) / 10  # exact zeros vanish on a log axis
    for j, shape in enumerate(shapes):
        for i, (mode, err_key, what) in enumerate(
            [("forward", "forward_err", "forward"), ("fwd_bwd", "grad_err", "gradient")]
        ):
            ax = axes[i, j]
            for row in table:
                if row["shape"] != shape:
                    continue
                method, filled = row["method"], row["function"] == "sqrtm"
                err = max(row[err_key], floor)
                fastest, median = row[f"{mode}_min_ms"], row[f"{mode}_ms"]
                ax.plot([fastest, median], [err, err], "-", color=colors[method], lw=0.8)
                ax.plot(
                    median,
                    err,
                    markers[method],
                    color=colors[method],
                    mfc=colors[method] if filled else "none",
                    ms=7,
                    label=f"{method} ({row['function']})",
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("forward time (ms)" if i == 0 else "forward + backward time (ms)")
            ax.set_ylabel(f"relative {what} error")
            ax.set_title(f"{shape}, {cfg.dtype}: {what}")
            ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="outside right center", fontsize=8)
    fig.suptitle(
        "Song, Sebe & Wang (2022): time vs error of differentiable matrix square roots "
        f"\n(filled: sqrtm, open: inv_sqrtm; marker: median of {cfg.repeats} calls, line: "
        "from the fastest call)"
    )
    return fig
