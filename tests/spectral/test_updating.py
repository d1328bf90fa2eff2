"""Oracle tests of the truncated-SVD updates against NumPy's dense SVD of the updated matrix.

Every test shares the shapes below (m x n = 60 x 40, k = 5, s = 7 appended columns or rows,
rank-3 low-rank changes, sparse updates padded to one `nse`), so that each (kind, method)
compiles once for the whole module.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse as jsparse

from spectral import SVDResult
from spectral.updating import (
    METHODS,
    FactoredSVD,
    factored_svd,
    sparse_svd_update,
    svd_update,
)
from tests.helpers import matrix_with_spectrum, orthogonal, subspace_distance

M, N, K, S_NEW, R_LOW = 60, 40, 5, 7, 3
NSE = {"columns": M * S_NEW, "rows": S_NEW * N, "B": M * R_LOW, "C": N * R_LOW}
SPECTRUM = np.array([10.0, 7.0, 5.0, 3.0, 2.0])  # distinct, so subspaces are well defined
KEY = jax.random.key(0)
# Every method on columns. Rows run through the transpose of the columns code and low-rank
# changes share the basis code with columns, so they are covered by fewer methods (each
# (kind, method) costs a compilation of one to two seconds).
COMBINATIONS = [
    *(("columns", method) for method in METHODS),
    *(("rows", method) for method in ("zha-simon", "sparse")),
    *(("lowrank", method) for method in ("brand", "rpi", "sparse")),
]


def bcoo(x, nse):
    """The nonzeros of `x` as BCOO, padded to `nse` entries with out-of-range indices.

    Built in NumPy (`BCOO.fromdense` compiles for every shape), and flagged unsorted and
    non-unique as a general BCOO is, so that every sparse update here has one signature.
    """
    x = np.asarray(x)
    rows, cols = np.nonzero(x)
    pad = nse - len(rows)
    indices = np.concatenate([np.stack([rows, cols], 1), np.tile(x.shape, (pad, 1))])
    data = np.concatenate([x[rows, cols], np.zeros(pad)])
    return jsparse.BCOO((jnp.asarray(data), jnp.asarray(indices, jnp.int32)), shape=x.shape)


def as_update(kind, method, update):
    """The update in the form `method` takes: BCOO (padded to a fixed nse) for 'sparse'."""
    if method != "sparse":
        return tuple(map(jnp.asarray, update)) if kind == "lowrank" else jnp.asarray(update)
    if kind == "lowrank":
        return bcoo(update[0], NSE["B"]), bcoo(update[1], NSE["C"])
    return bcoo(update, NSE[kind])


def update_svd(svd, update, kind="columns", method="zha-simon", **options):
    """`svd_update` with `kind`, `method` and `key` always passed by keyword.

    `equinox.filter_jit` keys its cache on the keyword arguments given, so calls that leave
    a default out compile again; passing the same keywords everywhere compiles each
    (kind, method) once.
    """
    return svd_update(svd, update, kind=kind, method=method, key=KEY, **options)


def update_state(state, update, kind="columns"):
    """`sparse_svd_update` with `kind` always passed (see `update_svd`)."""
    return sparse_svd_update(state, update, kind=kind)


def updated(A, kind, update):
    """The updated matrix, densely (the oracle's input)."""
    if kind == "columns":
        return np.hstack([A, update])
    if kind == "rows":
        return np.vstack([A, update])
    return A + update[0] @ update[1].T


def truncated(A, k=K):
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    return U[:, :k], s[:k], Vh[:k]


def assert_same_truncated_svd(result, oracle, *, rtol):
    """Singular values to `rtol` (relative to sigma_1), both singular subspaces to `rtol`."""
    U, S, Vh = map(np.asarray, result)
    U0, s0, Vh0 = oracle
    np.testing.assert_allclose(S, s0, rtol=0, atol=rtol * s0[0])
    assert subspace_distance(U, U0) < rtol
    assert subspace_distance(Vh.T, Vh0.T) < rtol
    np.testing.assert_allclose(U.T @ U, np.eye(len(S)), atol=rtol)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(len(S)), atol=rtol)


def update_in_tracked_space(kind, rng, U, Vh):
    """Columns in span(U), rows in span(V), or B in span(U) and C in span(V)."""
    if kind == "columns":
        return U @ rng.standard_normal((K, S_NEW))
    if kind == "rows":
        return rng.standard_normal((S_NEW, K)) @ Vh
    return 0.3 * U @ rng.standard_normal((K, R_LOW)), Vh.T @ rng.standard_normal((K, R_LOW))


