"""Semilinear models, Newton, and POD-DEIM against dense NumPy Newton and exact limits."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rom
from rom.problems import nonlinear_elliptic


def _dense_newton(model, mu, steps=30):
    """Newton's method with dense NumPy solves: the oracle."""
    L = np.zeros((model.size, model.size))
    idx = np.asarray(model.indices)
    np.add.at(L, (idx[:, 0], idx[:, 1]), np.asarray(model.values))
    f = np.asarray(model.rhs)
    u = np.zeros(model.size)
    for _ in range(steps):
        g = mu[0] / mu[1] * (np.exp(mu[1] * u) - 1)
        dg = mu[0] * np.exp(mu[1] * u)
        u = u - np.linalg.solve(L + np.diag(dg), L @ u + g - f)
    return u, L


def test_newton_matches_dense_newton():
    model = nonlinear_elliptic(10)
    for mu in ([0.01, 0.01], [5.0, 10.0], [10.0, 0.5]):
        u = np.asarray(model.solve(jnp.asarray(mu)))
        expected, L = _dense_newton(model, np.asarray(mu))
        np.testing.assert_allclose(u, expected, rtol=1e-9, atol=1e-12)
        # and it solves the equation: the residual is at rounding level
        assert np.linalg.norm(
            np.asarray(model.residual(jnp.asarray(u), jnp.asarray(mu)))
        ) < 1e-9 * np.linalg.norm(model.rhs)
    # The 5-point Laplacian with h = 1/11: symmetric, 4/h^2 on the diagonal.
    np.testing.assert_allclose(L, L.T)
    np.testing.assert_allclose(np.diag(L), 4 * 11**2)


def test_full_bases_reproduce_the_full_model():
    # With V = I and every entry as a DEIM point the reduced model is the full model.
    model = nonlinear_elliptic(6)
    n = model.size
    mu = jnp.asarray([2.0, 7.0])
    u = model.solve(mu)
    eye = jnp.eye(n)
    for hyper in (None, rom.deim(eye)):
        reduced = rom.galerkin(model, eye, hyperreduction=hyper)
        np.testing.assert_allclose(reduced.reconstruct(reduced.solve(mu)), u, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def snapshots():
    model = nonlinear_elliptic(16)
    grid = np.linspace(0.01, 10, 6)
    training = jnp.asarray(np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2))
    solve = eqx.filter_jit(lambda m, mu: m.solve(mu))
    U = jnp.stack([solve(model, mu) for mu in training], 1)
    G = jax.vmap(model.nonlinear_term, in_axes=(1, 0), out_axes=1)(U, training)
    return model, rom.pod(U, rank=10), rom.pod(G, rank=10)


def test_pod_deim_error_decreases_and_vmaps(snapshots):
    model, pod_u, pod_g = snapshots
    test = jnp.asarray(np.random.default_rng(0).uniform(0.01, 10, (6, 2)))
    truth = jnp.stack([model.solve(mu) for mu in test])
    errors = []
    for k in (2, 4, 8):
        reduced = rom.galerkin(
            model, pod_u.modes[:, :k], hyperreduction=rom.deim(pod_g.modes[:, :k])
        )
        c = eqx.filter_jit(lambda r, m: jax.vmap(r.solve)(m))(reduced, test)
        errors.append(
            float(
                jnp.max(
                    jnp.linalg.norm(truth - c @ reduced.basis.T, axis=1)
                    / jnp.linalg.norm(truth, axis=1)
                )
            )
        )
    # Measured ~2e-1, 1e-2, 2e-4: each doubling of k and m gains an order of magnitude.
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-2


