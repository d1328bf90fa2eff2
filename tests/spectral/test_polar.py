"""Oracle tests of `spectral.polar` and `spectral.orthogonalize_updates`.

The oracle is the polar factor $U V^\\top$ of NumPy's float64 SVD; optax's Muon
(`optax.contrib._muon.orthogonalize_via_newton_schulz`) is the peer implementation of the
Newton-Schulz iteration. Matrices have prescribed singular values, so the sensitivity of the
polar factor ($\\lesssim 1/\\sigma_{\\min}$) sets the tolerances.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads
from optax.contrib._muon import orthogonalize_via_newton_schulz

import spectral
from spectral.polar import (
    MUON_COEFFICIENTS,
    POLAR_EXPRESS_COEFFICIENTS,
    newton_schulz_coefficients,
)
from tests.helpers import dot_precisions, matrix_with_spectrum

FLOAT32 = pytest.param(jnp.float32, id="float32")
FLOAT64 = pytest.param(jnp.float64, id="float64")
BFLOAT16 = pytest.param(jnp.bfloat16, id="bfloat16")
SHAPES = [(32, 32), (48, 32), (32, 48)]  # square, tall, wide
SHAPE_IDS = ["square", "tall", "wide"]


def svd_polar(X) -> np.ndarray:
    """U V^T from NumPy's float64 thin SVD (the oracle)."""
    U, _, Vh = np.linalg.svd(np.asarray(X, dtype=np.float64), full_matrices=False)
    return U @ Vh


def matrix(shape, smallest: float, seed: int = 0) -> np.ndarray:
    """A float64 matrix with singular values geometric from 1 down to `smallest`."""
    m, n = shape
    return matrix_with_spectrum(seed, m, n, np.geomspace(1.0, smallest, min(m, n)))


def orthogonality_error(Q) -> float:
    """||Q Q^T - I||_2 for wide Q, ||Q^T Q - I||_2 for tall Q (NumPy, float64)."""
    Q = np.asarray(Q, dtype=np.float64)
    G = Q @ Q.T if Q.shape[0] <= Q.shape[1] else Q.T @ Q
    return float(np.linalg.norm(G - np.eye(len(G)), 2))


def spectral_distance(A, B) -> float:
    return float(np.linalg.norm(np.asarray(A, np.float64) - np.asarray(B, np.float64), 2))


def eps(dtype) -> float:
    return float(jnp.finfo(dtype).eps)


# ---------------------------------------------------------------------------------------
# Accuracy


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_svd_method_is_the_polar_factor(shape, dtype):
    X = matrix(shape, 0.1)
    Q = spectral.polar(jnp.asarray(X, dtype=dtype), method="svd")
    assert Q.shape == shape
    assert Q.dtype == dtype
    # The polar factor moves by <= 2 / (s_i + s_j) <= 1 / s_min = 10 times a perturbation of
    # X; the SVD is backward stable (~ n eps): 10 * 48 eps ~ 500 eps, so 1000 eps (2e-13 in
    # float64, 1.2e-4 in float32) leaves a 2x margin; measured 0 and 1.2e-6.
    assert spectral_distance(Q, svd_polar(X)) < 1000 * eps(dtype)


@functools.cache
def polar_express_steps(dtype, max_steps: int = 12) -> list[np.ndarray]:
    """polar(X, steps=k) for k = 1..max_steps on a wide X with s in [1e-2, 1], one jit."""
    X = jnp.asarray(matrix((32, 48), 1e-2), dtype=dtype)

    def every(X):
        return [
            spectral.polar(X, coefficients="polar_express", steps=k)
            for k in range(1, max_steps + 1)
        ]

    return [np.asarray(Q, dtype=np.float64) for Q in jax.jit(every)(X)]


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [*((shape, jnp.float64) for shape in SHAPES), ((32, 48), jnp.float32)],
    ids=[*(f"{i}-float64" for i in SHAPE_IDS), "wide-float32"],
)
def test_polar_express_converges_to_the_polar_factor(shape, dtype):
    # s in [1e-2, 1] / ||X||_F >= 4e-3: inside [1e-3, 1], the interval the Polar Express
    # polynomials were designed for; 8 steps reach working precision, 12 leave margin.
    X = matrix(shape, 1e-2)
    Q = spectral.polar(jnp.asarray(X, dtype=dtype), coefficients="polar_express", steps=12)
    assert Q.shape == shape
    assert Q.dtype == dtype
    # Sensitivity 1 / s_min = 100 times rounding ~ n eps: 100 * 48 eps = 1e-12 (float64),
    # 6e-4 (float32); measured 8e-15 and 2.3e-6. Five steps are still at 0.13.
    tol = 100 * 48 * eps(dtype)
    assert spectral_distance(Q, svd_polar(X)) < tol
    assert orthogonality_error(Q) < tol