def generic_update(kind, rng, density=1.0):
    """Gaussian entries, each kept with probability `density`."""
    shapes = {
        "columns": (M, S_NEW),
        "rows": (S_NEW, N),
        "B": (M, R_LOW),
        "C": (N, R_LOW),
    }

    def draw(shape):
        return rng.standard_normal(shape) * (rng.random(shape) < density)

    if kind == "lowrank":
        return draw(shapes["B"]), draw(shapes["C"])
    return draw(shapes[kind])


@pytest.mark.parametrize(("kind", "method"), COMBINATIONS)
def test_update_in_tracked_space_is_the_exact_truncated_svd(kind, method):
    # A has rank k exactly and the update lies in the tracked subspaces, so the updated
    # matrix has rank <= k and every method's projection loses nothing: the result is the
    # truncated SVD of the full updated matrix (numpy.linalg.svd, the oracle). The residual
    # bases must come out empty (rounding noise ~1e-15 ||E|| is dropped, not turned into a
    # basis vector). Everything is O(1)-conditioned: agreement to ~1e-13 is observed, 1e-9
    # leaves margin.
    rng = np.random.default_rng(1)
    A = matrix_with_spectrum(0, M, N, SPECTRUM)
    U, s, Vh = truncated(A)
    update = update_in_tracked_space(kind, rng, U, Vh)
    result = update_svd(
        SVDResult(*map(jnp.asarray, (U, s, Vh))),
        as_update(kind, method, update),
        kind,
        method,
    )
    assert_same_truncated_svd(result, truncated(updated(A, kind, update)), rtol=1e-9)


@pytest.mark.parametrize(
    ("kind", "method"),
    [("columns", m) for m in ("zha-simon", "brand", "sparse")]
    + [("rows", m) for m in ("zha-simon", "sparse")],
)
def test_exact_augmentation_is_the_svd_of_the_updated_rank_k_approximation(kind, method):
    # Zha & Simon (1999): [A_k, E] = [U P] K blockdiag(V, I)^T exactly, so the truncated SVD
    # of the small core K is that of [A_k, E] (and [A_k; F] for rows). A is full rank, E
    # generic and sparse (half the entries), so the residual has full rank s and the
    # augmentation is not trivial. Brand's general update (B = E, C = [0; I]) and the sparse
    # Gram form compute the same thing. The oracle is numpy.linalg.svd of the dense
    # [A_k, E]; singular value gaps are O(0.1), so the subspaces agree to ~1e-13; 1e-10.
    rng = np.random.default_rng(2)
    A = rng.standard_normal((M, N))
    U, s, Vh = truncated(A)
    A_k = (U * s) @ Vh
    update = generic_update(kind, rng, density=0.5)
    result = update_svd(
        SVDResult(*map(jnp.asarray, (U, s, Vh))),
        as_update(kind, method, update),
        kind,
        method,
    )
    assert_same_truncated_svd(result, truncated(updated(A_k, kind, update)), rtol=1e-10)


@pytest.mark.parametrize("method", ["brand", "sparse"])
def test_brand_lowrank_is_the_svd_of_the_changed_approximation(method):
    # Brand (2006): A_k + B C^T = [U P] K [V Q]^T exactly with P, Q bases of the residuals
    # of B and C; the truncated SVD of K is that of A_k + B C^T (dense oracle). Generic
    # B, C (half sparse): both residuals have full rank r. Same margin as above.
    rng = np.random.default_rng(3)
    A = rng.standard_normal((M, N))
    U, s, Vh = truncated(A)
    A_k = (U * s) @ Vh
    B, C = generic_update("lowrank", rng, density=0.5)
    result = update_svd(
        SVDResult(*map(jnp.asarray, (U, s, Vh))),
        as_update("lowrank", method, (B, C)),
        "lowrank",
        method,
    )
    assert_same_truncated_svd(result, truncated(A_k + B @ C.T), rtol=1e-10)


