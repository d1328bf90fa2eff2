"""Weighted least squares and its random designs against quadrature and NumPy.

The continuous samplers are checked like the discrete ones: the probability of every cell
of a partition of [-1, 1]^m (sorted points, so cells of unordered tuples) comes from the
joint density det(K(x_i, x_j)) / m! integrated by tensor Gauss-Legendre quadrature, and
the counts of 20 000 samples from a fixed key set go through Pearson's chi-square test
(p > 1e-3, as in test_sampling.py). One-point laws are checked by Kolmogorov-Smirnov.
"""

import itertools
from collections import Counter

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import spectral
from spectral import FeatureMap, LegendreFeatures
from tests.helpers import P_VALUE, chi_square_p, keys


def _legendre_numpy(x: np.ndarray, m: int) -> np.ndarray:
    """sqrt(2i+1) P_i(x) by NumPy's Legendre series (an independent evaluation)."""
    return np.stack(
        [np.sqrt(2 * i + 1) * np.polynomial.legendre.Legendre.basis(i)(x) for i in range(m)], -1
    )


def test_legendre_features_are_orthonormal_and_match_numpy():
    m = 12
    x, w = np.polynomial.legendre.leggauss(40)
    phi = np.asarray(LegendreFeatures(m)(jnp.asarray(x)))
    np.testing.assert_allclose(phi, _legendre_numpy(x, m), atol=1e-12)
    np.testing.assert_allclose(phi.T @ (phi * w[:, None]) / 2, np.eye(m), atol=1e-12)
    k_at_ends = np.sum(np.asarray(LegendreFeatures(m)(jnp.array([-1.0, 1.0]))) ** 2, -1)
    np.testing.assert_allclose(k_at_ends, [m * m, m * m], rtol=1e-12)  # christoffel_sup


@pytest.mark.parametrize("m", [1, 2, 7, 40])
def test_legendre_envelope_bounds_the_christoffel_function(m):
    # Rejection sampling is exact only if E(x) >= k_m(x) everywhere (Bernstein's inequality);
    # checked on a fine grid up to 1e-9 from the ends, where E blows up and k_m = m^2. Its
    # mass pi B_m / 2 is the integral of E against dx / 2 (by the arcsine integral).
    features = LegendreFeatures(m)
    x = np.linspace(-1 + 1e-9, 1 - 1e-9, 100_001)
    k = np.sum(_legendre_numpy(x, m) ** 2, -1)
    assert np.all(k <= np.asarray(features.envelope(jnp.asarray(x))))
    theta = np.pi * (np.arange(20_000) + 0.5) / 20_000  # midpoint rule in x = cos(theta)
    mass = np.mean(np.asarray(features.envelope(jnp.asarray(np.cos(theta)))) * np.sin(theta))
    np.testing.assert_allclose(mass * np.pi / 2, features.envelope_mass, rtol=1e-6)
    samples = np.asarray(features.sample_envelope(jax.random.key(0), 4000))
    assert stats.kstest(samples, stats.arcsine(loc=-1, scale=2).cdf).pvalue > P_VALUE


def _optimal_cdf(m: int):
    """CDF of the density k_m(x) / m with respect to dx / 2 on [-1, 1], by quadrature."""
    nodes, weights = np.polynomial.legendre.leggauss(2 * m + 2)  # exact for degree 2m - 2

    def cdf(t):
        t = np.atleast_1d(t)
        half = (t + 1) / 2
        x = -1 + half[:, None] * (nodes + 1)
        k = np.sum(_legendre_numpy(x, m) ** 2, -1)
        return np.sum(weights * k, -1) * half / (2 * m)

    return cdf


def test_optimal_design_follows_the_christoffel_density():
    m, n = 6, 4000
    design = spectral.sample_design(jax.random.key(0), LegendreFeatures(m), n, method="optimal")
    x = np.asarray(design.points)
    assert stats.kstest(x, _optimal_cdf(m)).pvalue > P_VALUE
    np.testing.assert_allclose(design.weights, m / np.sum(_legendre_numpy(x, m) ** 2, -1))


