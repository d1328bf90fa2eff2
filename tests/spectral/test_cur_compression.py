"""Activation-aware CUR (CURing) against brute-force counts, NumPy and exact low-rank cases."""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spectral.cur_compression import (
    CURLinear,
    activation_scores,
    compress_linear_layers,
    cur_break_even_rank,
    layer_cur,
)
from tests.spectral.test_cur import greedy_deim

SELECTIONS = ["activation", "weight", "leverage", "uniform"]


def hidden_layers(model):
    return model.layers[:-1]


def build(seed, constructor, *args, **kwargs):
    """An equinox module with N(0, 1/fan_in) weights from NumPy.

    `eqx.filter_eval_shape` builds the structure without running (and compiling) JAX's
    random number generators, which would dominate the file's run time.
    """
    rng = np.random.default_rng(seed)
    skeleton = eqx.filter_eval_shape(constructor, *args, key=jax.random.key(0), **kwargs)

    def fill(leaf):
        if not isinstance(leaf, jax.ShapeDtypeStruct):
            return leaf
        scale = 1 / math.sqrt(leaf.shape[-1]) if leaf.ndim >= 2 else 0.1
        return jnp.asarray(scale * rng.standard_normal(leaf.shape), leaf.dtype)

    return jax.tree.map(fill, skeleton)


def linear(seed, in_features, out_features):
    return build(seed, eqx.nn.Linear, in_features, out_features, dtype=jnp.float64)


def mlp(seed, *, scan=False):
    return build(seed, eqx.nn.MLP, 6, 3, 12, 2, dtype=jnp.float64, scan=scan)


def numpy_deim_cur(W, S, r):
    """DEIM-CUR of W with indices from the top-r singular vectors of S, all in NumPy."""
    U_s, _, Vh_s = np.linalg.svd(S, full_matrices=False)
    rows, cols = greedy_deim(U_s[:, :r]), greedy_deim(Vh_s[:r].T)
    C, R = W[:, cols], W[rows, :]
    return C, np.linalg.pinv(C) @ W @ np.linalg.pinv(R), R, cols, rows


# --- break-even rank and scores ---------------------------------------------------------


def test_break_even_rank_is_the_largest_rank_that_does_not_grow_the_layer():
    sizes = [*range(1, 41), 64, 100, 128, 1000, 4096]
    for m in sizes:
        for n in sizes:
            brute = max(r for r in range(min(m, n) + 1) if m * r + r * r + r * n <= m * n)
            r_star = cur_break_even_rank(m, n)
            assert r_star == brute, (m, n)
            assert r_star < min(m, n)
            # the closed form of the paper, in floating point (exact at these sizes)
            assert r_star == math.floor((math.sqrt(m * m + 6 * m * n + n * n) - (m + n)) / 2)
    assert cur_break_even_rank(np.int64(128), 64) == 35


def test_activation_scores_match_numpy():
    rng = np.random.default_rng(0)
    W, X = rng.standard_normal((7, 5)), rng.standard_normal((20, 5))
    expected = np.abs(W) * np.sqrt(np.sum(X**2, axis=0))[None, :]
    np.testing.assert_allclose(
        activation_scores(jnp.asarray(W), jnp.asarray(X)), expected, rtol=1e-14
    )
    # jit, and vmap over a batch of layers
    got = jax.jit(activation_scores)(jnp.asarray(W), jnp.asarray(X))
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    Ws = jnp.asarray(rng.standard_normal((3, 7, 5)))
    batched = jax.vmap(activation_scores, in_axes=(0, None))(Ws, jnp.asarray(X))
    for i in range(3):
        np.testing.assert_allclose(batched[i], activation_scores(Ws[i], jnp.asarray(X)))


# --- the CUR of one layer --------------------------------------------------------------------