@pytest.mark.parametrize("method", ["gkl", "rpi"])
def test_approximate_residual_bases(method):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((M, N))
    U, s, Vh = truncated(A)
    A_k = (U * s) @ Vh
    E = rng.standard_normal((M, S_NEW))
    svd = SVDResult(*map(jnp.asarray, (U, s, Vh)))
    target = np.hstack([A_k, E])
    exact = update_svd(svd, jnp.asarray(E))
    # The default basis size min(s, k + 10) is s here: GKL (s steps, full
    # reorthogonalization) and RPI then span the whole residual, and the result is
    # Zha-Simon's, to rounding.
    full = update_svd(svd, jnp.asarray(E), method=method)
    assert_same_truncated_svd(full, truncated(target), rtol=1e-9)
    # A narrower basis spans part of the residual only. The result is the truncation of a
    # projection of [A_k, E], of rank k: by Eckart-Young its error on [A_k, E] is at least
    # Zha-Simon's (the optimum). It stays orthonormal, and (observed ~1.1x) close.
    narrow = update_svd(svd, jnp.asarray(E), method=method, basis_size=3)

    def error(result):
        U1, S1, Vh1 = map(np.asarray, result)
        return np.linalg.norm(target - (U1 * S1) @ Vh1)

    assert error(exact) <= error(narrow) * (1 + 1e-12)
    assert error(narrow) < 1.5 * error(exact)
    U1, _, Vh1 = map(np.asarray, narrow)
    np.testing.assert_allclose(U1.T @ U1, np.eye(K), atol=1e-12)
    np.testing.assert_allclose(Vh1 @ Vh1.T, np.eye(K), atol=1e-12)


def test_sparse_update_sums_duplicates_and_skips_padding():
    # A BCOO matrix may hold duplicate entries (summed) and padding entries (out-of-range
    # indices); the sparse Gram matrix E^T E and the scatter-add must treat both correctly.
    rng = np.random.default_rng(5)
    A = rng.standard_normal((M, N))
    U, s, Vh = truncated(A)
    svd = SVDResult(*map(jnp.asarray, (U, s, Vh)))
    rows = np.array([0, 3, 3, 3, 10, 10, 59, 59, 20, 20])
    cols = np.array([0, 1, 1, 4, 2, 6, 3, 3, 5, 5])
    vals = rng.standard_normal(len(rows))
    E = np.zeros((M, S_NEW))
    np.add.at(E, (rows, cols), vals)
    pad = NSE["columns"] - len(rows)
    indices = np.concatenate([np.stack([rows, cols], 1), np.full((pad, 2), [M, S_NEW])])
    data = np.concatenate([vals, np.full(pad, 7.0)])  # padding values must be ignored
    E_bcoo = jsparse.BCOO((jnp.asarray(data), jnp.asarray(indices, jnp.int32)), shape=(M, S_NEW))
    result = update_svd(svd, E_bcoo, method="sparse")
    A_k = (U * s) @ Vh
    assert_same_truncated_svd(result, truncated(np.hstack([A_k, E])), rtol=1e-10)


STREAM_CAPACITY = (M + S_NEW, N + 2 * S_NEW)


def padded_block(rng, kind, shape):
    """A sparse block appended to a matrix of `shape`, zero-padded to the stream capacity."""
    if kind == "columns":
        E = rng.standard_normal((shape[0], S_NEW)) * (rng.random((shape[0], S_NEW)) < 0.1)
        padded = np.zeros((STREAM_CAPACITY[0], S_NEW))
        padded[: shape[0]] = E
        return E, bcoo(padded, STREAM_CAPACITY[0] * S_NEW)
    E = rng.standard_normal((S_NEW, shape[1])) * (rng.random((S_NEW, shape[1])) < 0.1)
    padded = np.zeros((S_NEW, STREAM_CAPACITY[1]))
    padded[:, : shape[1]] = E
    return E, bcoo(padded, S_NEW * STREAM_CAPACITY[1])


def test_factored_state_over_a_stream_of_rows_and_columns():
    # Deng et al.'s setting: a sparse matrix growing by blocks of rows and columns, tracked
    # by U0 Mu, V0 Mv with preallocated capacity. Each update is exact on the tracked
    # rank-k approximation, so after every step the state must be the truncated SVD of
    # (previous approximation, new block), computed densely by NumPy (the oracle); all
    # O(1)-conditioned, 1e-10 with margin. Padding rows of U0 and V0 stay zero.
    rng = np.random.default_rng(6)
    A = rng.standard_normal((M, N)) * (rng.random((M, N)) < 0.2)
    oracle = truncated(A)
    state = factored_svd(
        SVDResult(*map(jnp.asarray, oracle)),
        row_capacity=STREAM_CAPACITY[0],
        col_capacity=STREAM_CAPACITY[1],
    )
    assert state.capacity == STREAM_CAPACITY
    shape = (M, N)
    for kind in ("columns", "rows", "columns"):
        E, E_bcoo = padded_block(rng, kind, shape)
        state = update_state(state, E_bcoo, kind)
        U, s, Vh = oracle
        oracle = truncated(updated((U * s) @ Vh, kind, E))
        shape = oracle[0].shape[0], oracle[2].shape[1]
        assert_same_truncated_svd(state.to_svd(shape), oracle, rtol=1e-10)
    assert (int(state.num_rows), int(state.num_cols), int(state.count)) == (*shape, 3)
    np.testing.assert_array_equal(np.asarray(state.U0)[shape[0] :], 0)
    np.testing.assert_array_equal(np.asarray(state.V0)[shape[1] :], 0)
    U_full, _, Vh_full = state.to_svd()  # capacity-sized, zero-padded
    assert U_full.shape == (STREAM_CAPACITY[0], K)
    assert Vh_full.shape == (K, STREAM_CAPACITY[1])


