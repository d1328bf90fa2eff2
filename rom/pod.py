r"""Proper orthogonal decomposition (POD): batch and streaming, in a weighted inner product.

Given snapshots $S = [s_1, \dots, s_m] \in \mathbb R^{n \times m}$ and an inner product
$\langle u, v\rangle_W = u^\top W v$ ($W$ symmetric positive definite: a mass matrix for
$L^2$, a stiffness matrix for $H^1_0$; $W = I$ by default), the POD modes of rank $r$ solve

$$\min_{\Phi^\top W \Phi = I_r}\; \sum_{j=1}^m \lVert s_j - \Phi \Phi^\top W s_j
\rVert_W^2 = \sum_{i > r} \sigma_i^2,$$

with $\sigma_i$ the singular values of $S$ as a map from $\mathbb R^m$ into
$(\mathbb R^n, \langle\cdot,\cdot\rangle_W)$, i.e. of $W^{1/2} S$, and $\Phi$ its left singular
vectors mapped back by $W^{-1/2}$. Three ways to compute them:

- ``"svd"``: an orthonormal basis $Q$ of the span of $S$ (QR, $O(nm^2)$), the Cholesky
  factor of the small Gram matrix $Q^\top W Q = R^\top R$, and the SVD of $R Q^\top S$; the
  modes are $Q R^{-1} U$. Only products with $W$, so a sparse (BCOO) $W$ works; singular
  values are accurate down to $\varepsilon \sigma_1$.
- ``"gram"``: the method of snapshots (Sirovich 1987), the eigendecomposition of the
  $m \times m$ matrix $S^\top W S$; cheapest for $m \ll n$, but the squaring limits the
  accuracy of $\sigma_i$ to about $\sqrt{\varepsilon}\, \sigma_1$.
- ``"randomized"``: `spectral.randomized_range_finder` of $S$ (rank + oversampling columns),
  then the ``"svd"`` method on that range: $O(nm(r + p))$ for large snapshot sets.

Truncation: a static `rank`, or a relative energy tolerance `tol` (the smallest $r$ with
$\sum_{i > r} \sigma_i^2 \le \text{tol}^2 \sum_i \sigma_i^2$), which fixes the size from
data and is applied outside `jax.jit` (under jit, pass `rank`).

`streaming_pod` folds chunks of snapshots into a rank-$k$ POD without holding them all:
each chunk $C$ is split into its part in the current modes and the $W$-orthogonal rest
$P = C - \Phi \Phi^\top W C = Q_P R_P$, and the small matrix
$\begin{bmatrix} \Sigma & \Phi^\top W C \\ 0 & R_P \end{bmatrix}$ is re-diagonalized by an
SVD (the update of Brand 2006): $O(n(k + c)^2)$ per chunk of $c$ snapshots, exact when the
snapshots have rank at most $k$, otherwise within the discarded energy.

References
----------
Sirovich (1987), "Turbulence and the dynamics of coherent structures", Quart. Appl. Math.
Brand (2006), "Fast low-rank modifications of the thin singular value decomposition",
Linear Algebra Appl. [brand2006] Volkwein, "Proper Orthogonal Decomposition: Theory and
Reduced-Order Modelling" (lecture notes).
"""

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax.experimental import sparse as jsparse
from jaxtyping import Array, Float, PRNGKeyArray

import spectral
from spectral._checks import check_choice, check_int, public_jit

METHODS = ("svd", "gram", "randomized")


class PODResult(NamedTuple):
    r"""POD modes, their singular values and the captured energy.

    Attributes
    ----------
    modes : Float[Array, "n r"]
        $\Phi$, orthonormal in the inner product: $\Phi^\top W \Phi = I_r$.
    singular_values : Float[Array, " r"]
        $\sigma_1 \ge \dots \ge \sigma_r \ge 0$.
    energy : Float[Array, " r"]
        Cumulative captured energy $\sum_{i \le j} \sigma_i^2 / \lVert S\rVert_W^2$, for
        $j = 1, \dots, r$ (1 at the end when nothing is truncated).
    """

    modes: Float[Array, "n r"]
    singular_values: Float[Array, " r"]
    energy: Float[Array, " r"]