def _cell_probabilities(m: int, edges: np.ndarray) -> dict:
    """P(sorted points in cells b_1 <= ... <= b_m) for the projection DPP of Legendre features.

    The ordered points have density det(Phi Phi^T) / m! with respect to (dx / 2)^m, a
    polynomial of degree 2(m - 1) in each variable: 12-point Gauss-Legendre per bin and
    variable integrates it exactly.
    """
    nodes, weights = np.polynomial.legendre.leggauss(12)
    bins = len(edges) - 1
    lo, hi = edges[:-1, None], edges[1:, None]
    x = (lo + hi) / 2 + (hi - lo) / 2 * nodes  # (bins, q)
    w = (hi - lo) / 4 * weights  # dx / 2
    phi = _legendre_numpy(x, m)  # (bins, q, m)
    probabilities: Counter = Counter()
    for boxes in itertools.product(range(bins), repeat=m):
        rows = np.stack(np.meshgrid(*[np.arange(len(nodes))] * m, indexing="ij"), -1).reshape(-1, m)
        features = np.stack([phi[b][rows[:, i]] for i, b in enumerate(boxes)], 1)  # (Q, m, m)
        weight = np.prod([w[b][rows[:, i]] for i, b in enumerate(boxes)], 0)
        probabilities[tuple(sorted(boxes))] += float(
            np.sum(weight * np.linalg.det(features @ np.swapaxes(features, 1, 2)))
        )
    total = sum(probabilities.values())
    np.testing.assert_allclose(total, np.prod(np.arange(1, m + 1)), rtol=1e-10)  # m!
    return {cell: p / total for cell, p in probabilities.items()}


@pytest.mark.parametrize(("m", "bins"), [(2, 8), (3, 5)])
def test_projection_dpp_design_matches_the_determinantal_density(m, bins):
    edges = np.linspace(-1, 1, bins + 1)
    features = LegendreFeatures(m)
    designs = jax.jit(jax.vmap(lambda key: spectral.sample_design(key, features, m, method="dpp")))(
        keys(20)
    )
    points = np.asarray(designs.points)
    cells = np.clip(np.searchsorted(edges, points, side="right") - 1, 0, bins - 1)
    observed = Counter(tuple(sorted(row.tolist())) for row in cells)
    assert chi_square_p(observed, _cell_probabilities(m, edges)) > P_VALUE
    # Each point's marginal density is k_m / m (pooled over positions: KS on all points).
    assert stats.kstest(points[:2000].ravel(), _optimal_cdf(m)).pvalue > P_VALUE


class CosineFeatures(FeatureMap):
    """1, sqrt(2) cos(pi j x) on [0, 1] with the Lebesgue measure: a user-defined map."""

    dim: int
    christoffel_sup: float

    def __init__(self, dim: int):
        self.dim = dim
        self.christoffel_sup = float(2 * dim - 1)

    def __call__(self, x):
        j = jnp.arange(self.dim, dtype=x.dtype)
        scale = jnp.where(j == 0, 1.0, jnp.sqrt(2.0))
        return scale[None, :] * jnp.cos(jnp.pi * x[:, None] * j[None, :])

    def sample_measure(self, key, n):
        return jax.random.uniform(key, (n,))


def test_a_user_feature_map_gets_the_optimal_density():
    m, n = 4, 4000
    design = spectral.sample_design(jax.random.key(1), CosineFeatures(m), n, method="optimal")

    def cdf(t):  # int_0^t (1 + 2 sum_j cos^2(pi j x)) / m dx
        t = np.asarray(t)
        j = np.arange(1, m)
        terms = t[:, None] + np.sin(2 * np.pi * j * t[:, None]) / (2 * np.pi * j)
        return (t + np.sum(terms, -1)) / m

    assert stats.kstest(np.asarray(design.points), cdf).pvalue > P_VALUE


