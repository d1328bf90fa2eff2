"""GP-HM (Fang et al. 2024) against dense GP algebra, finite differences and known solutions."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spectral

TWO_PI = 2.0 * np.pi


def random_params(solver, pde, key, scale=1.0):
    """`solver.init(pde)` with random kernel parameters and grid values."""
    p = solver.init(pde)
    k = jax.random.split(key, 4)
    shape = p.log_weights.shape
    return spectral.GPHMParams(
        values=jax.random.normal(k[0], pde.shape),
        log_weights=p.log_weights + 0.3 * jax.random.normal(k[1], shape),
        frequencies=scale * jax.random.uniform(k[2], shape),
        log_lengthscales=jnp.log(0.4) + 0.2 * jax.random.normal(k[3], shape),
        log_boundary_precision=jnp.asarray(0.3),
        log_residual_precision=jnp.asarray(-0.2),
    )


def pointwise_kernel(params, j, envelope):
    """k_j(tau) written directly from the spectral-mixture formula (the oracle's kernel)."""

    def k(tau):
        w = jnp.exp(params.log_weights[j])
        ell = jnp.exp(params.log_lengthscales[j])
        mu = params.frequencies[j]
        if envelope == "gaussian":
            e = jnp.exp(-0.5 * (tau / ell) ** 2)
        else:  # evaluated away from tau = 0 only, where |tau| is smooth
            s = jnp.sqrt(5.0) * jnp.abs(tau) / ell
            e = (1.0 + s + s * s / 3.0) * jnp.exp(-s)
        return jnp.sum(w * e * jnp.cos(2.0 * jnp.pi * mu * tau))

    return k


def dense_mean(params, pde, envelope, jitter):
    """The GP mean u(p) = k(p, X) (K + jitter)^-1 vec(U) with a dense NumPy solve of kron(K_j)."""
    ks = [pointwise_kernel(params, j, envelope) for j in range(len(pde.grid))]
    Ks = [
        np.asarray(jax.vmap(lambda xa, k=k, x=x: jax.vmap(lambda xb: k(xa - xb))(x))(x))
        + jitter * np.eye(len(x))
        for k, x in zip(ks, pde.grid, strict=True)
    ]
    K = functools.reduce(np.kron, Ks)
    alpha = np.linalg.solve(K, np.asarray(params.values).reshape(-1)).reshape(pde.shape)

    def mean(*p):
        rows = [
            jax.vmap(lambda xa, k=k, pj=pj: k(pj - xa))(x)
            for k, pj, x in zip(ks, p, pde.grid, strict=True)
        ]
        return spectral.mode_apply(jnp.asarray(alpha), [r[None, :] for r in rows]).reshape(())

    return mean, K


@pytest.fixture
def pde2d():
    # a uniform axis (Toeplitz kernel matrices) and a non-uniform one (pairwise)
    x = jnp.linspace(0.0, 1.0, 7)
    y = jnp.asarray(np.sort(np.random.default_rng(0).uniform(-1.0, 1.0, 5)))
    zero = jnp.zeros((7, 5))
    return spectral.GridPDE((x, y), spectral.poisson_residual(zero), zero)


def test_uniform_axes_detected(pde2d):
    assert pde2d.uniform == (True, False)


@pytest.mark.parametrize("envelope", ["gaussian", "matern52"])
def test_derivatives_match_the_dense_gp_mean(pde2d, getkey, envelope):
    solver = spectral.GPHM(components=3, envelope=envelope, jitter=0.0)
    params = random_params(solver, pde2d, getkey())
    mean, _ = dense_mean(params, pde2d, envelope, 0.0)
    kernels, factors = solver._factorize(params, pde2d)
    field = spectral.GridField(params.values, pde2d, kernels, factors)
    X, Y = field.coordinates
    # Off the grid points |tau| > 0, so the Matérn oracle's autodiff is exact there too;
    # at the grid points themselves compare the GP mean's values.
    np.testing.assert_allclose(
        jax.jit(jax.vmap(mean))(X.ravel(), Y.ravel()), np.ravel(params.values), atol=1e-9
    )
    for axis in (0, 1):
        for order in (1, 2):
            d = mean
            for _ in range(order):
                d = jax.grad(d, argnums=axis)
            shift = (1e-7, 0.0) if axis == 0 else (0.0, 1e-7)
            # jit: one compile instead of an eager dispatch per primitive of the nested grads
            expected = jax.jit(jax.vmap(d))(X.ravel() + shift[0], Y.ravel() + shift[1])
            expected = expected.reshape(X.shape)
            got = field.derivative(axis, order)
            scale = np.max(np.abs(expected))
            np.testing.assert_allclose(got, expected, atol=1e-5 * scale)


def test_toeplitz_kernel_matrix_equals_pairwise():
    k = functools.partial(
        spectral.spectral_mixture,
        weights=jnp.array([0.5, 0.3]),
        means=jnp.array([0.0, 3.0]),
        lengthscales=jnp.array([0.7, 0.2]),
        envelope="matern52",
    )
    x = jnp.linspace(-1.0, 2.0, 11)
    for d in (0, 1, 2):
        # jit: one compile each instead of an eager dispatch per primitive (4.8 s -> 1.0 s)
        toeplitz = jax.jit(lambda h, d=d: spectral.toeplitz_kernel_matrix(k, h, 11, derivative=d))
        pairwise = jax.jit(lambda x, d=d: spectral.kernel_matrix(k, x, x, derivative=d))
        np.testing.assert_allclose(
            toeplitz(x[1] - x[0]),
            pairwise(x),
            rtol=1e-12,
            atol=1e-12,
        )


def test_toeplitz_kernel_matrix_jit_and_bad_input():
    k = functools.partial(spectral.squared_exponential, lengthscale=0.3)
    f = jax.jit(lambda h: spectral.toeplitz_kernel_matrix(k, h, 6, derivative=2))
    np.testing.assert_allclose(
        f(jnp.asarray(0.1)),
        spectral.kernel_matrix(k, 0.1 * jnp.arange(6.0), 0.1 * jnp.arange(6.0), derivative=2),
        rtol=1e-12,
        atol=1e-12 * 11.2,  # |k''| <= 1 / l^2; the lags differ from x_a - x_b by rounding,
    )
    with pytest.raises(TypeError, match="spacing must be a floating-point scalar"):
        spectral.toeplitz_kernel_matrix(k, jnp.ones(2), 6)
    with pytest.raises(ValueError, match="derivative must be in"):
        spectral.toeplitz_kernel_matrix(k, 0.1, 6, derivative=3)


def test_loss_equals_the_dense_log_joint(pde2d, getkey):
    solver = spectral.GPHM(components=2, envelope="gaussian", jitter=1e-3, boundary_weight=7.0)
    source = jax.random.normal(getkey(), pde2d.shape)
    g = jax.random.normal(getkey(), pde2d.shape)
    pde = spectral.GridPDE(pde2d.grid, spectral.allen_cahn_residual(source), g)
    params = random_params(solver, pde, getkey())
    _, K = dense_mean(params, pde, "gaussian", 1e-3)
    kernels, factors = solver._factorize(params, pde)
    field = spectral.GridField(params.values, pde, kernels, factors)
    U = np.asarray(params.values)
    r = (
        np.asarray(field.derivative(0, 2) + field.derivative(1, 2))
        + U * (U * U - 1)
        - np.asarray(source)
    )
    mask = np.asarray(pde.boundary_mask)
    assert mask.sum() == 2 * 7 + 2 * 5 - 4
    gap = (U - np.asarray(g))[mask]
    tau, v = np.exp(0.3), np.exp(-0.2)
    expected = (
        0.5 * np.linalg.slogdet(K)[1]
        + 0.5 * U.ravel() @ np.linalg.solve(K, U.ravel())
        - 7.0 * (0.5 * mask.sum() * 0.3 - 0.5 * tau * gap @ gap)
        - (0.5 * U.size * -0.2 - 0.5 * v * np.sum(r**2))
    )
    np.testing.assert_allclose(solver.loss(params, pde), expected, rtol=1e-10)
    np.testing.assert_allclose(jax.jit(solver.loss)(params, pde), expected, rtol=1e-10)


def test_loss_gradient_matches_finite_differences(pde2d, getkey):
    solver = spectral.GPHM(components=2, envelope="matern52", jitter=1e-4)
    source = jax.random.normal(getkey(), pde2d.shape)
    pde = spectral.GridPDE(pde2d.grid, spectral.allen_cahn_residual(source), source)
    params = random_params(solver, pde, getkey())
    direction = jax.tree.map(lambda a: jax.random.normal(getkey(), a.shape), params)
    # jitted: the same function, compiled once instead of dispatched primitive by primitive
    loss = jax.jit(functools.partial(solver.loss, pde=pde))
    grad = jax.grad(loss)(params)
    analytic = sum(
        jnp.vdot(g, d)
        for g, d in zip(jax.tree.leaves(grad), jax.tree.leaves(direction), strict=True)
    )
    h = 1e-5
    shifted = [
        loss(jax.tree.map(lambda p, d, s=s: p + s * h * d, params, direction)) for s in (1, -1)
    ]
    fd = (shifted[0] - shifted[1]) / (2 * h)
    # central differences: truncation O(h^2) and rounding O(eps |L| / h) relative errors
    np.testing.assert_allclose(analytic, fd, rtol=1e-6)
    # forward mode agrees with reverse mode
    jvp = jax.jvp(loss, (params,), (direction,))[1]
    np.testing.assert_allclose(jvp, analytic, rtol=1e-10)


def test_predict_equals_the_dense_gp_mean(pde2d, getkey):
    solver = spectral.GPHM(components=3, envelope="gaussian", jitter=1e-6)
    params = random_params(solver, pde2d, getkey())
    mean, _ = dense_mean(params, pde2d, "gaussian", 1e-6)
    xt, yt = jnp.linspace(0.05, 0.95, 4), jnp.linspace(-0.9, 0.8, 3)
    Xt, Yt = jnp.meshgrid(xt, yt, indexing="ij")
    np.testing.assert_allclose(
        solver.predict(params, pde2d, (xt, yt)),
        jax.vmap(mean)(Xt.ravel(), Yt.ravel()).reshape(Xt.shape),
        rtol=1e-8,
        atol=1e-10,
    )


def poisson_1d(u, n, length=TWO_PI):
    x = jnp.linspace(0.0, length, n)
    f = jax.vmap(jax.grad(jax.grad(u)))(x)
    return spectral.GridPDE((x,), spectral.poisson_residual(f), u(x))


def relative_error(a, b):
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def test_solves_a_1d_poisson_problem():
    # 64 points on [0, 2 pi]: 6.4 per wavelength of sin(10 x), Nyquist 5 cycles per unit,
    # above every initial frequency (max_frequency=3; the solution's is 10 / 2 pi = 1.6).
    u = lambda x: jnp.sin(10.0 * x)  # noqa: E731
    pde = poisson_1d(u, 64)
    solver = spectral.GPHM(components=10, max_frequency=3.0)
    result = solver.solve(pde, steps=1000, checkpoints=4)
    xt = jnp.linspace(0.0, TWO_PI, 301)
    errors = [
        relative_error(
            solver.predict(jax.tree.map(lambda a, i=i: a[i], result.checkpoints), pde, (xt,)), u(xt)
        )
        for i in range(4)
    ]
    assert result.losses.shape == (1000,)
    assert errors[-1] < 1e-3, errors
    assert result.losses[-1] < result.losses[0]
    # the final checkpoint is the final parameters
    np.testing.assert_array_equal(result.checkpoints.values[-1], result.params.values)


def test_plain_kernel_keeps_zero_frequencies():
    pde = poisson_1d(jnp.sin, 20)
    solver = spectral.GPHM(components=4, max_frequency=0.0, envelope="gaussian")
    result = solver.solve(pde, steps=20)
    np.testing.assert_array_equal(result.params.frequencies, 0.0)
    assert not np.allclose(result.params.log_lengthscales, solver.init(pde).log_lengthscales)


def test_solves_a_2d_poisson_problem():
    u = lambda x, y: jnp.sin(10.0 * x) * jnp.sin(10.0 * y)  # noqa: E731
    # Resolved grids on [0, pi]^2, five periods per axis (Nyquist 4.0 and 3.7 cycles per
    # unit, the solution's 1.6), a quarter of the points of [0, 2 pi]^2 at the same spacing.
    # The optimization is not convex: on 25 x 23 points this run stalls at 0.05.
    x, y = jnp.linspace(0.0, np.pi, 26), jnp.linspace(0.0, np.pi, 24)
    X, Y = jnp.meshgrid(x, y, indexing="ij")
    pde = spectral.GridPDE((x, y), spectral.poisson_residual(-200.0 * u(X, Y)), u(X, Y))
    solver = spectral.GPHM(components=10, max_frequency=3.0)
    result = solver.solve(pde, steps=1000)  # 3.6e-3 measured (5.9e-3 after 500 steps)
    xt, yt = jnp.linspace(0.0, np.pi, 51), jnp.linspace(0.0, np.pi, 45)
    Xt, Yt = jnp.meshgrid(xt, yt, indexing="ij")
    assert relative_error(solver.predict(result.params, pde, (xt, yt)), u(Xt, Yt)) < 1e-2


def test_advection_residual_vanishes_on_a_travelling_wave():
    # u(t, x) = sin(x - 2t) solves u_t + 2 u_x = 0; the GP mean of its grid values nearly does.
    t, x = jnp.linspace(0.0, 1.0, 30), jnp.linspace(0.0, TWO_PI, 40)
    T, X = jnp.meshgrid(t, x, indexing="ij")
    U = jnp.sin(X - 2.0 * T)
    pde = spectral.GridPDE((t, x), spectral.advection_residual(2.0), U)
    solver = spectral.GPHM(components=2, envelope="gaussian", max_frequency=0.0, jitter=1e-8)
    params = solver.init(pde)
    params = spectral.GPHMParams(
        U,
        params.log_weights,
        params.frequencies,
        params.log_lengthscales + jnp.log(0.5),
        params.log_boundary_precision,
        params.log_residual_precision,
    )
    kernels, factors = solver._factorize(params, pde)
    field = spectral.GridField(U, pde, kernels, factors)
    residual = pde.residual(field)
    interior = (slice(3, -3), slice(3, -3))
    assert float(jnp.max(jnp.abs(residual[interior]))) < 1e-3
    np.testing.assert_allclose(
        field.derivative(1, 1)[interior], jnp.cos(X - 2.0 * T)[interior], atol=1e-3
    )


def test_float32_loss_is_finite():
    pde = poisson_1d(jnp.sin, 16, length=np.float32(3.0))
    x32 = pde.grid[0].astype(jnp.float32)
    pde = spectral.GridPDE((x32,), spectral.poisson_residual(-jnp.sin(x32)), jnp.sin(x32))
    solver = spectral.GPHM(components=3, jitter=1e-3)
    loss = solver.loss(solver.init(pde), pde)
    assert loss.dtype == jnp.float32
    assert jnp.isfinite(loss)


def test_bad_input_is_rejected():
    x = jnp.linspace(0.0, 1.0, 6)
    res = spectral.poisson_residual(jnp.zeros(6))
    with pytest.raises(ValueError, match="boundary_values must have the grid's shape"):
        spectral.GridPDE((x,), res, jnp.zeros(5))
    with pytest.raises(ValueError, match="grid\\[0\\] must be a 1-D array"):
        spectral.GridPDE((x[None, :],), res, jnp.zeros((1, 6)))
    with pytest.raises(ValueError, match="boundary_mask must be a bool array"):
        spectral.GridPDE((x,), res, jnp.zeros(6), boundary_mask=jnp.ones(6))
    with pytest.raises(TypeError, match="residual must be callable"):
        spectral.GridPDE((x,), None, jnp.zeros(6))
    pde = spectral.GridPDE((x,), lambda u: u.values[:3], jnp.zeros(6))
    solver = spectral.GPHM(components=2)
    with pytest.raises(ValueError, match=r"pde\.residual must return an array of the grid's shape"):
        solver.loss(solver.init(pde), pde)
    pde = spectral.GridPDE((x,), res, jnp.zeros(6))
    with pytest.raises(ValueError, match="checkpoints must divide steps"):
        solver.solve(pde, steps=10, checkpoints=3)
    other = spectral.GridPDE(
        (jnp.linspace(0.0, 1.0, 7),), spectral.poisson_residual(jnp.zeros(7)), jnp.zeros(7)
    )
    with pytest.raises(ValueError, match="params do not fit the grid"):
        solver.loss(solver.init(other), pde)
    with pytest.raises(ValueError, match="envelope must be one of"):
        spectral.GPHM(envelope="cauchy")
    with pytest.raises(ValueError, match="jitter must be a non-negative"):
        spectral.GPHM(jitter=-1.0)
    # repeated grid points make the kernel matrix singular: caught under jit
    dup = jnp.array([0.0, 0.0, 0.5, 1.0])
    pde = spectral.GridPDE((dup,), spectral.poisson_residual(jnp.zeros(4)), jnp.zeros(4))
    solver = spectral.GPHM(components=2, jitter=0.0)
    with pytest.raises(Exception, match="not numerically positive definite"):
        jax.jit(solver.loss)(solver.init(pde), pde)
