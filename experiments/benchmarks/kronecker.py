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

One GP hyperparameter-fit step, the negative log marginal likelihood and its gradient in
the lengthscale and the noise variance on 2-D grids (`fit_grids`), is also timed against
GPyTorch's `KroneckerProductLinearOperator` (`.add_diagonal(noise).inv_quad_logdet`, exact
through the factors' eigendecompositions, float64, one thread, backward by PyTorch's
autograd) when GPyTorch is installed: it needs PyTorch, which the `dev` extra leaves out
(PyPI's default build is several GB); `pip install -e ".[gpytorch]"` adds both.
"""

import dataclasses
import time
import warnings

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
    fit_grids: tuple[int, ...] = ()  # m for the m x m grids of the fit-step comparison
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
        fit_grids=(64, 128, 256),
    ),
    "tiny": _Sizes(grids=((6, 5), (8, 8), (3, 4, 5)), dense_max=100, repeats=1, fit_grids=(8,)),
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


def _nll(params: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """NLL of the m x m grid GP at (lengthscale, noise) = params."""
    K = spectral.kernel_matrix(lambda tau: spectral.squared_exponential(tau, params[0]), x, x)
    return spectral.gp_negative_log_likelihood(spectral.Kronecker((K, K)), y, params[1])


_fit_step = jax.jit(jax.value_and_grad(_nll))


def _gpytorch_fit_step(m: int, y: np.ndarray, p: _Sizes, repeats: int):
    """GPyTorch's value and gradient of the same NLL, and its median time; None without it."""
    try:
        with warnings.catch_warnings():  # linear_operator's import uses torch.jit.script
            warnings.simplefilter("ignore", DeprecationWarning)
            import torch
            from linear_operator.operators import (
                DenseLinearOperator,
                KroneckerProductLinearOperator,
            )
    except ImportError:
        return None
    torch.set_num_threads(1)
    x = torch.linspace(0.0, 1.0, m, dtype=torch.float64)
    rhs = torch.as_tensor(y)[:, None]

    def step():
        ell = torch.tensor(p.lengthscale, dtype=torch.float64, requires_grad=True)
        noise = torch.tensor(p.noise, dtype=torch.float64, requires_grad=True)
        K = DenseLinearOperator(torch.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / ell**2))
        op = KroneckerProductLinearOperator(K, K).add_diagonal(noise)
        quad, logdet = op.inv_quad_logdet(inv_quad_rhs=rhs, logdet=True)
        nll = 0.5 * quad + 0.5 * logdet + 0.5 * m * m * np.log(2 * np.pi)
        nll.backward()
        return float(nll.detach()), np.array([float(ell.grad), float(noise.grad)])

    step()
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = step()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def _fit_step_rows(p: _Sizes) -> list[dict]:
    rows = []
    for m in p.fit_grids:
        x = jnp.linspace(0.0, 1.0, m)
        y = np.random.default_rng([p.seed, m, 1]).standard_normal(m * m)
        params = jnp.asarray([p.lengthscale, p.noise])
        ours_s, (nll, grad) = median_time(
            lambda x=x, y=y, params=params: _fit_step(params, x, jnp.asarray(y)), p.repeats
        )
        row = {
            "grid": f"{m} x {m}",
            "ours_s": ours_s,
            "gpytorch_s": None,
            "speedup": None,
            "nll_rel_diff": None,
            "grad_rel_diff": None,
        }
        theirs = _gpytorch_fit_step(m, y, p, p.repeats)
        if theirs is not None:
            t, (nll_t, grad_t) = theirs
            grad = np.asarray(grad)
            row.update(
                gpytorch_s=t,
                speedup=t / ours_s,
                nll_rel_diff=abs(float(nll) - nll_t) / abs(nll_t),
                grad_rel_diff=float(np.max(np.abs(grad - grad_t) / np.abs(grad_t))),
            )
        rows.append(row)
    return rows


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
    ]
    fit_rows = _fit_step_rows(p)
    if any(r["gpytorch_s"] is not None for r in fit_rows):
        notes.append(
            "One fit step (NLL + gradient in lengthscale and noise) against GPyTorch's "
            "KroneckerProductLinearOperator.add_diagonal (float64, 1 thread): "
            + "; ".join(
                f"{r['grid']}: ours {1e3 * r['ours_s']:.3g} ms, GPyTorch "
                f"{1e3 * r['gpytorch_s']:.3g} ms ({r['speedup']:.2f}x), NLL differs by "
                f"{r['nll_rel_diff']:.1e}, gradients by {r['grad_rel_diff']:.1e}"
                for r in fit_rows
            )
            + "."
        )
    else:
        notes.append(
            "One fit step: ours "
            + "; ".join(f"{r['grid']} {1e3 * r['ours_s']:.3g} ms" for r in fit_rows)
            + ". GPyTorch not compared: not installed (pip install -e '.[gpytorch]')."
        )
    return {
        "table": rows,
        "notes": notes,
        "data": {
            "exponent_2d": slopes[2],
            "exponent_3d": slopes[3],
            "fit_step": fit_rows,
            "device": str(jax.devices()[0]),
        },
    }
