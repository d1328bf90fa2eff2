"""Analytic MPS constructors against the dense sampled functions.

Oracles: the function sampled directly with NumPy in extended precision (`np.longdouble`,
80-bit on x86-64) on the exact grid of the float64 parameters (Horner's rule through
`numpy.polynomial.polynomial.polyval`, `numpy.exp`, `numpy.abs`), which the constructors
never form; `spectral.mps.tt_svd` of the dense vector for the ranks and the bit orders; an
explicit NumPy transpose of the grid's bits for the interleaved order; the derivatives of
the sampled formula (JAX autodiff) and finite differences (`check_grads`). The grids are
not dyadic (x0 = -4.1, h = 0.0081), so the constructions round as they would in use.

Tolerance: 10 (n + kappa) eps relative to the maximum, where kappa = max_j |zeta (x_j - c)|
|f_j| / max |f| bounds the condition number of sampling the exponential (float64 sampling
itself is off by about kappa eps: rounding x_j - c by eps |x_j - c| moves e^{-zeta |x - c|}
by zeta eps |x_j - c| relative). Every entry of the MPS is a sum of products of O(n + d)
correctly rounded factors with no cancellation between the terms (see the module
docstring), so it is within a few (n + d + kappa) eps; measured errors are below 10 eps.
(Where np.longdouble is float64, the oracle's own kappa eps still fits.)

Speed (the suite runs on 2 shared cores): eager constructors compile once per degree and
dtype, so the tests share a few such configurations; `to_dense` and `tt_svd` are jitted
once per structure, and one jitted function of the constructors serves the jit, gradient
and run-time error tests.
"""

import doctest

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import spectral.mps_functions as mps_functions
from spectral.mps import MPS, to_dense, tt_svd
from spectral.mps_functions import cusp_mps, exp_mps, poly_cusp_mps, poly_exp_mps, product_mps

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
N, X0, H = 10, -4.1, 0.0081  # the default grid: [-4.1, 4.19) with 2^10 points
LD = np.longdouble

dense = jax.jit(to_dense)  # eager to_dense / tt_svd would compile each op for each shape


@jax.jit
def tt_ranks(x):
    """TT ranks of a dense vector: singular values above 1e-13 times the largest at each
    bond. Every true singular value here is >= 1e-9 of the largest (measured) and rounding
    leaves the others below 1e-15. `max_bond` (above every rank here) makes it jittable."""
    return tt_svd(x, tol=1e-13, criterion="relative", max_bond=32).ranks


def svd_ranks(x):
    return tuple(tt_ranks(jnp.asarray(np.asarray(x, dtype=np.float64))).tolist())


def grid(n=N, x0=X0, h=H):
    """The exact grid of the (float64 or float32) parameters x0, h, in extended precision."""
    return LD(x0) + LD(h) * np.arange(2**n, dtype=LD)


def polyval(x, coeffs):
    coeffs = np.asarray(coeffs)
    coeffs = coeffs.astype(np.clongdouble if np.iscomplexobj(coeffs) else LD)
    return np.polynomial.polynomial.polyval(x, coeffs)


def kappa(zeta, u, f):
    """max_j |zeta u_j| |f_j| / max |f|: the condition number of sampling e^{-zeta u}."""
    return float(np.max(np.abs(zeta * u) * np.abs(f)) / np.max(np.abs(f)))


def tol(n, k=0.0, eps=EPS64):
    """10 (n + kappa) eps relative to the maximum (see the module docstring)."""
    return 10 * (n + k) * eps


def rel_err(a, f):
    a, f = np.asarray(a).astype(LD if not np.iscomplexobj(a) else np.clongdouble), np.asarray(f)
    return float(np.max(np.abs(a - f)) / np.max(np.abs(f)))


def expected_bonds(n, chi):
    """min(chi, 2^(k+1), 2^(n-k-1)): chi capped by the sizes of the two sides of each bond."""
    return tuple(min(chi, 2 ** (k + 1), 2 ** (n - k - 1)) for k in range(n - 1))


def check_values(psi, f, zeta, u, n=N, eps=EPS64):
    assert rel_err(dense(psi), f) <= tol(n, kappa(zeta, u, f), eps)


