r"""Park & Moon (2025): activation-aware CUR compression (CURing) of an MLP on digits.

CURing (Park & Moon, "CURing Large Models: Compression via CUR Decomposition", 2025,
arXiv:2501.04211) replaces a weight matrix $W \in \mathbb R^{m \times n}$ by $CUR$ with
actual columns $C = W[:, J]$ and rows $R = W[I, :]$ and the core $U = C^+ W R^+$, choosing
$I$ and $J$ by DEIM on the top-$r$ singular vectors of the activation-aware score
$S = |W| \odot \mathbf 1\,\nu^\top$, $\nu_j = \lVert X_{:, j}\rVert_2$ over calibration
inputs $X$ (WANDA's importance), at ranks up to the break-even rank $r^*$ beyond which CUR
stores more numbers than $W$. Their claim, on LLMs: the activation-aware selection keeps
the model's accuracy better than selecting from the weights alone, at the same rank.

Here, at laptop scale: an `equinox.nn.MLP` (64 -> `width` -> ... -> 10, ReLU, `depth`
hidden layers) trained with optax's Adam on scikit-learn's digits (the split and
standardization of the `dbn_digits` experiment), then for each rank $r$ in `ranks` its
layers `compress_layers` are replaced by `spectral.compress_linear_layers(key, model, X,
r, selection=...)` (rank capped per layer at $r^*$) with

- ``"activation"``: DEIM on $S$ (CURing);
- ``"weight"``: DEIM on $W$ (DEIM-CUR, Sorensen & Embree 2016);
- ``"leverage"``: rows and columns sampled by the rank-$r$ leverage scores of $W$;
- ``"uniform"``: sampled uniformly,

with the first `num_calibration` training samples as $X$. Per (selection, rank) the table
reports the test accuracy (for the sampling selections: mean, min and max over
`num_sampling_keys` keys), the model's parameter count, the relative output error on the
calibration samples, and the time to compress (the jitted `compress_linear_layers`, after a
warm-up call that compiles it; the fastest of `timing_repeats` calls, the usual estimate on a
shared machine, where single calls were seen to vary from 2 ms to 1 s). No fine-tuning
("healing") follows the compression.

References
----------
Park & Moon (2025), "CURing Large Models: Compression via CUR Decomposition",
arXiv:2501.04211. [park2025] Sorensen & Embree (2016), "A DEIM Induced CUR Factorization",
SIAM J. Sci. Comput. [sorensen2016]
"""

import dataclasses
import time
from collections.abc import Callable
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from matplotlib.figure import Figure

from spectral.cur_compression import compress_linear_layers, cur_break_even_rank

from ._config import require_positive, working_dtype
from ._progress import Progress, no_progress
from .dbn_digits import load_digits_split

# Named PRNG streams: key(seed) is folded with these, one per independent use.
STREAM_SPLIT = 0  # the train/test permutation of the data set
STREAM_INIT = 1  # initial weights
STREAM_SHUFFLE = 2  # mini-batch order, folded with the epoch
STREAM_SELECT = 3  # the sampling selections, folded with the key's index

