"""Matrix product operators on quantics grids against dense NumPy/SciPy oracles.

Oracles: `np.roll` and `np.eye(N, k=t)` for shifts, `scipy.sparse.diags` (plus the wrap-around
or odd-reflection entries, written out by hand) for Laplacians, `np.diag` for multiplication,
and dense matrix-vector products `conj(a) @ M @ b` for `apply` and `expectation`. Dense forms
of MPOs and MPSs are contracted in NumPy (`dense_mpo`, `dense_mps`; `mpo_to_dense` itself is
checked against them), which also keeps the suite fast: eager JAX compiles every new shape.

Tolerances: float64 on matrices with O(1) entries (times 1/h^2 for Laplacians, compared
relative to that scale), each entry a sum of at most ~100 products, so 1e-12 leaves a margin
of ~1e2 over rounding. The physics check fits convergence rates of h <f|L|f> to -int f'^2.
"""

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps
from hypothesis import given, settings
from jax.test_util import check_grads

from spectral.mpo import (
    MPO,
    apply,
    expectation,
    grid_mps,
    laplacian_mpo,
    mpo_add,
    mpo_scale,
    mpo_to_dense,
    multiplication_mpo,
    shift_mpo,
)
from spectral.mps import MPS, inner, to_dense

RTOL = 1e-12  # float64, O(1) entries, ~100 products per entry (see module docstring)

# --- helpers -----------------------------------------------------------------------------


def random_cores(rng, shapes, dtype):
    cores = []
    for shape in shapes:
        core = rng.standard_normal(shape)
        if np.issubdtype(dtype, np.complexfloating):
            core = core + 1j * rng.standard_normal(shape)
        cores.append(jnp.asarray(core, dtype))
    return cores


def random_mps(rng, dims, bonds, dtype=np.float64):
    b = (1, *bonds, 1)
    return MPS(random_cores(rng, [(b[k], d, b[k + 1]) for k, d in enumerate(dims)], dtype))


def random_mpo(rng, out_dims, in_dims, bonds, dtype=np.float64):
    b = (1, *bonds, 1)
    shapes = [
        (b[k], o, i, b[k + 1]) for k, (o, i) in enumerate(zip(out_dims, in_dims, strict=True))
    ]
    return MPO(random_cores(rng, shapes, dtype))


def dense_mps(a):
    """The vector of an MPS, contracted in NumPy (most significant site first)."""
    out = np.ones((1, 1))
    for core in a.cores:
        core = np.asarray(core)
        out = np.einsum("pa,aib->pib", out, core).reshape(-1, core.shape[2])
    return out[:, 0]


def dense_mpo(op):
    """The matrix of an MPO, contracted in NumPy: rows = output digits, columns = input."""
    out = np.ones((1, 1, 1))
    for core in op.cores:
        core = np.asarray(core)
        P, Q, _ = out.shape
        out = np.einsum("pqa,aijb->piqjb", out, core)
        out = out.reshape(P * core.shape[1], Q * core.shape[2], core.shape[3])
    return out[:, :, 0]


def sine_sum_mps(n, terms):
    """sum_m amp_m sin(phase_m + theta_m j), j < 2^n, built exactly from the digits.

    (cos, sin)(phase + theta j) = (cos, sin)(phase) R(theta j), R(t) = [[cos t, sin t],
    [-sin t, cos t]] = prod_k R(theta 2^(n-k) i_k): one rank-2 block per term, block-diagonal
    over the terms. Independent of the library's constructors.
    """

    def R(t):
        return np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])

    m = len(terms)
    cores = []
    for k in range(n):
        core = np.zeros((2 * m, 2, 2 * m))
        for q, (_, _, theta) in enumerate(terms):
            for i in (0, 1):
                core[2 * q : 2 * q + 2, i, 2 * q : 2 * q + 2] = R(theta * 2.0 ** (n - 1 - k) * i)
        cores.append(core)
    left = np.concatenate([[np.cos(phase), np.sin(phase)] for _, phase, _ in terms])
    right = np.concatenate([[0.0, amp] for amp, _, _ in terms])
    cores[0] = np.einsum("a,aib->ib", left, cores[0])[None]
    cores[-1] = np.einsum("aib,b->ai", cores[-1], right)[..., None]
    return MPS([jnp.asarray(c) for c in cores])


