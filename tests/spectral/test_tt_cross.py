"""Tensor cross interpolation against dense oracles and exact low-rank tensors.

Oracles: the dense tensor of the function (NumPy, on grids small enough to hold), its
TT-SVD (`spectral.mps.tt_svd`, itself the SVD-exact construction), and functions whose
tensor-train ranks are known in closed form (sums of separable terms). `tt_cross` never sees
the dense tensor; it only calls the digit function.

Tolerances. In float64 the cross interpolation is asked for `tol` (relative, max norm);
its error is the discarded singular values of the two-site blocks times the interpolation
growth (entries of the maxvol coefficients are at most 1 + delta, so a few times `tol`), and
the oracle's own rounding is ~1e-15. Each check allows 10x to 100x over `tol` and says why.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spectral.mps import round as tt_round, scale, to_dense, tt_svd
from spectral.tt_cross import CrossResult, grid_function, tt_cross

# --- helpers -----------------------------------------------------------------------------


def all_digits(dims):
    """Every multi-index of the tensor, in C order (most significant site first)."""
    grids = np.meshgrid(*(np.arange(d) for d in dims), indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int32)


def binary_fraction(n):
    """x = sum_k i_k 2^-k in [0, 1): digits (batch, n) -> (batch,)."""
    w = jnp.asarray(2.0 ** -np.arange(1, n + 1))
    return lambda digits: digits.astype(jnp.float64) @ w


def orbital_1s(x, y, z):
    return jnp.exp(-jnp.sqrt(x * x + y * y + z * z))


def dense_orbital(n):
    N = 2**n
    x = -16.0 + np.arange(N) * 32.0 / N
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    return np.exp(-r)


def max_rel_error(res, dense):
    approx = np.asarray(to_dense(res.mps))
    return np.max(np.abs(approx - dense.ravel())) / np.max(np.abs(dense))


# --- accuracy against the dense tensor and TT-SVD ----------------------------------------


@pytest.mark.slow
def test_orbital_1s_matches_tt_svd(getkey):
    """The 3-D 1s orbital on [-16, 16)^3, 4 qubits per coordinate (12 sites, x|y|z order).

    After normalizing and rounding with an absolute threshold 1e-12, the bond dimensions must
    be those of TT-SVD of the dense normalized grid (max 29). The cross is run at tol 1e-13
    so that its error (measured: ~5e-14 relative) is well below the threshold: singular
    values move by at most the 2-norm error, ~2e-13 of the normalized state here.
    """
    n = 4
    g = grid_function(orbital_1s, [n] * 3, -16.0, 16.0)
    res = tt_cross(getkey(), g, 3 * n, tol=1e-13, max_bond=64)
    assert isinstance(res, CrossResult)
    assert res.converged
    dense = dense_orbital(n)
    assert max_rel_error(res, dense) < 1e-12  # 10x tol: interpolation growth
    assert res.error_estimate < 1e-12
    oracle = tt_svd(jnp.asarray(dense / np.linalg.norm(dense)), tol=1e-12, criterion="absolute")
    state = scale(res.mps, 1.0 / np.linalg.norm(dense))
    rounded = tt_round(state, tol=1e-12, criterion="absolute")
    assert rounded.ranks.tolist() == oracle.ranks.tolist()
    assert int(rounded.ranks.max()) == 29
    assert res.evaluations < 4 * dense.size  # a 4096-point grid: no saving expected here


def numpy_tt_ranks(x, threshold):
    """TT-SVD ranks of a dense vector of length 2^n (NumPy oracle), relative criterion."""
    rest, ranks = x.reshape(1, -1), []
    while rest.size > 2 * rest.shape[0]:
        s, Vh = np.linalg.svd(rest.reshape(2 * rest.shape[0], -1), full_matrices=False)[1:]
        r = max(1, int(np.sum(s > threshold * s[0])))
        ranks.append(r)
        rest = s[:r, None] * Vh[:r]
    return ranks


def test_one_dimensional_function_matches_tt_svd(getkey):
    """f(x) = sin(20 x) / (1 + x) on 2^12 points of [0, 1): values to ~tol, and the TT ranks
    at a relative threshold 1e-8 of its dense vector equal those of the exact vector
    (NumPy TT-SVD, the same sweep as spectral.mps.tt_svd)."""
    n = 12
    x = binary_fraction(n)
    res = tt_cross(getkey(), jax.jit(lambda i: jnp.sin(20.0 * x(i)) / (1.0 + x(i))), n, tol=1e-12)
    assert res.converged
    grid = np.arange(2**n) / 2**n
    dense = np.sin(20.0 * grid) / (1.0 + grid)
    assert max_rel_error(res, dense) < 1e-11  # 10x tol
    oracle = numpy_tt_ranks(dense, 1e-8)
    assert numpy_tt_ranks(np.asarray(to_dense(res.mps)), 1e-8) == oracle
    assert max(oracle) > 2  # not a trivial case


# --- exact low rank ----------------------------------------------------------------------


def test_sum_of_two_exponentials_is_rank_two(getkey):
    """exp(-x) + exp(-3x) has TT rank exactly 2 at every bond: recovered to rounding error."""
    n = 16
    x = binary_fraction(n)
    res = tt_cross(getkey(), jax.jit(lambda i: jnp.exp(-x(i)) + jnp.exp(-3.0 * x(i))), n, tol=1e-12)
    assert res.converged
    assert res.ranks.tolist() == [2] * (n - 1)
    grid = np.arange(2**n) / 2**n
    assert max_rel_error(res, np.exp(-grid) + np.exp(-3.0 * grid)) < 1e-13  # exact rank: ~eps


def test_mixed_physical_dims_exact_rank(getkey):
    """A sum of 3 separable terms over sites of dimensions (3, 2, 4, 3, 2, 5) has TT rank
    min(3, full) at every bond; the cross reproduces the dense tensor."""
    dims = (3, 2, 4, 3, 2, 5)
    rng = np.random.default_rng(0)
    factors = [rng.standard_normal((3, d)) for d in dims]  # term t, site k: factors[k][t]

    @jax.jit
    def f(digits):
        terms = jnp.ones((digits.shape[0], 3))
        for k, F in enumerate(factors):
            terms = terms * jnp.asarray(F)[:, digits[:, k]].T
        return terms.sum(axis=1)

    res = tt_cross(getkey(), f, dims, tol=1e-12)
    assert res.converged
    full = [min(math.prod(dims[:k]), math.prod(dims[k:])) for k in range(1, len(dims))]
    assert res.ranks.tolist() == [min(3, r) for r in full]
    dense = np.asarray(f(jnp.asarray(all_digits(dims))))
    assert max_rel_error(res, dense) < 1e-12


def test_thirty_sites_far_fewer_evaluations(getkey):
    """30 qubits (2^30 ~ 1e9 entries): a rank-2 function from ~1e4 evaluations, checked at
    random points (the dense vector would not fit)."""
    n = 30
    x = binary_fraction(n)

    @jax.jit
    def f(i):
        return jnp.exp(-2.0 * x(i)) + jnp.cos(3.0 * x(i))  # cos is rank 2, the sum rank 3

    res = tt_cross(getkey(), f, n, tol=1e-12)
    assert res.converged
    assert res.evaluations < 1e5 < 2**n
    assert max(res.ranks.tolist()) == 3
    digits = np.random.default_rng(1).integers(0, 2, (500, n)).astype(np.int32)
    values = np.asarray(f(jnp.asarray(digits)))
    cores = [np.asarray(c) for c in res.mps.cores]
    approx = np.array([_contract(cores, row) for row in digits])
    assert np.max(np.abs(approx - values)) < 1e-12 * np.max(np.abs(values)) * 10


def _contract(cores, digits):
    v = np.ones((1,))
    for core, i in zip(cores, digits, strict=True):
        v = v @ core[:, i, :]
    return v[0]


# --- randomness, dtypes, corner cases ----------------------------------------------------


def test_deterministic_by_key():
    """Same key, same cores; a legacy PRNGKey with the same bits gives the same result; a
    different key gives an equally accurate (but differently pivoted) result."""
    n = 10
    x = binary_fraction(n)

    @jax.jit
    def f(i):
        return 1.0 / (1.0 + 25.0 * (x(i) - 0.5) ** 2)

    a = tt_cross(jax.random.key(3), f, n, tol=1e-10)
    b = tt_cross(jax.random.key(3), f, n, tol=1e-10)
    c = tt_cross(jax.random.PRNGKey(3), f, n, tol=1e-10)
    for res in (b, c):
        assert res.evaluations == a.evaluations
        for p, q in zip(a.mps.cores, res.mps.cores, strict=True):
            np.testing.assert_array_equal(np.asarray(p), np.asarray(q))
    other = tt_cross(jax.random.key(4), f, n, tol=1e-10)
    grid = np.arange(2**n) / 2**n
    dense = 1.0 / (1.0 + 25.0 * (grid - 0.5) ** 2)
    for res in (a, other):
        assert max_rel_error(res, dense) < 1e-9  # 10x tol


def test_float32_and_complex(getkey):
    """The result takes f's dtype: float32 (tol 1e-5, ~100 eps) and complex128."""
    n = 10
    w = jnp.asarray(2.0 ** -np.arange(1, n + 1), jnp.float32)
    res32 = tt_cross(
        getkey(), jax.jit(lambda i: jnp.exp(-(i.astype(jnp.float32) @ w))), n, tol=1e-5
    )
    assert res32.mps.dtype == jnp.float32
    grid = np.arange(2**n) / 2**n
    assert max_rel_error(res32, np.exp(-grid)) < 1e-5
    x = binary_fraction(n)

    @jax.jit
    def fc(i):
        xc = x(i).astype(jnp.complex128)
        return jnp.exp(7j * xc) * (1.0 + xc)

    resc = tt_cross(getkey(), fc, n, tol=1e-12)
    assert resc.mps.dtype == jnp.complex128
    assert max(resc.ranks.tolist()) == 2  # e^{i w x} is rank 1, times (1 + x): rank 2
    assert max_rel_error(resc, np.exp(7j * grid) * (1.0 + grid)) < 1e-12


