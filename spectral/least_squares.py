r"""Weighted least squares from random samples: i.i.d., optimal, DPP and volume-rescaled designs.

Approximate $f \in L^2(\mu)$ in an $m$-dimensional space $V_m$ spanned by an orthonormal
feature map $\varphi = (\varphi_1, \dots, \varphi_m)$, from evaluations at random points
$x_1, \dots, x_n$ with weights $w_i$:

$$\hat f = \arg\min_{v \in V_m} \frac1n \sum_{i=1}^n w_i \bigl(f(x_i) - v(x_i)\bigr)^2,
\qquad G = \frac1n \sum_{i=1}^n w_i\, \varphi(x_i) \varphi(x_i)^\top .$$

The empirical Gram matrix $G$ decides stability: if $\lVert G - I\rVert_2 \le 1/2$, then
$\lVert f - \hat f\rVert$ is within a constant of the best approximation error
$\lVert f - P_m f\rVert$ (in the $L^\infty$-type norm of the samples). The designs, with
$k_m(x) = \lVert \varphi(x)\rVert_2^2$ the inverse Christoffel function
($\int k_m\, d\mu = m$):

- ``"uniform"``: i.i.d. $x_i \sim \mu$, $w_i = 1$ (stable for $n \gtrsim \lVert k_m
  \rVert_\infty \log m$, i.e. $m^2 \log m$ for Legendre polynomials);
- ``"optimal"``: i.i.d. from the density $k_m / m$ with respect to $\mu$, weights
  $w = m / k_m$ (Cohen & Migliorati 2017: stable with high probability for
  $n \gtrsim m \log m$);
- ``"dpp"``: the projection DPP of the kernel $\sum_j \varphi_j(x)\varphi_j(y)$: exactly
  $n = m$ points, repulsive, each with marginal density $k_m / m$, weights $m / k_m$;
- ``"volume_rescaled"``: Nouy & Michel's generalized volume-rescaled sampling, a projection
  DPP of $m$ points together with $n - m$ i.i.d. optimal points (quasi-optimal in
  expectation for $n = O(m \log m)$);
- ``"dpp_repetitions"``: $n / m$ independent projection DPPs ($n$ a multiple of $m$).

Sampling is exact, by rejection from an envelope $E \ge k_m$ the feature map can sample
(density $E / M$ with respect to $\mu$, $M = \int E\, d\mu$; by default the constant
$\sup k_m$ and $\mu$ itself): i.i.d. optimal points accept with probability
$k_m(x) / E(x)$; the projection DPP follows the chain rule (Hough et al. 2006), point
$i + 1$ from the density $\lVert (I - P_i)\varphi(x)\rVert^2 / (m - i)$ with $P_i$ the
projection onto the features of the points so far, accepted with probability
$\lVert (I - P_i)\varphi(x)\rVert^2 / E(x)$. Expected proposals: $nM / m$ for i.i.d.
optimal points, $M \sum_{i<m} 1/(m-i) \approx M \log m$ for one DPP; each costs one
feature evaluation, $O(m)$. For Legendre polynomials the arcsine envelope gives
$M \approx 2m$ (against $\sup k_m = m^2$).

References
----------
Nouy & Michel (2023), "Weighted least-squares approximation with determinantal point
processes and generalized volume sampling". [nouy2023] Cohen & Migliorati (2017),
"Optimal weighted least-squares methods", SMAI J. Comput. Math. [cohen2017]
"""

import abc
import math
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._checks import check_choice, check_int, public_jit
from .sampling import _orthonormal_extension

DESIGNS = ("uniform", "optimal", "dpp", "volume_rescaled", "dpp_repetitions")


