r"""matfun: sqrtm / inv_sqrtm (five methods) vs eigh and jax.scipy.linalg.sqrtm; polar vs SVD.

Two problems, each method on the same inputs in one process:

(a) `spectral.sqrtm` and `spectral.inv_sqrtm` with ``method=`` ``"eigh"``,
    ``"newton_schulz"``, ``"denman_beavers"``, ``"taylor"`` and ``"pade"`` (library defaults
    for every other option) on batches of float32 SPD matrices
    $A = Q \operatorname{diag}(\lambda) Q^\top$, Haar $Q$, $\lambda$ log-spaced over
    $[1/\kappa, 1]$, on a grid of (batch, $n$). Timed: the jitted `jax.value_and_grad` of
    $L(A) = \sum_{ij} G_{ij} X(A)_{ij}$ ($G$ Gaussian, $X = A^{\pm 1/2}$) with the default
    ``check=True``; at the `variant_cells` also with ``check=False`` and the jitted forward
    alone. The peer `jax.scipy.linalg.sqrtm` (Schur method; forward only, it has no
    derivative; CPU only; complex output, of which the real part is kept) is vmapped over the
    batch and compared with the forward of the eigh path. Accuracy: the relative Frobenius
    error of $X$ against $A^{\pm 1/2}$ from a float64 NumPy eigh of the same (float32) $A$,
    and that of $\nabla L$ against the exact gradient (the Daleckii–Krein formula in $A$'s
    eigenbasis, float64); the worst matrix of the batch.
(b) `spectral.polar` by Newton–Schulz (Muon coefficients, 5 steps, Frobenius scaling: the
    defaults) in float32 and bfloat16 against ``method="svd"`` (float32: the SVD takes no
    bfloat16) on Gaussian matrices; forward only, as Muon uses it. Reported: time, steps per
    second, the orthogonality error $\max_i |\sigma_i(Q) - 1|$ and the relative Frobenius
    distance to the exact polar factor $U V^\top$ (float64 SVD).

Reported per method: the median wall time of `repeats` calls after a warm-up call (which
compiles), and the speed-up over the reference (the eigh path for (a), the SVD for (b)): its
time divided by the method's. In (a) every timing of a cell runs in the same rounds, each
round calling every method in a fresh random order (`variant_repeats` rounds at the variant
cells, where the issue's criterion is), so that neither the drift of a shared machine's load
nor a method's neighbour in the round biases the ratios; the fastest call of each method's
forward + backward is reported too. The eigh path's time is bimodal on XLA:CPU: profiled,
its batched LAPACK eigendecomposition (64 x 64 x 64, float32) took 18.4 ms whenever it ran
on one of XLA's Eigen pool threads and mostly 10.7 ms on the PjRt client's threads, and always
18.4 ms with the process restricted to one core (`taskset -c 0`): the fast mode is jaxlib's
LAPACK kernel mapping the batch over both cores (its `ParallelBatchMap`, see
`spectral._sequencing`), which it does not always get. Its median lands in either mode
depending on the run (no call order or option tried controlled it); the fastest calls
compare the methods at their best.

LAPACK calls (eigh, the Cholesky factorizations of the input check and of Padé's and Smith's
solves, the Schur form, the SVD) run with one OpenBLAS thread. XLA:CPU already spreads a batch
over its own thread pool, and OpenBLAS's spinning threads, nested inside it or competing with
other load, oversubscribe the cores: on a loaded 2-core machine OpenBLAS's default (one
thread per core) made the batched eigh up to 10x slower, with times varying 10x from call to
call, and the 512 x 512 SVD 37x slower (2.75 s against 75 ms), while one thread cost the
unbatched n = 512 eigh ~10%.
The rows "(default BLAS threads)" (at `variant_cells` and `polar_variant_shapes`) time the
eigh, Taylor and Padé paths and the SVD with OpenBLAS's default threads, as a script that
does not limit them runs; each against the eigh path (or SVD) with default threads. Taylor
and Padé call LAPACK only for Cholesky factorizations (their triangular inverses are products,
`spectral._triangular`), so OpenBLAS's threads no longer slow their products.
"""

import contextlib
import dataclasses
import statistics
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import spectral

from ._timing import interleaved_times, median_time, one_blas_thread