# --- exp_mps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zeta", "x0", "h"),
    [
        (0.7, X0, H),
        (-1.1, 0.1, 0.0037),  # Re zeta < 0: anchored at the right end
        (60.0, 0.1, 0.0151),  # e^-6 down to e^-932: anchored elsewhere, the start underflows
        (0.0, X0, H),
    ],
)
def test_exp_matches_samples(zeta, x0, h):
    psi = exp_mps(zeta, num_sites=N, x0=x0, h=h)
    assert isinstance(psi, MPS)
    assert psi.physical_dims == (2,) * N
    assert psi.bond_dims == (1,) * (N - 1)
    assert psi.dtype == jnp.float64
    x = grid(N, x0, h)
    check_values(psi, np.exp(-zeta * x), zeta, x)


def test_float32():
    x, c = grid(N, np.float32(X0), np.float32(H)), LD(np.float32(0.3))
    psi = exp_mps(jnp.float32(0.7), num_sites=N, x0=X0, h=H)
    assert psi.dtype == jnp.float32
    check_values(psi, np.exp(-LD(np.float32(0.7)) * x), 0.7, x, eps=EPS32)
    psi = cusp_mps(1.3, 0.3, num_sites=N, x0=X0, h=H, dtype=jnp.float32)
    assert psi.dtype == jnp.float32
    f = np.exp(-LD(np.float32(1.3)) * np.abs(x - c))
    check_values(psi, f, 1.3, x - c, eps=EPS32)


def test_single_site():
    x = grid(1, 0.25, 0.5)
    one = poly_exp_mps([2.0, -1.0], 0.5, num_sites=1, x0=0.25, h=0.5)
    assert one.bond_dims == ()
    check_values(one, (2 - x) * np.exp(-0.5 * x), 0.5, x, n=4)
    one = cusp_mps(2.0, 0.6, num_sites=1, x0=0.25, h=0.5)
    check_values(one, np.exp(-2.0 * np.abs(x - 0.6)), 2.0, x - 0.6, n=4)


# --- poly_exp_mps ---------------------------------------------------------------------------


@pytest.mark.parametrize("d", [0, 1, 2, 3, 4])
def test_poly_exp_values_and_exact_ranks(d):
    coeffs = np.random.default_rng(d).uniform(0.5, 1.5, d + 1)
    psi = poly_exp_mps(jnp.asarray(coeffs), 0.4, num_sites=N, x0=X0, h=H)
    x = grid()
    f = polyval(x, coeffs) * np.exp(-0.4 * x)
    check_values(psi, f, 0.4, x)
    # chi = d + 1 in the bulk, cut to the sizes of the two sides at the ends ...
    assert psi.max_bond == d + 1
    assert psi.bond_dims == expected_bonds(N, d + 1)
    # ... and these are the TT ranks TT-SVD finds in the sampled vector
    assert svd_ranks(f) == psi.bond_dims


def test_poly_exp_twenty_sites_wide_grid():
    # x0 = -16, n = 20: |x| up to 16 on 2^20 points, x^4 e^{x/2} up to 16^4 e^8 at the right
    n, x0, h = 20, -16.1, 32.2 / 2**20
    coeffs = [0.5, -1.0, 0.25, 0.1, 1.0]
    psi = poly_exp_mps(jnp.asarray(coeffs), -0.5, num_sites=n, x0=x0, h=h)
    x = grid(n, x0, h)
    check_values(psi, polyval(x, coeffs) * np.exp(0.5 * x), -0.5, x, n=n)