class FeatureMap(eqx.Module):
    r"""An orthonormal feature map $\varphi: \mathcal X \to \mathbb R^m$ of $V_m \subset L^2(\mu)$.

    Abstract: subclass it for your own space, with the fields `dim` and `christoffel_sup`
    and the methods `__call__` and `sample_measure` (`LegendreFeatures` is an example).
    Rejection sampling proposes from $\mu$ and accepts with probability $k_m(x) /$
    `christoffel_sup`; a subclass that knows a tighter envelope $E(x) \ge k_m(x)$ it can
    sample from (density $\propto E\, d\mu$) overrides `envelope`, `sample_envelope` and
    `envelope_mass` $= \int E\, d\mu$, the expected proposals per accepted point of the
    last, hardest DPP step.

    Attributes
    ----------
    dim : int
        $m$ (static).
    christoffel_sup : float
        An upper bound of $k_m(x) = \lVert \varphi(x)\rVert^2$ over $\mathcal X$ (at least
        $m$, static). A loose bound costs time; a bound that is too small biases the samples.
    """

    dim: eqx.AbstractVar[int]
    christoffel_sup: eqx.AbstractVar[float]

    @abc.abstractmethod
    def __call__(self, x: Array) -> Float[Array, "n m"]:
        r"""$\varphi$ at points ``(n, *event)``: ``(n, m)``, orthonormal in $L^2(\mu)$."""

    @abc.abstractmethod
    def sample_measure(self, key: PRNGKeyArray, n: int) -> Array:
        r"""$n$ i.i.d. points from $\mu$, shape ``(n, *event)``."""

    def envelope(self, x: Array) -> Float[Array, " n"]:
        r"""$E(x) \ge k_m(x)$ at the points `x` (by default the constant `christoffel_sup`)."""
        return jnp.full(x.shape[:1], self.christoffel_sup, x.dtype)

    def sample_envelope(self, key: PRNGKeyArray, n: int) -> Array:
        r"""$n$ i.i.d. points from the density $E / \int E\, d\mu$ (by default $\mu$)."""
        return self.sample_measure(key, n)

    @property
    def envelope_mass(self) -> float:
        r"""$\int E\, d\mu$ (static; by default `christoffel_sup`)."""
        return self.christoffel_sup


class LegendreFeatures(FeatureMap):
    r"""Orthonormal Legendre polynomials $\sqrt{2i+1}\, P_i$, $i < m$, on $[-1, 1]$, $\mu = dx/2$.

    $k_m(x) = \sum_{i<m} (2i + 1) P_i(x)^2$ peaks at $x = \pm 1$, where it equals $m^2$
    (`christoffel_sup`). Rejection sampling uses the arcsine envelope from Bernstein's
    inequality $\sqrt{\sin\theta}\, |P_j(\cos\theta)| < \sqrt{2 / (\pi j)}$ (Szegő,
    Thm. 7.3.3): $k_m(x) \le B_m / \sqrt{1 - x^2}$ with $B_m = 1 + \sum_{j=1}^{m-1}
    2(2j + 1) / (\pi j)$, whose mass $\int E\, d\mu = \pi B_m / 2 \approx 2m$ is far
    below $m^2$: about two proposals per i.i.d. optimal point instead of $m$. Points are
    1-D arrays; evaluation is $O(nm)$ by the three-term recurrence.

    Attributes
    ----------
    dim : int
        $m$, the number of polynomials (degrees $0, \dots, m - 1$).
    christoffel_sup : float
        $m^2$.
    """

    dim: int = eqx.field(static=True)
    christoffel_sup: float = eqx.field(static=True)

    def __init__(self, dim: int):
        self.dim = check_int(dim, "dim", low=1)
        self.christoffel_sup = float(self.dim**2)

    def __call__(self, x: Array) -> Float[Array, "n m"]:
        """The $m$ orthonormal Legendre polynomials at the points `x` ``(n,)``."""
        x = jnp.asarray(x)

        def step(carry, i):
            previous, current = carry
            following = ((2 * i + 1) * x * current - i * previous) / (i + 1)
            return (current, following), current

        degrees = jnp.arange(self.dim, dtype=x.dtype)
        _, values = jax.lax.scan(step, (jnp.zeros_like(x), jnp.ones_like(x)), degrees)
        return (values * jnp.sqrt(2 * degrees + 1)[:, None]).T

    def sample_measure(self, key: PRNGKeyArray, n: int) -> Float[Array, " n"]:
        """$n$ i.i.d. uniform points on $[-1, 1]$."""
        return jax.random.uniform(key, (n,), minval=-1.0, maxval=1.0)

    @property
    def _bernstein(self) -> float:
        return 1 + sum(2 * (2 * j + 1) / (math.pi * j) for j in range(1, self.dim))

    def envelope(self, x: Array) -> Float[Array, " n"]:
        r"""$B_m / \sqrt{1 - x^2}$."""
        return self._bernstein / jnp.sqrt(jnp.maximum(1 - x * x, 0.0))

    def sample_envelope(self, key: PRNGKeyArray, n: int) -> Float[Array, " n"]:
        r"""The arcsine (Chebyshev) law $x = \cos(\pi U)$."""
        return jnp.cos(jnp.pi * jax.random.uniform(key, (n,)))

    @property
    def envelope_mass(self) -> float:
        r"""$\pi B_m / 2$."""
        return math.pi * self._bernstein / 2