# Named PRNG streams (numpy seed sequences [seed, stream, ...]).
_STREAM_Q, _STREAM_G, _STREAM_POLAR = 0, 1, 2
_METHODS = ("eigh", "newton_schulz", "denman_beavers", "taylor", "pade")
_FUNCTIONS = {"sqrtm": spectral.sqrtm, "inv_sqrtm": spectral.inv_sqrtm}
_POWERS = {"sqrtm": 0.5, "inv_sqrtm": -0.5}
# The acceptance criterion of the issue: Padé and Taylor at least 2x faster (forward +
# backward) than the eigh path at batch 64, n = 64, float32.
_CRITERION_CELL, _CRITERION_SPEEDUP = (64, 64), 2.0
# At the variant cells the truncated methods are also timed with the other backwards than
# their default (Smith's Lyapunov solve): the paper's Newton-Schulz Lyapunov solve, and
# "autodiff" (JAX's derivative of the computed approximation).
_TRUNCATED, _BACKWARD_VARIANTS = ("taylor", "pade"), ("newton_schulz", "autodiff")
# Timed also with OpenBLAS's default threads at the variant cells (batch > 1).
_DEFAULT_THREAD_METHODS = ("eigh", *_TRUNCATED)


def _variant(method: str, backward: str) -> str:
    return f"{method} (backward='{backward}')"


# Muon's quintic (3.4445 s - 4.7750 s^3 + 2.0315 s^5, Jordan et al. 2024) has slope 3.4445 at 0.
_MUON_SLOPE = 3.4445
# The library defaults every method runs with (nothing but `method` is passed); stated in the
# notes, and checked against spectral.matfun by the test of this benchmark.
LIBRARY_DEFAULTS = {
    "iters": {"newton_schulz": 10, "denman_beavers": 10},
    "degree": {"taylor": 10, "pade": (5, 5)},
    "backward": {
        "eigh": "eigh",
        "newton_schulz": "smith",
        "denman_beavers": "smith",
        "taylor": "smith",
        "pade": "smith",
    },
    "backward_iters": 20,
}


@dataclasses.dataclass(frozen=True)
class _Sizes:
    batches: tuple[int, ...]  # problem (a) runs on the grid batches x ns ...
    ns: tuple[int, ...]
    skipped: tuple[tuple[int, int], ...]  # ... less these (batch, n), left out for time
    variant_cells: tuple[tuple[int, int], ...]  # also check=False, forward alone, BLAS threads
    repeats: int
    variant_repeats: int  # at the variant cells (the criterion cell): more rounds
    polar_shapes: tuple[tuple[int, int], ...]
    polar_variant_shapes: tuple[tuple[int, int], ...]  # also the SVD with default BLAS threads
    polar_repeats: int
    kappa: float = 10.0
    polar_steps: int = 5
    seed: int = 0

    @property
    def cells(self) -> tuple[tuple[int, int], ...]:
        return tuple((b, n) for b in self.batches for n in self.ns if (b, n) not in self.skipped)


SIZES = {
    "full": _Sizes(
        batches=(1, 64, 256),
        ns=(32, 64, 128, 512),
        # Each (function, method) compiles anew per cell (~1-2 s each, ~12 per cell): cheap
        # cells cost about as much as large ones. b=64 n=512 and b=256 n>=128 would also run
        # for minutes.
        skipped=((1, 64), (64, 32), (64, 512), (256, 128), (256, 512)),
        variant_cells=((64, 64),),
        repeats=5,
        variant_repeats=21,
        polar_shapes=((512, 512), (1024, 256)),
        polar_variant_shapes=((512, 512),),
        polar_repeats=5,
    ),
    "tiny": _Sizes(
        batches=(2,),  # > 1: the default-BLAS-threads rows run too
        ns=(8,),
        skipped=(),
        variant_cells=((2, 8),),
        repeats=1,
        variant_repeats=1,
        polar_shapes=((24, 16),),
        polar_variant_shapes=((24, 16),),
        polar_repeats=1,
    ),
}


