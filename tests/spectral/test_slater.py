"""spectral.slater: Slater-type orbitals as MPS and their one-electron integrals.

Oracles: the closed forms for equal exponents (checked here themselves against SciPy
quadrature), dense NumPy sums on the same grid (the discretization is then the same, so the
MPS contraction must agree to rounding), and SciPy quadrature for the softened Coulomb
attraction.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from spectral import mps as M, slater

ZETA, R = 1.0, 1.4


def _pair_1d(n, lower=-16.0, upper=16.0, zeta=ZETA, distance=R):
    a = slater.sto_1d(zeta, -distance / 2, num_sites=n, lower=lower, upper=upper)
    b = slater.sto_1d(zeta, distance / 2, num_sites=n, lower=lower, upper=upper)
    return a, b, slater.grid_spacing(n, lower, upper)


def _dense_1d(n, center, lower=-16.0, upper=16.0, zeta=ZETA):
    x = lower + np.arange(2**n) * (upper - lower) / 2**n
    return np.sqrt(zeta) * np.exp(-zeta * np.abs(x - center))


def test_sto_1d_is_the_sampled_orbital_with_bond_at_most_3():
    a = slater.sto_1d(ZETA, -0.7, num_sites=12, lower=-16.0, upper=16.0)
    np.testing.assert_allclose(M.to_dense(a), _dense_1d(12, -0.7), rtol=1e-13, atol=1e-15)
    assert a.max_bond == 3  # the cusp's exact TT rank with the centre inside the grid


def test_1d_integrals_equal_dense_sums_on_the_same_grid():
    n = 9
    a, b, h = _pair_1d(n)
    xa, xb = _dense_1d(n, -R / 2), _dense_1d(n, R / 2)
    np.testing.assert_allclose(
        float(slater.overlap(a, b, volume_element=h)), h * xa @ xb, rtol=1e-13
    )
    # natural boundary: (1 / 2h) sum over neighbouring pairs inside the box of the products of
    # differences (summation by parts of -1/2 h a^T Laplacian b, without the jump to zero)
    want = 0.5 / h * np.diff(xa) @ np.diff(xb)
    for form in slater.FORMS:
        # the Laplacian form's three terms are O(1/h^2) times the result: 1e-10 relative
        got = float(slater.kinetic(a, b, h=h, form=form))
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=form)


def test_1d_overlap_and_kinetic_converge_to_the_closed_forms():
    S_exact = float(slater.overlap_1d_exact(ZETA, R))
    T_exact = float(slater.kinetic_1d_exact(ZETA, R))
    errors = []
    for n in (8, 12, 16):
        a, b, h = _pair_1d(n)
        S = float(slater.overlap(a, b, volume_element=h))
        T = float(slater.kinetic(a, b, h=h))
        errors.append((abs(S - S_exact) / S_exact, abs(T - T_exact) / abs(T_exact)))
    # cusps off the grid points: first-order convergence at worst, so 16x per 4 qubits at
    # least (measured: S 1e-3 -> 2e-7 -> 1e-9, T 1e-2 -> 3e-6 -> 3e-8)
    for (s0, t0), (s1, t1) in itertools.pairwise(errors):
        assert s1 < s0 / 16
        assert t1 < t0 / 16
    assert errors[-1][0] < 1e-7
    assert errors[-1][1] < 1e-6


def test_gradient_form_stays_accurate_where_the_laplacian_loses_digits():
    # at 26 qubits h = 5e-7: the Laplacian's O(eps/h^2) roundoff swamps the result, the
    # summation by parts loses only O(eps/h) ~ 1e-9 relative
    a, b, h = _pair_1d(26)
    T_exact = float(slater.kinetic_1d_exact(ZETA, R))
    T = float(slater.kinetic(a, b, h=h, form="gradient"))
    assert abs(T - T_exact) / abs(T_exact) < 1e-6
    T_lap = float(slater.kinetic(a, b, h=h, form="laplacian"))
    assert abs(T_lap - T_exact) > 100 * abs(T - T_exact)


def test_closed_forms_against_quadrature():
    rho = ZETA * R
    S, _ = integrate.quad(
        lambda x: _sto(x, -R / 2) * _sto(x, R / 2), -40, 40, points=[-R / 2, R / 2], limit=200
    )
    np.testing.assert_allclose(float(slater.overlap_1d_exact(ZETA, R)), S, rtol=1e-10)

    def radial_overlap(f, g):
        val, _ = integrate.dblquad(
            lambda th, r: 2 * np.pi * f(r) * g(np.sqrt(r * r + R * R - 2 * r * R * np.cos(th)))
            * r * r * np.sin(th),
            0, 40, 0, np.pi, epsabs=1e-12, epsrel=1e-10,
        )  # fmt: skip
        return val

    n1 = math.sqrt(ZETA**3 / math.pi)
    n2 = math.sqrt(ZETA**5 / (3 * math.pi))
    s1 = lambda r: n1 * np.exp(-ZETA * r)  # noqa: E731
    s2 = lambda r: n2 * r * np.exp(-ZETA * r)  # noqa: E731
    np.testing.assert_allclose(
        float(slater.overlap_3d_exact("1s", ZETA, R)), radial_overlap(s1, s1), rtol=1e-9
    )
    np.testing.assert_allclose(
        float(slater.overlap_3d_exact("2s", ZETA, R)), radial_overlap(s2, s2), rtol=1e-9
    )
    # -1/2 Laplacian of the 1s orbital: -(zeta^2 - 2 zeta / r) s1 / 2
    minus_half_lap = lambda r: -0.5 * (ZETA**2 - 2 * ZETA / r) * s1(r)  # noqa: E731
    np.testing.assert_allclose(
        float(slater.kinetic_3d_1s_exact(ZETA, R)), radial_overlap(s1, minus_half_lap), rtol=1e-8
    )
    assert rho > 0


def _sto(x, c):
    return math.sqrt(ZETA) * np.exp(-ZETA * np.abs(x - c))


def test_softened_coulomb_attraction_against_quadrature(getkey):
    n, lower, upper, eps = 14, -16.0, 16.0, 0.5
    a, b, h = _pair_1d(n, lower, upper)
    v = slater.soft_coulomb_1d(getkey(), 0.0, eps, num_sites=n, lower=lower, upper=upper)
    x = lower + np.arange(2**n) * h
    np.testing.assert_allclose(M.to_dense(v.mps), 1 / np.sqrt(x**2 + eps**2), rtol=1e-10)
    V = -float(slater.potential_energy(a, v.mps, b, volume_element=h))
    want, _ = integrate.quad(
        lambda x: -_sto(x, -R / 2) * _sto(x, R / 2) / np.sqrt(x * x + eps * eps),
        -16, 16, points=[-R / 2, 0.0, R / 2], limit=200,
    )  # fmt: skip
    # first-order Riemann sum at the cusps, h = 2e-3: ~1e-6 relative (measured 3e-7)
    np.testing.assert_allclose(V, want, rtol=1e-5)


@pytest.mark.slow
def test_3d_1s_overlap_within_0p05_percent_at_18_qubits():
    # 6 qubits per coordinate on the 16 a.u. box [-8, 8)^3 (the setting); the MPS
    # from TT-SVD of the sampled orbitals (TT-cross builds the same MPS: test_tt_cross)
    q, lower, upper = 6, -8.0, 8.0
    x = lower + np.arange(2**q) * (upper - lower) / 2**q
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    h = slater.grid_spacing(q, lower, upper)
    states = {}
    for orbital in ("1s", "2s"):
        for side in (-1, 1):
            fn = slater.sto_3d_function(orbital, ZETA, (side * R / 2, 0.0, 0.0))
            states[orbital, side] = M.tt_svd(fn(X, Y, Z), tol=1e-12).mps
    S = float(slater.overlap(states["1s", -1], states["1s", 1], volume_element=h**3))
    assert abs(S / float(slater.overlap_3d_exact("1s", ZETA, R)) - 1) < 5e-4
    S2 = float(slater.overlap(states["2s", -1], states["2s", 1], volume_element=h**3))
    assert abs(S2 / float(slater.overlap_3d_exact("2s", ZETA, R)) - 1) < 5e-4


def test_overlap_is_differentiable_in_the_exponent():
    @jax.jit  # op by op, the three evaluations took 10 s, not 2.5
    def T(zeta):
        a = slater.sto_1d(zeta, -R / 2, num_sites=10, lower=-16.0, upper=16.0)
        b = slater.sto_1d(zeta, R / 2, num_sites=10, lower=-16.0, upper=16.0)
        return slater.overlap(a, b, volume_element=32.0 / 2**10)

    g = jax.grad(T)(jnp.asarray(ZETA))
    fd = (T(ZETA + 1e-5) - T(ZETA - 1e-5)) / 2e-5
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    # and close to the closed form's derivative dS/dzeta = -R rho e^-rho
    np.testing.assert_allclose(g, -R * ZETA * R * np.exp(-ZETA * R), rtol=1e-2)


def test_bad_input():
    with pytest.raises(ValueError, match="num_sites must be an int >= 1"):
        slater.sto_1d(1.0, 0.0, num_sites=0, lower=-1.0, upper=1.0)
    with pytest.raises(ValueError, match="lower < upper"):
        slater.sto_1d(1.0, 0.0, num_sites=4, lower=1.0, upper=-1.0)
    with pytest.raises(ValueError, match="orbital"):
        slater.sto_3d_function("3d", 1.0, (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="center must have 3 coordinates"):
        slater.sto_3d_function("1s", 1.0, (0.0, 0.0))
    with pytest.raises(ValueError, match="zeta must be > 0"):
        slater.sto_3d_function("1s", -1.0, (0.0, 0.0, 0.0))
    a, b, h = _pair_1d(7)
    with pytest.raises(ValueError, match="form"):
        slater.kinetic(a, b, h=h, form="spectral")
    with pytest.raises(ValueError, match="not 3 coordinates"):
        slater.kinetic(a, b, h=h, dims=3)
    with pytest.raises(ValueError, match="softening must be > 0"):
        slater.soft_coulomb_1d(jax.random.key(0), 0.0, 0.0, num_sites=4, lower=-1.0, upper=1.0)