def test_bad_input_is_a_clear_error(snapshots):
    model, pod_u, pod_g = snapshots
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside the model's parameter range"):
        model.solve(jnp.asarray([20.0, 1.0]))
    reduced = rom.galerkin(model, pod_u.modes[:, :3], hyperreduction=rom.deim(pod_g.modes[:, :3]))
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside the model's parameter range"):
        reduced.solve(jnp.asarray([0.001, 1.0]))
    with pytest.raises(eqx.EquinoxRuntimeError, match="orthonormal columns"):
        rom.galerkin(model, 2 * pod_u.modes[:, :3])
    with pytest.raises(ValueError, match="hyperreduction must interpolate vectors of size"):
        rom.galerkin(model, pod_u.modes[:, :3], hyperreduction=rom.deim(jnp.eye(5)[:, :2]))
    with pytest.raises(ValueError, match="points must be an int >= 2"):
        nonlinear_elliptic(1)


def test_fitzhugh_nagumo_reduction_is_exact_with_full_bases_and_converges():
    from rom.problems import fitzhugh_nagumo

    model = fitzhugh_nagumo(24, final_time=1.0, dt=0.01)
    N = model.nodes
    Y = model.simulate()
    assert Y.shape == (100, 2 * N)
    # The stimulus excites v at x = 0 first: v(0, t) leads v(1, t).
    assert float(jnp.max(Y[:, 0])) > float(jnp.max(Y[:, N - 1]))
    eye = jnp.eye(N)
    full = model.reduce(eye, eye, rom.deim(eye))
    np.testing.assert_allclose(full.simulate() @ full.basis.T, Y, rtol=1e-9, atol=1e-12)
    V, W = Y[:, :N].T, Y[:, N:].T
    pod_v, pod_w = rom.pod(V, rank=8), rom.pod(W, rank=8)
    pod_f = rom.pod(model.nonlinear_term(V), rank=8)
    errors = []
    for k in (2, 4, 8):
        reduced = model.reduce(pod_v.modes[:, :k], pod_w.modes[:, :k], rom.deim(pod_f.modes[:, :k]))
        approx = reduced.simulate() @ reduced.basis.T
        errors.append(float(jnp.linalg.norm(approx - Y) / jnp.linalg.norm(Y)))
    assert errors[2] < errors[0]
    assert errors[2] < 1e-2
    with pytest.raises(ValueError, match="must have N = 24 rows"):
        model.reduce(eye[:5], eye)


def test_burgers_reduction_is_exact_with_full_bases_and_converges():
    from rom.problems import burgers

    model = burgers(40, final_time=0.2, dt=0.002, viscosity_range=(0.01, 0.05))
    nu = 0.02
    Y = model.simulate(nu)
    n = Y.shape[1]
    # Oracle for the convective term: -(u^2/2)_x by central differences, written out.
    u = np.asarray(Y[10])
    padded = np.concatenate([[0.0], u, [0.0]])
    expected = -(padded[2:] ** 2 - padded[:-2] ** 2) / 4 * (n + 1)
    np.testing.assert_allclose(model.convection(jnp.asarray(u)), expected, rtol=1e-12)
    eye = jnp.eye(n)
    for hyper in (None, rom.deim(eye)):
        full = model.reduce(eye, hyper)
        np.testing.assert_allclose(full.simulate(nu) @ full.basis.T, Y, rtol=1e-9, atol=1e-12)
    pod_u = rom.pod(Y.T, rank=12)
    pod_n = rom.pod(jax.vmap(model.convection)(Y).T, rank=16)
    errors = []
    for k in (3, 6, 12):
        reduced = model.reduce(pod_u.modes[:, :k], rom.deim(pod_n.modes[:, : k + 4]))
        approx = reduced.simulate(nu) @ reduced.basis.T
        errors.append(float(jnp.linalg.norm(approx - Y) / jnp.linalg.norm(Y)))
    assert errors[2] < errors[0]
    assert errors[2] < 1e-3
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside the model's viscosity range"):
        model.simulate(0.5)
    with pytest.raises(ValueError, match=r"basis must be \(n, k\) = \(40, k\)"):
        model.reduce(eye[:5])
