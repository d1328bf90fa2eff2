r"""svd_update: sparse factored SVD update (Deng et al. 2024) vs Zha-Simon, GKL, RPI, recomputing.

A sparse matrix $A \in \mathbb{R}^{m \times n_0}$ (density $\rho$, values uniform in
$[0, 1)$, as `scipy.sparse.rand` draws them) has a tracked rank-$k$ SVD (from
`spectral.randomized_svd`, not timed). $s$ sparse columns $E$ of the same density are
appended, and the rank-$k$ SVD of $M = [A,\ E]$ is obtained by

- ``sparse``: `spectral.updating.sparse_svd_update` on a `FactoredSVD`
  ($U = U_0 M_u$, $V = V_0 M_v$), jitted with the state donated so that the rows of $U_0$
  that $E$ touches are written in place (`eqx.filter_jit(..., donate="all")`; a fresh copy
  of the state is made before each timed call, untimed); ``sparse (no donation)`` is the
  same call without donation, which copies the $m \times k$ factor;
- ``zha-simon``: `svd_update(..., method="zha-simon")` on the dense $E$ (Householder QR of
  the $m \times s$ residual), where the dense residual fits the budget;
- ``gkl`` and ``rpi``: `svd_update` with a Golub–Kahan–Lanczos or randomized power
  iteration basis of $\ell = \min(s, k + 10)$ vectors (the defaults; $q = 2$), $E$ kept
  as BCOO, where their $O(m\,\ell\,(k + \ell))$ memory traffic per step fits the budget;
- ``recompute``: `spectral.randomized_svd(key, M, k)` on the BCOO matrix $M$ (library
  defaults: oversampling 10, 2 power iterations).

Reported per method: the median wall time over `repeats` calls after a compiling warm-up
call (`time_s`); the relative residual $\|M - U \operatorname{diag}(S) V_h\|_F / \|M\|_F$,
computed without densifying $M$ as $\|M\|_F^2 - 2 \sum_i S_i\, u_i^\top M v_i +
\operatorname{tr}(S\,U^\top U\,S\,V_h V_h^\top)$ ($O(\mathrm{nnz}(M)\,k + (m + n) k^2)$,
valid for non-orthonormal factors too); its ratio to the recomputed SVD's residual
(`res_vs_recompute`); and the speed-ups over recomputing and over Zha–Simon. For the
sparse rows, `flushes` counts updates that folded the small factors into $U_0$, $V_0$
(an $O((m + n) k^2)$ rotation) and the notes give the time of `to_svd()`, the
$O((m + n) k^2)$ conversion a caller pays to get $U$ and $V_h$ explicitly.

The issue's criterion, evaluated in the notes at the largest height: the sparse update at
least 10x faster than recomputing and than Zha–Simon, at a residual within 1% of theirs.
LAPACK (OpenBLAS) runs on one thread: on a busy 2-core machine its spinning threads made a
1000 x 500 QR 180x slower.
"""

import dataclasses
import statistics
import time
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import spectral
from spectral.updating import factored_svd, sparse_svd_update, svd_update

from ._timing import one_blas_thread

_STREAM_A, _STREAM_E = 0, 1  # NumPy streams default_rng([seed, stream, ...])
_TOLERANCE = 0.01  # "equal residual": within 1%
_TARGET_SPEEDUP = 10.0


@dataclasses.dataclass(frozen=True)
class _Sizes:
    heights: tuple[int, ...]
    widths: tuple[int, ...]
    initial_cols: int
    rank: int
    density: float
    repeats: tuple[int, ...]  # timed calls per height
    dense_entries: float  # zha-simon only where the dense m x s residual has at most this many
    dense_flops: float  # ... and its QR costs at most this many flops (2 m s^2)
    krylov_traffic: float  # gkl/rpi only where m * l * (k + l) is at most this
    seed: int = 0


SIZES = {
    "full": _Sizes(
        heights=(10_000, 100_000, 1_000_000),
        widths=(10, 100, 1000),
        initial_cols=1000,
        rank=64,
        density=1e-4,
        repeats=(3, 2, 1),
        dense_entries=2e8,  # 1.6 GB of float64
        dense_flops=3e10,  # ~20 s for the QR on one thread
        krylov_traffic=2e9,  # ~5 s per call; 1e6 x 74 x 138 measured 30-60 s
    ),
    "tiny": _Sizes(
        heights=(3000,),
        widths=(20,),
        initial_cols=200,
        rank=8,
        density=5e-3,
        repeats=(1,),
        dense_entries=1e9,
        dense_flops=1e12,
        krylov_traffic=1e12,
    ),
}


