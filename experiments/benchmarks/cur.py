r"""cur: DEIM, Q-DEIM and leverage CUR and the column ID vs scipy.linalg.interpolative, rank k.

One dense float64 matrix, $20000 \times 5000$ at full size, every method at the same rank
$k = 100$ in one process:

$$A = U \operatorname{diag}(\sigma) V^\top, \qquad \sigma_i = e^{-i / L} + \sigma_{\text{floor}}
\quad (i = 0, \dots, n - 1),$$

with $L = 25$ and the noise floor $\sigma_{\text{floor}} = 10^{-3}$ (so
$\sigma_{k} / \sigma_{\text{floor}} \approx 19$ and the decay and the floor carry about
equal parts of the tail energy beyond $k$). $U$ ($m \times n$) is Haar-like: the Q factor
of a Gaussian matrix by Cholesky QR (one Gram product and one triangular solve, half the
flops of Householder QR; for a Gaussian $m \times n$ with $m = 4n$ the condition number is
about $(\sqrt m + \sqrt n) / (\sqrt m - \sqrt n) = 3$, so $U$ is orthonormal to
$\approx \kappa^2 \epsilon = 10^{-15}$). $V$ ($n \times n$, Householder QR) is the Q
factor of $\operatorname{diag}(d)\, G$ with $G$ Gaussian and log-normal column weights
$d_j = e^{z_j}$, $z_j \sim N(0, 1)$: the top-$k$ right singular vectors are *coherent*
(column leverage scores up to ~40 times their mean $k / n$), so uniform column sampling
misses columns that matter while leverage, DEIM and pivoted QR find them. Building $A$
(the Gram matrix, the triangular solve, the product: ~$4mn^2$ flops, ~30 s on a 2-core CPU
at full size) is not timed.

Rows (``spectral`` unless marked ``scipy``):

- `spectral.cur` with ``method="deim"`` (the DEIM-CUR of Sorensen & Embree 2016) with the
  best core $U = C^+ A R^+$ (``core="pinv"``) and the cross core
  $U = W^+$, $W = A[\text{rows}, \text{cols}]$ (no bound is reported for it: $W^+$ can
  amplify the tail far beyond the pinv core's), ``"qdeim"``, ``"leverage"`` with
  $c = r = k$ and oversampled $c = r = 2k$ (a rank-$2k$ approximation, so its ratio can
  fall below 1),
  and ``"uniform"`` ($c = r = k$, the baseline that coherence defeats; it needs no basis,
  and under `jax.jit` the unused one is never computed); all with
  ``basis="randomized"`` (`randomized_svd`, oversampling 10, 2 power iterations: 6 passes
  over $A$; the pinv core adds one more). The exact basis (`jnp.linalg.svd` of $A$,
  $O(mn^2)$, minutes on a 2-core CPU at full size) and ``"volume"`` (volume sampling of
  Deshpande et al. 2006, $c = r = k$: exact $k$-DPPs from the SVDs of $A$ and $A^\top$) are
  timed only where `exact_basis` is set (the tiny size);
- `spectral.interpolative` (column ID $A \approx A[:, J] X$, $X = A[:, J]^+ A$, $J$ from
  Q-DEIM on the randomized basis);
- the peer `scipy.linalg.interpolative.interp_decomp(A, k)`, the column ID of the ID
  package (Martinsson, Rokhlin, Shkolnisky & Tygert), reconstructed as
  $A[:, \text{idx}_{:k}] P$ with $P$ = `reconstruct_interp_matrix(idx, proj)`. Its default
  ``rand=True`` on an ndarray is documented as randomized, but in SciPy 1.17 the randomized
  branch (`iddr_aid`) always falls back to the deterministic pivoted Householder QR
  (`iddr_id`: $k$ level-2 steps over $A$); the benchmark checks which one the installed
  SciPy runs (same indices for ``rand=False`` and two seeds of ``rand=True`` on a
  Gaussian $200 \times 100$), labels the row accordingly and, when they differ, adds a
  ``rand=False`` row;
- `interp_decomp(aslinearoperator(A), k)`, SciPy's randomized ID (`iddr_rid`: $k + 2$
  products $A^\top x$ with uniform random vectors, one vector at a time, then the pivoted
  QR of that $(k + 2) \times n$ sketch, whose coefficients are also the ID's).

Reported per row: the median wall time of `repeats` calls after a warm-up call (which
compiles; `jax.block_until_ready`); `error_ratio` $= \lVert A - \tilde A\rVert_F /
\lVert A - A_k\rVert_F$ with $\lVert A - A_k\rVert_F = (\sum_{i \ge k} \sigma_i^2)^{1/2}$
exact from the known spectrum (1 is optimal among rank-$k$ approximations; $\tilde A$ is
$CUR$ or the ID, and the residual is accumulated over blocks of rows so that it never
holds more than one block of $A - \tilde A$); `bound`, the a-priori bound on that ratio
for the indices the method chose: $\eta_q + \eta_p$ for CUR with the pinv core and
$\eta_q$ for a column ID whose coefficients are the least-squares ones (this library's, and
SciPy's pivoted QR), with $\eta_q = \lVert V_k[J, :]^+\rVert_2$ and
$\eta_p = \lVert U_k[I, :]^+\rVert_2$ from the *exact* singular vectors of the construction
(Sorensen & Embree 2016, Thm. 4.1, whose proof holds in the Frobenius norm and for any
index sets of size $\ge k$ on which $V_k$, $U_k$ have full rank); `passes` over $A$; and
the speed-up over SciPy's default `interp_decomp(A, k)` (its time divided by the row's).

The physical limit of the randomized-basis CUR: 7 passes over $A$ (6 products with an
$\ell = k + 10$-column block for the basis, one with the $k$ rows of $C^+$ for the core),
timed alone in the forms at hand (JAX with the block as rows, $\Omega^\top A^\top$ and
$Y^\top A$, as this library stores blocks; NumPy $A \Omega$); 7 times the fastest is the
limit, reported as limit / time, and also against 7 times the fastest JAX product (the
products this library's methods actually run).

Threads: the JAX products run on XLA's own thread pool. The LAPACK calls inside this
library's methods (the small SVDs and QRs, the pseudo-inverses, the exact SVD) run with one
OpenBLAS thread, as in `bench matfun`: with OpenBLAS's default (one thread per core) they
compete with XLA's pool, and on the loaded 2-core development machine the tiny exact-basis
DEIM-CUR took 2.2 s instead of 5 ms, a $6000 \times 1500$ SVD 22.7 s instead of 4.9 s. SciPy
runs with OpenBLAS's default threads, as installed (its level-2 updates and products are the
ones that could use them).
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import spectral

from ._timing import median_time, one_blas_thread

# Named PRNG streams (numpy seed sequences [seed, stream]; fold_in for JAX keys).
_STREAM_U, _STREAM_V, _STREAM_WEIGHTS, _STREAM_METHOD, _STREAM_SCIPY, _STREAM_BLOCK = range(6)
_OVERSAMPLE, _POWER_ITERS = 10, 2  # what spectral.cur / interpolative use for the basis
_BLOCK_ROWS = 2048  # rows of A - approx held at once by the error computation


@dataclasses.dataclass(frozen=True)
class _Sizes:
    m: int
    n: int
    rank: int
    decay_length: float
    repeats: int  # timed calls after the warm-up, JAX methods
    peer_repeats: int  # timed calls after the warm-up, SciPy (no compilation to warm up)
    exact_basis: bool  # also time basis="exact" (a full SVD of A)
    floor: float = 1e-3
    coherence: float = 1.0  # standard deviation of log d_j, the column weights of V
    seed: int = 0


SIZES = {
    "full": _Sizes(20_000, 5_000, 100, 25.0, repeats=3, peer_repeats=1, exact_basis=False),
    "tiny": _Sizes(400, 120, 8, 2.0, repeats=1, peer_repeats=1, exact_basis=True),
}


def _problem(p: _Sizes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""$A = U \operatorname{diag}(\sigma) V^\top$, $\sigma$, $U_k$, $V_k$ (module docstring)."""
    from scipy.linalg import blas

    rng_u = np.random.default_rng([p.seed, _STREAM_U])
    rng_v = np.random.default_rng([p.seed, _STREAM_V])
    rng_d = np.random.default_rng([p.seed, _STREAM_WEIGHTS])
    sigma = np.exp(-np.arange(p.n) / p.decay_length) + p.floor
    # U = X R^{-1} with R^T R = X^T X (Cholesky QR), solved in place: X.T is the
    # Fortran-ordered n x m array R^{-T} overwrites.
    X = rng_u.standard_normal((p.m, p.n))
    R = np.linalg.cholesky(X.T @ X).T
    U = blas.dtrsm(1.0, R, X.T, side=0, lower=0, trans_a=1, overwrite_b=1).T
    del X, R
    d = np.exp(p.coherence * rng_d.standard_normal(p.n))
    V, _ = np.linalg.qr(d[:, None] * rng_v.standard_normal((p.n, p.n)))
    U_k = U[:, : p.rank].copy()
    U *= sigma
    A = U @ V.T
    return A, sigma, U_k, np.ascontiguousarray(V[:, : p.rank])