def _check_snapshots(snapshots: Any) -> Array:
    S = jnp.asarray(snapshots)
    if S.ndim != 2 or S.shape[0] < 1 or S.shape[1] < 1:
        raise ValueError(
            f"snapshots must be a 2-D array (n, m), one snapshot per column; got shape {S.shape}."
        )
    if not jnp.issubdtype(S.dtype, jnp.floating):
        raise TypeError(f"snapshots must be floating point; got dtype {S.dtype}.")
    return S


def _check_product(W: Any, n: int, dtype: Any) -> Any:
    """The inner-product matrix: None, a dense (n, n) array or an (n, n) BCOO matrix."""
    if W is None:
        return None
    if not isinstance(W, jsparse.BCOO):
        W = jnp.asarray(W)
    if tuple(W.shape) != (n, n):
        raise ValueError(
            f"inner_product must be an (n, n) = ({n}, {n}) symmetric positive definite matrix "
            f"(dense or BCOO) for snapshots with n = {n} entries; got shape {tuple(W.shape)}."
        )
    if W.dtype != dtype:
        raise TypeError(
            f"inner_product must have the dtype of the snapshots, {dtype}; got {W.dtype}."
        )
    return W


def _apply(W: Any, X: Array) -> Array:
    return X if W is None else W @ X


def _w_orthonormal(W: Any, Q: Array) -> tuple[Array, Array]:
    r"""$Q R^{-1}$ and $R$ with $R^\top R = Q^\top W Q$ (Cholesky; $Q$ has full column rank)."""
    if W is None:
        return Q, jnp.eye(Q.shape[1], dtype=Q.dtype)
    gram = Q.T @ (W @ Q)
    R = jnp.linalg.cholesky(0.5 * (gram + gram.T)).T
    R = eqx.error_if(
        R,
        ~jnp.all(jnp.isfinite(R)),
        "inner_product must be symmetric positive definite on the span of the snapshots "
        "(the Cholesky factorization of the projected Gram matrix failed).",
    )
    return jsl.solve_triangular(R.T, Q.T, lower=True).T, R


def _pod_on_range(S: Array, W: Any, Q: Array) -> tuple[Array, Array]:
    """Modes and singular values of S restricted to the orthonormal basis Q of its range."""
    Qw, R = _w_orthonormal(W, Q)
    # S = Q Q^T S on the range, = Qw (R Q^T S); Qw is W-orthonormal.
    U, sigma, _ = jnp.linalg.svd(R @ (Q.T @ S), full_matrices=False)
    return Qw @ U, sigma


@public_jit
def _pod_full(S, W, method, key, size, oversample, power_iters):
    n, m = S.shape
    if method == "gram":
        C = S.T @ _apply(W, S)
        w, V = jnp.linalg.eigh(0.5 * (C + C.T))
        w, V = w[::-1], V[:, ::-1]
        sigma = jnp.sqrt(jnp.maximum(w, 0.0))
        tiny = sigma <= sigma[0] * jnp.finfo(S.dtype).eps * max(n, m)
        modes = (S @ V) / jnp.where(tiny, 1.0, sigma)[None, :]
        return jnp.where(tiny[None, :], 0.0, modes)[:, :size], sigma[:size], sigma
    if method == "svd":
        Q, _ = jnp.linalg.qr(S)
    else:
        Q = spectral.randomized_range_finder(
            key, S, min(size + oversample, min(n, m)), power_iters=power_iters
        )
    modes, sigma = _pod_on_range(S, W, Q)
    return modes[:, :size], sigma[:size], sigma