def _bcoo(X: Any) -> Any:
    from jax.experimental import sparse as jsparse

    coo = X.tocoo()
    indices = np.stack([coo.row, coo.col], 1).astype(np.int32)
    return jsparse.BCOO((jnp.asarray(coo.data), jnp.asarray(indices)), shape=coo.shape)


def _median_time(fn, repeats: int, prepare=None) -> tuple[float, Any]:
    """Median wall time of `fn(*prepare())` after a warm-up call; `prepare` is untimed."""
    prepare = prepare or tuple
    out = jax.block_until_ready(fn(*prepare()))
    times = []
    for _ in range(repeats):
        args = jax.block_until_ready(prepare())
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _relative_residual(M: Any, norm: float, U: Any, S: Any, Vh: Any) -> float:
    r"""$\|M - U \operatorname{diag}(S) V_h\|_F / \|M\|_F$ for a SciPy sparse $M$, exactly."""
    coo = M.tocoo()
    U, S, Vh = (np.asarray(x, np.float64) for x in (U, S, Vh))
    cross = float(np.sum(coo.data * np.einsum("ij,ij->i", U[coo.row] * S, Vh[:, coo.col].T)))
    gram = float(np.sum((U.T @ U) * (S[:, None] * (Vh @ Vh.T) * S[None, :])))
    return float(np.sqrt(max(norm**2 - 2 * cross + gram, 0.0)) / norm)


def _case(
    p: _Sizes, m: int, s: int, repeats: int, A: Any, svd: Any, key: jax.Array
) -> tuple[list, dict]:
    import scipy.sparse as sp

    rng = np.random.default_rng([p.seed, _STREAM_E, m, s])
    E = sp.random(m, s, density=p.density, format="csr", random_state=rng)
    M = sp.hstack([A, E]).tocsr()
    norm = float(np.sqrt(np.sum(M.data**2)))
    E_bcoo, M_bcoo = _bcoo(E), _bcoo(M)
    k, n0 = p.rank, A.shape[1]
    base = {"m": m, "s": s, "nnz_update": int(E.nnz)}
    rows, extra = [], {}

    def record(method, seconds, result, flushes=None):
        rows.append(
            {
                **base,
                "method": method,
                "time_s": seconds,
                "rel_residual": _relative_residual(M, norm, *result),
                "flushes": flushes,
            }
        )

    state = factored_svd(svd, col_capacity=n0 + s)
    donated = eqx.filter_jit(sparse_svd_update, donate="all")

    def fresh_state():
        return (jax.tree.map(jnp.copy, state), E_bcoo)

    seconds, new_state = _median_time(donated, repeats, fresh_state)
    extra["to_svd_s"], result = _median_time(lambda: new_state.to_svd((m, n0 + s)), 1)
    record("sparse", seconds, result, int(new_state.num_flushes))
    seconds, _ = _median_time(lambda: sparse_svd_update(state, E_bcoo), repeats)
    record("sparse (no donation)", seconds, result, int(new_state.num_flushes))

    if m * s <= p.dense_entries and 2 * m * s * s <= p.dense_flops:
        E_dense = jnp.asarray(E.toarray())
        seconds, result = _median_time(lambda: svd_update(svd, E_dense), repeats)
        record("zha-simon", seconds, result)
        del E_dense
    ell = min(s, k + 10)
    if m * ell * (k + ell) <= p.krylov_traffic:
        for method in ("gkl", "rpi"):
            seconds, result = _median_time(
                lambda method=method: svd_update(svd, E_bcoo, method=method, key=key), repeats
            )
            record(method, seconds, result)
    seconds, result = _median_time(lambda: spectral.randomized_svd(key, M_bcoo, k), repeats)
    record("recompute (randomized_svd)", seconds, result)

    recompute = rows[-1]
    zha_simon = next((row for row in rows if row["method"] == "zha-simon"), None)
    for row in rows:
        row["res_vs_recompute"] = row["rel_residual"] / recompute["rel_residual"]
        row["speedup_vs_recompute"] = recompute["time_s"] / row["time_s"]
        row["speedup_vs_zha_simon"] = (
            None if zha_simon is None else zha_simon["time_s"] / row["time_s"]
        )
    return rows, extra


def run(size: str) -> dict:
    """Run the benchmark at `size` ("full" or "tiny") and return its table and notes."""
    import scipy.sparse as sp

    p = SIZES[size]
    key = jax.random.key(p.seed)
    table, data = [], {"to_svd_s": {}, "init_s": {}}
    with one_blas_thread():
        for m, repeats in zip(p.heights, p.repeats, strict=True):
            rng = np.random.default_rng([p.seed, _STREAM_A, m])
            A = sp.random(m, p.initial_cols, density=p.density, format="csr", random_state=rng)
            start = time.perf_counter()
            svd = jax.block_until_ready(spectral.randomized_svd(key, _bcoo(A), p.rank))
            data["init_s"][str(m)] = time.perf_counter() - start
            for s in p.widths:
                rows, extra = _case(p, m, s, repeats, A, svd, key)
                table.extend(rows)
                data["to_svd_s"][f"{m}/{s}"] = extra["to_svd_s"]
    verdicts = _criterion(p, table)
    data["criterion"] = verdicts
    data["device"] = str(jax.devices()[0])
    return {"table": table, "notes": _notes(p, table, data, verdicts), "data": data}


