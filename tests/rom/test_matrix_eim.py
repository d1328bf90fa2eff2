"""Nonintrusive matrix EIM (Casenave, Ern, Lelièvre & Sylvand 2013) and its test problem.

Oracles: a brute-force dense assembly loop over the triangles (with its own P1 gradients),
dense NumPy solves, an affine family that a Q-term EIM must reproduce exactly, the EIM's
interpolation property (exact at the magic entries and at the selected parameters), dense
generalized eigenvalues for the coercivity of the EIM operator, and the true error of the
reduced solution against the EIM model (the estimator must bound it).
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from threadpoolctl import threadpool_limits

import rom
from rom.matrix_eim import MatrixEIM, matrix_eim
from rom.problems import thermal_block, unit_square_mesh
from rom.problems.nonaffine_diffusion import nonaffine_diffusion


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Run this module with one OpenBLAS thread (restored afterwards).

    The NumPy/SciPy oracles are small (n = 265); with OpenBLAS's threads spinning against
    XLA's compiler on a loaded 2-core machine, a 265 x 265 generalized `eigh` took 0.8 s
    instead of 5 ms. As in tests/spectral/test_matfun.py.
    """
    jax.block_until_ready(jnp.linalg.eigh(jnp.eye(2)))  # threadpoolctl sees loaded libraries
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _dense(indices, values, n):
    A = np.zeros((n, n))
    idx = np.asarray(indices)
    np.add.at(A, (idx[:, 0], idx[:, 1]), np.asarray(values))
    return A


def _brute_force_stiffness(n_cells, mu, width=0.1):
    """Dense A(mu) by a loop over the triangles, P1 gradients from the 3x3 Vandermonde."""
    nodes, triangles = unit_square_mesh(n_cells)
    boundary = np.isclose(nodes, 0).any(1) | np.isclose(nodes, 1).any(1)
    dof = -np.ones(len(nodes), int)
    dof[~boundary] = np.arange(np.count_nonzero(~boundary))
    A = np.zeros((np.count_nonzero(~boundary),) * 2)
    for tri in triangles:
        p = nodes[tri]
        V = np.column_stack([np.ones(3), p])  # phi_i = c0 + c1 x + c2 y, phi_i(p_j) = delta_ij
        grads = np.linalg.inv(V)[1:].T  # (3, 2)
        area = 0.5 * abs(np.linalg.det(V))
        x = p.mean(0)
        d = 1 + mu[0] * np.exp(-((x[0] - mu[1]) ** 2 + (x[1] - 0.5) ** 2) / (2 * width**2))
        local = d * area * grads @ grads.T
        for a in range(3):
            for b in range(3):
                if dof[tri[a]] >= 0 and dof[tri[b]] >= 0:
                    A[dof[tri[a]], dof[tri[b]]] += local[a, b]
    return A


def _random_parameters(rng, count):
    """Amplitudes log-uniform in [0.1, 10], centres uniform in [0.2, 0.8]."""
    return jnp.asarray(
        np.stack(
            [np.exp(rng.uniform(np.log(0.1), np.log(10), count)), rng.uniform(0.2, 0.8, count)], 1
        )
    )


@pytest.fixture(scope="module")
def problem():
    return nonaffine_diffusion(1 / 12)


@pytest.fixture(scope="module")
def training():
    grid = jnp.meshgrid(jnp.geomspace(0.1, 10.0, 6), jnp.linspace(0.2, 0.8, 31))
    return jnp.stack(grid, -1).reshape(-1, 2)  # 186 parameters


@pytest.fixture(scope="module")
def approx(problem, training):
    return matrix_eim(problem.entries, problem.indices, training, 24, assemble=problem.assemble)


@pytest.fixture(scope="module")
def test_parameters():
    return _random_parameters(np.random.default_rng(1), 20)  # unseen by the training grid


