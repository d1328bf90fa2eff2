"""The reference side of the nouy2023 experiment: best approximations and sample sizes."""

import itertools
import math

import numpy as np
import pytest

from experiments.nouy2023 import Config, Residual, exp_legendre_coefficients, sample_sizes


def _legendre(x, m):
    return np.stack(
        [np.sqrt(2 * i + 1) * np.polynomial.legendre.Legendre.basis(i)(x) for i in range(m)], -1
    )


def test_exp_coefficients_match_quadrature():
    # The closed form sqrt((2i+1) pi / 2) I_(i+1/2)(1) against 60-point Gauss-Legendre
    # (exact to rounding for a function as smooth as e^x at these degrees).
    x, w = np.polynomial.legendre.leggauss(60)
    quadrature = _legendre(x, 12).T @ (w * np.exp(x)) / 2
    # Absolute tolerance: the quadrature sum rounds at ~60 * eps * sqrt(23) ~ 3e-14.
    np.testing.assert_allclose(exp_legendre_coefficients(12), quadrature, rtol=1e-12, atol=1e-13)
    assert exp_legendre_coefficients(1)[0] == pytest.approx(math.sinh(1.0), rel=1e-15)


@pytest.mark.parametrize("name", ["runge", "abs", "exp"])
def test_residual_is_orthogonal_and_its_norm_is_the_best_error(name):
    m = 7
    residual = Residual(name, m)
    # An independent composite rule (4 panels, 80 nodes each) on the residual and on f.
    nodes, weights = np.polynomial.legendre.leggauss(80)
    edges = np.linspace(-1, 1, 5)
    x = np.concatenate([(a + b) / 2 + (b - a) / 2 * nodes for a, b in itertools.pairwise(edges)])
    w = np.concatenate([(b - a) / 4 * weights for a, b in itertools.pairwise(edges)])
    r = residual(x)
    np.testing.assert_allclose(_legendre(x, m).T @ (w * r), 0, atol=1e-13)
    np.testing.assert_allclose(np.sqrt(np.sum(w * r * r)), residual.norm, rtol=1e-9)
    f = {"runge": 1 / (1 + 25 * x**2), "abs": np.abs(x), "exp": np.exp(x)}[name]
    projection = _legendre(x, m) @ (_legendre(x, m).T @ (w * f))
    np.testing.assert_allclose(r, f - projection, atol=1e-12)


def test_sample_sizes_follow_each_design():
    assert sample_sizes(10, [1.0, 1.5, 2.0], "optimal") == [10, 15, 20, 24]  # ceil(10 log 10)
    assert sample_sizes(10, [1.0, 1.5, 2.0], "dpp") == [10]
    assert sample_sizes(10, [1.5, 2.0], "dpp") == []
    assert sample_sizes(10, [1.0, 1.5, 2.0], "dpp_repetitions") == [10, 20]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="designs must be a non-empty subset"):
        Config(seed=0, dims=[5], ratios=[1.0], designs=["lhs"], trials=2)
    with pytest.raises(ValueError, match="ratios must be"):
        Config(seed=0, dims=[5], ratios=[0.5], designs=["dpp"], trials=2)
    with pytest.raises(ValueError, match="dims must be"):
        Config(seed=0, dims=[1], ratios=[1.0], designs=["dpp"], trials=2)
