r"""GP-HM: Gaussian-process solver for high-frequency and multi-scale PDEs on grids.

Fang, Cooley, Long, Li, Kirby & Zhe (2024), "Solving High Frequency and Multi-Scale PDEs
with Gaussian Processes", ICLR. [fang2024]

The unknowns are the solution's values $\mathcal U$ on a collocation grid
$x^{(1)} \times \dots \times x^{(d)}$ ($m_j$ points on axis $j$, $M = \prod_j m_j$), a GP
sample with the product kernel $k(x, x') = \prod_j k_j(x_j - x'_j)$, so its covariance on
the grid is $K = \otimes_j K_j$ exactly. Each $k_j$ is a spectral mixture with $Q$
components,

$$k_j(\tau) = \sum_{q=1}^{Q} w_{jq}\, e(\tau / \ell_{jq}) \cos(2\pi \mu_{jq} \tau),$$

the covariance of a power spectrum that is a mixture of Gaussians ($e$ the Gaussian
envelope) or of Student-t peaks ($e$ the Matérn envelope), so the learned frequencies
$\mu_{jq}$ can sit on the solution's dominant frequencies. The weights are optimized as
$\log w$, which is a Jeffreys prior $p(w) \propto 1/w$ on them: it drives the weights of
unneeded components to zero (the paper's pruning).

**Derivatives through the GP conditional mean.** Given $\mathcal U$, the GP mean's
derivative along axis $j$ at the grid is $\mathcal U \times_j (K_j^{(r)} K_j^{-1})$, with
$K_j^{(r)} = [\partial_x^r k_j(x_a - x_b)]_{ab}$ (autodiff of the scalar kernel): a solve and
a product along one mode, $O(M m_j)$ after the $O(m_j^3)$ Cholesky factorization of $K_j$.

**The MAP loss** (negated log joint) for a PDE residual $r(\mathcal U)$ on the grid and
boundary values $g$ on the boundary points $B$ ($n_B$ of them):

$$L = \tfrac12 \sum_j \tfrac{M}{m_j} \log\lvert K_j\rvert + \tfrac12 \operatorname{vec}
(\mathcal U)^\top K^{-1} \operatorname{vec}(\mathcal U)
- \lambda_b \big(\tfrac{n_B}{2} \log\tau - \tfrac\tau2 \lVert \mathcal U_B - g\rVert^2\big)
- \big(\tfrac{M}{2} \log v - \tfrac v2 \lVert r(\mathcal U) \rVert^2\big),$$

with learned precisions $\tau$, $v$ and the boundary weight $\lambda_b$ (200 in the paper).
All of $\mathcal U$, the kernel parameters, $\log\tau$ and $\log v$ are optimized with Adam.
One step costs $O(\sum_j (Q m_j^2 + m_j^3) + M \sum_j m_j)$ and $O(\sum_j m_j^2 + M)$ memory:
on a $300 \times 300$ grid, a few $300 \times 300$ factorizations and mode products, never a
$90\,000 \times 90\,000$ matrix.

**Prediction** at a test grid is the GP mean, $\mathcal U \times_1 (K_{*1} K_1^{-1})
\cdots \times_d (K_{*d} K_d^{-1})$ with the cross-covariances $K_{*j}$.

A PDE is a `GridPDE`: the grid, a residual function of a `GridField` (the GP mean's values
and derivatives on the grid) and the boundary values. `poisson_residual`,
`allen_cahn_residual` and `advection_residual` build the paper's equations.
"""

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import optax
from jaxtyping import Array, Float

from ._checks import check_choice, check_int, full_precision_products
from ._optimize import minimize
from .gp import DEFAULT_OPTIMIZER, kernel_matrix, spectral_mixture, toeplitz_kernel_matrix
from .kronecker import along_axis, mode_apply

ENVELOPES = ("gaussian", "matern52")