@pytest.mark.parametrize("steps", range(1, 12))
def test_polar_express_orthogonality_error_does_not_increase(steps):
    """||Q Q^T - I||_2 after k steps (measured in float64: 3.0, 2.9, 2.5, 1.4, 0.26, 5e-3,
    9e-6, 8e-16, then rounding): each minimax step shrinks max |p(s) - 1| on the design
    interval, so the error never grows, up to rounding once converged."""
    errors = [orthogonality_error(Q) for Q in polar_express_steps(jnp.float64)]
    slack = 10 * 32 * eps(jnp.float64)  # rounding of a converged Gram matrix, ~ n eps
    assert errors[steps] <= errors[steps - 1] + slack, errors
    assert errors[-1] < slack  # and converged by step 12


def test_muon_coefficients_leave_singular_values_near_one():
    # Gaussian 32 x 64: s_min / ||X||_F ~ 0.05, which 5 steps of slope 3.4445 lift.
    X = jax.random.normal(jax.random.key(0), (32, 64), dtype=jnp.float32)
    for steps in (5, 12):
        s = np.linalg.svd(np.asarray(spectral.polar(X, steps=steps), np.float64), compute_uv=False)
        # (3.4445, -4.7750, 2.0315) maps 1 to 0.70: it does not converge to 1 but leaves the
        # singular values oscillating in about [0.68, 1.13] (measured), which Muon accepts.
        assert s.min() > 0.6, (steps, s.min())
        assert s.max() < 1.25, (steps, s.max())
        assert np.abs(s - 1.0).max() > 0.1, steps  # not orthogonal, even after 12 steps


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((24, 40), jnp.float64), ((40, 24), jnp.float64), ((40, 24), jnp.float32)],
    ids=["wide-float64", "tall-float64", "tall-float32"],
)
def test_aol_converges_to_polar_of_the_rescaled_matrix(shape, dtype):
    X = np.random.default_rng(2).standard_normal(shape)
    Q = spectral.polar(
        jnp.asarray(X, dtype=dtype), coefficients="polar_express", steps=15, precondition="aol"
    )
    # The iteration works on the wide orientation W (X or X^T) and rescales its rows by
    # d_i = (sum_j |W W^T|_ij)^{-1/2}: the limit is polar(D W), not polar(W).
    W = X if shape[0] <= shape[1] else X.T
    d = 1.0 / np.sqrt(np.abs(W @ W.T).sum(axis=1))
    expected = svd_polar(d[:, None] * W)
    expected = expected if shape[0] <= shape[1] else expected.T
    # Gaussian 24 x 40 has s_max / s_min ~ 5, so the polar factor is well conditioned:
    # 1000 eps is 2e-13 (float64), 1.2e-4 (float32); measured 5e-15 in float64.
    assert spectral_distance(Q, expected) < 1000 * eps(dtype)
    assert spectral_distance(Q, svd_polar(X)) > 1e-2  # measured 0.07: a different factor


# ---------------------------------------------------------------------------------------
# Dtypes and the peer implementation


@pytest.mark.parametrize("dtype", [BFLOAT16, FLOAT32, FLOAT64])
def test_dtype_is_kept(dtype):
    X = jnp.asarray(matrix((16, 24), 0.5), dtype=dtype)

    @jax.jit  # one compilation for the option sets
    def every(X):
        return [
            spectral.polar(X),
            spectral.polar(X, precondition="aol", coefficients="polar_express"),
            spectral.polar(0.5 * X, precondition=None, steps=2),
            spectral.polar(X.T),
        ]

    for Q in every(X):
        assert Q.dtype == dtype


