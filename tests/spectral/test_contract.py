"""Generic contract tests, run for every algorithm in `tests/registry.py`.

Shapes and dtypes; jit equals the direct call; determinism by key; vmap over keys and
over operators; dense, BCOO and matrix-free operators agree; no recompilation on new data;
gradients against finite differences; bad input raises an error naming the argument.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse as jsparse
from jax.test_util import check_grads

import spectral
from tests.helpers import dot_precisions, matrix_with_spectrum, symmetric_with_spectrum, tol
from tests.registry import ALGORITHMS, IDS

RANK = 3


def make_operator(entry, seed=0, dtype=jnp.float64):
    if entry.kind == "general":
        A = matrix_with_spectrum(seed, 30, 20, 0.6 ** np.arange(20))
    elif entry.kind == "symmetric":
        w = 0.6 ** np.arange(24) * np.where(np.arange(24) % 3 == 1, -1.0, 1.0)
        A = symmetric_with_spectrum(seed, w)
    else:
        A = symmetric_with_spectrum(seed, 0.6 ** np.arange(24))
    return jnp.asarray(A, dtype=dtype)


def leaves(result):
    return result if isinstance(result, jax.Array) else tuple(result)


def assert_same(a, b, atol):
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def canonical(entry, result):
    """Sign- and basis-invariant summary: values, and the projector onto the bases."""
    if entry.result == "range":
        return (result @ result.T,)
    if entry.result == "svd":
        U, S, Vh = result
        return (S, U @ U.T, Vh.T @ Vh)
    w, V = result
    return (w, V @ V.T)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_shapes_and_dtypes(entry, dtype):
    A = make_operator(entry, dtype=dtype)
    m, n = A.shape
    out = entry.call(jax.random.key(0), A, RANK)
    if entry.result == "range":
        assert out.shape == (m, RANK)
        assert out.dtype == dtype
    elif entry.result == "svd":
        U, S, Vh = out
        assert (U.shape, S.shape, Vh.shape) == ((m, RANK), (RANK,), (RANK, n))
        assert U.dtype == S.dtype == Vh.dtype == dtype
        assert isinstance(out, spectral.SVDResult)
    else:
        w, V = out
        assert (w.shape, V.shape) == ((RANK,), (n, RANK))
        assert w.dtype == V.dtype == dtype
        assert isinstance(out, spectral.EighResult)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_orthonormal_outputs(entry, dtype):
    A = make_operator(entry, dtype=dtype)
    out = entry.call(jax.random.key(1), A, RANK)
    if entry.result == "range":
        bases = [out]
    elif entry.result == "svd":
        bases = [out.U, out.Vh.T]
    else:
        bases = [out.eigenvectors]
    for B in bases:
        np.testing.assert_allclose(B.T @ B, np.eye(RANK), atol=tol(dtype, 10))


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_jit_equals_direct_call(entry):
    A = make_operator(entry)
    key = jax.random.key(2)
    direct = entry.call(key, A, RANK)
    jitted = jax.jit(entry.call, static_argnums=2)(key, A, RANK)
    assert_same(direct, jitted, atol=1e-12)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_deterministic_by_key(entry):
    A = make_operator(entry)
    a = entry.call(jax.random.key(3), A, RANK)
    b = entry.call(jax.random.key(3), A, RANK)
    c = entry.call(jax.random.key(4), A, RANK)
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    # A different key draws a different test matrix: the bases differ (beyond sign).
    basis = {"range": lambda r: r, "svd": lambda r: r[0], "eigh": lambda r: r[1]}[entry.result]
    assert np.max(np.abs(np.abs(basis(a)) - np.abs(basis(c)))) > 1e-13


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_legacy_uint32_keys_accepted(entry):
    A = make_operator(entry)
    new = entry.call(jax.random.key(5), A, RANK)
    old = entry.call(jax.random.PRNGKey(5), A, RANK)
    assert_same(new, old, atol=0)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_vmap_over_keys(entry):
    A = make_operator(entry)
    keys = jax.random.split(jax.random.key(6), 3)
    batched = jax.vmap(lambda k: entry.call(k, A, RANK))(keys)
    for i in range(3):
        single = entry.call(keys[i], A, RANK)
        assert_same(jax.tree.map(lambda x, i=i: x[i], batched), single, atol=1e-10)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_vmap_over_operators(entry):
    As = jnp.stack([make_operator(entry, seed=s) for s in range(3)])
    key = jax.random.key(7)
    batched = jax.vmap(lambda A: entry.call(key, A, RANK))(As)
    for i in range(3):
        single = entry.call(key, As[i], RANK)
        assert_same(jax.tree.map(lambda x, i=i: x[i], batched), single, atol=1e-10)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_dense_sparse_and_matrix_free_agree(entry):
    A = make_operator(entry)
    key = jax.random.key(8)
    dense = entry.call(key, A, RANK)
    as_bcoo = entry.call(key, jsparse.BCOO.fromdense(A), RANK)
    op = spectral.LinearOperator(lambda X: A @ X, lambda Y: A.T @ Y, A.shape, A.dtype)
    matrix_free = entry.call(key, op, RANK)
    derived_transpose = entry.call(
        key, spectral.LinearOperator(lambda X: A @ X, None, A.shape, A.dtype), RANK
    )
    for other in (as_bcoo, matrix_free, derived_transpose):
        for x, y in zip(canonical(entry, dense), canonical(entry, other), strict=True):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=1e-10)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_no_recompilation_on_new_data(entry):
    f = jax.jit(entry.call, static_argnums=2)
    f(jax.random.key(0), make_operator(entry, seed=0), RANK)
    f(jax.random.key(1), make_operator(entry, seed=1), RANK)
    assert f._cache_size() == 1


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_gradients_match_finite_differences(entry):
    """Reverse- and forward-mode derivatives of a smooth scalar of the output.

    The summed top singular values/eigenvalues (or the projector's trace against a fixed
    matrix for the range finder) are smooth in A where the spectrum is simple; check_grads
    compares against central differences with step 1e-6 in float64: truncation error
    O(h^2 f''') and round-off O(1e-16 / h) are both far below its tolerance (1e-5 on the
    directional derivative). The step is that small because the Nystrom core inverts
    Omega^T A Omega, whose smallest eigenvalue (0.6^23 ~ 1e-5) makes the third derivative
    large (at h = 1e-4 the difference quotient is off by 0.4%).
    """
    A = make_operator(entry)
    key = jax.random.key(9)
    W = jnp.asarray(np.random.default_rng(0).standard_normal(A.shape[0]))

    def scalar(A):
        out = entry.call(key, A, RANK)
        if entry.result == "range":
            return W @ (out @ (out.T @ W))
        return jnp.sum(out[1] if entry.result == "svd" else out[0])

    check_grads(scalar, (A,), order=1, modes=("rev", "fwd"), eps=1e-6)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_products_run_at_full_precision(entry):
    """Every product, forward and backward, carries precision=HIGHEST (not TF32 on GPUs).

    On CPUs the precision changes nothing, so the jaxpr is what can be checked here: the
    gradient is taken of an outer `jax.jit`, which traces the library's derivative rules
    lazily, outside the public function's own scope.
    """
    A = make_operator(entry, dtype=jnp.float32)
    key = jax.random.key(0)

    def scalar(A):
        return jnp.sum(leaves(entry.call(key, A, RANK))[-1] ** 2)

    highest = (jax.lax.Precision.HIGHEST,) * 2
    forward = dot_precisions(lambda A: entry.call(key, A, RANK), A)
    backward = dot_precisions(jax.grad(jax.jit(scalar)), A)
    assert forward
    assert backward
    assert set(forward) == set(backward) == {highest}


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("rank", [0, -1, 25, 31])
def test_rank_out_of_range(entry, rank):
    A = make_operator(entry)
    if entry.name == "randomized_range_finder":
        match = "size must be in"
    else:
        match = "rank must be in"
    with pytest.raises(ValueError, match=match) as info:
        entry.call(jax.random.key(0), A, rank)
    assert f"={rank}" in str(info.value)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_rank_not_an_int(entry):
    with pytest.raises(TypeError, match="must be a Python int"):
        entry.call(jax.random.key(0), make_operator(entry), 2.0)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("shape", [(24,), (2, 24, 24)])
def test_non_2d_input(entry, shape):
    with pytest.raises(ValueError, match=r"A must be 2-D with shape \(m, n\); got shape"):
        entry.call(jax.random.key(0), jnp.ones(shape), RANK)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_integer_input(entry):
    with pytest.raises(TypeError, match="A must have a real floating dtype"):
        entry.call(jax.random.key(0), jnp.ones((24, 24), dtype=jnp.int32), RANK)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_not_an_operator(entry):
    with pytest.raises(TypeError, match=r"A must be a jax\.Array"):
        entry.call(jax.random.key(0), [[1.0, 2.0], [3.0, 4.0]], 1)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_mismatched_operator_shapes(entry):
    A = make_operator(entry)
    m, n = A.shape
    wrong = spectral.LinearOperator(lambda X: A @ X, lambda Y: A.T @ Y, (m + 1, n), A.dtype)
    with pytest.raises(ValueError, match=r"A: A @ X .* the operator's shape and its matmat"):
        entry.call(jax.random.key(0), wrong, RANK)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(entry, bad):
    A = make_operator(entry).at[3, 2].set(bad)
    with pytest.raises(eqx.EquinoxRuntimeError, match="A contains NaN or Inf"):
        jax.block_until_ready(entry.call(jax.random.key(0), A, RANK))


@pytest.mark.parametrize(
    "entry",
    [e for e in ALGORITHMS if e.kind != "general"],
    ids=[e.name for e in ALGORITHMS if e.kind != "general"],
)
def test_non_square_input(entry):
    with pytest.raises(ValueError, match=r"A must be square \(symmetric\); got shape \(30, 20\)"):
        entry.call(jax.random.key(0), jnp.ones((30, 20)), RANK)


@pytest.mark.parametrize("entry", ALGORITHMS, ids=IDS)
def test_numpy_integer_sizes_are_static(entry):
    A = make_operator(entry)
    a = entry.call(jax.random.key(0), A, np.int64(RANK))
    b = entry.call(jax.random.key(0), A, RANK)
    assert_same(a, b, atol=0)