def dense_shift(N, t, periodic):
    """S[j, j + t] = 1: the rows of np.roll(eye, t, axis=1), or of eye(N, k=t) when open."""
    return np.roll(np.eye(N), t, axis=1) if periodic else np.eye(N, k=t)


STENCILS = {2: {-1: 1.0, 0: -2.0, 1: 1.0}, 4: {-2: -1, -1: 16, 0: -30, 1: 16, 2: -1}}
SCALE = {2: 1.0, 4: 12.0}


def dense_laplacian(N, h, boundary, order):
    """scipy.sparse.diags of the stencil; periodic adds the wrapped diagonals (np.roll),
    Dirichlet of order 4 the odd-reflection corners (a_{-2} = -a_0, a_{N+1} = -a_{N-1})."""
    stencil = STENCILS[order]
    if boundary == "periodic":
        L = sum(c * np.roll(np.eye(N), t, axis=1) for t, c in stencil.items())
    else:
        ts = [t for t in stencil if abs(t) < N]
        L = sps.diags([np.full(N - abs(t), float(stencil[t])) for t in ts], ts, shape=(N, N))
        L = L.toarray()
        if order == 4:
            L[0, 0] += 1.0
            L[N - 1, N - 1] += 1.0
    return L / (SCALE[order] * h**2)


def close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = max(np.max(np.abs(expected)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


def test_numpy_helpers():
    # the oracles' own oracle: sine_sum_mps against np.sin, dense_mps against spectral's to_dense
    j = np.arange(32)
    f = sine_sum_mps(5, [(1.0, 0.3, 0.2), (-0.5, 1.0, 2.5)])
    close(dense_mps(f), np.sin(0.3 + 0.2 * j) - 0.5 * np.sin(1.0 + 2.5 * j))
    close(to_dense(f), dense_mps(f))


# --- the MPO pytree ----------------------------------------------------------------------


def test_mpo_properties_and_operators():
    rng = np.random.default_rng(0)
    op = random_mpo(rng, (3, 2, 2), (2, 2, 4), (2, 5))
    assert op.num_sites == 3
    assert op.out_dims == (3, 2, 2)
    assert op.in_dims == (2, 2, 4)
    assert op.bond_dims == (2, 5)
    assert op.max_bond == 5
    assert op.shape == (12, 16)
    assert op.dtype == jnp.float64
    M = dense_mpo(op)
    assert M.shape == (12, 16)
    close(mpo_to_dense(op), M)
    close(dense_mpo(op.T), M.T)
    P = random_mpo(rng, (3, 2, 2), (2, 2, 4), (1, 3))
    close(dense_mpo(op + P), M + dense_mpo(P))
    close(dense_mpo(op - P), M - dense_mpo(P))
    close(dense_mpo(2.5 * op), 2.5 * M)
    close(dense_mpo(mpo_scale(op, jnp.asarray(-2.0))), -2.0 * M)
    assert (op + P).bond_dims == (3, 8)
    a = random_mps(rng, (2, 2, 4), (2, 3))
    close(dense_mps(op @ a), M @ dense_mps(a))
    single = MPO([jnp.ones((1, 2, 3, 1))])
    assert single.bond_dims == ()
    assert single.max_bond == 1
    close(mpo_to_dense(mpo_add(single, single)), 2 * np.ones((2, 3)))


def test_mpo_to_dense_matches_numpy():
    rng = np.random.default_rng(12)
    op = random_mpo(rng, (2, 3, 2), (3, 2, 1), (4, 3))
    close(mpo_to_dense(op), dense_mpo(op))
    close(mpo_to_dense(laplacian_mpo(3, 0.5, order=4)), dense_laplacian(8, 0.5, "dirichlet", 4))


def test_mpo_is_a_pytree():
    op = shift_mpo(3)
    leaves, treedef = jax.tree_util.tree_flatten(op)
    assert len(leaves) == 3
    assert jax.tree_util.tree_unflatten(treedef, leaves).bond_dims == op.bond_dims


# --- operators against dense matrices ------------------------------------------------------


@pytest.mark.parametrize("boundary", ["periodic", "open"])
@pytest.mark.parametrize("n", range(1, 9))
def test_shift_matches_dense(n, boundary):
    N = 2**n
    periodic = boundary == "periodic"
    a = np.random.default_rng(n).standard_normal(N)
    for t in (1, -1, 3, -5, 0, N - 1, -(N + 1)):
        S = shift_mpo(n, offset=t, boundary=boundary)
        M = dense_mpo(S)
        np.testing.assert_array_equal(M, dense_shift(N, t, periodic))
        if periodic:
            np.testing.assert_array_equal(M @ a, np.roll(a, -t))  # (S a)_j = a_{j+t}
        assert S.max_bond <= 2
    np.testing.assert_array_equal(
        dense_mpo(shift_mpo(n, offset=-1, boundary=boundary)),
        dense_mpo(shift_mpo(n, offset=1, boundary=boundary).T),
    )


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("boundary", ["dirichlet", "periodic"])
@pytest.mark.parametrize("n", range(1, 9))
def test_laplacian_matches_dense(n, boundary, order):
    h = 0.37
    L = laplacian_mpo(n, h, boundary=boundary, order=order)
    close(dense_mpo(L), dense_laplacian(2**n, h, boundary, order))
    bond = 5 if (order, boundary) == (4, "dirichlet") else 3
    assert L.bond_dims == (bond,) * (n - 1)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), s=st.integers(-70, 70), t=st.integers(-70, 70))