@pytest.mark.parametrize("dtype", [BFLOAT16, FLOAT32])
def test_low_precision_accuracy(dtype):
    # s in [0.5, 1]: a well-conditioned polar factor, so the error is that of the arithmetic.
    X = matrix((32, 48), 0.5)
    Q = spectral.polar(jnp.asarray(X, dtype=dtype), coefficients="polar_express", steps=10)
    assert Q.dtype == dtype
    # Every product is rounded to the dtype's 8 (bfloat16) or 24 (float32) bits: relative
    # error eps = 2^-8 = 3.9e-3 per rounding for bfloat16. Rounding the final Q alone costs
    # up to eps / 2 * ||Q||_F = sqrt(32) eps / 2 = 2.8 eps in the spectral norm, and each of
    # the 10 steps adds its own; measured 18 eps (0.069) and 4 eps (0.017, orthogonality) in
    # bfloat16. 32 eps and 16 eps keep a 2x margin (float32 is far inside these bounds).
    assert spectral_distance(Q.astype(jnp.float32), svd_polar(X)) < 32 * eps(dtype)
    assert orthogonality_error(Q.astype(jnp.float32)) < 16 * eps(dtype)


@pytest.mark.parametrize(
    ("precondition", "shape"),
    [("frobenius", (32, 48)), ("aol", (48, 32))],
    ids=["frobenius-wide", "aol-tall"],
)
def test_matches_optax_muon(precondition, shape):
    X = jax.random.normal(jax.random.key(1), shape, dtype=jnp.float32)
    ours = spectral.polar(X, precondition=precondition, eps=1e-7)
    # optax multiplies at the backend's default precision (TF32 on GPUs), ours at float32's.
    with jax.default_matmul_precision("highest"):
        peer = jax.jit(
            functools.partial(
                orthogonalize_via_newton_schulz,
                ns_coeffs=jnp.asarray(MUON_COEFFICIENTS, dtype=jnp.float32),
                ns_steps=5,
                preconditioning=precondition,
                eps=1e-7,
            )
        )(X)
    assert peer.dtype == ours.dtype == jnp.float32
    # The same quintic in the same order of operations; they differ by float32 rounding in
    # the norm (or AOL's rsqrt vs our sqrt(1/x)), carried through 5 steps of slope <= 3.4:
    # measured 1e-6 on entries of size 0.5; 5e-6 is about 40 float32 ulps at that size.
    np.testing.assert_allclose(ours, peer, rtol=0, atol=5e-6)


# ---------------------------------------------------------------------------------------
# Coefficients


def test_newton_schulz_coefficients_named():
    assert newton_schulz_coefficients("muon", 3) == (MUON_COEFFICIENTS,) * 3
    pe = newton_schulz_coefficients("polar_express", 10)
    assert pe[:8] == POLAR_EXPRESS_COEFFICIENTS
    # After the table, the classical quintic Newton-Schulz step repeats.
    assert pe[8:] == ((1.875, -1.25, 0.375),) * 2
    # The last polynomial fixes 1 with zero slope: p(1) = 1, p'(1) = 0 (convergence to 1).
    a, b, c = pe[-1]
    assert a + b + c == 1.0
    assert a + 3 * b + 5 * c == 0.0
    # A Polar Express step is the paper's polynomial at s / 1.01 (its safety factor):
    # (a / 1.01, b / 1.01^3, c / 1.01^5); the first one of Amsel et al. (2025), Alg. 1.
    a, b, c = pe[0]
    np.testing.assert_allclose(
        (a * 1.01, b * 1.01**3, c * 1.01**5),
        (8.28721201814563, -23.595886519098837, 17.300387312530933),
        rtol=1e-15,
    )


def test_newton_schulz_coefficients_custom():
    assert newton_schulz_coefficients((1, 2, 3), 2) == ((1.0, 2.0, 3.0),) * 2
    table = [(1.0, 2.0, 3.0), (4.0, 5.0, 6.0)]
    assert newton_schulz_coefficients(table, 4) == (table[0], table[1], table[1], table[1])
    assert newton_schulz_coefficients(table, 1) == (table[0],)


@pytest.mark.parametrize(
    "coefficients",
    [
        "newton",
        [],
        [(1.0, 2.0, 3.0), (1.0, 2.0)],
        [("a", 2.0, 3.0)],
        (1.0, 2.0),
        (1.0, 2.0, "3"),
        (True, 2.0, 3.0),
        None,
    ],
)
def test_newton_schulz_coefficients_bad(coefficients):
    with pytest.raises(ValueError, match="coefficients"):
        newton_schulz_coefficients(coefficients, 3)


def test_custom_coefficients_equal_their_table():
    # A tuple is used at every step; a list of tuples one per step, the last repeating.
    X = jnp.asarray(matrix((16, 24), 0.1), dtype=jnp.float32)
    as_tuple = spectral.polar(X, coefficients=MUON_COEFFICIENTS, steps=3)
    as_list = spectral.polar(X, coefficients=[MUON_COEFFICIENTS], steps=3)
    named = spectral.polar(X, coefficients="muon", steps=3)
    np.testing.assert_array_equal(as_tuple, named)
    np.testing.assert_array_equal(as_list, named)