def pod(
    snapshots: Float[Array, "n m"],
    /,
    *,
    rank: int | None = None,
    tol: float | None = None,
    inner_product: Any = None,
    method: str = "svd",
    key: PRNGKeyArray | None = None,
    oversample: int = 10,
    power_iters: int = 2,
) -> PODResult:
    r"""POD modes of `snapshots` (columns), orthonormal in `inner_product`.

    Parameters
    ----------
    snapshots : Float[Array, "n m"]
        One snapshot per column.
    rank : int, optional
        Number of modes (static); at most $\min(n, m)$. Default: all, or as `tol` decides.
    tol : float, optional
        Relative energy tolerance: keep the fewest modes with $\sum_{i > r} \sigma_i^2
        \le \text{tol}^2 \sum_i \sigma_i^2$ (at most `rank`). Applied eagerly: not under jit.
    inner_product : array or BCOO, optional
        $W$, symmetric positive definite (n, n); default the Euclidean product.
    method : {"svd", "gram", "randomized"}
        See the module docstring.
    key : PRNGKeyArray, optional
        Required for ``"randomized"``.
    oversample, power_iters : int
        Of the randomized range finder.

    Returns
    -------
    PODResult
        `modes`, `singular_values`, `energy`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import rom
    >>> S = jnp.outer(jnp.linspace(0, 1, 5), jnp.arange(1.0, 4.0))  # rank 1
    >>> result = rom.pod(S, tol=1e-6)
    >>> result.modes.shape
    (5, 1)
    """
    method = check_choice(method, "method", METHODS)
    S = _check_snapshots(snapshots)
    n, m = S.shape
    W = _check_product(inner_product, n, S.dtype)
    size = check_int(
        min(n, m) if rank is None else rank,
        "rank",
        low=1,
        high=min(n, m),
        why=f" (at most min(n, m) = {min(n, m)}: the number of snapshots m = {m} and the "
        f"dimension n = {n})",
    )
    if method == "randomized" and key is None:
        raise ValueError("method='randomized' needs a PRNG key: pass key=jax.random.key(...).")
    if method == "randomized" and W is not None and not isinstance(W, jsparse.BCOO | jax.Array):
        raise TypeError(f"inner_product must be a dense array or BCOO; got {type(W)}.")
    key = jax.random.key(0) if key is None else key
    modes, sigma, all_sigma = _pod_full(S, W, method, key, size, oversample, power_iters)
    total = jnp.sum(all_sigma**2)
    energy = jnp.cumsum(sigma**2) / jnp.where(total > 0, total, 1.0)
    if tol is not None:
        if not tol >= 0:
            raise ValueError(f"tol must be a nonnegative float; got tol={tol}.")
        if isinstance(energy, jax.core.Tracer):
            raise ValueError(
                "tol decides the number of modes from data, which jax.jit cannot trace; pass a "
                "static rank instead (or call pod outside jit)."
            )
        # remaining energy 1 - energy_r <= tol^2
        r = int(jnp.argmax(1.0 - energy <= tol**2 * (1 + 1e-12))) + 1
        if not bool(1.0 - energy[-1] <= tol**2 * (1 + 1e-12)):
            r = size
        modes, sigma, energy = modes[:, :r], sigma[:r], energy[:r]
    return PODResult(modes, sigma, energy)


class StreamingPODState(NamedTuple):
    r"""The state of `streaming_pod`: current modes, singular values and total energy.

    Attributes
    ----------
    modes : Float[Array, "n k"]
        $W$-orthonormal modes (zero columns until $k$ directions have been seen).
    singular_values : Float[Array, " k"]
        Their singular values.
    energy : Float[Array, ""]
        $\lVert S\rVert_W^2$ of every snapshot folded in so far.
    """

    modes: Float[Array, "n k"]
    singular_values: Float[Array, " k"]
    energy: Float[Array, ""]