def test_scan_over_updates_equals_python_loop():
    # The state is a pytree of fixed shapes, so a stream folds with lax.scan; scan traces
    # the same code as the eager loop: identical to rounding.
    rng = np.random.default_rng(8)
    A = rng.standard_normal((M, N))
    state = factored_svd(
        SVDResult(*map(jnp.asarray, truncated(A))),
        row_capacity=STREAM_CAPACITY[0],
        col_capacity=STREAM_CAPACITY[1],
    )
    blocks = [padded_block(rng, "columns", (M, N))[1] for _ in range(2)]
    looped = state
    for E in blocks:
        looped = update_state(looped, E)
    stacked = jax.tree.map(lambda *x: jnp.stack(x), *blocks)
    scanned, _ = jax.lax.scan(lambda st, E: (update_state(st, E), None), state, stacked)
    for a, b in zip(jax.tree.leaves(looped), jax.tree.leaves(scanned), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_flush_when_new_directions_dominate():
    # U spans the first half of the rows, the new columns live on the second half with a
    # far larger norm: the new top-k left vectors are all new (F_top = 0), M_u T is
    # singular, and the update must fold M_u into U0 (a flush) rather than invert it.
    rng = np.random.default_rng(7)
    A = np.zeros((M, N))
    A[: M // 2] = rng.standard_normal((M // 2, N))
    U, s, Vh = truncated(A)
    E = np.zeros((STREAM_CAPACITY[0], S_NEW))
    E[M // 2 : M] = 100 * rng.standard_normal((M - M // 2, S_NEW))
    state = factored_svd(
        SVDResult(*map(jnp.asarray, (U, s, Vh))),
        row_capacity=STREAM_CAPACITY[0],
        col_capacity=STREAM_CAPACITY[1],
    )
    state = update_state(state, bcoo(E, STREAM_CAPACITY[0] * S_NEW))
    assert int(state.num_flushes) == 1
    np.testing.assert_array_equal(np.asarray(state.Mu), np.eye(K))
    A_k = (U * s) @ Vh
    assert_same_truncated_svd(
        state.to_svd((M, N + S_NEW)), truncated(np.hstack([A_k, E[:M]])), rtol=1e-10
    )


def test_jit():
    # Under an outer jax.jit the static options are closed over and the arrays traced; the
    # same code runs, so the results agree to rounding. (sparse_svd_update is traced inside
    # lax.scan in test_scan_over_updates_equals_python_loop.)
    rng = np.random.default_rng(9)
    A = rng.standard_normal((M, N))
    svd = SVDResult(*map(jnp.asarray, truncated(A)))
    E = jnp.asarray(rng.standard_normal((M, S_NEW)))
    jitted = jax.jit(update_svd)
    for a, b in zip(jitted(svd, E), update_svd(svd, E), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_float32():
    # Dtype-generic: float32 in, float32 out, accurate to ~sqrt(n) eps32 * cond ~ 1e-5.
    rng = np.random.default_rng(10)
    A = matrix_with_spectrum(0, M, N, SPECTRUM)
    U, s, Vh = truncated(A)
    E = U @ rng.standard_normal((K, S_NEW))
    svd = SVDResult(*(jnp.asarray(x, jnp.float32) for x in (U, s, Vh)))
    result = update_svd(svd, jnp.asarray(E, jnp.float32))
    assert all(x.dtype == jnp.float32 for x in result)
    assert_same_truncated_svd(result, truncated(np.hstack([A, E])), rtol=1e-4)


# --- bad input ---------------------------------------------------------------------------


@pytest.fixture
def small():
    rng = np.random.default_rng(11)
    U = orthogonal(rng, M, K)
    Vh = orthogonal(rng, N, K).T
    return SVDResult(jnp.asarray(U), jnp.asarray(SPECTRUM), jnp.asarray(Vh))


def test_factors_that_disagree(small):
    U, S, Vh = small
    E = jnp.zeros((M, S_NEW))
    with pytest.raises(ValueError, match=r"factors disagree: svd.U must have shape \(m, k\)"):
        svd_update(SVDResult(U, S[:4], Vh[:4]), E)
    with pytest.raises(ValueError, match=r"factors disagree: svd.Vh must have shape \(k, n\)"):
        svd_update(SVDResult(U, S, Vh[:4]), E)
    with pytest.raises(ValueError, match=r"svd\.S must be 1-D"):
        svd_update(SVDResult(U, jnp.diag(S), Vh), E)
    with pytest.raises(TypeError, match="must share one dtype"):
        svd_update(SVDResult(U, S.astype(jnp.float32), Vh), E)
    with pytest.raises(TypeError, match="must be an SVDResult"):
        svd_update(U, E)


def test_update_of_the_wrong_shape(small):
    with pytest.raises(ValueError, match=r"update must have m = 60 rows .* got shape \(59, 7\)"):
        svd_update(small, jnp.zeros((M - 1, S_NEW)))
    with pytest.raises(ValueError, match=r"update must have n = 40 columns .* got shape \(7, 41\)"):
        svd_update(small, jnp.zeros((S_NEW, N + 1)), kind="rows")
    with pytest.raises(ValueError, match=r"update\[1\] \(C\) must have n = 40 rows"):
        svd_update(small, (jnp.zeros((M, 2)), jnp.zeros((M, 2))), kind="lowrank", method="brand")
    with pytest.raises(ValueError, match="as many columns in B as in C"):
        svd_update(small, (jnp.zeros((M, 2)), jnp.zeros((N, 3))), kind="lowrank", method="brand")
    with pytest.raises(TypeError, match="must be a pair"):
        svd_update(small, jnp.zeros((M, 2)), kind="lowrank", method="brand")
    with pytest.raises(TypeError, match="dtype float32 but the SVD has dtype float64"):
        svd_update(small, jnp.zeros((M, S_NEW), jnp.float32))
    with pytest.raises(ValueError, match=r"needs k \+ s <= m = 60"):
        svd_update(small, jnp.zeros((M, M - K + 1)))


def test_unknown_or_inapplicable_options(small):
    E = jnp.zeros((M, S_NEW))
    with pytest.raises(ValueError, match=r"method must be one of .* got method='qr'"):
        svd_update(small, E, method="qr")
    with pytest.raises(ValueError, match=r"kind must be one of .* got kind='cols'"):
        svd_update(small, E, kind="cols")
    with pytest.raises(ValueError, match=r"for kind='lowrank' .* use method='brand'"):
        svd_update(small, (E, jnp.zeros((N, S_NEW))), kind="lowrank")
    with pytest.raises(ValueError, match="method='gkl' is randomized and needs key"):
        svd_update(small, E, method="gkl")
    with pytest.raises(TypeError, match=r"must be a jax\.experimental\.sparse\.BCOO matrix"):
        svd_update(small, E, method="sparse")
    with pytest.raises(ValueError, match=r"rank must be in \[1, 5\]"):
        svd_update(small, bcoo(E, NSE["columns"]), method="sparse", rank=6)
    with pytest.raises(ValueError, match=r"basis_size must be in \[1, 7\]"):
        svd_update(small, E, method="rpi", key=KEY, basis_size=8)
    with pytest.raises(TypeError, match="state must be a FactoredSVD"):
        sparse_svd_update(small, bcoo(E, NSE["columns"]))


def test_nan_in_the_update(small):
    E = np.zeros((M, S_NEW))
    E[3, 2] = np.nan
    with pytest.raises(eqx.EquinoxRuntimeError, match="update contains NaN or Inf"):
        update_svd(small, jnp.asarray(E))
    with pytest.raises(eqx.EquinoxRuntimeError, match="update contains NaN or Inf"):
        update_svd(small, bcoo(E, NSE["columns"]), method="sparse")


def test_capacity_and_shape_checks(small):
    E = np.zeros((STREAM_CAPACITY[0], S_NEW))
    E[:M] = 1.0
    E = bcoo(E, STREAM_CAPACITY[0] * S_NEW)
    state = factored_svd(small, row_capacity=STREAM_CAPACITY[0], col_capacity=STREAM_CAPACITY[1])
    state = update_state(update_state(state, E), E)  # fills the column capacity
    assert isinstance(state, FactoredSVD)
    with pytest.raises(eqx.EquinoxRuntimeError, match="exceed the column capacity 54"):
        update_state(state, E)
    with pytest.raises(ValueError, match="more than the col capacity 40"):
        sparse_svd_update(factored_svd(small), bcoo(np.ones((M, N + 1)), M * (N + 1)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="does not match the tracked shape"):
        state.to_svd((M, N))
    with pytest.raises(ValueError, match=r"col_capacity must be >= 40"):
        factored_svd(small, col_capacity=N - 1)