def test_shifts_compose(n, s, t):
    # S_s S_t = S_{s+t} on the periodic grid; open shifts compose while s, t have one sign
    S = {u: dense_mpo(shift_mpo(n, offset=u)) for u in {s, t, s + t}}
    np.testing.assert_array_equal(S[s] @ S[t], S[s + t])
    assert shift_mpo(n, offset=s).max_bond <= 2
    if s * t >= 0:
        Z = {u: dense_mpo(shift_mpo(n, offset=u, boundary="open")) for u in {s, t, s + t}}
        np.testing.assert_array_equal(Z[s] @ Z[t], Z[s + t])


def test_laplacian_order2_is_the_sum_of_shifts():
    # the definition, spelled out once more with the shift MPOs themselves
    n, h = 5, 0.1
    for boundary, shift_boundary in (("dirichlet", "open"), ("periodic", "periodic")):
        S = [dense_mpo(shift_mpo(n, offset=t, boundary=shift_boundary)) for t in (-1, 1)]
        expected = (S[0] + S[1] - 2 * np.eye(2**n)) / h**2
        close(dense_mpo(laplacian_mpo(n, h, boundary=boundary)), expected)


def test_multiplication_and_grid_match_dense():
    rng = np.random.default_rng(1)
    f = random_mps(rng, (2,) * 5, (2, 3, 4, 2))
    D = multiplication_mpo(f)
    assert D.bond_dims == f.bond_dims
    close(dense_mpo(D), np.diag(dense_mps(f)))
    for n in (1, 2, 3, 8):
        x = grid_mps(n, -0.75, 0.125)
        close(dense_mps(x), -0.75 + 0.125 * np.arange(2**n))
        assert x.max_bond <= 2
    X = multiplication_mpo(grid_mps(4, 0.5, 0.25))
    close(dense_mpo(X), np.diag(0.5 + 0.25 * np.arange(16)))
    a, b = random_mps(rng, (2,) * 5, (3,) * 4), random_mps(rng, (2,) * 5, (2,) * 4)
    fa, fb, ff = (dense_mps(v) for v in (a, b, f))
    close(expectation(a, D, b), np.sum(fa * ff * fb))  # <a|diag(f)|b> = sum_j a_j f_j b_j


# --- apply and expectation ----------------------------------------------------------------

SHAPES = [  # (out_dims, in_dims, operator bonds, bra bonds, ket bonds)
    ((2,), (2,), (), (), ()),
    ((2, 2, 2, 2), (2, 2, 2, 2), (3, 2, 3), (2, 4, 2), (3, 1, 2)),
    ((3, 2, 2), (2, 4, 2), (2, 3), (3, 2), (4, 2)),
]
# complex only on the last shape: the contractions are the same code for every dtype
CASES = [(shape, np.float64) for shape in SHAPES] + [(SHAPES[-1], np.complex128)]


@pytest.mark.parametrize(("shape", "dtype"), CASES)
def test_apply_matches_dense(shape, dtype):
    out_dims, in_dims, bonds_o, _, bonds_b = shape
    rng = np.random.default_rng(2)
    op = random_mpo(rng, out_dims, in_dims, bonds_o, dtype)
    b = random_mps(rng, in_dims, bonds_b, dtype)
    Ob = apply(op, b)
    assert Ob.physical_dims == out_dims
    assert Ob.bond_dims == tuple(p * q for p, q in zip(bonds_o, bonds_b, strict=True))
    assert Ob.dtype == dtype
    close(dense_mps(Ob), dense_mpo(op) @ dense_mps(b))


