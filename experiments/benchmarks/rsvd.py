r"""rsvd: randomized_svd, block_krylov_svd vs scikit-learn's randomized_svd and SciPy's svds.

Two problems, each solved by every method on the same matrix in one process:

(a) dense $8000 \times 2000$ float64, $A = U \operatorname{diag}(\sigma) V^\top$ with
    $\sigma_i = e^{-i / 100}$ (so $\sigma_{k+p} / \sigma_k = 0.9$ and power iterations
    matter) and Haar-random $U$, $V$; rank 50, oversampling 10, 4 power iterations
    (scikit-learn's `randomized_svd` with `n_oversamples=10, n_iter=4`, its default LU
    normalizer, against `spectral.randomized_svd(..., oversample=10, power_iters=4)`);
(b) sparse $200000 \times 20000$ with 0.05% nonzeros (2 million, uniform values, CSR for the
    peers and `jax.experimental.sparse.BCOO` for this library: never densified, which would
    take 32 GB), rank 20.

Reported per method: the median wall time of `repeats` calls after a warm-up call (which
compiles), the error $\|A - U \operatorname{diag}(S) V_h\|_2 / \sigma_{k+1}$ (1 is optimal;
the norm is computed matrix-free by ARPACK on the residual operator, $\sigma_{k+1}$ is exact
for (a) and from ARPACK with $k + 1$ triplets for (b)), the number of passes over $A$ and the
speed-up over scikit-learn (its time divided by ours). This library's methods are timed
first, and the peers (which use OpenBLAS) and the errors after: OpenBLAS's threads spin on
after a call and slow the XLA products that follow.

The physical limit of (a): $2q + 2 = 10$ passes, $q + 1$ products $A X$ and $q + 1$
products $A^\top Y$ with $\ell = 60$-column blocks, which no implementation of the method
avoids. The benchmark times each product alone in every form at hand (JAX on column blocks,
JAX on row-major blocks, NumPy), the JAX forms interleaved round by round with
`randomized_svd` itself so that they are measured under the same load, and the NumPy forms
in rounds of their own (OpenBLAS's threads spin on after a NumPy product and slow the XLA
product that follows), takes the fastest of each kind, and reports limit / our time; also
against the stricter $10\times$ the single fastest product.

The "equal error" rows sweep this library's cheaper settings (block Krylov depths, fewer
power iterations) and report the fastest one whose error is within 5% of scikit-learn's.

(c) the matrix of (a) at other ranks, so that the block height $\ell = k + 10$ falls on
    each side of the band $61 \le \ell \le 128$ in which XLA:CPU's YNNPACK product
    $Y^\top A$ is slow (`spectral/_products.py`): `randomized_svd` against scikit-learn at
    the same settings, and $Y^\top A$ alone in both forms (NN, which YNNPACK runs, and
    $(A^\top Y)^\top$ with a transposed left operand, which Eigen runs), with the one
    `rows_times` picks. This library's calls are all timed before scikit-learn's, and
    again with OpenBLAS limited to one thread: LAPACK calls that wake OpenBLAS's threads
    (`syevd` from $\ell = 64$ on, `gesvd` from 100, `potrf` from 128) leave them spinning
    against XLA's next product.
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import spectral
from spectral._products import materialized_transpose

from ._timing import interleaved_median_times, median_time, one_blas_thread

# Named PRNG streams (fold_in of the root key).
_STREAM_U, _STREAM_V, _STREAM_SPARSE, _STREAM_METHOD = 0, 1, 2, 3
_TOLERANCE = 0.05  # "equal error": within 5% of scikit-learn's error


@dataclasses.dataclass(frozen=True)
class _Sizes:
    m: int
    n: int
    rank: int
    decay_length: float
    sparse_m: int
    sparse_n: int
    density: float
    sparse_rank: int
    repeats: int
    sparse_repeats: int
    heights: tuple[int, ...] = ()
    oversample: int = 10
    power_iters: int = 4
    seed: int = 0


SIZES = {
    "full": _Sizes(8000, 2000, 50, 100.0, 200_000, 20_000, 5e-4, 20, 5, 3, (60, 64, 100, 128, 140)),
    "tiny": _Sizes(400, 120, 5, 3.0, 3000, 400, 5e-3, 4, 2, 1, (15, 61)),
}


def _residual_norm(A: Any, U: np.ndarray, S: np.ndarray, Vh: np.ndarray) -> float:
    r"""$\|A - U \operatorname{diag}(S) V_h\|_2$ by ARPACK on the residual operator."""
    import scipy.sparse.linalg as spla

    m, n = A.shape
    U, S, Vh = (np.asarray(x, dtype=np.float64) for x in (U, S, Vh))
    residual = spla.LinearOperator(
        (m, n),
        matvec=lambda x: A @ x.ravel() - U @ (S * (Vh @ x.ravel())),
        rmatvec=lambda y: A.T @ y.ravel() - Vh.T @ (S * (U.T @ y.ravel())),
        dtype=np.float64,
    )
    v0 = np.random.default_rng(0).standard_normal(min(m, n))
    return float(spla.svds(residual, k=1, return_singular_vectors=False, v0=v0)[0])


def _dense_problem(p: _Sizes) -> tuple[np.ndarray, np.ndarray]:
    r"""$A = U \operatorname{diag}(\sigma) V^\\top$, $\sigma_i = e^{-i/L}$, Haar U and V."""
    rng_u = np.random.default_rng([p.seed, _STREAM_U])
    rng_v = np.random.default_rng([p.seed, _STREAM_V])
    U, _ = np.linalg.qr(rng_u.standard_normal((p.m, p.n)))
    V, _ = np.linalg.qr(rng_v.standard_normal((p.n, p.n)))
    sigma = np.exp(-np.arange(p.n) / p.decay_length)
    return (U * sigma) @ V.T, sigma


def _row(problem: str, method: str, passes: int | None, seconds: float, error: float) -> dict:
    return {
        "problem": problem,
        "method": method,
        "passes": passes,
        "time_s": seconds,
        "error_vs_opt": error,
    }


def _dense_case(
    p: _Sizes, key: jax.Array, A_np: np.ndarray, sigma: np.ndarray
) -> tuple[list[dict], list[str], dict]:
    from sklearn.utils.extmath import randomized_svd as sklearn_randomized_svd

    A = jnp.asarray(A_np)
    k, ell, q = p.rank, p.rank + p.oversample, p.power_iters
    opt = sigma[k]
    # This library's methods are timed first, the NumPy/SciPy work after (scikit-learn, SciPy,
    # the ARPACK residuals): OpenBLAS's threads spin on after a call and slow XLA's next
    # products (see the product timings below), which would bias the comparison against us.
    timed: list[tuple[str, int | None, float, Any]] = []  # (method, passes, seconds, output)

    def record(method, passes, fn):
        seconds, out = median_time(fn, p.repeats)
        timed.append((method, passes, seconds, out))
        return len(timed) - 1

    ours = record(
        f"spectral.randomized_svd (q={q})",
        2 * q + 2,
        lambda: spectral.randomized_svd(key, A, k, oversample=p.oversample, power_iters=q),
    )
    candidates = []  # (index in `timed`, label)
    for depth in (1, 2, 3):
        if k * (depth + 1) <= min(p.m, p.n):
            index = record(
                f"spectral.block_krylov_svd (depth={depth}, b={k})",
                2 * depth + 2,
                lambda depth=depth: spectral.block_krylov_svd(key, A, k, depth=depth),
            )
            candidates.append((index, f"block_krylov_svd depth={depth}"))
    for fewer in range(1, q):
        index = record(
            f"spectral.randomized_svd (q={fewer})",
            2 * fewer + 2,
            lambda fewer=fewer: spectral.randomized_svd(
                key, A, k, oversample=p.oversample, power_iters=fewer
            ),
        )
        candidates.append((index, f"randomized_svd q={fewer}"))

    # The unavoidable work: q + 1 products A X and q + 1 products A^T Y with ell-column
    # blocks. Each is timed in every form available here (JAX on column blocks, JAX on
    # row-major blocks as this library stores them, NumPy/OpenBLAS); the fastest counts.
    # The JAX forms are timed interleaved with randomized_svd itself (round by round), so
    # that the fraction of the limit compares times taken under the same load. The NumPy
    # forms run in rounds of their own, after: OpenBLAS's threads, woken by a NumPy product,
    # spin on after it and take a core from the XLA product that follows (a JAX Y^T A took
    # 49-61 ms right after a NumPy product against 31-33 ms alone).
    rng = np.random.default_rng(1)
    X_np = rng.standard_normal((p.n, ell))
    Y_np = rng.standard_normal((p.m, ell))
    Xt_np, Yt_np = np.ascontiguousarray(X_np.T), np.ascontiguousarray(Y_np.T)
    X, Y, Xt, Yt = (jnp.asarray(x) for x in (X_np, Y_np, Xt_np, Yt_np))
    interleaved = interleaved_median_times(
        {
            "ours": lambda: spectral.randomized_svd(
                key, A, k, oversample=p.oversample, power_iters=q
            ),
            "A@X jax": lambda: _matmul(A, X),
            "Xt@A.T jax": lambda: _matmul_rows_t(Xt, A),
            "A.T@Y jax": lambda: _rmatmul(A, Y),
            "Yt@A jax": lambda: _matmul_rows(Yt, A),
        },
        2 * p.repeats,
    )
    # The peers, and the NumPy product forms.
    sklearn = record(
        f"sklearn randomized_svd (q={q}, LU)",
        2 * q + 2,
        lambda: sklearn_randomized_svd(
            A_np, k, n_oversamples=p.oversample, n_iter=q, random_state=0
        ),
    )
    import scipy.sparse.linalg as spla

    v0 = np.random.default_rng(0).standard_normal(min(p.m, p.n))
    record("scipy svds (ARPACK)", None, lambda: spla.svds(A_np, k=k, v0=v0))
    interleaved |= interleaved_median_times(
        {
            "A@X numpy": lambda: A_np @ X_np,
            "A.T@Y numpy": lambda: A_np.T @ Y_np,
            "Yt@A numpy": lambda: Yt_np @ A_np,
        },
        2 * p.repeats,
    )
    # The errors, and the table with scikit-learn's row first.
    errors = [_residual_norm(A_np, *out) / opt for _, _, _, out in timed]
    order = [sklearn] + [i for i in range(len(timed)) if i != sklearn]
    rows = [_row("a: dense", *timed[i][:3], errors[i]) for i in order]
    t_sk, e_sk = timed[sklearn][2], errors[sklearn]
    t_ours, e_ours = timed[ours][2], errors[ours]
    candidates = [(timed[i][2], errors[i], label) for i, label in candidates]
    t_ours_interleaved = interleaved.pop("ours")
    t_products = interleaved
    t_ax = min(v for name, v in t_products.items() if "X" in name)
    t_aty = min(v for name, v in t_products.items() if "Y" in name)
    limit = (q + 1) * (t_ax + t_aty)
    strict_limit = (2 * q + 2) * min(t_ax, t_aty)

    for row in rows:
        row["speedup_vs_sklearn"] = t_sk / row["time_s"]
    equal = [c for c in candidates if c[1] <= e_sk * (1 + _TOLERANCE)]
    best = min(equal, default=None)
    products = ", ".join(f"{name} {seconds * 1e3:.1f}" for name, seconds in t_products.items())
    notes = [
        f"(a) one product with an {ell}-column block, ms: {products}.",
        f"(a) physical limit = {q + 1} x (fastest A X + fastest A^T Y) = {limit * 1e3:.0f} ms; "
        f"spectral.randomized_svd ({t_ours_interleaved * 1e3:.0f} ms, timed interleaved with "
        f"the products) reaches {limit / t_ours_interleaved:.0%} of it (of {2 * q + 2} x the "
        f"single fastest product, {strict_limit * 1e3:.0f} ms: "
        f"{strict_limit / t_ours_interleaved:.0%}).",
        f"(a) same settings: spectral.randomized_svd is {t_sk / t_ours:.2f}x scikit-learn "
        f"at error {e_ours:.4f} vs {e_sk:.4f} (ratio {e_ours / e_sk:.3f}).",
    ]
    if best is not None:
        notes.append(
            f"(a) equal error (within {_TOLERANCE:.0%} of scikit-learn's {e_sk:.4f}): fastest "
            f"here is {best[2]} at {best[1]:.4f}, {t_sk / best[0]:.2f}x scikit-learn."
        )
    data = {
        "dense": {
            "t_product_ms": {name: v * 1e3 for name, v in t_products.items()},
            "limit_s": limit,
            "strict_limit_s": strict_limit,
            "t_ours_interleaved_s": t_ours_interleaved,
            "fraction_of_strict_limit": strict_limit / t_ours_interleaved,
            "fraction_of_limit": limit / t_ours_interleaved,
            "speedup_same_settings": t_sk / t_ours,
            "error_ratio_same_settings": e_ours / e_sk,
            "speedup_equal_error": None if best is None else t_sk / best[0],
            "equal_error_method": None if best is None else best[2],
        }
    }
    return rows, notes, data


@jax.jit
def _matmul(A: jax.Array, X: jax.Array) -> jax.Array:
    return A @ X


@jax.jit
def _rmatmul(A: jax.Array, Y: jax.Array) -> jax.Array:
    return A.T @ Y


@jax.jit
def _matmul_rows(Yt: jax.Array, A: jax.Array) -> jax.Array:
    return Yt @ A


@jax.jit
def _matmul_rows_t(Xt: jax.Array, A: jax.Array) -> jax.Array:
    return Xt @ A.T


@jax.jit
def _rmatmul_rows(Yt: jax.Array, A: jax.Array) -> jax.Array:
    """Y^T A as (A^T Y)^T, with A the transposed left operand (XLA:CPU runs it by Eigen)."""
    return materialized_transpose(A.T @ materialized_transpose(Yt))


def _height_case(
    p: _Sizes, key: jax.Array, A_np: np.ndarray, sigma: np.ndarray
) -> tuple[list[dict], list[str], dict]:
    from sklearn.utils.extmath import randomized_svd as sklearn_randomized_svd

    from spectral._products import SLOW_NN_HEIGHTS

    A = jnp.asarray(A_np)
    q = p.power_iters
    heights = [h for h in p.heights if h - p.oversample >= 1 and h <= min(p.m, p.n)]
    rng = np.random.default_rng(2)
    ours, ours_one_thread, products = {}, {}, {}
    # This library first, for every height (see _dense_case on OpenBLAS's threads).
    for ell in heights:
        k = ell - p.oversample

        def call(k=k):
            return spectral.randomized_svd(key, A, k, oversample=p.oversample, power_iters=q)

        ours[ell] = median_time(call, p.repeats)
        with one_blas_thread():
            ours_one_thread[ell] = median_time(call, p.repeats)[0]
        Yt = jnp.asarray(rng.standard_normal((ell, p.m)))
        products[ell] = interleaved_median_times(
            {"NN": lambda Yt=Yt: _matmul_rows(Yt, A), "left-T": lambda Yt=Yt: _rmatmul_rows(Yt, A)},
            p.repeats,
        )
    peers = {
        ell: median_time(
            lambda k=ell - p.oversample: sklearn_randomized_svd(
                A_np, k, n_oversamples=p.oversample, n_iter=q, random_state=0
            ),
            p.repeats,
        )
        for ell in heights
    }
    rows, notes, data = [], [], {}
    for ell in heights:
        k = ell - p.oversample
        (t_ours, out_ours), (t_sk, out_sk) = ours[ell], peers[ell]
        opt = sigma[k]
        pair = [
            _row(
                "c: heights",
                f"spectral.randomized_svd (k={k}, l={ell})",
                2 * q + 2,
                t_ours,
                _residual_norm(A_np, *out_ours) / opt,
            ),
            _row(
                "c: heights",
                f"sklearn randomized_svd (k={k})",
                2 * q + 2,
                t_sk,
                _residual_norm(A_np, *out_sk) / opt,
            ),
        ]
        for row in pair:
            row["speedup_vs_sklearn"] = t_sk / row["time_s"]
        rows += pair
        t = products[ell]
        used = "left-T" if ell in SLOW_NN_HEIGHTS else "NN"
        notes.append(
            f"(c) l={ell}: Y^T A as NN (YNNPACK) {t['NN'] * 1e3:.1f} ms, as (A^T Y)^T (Eigen) "
            f"{t['left-T'] * 1e3:.1f} ms; this library uses {used}; randomized_svd "
            f"{t_sk / t_ours:.2f}x scikit-learn ({ours_one_thread[ell] * 1e3:.0f} ms instead of "
            f"{t_ours * 1e3:.0f} with OpenBLAS on one thread)."
        )
        data[str(ell)] = {
            "t_ours_s": t_ours,
            "t_ours_one_blas_thread_s": ours_one_thread[ell],
            "t_sklearn_s": t_sk,
            "t_product_ms": {name: v * 1e3 for name, v in t.items()},
            "form_used": used,
        }
    return rows, notes, {"heights": data}


def _sparse_case(p: _Sizes, key: jax.Array) -> tuple[list[dict], list[str], dict]:
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla
    from jax.experimental import sparse as jsparse
    from sklearn.utils.extmath import randomized_svd as sklearn_randomized_svd

    rng = np.random.default_rng([p.seed, _STREAM_SPARSE])
    A_csr = sp.random(p.sparse_m, p.sparse_n, density=p.density, format="csr", rng=rng)
    A = jsparse.BCOO.from_scipy_sparse(A_csr)
    k, q = p.sparse_rank, p.power_iters
    v0 = np.random.default_rng(0).standard_normal(min(A_csr.shape))
    sigma = np.sort(spla.svds(A_csr, k=k + 1, return_singular_vectors=False, v0=v0))[::-1]
    opt = sigma[k]
    rows: list[dict] = []

    def record(method, passes, fn):
        seconds, (U, S, Vh) = median_time(fn, p.sparse_repeats)
        rows.append(
            _row("b: sparse", method, passes, seconds, _residual_norm(A_csr, U, S, Vh) / opt)
        )

    record(
        f"sklearn randomized_svd (q={q}, LU)",
        2 * q + 2,
        lambda: sklearn_randomized_svd(
            A_csr, k, n_oversamples=p.oversample, n_iter=q, random_state=0
        ),
    )
    record(
        f"spectral.randomized_svd (q={q}, BCOO)",
        2 * q + 2,
        lambda: spectral.randomized_svd(key, A, k, oversample=p.oversample, power_iters=q),
    )
    record(
        "spectral.block_krylov_svd (depth=2, BCOO)",
        6,
        lambda: spectral.block_krylov_svd(key, A, k, depth=2),
    )
    record("scipy svds (ARPACK)", None, lambda: spla.svds(A_csr, k=k, v0=v0))
    t_sk = rows[0]["time_s"]
    for row in rows:
        row["speedup_vs_sklearn"] = t_sk / row["time_s"]
    notes = [
        f"(b) {A_csr.nnz} nonzeros; this library multiplies by the BCOO matrix directly "
        f"(a dense copy would take {p.sparse_m * p.sparse_n * 8 / 2**30:.0f} GiB).",
    ]
    return rows, notes, {"sparse": {"nnz": int(A_csr.nnz), "sigma_k+1": float(opt)}}


def run(size: str) -> dict:
    """Run the benchmark at `size` ("full" or "tiny") and return its table and notes."""
    p = SIZES[size]
    key = jax.random.fold_in(jax.random.key(p.seed), _STREAM_METHOD)
    A_np, sigma = _dense_problem(p)  # (a) and (c) share the matrix
    dense_rows, dense_notes, dense_data = _dense_case(p, key, A_np, sigma)
    height_rows, height_notes, height_data = _height_case(p, key, A_np, sigma)
    sparse_rows, sparse_notes, sparse_data = _sparse_case(p, key)
    notes = [
        "error_vs_opt = ||A - U S Vh||_2 / sigma_{k+1} (1 is optimal); passes = products "
        "with A or A.T; speedup_vs_sklearn = sklearn time / this time.",
        *dense_notes,
        *height_notes,
        *sparse_notes,
    ]
    return {
        "table": dense_rows + height_rows + sparse_rows,
        "notes": notes,
        "data": {**dense_data, **height_data, **sparse_data, "device": str(jax.devices()[0])},
    }
