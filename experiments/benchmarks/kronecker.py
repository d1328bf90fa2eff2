r"""kronecker: the shifted Kronecker solve and log-determinant against a dense Cholesky.

On $d$-dimensional grids of $m^d = M$ points (squared-exponential factors, lengthscale
0.1 on $[0, 1]$, noise $\sigma^2 = 10^{-2}$), each call computes
$x = (K + \sigma^2 I)^{-1} y$ and $\log\lvert K + \sigma^2 I\rvert$ with
`spectral.kron_solve` and `spectral.kron_logdet` (jitted together; float64), and, where
the $M \times M$ matrix fits (`dense_max`), the same by `jnp.linalg.cholesky` of the
assembled matrix. Reported per grid: the median wall time of `repeats` calls after a
compiling call, the speed-up over dense, the relative error of $x$ and of the
log-determinant against dense, and, over the 2-D and the 3-D grids separately, the
least-squares slope of $\log t$ against $\log M$ (the scaling exponent: the theory is
$O(M \sum_j m_j) = O(M^{1 + 1/d})$ for the mode products, so about 1.5 in 2-D and 1.33 in
3-D once they dominate the $O(\sum_j m_j^3)$ eigendecompositions).

GPyTorch's `KroneckerProductLinearOperator` is not compared: GPyTorch needs PyTorch, which
the project's extras do not install (a CPU wheel is several hundred MB and PyPI's default
build several GB).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import spectral

from ._timing import median_time


@dataclasses.dataclass(frozen=True)
class _Sizes:
    grids: tuple[tuple[int, ...], ...]  # points per dimension
    dense_max: int  # the dense Cholesky runs up to this many grid points
    repeats: int
    lengthscale: float = 0.1
    noise: float = 1e-2
    seed: int = 0


SIZES = {
    "full": _Sizes(
        grids=(
            (32, 32),
            (64, 64),
            (128, 128),
            (256, 256),
            (512, 512),
            (1024, 1024),
            (16, 16, 16),
            (32, 32, 32),
            (64, 64, 64),
            (128, 128, 128),
        ),
        dense_max=4096,
        repeats=3,
    ),
    "tiny": _Sizes(grids=((6, 5), (8, 8), (3, 4, 5)), dense_max=100, repeats=1),
}


def _factors(p: _Sizes, grid: tuple[int, ...]) -> list[jax.Array]:
    kernel = lambda tau: spectral.squared_exponential(tau, p.lengthscale)  # noqa: E731
    points = [jnp.linspace(0.0, 1.0, m) for m in grid]
    return [spectral.kernel_matrix(kernel, x, x) for x in points]


@jax.jit
def _kron(K: spectral.Kronecker, y: jax.Array, noise: jax.Array):
    return spectral.kron_solve(K, y, shift=noise), spectral.kron_logdet(K, shift=noise)


@jax.jit
def _dense(D: jax.Array, y: jax.Array, noise: jax.Array):
    L = jnp.linalg.cholesky(D + noise * jnp.eye(D.shape[0], dtype=D.dtype))
    x = jax.scipy.linalg.cho_solve((L, True), y)
    return x, 2.0 * jnp.sum(jnp.log(jnp.diag(L)))


def _slope(rows: list[dict]) -> float | None:
    if len(rows) < 2:
        return None
    M = np.log([row["M"] for row in rows])
    t = np.log([row["kron_s"] for row in rows])
    return float(np.polyfit(M, t, 1)[0])


def run(size: str) -> dict:
    """Run the benchmark at `size` ("full" or "tiny") and return its table and notes."""
    p = SIZES[size]
    rows = []
    noise = jnp.asarray(p.noise)
    for grid in p.grids:
        K = spectral.Kronecker(_factors(p, grid))
        M = K.shape[0]
        y = jnp.asarray(np.random.default_rng([p.seed, M]).standard_normal(M))
        kron_s, (x, logdet) = median_time(lambda K=K, y=y: _kron(K, y, noise), p.repeats)
        row = {
            "grid": " x ".join(map(str, grid)),
            "dims": len(grid),
            "M": M,
            "kron_s": kron_s,
            "dense_s": None,
            "speedup": None,
            "solve_rel_err": None,
            "logdet_rel_err": None,
        }
        if M <= p.dense_max:
            D = K.to_dense()
            dense_s, (x_d, logdet_d) = median_time(lambda D=D, y=y: _dense(D, y, noise), p.repeats)
            row.update(
                dense_s=dense_s,
                speedup=dense_s / kron_s,
                solve_rel_err=float(jnp.linalg.norm(x - x_d) / jnp.linalg.norm(x_d)),
                logdet_rel_err=float(abs(logdet - logdet_d) / abs(logdet_d)),
            )
        rows.append(row)
    slopes = {d: _slope([row for row in rows if row["dims"] == d]) for d in (2, 3)}
    fitted = ", ".join(
        f"{d}-D {s:.2f} (theory {1 + 1 / d:.2f})" for d, s in slopes.items() if s is not None
    )
    notes = [
        f"kron_s: jitted spectral.kron_solve + kron_logdet with shift = {p.noise:g} (float64, "
        f"squared-exponential factors, lengthscale {p.lengthscale:g} on [0, 1]); dense_s: "
        "Cholesky of the assembled M x M matrix + solve + log-determinant (up to "
        f"M = {p.dense_max}); median of {p.repeats} calls after compiling; speedup = dense_s "
        "/ kron_s; errors relative to dense.",
        f"Fitted exponent of kron_s in M (least squares on log-log): {fitted or 'n/a'}. "
        "Small grids are dominated by fixed costs, which flattens the fit.",
        "Not compared: GPyTorch's KroneckerProductLinearOperator (needs PyTorch, which the "
        "project's extras do not install).",
    ]
    return {
        "table": rows,
        "notes": notes,
        "data": {
            "exponent_2d": slopes[2],
            "exponent_3d": slopes[3],
            "device": str(jax.devices()[0]),
        },
    }