def test_max_bond_cap_and_unreachable_tol(getkey):
    """A cap below the needed rank is reported (converged False, bonds <= cap); tol = 0 asks
    for the noise floor: the sweeps stop when the error stops improving, not at max_sweeps."""
    n = 12
    x = binary_fraction(n)
    f = jax.jit(lambda i: jnp.sin(40.0 * x(i)) / (1.1 + jnp.cos(9.0 * x(i))))
    capped = tt_cross(getkey(), f, n, tol=1e-12, max_bond=3)
    assert not capped.converged
    assert max(capped.ranks.tolist()) == 3
    exact = tt_cross(getkey(), f, n, tol=0.0, max_sweeps=30)
    assert not exact.converged
    assert exact.sweeps < 30
    grid = np.arange(2**n) / 2**n
    assert max_rel_error(exact, np.sin(40.0 * grid) / (1.1 + np.cos(9.0 * grid))) < 1e-13


def test_two_sites_is_matrix_cross(getkey):
    """n = 2: one block, the whole matrix; a rank-2 5 x 7 matrix is reproduced exactly."""
    rng = np.random.default_rng(2)
    M = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 7))
    res = tt_cross(getkey(), lambda i: jnp.asarray(M)[i[:, 0], i[:, 1]], [5, 7], tol=1e-14)
    assert res.ranks.tolist() == [2]
    np.testing.assert_allclose(np.asarray(to_dense(res.mps)), M.ravel(), atol=1e-13)