def test_activation_selection_is_deim_on_the_score_matrix(getkey):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((10, 8))
    X = rng.standard_normal((30, 8)) * rng.uniform(0.1, 3.0, 8)[None, :]  # uneven columns
    S = np.abs(W) * np.linalg.norm(X, axis=0)[None, :]
    res = layer_cur(getkey(), jnp.asarray(W), jnp.asarray(X), 3)
    C, U, R, cols, rows = numpy_deim_cur(W, S, 3)
    np.testing.assert_array_equal(res.cols, cols)
    np.testing.assert_array_equal(res.rows, rows)
    # U = C^+ W R^+ for well-conditioned C, R: agreement to ~cond * eps in float64
    np.testing.assert_allclose(res.C @ res.U @ res.R, C @ U @ R, atol=1e-10)


def test_with_uniform_activations_activation_selection_is_deim_on_the_weight(getkey):
    # X all ones: S = sqrt(b) |W|, which is W up to scale when W >= 0, so the singular
    # vectors and hence the DEIM indices are those of W itself.
    rng = np.random.default_rng(2)
    W = jnp.asarray(np.abs(rng.standard_normal((10, 8))))
    X = jnp.ones((30, 8))
    r = 3
    act = layer_cur(getkey(), W, X, r, selection="activation")
    weight = layer_cur(getkey(), W, X, r, selection="weight")
    np.testing.assert_array_equal(act.cols, weight.cols)
    np.testing.assert_array_equal(act.rows, weight.rows)
    U_w, _, Vh_w = np.linalg.svd(np.asarray(W))
    np.testing.assert_array_equal(weight.cols, greedy_deim(Vh_w[:r].T))
    np.testing.assert_array_equal(weight.rows, greedy_deim(U_w[:, :r]))


@pytest.mark.parametrize("selection", SELECTIONS)
def test_cur_linear_is_exact_at_the_rank_of_a_low_rank_weight(getkey, selection):
    rng = np.random.default_rng(3)
    k = 3
    W = rng.standard_normal((10, k)) @ rng.standard_normal((k, 8))  # rank 3
    layer = eqx.tree_at(lambda lin: lin.weight, linear(0, 8, 10), jnp.asarray(W))
    X = jnp.asarray(rng.standard_normal((30, 8)))
    res = layer_cur(getkey(), layer.weight, X, k, selection=selection)
    assert len(set(np.asarray(res.cols).tolist())) == k
    assert len(set(np.asarray(res.rows).tolist())) == k
    # Any k rows and columns of a generic rank-k matrix span its row and column spaces, so
    # C C^+ W R^+ R = W up to rounding (a few eps times the conditioning of C and R).
    np.testing.assert_allclose(res.C @ res.U @ res.R, W, atol=1e-10)
    cur = CURLinear(res.C, res.U, res.R, layer.bias)
    assert (cur.in_features, cur.out_features, cur.rank) == (8, 10, k)
    np.testing.assert_allclose(jax.vmap(cur)(X), jax.vmap(layer)(X), atol=1e-10)


def test_layer_cur_under_jit_and_vmap_over_keys(getkey):
    # The shapes of the tests above (10 x 8, 30 samples, rank 3): the eager calls are cached.
    rng = np.random.default_rng(4)
    W, X = jnp.asarray(rng.standard_normal((10, 8))), jnp.asarray(rng.standard_normal((30, 8)))
    key = getkey()
    eager = layer_cur(key, W, X, 3)
    jitted = jax.jit(layer_cur, static_argnums=3)(key, W, X, 3)
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    keys = jax.random.split(getkey(), 4)
    batched = jax.vmap(lambda k: layer_cur(k, W, X, 3, selection="uniform"))(keys)
    for i in range(4):
        single = layer_cur(keys[i], W, X, 3, selection="uniform")
        np.testing.assert_array_equal(batched.cols[i], single.cols)
        np.testing.assert_array_equal(batched.rows[i], single.rows)


def test_float32_stays_float32(getkey):
    rng = np.random.default_rng(5)
    W = jnp.asarray(rng.standard_normal((8, 6)), jnp.float32)
    X = jnp.asarray(rng.standard_normal((10, 6)), jnp.float32)
    res = layer_cur(getkey(), W, X, 2)
    assert res.C.dtype == res.U.dtype == res.R.dtype == jnp.float32
    assert activation_scores(W, X).dtype == jnp.float32


