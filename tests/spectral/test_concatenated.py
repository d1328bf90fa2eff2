"""Concatenated-matrix SVD bounds, incremental estimator and clustering, against numpy SVDs."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from spectral import concatenated as cc
from spectral.concatenated import (
    METHODS,
    IncrementalSVD,
    cluster_blocks,
    concatenation_error,
    concatenation_residual_bound,
    concatenation_weyl_bound,
    incremental_svd,
)


def exact_error(blocks, r: int) -> float:
    """The oracle: numpy SVD of the formed concatenation."""
    s = np.linalg.svd(np.concatenate([np.asarray(A) for A in blocks], axis=1), compute_uv=False)
    return float(np.sqrt(np.sum(s[r:] ** 2) / np.sum(s**2)))


def grouped_blocks(seed, *, h=24, groups=3, per_group=4, width=5, s=2, noise=0.02, spread=1.0):
    """Blocks U_g W + noise sharing a rank-s column space per group, norms over `spread` decades."""
    rng = np.random.default_rng(seed)
    blocks, labels = [], []
    for g in range(groups):
        U = np.linalg.qr(rng.standard_normal((h, s)))[0]
        for _ in range(per_group):
            A = U @ rng.standard_normal((s, width))
            N = rng.standard_normal((h, width))
            A = A / np.linalg.norm(A) + noise * N / np.linalg.norm(N)
            blocks.append(A * 10 ** rng.uniform(-spread, 0))
            labels.append(g)
    return blocks, np.array(labels)


# Layouts (height, widths) and ranks: few distinct shapes keep the property test fast
# (each new shape costs a compilation); the content (rank structure, scales, shared column
# spaces) is what hypothesis varies.
LAYOUTS = [(4, (1, 2, 3)), (5, (4, 1, 2))]


@st.composite
def concatenations(draw):
    h, widths = draw(st.sampled_from(LAYOUTS))
    seed = draw(st.integers(0, 2**32 - 1))
    shared = draw(st.integers(0, h))  # dimension of a column space the blocks share (0: none)
    own = draw(st.lists(st.integers(0, h), min_size=len(widths), max_size=len(widths)))
    scales = draw(st.lists(st.floats(-3, 3), min_size=len(widths), max_size=len(widths)))
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((h, shared))
    blocks = []
    for w, k, e in zip(widths, own, scales, strict=True):
        basis = np.concatenate([base, rng.standard_normal((h, k))], axis=1)
        A = basis @ rng.standard_normal((basis.shape[1], w)) if basis.shape[1] else np.zeros((h, w))
        blocks.append(A * 10.0**e)
    if not any(np.any(A) for A in blocks):
        blocks[0][0, 0] = 1.0
    r = draw(st.integers(1, 3))
    oversample = draw(st.integers(0, 1))
    return blocks, r, oversample


@settings(max_examples=20, deadline=None)
@given(concatenations())
def test_bounds_never_below_the_optimal_error(case):
    blocks, r, oversample = case
    truth = exact_error(blocks, r)
    with jax.disable_jit():  # tiny inputs: eager is faster than compiling every shape
        weyl = float(concatenation_weyl_bound(blocks, r))
        residual = float(concatenation_residual_bound(blocks, r))
        incremental = incremental_svd(blocks, r, oversample=oversample)
        reference = float(concatenation_error(blocks, r))
    # Compare squares: epsilon_r^2 is computed to ~1e-15 absolute (it is a ratio of sums of
    # squares with tails of size >= 0), while epsilon_r itself near 0 is only ~1e-8 accurate.
    slack = 1e-12
    assert reference**2 == pytest.approx(truth**2, abs=slack)
    for name, bound in [("weyl", weyl), ("residual", residual), ("incr", incremental.error)]:
        assert float(bound) ** 2 >= truth**2 - slack, (name, float(bound), truth)
        assert float(bound) <= 1 + 1e-12
    # The incremental singular values are lower bounds of the true ones (B B^T <= C C^T).
    s = np.linalg.svd(np.concatenate(blocks, axis=1), compute_uv=False)
    top = np.zeros(r)
    top[: min(r, s.size)] = s[:r]
    assert np.all(np.asarray(incremental.S) <= top * (1 + 1e-10) + 1e-12 * s[0])


def test_bounds_on_known_cases():
    # Orthogonal column spaces: the Weyl pool and the residuals credit every block fully.
    e = np.eye(6)
    blocks = [2 * e[:, :2], e[:, 2:3], 0.5 * e[:, 3:6]]
    expected = np.sqrt(3 * 0.25 / (8 + 1 + 0.75))  # rank 3 keeps 2, 2, 1; drops 3 x 0.25
    for fn in (concatenation_error, concatenation_weyl_bound, concatenation_residual_bound):
        assert float(fn(blocks, 3)) == pytest.approx(expected, rel=1e-12)
    # G copies of one rank-1 matrix: exact error 0, Weyl and residual bounds sqrt(1 - 1/G)
    # (they credit one copy only), the incremental estimate exact.
    a = np.outer(np.arange(1.0, 5.0), [1.0, -1.0])
    copies = [a, a, a]
    assert float(concatenation_error(copies, 1)) == pytest.approx(0, abs=1e-7)
    assert float(concatenation_weyl_bound(copies, 1)) == pytest.approx(np.sqrt(2 / 3))
    assert float(concatenation_residual_bound(copies, 1)) == pytest.approx(np.sqrt(2 / 3))
    assert float(incremental_svd(copies, 1).error) == pytest.approx(0, abs=1e-7)


@pytest.mark.parametrize("oversample", [0, 3])
def test_incremental_is_exact_within_the_tracked_rank(oversample):
    rng = np.random.default_rng(0)
    h, r = 12, 3
    basis = rng.standard_normal((h, r + oversample))  # combined rank r + oversample
    blocks = [basis @ rng.standard_normal((r + oversample, w)) for w in (2, 4, 1, 3)]
    C = np.concatenate(blocks, axis=1)
    U, s, _ = np.linalg.svd(C, full_matrices=False)
    res = incremental_svd(blocks, r, oversample=oversample)
    # No truncation ever discards energy (rank C <= l): S and the error are those of the
    # SVD of C to rounding (1e-10 leaves room for the conditioning of the small SVDs).
    np.testing.assert_allclose(np.asarray(res.S), s[:r], rtol=1e-10)
    assert float(res.error) == pytest.approx(exact_error(blocks, r), abs=1e-8)
    # The same basis: the projector onto span(U_r) agrees (gaps between s_i are O(1)).
    P = np.asarray(res.U) @ np.asarray(res.U).T
    np.testing.assert_allclose(P, U[:, :r] @ U[:, :r].T, atol=1e-9)
    if oversample == 0:  # rank C = r: nothing is lost
        assert float(res.error) < 1e-7


def test_streaming_matches_one_shot_and_keeps_its_structure():
    rng = np.random.default_rng(1)
    stacked = jnp.asarray(rng.standard_normal((6, 10, 3)))
    alg = IncrementalSVD(rank=3, oversample=2)
    state = alg.init(None, stacked[0])
    after = jax.eval_shape(alg.update, state, stacked[0])
    assert jax.tree.structure(after) == jax.tree.structure(state)
    assert [(x.shape, x.dtype) for x in jax.tree.leaves(after)] == [
        (x.shape, x.dtype) for x in jax.tree.leaves(state)
    ]
    for A in stacked:
        state = alg.update(state, A)
    assert int(state.count) == 6
    loop = alg.result(state)
    scanned = incremental_svd(stacked, 3, oversample=2)  # lax.scan path
    listed = incremental_svd(list(stacked), 3, oversample=2)
    for other in (scanned, listed):
        np.testing.assert_allclose(np.asarray(other.S), np.asarray(loop.S), rtol=1e-12)
        assert float(other.error) == pytest.approx(float(loop.error), rel=1e-12)
    # Under jit and vmap over independent sets of blocks.
    batch = jnp.asarray(rng.standard_normal((2, 6, 10, 3)))
    errors = jax.jit(jax.vmap(lambda b: incremental_svd(b, 3, oversample=2).error))(batch)
    for i in range(2):
        assert float(errors[i]) >= exact_error(list(np.asarray(batch[i])), 3) - 1e-12


def test_streaming_residual_bound_matches_the_qr_form():
    blocks, _ = grouped_blocks(2, h=10, groups=2, per_group=2, width=3, s=2)
    estimator = cc._Estimator("residuals", 4, 0, 10, jnp.float64)
    state = estimator.init()
    for A in blocks:
        state = estimator.update(state, jnp.asarray(A))
    # Same residuals (full column rank: the QR's leading columns span the earlier blocks).
    assert estimator.bound(state) == pytest.approx(
        float(concatenation_residual_bound(blocks, 4)), rel=1e-10
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("order", ["norm", "residual"])
def test_clusters_never_exceed_the_tolerance(method, order):
    blocks, _ = grouped_blocks(3)
    r = 4
    for tol in (0.05, 0.2):
        res = cluster_blocks(blocks, r, tol, method=method, order=order)
        labels = np.asarray(res.labels)
        assert labels.shape == (len(blocks),)
        assert set(labels.tolist()) == set(range(len(res.estimates)))
        for c in range(len(res.estimates)):
            members = [blocks[i] for i in np.flatnonzero(labels == c)]
            truth = exact_error(members, r)
            # errors is the exact error (SVD of the concatenation); estimate >= exact.
            assert float(res.errors[c]) == pytest.approx(truth, abs=1e-9)
            assert float(res.estimates[c]) >= truth - 1e-9
            if len(members) > 1:
                # The guarantee: merged clusters stay within the budget (all three methods
                # test an upper bound; 1e-9 covers rounding of err^2 ~ 1e-15 / err).
                assert truth <= tol + 1e-9, (method, order, tol, c, truth)


def test_approximate_recovers_the_groups():
    # Rank r = s = 2 per group and 2% noise: one group's concatenation has error ~0.02, two
    # groups together ~0.7. With tol = 0.1 the incremental estimate finds exactly the groups.
    blocks, groups = grouped_blocks(4, spread=0.5)
    res = cluster_blocks(blocks, 2, 0.1, method="approximate", order="residual")
    labels = np.asarray(res.labels)
    for g in range(3):
        assert len(set(labels[groups == g].tolist())) == 1
    assert len(set(labels.tolist())) == 3
    # The provable bounds (a), (b) credit one block per shared direction: with similar norms
    # they cannot merge a group at this budget, so they make more clusters.
    for method in ("max_norm", "residuals"):
        assert len(cluster_blocks(blocks, 2, 0.1, method=method, exact=False).estimates) > 3


def test_float32():
    blocks, _ = grouped_blocks(5, h=8, groups=2, per_group=2, width=3, s=2)
    truth = exact_error(blocks, 2)
    single = [A.astype(np.float32) for A in blocks]
    for fn in (concatenation_weyl_bound, concatenation_residual_bound):
        bound = fn(single, 2)
        assert bound.dtype == jnp.float32
        # float32 eps = 1.2e-7: err^2 is computed to ~1e-6 absolute at these sizes.
        assert float(bound) ** 2 >= truth**2 - 1e-5
    res = incremental_svd(single, 2, oversample=1)
    assert res.U.dtype == jnp.float32
    assert float(res.error) ** 2 >= truth**2 - 1e-5
    assert float(concatenation_error(single, 2)) == pytest.approx(truth, rel=1e-3)


def test_bad_input():
    A, B = np.ones((4, 2)), np.ones((5, 2))
    with pytest.raises(ValueError, match="same number of rows"):
        concatenation_weyl_bound([A, B], 1)
    with pytest.raises(ValueError, match="same number of rows"):
        cluster_blocks([A, B], 1, 0.1)
    with pytest.raises(ValueError, match="rank must be >= 1"):
        concatenation_residual_bound([A], 0)
    with pytest.raises(ValueError, match="rank must be >= 1"):
        cluster_blocks([A], 0, 0.1)
    with pytest.raises(ValueError, match="tol must be a finite relative error > 0"):
        cluster_blocks([A], 1, 0.0)
    with pytest.raises(ValueError, match="tol must be a finite relative error > 0"):
        cluster_blocks([A], 1, -0.5)
    with pytest.raises(ValueError, match="tol must be a finite relative error > 0"):
        cluster_blocks([A], 1, float("nan"))
    with pytest.raises(ValueError, match="method must be one of"):
        cluster_blocks([A], 1, 0.1, method="kmeans")
    with pytest.raises(ValueError, match="at least one matrix"):
        concatenation_error([], 1)
    with pytest.raises(ValueError, match=r"blocks\[1\] must be a matrix"):
        incremental_svd([A, np.ones(4)], 1)
    with pytest.raises(TypeError, match="share one dtype"):
        concatenation_error([A, A.astype(np.float32)], 1)
    with pytest.raises(ValueError, match="rank \\+ oversample must be <="):
        incremental_svd([A], 3, oversample=2)
    alg = IncrementalSVD(rank=1)
    state = alg.init(None, jnp.asarray(A))
    with pytest.raises(ValueError, match=r"block must be a matrix \(h, w\) = \(4, w\)"):
        alg.update(state, jnp.asarray(B))
    with pytest.raises(eqx.EquinoxRuntimeError, match="NaN or Inf"):
        alg.update(state, jnp.asarray(np.full((4, 2), np.nan)))
    with pytest.raises(ValueError, match="oversample must be >= 0"):
        IncrementalSVD(rank=1, oversample=-1)