class GridPDE(eqx.Module):
    r"""A PDE on a tensor grid: residual $r(u) = 0$ inside, $u = g$ on the boundary points.

    Parameters
    ----------
    grid : sequence of 1-D Array
        The collocation points of each axis, $x^{(j)}$ of length $m_j \ge 2$.
    residual : callable
        ``residual(u: GridField) -> Array`` of the grid's shape $(m_1, \dots, m_d)$: the PDE
        residual at every grid point, from ``u.values`` and ``u.derivative(axis, order)``
        (a source term is closed over, sampled on the grid).
    boundary_values : Array
        Shape $(m_1, \dots, m_d)$; read where `boundary_mask` is true.
    boundary_mask : bool Array, optional
        Which grid points carry a boundary condition. Default: every point on a face of
        the grid's box (the two end points in 1-D).
    """

    grid: tuple[Array, ...]
    residual: Callable = eqx.field(static=True)
    boundary_values: Array
    boundary_mask: Array
    uniform: tuple[bool, ...] = eqx.field(static=True)

    def __init__(
        self,
        grid: Sequence[Array],
        residual: Callable,
        boundary_values: Array,
        boundary_mask: Array | None = None,
    ):
        if not isinstance(grid, list | tuple) or not grid:
            raise TypeError(
                f"grid must be a non-empty sequence of 1-D coordinate arrays, one per axis; "
                f"got {type(grid).__name__}."
            )
        grid = tuple(jnp.asarray(x) for x in grid)
        for j, x in enumerate(grid):
            if x.ndim != 1 or x.shape[0] < 2:
                raise ValueError(
                    f"grid[{j}] must be a 1-D array of >= 2 points; got shape {x.shape}."
                )
            if not jnp.issubdtype(x.dtype, jnp.floating):
                raise TypeError(f"grid[{j}] must be floating point; got dtype {x.dtype}.")
        shape = tuple(x.shape[0] for x in grid)
        if len({x.dtype for x in grid}) != 1:
            raise TypeError(f"grid axes must share one dtype; got {[x.dtype for x in grid]}.")
        if not callable(residual):
            raise TypeError(f"residual must be callable; got {type(residual).__name__}.")
        boundary_values = jnp.asarray(boundary_values, dtype=grid[0].dtype)
        if boundary_values.shape != shape:
            raise ValueError(
                f"boundary_values must have the grid's shape {shape}; got shape "
                f"{boundary_values.shape}."
            )
        if boundary_mask is None:
            boundary_mask = _faces(shape)
        boundary_mask = jnp.asarray(boundary_mask)
        if boundary_mask.shape != shape or boundary_mask.dtype != jnp.bool_:
            raise ValueError(
                f"boundary_mask must be a bool array of the grid's shape {shape}; got "
                f"{boundary_mask.dtype} of shape {boundary_mask.shape}."
            )
        self.grid = grid
        self.residual = residual
        self.boundary_values = boundary_values
        self.boundary_mask = boundary_mask
        self.uniform = tuple(_is_uniform(x) for x in grid)

    def kernel_matrix(self, kernel: Callable, axis: int, derivative: int = 0) -> Array:
        r"""$[\partial_x^r k_j(x_a - x_b)]_{ab}$ on axis `axis` (Toeplitz when it is uniform)."""
        x = self.grid[axis]
        if self.uniform[axis]:
            m = x.shape[0]
            spacing = (x[-1] - x[0]) / (m - 1)
            return toeplitz_kernel_matrix(kernel, spacing, m, derivative=derivative)
        return kernel_matrix(kernel, x, x, derivative=derivative)

    @property
    def shape(self) -> tuple[int, ...]:
        r"""The grid's shape $(m_1, \dots, m_d)$."""
        return tuple(x.shape[0] for x in self.grid)


def _is_uniform(x: Array) -> bool:
    """Whether the (concrete) points are evenly spaced to rounding; False for traced ones."""
    if isinstance(x, jax.core.Tracer):
        return False
    x = np.asarray(x)
    step = np.diff(x)
    tol = 64 * np.finfo(x.dtype).eps * np.max(np.abs(x))
    return bool(np.all(np.abs(step - step.mean()) <= tol) and step[0] > 0)


def _faces(shape: tuple[int, ...]) -> Array:
    mask = jnp.zeros(shape, dtype=bool)
    for j, m in enumerate(shape):
        index = [slice(None)] * len(shape)
        for end in (0, m - 1):
            index[j] = end
            mask = mask.at[tuple(index)].set(True)
    return mask


class GPHMParams(eqx.Module):
    """Everything GP-HM optimizes; the kernel parameters have one row per grid axis."""

    values: Array  # the solution on the grid, shape (m_1, ..., m_d)
    log_weights: Float[Array, "d q"]
    frequencies: Float[Array, "d q"]  # cycles per unit length
    log_lengthscales: Float[Array, "d q"]
    log_boundary_precision: Float[Array, ""]
    log_residual_precision: Float[Array, ""]