SELECTIONS = ("activation", "weight", "leverage", "uniform")
SAMPLING = ("leverage", "uniform")
NUM_FEATURES, NUM_CLASSES = 64, 10


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Every knob of the CURing experiment.

    Attributes
    ----------
    seed : int
        Root of all PRNG keys (data split, initialization, batch order, sampled indices).
    dtype : {"float32", "float64"}
        Working precision of the data, the model and the compression.
    test_fraction : float
        Fraction of the 1797 samples held out for testing, in (0, 1).
    width : int
        Width of every hidden layer of the MLP.
    depth : int
        Number of hidden layers; the MLP has `depth + 1` linear layers, indexed 0 to
        `depth` (the last one is the output layer).
    learning_rate : float
        Adam's step size.
    batch_size : int
        Samples per mini-batch (the last incomplete batch of an epoch is dropped).
    num_epochs : int
        Passes over the training set.
    num_calibration : int
        Calibration samples (the first ones of the shuffled training set) whose layer inputs
        give the activation norms, and on which the output error is measured.
    compress_layers : list of int
        Indices of the linear layers to compress (e.g. ``[0, 1]``: the hidden layers of a
        depth-2 MLP).
    ranks : list of int
        Requested ranks, each capped per layer at its break-even rank.
    selections : list of str
        Among ``"activation"``, ``"weight"``, ``"leverage"``, ``"uniform"``.
    num_sampling_keys : int
        Keys per (rank, selection) for the sampling selections.
    timing_repeats : int
        Timed calls of the compression after the warm-up; the table reports the fastest.
    """

    seed: int
    dtype: Literal["float32", "float64"]
    test_fraction: float
    width: int
    depth: int
    learning_rate: float
    batch_size: int
    num_epochs: int
    num_calibration: int
    compress_layers: list[int]
    ranks: list[int]
    selections: list[str]
    num_sampling_keys: int
    timing_repeats: int

    def __post_init__(self):
        require_positive(
            self,
            "width",
            "depth",
            "batch_size",
            "num_epochs",
            "num_calibration",
            "num_sampling_keys",
            "timing_repeats",
        )
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1); got {self.test_fraction}.")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate}.")
        layers = self.depth + 1
        if (
            not self.compress_layers
            or len(set(self.compress_layers)) != len(self.compress_layers)
            or not all(0 <= i < layers for i in self.compress_layers)
        ):
            raise ValueError(
                f"compress_layers must be distinct indices of the MLP's {layers} linear layers "
                f"(0 to {layers - 1}); got {self.compress_layers}."
            )
        if not self.ranks or min(self.ranks) < 1:
            raise ValueError(f"ranks must be a non-empty list of ints >= 1; got {self.ranks}.")
        bad = [s for s in self.selections if s not in SELECTIONS]
        if not self.selections or bad or len(set(self.selections)) != len(self.selections):
            raise ValueError(
                f"selections must be distinct entries of {SELECTIONS}; got {self.selections}."
            )


def layer_shapes(cfg: Config) -> list[tuple[int, int]]:
    """(out, in) of each linear layer of the MLP, in order."""
    sizes = [NUM_FEATURES] + [cfg.width] * cfg.depth + [NUM_CLASSES]
    return [(sizes[i + 1], sizes[i]) for i in range(cfg.depth + 1)]


# --- training ------------------------------------------------------------------------------


def train(
    cfg: Config, model: eqx.nn.MLP, X: jax.Array, y: jax.Array, key: jax.Array, progress: Progress
) -> tuple[eqx.nn.MLP, np.ndarray]:
    """Adam on the mean cross-entropy; one jitted `jax.lax.scan` per epoch.

    Returns the trained model and the mean training loss of each epoch.
    """
    params, static = eqx.partition(model, eqx.is_inexact_array)
    optimizer = optax.adam(cfg.learning_rate)
    num_batches = X.shape[0] // cfg.batch_size

    def loss_fn(params, xb, yb):
        logits = jax.vmap(eqx.combine(params, static))(xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @jax.jit
    def epoch(params, opt_state, order):
        def step(carry, batch):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, X[batch], y[batch])
            # optax's Adam mixes its int32 step count with Python floats (bias correction),
            # which strict dtype promotion (as in the test suite) rejects; allow it here only.
            with jax.numpy_dtype_promotion("standard"):
                updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), order)
        return params, opt_state, jnp.mean(losses)

    opt_state = optimizer.init(params)
    losses = np.zeros(cfg.num_epochs)
    for e in progress(range(cfg.num_epochs), desc="park2025 training epochs"):
        perm = jr.permutation(jr.fold_in(key, e), X.shape[0])
        order = perm[: num_batches * cfg.batch_size].reshape(num_batches, cfg.batch_size)
        params, opt_state, loss = epoch(params, opt_state, order)
        losses[e] = float(loss)
    return eqx.combine(params, static), losses


@eqx.filter_jit
def accuracy(model: Callable, X: jax.Array, y: jax.Array) -> jax.Array:
    """Fraction of the samples whose largest logit is the label."""
    predicted = jnp.argmax(jax.vmap(model)(X), axis=-1).astype(y.dtype)
    return jnp.mean(predicted == y)


# --- the experiment ---------------------------------------------------------------------------


def run(cfg: Config, *, progress: Progress = no_progress) -> dict[str, Any]:
    """Train the MLP, then compress its chosen layers for every rank and selection.

    Parameters
    ----------
    cfg : Config
        The experiment's settings.
    progress : Progress
        Wraps the training epochs and the loop over (selection, rank).

    Returns
    -------
    dict
        `table` (a row for the uncompressed model, then one per selection and rank:
        `selection`, `rank`, `ranks_used`, `params`, `saved_pct`, `test_acc`,
        `test_acc_min`, `test_acc_max`, `drop_pp`, `output_error`, `layer_errors`,
        `compress_ms`),
        `figures` (`accuracy_vs_params`), `data` and `notes`.

    Raises
    ------
    RuntimeError
        If `cfg.dtype` is `"float64"` but `jax_enable_x64` is off.
    ImportError
        If scikit-learn is not installed.
    ValueError
        If `num_calibration` or `batch_size` exceeds the training samples.
    """
    dtype = working_dtype(cfg.dtype)
    root = jr.key(cfg.seed)
    data = load_digits_split(jr.fold_in(root, STREAM_SPLIT), cfg.test_fraction)
    X_train, X_test = jnp.asarray(data.X_train, dtype), jnp.asarray(data.X_test, dtype)
    y_train, y_test = jnp.asarray(data.y_train), jnp.asarray(data.y_test)
    num_train = X_train.shape[0]
    for name in ("num_calibration", "batch_size"):
        if getattr(cfg, name) > num_train:
            raise ValueError(
                f"{name} must be at most the {num_train} training samples; got "
                f"{getattr(cfg, name)}."
            )

    model = eqx.nn.MLP(
        NUM_FEATURES,
        NUM_CLASSES,
        cfg.width,
        cfg.depth,
        activation=jax.nn.relu,
        key=jr.fold_in(root, STREAM_INIT),
        dtype=dtype,
    )
    t0 = time.perf_counter()
    model, losses = train(cfg, model, X_train, y_train, jr.fold_in(root, STREAM_SHUFFLE), progress)
    train_s = time.perf_counter() - t0
    base_acc = 100 * float(accuracy(model, X_test, y_test))
    base_params = sum(x.size for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    X_cal = X_train[: cfg.num_calibration]
    chosen = tuple(cfg.compress_layers)

    def where(m):  # one function object for the whole run: the jit cache keys on it
        return tuple(m.layers[i] for i in chosen)

    shapes = layer_shapes(cfg)
    break_even = [cur_break_even_rank(*shapes[i]) for i in chosen]

    rows: list[dict[str, Any]] = [
        {
            "selection": "none",
            "rank": None,
            "ranks_used": "",
            "params": base_params,
            "saved_pct": 0.0,
            "test_acc": base_acc,
            "test_acc_min": base_acc,
            "test_acc_max": base_acc,
            "drop_pp": 0.0,
            "output_error": 0.0,
            "layer_errors": "",
            "compress_ms": None,
        }
    ]
    curves: dict[str, dict[str, list]] = {}
    settings = [(s, r) for s in cfg.selections for r in cfg.ranks]
    for selection, rank in progress(settings, desc="park2025 compressions (selection x rank)"):
        num_keys = cfg.num_sampling_keys if selection in SAMPLING else 1
        keys = [jr.fold_in(jr.fold_in(root, STREAM_SELECT), j) for j in range(num_keys)]

        def compress(key, selection=selection, rank=rank):
            return compress_linear_layers(key, model, X_cal, rank, where=where, selection=selection)

        jax.block_until_ready(compress(keys[0]))  # warm-up: compiles; not timed
        times = []
        for _ in range(cfg.timing_repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(compress(keys[0]))
            times.append(time.perf_counter() - t0)
        accs, errors, layer_errors = [], [], []
        for key in keys:
            compressed, report = compress(key)
            accs.append(100 * float(accuracy(compressed, X_test, y_test)))
            errors.append(float(report.output_error))
            layer_errors.append(np.asarray(report.layer_errors, np.float64).tolist())
        curve = curves.setdefault(
            selection, {k: [] for k in ("rank", "params", "acc", "err", "layer_err", "ms")}
        )
        curve["rank"].append(rank)
        curve["params"].append(report.num_params_after)
        curve["acc"].append(accs)
        curve["err"].append(errors)
        curve["layer_err"].append(layer_errors)
        curve["ms"].append(1e3 * min(times))
        rows.append(
            {
                "selection": selection,
                "rank": rank,
                "ranks_used": "/".join(map(str, report.ranks)),
                "params": report.num_params_after,
                "saved_pct": 100 * report.num_params_saved / report.num_params_before,
                "test_acc": float(np.mean(accs)),
                "test_acc_min": min(accs),
                "test_acc_max": max(accs),
                "drop_pp": base_acc - float(np.mean(accs)),
                "output_error": float(np.mean(errors)),
                "layer_errors": "/".join(f"{e:.3f}" for e in np.mean(layer_errors, axis=0)),
                "compress_ms": 1e3 * min(times),
            }
        )

    notes = _notes(cfg, rows, data, base_acc, base_params, losses, train_s, break_even)
    return {
        "table": rows,
        "figures": {"accuracy_vs_params": _figure(cfg, curves, base_acc, base_params)},
        "data": {
            "num_train": num_train,
            "num_test": int(X_test.shape[0]),
            "train_loss": losses,
            "break_even_ranks": dict(zip(map(str, chosen), break_even, strict=True)),
            "curves": curves,
        },
        "notes": notes,
    }


def _notes(
    cfg: Config,
    rows: list[dict[str, Any]],
    data: Any,
    base_acc: float,
    base_params: int,
    losses: np.ndarray,
    train_s: float,
    break_even: list[int],
) -> list[str]:
    num_test = data.X_test.shape[0]
    shapes = layer_shapes(cfg)
    arch = " -> ".join([str(NUM_FEATURES)] + [str(cfg.width)] * cfg.depth + [str(NUM_CLASSES)])
    layers = ", ".join(
        f"{i} ({shapes[i][0]} x {shapes[i][1]}, r* = {r})"
        for i, r in zip(cfg.compress_layers, break_even, strict=True)
    )
    notes = [
        f"Digits: {data.X_train.shape[0]} training / {num_test} test samples (one test sample "
        f"= {100 / num_test:.2f} pp), 64 standardized features. MLP {arch} (ReLU), {cfg.dtype}, "
        f"{base_params} parameters; Adam (lr {cfg.learning_rate:g}), {cfg.num_epochs} epochs "
        f"of batches of {cfg.batch_size} ({train_s:.1f} s), final training loss "
        f"{losses[-1]:.3g}; uncompressed test accuracy {base_acc:.2f}%.",
        f"Compressed layers: {layers}; requested ranks above r* are capped at r* (ranks_used, "
        f"per layer), where CUR stores as many numbers as W. Calibration: the first "
        f"{cfg.num_calibration} training samples. No fine-tuning after compression.",
        "test_acc: test accuracy (%) of the compressed model (leverage, uniform: mean over "
        f"{cfg.num_sampling_keys} keys, min/max the range); drop_pp: uncompressed minus "
        "compressed; output_error: ||f(X) - f_cur(X)||_F / ||f(X)||_F of the logits on the "
        "calibration samples; layer_errors: per compressed layer, ||X_l (W - CUR)^T||_F / "
        "||X_l W^T||_F on its own calibration inputs X_l; compress_ms: wall time of the "
        f"jitted compress_linear_layers, fastest of {cfg.timing_repeats} call(s) after a "
        "compiling warm-up "
        "(capture of the layer inputs, SVDs, DEIM, cores, and the two passes that measure "
        "output_error).",
    ]
    by = {(r["selection"], r["rank"]): r for r in rows}
    if "activation" in cfg.selections and "weight" in cfg.selections:
        diffs = [by["activation", r]["test_acc"] - by["weight", r]["test_acc"] for r in cfg.ranks]
        err_ratio = [
            by["activation", r]["output_error"] / by["weight", r]["output_error"] for r in cfg.ranks
        ]
        layer_pairs = [
            (a, w)
            for r in cfg.ranks
            for a, w in zip(
                by["activation", r]["layer_errors"].split("/"),
                by["weight", r]["layer_errors"].split("/"),
                strict=True,
            )
        ]
        layer_wins = sum(float(a) < float(w) for a, w in layer_pairs)
        wins = sum(d > 0 for d in diffs)
        ties = sum(d == 0 for d in diffs)
        lower_err = sum(q < 1 for q in err_ratio)
        notes.append(
            "Paper (Park & Moon 2025, on LLMs, e.g. Llama3.1-8B to 7.32B parameters (-9%) in "
            "129 s): selecting rows and columns by DEIM on the activation-aware score |W| * "
            "||X_col|| keeps accuracy better than selecting from the weights alone at the same "
            "rank. Ours (test accuracy activation - weight, pp, per rank "
            f"{cfg.ranks}): " + ", ".join(f"{d:+.2f}" for d in diffs) + f"; activation better at "
            f"{wins}, equal at {ties}, worse at {len(diffs) - wins - ties} of {len(diffs)} ranks "
            f"(mean {np.mean(diffs):+.2f} pp); lower calibration output error at {lower_err} of "
            f"{len(diffs)} ranks (error ratio activation/weight "
            + ", ".join(f"{q:.2f}" for q in err_ratio)
            + f"); lower layer error (layer_errors) at {layer_wins} of {len(layer_pairs)} "
            "(rank, layer) pairs."
        )
    for other in SAMPLING:
        if "activation" in cfg.selections and other in cfg.selections:
            diffs = [by["activation", r]["test_acc"] - by[other, r]["test_acc"] for r in cfg.ranks]
            notes.append(
                f"activation - {other} (mean over keys), pp per rank: "
                + ", ".join(f"{d:+.2f}" for d in diffs)
                + f" (mean {np.mean(diffs):+.2f})."
            )
    return notes


def _figure(
    cfg: Config, curves: dict[str, dict[str, list]], base_acc: float, base_params: int
) -> Figure:
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax_acc, ax_err, ax_time = fig.subplots(1, 3)
    for i, (selection, c) in enumerate(curves.items()):
        acc = np.array(c["acc"])
        err = np.array(c["err"])
        color = f"C{i}"
        ax_acc.plot(c["params"], acc.mean(axis=1), "o-", color=color, ms=4, label=selection)
        if acc.shape[1] > 1:
            ax_acc.fill_between(
                c["params"], acc.min(axis=1), acc.max(axis=1), color=color, alpha=0.2, lw=0
            )
        ax_err.semilogy(c["rank"], err.mean(axis=1), "o-", color=color, ms=4, label=selection)
        ax_time.semilogy(c["rank"], c["ms"], "o-", color=color, ms=4, label=selection)
    ax_acc.axhline(base_acc, color="k", ls="--", lw=1, label="uncompressed")
    ax_acc.axvline(base_params, color="0.5", ls=":", lw=1)
    ax_acc.set_xlabel("parameters of the compressed model")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.legend(fontsize=8)
    ax_err.set_xlabel("requested rank (capped at the break-even rank)")
    ax_err.set_ylabel("relative output error on the calibration samples")
    ax_time.set_xlabel("requested rank")
    ax_time.set_ylabel("time to compress (ms, fastest call, after compiling)")
    fig.suptitle(
        f"CURing on digits: MLP 64-{'-'.join([str(cfg.width)] * cfg.depth)}-10, layers "
        f"{cfg.compress_layers} compressed; bands: min-max over {cfg.num_sampling_keys} keys"
    )
    return fig