# ---------------------------------------------------------------------------------------
# Transformations: jit, vmap, grad


@pytest.mark.parametrize("dtype", [FLOAT32, FLOAT64])
def test_jit_and_vmap_match_batched_call(dtype):
    # (test_orthogonalize_updates_per_leaf compares the batched call with single calls.)
    X = jax.random.normal(jax.random.key(2), (3, 12, 20), dtype=dtype)
    options = {"coefficients": "polar_express", "steps": 8, "precondition": "aol"}
    batched = spectral.polar(X, **options)
    per_matrix = jax.jit(jax.vmap(functools.partial(spectral.polar, **options)))(X)
    assert batched.dtype == per_matrix.dtype == dtype
    # The same operations, batched or mapped: equal to a few ulps.
    np.testing.assert_allclose(per_matrix, batched, rtol=0, atol=50 * eps(dtype))


@pytest.mark.parametrize("method", ["newton_schulz", "svd"])
def test_check_grads(method):
    X = jnp.asarray(matrix((3, 5), 0.3, seed=4))
    # float64 central differences with step 1e-4: accurate to ~1e-8, against tolerance 1e-5.
    check_grads(
        lambda X: spectral.polar(X, method=method, steps=3), (X,), order=1, modes=("fwd", "rev")
    )


def test_zero_maps_to_zero():
    # eps in the Frobenius norm / the AOL row-sum floor keeps X = 0 finite.
    @jax.jit
    def every(X):
        return [spectral.polar(X, precondition=p) for p in ("frobenius", "aol", None)]

    for Q in every(jnp.zeros((4, 6), jnp.float32)):
        np.testing.assert_array_equal(Q, 0.0)