# --- compressing a model --------------------------------------------------------------------


@pytest.mark.parametrize("jit", [False, True])
def test_compressed_mlp_matches_a_numpy_recomputation(getkey, jit):
    model = mlp(6)
    X = jnp.asarray(np.random.default_rng(7).standard_normal((50, 6)))
    r = 3

    def compress(key, model, X):
        return compress_linear_layers(key, model, X, r, where=hidden_layers)

    small, report = (eqx.filter_jit(compress) if jit else compress)(getkey(), model, X)

    # NumPy: push X through the MLP, compress each hidden layer from its own inputs.
    weights = [np.asarray(layer.weight) for layer in model.layers]
    biases = [np.asarray(layer.bias) for layer in model.layers]
    relu = functools.partial(np.maximum, 0.0)
    h, h_hat, expected_layer_errors = np.asarray(X), np.asarray(X), []
    for i in range(3):
        W, b = weights[i], biases[i]
        if i < 2:
            S = np.abs(W) * np.linalg.norm(h, axis=0)[None, :]
            C, U, R, _, _ = numpy_deim_cur(W, S, r)
            W_hat = C @ U @ R
            expected_layer_errors.append(
                np.linalg.norm(h @ W.T - h @ W_hat.T) / np.linalg.norm(h @ W.T)
            )
        else:
            W_hat = W
        h, h_hat = h @ W.T + b, h_hat @ W_hat.T + b
        if i < 2:
            h, h_hat = relu(h), relu(h_hat)
    expected_error = np.linalg.norm(h - h_hat) / np.linalg.norm(h)

    # float64, ~50 x 12 matrices: rounding ~1e-15 relative, amplified by pinv of C and R
    # (condition numbers O(10)); 1e-9 leaves ample margin.
    np.testing.assert_allclose(jax.vmap(small)(X), h_hat, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(report.output_error, expected_error, rtol=1e-9)
    np.testing.assert_allclose(report.layer_errors, expected_layer_errors, rtol=1e-9)
    assert report.ranks == (r, r)
    before = sum(w.size + b.size for w, b in zip(weights, biases, strict=True))
    saved = sum(w.size - (w.shape[0] * r + r * r + r * w.shape[1]) for w in weights[:2])
    assert (report.num_params_before, report.num_params_saved) == (before, saved)
    assert report.num_params_after == before - saved
    assert [type(layer).__name__ for layer in small.layers] == ["CURLinear"] * 2 + ["Linear"]


def test_rank_is_capped_at_the_break_even_rank_and_layers_called_twice_pool_inputs(getkey):
    class Twice(eqx.Module):
        inner: eqx.nn.Linear
        outer: eqx.nn.Linear

        def __call__(self, x):
            return self.outer(self.inner(self.inner(x)))

    model = Twice(linear(8, 10, 10), linear(9, 10, 20))
    X = jnp.asarray(np.random.default_rng(10).standard_normal((8, 10)))
    small, report = compress_linear_layers(getkey(), model, X, (100, 2))  # every Linear
    assert report.ranks == (cur_break_even_rank(10, 10), 2)
    assert report.num_params_saved >= 0
    # inner's calibration inputs are X and inner(X), stacked: check its layer error
    inner_inputs = np.concatenate([np.asarray(X), np.asarray(jax.vmap(model.inner)(X))])
    W = np.asarray(model.inner.weight)
    W_hat = np.asarray(small.inner.C @ small.inner.U @ small.inner.R)
    expected = np.linalg.norm(inner_inputs @ (W - W_hat).T) / np.linalg.norm(inner_inputs @ W.T)
    np.testing.assert_allclose(report.layer_errors[0], expected, rtol=1e-9)


# --- bad input ------------------------------------------------------------------------------


def test_bad_input_to_the_layer_functions(getkey):
    key = getkey()
    W, X = jnp.ones((6, 4)), jnp.ones((10, 4))
    with pytest.raises(ValueError, match=r"rank must be in \[1, 4\]; got rank=0"):
        layer_cur(key, W, X, 0)
    with pytest.raises(ValueError, match=r"rank must be in \[1, 4\]; got rank=5"):
        layer_cur(key, W, X, 5)
    with pytest.raises(TypeError, match="rank must be a Python int"):
        layer_cur(key, W, X, 2.0)
    with pytest.raises(ValueError, match=r"W must be a 2-D weight matrix .* got shape \(2, 6, 4\)"):
        layer_cur(key, jnp.ones((2, 6, 4)), X, 2)
    with pytest.raises(ValueError, match=r"X must hold .* \(batch, 4\) .* got shape \(10, 5\)"):
        layer_cur(key, W, jnp.ones((10, 5)), 2)
    with pytest.raises(ValueError, match=r"X .* is required for selection='activation'; got None"):
        layer_cur(key, W, None, 2)
    with pytest.raises(TypeError, match="X must have the dtype of W, float64; got dtype float32"):
        layer_cur(key, W, X.astype(jnp.float32), 2)
    with pytest.raises(ValueError, match=r"selection must be one of .* got selection='deim'"):
        layer_cur(key, W, X, 2, selection="deim")
    with pytest.raises(ValueError, match=r"X must hold .* got shape \(4,\)"):
        activation_scores(W, jnp.ones(4))
    with pytest.raises(ValueError, match="m must be >= 1; got m=0"):
        cur_break_even_rank(0, 3)


def test_bad_input_to_compress_linear_layers(getkey):
    key = getkey()
    model = mlp(11)
    X = jnp.ones((5, 6))
    with pytest.raises(ValueError, match="rank must be >= 1; got rank=0"):
        compress_linear_layers(key, model, X, 0)
    with pytest.raises(ValueError, match=r"rank\[1\] must be >= 1; got rank\[1\]=0"):
        compress_linear_layers(key, model, X, (2, 0), where=hidden_layers)
    with pytest.raises(ValueError, match=r"one int per chosen layer \(3 layers\); got 2 ranks"):
        compress_linear_layers(key, model, X, (2, 2))
    with pytest.raises(
        TypeError, match=r"select equinox.nn.Linear .* 0 .* array of shape \(12, 6\)"
    ):
        compress_linear_layers(key, model, X, 2, where=lambda m: (m.layers[0].weight,))
    with pytest.raises(ValueError, match="non-empty sequence"):
        compress_linear_layers(key, model, X, 2, where=lambda m: ())
    with pytest.raises(ValueError, match=r"calibrat.* shape/dtype .*\(4,\)"):
        compress_linear_layers(key, model, jnp.ones((5, 4)), 2)
    with pytest.raises(ValueError, match="calibration_inputs must hold at least one sample"):
        compress_linear_layers(key, model, jnp.ones((0, 6)), 2)
    with pytest.raises(ValueError, match="stacked along axis 0"):
        compress_linear_layers(key, model, jnp.ones(()), 2)
    scanned = mlp(12, scan=True)
    with pytest.raises(ValueError, match=r"2-D weight .* got shape \(1, 12, 12\) .* scan=False"):
        compress_linear_layers(key, scanned, X, 2)
    tiny = linear(13, 1, 1)
    with pytest.raises(ValueError, match=r"layer 0 \(1 x 1\) cannot be compressed"):
        compress_linear_layers(key, tiny, jnp.ones((5, 1)), 1)

    class Unused(eqx.Module):
        used: eqx.nn.Linear
        unused: eqx.nn.Linear

        def __call__(self, x):
            return self.used(x)

    unused = Unused(linear(14, 6, 6), linear(15, 6, 6))
    with pytest.raises(ValueError, match="layer 1 chosen by where was not called"):
        compress_linear_layers(key, unused, X, 2)

    class Inner(eqx.Module):
        linear: eqx.nn.Linear

        def __call__(self, x):
            return jax.vmap(self.linear)(x.reshape(2, 3))

    inner = Inner(linear(16, 3, 4))
    with pytest.raises(ValueError, match="called inside a transformation of the model's own"):
        compress_linear_layers(key, inner, X, 1)