@pytest.mark.parametrize(("shape", "dtype"), CASES)
def test_expectation_matches_dense(shape, dtype):
    out_dims, in_dims, bonds_o, bonds_a, bonds_b = shape
    rng = np.random.default_rng(3)
    op = random_mpo(rng, out_dims, in_dims, bonds_o, dtype)
    a = random_mps(rng, out_dims, bonds_a, dtype)
    b = random_mps(rng, in_dims, bonds_b, dtype)
    M, va, vb = dense_mpo(op), dense_mps(a), dense_mps(b)
    value = expectation(a, op, b)
    assert value.dtype == dtype
    tol = RTOL * np.linalg.norm(va) * np.linalg.norm(vb) * max(np.linalg.norm(M, 2), 1.0)
    close(value, np.conj(va) @ M @ vb, rtol=tol)
    if len(out_dims) == 3:  # the same as the inner product with O b
        close(value, inner(a, apply(op, b)), rtol=tol)


def test_complex_operator_from_dtype():
    # a real operator built in a complex dtype acts on complex states
    rng = np.random.default_rng(5)
    a = random_mps(rng, (2,) * 4, (2, 3, 2), np.complex128)
    L = laplacian_mpo(4, 0.5, dtype=jnp.complex128)
    assert L.dtype == jnp.complex128
    va = dense_mps(a)
    M = dense_laplacian(16, 0.5, "dirichlet", 2)
    close(expectation(a, L), np.conj(va) @ M @ va, rtol=10 * RTOL * np.linalg.norm(va) ** 2)
    close(dense_mps(apply(L, a)), M @ va, rtol=10 * RTOL * np.linalg.norm(va))
    assert shift_mpo(3, dtype=jnp.complex64).dtype == jnp.complex64


def test_float32():
    # float32 throughout; tolerance: ~100 rounding errors of size eps in O(1) sums
    rng = np.random.default_rng(6)
    op = random_mpo(rng, (2,) * 3, (2,) * 3, (3, 3), np.float32)
    a = random_mps(rng, (2,) * 3, (2, 2), np.float32)
    M = dense_mpo(op).astype(np.float64)
    va = dense_mps(a).astype(np.float64)
    eps = float(np.finfo(np.float32).eps)
    Oa = apply(op, a)
    assert Oa.dtype == jnp.float32
    close(dense_mps(Oa), M @ va, rtol=100 * eps * np.linalg.norm(va))
    value = expectation(a, op)
    assert value.dtype == jnp.float32
    close(value, va @ M @ va, rtol=100 * eps * (va @ va) * np.linalg.norm(M, 2))
    L = laplacian_mpo(3, np.float32(0.5))
    assert L.dtype == jnp.float32  # the dtype of h
    close(dense_mpo(L), dense_laplacian(8, 0.5, "dirichlet", 2), rtol=10 * eps)


# --- physics: convergence of the quadratic form --------------------------------------------


def quadratic_form_errors(boundary, order, ns):
    """The relative error of h <f|L|f> against -int f'^2 over grids of 2^n points.

    f is an exact MPS (`sine_sum_mps`).

    Dirichlet: f = sin(pi x) on the interior points x_j = (j + 1) h, h = 1/(2^n + 1), zero at
    x = 0 and 1: int_0^1 f'^2 = pi^2 / 2. Periodic: f = sin(2 pi x) + cos(6 pi x) / 2 on
    x_j = j h, h = 2^-n: int_0^1 f'^2 = (2 pi)^2 / 2 + (6 pi)^2 / 8 = 6.5 pi^2 (and the
    discrete sum h sum_j f_j^2 is exact for these modes once 2^n > 6).
    """
    hs, errs = [], []
    for n in ns:
        N = 2**n
        if boundary == "dirichlet":
            h = 1.0 / (N + 1)
            f = sine_sum_mps(n, [(1.0, np.pi * h, np.pi * h)])
            exact = -(np.pi**2) / 2
        else:
            h = 1.0 / N
            f = sine_sum_mps(n, [(1.0, 0.0, 2 * np.pi * h), (0.5, np.pi / 2, 6 * np.pi * h)])
            exact = -6.5 * np.pi**2
        value = h * expectation(f, laplacian_mpo(n, h, boundary=boundary, order=order), f)
        hs.append(h)
        errs.append(abs(float(value) / exact - 1))
    return np.array(hs), np.array(errs)