class GPHMResult(NamedTuple):
    """`params` at the end; `losses[i]` before step i; `checkpoints`: params after each segment."""

    params: GPHMParams
    losses: Float[Array, " steps"]
    checkpoints: GPHMParams


class GridField:
    r"""The GP conditional mean given $\mathcal U$ on the grid, as a PDE residual sees it.

    ``values`` is $\mathcal U$; ``derivative(axis, order)`` is
    $\partial^r u / \partial x_j^r$ at the grid, $\mathcal U \times_j (K_j^{(r)} K_j^{-1})$;
    ``coordinates`` are the grid's points, one array of the grid's shape per axis.
    """

    def __init__(self, values: Array, pde: "GridPDE", kernels, factors, whitened=None):
        self.values = values
        self.grid = pde.grid
        self._pde = pde
        self._kernels = kernels
        self._factors = factors
        # K_j^{-1} applied along axis j, computed once per axis (both orders use it); in 1-D
        # the caller may already have it from the prior term.
        self._whitened: dict[int, Array] = {} if whitened is None else {0: whitened}

    @property
    def ndim(self) -> int:
        """The number of grid axes $d$."""
        return len(self.grid)

    @property
    def coordinates(self) -> tuple[Array, ...]:
        """The grid points, one array of the grid's shape per axis (``indexing="ij"``)."""
        return tuple(jnp.meshgrid(*self.grid, indexing="ij"))

    def derivative(self, axis: int, order: int = 1) -> Array:
        r"""$\partial^r u / \partial x_j^r$ on the grid, $r$ = `order` (1 or 2), $j$ = `axis`."""
        axis = check_int(axis, "axis", low=0, high=self.ndim - 1)
        order = check_int(order, "order", low=1, high=2)
        if axis not in self._whitened:  # K_j^{-1} along the axis, shared by both orders
            L = self._factors[axis]
            self._whitened[axis] = along_axis(L.solve, self.values, axis)
        K_r = self._pde.kernel_matrix(self._kernels[axis], axis, order)
        return along_axis(lambda X: K_r @ X, self._whitened[axis], axis)