@pytest.mark.parametrize(
    ("X", "kwargs", "error", "match"),
    [
        (jnp.ones(5), {}, ValueError, r"X must be a matrix or a batch of them.*got shape \(5,\)"),
        (jnp.ones((3, 4), jnp.int32), {}, TypeError, "X must have a floating dtype; got"),
        (jnp.ones((3, 4)), {"method": "qr"}, ValueError, "method must be one of"),
        (jnp.ones((3, 4)), {"steps": 0}, ValueError, "steps must be >= 1; got steps=0"),
        (jnp.ones((3, 4)), {"steps": 2.5}, TypeError, "steps must be a Python int"),
        (jnp.ones((3, 4)), {"precondition": "spectral"}, ValueError, "precondition must be one of"),
        (jnp.ones((3, 4)), {"coefficients": "cubic"}, ValueError, "coefficients must be one of"),
    ],
)
def test_bad_input(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        spectral.polar(X, **kwargs)


# ---------------------------------------------------------------------------------------
# orthogonalize_updates (Muon's orthogonalization as an optax transformation)


def gradients(dtype=jnp.float32) -> dict:
    keys = jax.random.split(jax.random.key(3), 4)
    return {
        "bias": jnp.linspace(-1.0, 1.0, 24, dtype=dtype),
        "scale": jnp.asarray(0.5, dtype=dtype),
        "wide": jax.random.normal(keys[0], (16, 24), dtype=dtype),
        "tall": jax.random.normal(keys[1], (24, 16), dtype=dtype),
        "stacked": jax.random.normal(keys[2], (2, 16, 24), dtype=dtype),
    }


def test_orthogonalize_updates_per_leaf():
    # Every option spelled out, as the transformation passes them to polar: the direct calls
    # below then reuse its compilations.
    options = {
        "method": "newton_schulz",
        "steps": 8,
        "coefficients": "polar_express",
        "precondition": "frobenius",
        "eps": 1e-7,
    }
    tx = spectral.orthogonalize_updates(**options)
    g = gradients()
    state = tx.init(g)
    assert state == optax.EmptyState()
    updates, new_state = tx.update(g, state)
    assert new_state == state
    # Scalars and vectors pass through unchanged.
    for name in ("bias", "scale"):
        assert updates[name].dtype == g[name].dtype
        np.testing.assert_array_equal(updates[name], g[name])
    # Matrices: sqrt(max(1, m / n)) polar(G), so tall updates get RMS comparable to wide.
    wide, tall = spectral.polar(g["wide"], **options), spectral.polar(g["tall"], **options)
    np.testing.assert_allclose(updates["wide"], wide, rtol=1e-6)
    np.testing.assert_allclose(updates["tall"], (24 / 16) ** 0.5 * tall, rtol=1e-6)
    # Batched leaves: each matrix on its own (batched and single products may round
    # differently: float32 ulps).
    for b in range(g["stacked"].shape[0]):
        single = spectral.polar(g["stacked"][b], **options)
        np.testing.assert_allclose(updates["stacked"][b], single, rtol=0, atol=1e-6)
    # and the result is orthogonal to float32 precision (see test_polar_express_converges).
    assert orthogonality_error(updates["wide"]) < 1e-4
    assert orthogonality_error(np.asarray(updates["tall"]) / np.sqrt(1.5)) < 1e-4


# Spelled out as the transformation passes them to polar, so that direct calls share its
# compilations.
DEFAULT_OPTIONS = {
    "method": "newton_schulz",
    "steps": 5,
    "coefficients": "muon",
    "precondition": "frobenius",
    "eps": 1e-7,
}


def test_orthogonalize_updates_in_a_chain_with_momentum():
    tx = optax.chain(optax.trace(decay=0.9), spectral.orthogonalize_updates())
    g1 = {key: gradients()[key] for key in ("bias", "wide")}
    g2 = {"bias": jnp.ones(24, jnp.float32), "wide": gradients()["stacked"][0]}
    state = tx.init(g1)
    u1, state = tx.update(g1, state)
    u2, state = tx.update(g2, state)
    # trace: m1 = g1, m2 = 0.9 m1 + g2 (parallel to neither); then the orthogonalization.
    # m2 may round differently (fused multiply-add): float32 ulps through 5 steps.
    m2 = 0.9 * g1["wide"] + g2["wide"]
    polar = functools.partial(spectral.polar, **DEFAULT_OPTIONS)
    np.testing.assert_allclose(u1["wide"], polar(g1["wide"]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(u2["wide"], polar(m2), rtol=1e-5, atol=1e-5)
    assert spectral_distance(u2["wide"], polar(g2["wide"])) > 0.1  # the momentum matters
    np.testing.assert_allclose(u2["bias"], 0.9 * g1["bias"] + g2["bias"], rtol=1e-6)


def test_orthogonalize_updates_under_jit():
    # A list of tuples as coefficients (made hashable for the static jit argument).
    tx = spectral.orthogonalize_updates(coefficients=[MUON_COEFFICIENTS, (1.875, -1.25, 0.375)])
    g = {key: gradients()[key] for key in ("bias", "wide", "stacked")}
    eager, _ = tx.update(g, tx.init(g))
    jitted, _ = jax.jit(tx.update)(g, tx.init(g))
    # Same operations, possibly fused differently: float32 rounding, ~10 ulps.
    for name in g:
        np.testing.assert_allclose(jitted[name], eager[name], rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [BFLOAT16, FLOAT64])
def test_orthogonalize_updates_keeps_dtype(dtype):
    g = {"bias": jnp.ones(8, dtype), "w": jnp.asarray(matrix((8, 12), 0.5), dtype=dtype)}
    tx = spectral.orthogonalize_updates()
    updates, _ = tx.update(g, tx.init(g))
    for name in g:
        assert updates[name].dtype == dtype, name


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "eigh"}, ValueError, "method must be one of"),
        ({"steps": 0}, ValueError, "steps must be >= 1"),
        ({"coefficients": "cubic"}, ValueError, "coefficients must be one of"),
        ({"coefficients": [(1.0, 2.0)]}, ValueError, "coefficients must be"),
        ({"precondition": "spectral"}, ValueError, "precondition must be one of"),
    ],
)
def test_orthogonalize_updates_checks_options_when_built(kwargs, error, match):
    with pytest.raises(error, match=match):
        spectral.orthogonalize_updates(**kwargs)


@pytest.mark.parametrize("method", ["newton_schulz", "svd"])
def test_products_run_at_full_precision(method):
    """float32 products at float32 precision (not TF32 on GPUs), forward and backward."""
    X = jax.random.normal(jax.random.key(0), (12, 8), dtype=jnp.float32)
    highest = (jax.lax.Precision.HIGHEST,) * 2
    loss = jax.jit(lambda X: jnp.sum(spectral.polar(X, method=method) ** 3))
    forward = dot_precisions(lambda X: spectral.polar(X, method=method), X)
    backward = dot_precisions(jax.grad(loss), X)
    assert forward
    assert backward
    assert set(forward) == set(backward) == {highest}
