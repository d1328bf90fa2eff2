"""spectral.mps: the MPS pytree, its algebra, canonical forms, TT-rounding and TT-SVD.

Oracles: the dense vectors (`to_dense` on sizes up to 2^10) with NumPy's products, norms and
SVDs; the exact TT ranks of a tensor (the ranks of its unfoldings, `np.linalg.matrix_rank`).
Tolerances: exact operations (add, hadamard, lossless rounding) agree to a small multiple of
eps times the vector's norm; truncations are checked against the bound they promise.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import spectral
from spectral import mps as M

EPS = float(jnp.finfo(jnp.float64).eps)


def _random_mps(rng, bonds, d=2, dtype=np.float64):
    """An MPS with random Gaussian cores and the given inner bond dimensions."""
    chis = [1, *bonds, 1]
    return M.MPS(
        [
            jnp.asarray(rng.standard_normal((chis[k], d, chis[k + 1])), dtype)
            for k in range(len(bonds) + 1)
        ]
    )


def _unfolding_ranks(x, n, d=2):
    """Exact TT ranks: the ranks of the unfoldings x.reshape(d^k, d^(n-k))."""
    return [int(np.linalg.matrix_rank(np.asarray(x).reshape(d**k, -1))) for k in range(1, n)]


def test_tt_svd_is_exact_at_zero_tolerance_with_full_ranks():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2**9)
    res = M.tt_svd(x)
    # a generic vector has full unfolding ranks min(2^k, 2^(n-k))
    assert res.ranks.tolist() == [min(2**k, 2 ** (9 - k)) for k in range(1, 9)]
    assert res.mps.physical_dims == (2,) * 9
    # TT-SVD at tol 0 is a sequence of orthogonal changes of basis: error ~ n eps ||x||
    np.testing.assert_allclose(M.to_dense(res.mps), x, atol=50 * EPS * np.linalg.norm(x))


def test_tt_svd_finds_the_exact_ranks_of_a_low_rank_tensor():
    rng = np.random.default_rng(1)
    a = _random_mps(rng, [2, 3, 3, 2, 2])
    x = np.asarray(M.to_dense(a))
    res = M.tt_svd(x, tol=1e-12, criterion="relative")
    assert res.ranks.tolist() == _unfolding_ranks(x, 6)
    np.testing.assert_allclose(M.to_dense(res.mps), x, atol=1e-12 * np.linalg.norm(x))


@pytest.mark.parametrize("criterion", M.CRITERIA)
@pytest.mark.parametrize("tol", [1e-2, 1e-1])
def test_tt_svd_truncation_respects_its_criterion(criterion, tol):
    rng = np.random.default_rng(2)
    # a smooth function plus noise: decaying singular values at every bond
    t = np.linspace(0.0, 1.0, 2**10)
    x = np.exp(-3 * t) * np.sin(20 * t) + 1e-2 * rng.standard_normal(t.size)
    res = M.tt_svd(x, tol=tol, criterion=criterion)
    err = np.linalg.norm(np.asarray(M.to_dense(res.mps)) - x)
    # the reported error bounds the true one (Oseledets 2011, Thm 2.2: the errors of the
    # successive projections are orthogonal, so the bound is sqrt of the sum of squares)
    assert err <= float(res.error) * (1 + 1e-10) + 1e-12
    if criterion == "frobenius":
        assert err <= tol * np.linalg.norm(x) * (1 + 1e-10)
    # every kept rank is no larger than the exact one
    assert all(r <= e for r, e in zip(res.ranks.tolist(), _unfolding_ranks(x, 10), strict=True))


def test_absolute_and_relative_criteria_drop_the_right_singular_values():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2**6)
    s1 = np.linalg.svd(x.reshape(2, -1), compute_uv=False)  # bond 1: two singular values
    # at bond 1, an absolute threshold between s[1] and s[0] keeps one value
    res = M.tt_svd(x, tol=(s1[0] + s1[1]) / 2, criterion="absolute")
    assert int(res.ranks[0]) == 1
    res = M.tt_svd(x, tol=0.5 * (1 + s1[1] / s1[0]), criterion="relative")
    assert int(res.ranks[0]) == 1


def test_interleaved_and_sequential_bit_orders():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((4, 8, 4))  # 2 + 3 + 2 bits
    seq = M.tt_svd(X, order="sequential")
    np.testing.assert_allclose(M.to_dense(seq.mps), X.reshape(-1), atol=1e-13)
    inter = M.tt_svd(X, order="interleaved")
    # interleaved: x1 y1 z1 x2 y2 z2 y3 (round-robin over the coordinates, top bits first)
    T = X.reshape(2, 2, 2, 2, 2, 2, 2).transpose(0, 2, 5, 1, 3, 6, 4)
    np.testing.assert_allclose(M.to_dense(inter.mps), T.reshape(-1), atol=1e-13)


def test_inner_norm_add_scale_hadamard_match_dense():
    rng = np.random.default_rng(5)
    a, b = _random_mps(rng, [2, 3, 4, 2]), _random_mps(rng, [2, 2, 3, 2])
    xa, xb = np.asarray(M.to_dense(a)), np.asarray(M.to_dense(b))
    scale = np.linalg.norm(xa) * np.linalg.norm(xb)
    assert abs(float(M.inner(a, b)) - xa @ xb) <= 1e-13 * scale
    np.testing.assert_allclose(float(M.norm(a)), np.linalg.norm(xa), rtol=1e-13)
    np.testing.assert_allclose(M.to_dense(M.add(a, b)), xa + xb, atol=1e-13 * scale)
    np.testing.assert_allclose(M.to_dense(a - b), xa - xb, atol=1e-13 * scale)
    np.testing.assert_allclose(M.to_dense(2.5 * a), 2.5 * xa, atol=1e-13 * scale)
    np.testing.assert_allclose(M.to_dense(M.hadamard(a, b)), xa * xb, atol=1e-13 * scale)
    assert M.add(a, b).bond_dims == (4, 5, 7, 4)
    assert M.hadamard(a, b).bond_dims == (4, 6, 12, 4)


def test_complex_inner_conjugates_the_first_argument():
    rng = np.random.default_rng(6)
    x = rng.standard_normal(2**5) + 1j * rng.standard_normal(2**5)
    y = rng.standard_normal(2**5) + 1j * rng.standard_normal(2**5)
    a, b = M.tt_svd(x).mps, M.tt_svd(y).mps
    np.testing.assert_allclose(complex(M.inner(a, b)), np.vdot(x, y), rtol=1e-12)
    np.testing.assert_allclose(float(M.norm(a)), np.linalg.norm(x), rtol=1e-12)


def test_canonical_forms_are_orthonormal_and_keep_the_vector():
    rng = np.random.default_rng(7)
    a = _random_mps(rng, [2, 4, 4, 2])
    x = np.asarray(M.to_dense(a))
    left, right = M.left_canonicalize(a), M.right_canonicalize(a)
    for c in (left, right):
        np.testing.assert_allclose(M.to_dense(c), x, rtol=1e-12, atol=1e-13 * np.linalg.norm(x))
    for core in left.cores[:-1]:
        Q = np.asarray(core).reshape(-1, core.shape[2])
        np.testing.assert_allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-13)
    for core in right.cores[1:]:
        Q = np.asarray(core).reshape(core.shape[0], -1)
        np.testing.assert_allclose(Q @ Q.T, np.eye(Q.shape[0]), atol=1e-13)


def test_round_is_lossless_on_a_redundant_sum_and_recovers_the_ranks():
    rng = np.random.default_rng(8)
    a = _random_mps(rng, [2, 3, 3, 2])
    x = np.asarray(M.to_dense(a))
    res = M.round(M.add(a, a), tol=1e-12)
    assert res.ranks.tolist() == _unfolding_ranks(x, 5)
    np.testing.assert_allclose(M.to_dense(res.mps), 2 * x, atol=1e-12 * np.linalg.norm(x))


def test_round_truncation_error_is_within_tol_and_matches_dense_svd_at_one_bond():
    rng = np.random.default_rng(9)
    a = _random_mps(rng, [2, 4, 8, 4, 2])
    x = np.asarray(M.to_dense(a))
    res = M.round(a, tol=0.1)
    err = np.linalg.norm(np.asarray(M.to_dense(res.mps)) - x)
    assert err <= 0.1 * np.linalg.norm(x) * (1 + 1e-10)
    assert err <= float(res.error) * (1 + 1e-10)
    # rounding to rank 1 at the middle bond only (2 sites): the Eckart-Young error
    b = _random_mps(rng, [4])
    xb = np.asarray(M.to_dense(b)).reshape(2, 2)
    r1 = M.round(b, tol=0.0, max_bond=1)
    s = np.linalg.svd(xb, compute_uv=False)
    np.testing.assert_allclose(float(r1.error), s[1], rtol=1e-12)
    np.testing.assert_allclose(
        np.linalg.norm(np.asarray(M.to_dense(r1.mps)) - xb.reshape(-1)), s[1], rtol=1e-12
    )


def test_padded_round_under_jit_equals_the_exact_shape_round():
    rng = np.random.default_rng(10)
    a = _random_mps(rng, [2, 4, 8, 4, 2])
    exact = M.round(a, tol=0.05)
    padded = jax.jit(lambda a, tol: M.round(a, tol=tol, max_bond=16))(a, 0.05)
    assert padded.ranks.tolist() == exact.ranks.tolist()
    assert padded.mps.bond_dims == (2, 4, 8, 4, 2)  # min(16, the largest possible)
    np.testing.assert_allclose(M.to_dense(padded.mps), M.to_dense(exact.mps), atol=1e-12)
    np.testing.assert_allclose(padded.error, exact.error, rtol=1e-10)
    # the cap: max_bond=3 keeps at most 3 and reports min(kept, 3)
    capped = M.round(a, tol=0.0, max_bond=3)
    assert capped.mps.max_bond == 3
    assert int(capped.ranks.max()) == 3


def test_gradients_flow_through_padded_rounding():
    rng = np.random.default_rng(11)
    a = _random_mps(rng, [2, 3, 2])
    doubled = M.add(a, a)  # rank-deficient bonds and zero padding: a plain SVD/QR gives NaN

    def through_round(mps):
        return jnp.sum(M.to_dense(M.round(mps, tol=1e-10, max_bond=8).mps) ** 2)

    def direct(mps):
        return jnp.sum(M.to_dense(mps) ** 2)

    # Jitted: op-by-op (eager) differentiation of the rounding took 5 s of this test's 16.
    g, g0 = jax.jit(jax.grad(through_round))(doubled), jax.jit(jax.grad(direct))(doubled)
    for c, c0 in zip(g.cores, g0.cores, strict=True):
        np.testing.assert_allclose(c, c0, atol=1e-9)
    check_grads(jax.jit(lambda c: M.norm(M.MPS(c))), (a.cores,), order=1, modes=("fwd", "rev"))
    # grad of a jitted function (the custom derivative's output structure must match)
    grad_of_jit = jax.grad(jax.jit(lambda s: M.norm(M.round(M.scale(a, s), max_bond=4).mps)))
    np.testing.assert_allclose(grad_of_jit(1.5), float(M.norm(a)), rtol=1e-10)
    check_grads(
        jax.jit(lambda x: M.to_dense(M.tt_svd(x, max_bond=4).mps)),
        (jnp.asarray(rng.standard_normal(2**4)),),
        order=1,
        modes=("fwd", "rev"),
    )


def test_inner_vmaps_over_a_batch_of_states():
    rng = np.random.default_rng(12)
    batch = [_random_mps(rng, [2, 3, 2]) for _ in range(4)]
    stacked = jax.tree.map(lambda *c: jnp.stack(c), *batch)
    got = jax.vmap(M.inner)(stacked, stacked)
    want = [float(np.sum(np.asarray(M.to_dense(b)) ** 2)) for b in batch]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_float32_stays_float32():
    x = jnp.linspace(0.0, 1.0, 2**8, dtype=jnp.float32)
    res = M.tt_svd(x, tol=1e-5)
    assert all(c.dtype == jnp.float32 for c in res.mps.cores)
    assert res.ranks.tolist() == [2] * 7  # a linear function has TT ranks 2
    # float32 TT-SVD: error ~ n eps_32 |x|
    np.testing.assert_allclose(M.to_dense(res.mps), x, atol=1e-5 * float(jnp.linalg.norm(x)))


def test_public_names_are_exported():
    for name in ("MPS", "tt_svd", "TruncationResult"):
        assert getattr(spectral, name) is getattr(M, name)
    assert spectral.mps is M  # the rest (round, inner, norm, ...) as spectral.mps.NAME


def test_bad_input():
    with pytest.raises(ValueError, match="not a power of the physical dimension 2"):
        M.tt_svd(jnp.ones(6))
    with pytest.raises(ValueError, match="tol must be >= 0"):
        M.tt_svd(jnp.ones(8), tol=-1.0)
    with pytest.raises(ValueError, match="max_bond must be None or an int >= 1"):
        M.tt_svd(jnp.ones(8), max_bond=0)
    with pytest.raises(ValueError, match="criterion"):
        M.tt_svd(jnp.ones(8), criterion="rel")
    with pytest.raises(ValueError, match="order"):
        M.tt_svd(jnp.ones((4, 4)), order="zigzag")
    with pytest.raises(ValueError, match="bond dimensions do not match between cores 0 and 1"):
        M.MPS([jnp.ones((1, 2, 3)), jnp.ones((2, 2, 1))])
    with pytest.raises(ValueError, match="core 0 must have left bond dimension 1"):
        M.MPS([jnp.ones((2, 2, 1))])
    with pytest.raises(ValueError, match="must be 3-D"):
        M.MPS([jnp.ones((2, 2))])
    with pytest.raises(ValueError, match=r"max_bond is needed under jax\.jit"):
        jax.jit(lambda x: M.tt_svd(x, tol=0.1).ranks)(jnp.ones(8))
    a = M.tt_svd(jnp.ones(8)).mps
    with pytest.raises(ValueError, match="same physical dimensions"):
        M.inner(a, M.tt_svd(jnp.ones(16)).mps)
    with pytest.raises(TypeError, match=r"must be a spectral\.mps\.MPS"):
        M.norm(jnp.ones(8))
