"""The thermal block (P1 FE), Galerkin reduction, the error estimator and the weak greedy.

Oracles: a manufactured solution (second-order L2 convergence of P1 elements), dense
NumPy solves of the assembled matrices, the exact error of the reduced solution against
the full solve (the estimator must bound it: effectivity >= 1), and pyMOR's node count.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rom
from rom.problems import thermal_block, unit_square_mesh


def _dense(model, values):
    A = np.zeros((model.size, model.size))
    idx = np.asarray(model.indices)
    np.add.at(A, (idx[:, 0], idx[:, 1]), np.asarray(values))
    return A


def test_mesh_matches_pymor_and_assembly_matches_dense():
    nodes, triangles = unit_square_mesh(100)
    assert len(nodes) == 20_201  # pyMOR's TriaGrid at h = 1/100
    assert len(triangles) == 4 * 100**2
    model = thermal_block((3, 2), 1 / 10)
    A_blocks = [_dense(model, model.data[q]) for q in range(6)]
    for A in A_blocks:
        np.testing.assert_allclose(A, A.T, atol=1e-14)
        assert np.linalg.eigvalsh(A).min() > -1e-12  # each block term is PSD
    X = sum(A_blocks)
    # The H1_0 product is SPD; rows of the full Laplacian sum to 0 away from the boundary.
    assert np.linalg.eigvalsh(X).min() > 0
    mu = np.array([0.1, 0.5, 1.0, 0.3, 0.7, 0.2])
    u = np.asarray(model.solve(mu))
    expected = np.linalg.solve(sum(m * A for m, A in zip(mu, A_blocks, strict=True)), model.rhs)
    np.testing.assert_allclose(u, expected, rtol=1e-9, atol=1e-12)
    # The load of f = 1 sums to the integral of the interior hat functions: 1 minus that of
    # the boundary ones, each a third of the area of its triangles.
    nodes, triangles = unit_square_mesh(10)
    on_edge = np.isclose(nodes, 0).any(1) | np.isclose(nodes, 1).any(1)
    boundary_mass = np.sum(on_edge[triangles]) * (1 / 400) / 3  # all triangles have area h^2/4
    np.testing.assert_allclose(float(jnp.sum(model.rhs)), 1 - boundary_mass, rtol=1e-12)


def test_p1_converges_at_second_order_in_l2():
    # -Laplace u = 2 pi^2 sin(pi x) sin(pi y), u = sin(pi x) sin(pi y): one block, mu = 1.
    errors = []
    for n in (8, 16, 32):
        model = thermal_block((1, 1), 1 / n, parameter_range=(1.0, 1.0))
        nodes, _ = unit_square_mesh(n)
        interior = ~(
            np.isclose(nodes[:, 0], 0)
            | np.isclose(nodes[:, 0], 1)
            | np.isclose(nodes[:, 1], 0)
            | np.isclose(nodes[:, 1], 1)
        )
        x, y = nodes[interior].T
        exact = np.sin(np.pi * x) * np.sin(np.pi * y)
        load = model.mass_matrix @ jnp.asarray(2 * np.pi**2 * exact)
        u = model.solve_values(model.data[0], load)
        e = jnp.asarray(u) - exact
        errors.append(float(jnp.sqrt(e @ (model.mass_matrix @ e))))
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    np.testing.assert_array_less(1.8, rates)  # second order (measured ~2.0)


@pytest.fixture(scope="module")
def greedy():
    model = thermal_block((2, 2), 1 / 16)
    rng = np.random.default_rng(0)
    training = jnp.asarray(rng.uniform(0.1, 1.0, (64, 4)))
    return model, rom.weak_greedy(model, training, max_basis=10)


def test_estimator_bounds_the_error_on_test_parameters(greedy):
    model, result = greedy
    reduced = result.reduced_model
    test = np.random.default_rng(1).uniform(0.1, 1.0, (20, 4))
    for mu in test:
        u = model.solve(mu)
        error = float(model.norm(u - reduced.reconstruct(reduced.solve(mu))))
        estimate = float(reduced.estimate_error(mu))
        # Effectivity >= 1 (a rigorous bound; 1e-9 relative slack for the CG tolerance),
        # and not wildly pessimistic: at most max mu / min mu = 10 from the coercivity bound
        # times a modest factor (measured 1.5 to 20).
        assert estimate >= error * (1 - 1e-6), (mu, error, estimate)
        assert estimate <= 200 * error
    # The residual norm from the Gram matrix equals the dual norm of the actual residual.
    mu = jnp.asarray(test[0])
    c = reduced.solve(mu)
    r = model.rhs - model.operator(mu) @ reduced.reconstruct(c)
    np.testing.assert_allclose(
        reduced.residual_norm(mu), model.norm(model.solve_product(r)), rtol=1e-6
    )


def test_stable_and_classical_residual_norms_agree_with_the_true_dual_norm(greedy):
    # At moderate accuracy both evaluations equal ||X^-1 r||_X (computed from the actual
    # residual by a full solve) to the CG tolerance; rom.galerkin's factorization of the
    # Riesz representatives reproduces them (Z = Q R, Q orthonormal in X).
    model, result = greedy
    reduced = result.reduced_model
    mu = jnp.asarray([0.3, 0.9, 0.15, 0.6])
    c = reduced.solve(mu)
    r = model.rhs - model.operator(mu) @ reduced.reconstruct(c)
    truth = float(model.norm(model.solve_product(r)))
    for evaluation in ("stable", "classical"):
        np.testing.assert_allclose(
            reduced.residual_norm(mu, evaluation=evaluation), truth, rtol=1e-6
        )
    rebuilt = rom.galerkin(model, reduced.basis, riesz=result.riesz)
    np.testing.assert_allclose(rebuilt.residual_norm(mu), truth, rtol=1e-6)
    with pytest.raises(ValueError, match="needs a residual interpolant"):
        reduced.residual_norm(mu, evaluation="eim")
    with pytest.raises(ValueError, match="evaluation must be one of"):
        reduced.residual_norm(mu, evaluation="gram")


def test_eim_evaluation_of_the_residual_norm(greedy):
    # Casenave, Ern & Lelievre (2014): EIM of the residual's Riesz representative over the
    # training set. With d = the numerical rank of the snapshots (<= M = 1 + QN = 41) the
    # interpolation reproduces the representative of any parameter, so the EIM norm equals
    # the true dual norm (from a full solve of the actual residual) on unseen parameters.
    model, result = greedy
    reduced = result.reduced_model
    training = jnp.asarray(np.random.default_rng(5).uniform(0.1, 1.0, (80, 4)))
    interpolant = rom.residual_interpolant(model, reduced, training, riesz=result.riesz)
    assert interpolant.points.shape[0] <= 1 + 4 * reduced.basis.shape[1]
    with_eim = reduced.with_residual_interpolant(interpolant)
    for mu in np.random.default_rng(6).uniform(0.1, 1.0, (3, 4)):
        mu = jnp.asarray(mu)
        c = reduced.solve(mu)
        r = model.rhs - model.operator(mu) @ reduced.reconstruct(c)
        truth = float(model.norm(model.solve_product(r)))
        np.testing.assert_allclose(with_eim.residual_norm(mu, evaluation="eim"), truth, rtol=1e-6)
    estimates = jax.jit(jax.vmap(lambda m: with_eim.estimate_error(m, evaluation="eim")))(
        training[:5]
    )
    np.testing.assert_allclose(estimates, jax.vmap(reduced.estimate_error)(training[:5]), rtol=1e-6)
    # A truncated interpolant (d = 5) is an approximation: its training errors say so.
    small = rom.residual_interpolant(model, reduced, training, size=5, riesz=result.riesz)
    assert small.errors.shape == (5,)
    assert small.errors[-1] < small.errors[0]
    with pytest.raises(ValueError, match="training_set must be"):
        rom.residual_interpolant(model, reduced, training[:, :2])


def test_greedy_decays_and_the_reduced_model_jits_and_vmaps(greedy):
    model, result = greedy
    estimates = np.asarray(result.max_estimates)
    assert estimates[-1] < 1e-2 * estimates[0]
    reduced = result.reduced_model
    N = reduced.basis.shape[1]
    assert N == 10
    np.testing.assert_allclose(
        reduced.basis.T @ (model.product @ reduced.basis), np.eye(N), atol=1e-10
    )
    mus = jnp.asarray(np.random.default_rng(2).uniform(0.1, 1.0, (7, 4)))
    batched = eqx.filter_jit(lambda r, m: jax.vmap(r.estimate_error)(m))(reduced, mus)
    single = np.array([float(reduced.estimate_error(m)) for m in mus])
    np.testing.assert_allclose(batched, single, rtol=1e-10)


def test_greedy_stopped_by_tol_matches_a_fresh_projection(greedy):
    # The greedy trims its padded buffers (max_basis = 10) to the N vectors it kept; that
    # model must be the one rom.galerkin builds from scratch on the same basis.
    model, result = greedy
    training = jnp.asarray(np.random.default_rng(0).uniform(0.1, 1.0, (64, 4)))
    tol = float(np.sqrt(result.max_estimates[5] * result.max_estimates[6]))
    stopped = rom.weak_greedy(model, training, max_basis=10, tol=tol)
    reduced = stopped.reduced_model
    assert reduced.basis.shape[1] == 6
    fresh = rom.galerkin(model, reduced.basis, riesz=stopped.riesz)
    for mu in np.random.default_rng(4).uniform(0.1, 1.0, (3, 4)):
        mu = jnp.asarray(mu)
        np.testing.assert_allclose(reduced.solve(mu), fresh.solve(mu), rtol=1e-10)
        for evaluation in ("stable", "classical"):
            np.testing.assert_allclose(
                reduced.estimate_error(mu, evaluation=evaluation),
                fresh.estimate_error(mu, evaluation=evaluation),
                rtol=1e-8,
            )


def test_bad_input_is_a_clear_error(greedy):
    model, result = greedy
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside the model's parameter range"):
        model.solve(jnp.array([0.05, 0.5, 0.5, 0.5]))
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside the model's parameter range"):
        result.reduced_model.estimate_error(jnp.array([2.0, 0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match=r"mu must have shape \(4,\)"):
        model.solve(jnp.ones(3))
    with pytest.raises(eqx.EquinoxRuntimeError, match="basis must be orthonormal"):
        rom.galerkin(model, jnp.ones((model.size, 2)))
    with pytest.raises(ValueError, match=r"basis must be \(n, N\)"):
        rom.galerkin(model, jnp.ones((model.size + 1, 2)))
    with pytest.raises(ValueError, match="training_set must be"):
        rom.weak_greedy(model, jnp.ones((3, 2)), max_basis=2)
    with pytest.raises(ValueError, match="1/h must be an integer"):
        thermal_block((2, 2), 0.3)


def test_orthonormalize_in_the_energy_product(greedy):
    model, _ = greedy
    vectors = jnp.asarray(np.random.default_rng(3).standard_normal((model.size, 3)))
    Q = rom.orthonormalize(model, jnp.zeros((model.size, 0)), vectors)
    np.testing.assert_allclose(Q.T @ (model.product @ Q), np.eye(3), atol=1e-10)
    # Same span: the vectors are reproduced by their X-projection onto Q.
    projected = Q @ (Q.T @ (model.product @ vectors))
    np.testing.assert_allclose(projected, vectors, atol=1e-8)


def test_the_three_solvers_agree_with_a_dense_solve():
    banded = thermal_block((2, 2), 1 / 12)  # the default: sparse direct (banded Cholesky)
    mu = jnp.array([0.1, 0.9, 0.4, 0.6])
    A = _dense(banded, np.asarray(mu) @ np.asarray(banded.data))
    expected = np.linalg.solve(A, np.asarray(banded.rhs))
    for solver in ("banded", "cg", "dense"):
        model = banded.with_solver(solver)
        # Direct solves are exact to rounding (cond(A) ~ 1e3 here); CG stops at 1e-12.
        np.testing.assert_allclose(model.solve(mu), expected, rtol=1e-9)
    B = jnp.stack([banded.rhs, 2 * banded.rhs], axis=1)
    np.testing.assert_allclose(
        banded.product_factor().solve(B),
        banded.with_solver("cg").product_factor().solve(B),
        rtol=1e-9,
    )
    with pytest.raises(ValueError, match="solver must be one of"):
        banded.with_solver("lu")
    with pytest.raises(ValueError, match="needs the ordered pattern"):
        dataclasses.replace(banded, banded=None).solve(mu)