@pytest.fixture(scope="module")
def evaluations(problem, approx, test_parameters):
    """A(mu), theta(mu) and A_EIM(mu) at the 20 test parameters, then the 24 selected ones."""
    mus = jnp.concatenate([test_parameters, approx.parameters])

    @eqx.filter_jit
    def evaluate(problem, approx, mus):
        return jax.vmap(problem.assemble)(mus), jax.vmap(approx)(mus), jax.vmap(approx.values)(mus)

    return tuple(np.asarray(x) for x in evaluate(problem, approx, mus))


def test_entries_and_assembly_match_a_brute_force_oracle(problem):
    mu = jnp.array([3.0, 0.37])
    rng = np.random.default_rng(0)
    picked = rng.integers(0, problem.indices.shape[0], 150)
    # 150 pattern entries, then two pairs: off the pattern (the first and last unknowns are
    # far apart) and the first diagonal entry.
    rows = jnp.concatenate([problem.indices[picked, 0], jnp.array([0, 0], jnp.int32)])
    cols = jnp.concatenate(
        [problem.indices[picked, 1], jnp.array([problem.size - 1, 0], jnp.int32)]
    )

    @eqx.filter_jit
    def evaluate(problem, mu, rows, cols):
        return (
            problem.assemble(mu),
            problem.entries(mu, rows.reshape(2, -1), cols.reshape(2, -1)).ravel(),
            problem.solve(mu),
            problem.coercivity_lower_bound(problem.reference),
        )

    values, entries, u, bound = evaluate(problem, mu, rows, cols)
    expected = _brute_force_stiffness(12, np.asarray(mu))
    # Same sums in another order: agreement to rounding (entries are O(1)).
    np.testing.assert_allclose(_dense(problem.indices, values, problem.size), expected, atol=1e-13)
    np.testing.assert_allclose(entries[:150], values[picked], rtol=1e-14)
    np.testing.assert_allclose(entries[150:], [0.0, expected[0, 0]], rtol=1e-14)
    np.testing.assert_allclose(u, np.linalg.solve(expected, np.asarray(problem.rhs)), rtol=1e-10)
    # The coercivity bound is the min ratio of the conductivities: 1 at the reference.
    np.testing.assert_allclose(bound, 1.0)
    with pytest.raises(ValueError, match="rows and cols must have the same shape"):
        problem.entries(mu, jnp.zeros(3, int), jnp.zeros(2, int))
    with pytest.raises(ValueError, match="1/h must be an integer"):
        nonaffine_diffusion(0.3)
    with pytest.raises(ValueError, match="reference must be two numbers in the box"):
        nonaffine_diffusion(1 / 4, reference=(20.0, 0.5))


def test_an_affine_family_is_recovered_exactly_in_q_terms():
    model = thermal_block((2, 2), 1 / 8)
    Q, n = model.num_terms, model.size
    terms = jnp.asarray(np.stack([_dense(model.indices, model.data[q], n) for q in range(Q)]))

    def entries(mu, rows, cols):  # A(mu)[rows, cols] = sum_q mu_q A_q[rows, cols]
        return jnp.tensordot(mu, terms[:, rows, cols], 1)

    rng = np.random.default_rng(0)
    training = jnp.asarray(rng.uniform(0.1, 1.0, (30, Q)))
    approx = matrix_eim(entries, model.indices, training, Q)
    F = training @ model.data  # (P, nnz) snapshots
    residual = jnp.max(jnp.abs(F - jax.vmap(approx.values)(training)))
    # The training errors drop from O(1) to rounding after Q terms (relative 1e-12: the
    # interpolation matrix is unit lower triangular with entries <= 1).
    assert float(residual) < 1e-12 * float(approx.errors[0])
    test = jnp.asarray(rng.uniform(0.1, 1.0, (10, Q)))
    exact = test @ model.data
    error = jnp.linalg.norm(jax.vmap(approx.values)(test) - exact, axis=1)
    assert float(jnp.max(error / jnp.linalg.norm(exact, axis=1))) < 1e-12
    # The terms span the snapshots at the selected parameters, which are training rows.
    assert approx.parameters.shape == (Q, Q)
    assert all(bool(jnp.any(jnp.all(training == p[None, :], axis=1))) for p in approx.parameters)