@pytest.mark.parametrize(
    ("coeffs", "zeta", "x0", "h"),
    [
        ([1.0, 2.0, 3.0], 0.0, X0, H),  # a plain polynomial
        ([0.0, 0.0, 1.0], -0.5, X0, H),  # x^2 e^{x/2}: anchored at the right end
        ([1, 0, 2], 0.4, X0, H),  # integer coefficients, cast to the float dtype
        ([1.0 + 0.5j, -0.25j, 0.125], 0.3 + 2.0j, X0, H),  # complex coefficients and exponent
        ([2.0, -1.0, 0.5], 0.5 - 3.0j, X0, H),  # a damped plane wave
        # grids on one side of 0, the monomials from the end nearest 0: no cancellation
        # (from the center, x^4 e^{-2x} on [0, 40) was off by 3e4 eps)
        ([0.0, 0.0, 0.0, 0.0, 1.0], 2.0, 0.0, 0.0097),
        ([0.0, 0.0, 0.0, 0.0, 1.0], -2.0, -39.7, 0.0097),
        # across 0, decaying fast: the monomials from the exponential's anchor
        ([1.0, 2.0, 3.0], 1.0, -4.1, 0.41),
    ],
)
def test_poly_exp_other_cases(coeffs, zeta, x0, h):
    psi = poly_exp_mps(coeffs, zeta, num_sites=N, x0=x0, h=h)
    assert psi.dtype == (jnp.complex128 if isinstance(zeta, complex) else jnp.float64)
    x = grid(N, x0, h)
    z = np.clongdouble(zeta) if isinstance(zeta, complex) else LD(zeta)
    check_values(psi, polyval(x, coeffs) * np.exp(-z * x), zeta, x)


# --- cusps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "center",
    [
        0.3,  # off the grid, inside
        X0 + 300 * H,  # on a grid point (up to rounding)
        X0,  # the first grid point
        X0 + (2**N - 1) * H,  # the last grid point
        X0 + (2**N - 0.5) * H,  # between the last point and the end of the grid
        -4.5,  # left of the grid: every x_j > c
        4.25,  # right of the grid: every x_j <= c
    ],
)
def test_cusp_matches_samples(center):
    psi = cusp_mps(1.3, center, num_sites=N, x0=X0, h=H)
    assert psi.bond_dims == expected_bonds(N, 3)
    u = grid() - LD(center)
    check_values(psi, np.exp(-1.3 * np.abs(u)), 1.3, u)


@pytest.mark.parametrize("t", [0b1001101010, 0b0110110101, 0b1010010110])
def test_cusp_ranks_match_tt_svd(t):
    # the center 0.4 h past x_t: all three states of the automaton occur at every bond, and
    # no suffix of t's bits is all ones (else the "equal" row of that bond is a "below" row,
    # as for c = 0.3, t = 0b1000011111, and the rank drops: the bonds are upper bounds)
    psi = cusp_mps(1.3, X0 + (t + 0.4) * H, num_sites=N, x0=X0, h=H)
    assert svd_ranks(dense(psi)) == psi.bond_dims == expected_bonds(N, 3)


POLY_CUSPS = [
    ([0.0, 1.0], False, 1.0),  # (x - c) e^{-|x - c|}, odd
    ([0.3, -1.0, 2.0, 0.5], True, 1.5),  # odd powers of |x - c| with mixed signs
]


@pytest.mark.parametrize(("coeffs", "radial", "zeta"), POLY_CUSPS)
@pytest.mark.parametrize("center", [0.3, -4.5, X0 + 1000.5 * H, 4.25])
def test_poly_cusp_matches_samples(coeffs, radial, zeta, center):
    psi = poly_cusp_mps(jnp.asarray(coeffs), zeta, center, num_sites=N, x0=X0, h=H, radial=radial)
    assert psi.bond_dims == expected_bonds(N, 2 * len(coeffs) + 1)  # 2 d + 3
    u = grid() - LD(center)
    f = polyval(np.abs(u) if radial else u, coeffs) * np.exp(-zeta * np.abs(u))
    check_values(psi, f, zeta, u)


def test_poly_cusp_ranks_match_tt_svd():
    # d = 1 (bonds 5): the smallest true singular values are >= 1e-9 of the largest; for
    # d = 3 the ninth is ~1e-13 of the largest, at rounding level, so TT-SVD cannot tell
    coeffs, center = [0.0, 1.0], X0 + 618.4 * H  # t = 0b1001101010: see the plain cusp
    psi = poly_cusp_mps(jnp.asarray(coeffs), 1.0, center, num_sites=N, x0=X0, h=H)
    assert svd_ranks(dense(psi)) == psi.bond_dims == expected_bonds(N, 2 * len(coeffs) + 1)


def test_poly_cusp_complex_exponent():
    psi = poly_cusp_mps(jnp.array([0.0, 1.0]), 1.0 - 2.0j, 0.3, num_sites=N, x0=X0, h=H)
    assert psi.dtype == jnp.complex128
    u = grid() - LD(0.3)
    check_values(psi, u * np.exp(-np.clongdouble(1.0 - 2.0j) * np.abs(u)), 1.0, u)