class GPHM(eqx.Module):
    r"""The GP-HM solver's settings (Fang et al. 2024); methods `init`, `loss`, `solve`, `predict`.

    Attributes
    ----------
    components : int
        $Q$, mixture components per axis (30 in the paper).
    envelope : {"matern52", "gaussian"}
        Student-t (Matérn 5/2 envelope) or Gaussian mixture spectrum.
    max_frequency : float
        Initial frequencies are spread evenly on $[0, \text{max\_frequency}]$, in cycles per
        unit length (the paper: 20 on $[0, 2\pi]$, angular frequencies up to 126). ``0``
        gives the plain SE / Matérn mixture baseline: $\partial k / \partial\mu = 0$ at
        $\mu = 0$, so the frequencies stay at zero.
    lengthscale : float
        Initial envelope length scale $\ell$ of every component.
    boundary_weight : float
        $\lambda_b$, the weight of the boundary likelihood (200 in the paper).
    jitter : float
        Added to each $K_j$'s diagonal ($10^{-6}$ in the paper).
    """

    components: int = eqx.field(static=True, default=30)
    envelope: str = eqx.field(static=True, default="matern52")
    max_frequency: float = eqx.field(static=True, default=20.0)
    lengthscale: float = eqx.field(static=True, default=1.0)
    boundary_weight: float = eqx.field(static=True, default=200.0)
    jitter: float = eqx.field(static=True, default=1e-6)

    def __check_init__(self):
        check_int(self.components, "components", low=1)
        check_choice(self.envelope, "envelope", ENVELOPES)
        for name in ("max_frequency", "lengthscale", "boundary_weight", "jitter"):
            value = getattr(self, name)
            positive = name == "lengthscale"
            if not isinstance(value, int | float) or value < 0 or (positive and value == 0):
                kind = "positive" if positive else "non-negative"
                raise ValueError(f"{name} must be a {kind} Python float; got {value!r}.")

    def init(self, pde: GridPDE) -> GPHMParams:
        r"""The paper's initialization: $\mathcal U = 0$, $w_q = 1/Q$, precisions 1."""
        _check_pde(pde)
        d, Q, dtype = len(pde.grid), self.components, pde.grid[0].dtype
        row = jnp.ones((d, Q), dtype)
        return GPHMParams(
            values=jnp.zeros(pde.shape, dtype),
            log_weights=row * math.log(1.0 / Q),
            frequencies=row * jnp.linspace(0.0, self.max_frequency, Q, dtype=dtype)[None, :],
            log_lengthscales=row * math.log(self.lengthscale),
            log_boundary_precision=jnp.zeros((), dtype),
            log_residual_precision=jnp.zeros((), dtype),
        )

    def kernels(self, params: GPHMParams) -> list[Callable[[Array], Array]]:
        r"""The per-axis spectral-mixture kernels $k_j(\tau)$ at `params`."""
        return [
            (
                lambda tau, j=j: spectral_mixture(
                    tau,
                    jnp.exp(params.log_weights[j]),
                    params.frequencies[j],
                    jnp.exp(params.log_lengthscales[j]),
                    envelope=self.envelope,
                )
            )
            for j in range(params.log_weights.shape[0])
        ]

    def _factorize(self, params: GPHMParams, pde: GridPDE):
        kernels = self.kernels(params)
        factors = []
        for j, (k, x) in enumerate(zip(kernels, pde.grid, strict=True)):
            K = pde.kernel_matrix(k, j) + self.jitter * jnp.eye(x.shape[0], dtype=x.dtype)
            factors.append(_SPDFactor(K, f"the kernel matrix of axis {j}"))
        return kernels, factors

    @full_precision_products
    def loss(self, params: GPHMParams, pde: GridPDE) -> Float[Array, ""]:
        """The negated log joint $L$ of the module docstring (up to a constant)."""
        _check_params(params, pde)
        kernels, factors = self._factorize(params, pde)
        U = params.values
        M = U.size
        logdet = sum((M // L.size) * L.logdet() for L in factors)
        whitened = _whiten(U, factors)
        prior = 0.5 * logdet + 0.5 * jnp.sum(U * whitened)

        # in 1-D, K^{-1} U is also what the derivatives need
        field = GridField(U, pde, kernels, factors, whitened if U.ndim == 1 else None)
        residual = pde.residual(field)
        if jnp.shape(residual) != U.shape:
            raise ValueError(
                f"pde.residual must return an array of the grid's shape {U.shape}; got shape "
                f"{jnp.shape(residual)}."
            )
        gap = jnp.where(pde.boundary_mask, U - pde.boundary_values, 0.0)
        n_boundary = jnp.sum(pde.boundary_mask).astype(U.dtype)
        log_tau, log_v = params.log_boundary_precision, params.log_residual_precision
        boundary = 0.5 * n_boundary * log_tau - 0.5 * jnp.exp(log_tau) * jnp.sum(gap**2)
        equation = 0.5 * M * log_v - 0.5 * jnp.exp(log_v) * jnp.sum(residual**2)
        return prior - self.boundary_weight * boundary - equation

    def solve(
        self,
        pde: GridPDE,
        params: GPHMParams | None = None,
        *,
        steps: int,
        checkpoints: int = 1,
        optimizer: optax.GradientTransformation | None = None,
    ) -> GPHMResult:
        """Minimize `loss` by `steps` updates of `optimizer` (Adam, learning rate 0.01).

        One jitted `lax.scan`; `checkpoints` (dividing `steps`) keeps the parameters after
        each of that many equal segments, for the error history the paper logs.
        """
        _check_pde(pde)
        steps = check_int(steps, "steps", low=1)
        checkpoints = check_int(checkpoints, "checkpoints", low=1, high=steps)
        if steps % checkpoints:
            raise ValueError(
                f"checkpoints must divide steps; got steps={steps}, checkpoints={checkpoints}."
            )
        params = self.init(pde) if params is None else params
        _check_params(params, pde)
        # one shared instance: optax transformations are hashed by the identity of their
        # functions, so a fresh optax.adam per call would recompile every `solve`
        optimizer = DEFAULT_OPTIMIZER if optimizer is None else optimizer
        return GPHMResult(*_run(self, pde, params, steps, checkpoints, optimizer))

    @full_precision_products
    def predict(self, params: GPHMParams, pde: GridPDE, test_grid: Sequence[Array]) -> Array:
        r"""The GP mean on the tensor grid `test_grid`, $\mathcal U \times_j (K_{*j} K_j^{-1})$."""
        _check_params(params, pde)
        test_grid = tuple(jnp.asarray(x) for x in test_grid)
        if len(test_grid) != len(pde.grid) or any(x.ndim != 1 for x in test_grid):
            raise ValueError(
                f"test_grid must be {len(pde.grid)} 1-D coordinate arrays (one per axis); got "
                f"shapes {[x.shape for x in test_grid]}."
            )
        kernels, factors = self._factorize(params, pde)
        cross = [
            kernel_matrix(k, xt, x) for k, xt, x in zip(kernels, test_grid, pde.grid, strict=True)
        ]
        return mode_apply(_whiten(params.values, factors), cross)


class _SPDFactor:
    r"""A symmetric positive definite matrix with its Cholesky factor, for cheap derivatives.

    Solves go through `lax.custom_linear_solve`, so their derivative is implicit (one more
    solve with the same factor and a product with the tangent of `K`) rather than through
    the factorization; the log-determinant's JVP is $\operatorname{tr}(K^{-1} dK)$.
    """

    def __init__(self, K: Array, what: str):
        L = jnp.linalg.cholesky(jax.lax.stop_gradient(K))
        self.K = K
        self.size = K.shape[0]
        self.L = eqx.error_if(
            L,
            ~jnp.all(jnp.isfinite(L)),
            f"{what} is not numerically positive definite; raise jitter.",
        )

    def solve(self, X: Array) -> Array:
        return jax.lax.custom_linear_solve(
            lambda V: self.K @ V, X, lambda _, B: jsl.cho_solve((self.L, True), B), symmetric=True
        )

    def logdet(self) -> Array:
        return _logdet(self.K, self.L)


@jax.custom_jvp
def _logdet(K: Array, L: Array) -> Array:
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(L)))