def _criterion(p: _Sizes, table: list[dict]) -> list[dict]:
    """At the largest height, per width: sparse >= 10x faster at a residual within 1%."""
    m = max(p.heights)
    verdicts = []
    for s in p.widths:
        rows = {row["method"]: row for row in table if row["m"] == m and row["s"] == s}
        sparse = rows["sparse"]
        zha_simon = rows.get("zha-simon")
        verdict = {
            "m": m,
            "s": s,
            "vs_recompute": sparse["speedup_vs_recompute"],
            "res_vs_recompute": sparse["res_vs_recompute"],
            "vs_zha_simon": None if zha_simon is None else sparse["speedup_vs_zha_simon"],
            "res_vs_zha_simon": (
                None if zha_simon is None else sparse["rel_residual"] / zha_simon["rel_residual"]
            ),
        }
        met = verdict["vs_recompute"] >= _TARGET_SPEEDUP and verdict["res_vs_recompute"] <= (
            1 + _TOLERANCE
        )
        if zha_simon is not None:
            met = met and verdict["vs_zha_simon"] >= _TARGET_SPEEDUP
            met = met and abs(verdict["res_vs_zha_simon"] - 1) <= _TOLERANCE
        verdict["met"] = met
        verdicts.append(verdict)
    return verdicts


def _notes(p: _Sizes, table: list[dict], data: dict, verdicts: list[dict]) -> list[str]:
    notes = [
        f"A: m x {p.initial_cols} sparse, density {p.density}, values uniform in [0, 1); E: "
        f"m x s, same density; rank k = {p.rank}; float64; median of {p.repeats} timed calls "
        f"(per height {p.heights}) after a warm-up; one BLAS thread; device "
        + data["device"]
        + ".",
        "rel_residual = ||M - U S Vh||_F / ||M||_F for M = [A, E]; res_vs_recompute = its "
        "ratio to the recomputed SVD's. The updates track the rank-k SVD of [A_k, E]: the "
        "part of A beyond rank k is gone, so their residual can exceed a fresh SVD's; "
        "randomized_svd's own error is the other side of the comparison.",
        "to_svd() (U = U0 Mu, V = V0 Mv, O((m + n) k^2)), s: "
        + ", ".join(f"{key} {value:.3g}" for key, value in data["to_svd_s"].items())
        + "; initial randomized_svd of A (untimed), s: "
        + ", ".join(f"m={key} {value:.3g}" for key, value in data["init_s"].items())
        + ".",
    ]
    skipped = sorted(
        {(row["m"], row["s"]) for row in table}
        - {(row["m"], row["s"]) for row in table if row["method"] == "zha-simon"}
    )
    if skipped:
        notes.append(
            "zha-simon skipped (dense m x s residual over the memory/time budget) at (m, s) = "
            + ", ".join(map(str, skipped))
            + "."
        )
    skipped = sorted(
        {(row["m"], row["s"]) for row in table}
        - {(row["m"], row["s"]) for row in table if row["method"] == "gkl"}
    )
    if skipped:
        notes.append(
            "gkl and rpi skipped (m l (k + l) over the budget: tens of seconds per call) at "
            "(m, s) = " + ", ".join(map(str, skipped)) + "."
        )
    notes.append(
        "The sparse update's own cost is the O((k + s)^3) core (an eigendecomposition of the "
        "s x s Gram matrix and an SVD of the (k + s)^2 core, LAPACK on one thread here), "
        "plus an O(m k^2) flush when new directions replace tracked ones: at s = 1000 these, "
        "not m, set its time."
    )
    for v in verdicts:
        zs = (
            "Zha-Simon not run"
            if v["vs_zha_simon"] is None
            else f"{v['vs_zha_simon']:.1f}x faster than Zha-Simon at {v['res_vs_zha_simon']:.4f} "
            "x its residual"
        )
        notes.append(
            f"Criterion at m = {v['m']}, s = {v['s']}: sparse {v['vs_recompute']:.1f}x faster "
            f"than recomputing at {v['res_vs_recompute']:.4f} x its residual; {zs} -> "
            f"{'met' if v['met'] else 'NOT met'} (>= {_TARGET_SPEEDUP:.0f}x, residual "
            f"within {_TOLERANCE:.0%})."
        )
    return notes