# --- product_mps ----------------------------------------------------------------------------


def random_mps(rng, n):
    """An MPS of n sites with random cores and generic bonds (2, 3, 2, ...)."""
    dims = [1, *(min(3, 2 ** (k + 1), 2 ** (n - k - 1)) for k in range(n - 1)), 1]
    return MPS([jnp.asarray(rng.standard_normal((dims[k], 2, dims[k + 1]))) for k in range(n)])


def interleave_bits(F, ns):
    """F of shape (2^n1, 2^n2, ...) in the round-robin bit order, flattened (written here
    independently of spectral.mps._bits_tensor)."""
    T = F.reshape([2] * sum(ns))
    starts = np.cumsum([0, *ns[:-1]])
    perm = [starts[c] + lvl for lvl in range(max(ns)) for c in range(len(ns)) if lvl < ns[c]]
    return T.transpose(perm).reshape(-1)


@jax.jit
def tt_svd_of_grid(F):
    """to_dense and ranks of TT-SVD of a (2^nx, 2^ny, 2^nz) grid, in both bit orders."""
    out = {}
    for order in ("sequential", "interleaved"):
        res = tt_svd(F, tol=1e-13, criterion="relative", max_bond=32, order=order)
        out[order] = (to_dense(res.mps), res.ranks)
    return out


@pytest.mark.parametrize("ns", [(2, 1, 2), (3, 3, 3)])
def test_product_matches_outer_product_and_tt_svd(ns):
    rng = np.random.default_rng(sum(ns))
    fs = [random_mps(rng, n) for n in ns]
    vx, vy, vz = (np.asarray(dense(f)) for f in fs)
    F = vx[:, None, None] * vy[None, :, None] * vz[None, None, :]
    svd = tt_svd_of_grid(jnp.asarray(F)) if ns == (2, 1, 2) else None  # round-robin
    for order in ("sequential", "interleaved"):
        psi = product_mps(fs, order=order)
        assert psi.num_sites == sum(ns)
        want = F.reshape(-1) if order == "sequential" else interleave_bits(F, ns)
        assert rel_err(dense(psi), want) <= tol(sum(ns))
        if order == "sequential":
            assert psi.bond_dims == (*fs[0].bond_dims, 1, *fs[1].bond_dims, 1, *fs[2].bond_dims)
        else:  # the product of each coordinate's bond after its last placed site
            placed, bonds = [0, 0, 0], []
            for lvl in range(max(ns)):
                for c, nc in enumerate(ns):
                    if lvl < nc:
                        placed[c] += 1
                        sizes = [(1, *f.bond_dims, 1)[p] for f, p in zip(fs, placed, strict=True)]
                        bonds.append(int(np.prod(sizes)))
            assert psi.bond_dims == tuple(bonds[:-1])
        jitted = jax.jit(lambda fs, order=order: to_dense(product_mps(fs, order=order)))
        np.testing.assert_array_equal(jitted(fs), dense(psi))
        if svd is not None:  # the bit order of tt_svd on the grid array, and its ranks
            svd_dense, svd_ranks_ = svd[order]
            assert rel_err(svd_dense, dense(psi)) <= tol(sum(ns))
            assert tuple(svd_ranks_.tolist()) == psi.bond_dims


def test_product_single_factor():
    f = random_mps(np.random.default_rng(0), 4)
    for order in ("sequential", "interleaved"):
        np.testing.assert_array_equal(dense(product_mps([f], order=order)), dense(f))
        np.testing.assert_array_equal(dense(product_mps((f,), order=order)), dense(f))


# --- jit, vmap, gradients, run-time errors --------------------------------------------------