@_logdet.defjvp
@full_precision_products
def _logdet_jvp(primals, tangents):
    K, L = primals
    dK, _ = tangents  # L is K's factor with its gradient stopped: its tangent is zero
    inverse = jsl.cho_solve((L, True), jnp.eye(K.shape[0], dtype=K.dtype))
    return _logdet(K, L), jnp.sum(inverse * dK)


def _whiten(U: Array, factors: list["_SPDFactor"]) -> Array:
    r"""$K^{-1} \operatorname{vec}(\mathcal U)$ as a grid tensor: a solve along each mode."""
    for j, L in enumerate(factors):
        U = along_axis(L.solve, U, j)
    return U


@eqx.filter_jit
def _run(solver: GPHM, pde: GridPDE, params, steps, checkpoints, optimizer):
    return minimize(
        lambda p: solver.loss(p, pde),
        params,
        steps=steps,
        optimizer=optimizer,
        checkpoints=checkpoints,
    )


def _check_pde(pde) -> None:
    if not isinstance(pde, GridPDE):
        raise TypeError(f"pde must be a spectral.GridPDE; got {type(pde).__name__}.")


def _check_params(params, pde: GridPDE) -> None:
    if not isinstance(params, GPHMParams):
        raise TypeError(f"params must be GPHMParams (from GPHM.init); got {type(params).__name__}.")
    if params.values.shape != pde.shape or params.log_weights.shape[0] != len(pde.grid):
        raise ValueError(
            f"params do not fit the grid {pde.shape}: values have shape {params.values.shape} "
            f"and the kernel parameters {params.log_weights.shape[0]} rows (one per axis)."
        )


# ---------------------------------------------------------------------------------------
# The paper's equations, as residual functions of a GridField


def poisson_residual(source: Array) -> Callable[[GridField], Array]:
    r"""$\Delta u - f$ on the grid ($\sum_j \partial_j^2 u = f$), `source` $f$ sampled there."""
    return lambda u: sum(u.derivative(j, 2) for j in range(u.ndim)) - source


def allen_cahn_residual(source: Array) -> Callable[[GridField], Array]:
    r"""$\Delta u + u(u^2 - 1) - f$ on the grid: the Allen–Cahn equation of the paper."""

    def residual(u: GridField) -> Array:
        v = u.values
        return sum(u.derivative(j, 2) for j in range(u.ndim)) + v * (v * v - 1.0) - source

    return residual


def advection_residual(
    velocity: float, *, time_axis: int = 0, space_axis: int = 1
) -> Callable[[GridField], Array]:
    r"""$u_t + \beta u_x$ on a (time, space) grid, $\beta$ = `velocity`."""
    return lambda u: u.derivative(time_axis, 1) + velocity * u.derivative(space_axis, 1)
