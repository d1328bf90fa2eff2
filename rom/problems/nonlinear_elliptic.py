r"""The 2-D nonlinear elliptic problem of Chaturantabut & Sorensen (2010), Sec. 3.3.2.

$$-\Delta u + \frac{\mu_0}{\mu_1}\bigl(e^{\mu_1 u} - 1\bigr) = 100 \sin(2\pi x)\sin(2\pi y)
\quad \text{on } (0, 1)^2, \qquad u = 0 \text{ on the boundary},$$

$\mu \in [0.01, 10]^2$, discretized as in the paper by centered finite differences on a
uniform grid of $N \times N$ interior points ($h = 1/(N + 1)$; the paper's $n = 2500$ is
$N = 50$). The nonlinearity is pointwise, so a hyper-reduced model evaluates it at its
DEIM points only; its derivative $\mu_0 e^{\mu_1 u} > 0$ keeps the Newton matrix SPD.
"""

import jax.numpy as jnp
import numpy as np

from ..affine import sum_duplicates
from ..semilinear import SemilinearModel


def _exponential(u, mu):
    return mu[0] / mu[1] * (jnp.exp(mu[1] * u) - 1.0)


def nonlinear_elliptic(points: int = 50, *, newton_steps: int = 12) -> SemilinearModel:
    """The problem on `points` x `points` interior grid points (row-major, x fastest)."""
    N = int(points)
    if N < 2:
        raise ValueError(f"points must be an int >= 2; got {points}.")
    h = 1.0 / (N + 1)
    index = np.arange(N * N).reshape(N, N)  # [iy, ix]
    rows, cols, vals = [index.ravel()], [index.ravel()], [np.full(N * N, 4.0 / h**2)]
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        iy, ix = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
        jy, jx = iy + dy, ix + dx
        ok = (jy >= 0) & (jy < N) & (jx >= 0) & (jx < N)
        rows.append(index[iy[ok], ix[ok]])
        cols.append(index[jy[ok], jx[ok]])
        vals.append(np.full(np.count_nonzero(ok), -1.0 / h**2))
    indices, values = sum_duplicates(
        np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)[None, :], N * N
    )
    x = (np.arange(N) + 1) * h
    X, Y = np.meshgrid(x, x, indexing="xy")
    f = 100 * np.sin(2 * np.pi * X) * np.sin(2 * np.pi * Y)
    return SemilinearModel(
        indices=jnp.asarray(indices),
        values=jnp.asarray(values[0]),
        rhs=jnp.asarray(f.ravel()),
        nonlinearity=_exponential,
        low=jnp.full(2, 0.01),
        high=jnp.full(2, 10.0),
        newton_steps=newton_steps,
    )