@pytest.mark.parametrize("method", spectral.least_squares.DESIGNS)
def test_designs_jit_are_deterministic_and_reproduce_polynomials(method):
    m = 5
    n = {"dpp": 5, "dpp_repetitions": 15}.get(method, 12)
    features = LegendreFeatures(m)
    design = spectral.sample_design(jax.random.key(2), features, n, method=method)
    again = jax.jit(lambda key: spectral.sample_design(key, features, n, method=method))(
        jax.random.key(2)
    )
    np.testing.assert_array_equal(design.points, again.points)
    assert design.points.shape == (n,)
    assert np.all(np.abs(np.asarray(design.points)) <= 1)
    # A polynomial of degree < m is fitted exactly (the Gram matrix is invertible a.s.).
    c = np.arange(1.0, m + 1)
    values = _legendre_numpy(np.asarray(design.points), m) @ c
    fit = spectral.weighted_least_squares(features, design.points, values, design.weights)
    np.testing.assert_allclose(fit.coefficients, c, rtol=1e-8)


def test_weighted_least_squares_matches_numpy():
    rng = np.random.default_rng(3)
    m, n = 6, 30
    x = rng.uniform(-1, 1, n)
    w = rng.uniform(0.5, 2.0, n)
    y = np.stack([np.exp(x), 1 / (1 + 25 * x**2)], -1)
    fit = spectral.weighted_least_squares(LegendreFeatures(m), x, y, w)
    phi = _legendre_numpy(x, m)
    expected = np.linalg.lstsq(phi * np.sqrt(w)[:, None], y * np.sqrt(w)[:, None], rcond=None)[0]
    np.testing.assert_allclose(fit.coefficients, expected, rtol=1e-10)
    np.testing.assert_allclose(fit.gram, phi.T @ (w[:, None] * phi) / n, rtol=1e-12)
    single = spectral.weighted_least_squares(LegendreFeatures(m), x, y[:, 0])
    np.testing.assert_allclose(single.coefficients, np.linalg.lstsq(phi, y[:, 0])[0], rtol=1e-10)


def test_bad_input_is_a_clear_error():
    key, features = jax.random.key(0), LegendreFeatures(4)
    with pytest.raises(ValueError, match="method='dpp' draws exactly n = dim = 4"):
        spectral.sample_design(key, features, 5, method="dpp")
    with pytest.raises(ValueError, match="needs n a multiple of dim = 4"):
        spectral.sample_design(key, features, 6, method="dpp_repetitions")
    with pytest.raises(ValueError, match="needs n >= dim = 4"):
        spectral.sample_design(key, features, 3, method="volume_rescaled")
    with pytest.raises(ValueError, match="method must be one of"):
        spectral.sample_design(key, features, 4, method="lhs")
    with pytest.raises(TypeError, match=r"features must be a spectral\.FeatureMap"):
        spectral.sample_design(key, lambda x: x, 4)

    class Understated(CosineFeatures):
        def __init__(self, dim):
            self.dim, self.christoffel_sup = dim, dim - 1.0

    with pytest.raises(ValueError, match="christoffel_sup must be >= dim = 3"):
        spectral.sample_design(key, Understated(3), 4)
    with pytest.raises(ValueError, match="values must be"):
        spectral.weighted_least_squares(features, jnp.zeros(5), jnp.zeros(4))
    with pytest.raises(ValueError, match="weights must be"):
        spectral.weighted_least_squares(features, jnp.zeros(5), jnp.zeros(5), jnp.ones(4))
    with pytest.raises(eqx.EquinoxRuntimeError, match="weights must be nonnegative"):
        spectral.weighted_least_squares(
            features, jnp.linspace(-1, 1, 5), jnp.zeros(5), -jnp.ones(5)
        )


def test_weighted_least_squares_under_jit_and_vmap():
    features = LegendreFeatures(4)
    x = jnp.linspace(-1, 1, 9)
    ys = jnp.stack([jnp.exp(x), jnp.cos(x)])
    batched = jax.jit(jax.vmap(lambda y: spectral.weighted_least_squares(features, x, y)))(ys)
    for y, c in zip(ys, batched.coefficients, strict=True):
        expected = np.linalg.lstsq(_legendre_numpy(np.asarray(x), 4), np.asarray(y), rcond=None)[0]
        np.testing.assert_allclose(c, expected, rtol=1e-10, atol=1e-14)  # cos: odd terms ~0
