r"""Streaming eigensolvers and sketches from the rows of $A \in \mathbb R^{n \times d}$.

The rows $a_1, \dots, a_n$ of $A$ arrive in blocks (arrays of shape (b, d), any $b$, one
block at a time); nothing but a fixed-size state is kept between blocks. Three algorithms,
each a constructor returning an object with ``init``, ``update`` and ``result`` (the
streaming triple of the design: the state is a pytree of fixed-shape arrays, so a stream
can be folded by `jax.lax.scan` over stacked blocks or by a Python loop over chunks read
from disk):

- `oja`: Oja's stochastic power method for the top-$k$ eigenvectors of $A^\top A$,
  $O(dk)$ memory, step sizes $c/t$, $c/\sqrt t$ or $c$.
- `random_order_top_eigenvector`: the algorithm of Kacham & Woodruff (2024) for streams in
  uniformly random order: heavy rows stored exactly, the others fed to a block power method
  over consecutive blocks of the stream; correlation $1 - O(1/\sqrt R)$ with the top
  eigenvector, $R = \sigma_1^2/\sigma_2^2$, in $O(hd)$ memory for $h$ heavy rows.
- `frequent_directions`: Liberty's deterministic, mergeable sketch $B \in \mathbb
  R^{\ell \times d}$ with $0 \preceq A^\top A - B^\top B$ and
  $\lVert A^\top A - B^\top B\rVert_2 \le \lVert A - A_k\rVert_F^2 / (\ell - k)$ for every
  $k < \ell$, in $O(\ell d)$ memory.

Example: fold a stream of 10 blocks with `jax.lax.scan`.

>>> import jax, jax.numpy as jnp
>>> from spectral.streaming import frequent_directions
>>> blocks = jax.random.normal(jax.random.key(0), (10, 32, 20))  # 10 blocks of 32 rows
>>> fd = frequent_directions(20, 8)
>>> state, _ = jax.lax.scan(lambda s, X: (fd.update(s, X), None), fd.init(), blocks)
>>> fd.result(state).B.shape
(8, 20)

Bad input raises at trace time (`ValueError`/`TypeError` naming the argument, the value and
what is expected); a block holding NaN or Inf raises at run time through
`equinox.error_if` (under `jax.jit` too).
"""

import math
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._checks import check_choice, check_int, public_jit
from ._results import EighResult

SCHEDULES = ("inverse", "inverse_sqrt", "constant")


# --- shared checks -----------------------------------------------------------------------


def _float_dtype(dtype: Any) -> Any:
    """`dtype`, or JAX's default float (float64 under x64, else float32) for None."""
    if dtype is None:
        return jnp.zeros(()).dtype
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a real floating dtype (float32 or float64); got {dtype}.")
    return dtype


def _check_block(block: Any, d: int, dtype: Any, name: str = "block") -> Array:
    """A (b, d) block of rows in the state's dtype, else a clear error."""
    block = jnp.asarray(block)
    if block.ndim != 2 or block.shape[1] != d:
        raise ValueError(
            f"{name} must be a 2-D array of rows of shape (b, d) = (b, {d}) (a single row x "
            f"goes in as x[None, :]); got shape {tuple(block.shape)}."
        )
    if block.dtype != dtype:
        raise TypeError(
            f"{name} must have the dtype of the state, {dtype}; got {block.dtype} (cast it, or "
            f"init the state with dtype={block.dtype})."
        )
    return block


def _finite(block: Array, name: str = "block") -> Array:
    """`block`, raising at run time (also under jit) if it holds NaN or Inf; O(bd)."""
    return eqx.error_if(block, ~jnp.all(jnp.isfinite(block)), f"{name} contains NaN or Inf.")