class Design(NamedTuple):
    """Sample points and their least-squares weights.

    Attributes
    ----------
    points : Array
        ``(n, *event)`` points.
    weights : Float[Array, " n"]
        $w_i$ ($m / k_m(x_i)$ for every design but ``"uniform"``, whose weights are 1).
    """

    points: Array
    weights: Float[Array, " n"]


class WLSResult(NamedTuple):
    r"""A weighted least-squares fit.

    Attributes
    ----------
    coefficients : Float[Array, " m"]
        $\hat c$ with $\hat f = \sum_j \hat c_j \varphi_j$ (shape ``(m, q)`` for ``q``
        functions fitted at once).
    gram : Float[Array, "m m"]
        The empirical Gram matrix $G = \frac1n \sum_i w_i \varphi(x_i)\varphi(x_i)^\top$.
    """

    coefficients: Array
    gram: Float[Array, "m m"]


def _batch(features: FeatureMap) -> int:
    """Proposals per rejection round: about two accepted points at the worst acceptance."""
    return int(min(4096, max(64, 2 * math.ceil(features.envelope_mass))))


def _rejection_fill(
    key: PRNGKeyArray, features: FeatureMap, n: int, density: Callable[[Array], Array]
) -> Array:
    r"""$n$ i.i.d. points from the density $\propto$ `density(phi(x))` $d\mu$, by rejection.

    `density` takes the features ``(b, m)`` and returns values in
    $[0, \sup k_m]$; proposals come from $\mu$ in batches, accepted ones fill the buffer in
    order until $n$ are in.
    """
    batch = _batch(features)
    probe = jax.eval_shape(lambda k: features.sample_envelope(k, batch), key)
    buffer = jnp.zeros((n, *probe.shape[1:]), probe.dtype)

    def round_(state):
        key, buffer, count = state
        key, key_x, key_u = jax.random.split(key, 3)
        x = features.sample_envelope(key_x, batch)
        u = jax.random.uniform(key_u, (batch,), probe.dtype)
        accept = u * features.envelope(x) < density(features(x))
        slot = jnp.where(accept, count + jnp.cumsum(accept) - 1, n)
        buffer = buffer.at[slot].set(x, mode="drop")
        return key, buffer, count + jnp.sum(accept)

    _, buffer, _ = jax.lax.while_loop(lambda s: s[2] < n, round_, (key, buffer, jnp.asarray(0)))
    return buffer


def _optimal_points(key: PRNGKeyArray, features: FeatureMap, n: int) -> Array:
    return _rejection_fill(key, features, n, lambda phi: jnp.sum(phi * phi, axis=-1))


def _projection_dpp_points(key: PRNGKeyArray, features: FeatureMap) -> Array:
    """The $m$ points of the continuous projection DPP, by the chain rule with rejection."""
    m = features.dim
    probe = jax.eval_shape(lambda k: features.sample_measure(k, 1), key)
    keys = jax.random.split(key, m)

    def draw(i, state):
        basis, points = state

        def residual(phi):  # ||(I - P_i) phi||^2, the basis rows from i on are zero
            return jnp.maximum(jnp.sum(phi * phi, -1) - jnp.sum((phi @ basis.T) ** 2, -1), 0.0)

        x = _rejection_fill(keys[i], features, 1, residual)
        basis = _orthonormal_extension(basis, i, features(x)[0])
        return basis, points.at[i].set(x[0])

    basis = jnp.zeros((m, m), probe.dtype)
    points = jnp.zeros((m, *probe.shape[1:]), probe.dtype)
    _, points = jax.lax.fori_loop(0, m, draw, (basis, points))
    return points


