"""The parabolic thermal block, its Galerkin reduction with the space-time bound, POD-greedy.

Oracles: a dense NumPy implicit Euler loop (np.linalg.solve), the dual norms of the
residuals computed in full space with a dense solve, the true space-time error of the
reduced solution (the estimator must bound it: effectivity >= 1), and the POD of the
selected trajectory from NumPy's SVD of L^T U (X = L L^T).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rom.parabolic import ParabolicModel, galerkin_parabolic
from rom.pod_greedy import pod_greedy
from rom.problems import thermal_block

T, K = 0.5, 10  # the slowest mode (mu = 0.1) decays like exp(-0.1 * 2 pi^2 t): a transient
MAX_BASIS = 12


def _dense(affine, values):
    A = np.zeros((affine.size, affine.size))
    idx = np.asarray(affine.indices)
    np.add.at(A, (idx[:, 0], idx[:, 1]), np.asarray(values))
    return A


def _implicit_euler(affine, mu, initial=None):
    """(M / dt + A(mu)) u^k = M u^(k-1) / dt + f, with dense NumPy solves."""
    dt = T / K
    M = _dense(affine, affine.mass)
    A = _dense(affine, np.asarray(mu) @ np.asarray(affine.data))
    u = np.zeros(affine.size) if initial is None else np.asarray(initial)
    U = []
    for _ in range(K):
        u = np.linalg.solve(M / dt + A, M @ u / dt + np.asarray(affine.rhs))
        U.append(u)
    return np.stack(U, axis=1)


@pytest.fixture(scope="module")
def model():
    # Dense Cholesky solves: exact to rounding at n = 181 and the quickest to compile.
    return ParabolicModel(thermal_block((2, 2), 1 / 10, solver="dense"), final_time=T, steps=K)


@pytest.fixture(scope="module")
def training():
    return jnp.asarray(np.random.default_rng(0).uniform(0.1, 1.0, (32, 4)))


@pytest.fixture(scope="module")
def greedy(model, training):
    return pod_greedy(model, training, max_basis=MAX_BASIS)


@pytest.mark.parametrize("solver", ["cg", "banded"])
def test_full_trajectory_matches_dense_implicit_euler(solver):
    # CG to a relative residual of 1e-12 on a matrix with condition number ~1e3 at h = 1/10:
    # each step is accurate to ~1e-9, and the implicit Euler map is a contraction in M.
    # The banded Cholesky (the thermal block's default) is accurate to rounding.
    affine = thermal_block((2, 2), 1 / 10, solver=solver)
    mu = np.array([0.1, 0.5, 1.0, 0.3])
    initial = np.sin(np.arange(affine.size))  # rough data: the first steps damp it
    for u0 in (None, initial):
        model = ParabolicModel(affine, final_time=T, steps=K, initial=u0)
        U = np.asarray(model.solve(mu))
        assert U.shape == (affine.size, K)
        np.testing.assert_allclose(U, _implicit_euler(affine, mu, u0), rtol=1e-8, atol=1e-12)


def test_full_solve_under_vmap(model):
    mus = jnp.asarray(np.random.default_rng(4).uniform(0.1, 1.0, (3, 4)))
    batched = jax.vmap(model.solve)(mus)
    for mu, U in zip(mus, batched, strict=True):
        np.testing.assert_allclose(U, _implicit_euler(model.affine, mu), rtol=1e-10, atol=1e-14)


def test_estimator_bounds_the_space_time_error(model, greedy):
    reduced = greedy.reduced_model
    assert reduced.basis.shape == (model.size, MAX_BASIS)
    effectivities = []
    for mu in np.random.default_rng(1).uniform(0.1, 1.0, (20, 4)):
        U = model.solve(mu)
        error = float(model.error_norm(mu, U, reduced.reconstruct(reduced.solve(mu))))
        effectivities.append(float(reduced.estimate_error(mu)) / error)
    effectivities = np.array(effectivities)
    # A rigorous bound: effectivity >= 1 (slack 1e-6 for the solver's tolerance; the errors
    # are ~1e-3). Not loose: Young's inequality and alpha_LB = min mu <= alpha(mu) cost at
    # most max mu / min mu = 10 between them in the worst case; measured 1.1 to 2.4.
    assert effectivities.min() >= 1 - 1e-6, effectivities
    assert effectivities.max() <= 20, effectivities


def test_residual_norms_are_the_dual_norms_of_the_full_residuals(model, greedy):
    reduced = greedy.reduced_model
    affine, dt = model.affine, T / K
    mu = np.array([0.3, 0.9, 0.15, 0.6])
    C = np.asarray(reduced.solve(mu))
    V = np.asarray(reduced.basis)
    X, M = _dense(affine, affine.reference @ affine.data), _dense(affine, affine.mass)
    A = _dense(affine, mu @ np.asarray(affine.data))
    previous = np.concatenate([np.zeros((V.shape[1], 1)), C[:, :-1]], axis=1)
    R = np.asarray(affine.rhs)[:, None] - M @ V @ (C - previous) / dt - A @ V @ C
    dual = np.sqrt(np.sum(R * np.linalg.solve(X, R), axis=0))
    # The stable evaluation is accurate to ~eps * ||f||_X^-1 (rom.galerkin); these residuals
    # are ~1e-3 of that, so 1e-8 relative is loose.
    np.testing.assert_allclose(reduced.residual_norms(mu), dual, rtol=1e-8)
    bound = np.sqrt(dt / mu.min() * np.sum(dual**2))
    np.testing.assert_allclose(reduced.estimate_error(mu), bound, rtol=1e-8)


def test_reductor_rebuilds_the_greedys_reduced_model(model, greedy):
    # galerkin_parabolic from scratch (projection, Riesz representatives, factorization) and
    # the greedy's incremental, padded buffers trimmed to N give the same reduced model.
    reduced = greedy.reduced_model
    rebuilt = galerkin_parabolic(model, reduced.basis)
    mu = jnp.asarray([0.7, 0.2, 0.45, 0.95])
    np.testing.assert_allclose(rebuilt.solve(mu), reduced.solve(mu), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(rebuilt.estimate_error(mu), reduced.estimate_error(mu), rtol=1e-8)


def test_first_mode_is_the_top_x_weighted_singular_vector(model, greedy):
    affine = model.affine
    U = np.asarray(model.solve(greedy.selected[0]))
    L = np.linalg.cholesky(_dense(affine, affine.reference @ affine.data))
    W, S, _ = np.linalg.svd(L.T @ U, full_matrices=False)
    expected = np.linalg.solve(L.T, W[:, 0])  # ||u||_X = ||L^T u||_2
    mode = np.asarray(greedy.reduced_model.basis[:, 0])
    mode = mode * np.sign(mode @ expected)
    # The singular gap S[0] / S[1] is large (~10 here), so the mode is well conditioned.
    assert S[0] > 5 * S[1]
    np.testing.assert_allclose(mode, expected, atol=1e-10 * np.abs(expected).max())


def test_max_estimates_decrease(greedy):
    estimates = np.asarray(greedy.max_estimates)
    np.testing.assert_array_equal(greedy.basis_sizes, np.arange(MAX_BASIS + 1))
    assert greedy.selected.shape == (MAX_BASIS, 4)
    # Not a theorem for the POD-greedy (the estimator is not monotone in N in general), but
    # observed here at every step; the slack allows round-off only.
    assert np.all(estimates[1:] <= estimates[:-1] * (1 + 1e-9)), estimates
    assert estimates[-1] < 0.05 * estimates[0]  # measured 0.018


def test_a_basis_spanning_the_trajectory_reproduces_it(model, training):
    # The first step with modes_per_step = K puts the whole trajectory at mu* in the span
    # (modes below 100 K eps ||U|| are round-off and skipped). Same shapes as the greedy
    # fixture: no recompilation.
    result = pod_greedy(model, training, max_basis=MAX_BASIS, modes_per_step=K)
    sizes = np.asarray(result.basis_sizes)
    assert sizes[0] == 0
    assert 2 <= sizes[1] <= K  # measured: all K modes are above the round-off level
    assert sizes[-1] == MAX_BASIS
    reduced = result.reduced_model
    mu = result.selected[0]
    U = model.solve(mu)
    error = float(model.error_norm(mu, U, reduced.reconstruct(reduced.solve(mu))))
    scale = float(model.error_norm(mu, U, jnp.zeros_like(U)))
    assert error <= 1e-11 * scale
    # The estimate sees the residual of a round-off-level error: small against its start.
    assert float(reduced.estimate_error(mu)) <= 1e-9 * float(result.max_estimates[0])


def test_initial_value_enters_the_bound(model, greedy):
    # u0 outside the span of V: ||e^0||_M enters the bound, which must still hold.
    affine = model.affine
    nodes = np.arange(affine.size)
    u0 = jnp.asarray(0.05 * np.cos(0.3 * nodes))
    with_initial = ParabolicModel(affine, final_time=T, steps=K, initial=u0)
    reduced = galerkin_parabolic(with_initial, greedy.reduced_model.basis)
    assert float(reduced.initial_error) > 0
    for mu in np.random.default_rng(5).uniform(0.1, 1.0, (5, 4)):
        U = with_initial.solve(mu)
        error = float(with_initial.error_norm(mu, U, reduced.reconstruct(reduced.solve(mu))))
        assert float(reduced.estimate_error(mu)) >= error * (1 - 1e-6)


def test_pod_greedy_with_an_initial_value_starts_from_it(model, training):
    # Same shapes as the greedy fixture (u0 = 0 is a zero vector there): no recompilation.
    affine = model.affine
    u0 = jnp.asarray(np.random.default_rng(6).uniform(0.0, 0.1, affine.size))
    with_initial = ParabolicModel(affine, final_time=T, steps=K, initial=u0)
    result = pod_greedy(with_initial, training, max_basis=MAX_BASIS, modes_per_step=2)
    reduced = result.reduced_model
    sizes = np.asarray(result.basis_sizes)
    np.testing.assert_array_equal(sizes[:2], [1, 3])
    assert sizes[-1] == MAX_BASIS
    first = np.asarray(reduced.basis[:, 0])
    np.testing.assert_allclose(first * float(affine.norm(u0)), u0, atol=1e-12)
    assert float(reduced.initial_error) <= 1e-28  # ||u0||_M^2 ~ 1e-3, projected out exactly
    for mu in training[:5]:
        U = with_initial.solve(mu)
        error = float(with_initial.error_norm(mu, U, reduced.reconstruct(reduced.solve(mu))))
        assert float(reduced.estimate_error(mu)) >= error * (1 - 1e-6)


def test_reduced_model_jits_and_vmaps(model, greedy):
    reduced = greedy.reduced_model
    N = reduced.basis.shape[1]
    np.testing.assert_allclose(
        reduced.basis.T @ (model.product @ reduced.basis), np.eye(N), atol=1e-10
    )
    mus = jnp.asarray(np.random.default_rng(2).uniform(0.1, 1.0, (5, 4)))
    solve = eqx.filter_jit(lambda r, m: jax.vmap(r.solve)(m))(reduced, mus)
    estimate = eqx.filter_jit(lambda r, m: jax.vmap(r.estimate_error)(m))(reduced, mus)
    assert solve.shape == (5, N, K)
    for mu, C, Delta in zip(mus, solve, estimate, strict=True):
        np.testing.assert_allclose(C, reduced.solve(mu), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(Delta, reduced.estimate_error(mu), rtol=1e-10)


def test_float32_end_to_end(model, greedy):
    # Single precision throughout: the trajectory to ~1e-5 of the float64 one (rounding of
    # ~1e-7 per step, amplified by the condition number ~1e2 of the step matrix), and the
    # bound still holds (errors ~1e-3, far above float32 rounding).
    affine32 = thermal_block((2, 2), 1 / 10, solver="dense", dtype=np.float32)
    model32 = ParabolicModel(affine32, final_time=T, steps=K)
    mu = np.array([0.1, 0.5, 1.0, 0.3], np.float32)
    U32 = model32.solve(mu)
    assert U32.dtype == jnp.float32
    U64 = np.asarray(model.solve(mu.astype(np.float64)))
    np.testing.assert_allclose(np.asarray(U32, np.float64), U64, rtol=1e-4, atol=1e-5 * U64.max())
    reduced = galerkin_parabolic(model32, greedy.reduced_model.basis[:, :6].astype(jnp.float32))
    C = reduced.solve(mu)
    assert C.dtype == reduced.estimate_error(mu).dtype == jnp.float32
    error = float(model32.error_norm(mu, U32, reduced.reconstruct(C)))
    assert float(reduced.estimate_error(mu)) >= error * (1 - 1e-4)


def test_bad_input_is_a_clear_error(model, training, greedy):
    with pytest.raises(ValueError, match=r"training_set must be \(P, Q\) = \(P, 4\)"):
        pod_greedy(model, jnp.ones((3, 2)), max_basis=2)
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside the model's parameter range"):
        pod_greedy(model, jnp.full((3, 4), 2.0), max_basis=2)
    for bad in (0, model.size + 1, 2.0, True):
        with pytest.raises(ValueError, match=r"max_basis must be an int in \[1, 181\]"):
            pod_greedy(model, training, max_basis=bad)
    for bad in (0, K + 1):
        with pytest.raises(ValueError, match=r"modes_per_step must be an int in \[1, 10\]"):
            pod_greedy(model, training, max_basis=4, modes_per_step=bad)
    with pytest.raises(ValueError, match="tol must be a nonnegative float"):
        pod_greedy(model, training, max_basis=MAX_BASIS, tol=-1.0)
    with pytest.raises(ValueError, match="nothing to reduce"):
        pod_greedy(model, training, max_basis=MAX_BASIS, tol=1e6)
    affine = model.affine
    with pytest.raises(ValueError, match="affine must have a mass matrix"):
        ParabolicModel(eqx.tree_at(lambda a: a.mass, affine, None), final_time=T, steps=K)
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        ParabolicModel(affine, final_time=T, steps=0)
    with pytest.raises(ValueError, match="final_time must be a positive float"):
        ParabolicModel(affine, final_time=0.0, steps=K)
    with pytest.raises(ValueError, match=r"initial must be a vector of shape \(n,\) = \(181,\)"):
        ParabolicModel(affine, final_time=T, steps=K, initial=jnp.ones(3))
    with pytest.raises(ValueError, match=r"basis must be \(n, N\)"):
        galerkin_parabolic(model, jnp.ones((model.size + 1, 2)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="basis must be orthonormal"):
        galerkin_parabolic(model, jnp.ones((model.size, 2)))
    with pytest.raises(ValueError, match=r"trajectories of shape \(n, K\) = \(181, 10\)"):
        model.error_norm(jnp.ones(4), jnp.ones((model.size, 3)), jnp.zeros((model.size, 3)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside the model's parameter range"):
        greedy.reduced_model.estimate_error(jnp.array([0.05, 0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match=r"mu must have shape \(4,\)"):
        model.solve(jnp.ones(3))