def test_single_site_and_initial_pivots(getkey):
    """n = 1 evaluates the d values; initial pivots are accepted and kept in play."""
    res = tt_cross(getkey(), lambda i: i[:, 0].astype(jnp.float64) + 1.0, [5])
    np.testing.assert_array_equal(np.asarray(to_dense(res.mps)), [1, 2, 3, 4, 5])
    assert res.ranks.shape == (0,)
    # a narrow spike (one grid point of 2^16) that random pivots miss: seeded, it is found
    n = 16
    spike = np.zeros(n, np.int32)
    spike[::3] = 1

    @jax.jit
    def f(i):
        hit = jnp.all(i == jnp.asarray(spike)[None, :], axis=1)
        return jnp.where(hit, 1.0, 0.0) + 1e-3

    res = tt_cross(getkey(), f, n, initial_pivots=spike[None, :], tol=1e-12)
    values = np.asarray(to_dense(res.mps))
    index = int("".join(map(str, spike)), 2)
    assert values[index] == pytest.approx(1.001, rel=1e-12)
    assert np.max(np.abs(np.delete(values, index) - 1e-3)) < 1e-14


# --- grid_function ----------------------------------------------------------------------


@pytest.mark.parametrize("order", ["sequential", "interleaved"])
def test_grid_function_bit_order_matches_tt_svd(order):
    """g at every digit string (in site order) equals to_dense(tt_svd(dense grid, order))
    exactly for both orders, with unequal qubit counts (2, 3, 1) per coordinate."""
    nq, lower, upper = [2, 3, 1], [-1.0, 0.0, 2.0], [1.0, 4.0, 3.0]

    def fn(x, y, z):
        return x + 10.0 * y + 100.0 * z  # distinct per point, and not symmetric

    grids = [
        lo + np.arange(2**q) * (hi - lo) / 2**q for q, lo, hi in zip(nq, lower, upper, strict=True)
    ]
    X, Y, Z = np.meshgrid(*grids, indexing="ij")
    dense = X + 10.0 * Y + 100.0 * Z
    tt = np.asarray(to_dense(tt_svd(jnp.asarray(dense), order=order).mps))
    g = grid_function(fn, nq, lower, upper, order=order)
    values = np.asarray(g(jnp.asarray(all_digits((2,) * sum(nq)))))
    np.testing.assert_allclose(values, tt, rtol=1e-13, atol=1e-12)  # tt_svd's own rounding
    # and exactly the dense grid reshaped (C order = sequential) for the sequential order
    if order == "sequential":
        np.testing.assert_array_equal(values, dense.ravel())