class StreamingPOD(eqx.Module):
    r"""A rank-$k$ POD over chunks of snapshots: `init`, `update`, `result` (see `pod`).

    Attributes
    ----------
    n : int
        Snapshot dimension.
    rank : int
        $k$, the number of modes kept.
    inner_product : array or BCOO or None
        $W$.
    """

    n: int = eqx.field(static=True)
    rank: int = eqx.field(static=True)
    inner_product: Any = None

    def init(self, dtype: Any = jnp.float64) -> StreamingPODState:
        """The empty state (no snapshots seen)."""
        return StreamingPODState(
            jnp.zeros((self.n, self.rank), dtype),
            jnp.zeros((self.rank,), dtype),
            jnp.zeros((), dtype),
        )

    def update(self, state: StreamingPODState, chunk: Float[Array, "n c"]) -> StreamingPODState:
        r"""Fold in a chunk of snapshots (columns), $O(n(k + c)^2)$."""
        chunk = jnp.asarray(chunk)
        if chunk.ndim != 2 or chunk.shape[0] != self.n:
            raise ValueError(
                f"chunk must be (n, c) = ({self.n}, c), one snapshot per column; got shape "
                f"{chunk.shape}."
            )
        if chunk.dtype != state.modes.dtype:
            raise TypeError(
                f"chunk must have the dtype of the state, {state.modes.dtype}; got {chunk.dtype}."
            )
        return _streaming_update(state, chunk, self.inner_product)

    def result(self, state: StreamingPODState) -> PODResult:
        """The POD of everything folded in so far."""
        total = jnp.where(state.energy > 0, state.energy, 1.0)
        return PODResult(
            state.modes, state.singular_values, jnp.cumsum(state.singular_values**2) / total
        )


@eqx.filter_jit
def _streaming_update(state: StreamingPODState, chunk: Array, W: Any) -> StreamingPODState:
    Phi, sigma, energy = state
    k = sigma.shape[0]
    WC = _apply(W, chunk)
    energy = energy + jnp.sum(chunk * WC)
    coefficients = Phi.T @ WC  # (k, c)
    residual = chunk - Phi @ coefficients
    # Twice is enough: re-orthogonalize the rest against the modes.
    residual = residual - Phi @ (Phi.T @ _apply(W, residual))
    gram = residual.T @ _apply(W, residual)
    lam, V = jnp.linalg.eigh(0.5 * (gram + gram.T))
    scale = jnp.sqrt(jnp.maximum(lam, 0.0))
    keep = scale > jnp.finfo(chunk.dtype).eps * jnp.maximum(jnp.sqrt(energy), 1e-300) * 10
    Q = jnp.where(keep[None, :], (residual @ V) / jnp.where(keep, scale, 1.0)[None, :], 0.0)
    R = jnp.where(keep[:, None], scale[:, None] * V.T, 0.0)  # residual ~= Q R
    c = chunk.shape[1]
    K = jnp.block([[jnp.diag(sigma), coefficients], [jnp.zeros((c, k), chunk.dtype), R]])
    U, s, _ = jnp.linalg.svd(K, full_matrices=False)
    modes = jnp.concatenate([Phi, Q], axis=1) @ U[:, :k]
    return StreamingPODState(modes, s[:k], energy)


def streaming_pod(n: int, rank: int, *, inner_product: Any = None) -> StreamingPOD:
    r"""A streaming rank-`rank` POD of `n`-dimensional snapshots (init / update / result).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import rom
    >>> stream = rom.streaming_pod(100, 5)
    >>> state = stream.init(jnp.float32)
    >>> for chunk in jnp.split(jax.random.normal(jax.random.key(0), (100, 40)), 4, axis=1):
    ...     state = stream.update(state, chunk)
    >>> stream.result(state).modes.shape
    (100, 5)
    """
    n = check_int(n, "n", low=1)
    rank = check_int(rank, "rank", low=1, high=n)
    if inner_product is not None:
        inner_product = _check_product(inner_product, n, inner_product.dtype)
    return StreamingPOD(n, rank, inner_product)