# One function of the two constructors (exp_mps and cusp_mps call them with p = 1), on
# n = 4 sites with h = s / 16 (a unit step in s is a small step in h) and the center 0.37 h
# past a grid point (no kink within the finite-difference steps), jitted once for the jit,
# gradient and run-time error tests. Its arguments are float64 arrays, not weakly typed
# ones, so that every call (check_grads' finite-difference points too) hits one compilation.
GRAD_N = 4
GRAD_W = np.random.default_rng(0).standard_normal(2**GRAD_N)
GRAD_ARGS = ([0.5, -1.0, 0.3], 0.7, -0.5, -0.5 + 9.37 / 16, 1.0)
GRAD_ARGS = tuple(jnp.asarray(a, jnp.float64) for a in GRAD_ARGS)


def f64(x):
    return jnp.asarray(x, jnp.float64)


def all_constructors(coeffs, zeta, x0, center, s):
    n, h = GRAD_N, s / 16
    w = jnp.asarray(GRAD_W)
    e = poly_exp_mps(coeffs, zeta, num_sites=n, x0=x0, h=h)
    c = poly_cusp_mps(coeffs, zeta, center, num_sites=n, x0=x0, h=h, radial=True)
    return jnp.vdot(w, to_dense(e)), jnp.vdot(w, to_dense(c))


def all_sampled(coeffs, zeta, x0, center, s):
    """The same quantities from the sampled formulas."""
    n, h = GRAD_N, s / 16
    w = jnp.asarray(GRAD_W)
    x = x0 + h * jnp.arange(2.0**n)
    u = jnp.abs(x - center)
    e = jnp.polyval(coeffs[::-1], x) * jnp.exp(-zeta * x)
    c = jnp.polyval(coeffs[::-1], u) * jnp.exp(-zeta * u)
    return jnp.vdot(w, e), jnp.vdot(w, c)


ALL_JIT = eqx.filter_jit(all_constructors)


def test_jit_and_values():
    np.testing.assert_allclose(ALL_JIT(*GRAD_ARGS), all_sampled(*GRAD_ARGS), rtol=1e-13)
    other = (GRAD_ARGS[0][::-1], -0.4, 0.25, 3.0, 2.0)  # the center right of the grid
    other = tuple(f64(a) for a in other)
    np.testing.assert_allclose(ALL_JIT(*other), all_sampled(*other), rtol=1e-13)
    assert ALL_JIT._cached._cache_size() == 1  # one trace for all values


def test_jit_vmap_over_parameters():
    zetas, x0s, centers = jnp.array([0.5, -0.7]), jnp.array([X0, 0.25]), jnp.array([0.3, -5.0])

    @jax.jit
    @jax.vmap
    def both(zeta, x0, center):
        return (
            to_dense(exp_mps(zeta, num_sites=N, x0=x0, h=H)),
            to_dense(cusp_mps(zeta, center, num_sites=N, x0=x0, h=H)),
        )

    es, cs = both(zetas, x0s, centers)
    for i in range(2):
        x, z, u = grid(N, float(x0s[i]), H), float(zetas[i]), LD(float(centers[i]))
        f, g = np.exp(-z * x), np.exp(-z * np.abs(x - u))
        assert rel_err(es[i], f) <= tol(N, kappa(z, x, f))
        assert rel_err(cs[i], g) <= tol(N, kappa(z, x - u, g))


@pytest.mark.slow  # about 4 s of compilation (the jvp and the vjp of both constructors)
def test_grads_check_grads():
    check_grads(ALL_JIT, GRAD_ARGS, order=1, modes=["fwd", "rev"])


def test_grads_equal_those_of_the_sampled_formulas():
    zeros = tuple(jnp.zeros_like(a) for a in GRAD_ARGS)
    for i in range(len(GRAD_ARGS)):  # each parameter's direction (all coefficients at once)
        tangents = (*zeros[:i], jnp.ones_like(GRAD_ARGS[i]), *zeros[i + 1 :])
        ours = jax.jvp(ALL_JIT, GRAD_ARGS, tangents)[1]
        want = jax.jvp(all_sampled, GRAD_ARGS, tangents)[1]
        np.testing.assert_allclose(ours, want, rtol=1e-11, atol=1e-12)


def test_grads_finite_where_branches_are_dead():
    # zeta = 300 with the center outside the grid: the inactive channels' exponentials would
    # overflow (and give inf * 0) if evaluated at their raw arguments
    for center in (-50.0, 50.0):
        args = (GRAD_ARGS[0], f64(300.0), GRAD_ARGS[2], f64(center), GRAD_ARGS[4])
        out, vjp = jax.vjp(ALL_JIT, *args)
        grads = vjp(tuple(jnp.ones_like(o) for o in out))
        assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)