def test_grid_function_scalar_broadcast_and_one_coordinate():
    g = grid_function(lambda x: x, 3, 0.0, 8.0)
    np.testing.assert_array_equal(np.asarray(g(jnp.asarray(all_digits((2, 2, 2))))), range(8))
    g2 = grid_function(lambda x, y: x - y, [1, 2], 0.0, [2.0, 4.0], order="interleaved")
    # interleaved with (1, 2) qubits: x1 y1 y2
    assert np.asarray(g2(jnp.asarray([[1, 1, 1]], jnp.int32))).tolist() == [1.0 - 3.0]


# --- bad input ---------------------------------------------------------------------------


def _ok(i):
    return jnp.ones(i.shape[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"physical_dims": 0}, ValueError, "number of sites n"),
        ({"physical_dims": [2, 1, 2]}, ValueError, r"physical_dims\[1\] must be an int >= 2"),
        ({"physical_dims": []}, ValueError, "at least one site"),
        ({"physical_dims": "abc"}, TypeError, "physical_dims must be an int"),
        ({"tol": -1e-3}, ValueError, "tol must be a finite number >= 0"),
        ({"tol": float("nan")}, ValueError, "tol must be a finite number >= 0"),
        ({"max_bond": 0}, ValueError, "max_bond must be >= 1"),
        ({"max_sweeps": 0}, ValueError, "max_sweeps must be >= 1"),
        ({"maxvol_delta": -0.1}, ValueError, "maxvol_delta must be a finite number >= 0"),
        ({"tol": "small"}, TypeError, "tol must be a concrete number"),
        ({"f": lambda i: jnp.ones((i.shape[0], 2))}, ValueError, r"values of shape \(batch,\)"),
        ({"f": lambda i: jnp.ones(3)}, ValueError, r"values of shape \(batch,\)"),
        ({"f": lambda i: i.sum(axis=1)}, TypeError, "float32, float64, complex64 or complex128"),
        ({"f": lambda i: jnp.full(i.shape[0], jnp.nan)}, ValueError, "NaN or Inf"),
        ({"f": 3}, TypeError, "f must be callable"),
        ({"initial_pivots": [[0, 2, 0, 0]]}, ValueError, "initial_pivots must have 0 <="),
        ({"initial_pivots": [[0, 1]]}, ValueError, r"shape \(p, n\) = \(p, 4\)"),
        ({"key": 0}, TypeError, "key must be a jax.random.key"),
    ],
)
def test_tt_cross_bad_input(kwargs, error, match):
    args = {"key": jax.random.key(0), "f": _ok, "physical_dims": 4, **kwargs}
    key, f, dims = args.pop("key"), args.pop("f"), args.pop("physical_dims")
    with pytest.raises(error, match=match):
        tt_cross(key, f, dims, **args)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([0, 2], 0.0, 1.0), {}, r"num_qubits_per_coordinate\[0\] must be >= 1"),
        (([2, 2], [0.0, 1.0], [1.0, 1.0]), {}, r"lower\[1\] < upper\[1\]"),
        (([2, 2], [0.0, 0.0, 0.0], 1.0), {}, "must have one length"),
        ((2, 0.0, 1.0), {"order": "zigzag"}, "order must be one of"),
        (([25, 2], 0.0, 1.0), {"dtype": jnp.float32}, "at most 24 for float32"),
    ],
)
def test_grid_function_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        grid_function(lambda x, y=None: x, *args, **kwargs)


def test_grid_function_wrong_digit_width():
    g = grid_function(lambda x, y: x + y, [2, 2], 0.0, 1.0)
    with pytest.raises(ValueError, match=r"digits must have shape \(batch, 4\)"):
        g(jnp.zeros((3, 5), jnp.int32))