@public_jit
def sample_design(
    key: PRNGKeyArray, features: FeatureMap, n: int, /, *, method: str = "optimal"
) -> Design:
    r"""$n$ random points and weights for weighted least squares in the span of `features`.

    Parameters
    ----------
    key : PRNGKeyArray
        The randomness (same key, same design).
    features : FeatureMap
        The orthonormal feature map, e.g. `LegendreFeatures(m)`.
    n : int
        The number of points (static); $n \ge m$ for the DPP designs, $n = m$ for
        ``"dpp"``, a multiple of $m$ for ``"dpp_repetitions"``.
    method : {"uniform", "optimal", "dpp", "volume_rescaled", "dpp_repetitions"}
        The design (see the module docstring).

    Returns
    -------
    Design
        `points` and `weights`.
    """
    method = check_choice(method, "method", DESIGNS)
    if not isinstance(features, FeatureMap):
        raise TypeError(f"features must be a spectral.FeatureMap; got {type(features)}.")
    m = features.dim
    for name in ("christoffel_sup", "envelope_mass"):
        if getattr(features, name) < m:
            raise ValueError(
                f"features.{name} must be >= dim = {m} (the mean of k_m is m); got "
                f"{getattr(features, name)}."
            )
    n = check_int(n, "n", low=1)
    if method == "dpp" and n != m:
        raise ValueError(f"method='dpp' draws exactly n = dim = {m} points; got n={n}.")
    if method == "volume_rescaled" and n < m:
        raise ValueError(f"method='volume_rescaled' needs n >= dim = {m}; got n={n}.")
    if method == "dpp_repetitions" and n % m:
        raise ValueError(f"method='dpp_repetitions' needs n a multiple of dim = {m}; got n={n}.")
    key_a, key_b = jax.random.split(key)
    if method == "uniform":
        points = features.sample_measure(key, n)
        return Design(points, jnp.ones((n,), points.dtype))
    if method == "optimal":
        points = _optimal_points(key, features, n)
    elif method == "dpp":
        points = _projection_dpp_points(key, features)
    elif method == "volume_rescaled":
        dpp = _projection_dpp_points(key_a, features)
        points = dpp if n == m else jnp.concatenate([dpp, _optimal_points(key_b, features, n - m)])
    else:
        keys = jax.random.split(key, n // m)
        points = jnp.concatenate(jax.vmap(_projection_dpp_points, (0, None))(keys, features))
    phi = features(points)
    return Design(points, m / jnp.sum(phi * phi, axis=-1))


@public_jit
def weighted_least_squares(
    features: FeatureMap, points: Array, values: Array, weights: Array | None = None, /
) -> WLSResult:
    r"""The weighted least-squares fit $\hat c$ and the empirical Gram matrix $G$.

    $\hat c = \arg\min_c \sum_i w_i (y_i - \varphi(x_i)^\top c)^2$, solved as the
    least-squares problem $\operatorname{diag}(\sqrt w)\, \Phi\, c \approx
    \operatorname{diag}(\sqrt w)\, y$ (QR-based, not the normal equations, so
    conditioning enters once); $G = \Phi^\top \operatorname{diag}(w) \Phi / n$. $O(nm^2)$.
    `values` is ``(n,)`` or ``(n, q)``; `weights` default to 1.
    """
    if not isinstance(features, FeatureMap):
        raise TypeError(f"features must be a spectral.FeatureMap; got {type(features)}.")
    phi = features(jnp.asarray(points))
    n = phi.shape[0]
    values = jnp.asarray(values, phi.dtype)
    if values.shape[:1] != (n,) or values.ndim > 2:
        raise ValueError(
            f"values must be (n,) or (n, q) with n = {n} points; got shape {values.shape}."
        )
    weights = jnp.ones((n,), phi.dtype) if weights is None else jnp.asarray(weights, phi.dtype)
    if weights.shape != (n,):
        raise ValueError(f"weights must be (n,) = ({n},); got shape {weights.shape}.")
    weights = eqx.error_if(weights, jnp.any(weights < 0), "weights must be nonnegative.")
    root = jnp.sqrt(weights)
    scaled = phi * root[:, None]
    rhs = values * (root if values.ndim == 1 else root[:, None])
    coefficients = jnp.linalg.lstsq(scaled, rhs)[0]
    return WLSResult(coefficients, scaled.T @ scaled / n)