def test_traced_bad_values_raise_at_run_time():
    bad_h = (*GRAD_ARGS[:4], f64(-1.0))
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"h \(the grid spacing\) must be > 0"):
        ALL_JIT(*bad_h)
    bad_center = (*GRAD_ARGS[:3], f64(jnp.nan), GRAD_ARGS[4])
    with pytest.raises(eqx.EquinoxRuntimeError, match="center and x0 must be finite"):
        ALL_JIT(*bad_center)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: exp_mps(1.0, num_sites=0), ValueError, r"num_sites must be >= 1.*num_sites=0"),
        (lambda: exp_mps(1.0, num_sites=2.0), TypeError, "num_sites must be a Python int"),
        (lambda: poly_exp_mps([], 1.0, num_sites=3), ValueError, r"coeffs must be a 1-D.*\(0,\)"),
        (
            lambda: poly_exp_mps(jnp.ones((2, 2)), 1.0, num_sites=3),
            ValueError,
            r"coeffs must be a 1-D.*\(2, 2\)",
        ),
        (lambda: exp_mps(jnp.ones(2), num_sites=3), ValueError, r"zeta must be a scalar.*\(2,\)"),
        (lambda: exp_mps(1.0, num_sites=3, x0=1j), TypeError, "x0 must be real"),
        (lambda: exp_mps(1.0, num_sites=3, h=0.0), ValueError, r"h \(the grid spacing\) must be"),
        (lambda: exp_mps(1.0, num_sites=3, h=-0.5), ValueError, "got h=-0.5"),
        (lambda: exp_mps(float("nan"), num_sites=3), ValueError, "zeta must be finite"),
        (lambda: cusp_mps(1.0, float("inf"), num_sites=3), ValueError, "center must be finite"),
        (lambda: cusp_mps(1.0, 2j, num_sites=3), TypeError, "center must be real"),
        (lambda: exp_mps(True, num_sites=3), TypeError, "zeta must be a number"),
        (lambda: cusp_mps(1.0, 0.5, num_sites=54), ValueError, r"num_sites must be <= 53"),
        (
            lambda: cusp_mps(1.0, 0.5, num_sites=25, dtype=jnp.float32),
            ValueError,
            r"num_sites must be <= 24 for float32",
        ),
        (lambda: exp_mps(1.0, num_sites=3, dtype=jnp.int32), TypeError, "dtype must be a floating"),
        (
            lambda: exp_mps(jnp.float32(1.0), num_sites=3, x0=jnp.float64(0.0)),
            TypeError,
            "must share one precision; got zeta: float32, x0: float64",
        ),
        (lambda: exp_mps(1j, num_sites=3, dtype=jnp.float64), TypeError, "zeta is complex"),
        (
            lambda: poly_exp_mps(jnp.array([1j]), 1.0, num_sites=3, dtype=jnp.float64),
            TypeError,
            "coeffs are complex",
        ),
        (
            lambda: poly_cusp_mps([1.0], 1.0, 0.0, num_sites=3, radial="yes"),
            TypeError,
            "radial must be a bool",
        ),
        (lambda: product_mps([]), ValueError, "factors must hold at least one MPS"),
        (lambda: product_mps(exp_mps(1.0, num_sites=2)), TypeError, "got a single MPS"),
        (lambda: product_mps(jnp.ones(4)), TypeError, "factors must be a sequence"),
        (
            lambda: product_mps([exp_mps(1.0, num_sites=2), jnp.ones(4)]),
            TypeError,
            r"factors\[1\] must be a spectral.mps.MPS",
        ),
        (
            lambda: product_mps(
                [exp_mps(1.0, num_sites=2), exp_mps(1.0, num_sites=2, dtype=jnp.complex128)]
            ),
            TypeError,
            r"factors must share one dtype.*factors\[1\] is complex128",
        ),
        (
            lambda: product_mps([exp_mps(1.0, num_sites=2)], order="zigzag"),
            ValueError,
            "order must be one of .*got order='zigzag'",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_docstring_examples():
    result = doctest.testmod(mps_functions, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
