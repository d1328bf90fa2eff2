"""Grid GP regression against dense Cholesky GP regression; kernels against closed forms."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import spectral

GRIDS = {
    "2d": (np.linspace(0, 1, 6), np.linspace(-1, 1, 5)),
    "3d": (
        np.linspace(0, 1, 4),
        np.linspace(0, 2, 3),
        np.linspace(-1, 0, 5),
    ),
}


def factors(grids, lengthscales):
    return [
        spectral.kernel_matrix(
            functools.partial(spectral.squared_exponential, lengthscale=ell), g, g
        )
        for g, ell in zip(grids, lengthscales, strict=True)
    ]


def dense_gp(K, K_cross, K_test, y, noise):
    """Posterior mean, variance and negative log likelihood by a dense Cholesky (NumPy)."""
    C = K + noise * np.eye(len(y))
    L = np.linalg.cholesky(C)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    V = np.linalg.solve(L, K_cross.T)
    nll = 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * len(y) * math.log(2 * math.pi)
    return K_cross @ alpha, np.diag(K_test) - np.sum(V * V, axis=0), nll


def test_kernels_against_closed_forms():
    tau = jnp.linspace(-2.0, 2.0, 9)
    ell = 0.7
    se = functools.partial(spectral.squared_exponential, lengthscale=ell, variance=1.5)
    k = 1.5 * np.exp(-0.5 * np.asarray(tau) ** 2 / ell**2)
    np.testing.assert_allclose(se(tau), k, rtol=1e-14)
    x1, x2 = jnp.linspace(0, 1, 4), jnp.linspace(0.2, 1.5, 3)
    t = np.asarray(x1)[:, None] - np.asarray(x2)[None, :]
    k = 1.5 * np.exp(-0.5 * t**2 / ell**2)
    np.testing.assert_allclose(spectral.kernel_matrix(se, x1, x2), k, rtol=1e-14)
    # d/dx k(x - x') = -tau / l^2 k; d^2/dx^2 = (tau^2 / l^4 - 1 / l^2) k.
    np.testing.assert_allclose(
        spectral.kernel_matrix(se, x1, x2, derivative=1), -t / ell**2 * k, rtol=1e-12
    )
    np.testing.assert_allclose(
        spectral.kernel_matrix(se, x1, x2, derivative=2),
        (t**2 / ell**4 - 1 / ell**2) * k,
        rtol=1e-12,
        atol=1e-14,
    )
    # Matern 5/2, and its derivatives at tau = 0 (finite: 0 and -5 / (3 l^2)).
    r = np.sqrt(5.0) * np.abs(np.asarray(tau)) / ell
    m52 = functools.partial(spectral.matern52, lengthscale=ell)
    np.testing.assert_allclose(m52(tau), (1 + r + r**2 / 3) * np.exp(-r), rtol=1e-14)
    d1, d2 = jax.grad(m52), jax.grad(jax.grad(m52))
    assert float(d1(0.0)) == 0.0
    np.testing.assert_allclose(d2(0.0), -5.0 / (3.0 * ell**2), rtol=1e-12)
    # A spectral mixture of one component at frequency 0 is the squared exponential; at
    # frequency mu it is modulated by cos(2 pi mu tau).
    w, mu, ls = jnp.array([1.5]), jnp.array([0.0]), jnp.array([ell])
    np.testing.assert_allclose(spectral.spectral_mixture(tau, w, mu, ls), se(tau), rtol=1e-14)
    sm = spectral.spectral_mixture(
        tau, jnp.array([1.0, 2.0]), jnp.array([0.5, 3.0]), jnp.array([ell, ell])
    )
    expected = np.exp(-0.5 * np.asarray(tau) ** 2 / ell**2) * (
        np.cos(np.pi * np.asarray(tau)) + 2 * np.cos(6 * np.pi * np.asarray(tau))
    )
    np.testing.assert_allclose(sm, expected, rtol=1e-12, atol=1e-14)
    sm52 = spectral.spectral_mixture(tau, w, mu, ls, envelope="matern52")
    np.testing.assert_allclose(sm52, 1.5 * m52(tau), rtol=1e-14)


@pytest.mark.parametrize("name", list(GRIDS))
def test_posterior_and_likelihood_equal_dense(name):
    grids = GRIDS[name]
    test_grids = [np.linspace(g.min() - 0.1, g.max() + 0.2, len(g) + 1) for g in grids]
    ells = [0.4, 0.8, 0.5][: len(grids)]
    noise = 0.05
    rng = np.random.default_rng(0)
    Ks = factors(grids, ells)
    se = [functools.partial(spectral.squared_exponential, lengthscale=ell) for ell in ells]
    cross = [spectral.kernel_matrix(k, t, g) for k, t, g in zip(se, test_grids, grids, strict=True)]
    test = [spectral.kernel_matrix(k, t, t) for k, t in zip(se, test_grids, strict=True)]
    K, K_cross, K_test = map(spectral.Kronecker, (Ks, cross, test))
    y = rng.standard_normal(K.shape[0])
    prior = jnp.ones(K_cross.shape[0])  # k(0) = 1 in every dimension
    mean, var = spectral.gp_posterior(K, K_cross, jnp.asarray(y), noise, prior_variance=prior)
    nll = spectral.gp_negative_log_likelihood(K, jnp.asarray(y), noise)
    dense = dense_gp(*(np.asarray(M.to_dense()) for M in (K, K_cross, K_test)), y, noise)
    # kappa(K + 0.05 I) <= 1 + M / 0.05 ~ 1e3: both sides exact to ~1e-13.
    np.testing.assert_allclose(mean, dense[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(var, dense[1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(nll, dense[2], rtol=1e-12)
    assert np.all(np.asarray(var) > 0)
    # Under jit: the same numbers (the same operations).
    jitted = jax.jit(lambda y: spectral.gp_posterior(K, K_cross, y, noise, prior_variance=prior))
    for a, b in zip(jitted(jnp.asarray(y)), (mean, var), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    mean_only, none = spectral.gp_posterior(K, K_cross, jnp.asarray(y), noise)
    assert none is None
    np.testing.assert_allclose(mean_only, mean, rtol=0, atol=1e-14)


def test_likelihood_gradient_against_finite_differences():
    grids = GRIDS["2d"]
    y = jnp.asarray(np.random.default_rng(1).standard_normal(30))

    def nll(log_params):
        ell0, ell1, noise = jnp.exp(log_params)
        K = spectral.Kronecker(
            [
                spectral.kernel_matrix(lambda t: spectral.matern52(t, ell0), grids[0], grids[0]),
                spectral.kernel_matrix(lambda t: spectral.matern52(t, ell1), grids[1], grids[1]),
            ]
        )
        return spectral.gp_negative_log_likelihood(K, y, noise)

    check_grads(nll, (jnp.log(jnp.array([0.3, 0.6, 0.1])),), order=1, modes=("fwd", "rev"))


def test_fit_recovers_the_generating_lengthscales():
    """Data drawn from the GP prior on a 30 x 25 grid: Adam on the log hyperparameters
    lowers the likelihood below its value at the true ones (the maximum-likelihood
    estimate, which the true values only approach), near them."""
    grids = (np.linspace(0, 1, 30), np.linspace(0, 1, 25))
    true = np.array([0.15, 0.3, 0.01])  # lengthscales, noise variance
    K = spectral.Kronecker(factors(grids, true[:2]))
    w, Q = spectral.kron_eigh(K)
    z = np.random.default_rng(2).standard_normal(K.shape[0])
    y = Q @ (jnp.sqrt(jnp.maximum(w, 0.0) + true[2]) * z)  # y ~ N(0, K + noise I)

    def nll(log_params):
        ell0, ell1, noise = jnp.exp(log_params)
        return spectral.gp_negative_log_likelihood(
            spectral.Kronecker(factors(grids, (ell0, ell1))), y, noise
        )

    start = jnp.log(jnp.array([0.5, 0.5, 0.1]))
    params, losses = spectral.fit_hyperparameters(nll, start, steps=300, optimizer=optax.adam(0.05))
    assert losses.shape == (300,)
    assert float(nll(params)) <= float(nll(jnp.log(jnp.asarray(true)))) + 1e-6
    np.testing.assert_allclose(jnp.exp(params), true, rtol=0.3)


def test_bad_input():
    K = spectral.Kronecker(factors(GRIDS["2d"], (0.3, 0.3)))
    with pytest.raises(ValueError, match=r"K_cross must have one factor per dimension"):
        spectral.gp_posterior(K, spectral.Kronecker([jnp.ones((2, 6))]), jnp.ones(30), 0.1)
    with pytest.raises(ValueError, match=r"y must have shape \(30,\)"):
        spectral.gp_negative_log_likelihood(K, jnp.ones(29), 0.1)
    with pytest.raises(ValueError, match="x1 and x2 must be 1-D point sets"):
        spectral.kernel_matrix(jnp.cos, jnp.ones((3, 2)), jnp.ones(3))
    with pytest.raises(ValueError, match=r"derivative must be in \[0, 2\]"):
        spectral.kernel_matrix(jnp.cos, jnp.ones(3), jnp.ones(3), derivative=3)
    with pytest.raises(ValueError, match="envelope must be 'gaussian' or 'matern52'"):
        spectral.spectral_mixture(jnp.ones(3), jnp.ones(1), jnp.ones(1), jnp.ones(1), envelope="t")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        spectral.fit_hyperparameters(lambda p: p**2, 1.0, steps=0)
