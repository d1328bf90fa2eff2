"""Streaming eigensolvers and sketches against dense oracles on the full matrix.

Oracles are `numpy.linalg.eigh`/`svd`/`eigvalsh` of the whole stacked matrix, which the
streaming algorithms never see. Shapes are few and fixed (each new shape costs a compile
of about a second on a 2-core CPU), and streams are fed through Python loops or
`jax.lax.scan` under `jax.jit`.
"""

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

from spectral.streaming import frequent_directions, oja, random_order_top_eigenvector
from tests.helpers import subspace_distance

# --- helpers -----------------------------------------------------------------------------


def fold(alg, A, block_size, dtype=None):
    """init, then update over consecutive blocks of `block_size` rows (Python loop)."""
    state = alg.init(dtype)
    for start in range(0, A.shape[0], block_size):
        state = alg.update(state, jnp.asarray(A[start : start + block_size]))
    return state


def fold_scan(alg, A, block_size):
    """The same under jax.jit, with jax.lax.scan over equal blocks."""
    n, d = A.shape

    @jax.jit
    def run(A):
        blocks = A.reshape(n // block_size, block_size, d)
        state, _ = jax.lax.scan(lambda s, X: (alg.update(s, X), None), alg.init(A.dtype), blocks)
        return state

    return run(jnp.asarray(A))


def top_eigenvector(A):
    w, V = np.linalg.eigh(A.T @ A)
    return V[:, -1], w


def correlation(v, v1):
    v = np.asarray(v).ravel()
    return abs(v @ v1) / np.linalg.norm(v)


def spiked_rows(seed, n, d, spikes):
    """Gaussian rows with covariance I + sum_i (s_i - 1) u_i u_i^T, u_i orthonormal."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((d, len(spikes))))
    G = rng.standard_normal((n, d))
    return G + (G @ U) * (np.sqrt(np.asarray(spikes)) - 1) @ U.T


def issue_instance(seed, n_light, d, ratio, num_heavy):
    """Rows ~ N(0, diag(ratio, 1, ..., 1)) plus heavy rows (squared norm n_light) orthogonal
    to e_1, in a uniformly random order (the instance of the issue)."""
    rng = np.random.default_rng(seed)
    light = rng.standard_normal((n_light, d))
    light[:, 0] *= np.sqrt(ratio)
    Q, _ = np.linalg.qr(rng.standard_normal((d - 1, num_heavy)))
    heavy = np.zeros((num_heavy, d))
    heavy[:, 1:] = Q.T * np.sqrt(n_light)
    A = np.concatenate([light, heavy])
    return A[rng.permutation(len(A))], heavy


# --- Frequent Directions -----------------------------------------------------------------

FD_D = 5


def check_fd_guarantee(A, res, ell):
    """0 <= A^T A - B^T B <= shrinkage <= ||A - A_k||_F^2 / (ell - k) <= error_bound(k).

    Tolerance: the sketch is built by O(n / ell) SVDs of 2 ell x d matrices, each backward
    stable to ~eps * ||A||_F^2 in the Gram matrix, so 1e-10 * ||A||_F^2 (float64) leaves a
    margin of ~1e4 over the accumulated rounding.
    """
    B = np.asarray(res.B)
    frob = float(np.sum(A**2))
    atol = 1e-10 * max(frob, 1e-300)
    E = A.T @ A - B.T @ B
    assert np.linalg.eigvalsh(E).min() >= -atol  # B^T B <= A^T A
    shrinkage = float(res.shrinkage)
    assert np.linalg.norm(E, 2) <= shrinkage + atol
    sigma2 = np.linalg.svd(A, compute_uv=False) ** 2
    assert float(res.frobenius_sq) == pytest.approx(frob, rel=1e-12, abs=1e-300)
    for k in range(ell):
        tail = float(np.sum(sigma2[k:]))
        assert shrinkage <= tail / (ell - k) + atol, k
        assert tail / (ell - k) <= float(res.error_bound(k)) + atol, k


def ordered(A, order, rng):
    norms = np.sum(A**2, axis=1)
    if order == "random":
        return A[rng.permutation(len(A))]
    if order == "sorted":
        return A[np.argsort(norms, kind="stable")]
    if order == "reversed":
        return A[np.argsort(-norms, kind="stable")]
    # "repeated": runs of identical rows, each run as long as the buffer or longer
    return np.repeat(A[: max(1, len(A) // 4)], 4, axis=0)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 40),
    ell=st.sampled_from([1, 2, 6]),  # 6 > d = 5: the exact regime
    order=st.sampled_from(["random", "sorted", "reversed", "repeated"]),
    decay=st.sampled_from([0.0, 0.5, 2.0]),
    heavy=st.booleans(),
)
def test_fd_guarantee_on_every_input(seed, n, ell, order, decay, heavy):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, FD_D)) * np.exp(-decay * np.arange(FD_D))
    if heavy:  # a few rows 100x heavier than the rest
        A[rng.integers(0, n, size=max(1, n // 10))] *= 100.0
    A = ordered(A, order, rng)
    fd = frequent_directions(FD_D, ell)
    res = fd.result(fold(fd, A, 1))  # row by row: one compiled update per ell
    check_fd_guarantee(A, res, ell)
    assert res.B.shape == (ell, FD_D)
    assert int(jnp.sum(res.S > 0)) <= max(ell - 1, min(ell, FD_D))


def test_fd_blocks_equal_rows_and_scan():
    """Blocks are put in row by row (Liberty's loop), so any blocking gives the same sketch."""
    A = spiked_rows(0, 48, FD_D, [20.0, 5.0])
    fd = frequent_directions(FD_D, 2)
    ref = fd.result(fold(fd, A, 1))
    for res in (fd.result(fold(fd, A, 8)), fd.result(fold_scan(fd, A, 8))):
        np.testing.assert_allclose(res.B.T @ res.B, ref.B.T @ ref.B, atol=1e-10)
        assert float(res.shrinkage) == pytest.approx(float(ref.shrinkage), rel=1e-10)
    check_fd_guarantee(A, ref, 2)


def test_fd_merge_bound_for_stacked_matrix():
    rng = np.random.default_rng(1)
    A1 = spiked_rows(1, 32, FD_D, [30.0, 8.0])
    A2 = spiked_rows(2, 24, FD_D, [30.0, 8.0]) * 3.0  # different scale and rows
    fd = frequent_directions(FD_D, 2)
    merged = fd.merge(fold(fd, A1, 8), fold(fd, A2, 8))
    A = np.concatenate([A1, A2])
    check_fd_guarantee(A, fd.result(merged), 2)
    assert int(merged.count) == len(A)
    # Few rows: no shrink is needed, and the merge is exact.
    B1, B2 = rng.standard_normal((1, FD_D)), rng.standard_normal((2, FD_D))
    small = fd.merge(fold(fd, B1, 1), fold(fd, B2, 1))
    assert float(small.shrinkage) == 0.0
    np.testing.assert_allclose(small.buffer.T @ small.buffer, B1.T @ B1 + B2.T @ B2, atol=1e-12)


def test_fd_state_stable_vmap_and_float32():
    fd = frequent_directions(FD_D, 2)
    state = fd.init()
    block = jnp.ones((8, FD_D))
    assert jax.tree.map(jnp.shape, jax.eval_shape(fd.update, state, block)) == jax.tree.map(
        jnp.shape, state
    )
    # vmap over independent streams = one stream at a time.
    streams = np.stack([spiked_rows(s, 8, FD_D, [10.0]) for s in range(3)])
    batched = jax.vmap(lambda A: fd.result(fd.update(fd.init(A.dtype), A)).B)(jnp.asarray(streams))
    for A, B in zip(streams, batched, strict=True):
        single = fd.result(fd.update(fd.init(), jnp.asarray(A))).B
        np.testing.assert_allclose(B.T @ B, single.T @ single, atol=1e-10)
    # float32: the same guarantee, at float32 tolerance (1e-4 relative to ||A||_F^2, ~1e3 eps).
    A = streams[0].astype(np.float32)
    res = fd.result(fd.update(fd.init(jnp.float32), jnp.asarray(A)))
    assert res.B.dtype == jnp.float32
    A64 = A.astype(np.float64)
    E = A64.T @ A64 - np.asarray(res.B, np.float64).T @ np.asarray(res.B, np.float64)
    assert np.linalg.norm(E, 2) <= float(res.shrinkage) + 1e-4 * np.sum(A64**2)


# --- Oja -----------------------------------------------------------------------------------

OJA_D = 20


def oja_reference(A, V0, etas):
    """Oja's recursion in NumPy, one row at a time: V <- orth((I + eta x x^T) V)."""
    V = V0.copy()
    for x, eta in zip(A, etas, strict=True):
        V = V + eta * np.outer(x, x @ V)
        V, R = np.linalg.qr(V)
        V = V * np.sign(np.diag(R))
    return V


OJA_N, OJA_BLOCK = 4000, 500


@pytest.fixture(scope="module")
def top3_rows():
    return spiked_rows(5, OJA_N, OJA_D, [20.0, 12.0, 7.0])


def test_oja_matches_row_by_row_recursion(top3_rows):
    """row_by_row=True is Oja's recursion exactly, one row at a time, whatever the blocks."""
    A = top3_rows[:1000]
    alg = oja(jax.random.key(2), OJA_D, k=3, lr=1.0, schedule="inverse", offset=5.0)
    V0 = np.asarray(alg.init().V)
    ref = oja_reference(A, V0, 1.0 / (np.arange(1, 1001) + 5.0))
    V = np.asarray(fold(alg, A, OJA_BLOCK).V)
    assert subspace_distance(V, ref) < 1e-10  # the rounding of 1000 QR steps is ~1e-13


@pytest.mark.parametrize(
    ("schedule", "lr"), [("inverse", 0.5), ("inverse_sqrt", 0.05), ("constant", 2e-3)]
)
def test_oja_converges_to_top_eigenvector(schedule, lr):
    A = spiked_rows(4, OJA_N, OJA_D, [9.0])
    v1, w = top_eigenvector(A)
    alg = oja(jax.random.key(1), OJA_D, lr=lr, schedule=schedule)
    res = alg.result(fold(alg, A, OJA_BLOCK))
    # Gap lambda_1/lambda_2 ~ 9 per row over 4000 rows: Oja's error is then dominated by its
    # step-size noise, ~1e-3 in 1 - correlation for these rates (measured 4e-4 .. 3e-3);
    # a random unit vector in R^20 has correlation ~0.2.
    assert correlation(res.eigenvectors[:, 0], v1) > 0.99
    # The online eigenvalue estimate: within 10% of sigma_1^2 (it is biased low by the
    # transient of the first few hundred rows; ~3% measured).
    assert float(res.eigenvalues[0]) == pytest.approx(w[-1], rel=0.1)


def test_oja_top_k_subspace_and_minibatch(top3_rows):
    _, V = np.linalg.eigh(top3_rows.T @ top3_rows)
    top = V[:, -3:]
    for row_by_row in (True, False):
        alg = oja(jax.random.key(2), OJA_D, k=3, lr=1.0, row_by_row=row_by_row)
        res = alg.result(fold(alg, top3_rows, OJA_BLOCK))
        np.testing.assert_allclose(res.eigenvectors.T @ res.eigenvectors, np.eye(3), atol=1e-12)
        # sin of the largest principal angle: ~0.05 measured (the gap 7 : 1 of the third
        # direction over 4000 rows); a random 3-dim subspace of R^20 has ~0.95.
        assert subspace_distance(res.eigenvectors, top) < 0.15, row_by_row
        assert np.all(np.diff(np.asarray(res.eigenvalues)) <= 0)


def test_oja_jit_scan_determinism_and_vmap():
    A = spiked_rows(6, OJA_N, OJA_D, [9.0])
    alg = oja(jax.random.key(3), OJA_D, lr=0.5)
    loop = fold(alg, A, OJA_BLOCK)
    scanned = fold_scan(alg, A, OJA_BLOCK)
    np.testing.assert_allclose(scanned.V, loop.V, atol=1e-12)
    again = fold(oja(jax.random.key(3), OJA_D, lr=0.5), A, OJA_BLOCK)
    np.testing.assert_array_equal(again.V, loop.V)  # same key, same result
    # vmap over keys and over step-size constants (lr is traced).
    X = jnp.asarray(A[:OJA_BLOCK])
    keys = jax.random.split(jax.random.key(4), 3)
    lrs = jnp.array([0.1, 0.5, 1.0])

    def one(key, lr):
        alg = oja(key, OJA_D, lr=lr)
        return alg.update(alg.init(X.dtype), X).V

    batched = jax.vmap(one)(keys, lrs)
    for i in range(3):
        np.testing.assert_allclose(batched[i], one(keys[i], lrs[i]), atol=1e-12)
    state = alg.init()
    assert jax.tree.map(jnp.shape, jax.eval_shape(alg.update, state, X)) == jax.tree.map(
        jnp.shape, state
    )


# --- Kacham & Woodruff: random order ------------------------------------------------------

KW_D, KW_N, KW_BLOCK = 20, 4000, 500


@pytest.mark.parametrize("ratio", [8.0, 64.0])
def test_random_order_issue_instance(ratio):
    A, heavy = issue_instance(7, KW_N - 5, KW_D, ratio, num_heavy=5)
    v1, w = top_eigenvector(A)
    R = w[-1] / w[-2]  # ~ratio / 2: the heavy rows add n_light to 5 bulk eigenvalues
    for seed in range(3):
        alg = random_order_top_eigenvector(jax.random.key(seed), KW_D, num_rows=KW_N)
        state = fold(alg, A, KW_BLOCK)
        res = alg.result(state)
        # Guarantee 1 - O(1/sqrt(R)); measured 1 - corr ~ 2e-3 / R here (the last power
        # block's sampling noise, ~ d P / (n R)), so C = 0.05 in C / sqrt(R) is a margin
        # of > 10 at both ratios and still far below a random vector's 1 - 1/sqrt(20).
        assert 1 - correlation(res.eigenvectors[:, 0], v1) <= 0.05 / np.sqrt(R), seed
        # Every heavy row is detected and stored exactly (plus the first row of the stream,
        # stored before any estimate of ||A||_F exists, and rare Gaussian outliers).
        stored = np.asarray(state.heavy[: int(state.num_heavy)])
        for h in heavy:
            assert np.min(np.linalg.norm(stored - h, axis=1)) < 1e-12
        assert int(state.num_heavy) <= alg.heavy_capacity
        # sigma_1^2 from one power block of m ~ 445 rows (Nystrom, scaled by n / m): the
        # relative standard deviation of a sum of m squared Gaussians is sqrt(2 / m) ~ 7%,
        # so 20% is ~3 sigma.
        assert float(res.eigenvalues[0]) == pytest.approx(w[-1], rel=0.2)


def test_random_order_heavy_rows_carry_the_top_direction():
    """v1 in the heavy rows: the final Rayleigh-Ritz with them recovers it."""
    rng = np.random.default_rng(8)
    n = KW_N - 8
    light = rng.standard_normal((n, KW_D))  # isotropic: the light part has no gap
    u = rng.standard_normal(KW_D)
    u /= np.linalg.norm(u)
    heavy = np.outer(rng.choice([-1.0, 1.0], 8) * np.sqrt(n), u)  # 8 rows along u
    A = np.concatenate([light, heavy])[rng.permutation(KW_N)]
    v1, _ = top_eigenvector(A)  # sigma_1^2 ~ 9 n along u, the rest ~ n: R ~ 9
    alg = random_order_top_eigenvector(jax.random.key(0), KW_D, num_rows=KW_N)
    res = alg.result(fold(alg, A, KW_BLOCK))
    # The light part enters as lambda v v^T with lambda ~ sigma_1(L)^2 ~ 1.3 n, a
    # perturbation of ~ 1.3 n / (8 n) of the heavy Gram matrix: 1 - corr ~ 1e-2 at worst.
    assert correlation(res.eigenvectors[:, 0], v1) > 0.97


def test_random_order_blocking_jit_and_determinism():
    A, _ = issue_instance(9, KW_N - 3, KW_D, 16.0, num_heavy=3)
    alg = random_order_top_eigenvector(jax.random.key(1), KW_D, num_rows=KW_N)
    ref = fold(alg, A, KW_BLOCK)
    # Rows are processed one at a time, so any blocking gives the same state.
    head = fold(alg, A[:1000], KW_BLOCK)
    for a, b in zip(
        jax.tree.leaves(fold_scan(alg, A[:1000], 250)), jax.tree.leaves(head), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    res = jax.jit(lambda state: alg.result(state))(ref)
    np.testing.assert_allclose(res.eigenvectors, alg.result(ref).eigenvectors, atol=1e-12)
    other = random_order_top_eigenvector(jax.random.key(1), KW_D, num_rows=KW_N)
    np.testing.assert_array_equal(
        other.result(fold(other, A, KW_BLOCK)).eigenvectors, res.eigenvectors
    )
    assert jax.tree.map(jnp.shape, jax.eval_shape(alg.update, ref, jnp.asarray(A[:5]))) == (
        jax.tree.map(jnp.shape, ref)
    )


def test_random_order_overflow_and_long_stream_are_reported():
    rng = np.random.default_rng(10)
    A = rng.standard_normal((KW_N, KW_D))
    A[rng.choice(KW_N, 30, replace=False)] *= 100.0  # 30 heavy rows > heavy_capacity = d = 20
    alg = random_order_top_eigenvector(jax.random.key(0), KW_D, num_rows=KW_N)
    state = fold(alg, A, KW_BLOCK)
    assert int(state.num_heavy) >= 30
    with pytest.raises(eqx.EquinoxRuntimeError, match="heavy_capacity=20"):
        alg.result(state)
    lenient = random_order_top_eigenvector(jax.random.key(0), KW_D, num_rows=KW_N, throw=False)
    assert lenient.result(state).eigenvectors.shape == (KW_D, 1)
    long = fold(alg, rng.standard_normal((KW_N + KW_BLOCK, KW_D)), KW_BLOCK)
    with pytest.raises(eqx.EquinoxRuntimeError, match="more rows than num_rows=4000"):
        alg.result(long)


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_errors():
    # Blocks of the shapes the tests above compiled, so that the checks add no compiles.
    key = jax.random.key(0)
    fd = frequent_directions(FD_D, 2)
    state = fd.init()
    with pytest.raises(
        ValueError, match=r"block must be .*\(b, d\) = \(b, 5\).*got shape \(8, 4\)"
    ):
        fd.update(state, jnp.ones((8, 4)))
    with pytest.raises(ValueError, match=r"got shape \(5,\)"):
        fd.update(state, jnp.ones(5))
    with pytest.raises(TypeError, match="dtype of the state, float64; got float32"):
        fd.update(state, jnp.ones((8, FD_D), jnp.float32))
    with pytest.raises(eqx.EquinoxRuntimeError, match="block contains NaN or Inf"):
        fd.update(state, jnp.ones((8, FD_D)).at[1, 2].set(jnp.nan))
    with pytest.raises(ValueError, match=r"ell must be >= 1 .*got ell=0"):
        frequent_directions(FD_D, 0)
    res = fd.result(fd.update(state, jnp.ones((8, FD_D))))
    with pytest.raises(ValueError, match=r"k must be in \[0, 1\] \(the bound needs k < ell = 2\)"):
        res.error_bound(2)
    with pytest.raises(ValueError, match="state_b must be a FrequentDirectionsState"):
        fd.merge(state, frequent_directions(FD_D, 3).init())

    with pytest.raises(ValueError, match=r"k must be in \[1, 4\] \(at most d = 4.*got k=5"):
        oja(key, 4, k=5)
    with pytest.raises(ValueError, match="schedule must be one of"):
        oja(key, 4, schedule="linear")
    with pytest.raises(ValueError, match="lr must be a positive finite number; got lr=-1"):
        oja(key, 4, lr=-1.0)
    alg = oja(key, OJA_D)
    with pytest.raises(ValueError, match=r"\(b, d\) = \(b, 20\)"):
        alg.update(alg.init(), jnp.ones((OJA_BLOCK, 3)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="NaN or Inf"):
        alg.update(alg.init(), jnp.full((OJA_BLOCK, OJA_D), jnp.inf))

    with pytest.raises(ValueError, match=r"num_blocks must be in \[1, 10\]"):
        random_order_top_eigenvector(key, 4, num_rows=10, num_blocks=11)
    with pytest.raises(ValueError, match="heavy_fraction must be in"):
        random_order_top_eigenvector(key, 4, num_rows=10, heavy_fraction=2.0)
    with pytest.raises(TypeError, match="num_rows must be a Python int"):
        random_order_top_eigenvector(key, 4, num_rows=10.0)
    ro = random_order_top_eigenvector(key, KW_D, num_rows=KW_N)
    with pytest.raises(ValueError, match=r"\(b, d\) = \(b, 20\)"):
        ro.update(ro.init(), jnp.ones((KW_BLOCK, 5)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="NaN or Inf"):
        ro.update(ro.init(), jnp.ones((KW_BLOCK, KW_D)).at[0, 0].set(jnp.nan))