def _spd_batch(p: _Sizes, batch: int, n: int) -> np.ndarray:
    r"""$A = Q \Lambda Q^\top$: Haar $Q$, $\Lambda$ log-spaced on $[1/\kappa, 1]$."""
    rng = np.random.default_rng([p.seed, _STREAM_Q, batch, n])
    Q, _ = np.linalg.qr(rng.standard_normal((batch, n, n)))
    lam = np.geomspace(1.0 / p.kappa, 1.0, n)
    A = (Q * lam) @ np.swapaxes(Q, -1, -2)
    # Exactly symmetric (x + y = y + x), and still so after rounding to float32.
    return (0.5 * (A + np.swapaxes(A, -1, -2))).astype(np.float32)


def _rel_err(X: Any, ref: np.ndarray) -> float:
    """The largest relative Frobenius error over the batch."""
    X = np.asarray(X, dtype=np.float64)
    err = np.linalg.norm(X - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))
    return float(np.max(err))


def _reference(A: np.ndarray, G: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    r"""$X = A^{p}$ ($p = \pm 1/2$) and $\nabla_A \sum_{ij} G_{ij} X_{ij}$, float64, by NumPy.

    With $A = V \operatorname{diag}(s^2) V^\top$ the gradient is the Daleckii–Krein formula
    $V [(V^\top \operatorname{sym}(G) V) \circ K] V^\top$, $K$ the divided differences of
    $t \mapsto t^{p}$ at the eigenvalues: $1 / (s_i + s_j)$ for $p = 1/2$ and
    $-1 / (s_i s_j (s_i + s_j))$ for $p = -1/2$ ($\operatorname{sym}$: the library treats
    $A$ as symmetric, so its gradient is the symmetric one).
    """
    w, V = np.linalg.eigh(A.astype(np.float64))
    s = np.sqrt(w)
    Vt = np.swapaxes(V, -1, -2)
    X = (V * (s ** (2 * power))[..., None, :]) @ Vt
    K = 1.0 / (s[..., :, None] + s[..., None, :])
    if power < 0:
        K = -K / (s[..., :, None] * s[..., None, :])
    G_sym = 0.5 * (G + np.swapaxes(G, -1, -2))
    return X, V @ ((Vt @ G_sym @ V) * K) @ Vt


def _value_and_grad(fn: Callable[[jax.Array], jax.Array]) -> Callable:
    """Jitted `(A, G) -> ((sum(G * X), X), dL/dA)` with `X = fn(A)`."""

    def loss(A, G):
        X = fn(A)
        return jnp.sum(G * X), X

    return jax.jit(jax.value_and_grad(loss, has_aux=True))


def _row(problem: str, function: str, method: str, dtype: str) -> dict:
    return {
        "problem": problem,
        "function": function,
        "method": method,
        "dtype": dtype,
        "fwd_bwd_s": None,
        "fwd_bwd_min_s": None,
        "nocheck_s": None,
        "fwd_s": None,
        "speedup_vs_eigh": None,
        "fwd_speedup": None,
        "fwd_err": None,
        "grad_err": None,
        "orth_err": None,
        "steps_per_s": None,
    }


def _matfun_cell(p: _Sizes, batch: int, n: int) -> list[dict]:
    A_np = _spd_batch(p, batch, n)
    G_np = np.random.default_rng([p.seed, _STREAM_G, batch, n]).standard_normal(A_np.shape)
    A, G = jnp.asarray(A_np), jnp.asarray(G_np, dtype=jnp.float32)
    variants = (batch, n) in p.variant_cells
    rows: list[dict] = []
    for name in _FUNCTIONS:
        rows += _function_rows(
            name, A, G, f"b={batch} n={n}", variants, p.variant_repeats if variants else p.repeats
        )
    return rows


def _function_rows(
    name: str, A: jax.Array, G: jax.Array, problem: str, variants: bool, repeats: int
) -> list[dict]:
    """The rows of `sqrtm` or `inv_sqrtm` (`name`) at one cell: every method and the peer."""
    import jax.scipy.linalg as jsl

    fn, batch = _FUNCTIONS[name], A.shape[0]
    # The float64 reference on the float32-rounded A (and G, as the float32 runs see it).
    X_ref, g_ref = _reference(np.asarray(A), np.asarray(G, dtype=np.float64), _POWERS[name])
    rows: list[dict] = []
    timed: list[tuple[dict, str, Callable[[], Any]]] = []  # (row, its column, the call)

    def add_fwd_bwd(row: dict, **options: Any) -> None:
        fb = _value_and_grad(lambda A: fn(A, **options))
        with one_blas_thread():
            (_, X), g = fb(A, G)  # compiles; the output for the errors
        row["fwd_err"], row["grad_err"] = _rel_err(X, X_ref), _rel_err(g, g_ref)
        row["dtype"] = str(X.dtype)  # the input's, unless a method promotes it
        rows.append(row)
        timed.append((row, "fwd_bwd_s", lambda: fb(A, G)))

    for method in _METHODS:
        row = _row(problem, name, method, "float32")
        add_fwd_bwd(row, method=method)
        if variants:
            nocheck = _value_and_grad(lambda A, method=method: fn(A, method=method, check=False))
            timed.append((row, "nocheck_s", lambda nocheck=nocheck: nocheck(A, G)))
        if variants or (name, method) == ("sqrtm", "eigh"):  # eigh: for the peer
            fwd = jax.jit(lambda A, method=method: fn(A, method=method))
            timed.append((row, "fwd_s", lambda fwd=fwd: fwd(A)))
        for backward in _BACKWARD_VARIANTS if variants and method in _TRUNCATED else ():
            row = _row(problem, name, _variant(method, backward), "float32")
            add_fwd_bwd(row, method=method, backward=backward)
    # jax.scipy.linalg.sqrtm has no GPU/TPU lowering: the peer runs on CPU backends only.
    if name == "sqrtm" and jax.default_backend() == "cpu":
        row = _row(problem, name, "jax.scipy.linalg.sqrtm", "float32")
        peer = jax.jit(jax.vmap(lambda A: jnp.real(jsl.sqrtm(A))))
        with one_blas_thread():
            X = peer(A)
        row["fwd_err"], row["dtype"] = _rel_err(X, X_ref), str(X.dtype)
        rows.append(row)
        timed.append((row, "fwd_s", lambda: peer(A)))
    # Every timing of the cell in the same rounds, in a fresh random order each: ratios between
    # methods are biased neither by when each was measured nor by its neighbour.
    with one_blas_thread():
        times = interleaved_times({i: t[2] for i, t in enumerate(timed)}, repeats)
    for i, (row, column, _) in enumerate(timed):
        row[column] = statistics.median(times[i])
        if column == "fwd_bwd_s":
            row["fwd_bwd_min_s"] = min(times[i])
    default_threads = {}
    if variants and batch > 1:
        # With OpenBLAS's default threads, as a script without threadpoolctl runs: each
        # method's calls in a row, not interleaved (the OpenBLAS threads of one method's LAPACK
        # calls, spinning on after them, would slow its neighbour's products).
        calls = {row["method"]: call for row, column, call in timed if column == "fwd_bwd_s"}
        for method in _DEFAULT_THREAD_METHODS:
            row = _row(problem, name, f"{method} (default BLAS threads)", "float32")
            row["fwd_bwd_s"], _ = median_time(calls[method], repeats)
            default_threads[method] = row
            after = next(i for i, r in enumerate(rows) if r["method"] == method)
            rows.insert(after + 1, row)
    eigh = rows[0]
    for row in rows:
        if row["fwd_bwd_s"] is not None:
            row["speedup_vs_eigh"] = eigh["fwd_bwd_s"] / row["fwd_bwd_s"]
        if row["fwd_s"] is not None:
            row["fwd_speedup"] = eigh["fwd_s"] / row["fwd_s"]
    for row in default_threads.values():  # against the eigh path with default threads too
        row["speedup_vs_eigh"] = default_threads["eigh"]["fwd_bwd_s"] / row["fwd_bwd_s"]
    return rows


def _polar_case(p: _Sizes, m: int, n: int) -> tuple[list[dict], str]:
    X_np = np.random.default_rng([p.seed, _STREAM_POLAR, m, n]).standard_normal((m, n))
    U, S, Vh = np.linalg.svd(X_np.astype(np.float32).astype(np.float64), full_matrices=False)
    exact = U @ Vh
    problem = f"polar {m}x{n}"
    steps = p.polar_steps
    cases = [
        ("svd", "float32", lambda X: spectral.polar(X, method="svd")),
        *(
            (
                f"newton_schulz (muon, {steps} steps)",
                dtype,
                lambda X: spectral.polar(X, steps=steps),
            )
            for dtype in ("float32", "bfloat16")
        ),
    ]
    rows = []
    if (m, n) in p.polar_variant_shapes:
        cases.insert(1, ("svd (default BLAS threads)", "float32", cases[0][2]))
    for method, dtype, fn in cases:
        X = jnp.asarray(X_np, dtype=dtype)
        jitted = jax.jit(fn)
        threads = contextlib.nullcontext() if "default" in method else one_blas_thread()
        with threads:
            seconds, Q = median_time(lambda jitted=jitted, X=X: jitted(X), p.polar_repeats)
        row = _row(problem, "polar", method, str(Q.dtype))
        Q = np.asarray(Q.astype(jnp.float32), dtype=np.float64)
        sigma = np.linalg.svd(Q, compute_uv=False)
        row.update(
            fwd_s=seconds,
            fwd_err=float(np.linalg.norm(Q - exact) / np.linalg.norm(exact)),
            orth_err=float(np.max(np.abs(sigma - 1.0))),
            steps_per_s=steps / seconds if method.startswith("newton_schulz") else None,
        )
        rows.append(row)
    for row in rows:
        row["fwd_speedup"] = rows[0]["fwd_s"] / row["fwd_s"]
    # Muon's first coefficient is the largest slope at 0: after Frobenius scaling a singular
    # value sigma grows at most by a^steps, so those below ||X||_F / a^steps stay far from 1.
    growth = _MUON_SLOPE**steps
    note = (
        f"(b) {problem}: sigma_min(X) / ||X||_F = {S[-1] / np.linalg.norm(S):.1e}, and "
        f"{steps} Muon steps multiply a small singular value by at most {growth:.0f}."
    )
    return rows, note


def _criterion(rows: list[dict]) -> tuple[list[str], dict]:
    problem = f"b={_CRITERION_CELL[0]} n={_CRITERION_CELL[1]}"
    claim = (
        f"Acceptance criterion (Taylor and Pade at least {_CRITERION_SPEEDUP:g}x faster than the "
        f"eigh path, forward + backward, {problem}, float32, check=True)"
    )
    found = {
        f"{row['function']} {row['method']}": row
        for row in rows
        if row["problem"] == problem and row["method"] in _TRUNCATED
    }
    if not found:
        return [f"{claim}: not measured at this size."], {"criterion_met": None}
    met = {name: row["speedup_vs_eigh"] >= _CRITERION_SPEEDUP for name, row in found.items()}

    def speedups(found: dict) -> str:
        return "; ".join(
            f"{name} {row['speedup_vs_eigh']:.2f}x (fwd err {row['fwd_err']:.1e}, grad err "
            f"{row['grad_err']:.1e})"
            for name, row in found.items()
        )

    verdict = "MET" if all(met.values()) else "NOT MET"
    eigh_fastest = {
        row["function"]: row["fwd_bwd_min_s"]
        for row in rows
        if row["problem"] == problem and row["method"] == "eigh"
    }
    fastest = {
        name: eigh_fastest[row["function"]] / row["fwd_bwd_min_s"] for name, row in found.items()
    }
    data = {"criterion_met": all(met.values()), "criterion": met, "fastest_speedups": fastest}
    notes = [
        f"{claim}, library defaults (Smith's Lyapunov backward): {verdict}; {speedups(found)}.",
        "The same from each method's fastest call of those rounds (fwd_bwd_min_s; the eigh "
        "path's LAPACK eigendecomposition is bimodal on a CPU, its time depending on which "
        "XLA thread runs it, so its median can fall in either mode): eigh "
        + ", ".join(f"{f} {t * 1e3:.1f} ms" for f, t in eigh_fastest.items())
        + "; "
        + "; ".join(
            f"{name} {found[name]['fwd_bwd_min_s'] * 1e3:.1f} ms, {ratio:.2f}x"
            for name, ratio in fastest.items()
        )
        + ".",
    ]
    for backward in _BACKWARD_VARIANTS:
        variant = {
            f"{row['function']} {row['method']}": row
            for row in rows
            if row["problem"] == problem
            and row["method"] in [_variant(method, backward) for method in _TRUNCATED]
        }
        if variant:
            met_variant = all(
                row["speedup_vs_eigh"] >= _CRITERION_SPEEDUP for row in variant.values()
            )
            data[f"criterion_met_{backward}"] = met_variant
            notes.append(
                f"The same with backward='{backward}': {'MET' if met_variant else 'NOT MET'}; "
                f"{speedups(variant)}."
            )
    forward = [
        f"{name} {row['fwd_speedup']:.2f}x" for name, row in found.items() if row["fwd_speedup"]
    ]
    if forward:
        notes.append(
            f"The forward alone at {problem}, against eigh's forward: {', '.join(forward)}; "
            "the rest of their time is the derivative (the Lyapunov solve)."
        )
    return notes, data


def run(size: str) -> dict:
    """Run the benchmark at `size` ("full" or "tiny") and return its table and notes."""
    p = SIZES[size]
    rows = [row for batch, n in p.cells for row in _matfun_cell(p, batch, n)]
    polar_rows, polar_notes = [], []
    for m, n in p.polar_shapes:
        shape_rows, note = _polar_case(p, m, n)
        polar_rows += shape_rows
        polar_notes.append(note)
    criterion_notes, criterion_data = _criterion(rows)
    skipped = ", ".join(f"b={b} n={n}" for b, n in p.skipped)
    iters = ", ".join(f"{m} {k}" for m, k in LIBRARY_DEFAULTS["iters"].items())
    degree = ", ".join(f"{m} {k}" for m, k in LIBRARY_DEFAULTS["degree"].items())
    notes = [
        "(a) fwd_bwd_s: jitted value_and_grad of sum(G * X(A)), check=True (the default), "
        "median; fwd_bwd_min_s: its fastest call; nocheck_s: the same with check=False; fwd_s: "
        "the jitted forward alone. Every timing of a cell runs in the same rounds, in a fresh "
        "random order each round. "
        "speedup_vs_eigh = eigh fwd_bwd_s / this fwd_bwd_s; fwd_speedup = reference fwd_s / "
        "this fwd_s (reference: eigh for (a), svd for (b)). fwd_err, grad_err: largest "
        "relative Frobenius error over the batch against the exact values in float64 (NumPy "
        "eigh; the gradient by the Daleckii-Krein formula).",
        f"(a) A = Q diag(lambda) Q^T, lambda log-spaced on [1/{p.kappa:g}, 1], float32 (dtype: "
        f"that of the output). Library defaults: iters {iters}, degree {degree}; the derivative "
        "by the exact eigh Lyapunov solve for eigh, by backward='smith' (Cayley transform and "
        f"at most backward_iters={LIBRARY_DEFAULTS['backward_iters']} squared Smith steps; "
        "converged steps are skipped: 3 at kappa 10) for the other methods. At the variant "
        "cells Taylor and Pade also run with backward='newton_schulz' (the paper's Lyapunov "
        "solve, converged sign steps skipped: 8 at kappa 10) and backward='autodiff'.",
        "LAPACK calls (eigh, Cholesky, Schur, SVD) run with 1 OpenBLAS thread (XLA:CPU "
        "already spreads a batch over its thread pool; nested OpenBLAS threads oversubscribe "
        "the cores); the '(default BLAS threads)' rows use OpenBLAS's default, one per core "
        "(each method's calls in a row, not interleaved), their speedup_vs_eigh against the "
        "eigh path's row with default threads.",
        "(a) jax.scipy.linalg.sqrtm: forward only (no derivative), vmapped, real part of its "
        "complex output; fwd_speedup against the eigh path's forward."
        + (f" Left out for time: {skipped}." if skipped else ""),
        f"(b) polar: spectral.polar defaults (newton_schulz, muon coefficients, {p.polar_steps} "
        "steps, Frobenius scaling) vs method='svd' (float32; the SVD takes no bfloat16); "
        "fwd_err = ||Q - U V^T||_F / ||U V^T||_F, orth_err = "
        "max_i |sigma_i(Q) - 1|; Muon's coefficients leave sigma_i(Q) in roughly [0.7, 1.2] "
        "by design, as long as sigma_min(X) / ||X||_F is not too small.",
        *polar_notes,
        *criterion_notes,
    ]
    return {
        "table": rows + polar_rows,
        "notes": notes,
        "data": {**criterion_data, "device": str(jax.devices()[0])},
    }