def test_interpolation_is_exact_at_magic_entries_and_selected_parameters(
    problem, approx, evaluations
):
    # The magic entries are pattern entries.
    np.testing.assert_array_equal(approx.rows, problem.indices[approx.positions, 0])
    np.testing.assert_array_equal(approx.cols, problem.indices[approx.positions, 1])
    U_p = np.asarray(approx.interpolation_matrix)
    np.testing.assert_allclose(np.diag(U_p), 1.0)  # unit lower triangular
    np.testing.assert_array_equal(np.triu(U_p, 1), 0.0)
    exact, _, approximate = evaluations
    scale = float(np.max(np.abs(exact)))
    # At the magic entries the interpolant reproduces A(mu) for every mu, to rounding
    # (measured 8e-16 relative; cond(U[p]) = 15).
    at_magic = np.abs(approximate[:20, approx.positions] - exact[:20, approx.positions])
    assert float(np.max(at_magic)) < 1e-13 * scale
    # At the selected parameters A(mu_k) lies in the span: all entries exact (measured 5e-16).
    assert float(np.max(np.abs(approximate[20:] - exact[20:]))) < 1e-13 * scale
    # The paper's form: A_EIM(mu) = sum_k beta_k(mu) A(mu_k) for some beta (least squares
    # in the selected snapshots leaves a rounding-level residual; measured 1e-15).
    snapshots = exact[20:].T  # (nnz, K): A(mu_k)
    beta, *_ = np.linalg.lstsq(snapshots, approximate[:20].T, rcond=None)
    residual = np.linalg.norm(snapshots @ beta - approximate[:20].T, axis=0)
    assert float(np.max(residual / np.linalg.norm(approximate[:20], axis=1))) < 1e-11