def _residual_norm(A: np.ndarray, L: np.ndarray, Rt: np.ndarray) -> float:
    r"""$\lVert A - L R_t\rVert_F$, one block of rows at a time."""
    total = 0.0
    for start in range(0, A.shape[0], _BLOCK_ROWS):
        block = A[start : start + _BLOCK_ROWS] - L[start : start + _BLOCK_ROWS] @ Rt
        total += float(np.einsum("ij,ij->", block, block))
    return float(np.sqrt(total))


def _eta(basis: np.ndarray, idx: Any) -> float:
    r"""$\lVert B[\text{idx}, :]^+\rVert_2 = 1 / \sigma_{\min}(B[\text{idx}, :])$."""
    s = np.linalg.svd(basis[np.asarray(idx)], compute_uv=False)
    return float(1.0 / s[-1])


def _scipy_rand_falls_back() -> bool:
    """Whether `interp_decomp(ndarray, k)` ignores `rand=True` (deterministic pivoted QR)."""
    import scipy.linalg.interpolative as sli

    G = np.random.default_rng(0).standard_normal((200, 100))
    det = sli.interp_decomp(G, 10, rand=False)[0]
    return all(
        np.array_equal(sli.interp_decomp(G, 10, rand=True, rng=seed)[0], det) for seed in (1, 2)
    )