def _positive_number(value: Any, name: str) -> Any:
    """Check a traced-or-concrete positive scalar (checked only when concrete)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a positive number; got {value!r}.")
    if isinstance(value, int | float | np.integer | np.floating):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number; got {name}={value!r}.")
        return float(value)
    return value  # an array (possibly a tracer, e.g. under vmap over step sizes)


def _orthonormal_columns(V: Array) -> Array:
    """Q of the QR factorization of V, columns signed so that diag(R) >= 0."""
    Q, R = jnp.linalg.qr(V)
    sign = jnp.where(jnp.diagonal(R) < 0, -1.0, 1.0).astype(V.dtype)
    return Q * sign[None, :]


# --- Oja ---------------------------------------------------------------------------------


class OjaState(NamedTuple):
    r"""The state of `oja`.

    Attributes
    ----------
    V : Float[Array, "d k"]
        The current iterate, orthonormal columns ($k = 1$: a unit vector as a column).
    eigenvalues : Float[Array, " k"]
        Online estimates $\sum_t (a_t^\top v_{j,t-1})^2$ of $\lVert A v_j\rVert^2$.
    count : Int[Array, ""]
        Rows seen, $t$.
    """

    V: Float[Array, "d k"]
    eigenvalues: Float[Array, " k"]
    count: Int[Array, ""]


class Oja(eqx.Module):
    r"""Oja's method as a streaming triple; build it with `oja`.

    Attributes
    ----------
    key : PRNGKeyArray
        Draws the starting iterate.
    d, k : int
        Row width and number of eigenvectors (static).
    lr : float or Array
        $c$ in the step size (traced: may be vmapped over).
    offset : float or Array
        $t_0$ in the step size $c / (t + t_0)$ or $c / \sqrt{t + t_0}$.
    schedule : str
        ``"inverse"``, ``"inverse_sqrt"`` or ``"constant"`` (static).
    row_by_row : bool
        Exact row-by-row recursion (True) or one mini-batch step per block (static).
    """

    key: PRNGKeyArray
    d: int = eqx.field(static=True)
    k: int = eqx.field(static=True)
    lr: Any
    offset: Any
    schedule: str = eqx.field(static=True)
    row_by_row: bool = eqx.field(static=True)

    def init(self, dtype: Any = None) -> OjaState:
        """A random orthonormal start (Gaussian, then QR) and no rows seen."""
        dtype = _float_dtype(dtype)
        V = _orthonormal_columns(jr.normal(self.key, (self.d, self.k), dtype))
        return OjaState(V, jnp.zeros((self.k,), dtype), jnp.zeros((), jnp.int32))

    def update(self, state: OjaState, block: Float[Array, "b d"]) -> OjaState:
        """Fold in a block of $b$ rows: $O(bdk)$ flops ($O(bdk^2)$ for $k > 1$, row by row)."""
        block = _check_block(block, self.d, state.V.dtype)
        return _oja_update(self, state, block)

    def result(self, state: OjaState) -> EighResult:
        r"""`EighResult`: the iterate's columns and their online eigenvalue estimates.

        Sorted by the estimates, largest first. The estimates $\sum_t (a_t^\top
        v_{j,t-1})^2$ use the iterate at the time each row arrived, so they are biased low
        by the transient before convergence.
        """
        order = jnp.argsort(-state.eigenvalues)
        return EighResult(state.eigenvalues[order], state.V[:, order])


def _step_sizes(alg: Oja, count: Array, b: int, dtype: Any) -> Array:
    """eta_t for the rows t = count + 1, ..., count + b."""
    t = (count + 1 + jnp.arange(b, dtype=jnp.int32)).astype(dtype)
    c = jnp.asarray(alg.lr, dtype)
    t = t + jnp.asarray(alg.offset, dtype)
    if alg.schedule == "inverse":
        return c / t
    if alg.schedule == "inverse_sqrt":
        return c / jnp.sqrt(t)
    return jnp.broadcast_to(c, t.shape)


def _normalize_columns(V: Array) -> Array:
    norms = jnp.linalg.norm(V, axis=0)
    return V / jnp.where(norms > 0, norms, 1.0)[None, :]


@public_jit
def _oja_update(alg: Oja, state: OjaState, X: Array) -> OjaState:
    X = _finite(X)
    V, lam, count = state
    eta = _step_sizes(alg, count, X.shape[0], X.dtype)
    orthonormalize = _normalize_columns if alg.k == 1 else _orthonormal_columns
    if alg.row_by_row:

        def row(carry, inputs):
            V, lam = carry
            x, eta_t = inputs
            p = x @ V  # (k,)
            V = orthonormalize(V + eta_t * (x[:, None] * p[None, :]))
            return (V, lam + p**2), None

        (V, lam), _ = jax.lax.scan(row, (V, lam), (X, eta))
    else:
        P = X @ V  # (b, k)
        lam = lam + jnp.sum(P**2, axis=0)
        V = orthonormalize(V + X.T @ (eta[:, None] * P))
    return OjaState(V, lam, count + X.shape[0])


def oja(
    key: PRNGKeyArray,
    d: int,
    *,
    k: int = 1,
    lr: Any = 1.0,
    schedule: str = "inverse",
    offset: Any = 0.0,
    row_by_row: bool = True,
) -> Oja:
    r"""Oja's method for the top-$k$ eigenvectors of $A^\top A$ from a stream of rows.

    For each row $a_t$ ($t = 1, 2, \dots$ counted in rows across blocks), with step size
    $\eta_t = c / (t + t_0)$ (``"inverse"``), $c / \sqrt{t + t_0}$ (``"inverse_sqrt"``) or
    $c$ (``"constant"``),

    $$V_t = \operatorname{orth}\big((I + \eta_t a_t a_t^\top) V_{t-1}\big),$$

    normalization for $k = 1$, QR for $k > 1$. ``row_by_row=True`` (the default) is that
    recursion exactly: a `jax.lax.scan` over the block's rows, orthonormalizing after every
    row. (In exact arithmetic, orthonormalizing once per block would give the same span,
    since $\operatorname{orth}$ only multiplies from the right by an invertible $k \times k$
    matrix; in floating point the columns then collapse onto the top eigenvector within a
    block.) ``row_by_row=False`` takes one mini-batch step per block,
    $V \leftarrow \operatorname{orth}\big(V + \sum_{t \in \text{block}} \eta_t a_t
    (a_t^\top V)\big)$, the sum over the block's rows of $a_t a_t^\top V$: it agrees with
    the row-by-row product to first order in $\eta$ (they differ by $O((\sum_t \eta_t
    \lVert a_t\rVert^2)^2)$ per block) and is faster for large blocks.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws the random orthonormal start $V_0$ (in ``init``).
    d : int
        Row width (static).
    k : int
        Number of eigenvectors, $1 \le k \le d$ (static).
    lr : float or Array
        $c > 0$. Scale-dependent: $\eta_t \lVert a_t\rVert^2$ is the size of a step, so
        rescaling $A$ by $s$ calls for $c / s^2$. For ``"inverse"``, the theory (Jain et al.
        2016) takes $c \approx 1 / (\lambda_1 - \lambda_2)$ for the per-row covariance.
        May be an array (vmap over step sizes).
    schedule : {"inverse", "inverse_sqrt", "constant"}
        The step-size schedule (static).
    offset : float or Array
        $t_0 \ge 0$ (ignored by ``"constant"``).
    row_by_row : bool
        Exact row-by-row Oja (default) or one mini-batch step per block (static).

    Returns
    -------
    Oja
        ``init(dtype=None) -> OjaState``, ``update(state, block) -> OjaState``,
        ``result(state) -> EighResult`` (eigenvectors (d, k) and online eigenvalue
        estimates (k,), largest first).

    Raises
    ------
    TypeError, ValueError
        For `d`, `k`, `schedule` or a concrete `lr` out of range; in ``update``, for a block
        that is not (b, d) or not in the state's dtype.
    EquinoxRuntimeError
        In ``update``, if the block holds NaN or Inf.

    Notes
    -----
    Cost per row: $O(dk)$ flops for $k = 1$, $O(dk^2)$ for $k > 1$ (a QR per row; per block
    with ``row_by_row=False``); memory $O(dk)$. Oja's method converges for any order, but
    its error after the stream depends on the order and on the step size: a constant step
    large enough to make progress on light rows is thrown off by a heavy row near the end
    of the stream (Kacham & Woodruff 2024 give an instance where no fixed rate works), and
    $c/t$ needs $c$ matched to the eigengap.

    References
    ----------
    Oja (1982), "Simplified neuron model as a principal component analyzer", J. Math.
    Biology 15. [oja1982] Jain, Jin, Kakade, Netrapalli & Sidford (2016), "Streaming PCA:
    matching matrix Bernstein and near-optimal finite sample guarantees for Oja's
    algorithm", COLT, arXiv:1602.06929. [jain2016]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from spectral.streaming import oja
    >>> A = jax.random.normal(jax.random.key(0), (2000, 10)) * jnp.array([3.0] + [1.0] * 9)
    >>> alg = oja(jax.random.key(1), 10, lr=0.5)
    >>> state = alg.init(A.dtype)
    >>> for X in jnp.split(A, 20):
    ...     state = alg.update(state, X)
    >>> bool(abs(alg.result(state).eigenvectors[0, 0]) > 0.95)
    True
    """
    d = check_int(d, "d", low=1)
    k = check_int(k, "k", low=1, high=d, why=f" (at most d = {d}, the row width)")
    schedule = check_choice(schedule, "schedule", SCHEDULES)
    lr = _positive_number(lr, "lr")
    if isinstance(offset, int | float) and not (offset >= 0 and math.isfinite(offset)):
        raise ValueError(f"offset must be a finite number >= 0; got offset={offset!r}.")
    if not isinstance(row_by_row, bool):
        raise TypeError(f"row_by_row must be a bool; got {row_by_row!r}.")
    # Arrays, not Python floats: one compiled update serves every step size.
    return Oja(key, d, k, jnp.asarray(lr), jnp.asarray(offset), schedule, row_by_row)


# --- Kacham & Woodruff: random-order streams ---------------------------------------------


class RandomOrderState(NamedTuple):
    r"""The state of `random_order_top_eigenvector`.

    Attributes
    ----------
    v : Float[Array, " d"]
        The power iterate after the last completed block (unit norm).
    y : Float[Array, " d"]
        $\sum x (x^\top v)$ over the light rows of the current block so far.
    rayleigh : Float[Array, ""]
        $\sum (x^\top v)^2$ over the same rows.
    eigenvalue : Float[Array, ""]
        Nyström estimate of $\lVert L v\rVert^2$ ($L$: the light rows) from the last
        completed block (0 before the first).
    heavy : Float[Array, "capacity d"]
        The stored heavy rows, zero-padded.
    num_heavy : Int[Array, ""]
        Heavy rows seen; more than ``capacity`` means the buffer overflowed.
    sum_sq : Float[Array, ""]
        $\sum \lVert x\rVert^2$ over the rows seen.
    count : Int[Array, ""]
        Rows seen.
    """

    v: Float[Array, " d"]
    y: Float[Array, " d"]
    rayleigh: Float[Array, ""]
    eigenvalue: Float[Array, ""]
    heavy: Float[Array, "capacity d"]
    num_heavy: Int[Array, ""]
    sum_sq: Float[Array, ""]
    count: Int[Array, ""]


class RandomOrderTopEigenvector(eqx.Module):
    r"""Kacham & Woodruff's random-order algorithm as a streaming triple.

    Build it with `random_order_top_eigenvector`, which documents the method.

    Attributes
    ----------
    key : PRNGKeyArray
        Draws the starting vector.
    d, num_rows, num_blocks, block_rows, heavy_capacity : int
        Static sizes; ``block_rows`` $= \lceil n / P\rceil$.
    heavy_fraction : float or Array
        $\phi$: a row is heavy when $\lVert x\rVert^2 \ge \phi \widehat{\lVert
        A\rVert_F^2}$.
    throw : bool
        Whether ``result`` raises on overflow or on a stream longer than ``num_rows``.
    """

    key: PRNGKeyArray
    d: int = eqx.field(static=True)
    num_rows: int = eqx.field(static=True)
    num_blocks: int = eqx.field(static=True)
    block_rows: int = eqx.field(static=True)
    heavy_capacity: int = eqx.field(static=True)
    heavy_fraction: Any
    throw: bool = eqx.field(static=True)

    def init(self, dtype: Any = None) -> RandomOrderState:
        """A random unit starting vector, an empty heavy-row buffer, no rows seen."""
        dtype = _float_dtype(dtype)
        v = jr.normal(self.key, (self.d,), dtype)
        zero = jnp.zeros((), dtype)
        return RandomOrderState(
            v / jnp.linalg.norm(v),
            jnp.zeros((self.d,), dtype),
            zero,
            zero,
            jnp.zeros((self.heavy_capacity, self.d), dtype),
            jnp.zeros((), jnp.int32),
            zero,
            jnp.zeros((), jnp.int32),
        )

    def update(self, state: RandomOrderState, block: Float[Array, "b d"]) -> RandomOrderState:
        """Fold in a block of rows, one row at a time (`jax.lax.scan`): $O(bd)$ flops."""
        block = _check_block(block, self.d, state.v.dtype)
        return _random_order_update(self, state, block)

    def result(self, state: RandomOrderState) -> EighResult:
        r"""`EighResult`: eigenvalues (1,) estimating $\sigma_1^2$, eigenvectors (d, 1).

        Raises (with ``throw=True``, also under jit) if more heavy rows were seen than the
        buffer holds or the stream had more than ``num_rows`` rows.
        """
        return _random_order_result(self, state)


@public_jit
def _random_order_update(
    alg: RandomOrderTopEigenvector, state: RandomOrderState, X: Array
) -> RandomOrderState:
    X = _finite(X)
    n, m, cap = alg.num_rows, alg.block_rows, alg.heavy_capacity
    dtype = X.dtype
    phi = jnp.asarray(alg.heavy_fraction, dtype)

    def row(state, x):
        v, y, rayleigh, lam, H, num_heavy, sum_sq, count = state
        # Heavy: ||x||^2 >= phi * F_hat, F_hat = n * (sum of ||a_s||^2 over the rows before
        # x) / (their number), the prefix estimate of ||A||_F^2 (unbiased in random order).
        norm2 = x @ x
        frobenius = n * sum_sq / jnp.maximum(count, 1).astype(dtype)
        heavy = (norm2 >= phi * frobenius) & (norm2 > 0)
        stored = heavy & (num_heavy < cap)
        slot = jnp.minimum(num_heavy, cap - 1)
        H = H.at[slot].set(jnp.where(stored, x, H[slot]))
        num_heavy = num_heavy + heavy.astype(jnp.int32)
        # Light rows (and overflowed heavy ones) feed the block power method; rows past
        # num_rows are ignored by it (result() reports them).
        p = jnp.where(~stored & (count < n), x @ v, 0.0)
        y = y + p * x
        rayleigh = rayleigh + p * p
        # The last row of a power block: v <- y / ||y||, and the Nystrom estimate of the
        # block's Gram matrix C seen through v_prev, (Cv)(Cv)^T / v^T C v, whose eigenvalue
        # ||Cv||^2 / v^T C v is scaled from the block's rows to the stream's.
        start = (count // m) * m
        end = jnp.minimum(start + m, n)
        complete = count + 1 == end
        norm = jnp.linalg.norm(y)
        step = complete & (norm > 0) & (rayleigh > 0)
        scale = n / jnp.maximum(end - start, 1).astype(dtype)
        v = jnp.where(step, y / jnp.where(norm > 0, norm, 1.0), v)
        lam = jnp.where(step, scale * norm**2 / jnp.where(rayleigh > 0, rayleigh, 1.0), lam)
        y = jnp.where(complete, 0.0, y)
        rayleigh = jnp.where(complete, 0.0, rayleigh)
        state = RandomOrderState(v, y, rayleigh, lam, H, num_heavy, sum_sq + norm2, count + 1)
        return state, None

    state, _ = jax.lax.scan(row, state, X)
    return state


@public_jit
def _random_order_result(alg: RandomOrderTopEigenvector, state: RandomOrderState) -> EighResult:
    v, lam, H = state.v, state.eigenvalue, state.heavy
    # Rayleigh-Ritz for M = lam v v^T + H^T H = W^T W, W = [sqrt(lam) v; H], on the row space
    # of W: the top eigenvector of M is W^T u / ||W^T u|| for u the top eigenvector of W W^T.
    W = jnp.concatenate([jnp.sqrt(jnp.maximum(lam, 0.0))[None, None] * v[None, :], H], axis=0)
    w, U = jnp.linalg.eigh(W @ W.T)
    x = W.T @ U[:, -1]
    norm = jnp.linalg.norm(x)
    x = jnp.where(norm > 0, x / jnp.where(norm > 0, norm, 1.0), v)
    eigenvalue = jnp.maximum(w[-1], 0.0)
    if alg.throw:
        x = eqx.error_if(
            x,
            state.num_heavy > alg.heavy_capacity,
            f"random_order_top_eigenvector: more heavy rows were seen than heavy_capacity="
            f"{alg.heavy_capacity} can hold (state.num_heavy counts them); the extra ones were "
            "fed to the power method and the guarantee is lost. Increase heavy_capacity, or "
            "check that the stream is in random order (a sorted stream makes every late row "
            "look heavy). Pass throw=False to get the result anyway.",
        )
        x = eqx.error_if(
            x,
            state.count > alg.num_rows,
            f"random_order_top_eigenvector: the stream had more rows than num_rows="
            f"{alg.num_rows} (state.count counts them); rows past num_rows were ignored by the "
            "power method. Pass the true number of rows.",
        )
    return EighResult(eigenvalue[None], x[:, None])


def random_order_top_eigenvector(
    key: PRNGKeyArray,
    d: int,
    *,
    num_rows: int,
    num_blocks: int | None = None,
    heavy_capacity: int | None = None,
    heavy_fraction: Any = None,
    throw: bool = True,
) -> RandomOrderTopEigenvector:
    r"""Top eigenvector of $A^\top A$ from a stream of rows in random order (Kacham & Woodruff).

    For $A \in \mathbb R^{n \times d}$ whose rows arrive in a uniformly random order,
    Kacham & Woodruff (2024) output a unit $v$ with $|\langle v, v_1\rangle| \ge 1 -
    O(1/\sqrt R)$, $R = \sigma_1^2 / \sigma_2^2$, in $O(h \cdot d \operatorname{polylog} d)$
    bits, $h$ the number of *heavy* rows (squared norm at least $\lVert A\rVert_F^2 / (d
    \operatorname{polylog} d)$). Heavy rows are kept exactly; the *light* rows $L$ feed a
    block power method over consecutive blocks of the stream: in random order, a block of
    $m$ consecutive rows is a uniform sample without replacement, so (matrix Bernstein, the
    light rows having small norm) its Gram matrix $\sum_{x \in \text{block}} x x^\top$ is
    close to $(m/n) L^\top L$, and one power step per block converges like the power method
    on $L^\top L$. This implementation, exactly:

    1. **Heavy rows.** Row $x$ (the $t$-th of the stream) is heavy if $\lVert x\rVert^2 \ge
       \phi \hat F_t$ with $\hat F_t = n \sum_{s < t} \lVert a_s\rVert^2 / (t - 1)$, the
       prefix estimate of $\lVert A\rVert_F^2$ (the paper assumes it known up to a constant
       factor; in a random-order stream the prefix is a uniform sample of rows, so $\hat
       F_t$ is unbiased for every $t$; the first row, with no estimate yet, is always
       stored). Default $\phi = 1 / (d \max(1, \ln d)^2)$, i.e. polylog $= \ln^2 d$. Heavy
       rows go to a buffer of static size ``heavy_capacity``.
    2. **Block power method on the light rows.** The stream is cut into $P$ =
       ``num_blocks`` blocks of $m = \lceil n / P\rceil$ consecutive rows (independent of
       how rows are grouped into ``update`` calls). Over block $p$, $y = \sum x (x^\top
       v_{p-1})$ over its light rows, then $v_p = y / \lVert y\rVert$, starting from a
       Gaussian $v_0$.
    3. **Combination.** At the end, the light part is replaced by the rank-one Nyström
       approximation of the last block's Gram matrix $C$ seen through $v_{P-1}$, scaled to
       the stream: $\hat\lambda\, v_P v_P^\top$ with $\hat\lambda = (n/m) \lVert C
       v_{P-1}\rVert^2 / v_{P-1}^\top C v_{P-1}$, and the output is the exact top
       eigenvector of $\hat\lambda v_P v_P^\top + H^\top H$ (Rayleigh–Ritz on the span of
       $v_P$ and the heavy rows, via the $(h+1) \times (h+1)$ Gram matrix). If $v_1$ lies
       in the light part ($H v_1 \approx 0$, the instance of the issue) this returns
       $\approx v_P$; if the heavy rows carry it, their span supplies it.

    Deviations from the paper, all deliberate: it first subsamples the light rows by their
    norms (to $O(d \operatorname{polylog} d)$ rows, so that the space is independent of
    $n$) and uses a Gaussian sketch in its analysis; here every light row is used (same
    $O(d)$ memory for the light part, less variance), $\lVert A\rVert_F^2$ comes from the
    prefix estimate above, and step 3 is this implementation's way of combining heavy rows
    with the power iterate (the paper's combination and constants are not reproduced). The
    guarantee is only claimed for random order: sorted input breaks the prefix estimate
    (late rows all look heavy and overflow the buffer) and the block sampling argument.

    Parameters
    ----------
    key : PRNGKeyArray
        Draws $v_0$ (in ``init``). The algorithm does not shuffle the stream: the rows must
        already arrive in random order.
    d : int
        Row width (static).
    num_rows : int
        $n$, the length of the stream (static): it sets the blocks and scales the
        Frobenius estimate. A shorter stream is allowed (its last partial block is not used);
        a longer one raises in ``result``.
    num_blocks : int, optional
        $P$, power-method steps, $1 \le P \le n$ (static). Default
        $\lceil \log_2 d\rceil + 4$: enough steps for $\tan\angle(v_p, v_1)$ to fall from
        $\sim\sqrt d$ by a factor $R$ per step for moderate $R$, while each block keeps
        $n / P$ rows to average out the sampling noise (which dominates the error: about
        $d P / (n R)$ for $1 - |\langle v, v_1\rangle|$ on Gaussian rows).
    heavy_capacity : int, optional
        Rows the heavy buffer holds (static, $\ge 1$). Default $d$.
    heavy_fraction : float, optional
        $\phi \in (0, 1]$; see step 1.
    throw : bool
        Raise in ``result`` on buffer overflow or an over-long stream (default); with
        False, overflowed heavy rows are fed to the power method and the result is returned.

    Returns
    -------
    RandomOrderTopEigenvector
        ``init(dtype=None) -> RandomOrderState``, ``update(state, block)``,
        ``result(state) -> EighResult`` with eigenvalues (1,) (an estimate of
        $\sigma_1^2$: the top eigenvalue of $\hat\lambda v_P v_P^\top + H^\top H$) and
        eigenvectors (d, 1), sign arbitrary.

    Raises
    ------
    TypeError, ValueError
        For sizes out of range or a bad `heavy_fraction`; in ``update``, for a block that is
        not (b, d) or not in the state's dtype.
    EquinoxRuntimeError
        In ``update``, if a block holds NaN or Inf; in ``result`` (``throw=True``), on
        overflow of the heavy buffer or more than ``num_rows`` rows.

    Notes
    -----
    Cost per row: $O(d)$ flops (rows are processed one at a time by a `jax.lax.scan`, so
    block boundaries of ``update`` calls and of the power method need not align); the
    final combination $O(h^2 d + h^3)$ for $h$ = ``heavy_capacity``. Memory
    $O((h + 3) d)$.

    References
    ----------
    Kacham & Woodruff (2024), "Approximating the top eigenvector in random order streams",
    NeurIPS 37, arXiv:2412.11963. [kacham2024]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from spectral.streaming import random_order_top_eigenvector
    >>> A = jax.random.normal(jax.random.key(0), (4000, 8)) * jnp.array([4.0] + [1.0] * 7)
    >>> alg = random_order_top_eigenvector(jax.random.key(1), 8, num_rows=4000)
    >>> state = alg.init(A.dtype)
    >>> for X in jnp.split(A, 10):
    ...     state = alg.update(state, X)
    >>> bool(abs(alg.result(state).eigenvectors[0, 0]) > 0.99)
    True
    """
    d = check_int(d, "d", low=1)
    num_rows = check_int(num_rows, "num_rows", low=1)
    if num_blocks is None:
        num_blocks = min(num_rows, math.ceil(math.log2(max(d, 2))) + 4)
    num_blocks = check_int(
        num_blocks, "num_blocks", low=1, high=num_rows, why=" (at most num_rows)"
    )
    heavy_capacity = check_int(
        d if heavy_capacity is None else heavy_capacity, "heavy_capacity", low=1
    )
    if heavy_fraction is None:
        heavy_fraction = 1.0 / (d * max(1.0, math.log(d)) ** 2)
    if isinstance(heavy_fraction, bool) or (
        isinstance(heavy_fraction, int | float) and not 0 < heavy_fraction <= 1
    ):
        raise ValueError(
            f"heavy_fraction must be in (0, 1] (a row is heavy when its squared norm is at "
            f"least heavy_fraction * ||A||_F^2); got heavy_fraction={heavy_fraction!r}."
        )
    if not isinstance(throw, bool):
        raise TypeError(f"throw must be a bool; got {throw!r}.")
    block_rows = -(-num_rows // num_blocks)
    return RandomOrderTopEigenvector(
        key, d, num_rows, num_blocks, block_rows, heavy_capacity, jnp.asarray(heavy_fraction), throw
    )


# --- Frequent Directions -----------------------------------------------------------------


class FrequentDirectionsState(NamedTuple):
    r"""The state of `frequent_directions`.

    Attributes
    ----------
    buffer : Float[Array, "2ell d"]
        The sketch buffer; rows ``filled`` and after are zero.
    filled : Int[Array, ""]
        Rows in use, always $< 2\ell$ between updates.
    shrinkage : Float[Array, ""]
        $\Delta = \sum \delta$ over the shrinks so far: $\lVert A^\top A - B^\top
        B\rVert_2 \le \Delta$.
    frobenius_sq : Float[Array, ""]
        $\lVert A\rVert_F^2$ of the rows seen.
    count : Int[Array, ""]
        Rows seen.
    """

    buffer: Float[Array, "2ell d"]
    filled: Int[Array, ""]
    shrinkage: Float[Array, ""]
    frobenius_sq: Float[Array, ""]
    count: Int[Array, ""]


class FrequentDirectionsResult(NamedTuple):
    r"""A Frequent Directions sketch $B = \operatorname{diag}(S) V_h$ and its certificate.

    Attributes
    ----------
    B : Float[Array, "ell d"]
        The sketch; at most $\ell - 1$ nonzero rows (the last shrink zeroes row $\ell$).
        $0 \preceq A^\top A - B^\top B$ and $\lVert A^\top A - B^\top B\rVert_2 \le$
        ``shrinkage``.
    S : Float[Array, " ell"]
        Singular values of $B$, descending.
    Vh : Float[Array, "ell d"]
        Right singular vectors (rows; zero rows where $d < \ell$).
    frobenius_sq : Float[Array, ""]
        $\lVert A\rVert_F^2$.
    shrinkage : Float[Array, ""]
        $\Delta$, the total shrinkage: the a posteriori bound on $\lVert A^\top A - B^\top
        B\rVert_2$, itself at most $\lVert A - A_k\rVert_F^2 / (\ell - k)$ for every
        $0 \le k < \ell$.
    """

    B: Float[Array, "ell d"]
    S: Float[Array, " ell"]
    Vh: Float[Array, "ell d"]
    frobenius_sq: Float[Array, ""]
    shrinkage: Float[Array, ""]

    def error_bound(self, k: int) -> Float[Array, ""]:
        r"""$(\lVert A\rVert_F^2 - \sum_{i \le k} S_i^2) / (\ell - k)$, for $0 \le k < \ell$.

        FD's guarantee $\lVert A^\top A - B^\top B\rVert_2 \le \lVert A - A_k\rVert_F^2 /
        (\ell - k)$ with the unknown tail $\lVert A - A_k\rVert_F^2 = \lVert A\rVert_F^2 -
        \sum_{i \le k}\sigma_i(A)^2$ replaced by an upper bound computable from the sketch
        ($\sigma_i(B) \le \sigma_i(A)$ since $B^\top B \preceq A^\top A$). So
        ``shrinkage`` $\le$ the guarantee $\le$ ``error_bound(k)``.
        """
        ell = self.B.shape[0]
        k = check_int(k, "k", low=0, high=ell - 1, why=f" (the bound needs k < ell = {ell})")
        return (self.frobenius_sq - jnp.sum(self.S[:k] ** 2)) / (ell - k)


def _shrink(buffer: Array, ell: int) -> tuple[Array, Array, Array, int]:
    """SVD of the buffer, shrunk by its ell-th squared singular value.

    Returns the shrunk singular values (r,), the right singular vectors (r, d), delta, and
    the number of rows that can be nonzero afterwards (static: ell - 1, or r if r < ell, in
    which case delta = 0 and nothing is lost).
    """
    _, s, Vh = jnp.linalg.svd(buffer, full_matrices=False)
    r = s.shape[0]
    delta = s[ell - 1] ** 2 if ell <= r else jnp.zeros((), buffer.dtype)
    s_new = jnp.sqrt(jnp.maximum(s**2 - delta, 0.0))
    return s_new, Vh, delta, (ell - 1 if ell <= r else r)


def _fd_shrink_buffer(buffer: Array, filled: Array, shrinkage: Array):
    ell = buffer.shape[0] // 2
    s, Vh, delta, nonzero = _shrink(buffer, ell)
    rows = (s[:, None] * Vh)[:nonzero]
    buffer = jnp.zeros_like(buffer).at[:nonzero].set(rows)
    return buffer, jnp.asarray(nonzero, filled.dtype), shrinkage + delta


def _fd_insert(buffer: Array, filled: Array, shrinkage: Array, rows: Array, num: Any):
    """Liberty's loop: put rows into zero rows of the buffer; when it is full, shrink."""
    two_ell = buffer.shape[0]
    b = rows.shape[0]
    if b == 0:
        return buffer, filled, shrinkage
    slots = jnp.arange(two_ell, dtype=jnp.int32)

    def cond(carry):
        return carry[3] < num

    def body(carry):
        buffer, filled, shrinkage, pos = carry
        take = jnp.minimum(two_ell - filled, num - pos)
        valid = (slots >= filled) & (slots < filled + take)
        incoming = rows[jnp.clip(pos + slots - filled, 0, b - 1)]
        buffer = jnp.where(valid[:, None], incoming, buffer)
        filled, pos = filled + take, pos + take
        buffer, filled, shrinkage = jax.lax.cond(
            filled == two_ell,
            _fd_shrink_buffer,
            lambda *args: args,
            buffer,
            filled,
            shrinkage,
        )
        return buffer, filled, shrinkage, pos

    pos = jnp.zeros((), jnp.int32)
    buffer, filled, shrinkage, _ = jax.lax.while_loop(cond, body, (buffer, filled, shrinkage, pos))
    return buffer, filled, shrinkage


@public_jit
def _fd_update(state: FrequentDirectionsState, X: Array) -> FrequentDirectionsState:
    X = _finite(X)
    buffer, filled, shrinkage = _fd_insert(
        state.buffer, state.filled, state.shrinkage, X, X.shape[0]
    )
    return FrequentDirectionsState(
        buffer, filled, shrinkage, state.frobenius_sq + jnp.sum(X * X), state.count + X.shape[0]
    )


@public_jit
def _fd_merge(a: FrequentDirectionsState, b: FrequentDirectionsState) -> FrequentDirectionsState:
    buffer, filled, shrinkage = _fd_insert(
        a.buffer, a.filled, a.shrinkage + b.shrinkage, b.buffer, b.filled
    )
    return FrequentDirectionsState(
        buffer, filled, shrinkage, a.frobenius_sq + b.frobenius_sq, a.count + b.count
    )


@public_jit
def _fd_result(state: FrequentDirectionsState) -> FrequentDirectionsResult:
    two_ell, d = state.buffer.shape
    ell = two_ell // 2
    s, Vh, delta, _ = _shrink(state.buffer, ell)
    r = s.shape[0]
    if r >= ell:
        S, Vh = s[:ell], Vh[:ell]
    else:
        S = jnp.concatenate([s, jnp.zeros((ell - r,), s.dtype)])
        Vh = jnp.concatenate([Vh, jnp.zeros((ell - r, d), Vh.dtype)], axis=0)
    return FrequentDirectionsResult(
        S[:, None] * Vh, S, Vh, state.frobenius_sq, state.shrinkage + delta
    )


class FrequentDirections(eqx.Module):
    r"""Liberty's Frequent Directions as a streaming triple; build it with `frequent_directions`.

    Attributes
    ----------
    d, ell : int
        Row width and sketch size (static).
    """

    d: int = eqx.field(static=True)
    ell: int = eqx.field(static=True)

    def init(self, dtype: Any = None) -> FrequentDirectionsState:
        """An empty sketch (default dtype: float64 under x64, else float32)."""
        dtype = _float_dtype(dtype)
        zero = jnp.zeros((), dtype)
        return FrequentDirectionsState(
            jnp.zeros((2 * self.ell, self.d), dtype),
            jnp.zeros((), jnp.int32),
            zero,
            zero,
            jnp.zeros((), jnp.int32),
        )

    def update(
        self, state: FrequentDirectionsState, block: Float[Array, "b d"]
    ) -> FrequentDirectionsState:
        r"""Fold in a block of rows: $O(d \ell)$ amortized flops per row."""
        self._check_state(state, "state")
        block = _check_block(block, self.d, state.buffer.dtype)
        return _fd_update(state, block)

    def merge(
        self, state_a: FrequentDirectionsState, state_b: FrequentDirectionsState
    ) -> FrequentDirectionsState:
        r"""The sketch of the stacked stream $[A_a; A_b]$ from the sketches of $A_a$ and $A_b$.

        The rows of sketch $b$ are streamed into sketch $a$ (Agarwal et al. 2013); the
        shrinkages add, so the merged sketch keeps the guarantee for the stacked matrix:
        $\lVert A^\top A - B^\top B\rVert_2 \le \Delta_a + \Delta_b + \Delta_\text{merge}
        \le \lVert A - A_k\rVert_F^2 / (\ell - k)$. Cost $O(\ell^2 d)$.
        """
        self._check_state(state_a, "state_a")
        self._check_state(state_b, "state_b")
        if state_a.buffer.dtype != state_b.buffer.dtype:
            raise TypeError(
                f"state_a and state_b must have the same dtype; got {state_a.buffer.dtype} and "
                f"{state_b.buffer.dtype}."
            )
        return _fd_merge(state_a, state_b)

    def result(self, state: FrequentDirectionsState) -> FrequentDirectionsResult:
        r"""The $\ell \times d$ sketch: the buffer shrunk once more by its $\sigma_\ell^2$."""
        self._check_state(state, "state")
        return _fd_result(state)

    def _check_state(self, state: Any, name: str) -> None:
        shape = tuple(getattr(getattr(state, "buffer", None), "shape", ()))
        if not isinstance(state, FrequentDirectionsState) or shape != (2 * self.ell, self.d):
            raise ValueError(
                f"{name} must be a FrequentDirectionsState of this sketch, with a buffer of "
                f"shape (2 ell, d) = ({2 * self.ell}, {self.d}); got "
                f"{type(state).__name__} with buffer shape {shape}."
            )


def frequent_directions(d: int, ell: int) -> FrequentDirections:
    r"""Frequent Directions: a deterministic $\ell \times d$ sketch, $B^\top B \approx A^\top A$.

    The "fast" variant of Liberty's algorithm (Ghashami, Liberty, Phillips & Woodruff 2016,
    Algorithm 3.1) with a $2\ell \times d$ buffer: each row goes into a zero row of the
    buffer; when no zero row is left, the buffer is replaced by its SVD $U \Sigma V^\top$
    shrunk by $\delta = \sigma_\ell^2$,

    $$B \leftarrow \sqrt{\max(\Sigma^2 - \delta I, 0)}\; V^\top,$$

    which zeroes rows $\ell, \dots, 2\ell$ (at most $\ell - 1$ nonzero rows remain).
    ``result`` shrinks once more to return $\ell$ rows. With $\Delta = \sum \delta$ over all
    shrinks,

    $$0 \preceq A^\top A - B^\top B \preceq \Delta I, \qquad
    \Delta \le \frac{\lVert A - A_k\rVert_F^2}{\ell - k}\quad (0 \le k < \ell),$$

    because each shrink removes at least $\ell\delta$ from $\lVert B\rVert_F^2$. The sketch
    is mergeable: ``merge(state_a, state_b)`` sketches the stacked matrix with the same
    guarantee. The state tracks $\lVert A\rVert_F^2$ and $\Delta$, so ``result`` returns the
    certificate with the sketch.

    Parameters
    ----------
    d : int
        Row width (static).
    ell : int
        $\ell \ge 1$, the sketch size (static); $\ell > d$ is allowed (the sketch is then
        exact).

    Returns
    -------
    FrequentDirections
        ``init(dtype=None)``, ``update(state, block)``, ``merge(state_a,
        state_b)``, ``result(state) -> FrequentDirectionsResult`` (`B`, `S`, `Vh`,
        `frobenius_sq`, `shrinkage`; ``error_bound(k)`` for the guarantee).

    Raises
    ------
    TypeError, ValueError
        For `d` or `ell` out of range ($\ell < 1$); in ``update``, for a block that is not
        (b, d) or not in the state's dtype; in ``error_bound``, for $k \ge \ell$ or $k < 0$.
    EquinoxRuntimeError
        In ``update``, if a block holds NaN or Inf.

    Notes
    -----
    Cost: one SVD of the $2\ell \times d$ buffer ($O(\ell^2 d)$) every $\ell + 1$ rows, so
    $O(\ell d)$ amortized flops per row; memory $2\ell d$ numbers. Deterministic: the same
    rows in the same order give the same sketch; the guarantee holds for every order.

    References
    ----------
    Liberty (2013), "Simple and deterministic matrix sketching", KDD, arXiv:1206.0594.
    [liberty2013] Ghashami, Liberty, Phillips & Woodruff (2016), "Frequent Directions:
    simple and deterministic matrix sketching", SIAM J. Comput. 45(5), arXiv:1501.01711.
    [ghashami2016] Agarwal, Cormode, Huang, Phillips, Wei & Yi (2013), "Mergeable
    summaries", ACM TODS 38(4). [agarwal2013]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from spectral.streaming import frequent_directions
    >>> A = jax.random.normal(jax.random.key(0), (500, 30))
    >>> fd = frequent_directions(30, 10)
    >>> state = fd.init(A.dtype)
    >>> for X in jnp.split(A, 5):
    ...     state = fd.update(state, X)
    >>> res = fd.result(state)
    >>> err = jnp.linalg.norm(A.T @ A - res.B.T @ res.B, 2)
    >>> bool(err <= res.shrinkage * (1 + 1e-5) <= res.error_bound(0) * (1 + 1e-5))
    True
    """
    d = check_int(d, "d", low=1)
    ell = check_int(ell, "ell", low=1, why=" (the number of rows of the sketch)")
    return FrequentDirections(d, ell)