def test_the_error_decays_with_the_number_of_terms(
    problem, approx, training, test_parameters, evaluations
):
    exact, theta, _ = (x[:20] for x in evaluations)  # theta: (20, 24)
    # Forward substitution: the first k coefficients of the K-term EIM are those of the
    # k-term EIM, so the prefixes of one evaluation give every size.
    sizes = (4, 8, 12, 16, 20, 24)
    errors = []
    for K in sizes:
        error = np.linalg.norm(theta[:, :K] @ np.asarray(approx.data[:K]) - exact, axis=1)
        errors.append(float(np.max(error / np.linalg.norm(exact, axis=1))))
    # Measured max relative Frobenius error on 20 unseen parameters:
    # K = 4: 0.63, 8: 1.3e-2, 12: 4.7e-4, 16: 2.2e-7, 20: 1.4e-9, 24: 1.0e-12.
    assert errors[0] > 0.1
    assert errors[2] < 5e-3
    assert errors[3] < 5e-6
    assert errors[5] < 1e-10
    assert np.all(np.diff(np.log10(errors)) < -1)  # at least a decade every 4 terms
    # The training errors decay too, and a truncation is the EIM of that size.
    assert float(approx.errors[-1]) < 1e-9 * float(approx.errors[0])
    direct = matrix_eim(problem.entries, problem.indices, training, 10, assemble=problem.assemble)
    prefix = approx.truncate(10)
    np.testing.assert_array_equal(direct.positions, prefix.positions)
    np.testing.assert_array_equal(direct.parameters, prefix.parameters)
    np.testing.assert_allclose(direct.data, prefix.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(prefix(test_parameters[0]), theta[0, :10], rtol=1e-12, atol=1e-12)


def test_the_eim_system_solution_is_close_to_the_true_solve(problem, approx, evaluations):
    exact, theta, _ = (x[:20] for x in evaluations)
    K, n, f = 12, problem.size, np.asarray(problem.rhs)
    for values, coefficients in zip(exact, theta, strict=True):
        approximate = coefficients[:K] @ np.asarray(approx.data[:K])  # the 12-term EIM
        truth = np.linalg.solve(_dense(problem.indices, values, n), f)
        u = np.linalg.solve(_dense(problem.indices, approximate, n), f)
        solution_error = np.linalg.norm(u - truth) / np.linalg.norm(truth)
        matrix_error = np.linalg.norm(approximate - values) / np.linalg.norm(values)
        # Perturbation theory: ||du||/||u|| <~ cond(A) ||dA||/||A|| (cond ~ 1e2 here);
        # measured ratio at most 0.6 (solution errors up to 1.3e-4 with 12 terms).
        assert solution_error <= 10 * matrix_error + 1e-12
        assert solution_error < 1e-3


SAFETY = 0.9  # the true operator's coercivity bound, discounted for an 8-term EIM


@pytest.fixture(scope="module")
def greedy(problem, approx):
    eim_model = approx.truncate(8).affine_model(
        problem.indices,
        problem.rhs,
        low=problem.low,
        high=problem.high,
        reference_mu=problem.reference,
        coercivity=lambda mu: SAFETY * problem.coercivity_lower_bound(mu),
        mass=problem.mass,
    )
    grid = jnp.meshgrid(jnp.geomspace(0.1, 10.0, 5), jnp.linspace(0.2, 0.8, 13))
    training = jnp.stack(grid, -1).reshape(-1, 2)
    return eim_model, rom.weak_greedy(eim_model, training, max_basis=6)


@eqx.filter_jit
def _reduced_evaluations(problem, reduced, mus):
    def one(mu):
        u = reduced.reconstruct(reduced.solve(mu))
        bound = problem.coercivity_lower_bound(mu)
        return u, reduced.estimate_error(mu), reduced.theta.values(mu), bound

    return jax.vmap(one)(mus)


@pytest.mark.slow  # the greedy fixture: ~12 s, mostly compiling its step
def test_reduced_basis_on_the_eim_model_is_certified(problem, greedy, test_parameters):
    eim_model, result = greedy
    reduced = result.reduced_model
    estimates = np.asarray(result.max_estimates)
    # Measured 0.39 -> 2.4e-2 in 6 steps (a moving bump with a 100:1 amplitude range).
    assert estimates[-1] < 0.1 * estimates[0]
    mus = jnp.concatenate([test_parameters[:10], result.selected[-1:]])
    evaluations = _reduced_evaluations(problem, reduced, mus)
    reduced_u, estimates, values, bounds = (np.asarray(x) for x in evaluations)
    n, f = eim_model.size, np.asarray(eim_model.rhs)
    X = _dense(eim_model.indices, eim_model.reference @ eim_model.data, n)
    ratios, errors, norms = [], [], []
    for u_N, v, bound in zip(reduced_u, values, bounds, strict=True):
        A = _dense(eim_model.indices, v, n)  # A_EIM(mu), the model the RB approximates
        u = np.linalg.solve(A, f)
        errors.append(np.sqrt((u - u_N) @ X @ (u - u_N)))
        norms.append(np.sqrt(u @ X @ u))
        # The coercivity bound in the model is that of the true operator times SAFETY. The
        # 8-term EIM operator's coercivity constant (dense generalized eigenvalue in
        # X = A_EIM(reference)) falls below the undiscounted bound (measured ratio 0.94 at
        # worst), but not below the discounted one: the estimator is then rigorous.
        alpha = scipy.linalg.eigh(A, X, eigvals_only=True, subset_by_index=(0, 0))[0]
        ratios.append(alpha / bound)
    assert min(ratios) >= SAFETY
    effectivities = estimates[:-1] / np.asarray(errors[:-1])
    # A bound on the error w.r.t. the EIM model (measured effectivities 1.4 to 3.7).
    assert np.min(effectivities) >= 1.0, effectivities
    assert np.max(effectivities) <= 20.0, effectivities
    # The reduced solution converges to the EIM model's: exact (to rounding) at the last
    # selected parameter, whose solution is in the basis.
    assert errors[-1] < 1e-10 * norms[-1]


@pytest.mark.slow  # uses the greedy fixture
def test_without_a_coercivity_bound_the_estimate_raises(problem, greedy):
    eim_model, result = greedy
    reduced = dataclasses.replace(result.reduced_model, coercivity=None)
    with pytest.raises(ValueError, match="min-theta coercivity bound does not apply"):
        reduced.estimate_error(problem.reference)
    with pytest.raises(ValueError, match="min-theta coercivity bound does not apply"):
        rom.weak_greedy(
            dataclasses.replace(eim_model, coercivity=None), result.selected, max_basis=2
        )


def test_jit_and_vmap(problem, approx, test_parameters, evaluations):
    _, theta, _ = evaluations  # jit(vmap(approx)) over the test parameters
    mu = test_parameters[0]
    eager = approx(mu)
    assert eager.shape == (24,)
    # Compiled and eager entries differ by an ulp (fused exp), which the triangular solve
    # carries into the small trailing coefficients: compare to 1e-13 of the largest.
    tol = {"rtol": 1e-13, "atol": 1e-13 * float(jnp.max(jnp.abs(eager)))}
    np.testing.assert_allclose(eqx.filter_jit(approx)(mu), eager, **tol)
    np.testing.assert_allclose(theta[0], eager, **tol)
    np.testing.assert_allclose(theta[3], approx(test_parameters[3]), **tol)
    # theta(mu) is the K entries at the magic positions mapped by the triangular solve.
    magic = problem.entries(mu, approx.rows, approx.cols)
    np.testing.assert_allclose(approx.interpolation_matrix @ eager, magic, rtol=1e-13)


def test_float32(training):
    problem32 = nonaffine_diffusion(1 / 8, dtype=np.float32)
    approx32 = matrix_eim(
        problem32.entries,
        problem32.indices,
        training[::4].astype(jnp.float32),
        8,
        assemble=problem32.assemble,
    )
    assert approx32.data.dtype == jnp.float32
    mu = jnp.array([2.0, 0.6], jnp.float32)
    assert approx32(mu).dtype == jnp.float32
    exact = problem32.assemble(mu)
    # 8 terms: ~1e-2 EIM error, far above float32 rounding.
    error = jnp.linalg.norm(approx32.values(mu) - exact) / jnp.linalg.norm(exact)
    assert float(error) < 0.05


def test_bad_input_is_a_clear_error(problem, approx, training):
    entries, indices = problem.entries, problem.indices
    with pytest.raises(ValueError, match=r"indices must be \(nnz, 2\)"):
        matrix_eim(entries, indices[:, :1], training, 4)
    with pytest.raises(TypeError, match="indices must be integer"):
        matrix_eim(entries, indices.astype(jnp.float64), training, 4)
    with pytest.raises(ValueError, match=r"training_set must be \(P, p\)"):
        matrix_eim(entries, indices, training[:, 0], 4)
    with pytest.raises(TypeError, match="size must be a Python int"):
        matrix_eim(entries, indices, training, 4.0)
    with pytest.raises(ValueError, match=r"size must be in \[1, 186\]"):
        matrix_eim(entries, indices, training, 187)
    with pytest.raises(ValueError, match=r"size must be in \[1, 186\]"):
        matrix_eim(entries, indices, training, 0)
    with pytest.raises(TypeError, match="entries must be callable"):
        matrix_eim("A", indices, training, 4)

    def scalar_entries(mu, rows, cols):
        return jnp.sum(problem.entries(mu, rows, cols))

    with pytest.raises(ValueError, match=r"entries must return values of shape \(K,\)"):
        matrix_eim(scalar_entries, indices, training, 4)
    with pytest.raises(ValueError, match=r"assemble must return values of shape \(nnz,\)"):
        matrix_eim(entries, indices, training, 4, assemble=lambda mu: problem.assemble(mu)[:-1])
    with pytest.raises(ValueError, match=r"size must be in \[1, 24\]"):
        approx.truncate(25)
    with pytest.raises(ValueError, match="indices must be the"):
        approx.affine_model(
            indices[:-1],
            problem.rhs,
            low=problem.low,
            high=problem.high,
            reference_mu=problem.reference,
        )
    with pytest.raises(ValueError, match=r"reference_mu must have shape \(2,\)"):
        approx.affine_model(
            indices, problem.rhs, low=problem.low, high=problem.high, reference_mu=jnp.ones(3)
        )
    assert isinstance(approx, MatrixEIM)