@jax.jit
def _rows_times(Yt: jax.Array, A: jax.Array) -> jax.Array:
    return Yt @ A


@jax.jit
def _rows_times_transpose(Xt: jax.Array, A: jax.Array) -> jax.Array:
    return Xt @ A.T


def run(size: str) -> dict:
    """Run the benchmark at `size` ("full" or "tiny") and return its table and notes."""
    import scipy
    import scipy.linalg.interpolative as sli
    from scipy.sparse.linalg import aslinearoperator

    p = SIZES[size]
    k = p.rank
    A_np, sigma, U_k, V_k = _problem(p)
    A = jnp.asarray(A_np)
    optimum = float(np.sqrt(np.sum(sigma[k:] ** 2)))
    key = jax.random.fold_in(jax.random.key(p.seed), _STREAM_METHOD)
    problem = f"{p.m}x{p.n} k={k}"
    rows: list[dict] = []

    def record(method: str, library: str, *, basis, core, c, r, passes, bound, seconds, L, Rt):
        rows.append(
            {
                "problem": problem,
                "method": method,
                "library": library,
                "basis": basis,
                "core": core,
                "c": c,
                "r": r,
                "passes": passes,
                "time_s": seconds,
                "error_ratio": _residual_norm(A_np, L, Rt) / optimum,
                "bound": bound,
            }
        )

    def spectral_cur(method: str, *, core="pinv", basis="randomized", count=k):
        # DEIM and Q-DEIM select exactly k, and reject columns= / rows=.
        counts = {} if method in ("deim", "qdeim") else {"columns": count, "rows": count}
        seconds, res = median_time(
            lambda: spectral.cur(key, A, k, method=method, core=core, basis=basis, **counts),
            p.repeats,
        )
        C, Uc, R = (np.asarray(x) for x in (res.C, res.U, res.R))
        # Uniform sampling ignores the basis, and XLA drops the unused SVD: the core is all.
        uses_basis = method != "uniform"
        passes = (2 * _POWER_ITERS + 2) * uses_basis + (core == "pinv")
        bound = _eta(V_k, res.cols) + _eta(U_k, res.rows) if core == "pinv" else None
        record(
            f"cur {method}",
            "spectral",
            basis=basis if uses_basis else None,
            core=core,
            c=count,
            r=count,
            passes=None if basis == "exact" else passes,
            bound=bound,
            seconds=seconds,
            L=C @ Uc,
            Rt=R,
        )

    def spectral_id(basis: str):
        seconds, (cols, X) = median_time(
            lambda: spectral.interpolative(key, A, k, basis=basis), p.repeats
        )
        cols = np.asarray(cols)
        record(
            "interpolative",
            "spectral",
            basis=basis,
            core=None,
            c=k,
            r=None,
            passes=None if basis == "exact" else 2 * _POWER_ITERS + 3,
            bound=_eta(V_k, cols),
            seconds=seconds,
            L=A_np[:, cols],
            Rt=np.asarray(X),
        )

    def scipy_id(method: str, fn: Callable[[], Any], *, passes, exact_projection: bool):
        seconds, (idx, proj) = median_time(fn, p.peer_repeats)
        record(
            method,
            "scipy",
            basis=None,
            core=None,
            c=k,
            r=None,
            passes=passes,
            bound=_eta(V_k, idx[:k]) if exact_projection else None,
            seconds=seconds,
            L=A_np[:, idx[:k]],
            Rt=sli.reconstruct_interp_matrix(idx, proj),
        )
        return seconds

    falls_back = _scipy_rand_falls_back()
    t_scipy = scipy_id(
        "interp_decomp(A, k)" + (" [pivoted QR]" if falls_back else " [rand=True]"),
        lambda: sli.interp_decomp(A_np, k),
        passes=k if falls_back else None,
        exact_projection=falls_back,
    )
    if not falls_back:
        scipy_id(
            "interp_decomp(A, k, rand=False)",
            lambda: sli.interp_decomp(A_np, k, rand=False),
            passes=k,
            exact_projection=True,
        )
    scipy_id(
        "interp_decomp(LinearOperator, k)",
        lambda: sli.interp_decomp(
            aslinearoperator(A_np), k, rng=np.random.default_rng([p.seed, _STREAM_SCIPY])
        ),
        passes=k + 2,
        exact_projection=False,
    )
    with one_blas_thread():
        spectral_id("randomized")
        spectral_cur("deim")
        spectral_cur("deim", core="cross")
        spectral_cur("qdeim")
        spectral_cur("leverage")
        spectral_cur("leverage", count=2 * k)
        spectral_cur("uniform")
        if p.exact_basis:
            spectral_id("exact")
            spectral_cur("deim", basis="exact")
            spectral_cur("qdeim", basis="exact")
            spectral_cur("volume", basis="exact")  # k-DPPs from the SVDs of A and A^T
    for row in rows:
        row["speedup_vs_scipy"] = t_scipy / row["time_s"]

    # The unavoidable work of the randomized-basis CUR: 7 passes over A. One product with an
    # ell-column block, timed alone in every form at hand; the fastest counts.
    ell = min(k + _OVERSAMPLE, p.m, p.n)
    rng = np.random.default_rng([p.seed, _STREAM_BLOCK])
    Omega_np = rng.standard_normal((p.n, ell))
    Yt_np = rng.standard_normal((ell, p.m))
    Omega_t, Yt = jnp.asarray(np.ascontiguousarray(Omega_np.T)), jnp.asarray(Yt_np)
    t_products = {
        "Omega^T A^T jax": median_time(lambda: _rows_times_transpose(Omega_t, A), p.repeats)[0],
        "Y^T A jax": median_time(lambda: _rows_times(Yt, A), p.repeats)[0],
        "A Omega numpy": median_time(lambda: A_np @ Omega_np, p.repeats)[0],
    }
    passes = 2 * _POWER_ITERS + 3
    limit = passes * min(t_products.values())
    jax_limit = passes * min(t for name, t in t_products.items() if name.endswith("jax"))
    deim = next(row for row in rows if row["method"] == "cur deim" and row["core"] == "pinv")
    ours_id = next(row for row in rows if row["method"] == "interpolative")
    scipy_row = rows[0]

    products = ", ".join(f"{name} {t * 1e3:.1f}" for name, t in t_products.items())
    notes = [
        "error_ratio = ||A - approx||_F / ||A - A_k||_F (A_k the best rank-k approximation, "
        "from the known spectrum; >= 1 for every rank-k row, the c = r = 2k row has rank 2k); "
        "bound = the a-priori bound on error_ratio for the chosen indices from the exact "
        "singular vectors (eta_q + eta_p for CUR with the pinv core, eta_q for a least-squares "
        "column ID); passes = products with A or A^T (SciPy's pivoted QR: k rank-1 updates of "
        "the trailing matrix); speedup_vs_scipy = SciPy interp_decomp(A, k) time / this time.",
        f"Matrix: sigma_i = exp(-i/{p.decay_length:g}) + {p.floor:g}, Haar-like U, coherent V "
        f"(column weights exp(N(0, {p.coherence:g}^2))): max column leverage "
        f"{float(np.max(np.sum(V_k**2, axis=1))) * p.n / k:.1f} x its mean k/n.",
        f"SciPy {scipy.__version__}: interp_decomp(A, k) on an ndarray "
        + (
            "runs the deterministic pivoted QR (iddr_id) although rand=True is its default "
            "(the same indices as rand=False and for two seeds)."
            if falls_back
            else "with rand=True is randomized (indices differ from rand=False)."
        ),
        "spectral.cur / interpolative use randomized_svd (oversample 10, 2 power iterations) "
        "for the basis; leverage, volume and uniform sample with one fixed key "
        "(one draw: their error varies from key to key); uniform needs no basis (XLA drops "
        "the unused SVD), so its time is the core's alone.",
        f"One product with an {ell}-column block, ms: {products}. Physical limit of the "
        f"randomized-basis CUR (pinv core) = {passes} x the fastest = {limit * 1e3:.0f} ms; "
        f"cur deim ({deim['time_s'] * 1e3:.0f} ms) reaches {limit / deim['time_s']:.0%} of it "
        f"({jax_limit / deim['time_s']:.0%} of {passes} x the fastest JAX product, "
        f"{jax_limit * 1e3:.0f} ms).",
        f"Same rank, column ID vs column ID: spectral.interpolative {ours_id['time_s']:.3g} s "
        f"at error ratio {ours_id['error_ratio']:.3f} vs SciPy {scipy_row['time_s']:.3g} s at "
        f"{scipy_row['error_ratio']:.3f} ({t_scipy / ours_id['time_s']:.1f}x); DEIM-CUR "
        f"{deim['time_s']:.3g} s at {deim['error_ratio']:.3f} "
        f"({t_scipy / deim['time_s']:.1f}x; CUR restricts an ID's coefficients to "
        "combinations of k actual rows, so with the same columns its error is at least the "
        "ID's).",
    ]
    if not p.exact_basis:
        notes.append(
            "basis='exact' and volume-sampling rows left out at this size: they take the SVD "
            "of A, O(m n^2) (minutes on a 2-core CPU, and median_time calls it 1 + repeats "
            "times)."
        )
    data = {
        "optimum_frobenius": optimum,
        "scipy_rand_falls_back": falls_back,
        "scipy_version": scipy.__version__,
        "t_product_ms": {name: t * 1e3 for name, t in t_products.items()},
        "limit_s": limit,
        "fraction_of_limit": limit / deim["time_s"],
        "jax_limit_s": jax_limit,
        "fraction_of_jax_limit": jax_limit / deim["time_s"],
        "device": str(jax.devices()[0]),
    }
    return {"table": rows, "notes": notes, "data": data}