@pytest.mark.parametrize(
    ("boundary", "order", "ns"),
    [
        ("dirichlet", 2, range(3, 11)),
        ("dirichlet", 4, range(3, 9)),  # beyond n = 8 the error (~1e-9) nears the rounding
        ("periodic", 2, range(5, 11)),
        ("periodic", 4, range(5, 10)),
    ],
)
def test_quadratic_form_converges_at_the_stencil_order(boundary, order, ns):
    hs, errs = quadratic_form_errors(boundary, order, ns)
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    # the observed slopes are the order to +- 0.05; 0.15 allows for the coarsest grids
    assert abs(slope - order) < 0.15, (slope, errs)
    # and the constant: measured 2.1e-5 and 1.5e-8 at worst on the finest grids
    assert errs[-1] < {2: 1e-4, 4: 1e-7}[order], errs


# --- jit, vmap, gradients -------------------------------------------------------------------


def test_jit_with_traced_h_and_x0():
    # everything under one jax.jit with h and x0 traced, against the dense oracles (the eager
    # path is checked against the same oracles above)
    rng = np.random.default_rng(7)
    a = random_mps(rng, (2,) * 5, (2, 3, 3, 2))
    b = random_mps(rng, (2,) * 5, (3, 2, 2, 3))
    h, x0 = 0.2, -1.0

    @jax.jit
    def run(h, x0, a, b):
        L = laplacian_mpo(5, h, boundary="dirichlet", order=4)
        X = multiplication_mpo(grid_mps(5, x0, h))
        S = shift_mpo(5, offset=-1, boundary="open")
        return expectation(a, mpo_scale(L, h), b), apply(X, a), mpo_to_dense(S), S @ b

    value, Xa, S, Sb = run(h, x0, a, b)
    va, vb = dense_mps(a), dense_mps(b)
    close(value, h * va @ dense_laplacian(32, h, "dirichlet", 4) @ vb, rtol=1e-11)
    close(dense_mps(Xa), (x0 + h * np.arange(32)) * va)
    close(S, dense_shift(32, -1, periodic=False))
    close(dense_mps(Sb), np.concatenate([[0.0], vb[:-1]]))  # (S b)_j = b_{j-1}


def test_vmap_over_h():
    rng = np.random.default_rng(8)
    f = random_mps(rng, (2,) * 4, (2, 2, 2))
    hs = jnp.array([0.1, 0.2, 0.5])
    values = jax.jit(jax.vmap(lambda h: expectation(f, laplacian_mpo(4, h), f)))(hs)
    vf = dense_mps(f)
    expected = [vf @ dense_laplacian(16, float(h), "dirichlet", 2) @ vf for h in hs]
    close(values, expected)


def test_check_grads_apply_and_expectation():
    # jitted and first order: each derivative check compiles once (order 2 triples the time);
    # multiplication_mpo is linear in f and its cores reach the result through the same einsums
    rng = np.random.default_rng(9)
    op = random_mpo(rng, (3, 2), (2, 2), (2,))
    a = random_mps(rng, (2, 2), (2,))
    c = random_mps(rng, (3, 2), (3,))
    applied = jax.jit(lambda op, a: to_dense(apply(op, a)))
    check_grads(applied, (op, a), order=1, modes=("rev",))
    check_grads(jax.jit(expectation), (c, op, a), order=1, modes=("fwd", "rev"))


def test_grad_through_h():
    # <f|L(h)|f> = C / h^2, so d/dh = -2 <f|L|f> / h
    rng = np.random.default_rng(10)
    f = random_mps(rng, (2,) * 4, (2, 2, 2))
    h = 0.3
    energy = jax.jit(lambda h: expectation(f, laplacian_mpo(4, h, order=4), f))
    value, grad = jax.value_and_grad(energy)(h)
    close(grad, -2 * value / h)
    check_grads(energy, (h,), order=1, modes=("rev",))
    x_grad = jax.grad(jax.jit(lambda x0, h: jnp.sum(to_dense(grid_mps(3, x0, h)))), (0, 1))
    close(x_grad(0.25, 0.5), (8.0, float(np.sum(np.arange(8)))))  # d/dx0, d/dh of sum x_j


# --- bad input ----------------------------------------------------------------------------


def test_mpo_construction_errors():
    with pytest.raises(ValueError, match="at least one core"):
        MPO([])
    with pytest.raises(ValueError, match=r"MPO core 0 must be 4-D .* got shape \(1, 2, 1\)"):
        MPO([jnp.ones((1, 2, 1))])
    with pytest.raises(ValueError, match="do not match between cores 0 and 1"):
        MPO([jnp.ones((1, 2, 2, 3)), jnp.ones((2, 2, 2, 1))])
    with pytest.raises(ValueError, match="core 0 must have left bond dimension 1"):
        MPO([jnp.ones((2, 2, 2, 1))])
    with pytest.raises(ValueError, match=r"core 1 \(the last\) must have right bond dimension 1"):
        MPO([jnp.ones((1, 2, 2, 2)), jnp.ones((2, 2, 2, 2))])
    with pytest.raises(TypeError, match="share one dtype"):
        MPO([jnp.ones((1, 2, 2, 1)), jnp.ones((1, 2, 2, 1), jnp.float32)])
    with pytest.raises(TypeError, match="floating or complex dtype"):
        MPO([jnp.ones((1, 2, 2, 1), jnp.int32)])


def test_apply_and_expectation_errors():
    rng = np.random.default_rng(11)
    op = shift_mpo(3)
    with pytest.raises(ValueError, match="same number of sites; got 3 sites for op and 4 for a"):
        apply(op, random_mps(rng, (2,) * 4, (1, 1, 1)))
    with pytest.raises(ValueError, match=r"a must have the physical dimensions .* \(2, 2, 2\)"):
        apply(op, random_mps(rng, (2, 3, 2), (1, 1)))
    with pytest.raises(TypeError, match="same dtype"):
        apply(op, random_mps(rng, (2,) * 3, (1, 1), np.complex128))
    with pytest.raises(TypeError, match=r"op must be a spectral\.mpo\.MPO"):
        apply(random_mps(rng, (2,) * 3, (1, 1)), op)
    with pytest.raises(TypeError, match=r"a must be a spectral\.mps\.MPS"):
        apply(op, jnp.ones(8))
    P = random_mpo(rng, (3, 2), (2, 2), (2,))
    good = random_mps(rng, (2, 2), (2,))
    with pytest.raises(ValueError, match=r"a must have the physical dimensions of the output"):
        expectation(good, P, good)
    with pytest.raises(ValueError, match=r"b must have the physical dimensions of the input"):
        expectation(random_mps(rng, (3, 2), (2,)), P, random_mps(rng, (3, 2), (2,)))
    with pytest.raises(ValueError, match="same output and input digits"):
        mpo_add(P, shift_mpo(2))
    with pytest.raises(ValueError, match="c must be a scalar"):
        mpo_scale(P, jnp.ones(2))
    with pytest.raises(TypeError, match=r"f must be a spectral\.mps\.MPS"):
        multiplication_mpo(jnp.ones(4))


def test_builder_errors():
    with pytest.raises(ValueError, match=r"boundary must be one of .* got boundary='dirichlet'"):
        shift_mpo(3, boundary="dirichlet")
    with pytest.raises(ValueError, match=r"boundary must be one of .* got boundary='open'"):
        laplacian_mpo(3, 0.1, boundary="open")
    with pytest.raises(ValueError, match=r"order must be one of \(2, 4\); got order=3"):
        laplacian_mpo(3, 0.1, order=3)
    with pytest.raises(ValueError, match="num_sites must be >= 1"):
        shift_mpo(0)
    with pytest.raises(TypeError, match="num_sites must be a Python int"):
        laplacian_mpo(3.0, 0.1)
    with pytest.raises(TypeError, match="offset must be a Python int"):
        shift_mpo(3, offset=1.5)
    with pytest.raises(ValueError, match=r"h must be > 0 and finite; got h=-0.1"):
        laplacian_mpo(3, -0.1)
    with pytest.raises(ValueError, match=r"h must be > 0 and finite; got h=0.0"):
        grid_mps(3, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"h must be a scalar; got shape \(2,\)"):
        laplacian_mpo(3, jnp.ones(2))
    with pytest.raises(TypeError, match="h must be a real number"):
        laplacian_mpo(3, 1j)
    with pytest.raises(TypeError, match="dtype must be a floating or complex dtype"):
        shift_mpo(3, dtype=jnp.int32)
    # traced h: checked at run time
    with pytest.raises(eqx.EquinoxRuntimeError, match="h must be > 0"):
        eqx.filter_jit(lambda h: laplacian_mpo(3, h))(jnp.asarray(-0.1))
