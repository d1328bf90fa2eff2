"""The song2022 experiment: its float64 oracle, its test matrices, and tiny-config sanity.

The tiny config also runs end to end through the CLI in `test_tiny_configs.py`; here it
runs once more through `run(cfg)` (a module-scoped fixture) so that its numbers can be
checked. Timings are not checked beyond being positive: they depend on the machine.
"""

import dataclasses

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import spectral
from experiments import load_config, song2022


@pytest.fixture(scope="module")
def tiny_result():
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        loaded = load_config("song2022-tiny")
        return loaded.config, loaded.module.run(loaded.config)
    finally:
        jax.config.update("jax_enable_x64", before)


def _spd(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    W = rng.standard_normal((batch, n, n))
    return W @ np.swapaxes(W, -1, -2) / n + 0.5 * np.eye(n)


def _loss(A: np.ndarray, G: np.ndarray, power: float) -> float:
    w, V = np.linalg.eigh(A)
    X = (V * (w**power)[:, None, :]) @ np.swapaxes(V, -1, -2)
    return float(np.sum(G * X))


# --- the oracle ---------------------------------------------------------------------------


@pytest.mark.parametrize("power", [0.5, -0.5])
def test_reference_is_the_matrix_power_and_its_gradient(power):
    rng = np.random.default_rng(0)
    A, G = _spd(rng, 2, 6), rng.standard_normal((2, 6, 6))
    X, grad = song2022.reference(A, G, power)
    # X^2 = A (or X A X = I) to float64 rounding: kappa(A) < 1e2 here, so 1e-12 is ample.
    if power > 0:
        np.testing.assert_allclose(X @ X, A, atol=1e-12)
    else:
        np.testing.assert_allclose(X @ A @ X, np.broadcast_to(np.eye(6), A.shape), atol=1e-12)
    # The gradient against central differences along symmetric directions E: the
    # truncation error is O(h^2) ~ 1e-12 and the rounding O(eps / h) ~ 1e-10.
    h = 1e-6
    for _ in range(3):
        E = rng.standard_normal(A.shape)
        E = 0.5 * (E + np.swapaxes(E, -1, -2))
        fd = (_loss(A + h * E, G, power) - _loss(A - h * E, G, power)) / (2 * h)
        assert np.sum(grad * E) == pytest.approx(fd, rel=1e-7, abs=1e-9)
    np.testing.assert_allclose(grad, np.swapaxes(grad, -1, -2), atol=1e-14)


@pytest.mark.parametrize("function", song2022.FUNCTIONS)
def test_reference_agrees_with_the_library_eigh(function):
    rng = np.random.default_rng(1)
    A, G = _spd(rng, 3, 5), rng.standard_normal((3, 5, 5))
    power = 0.5 if function == "sqrtm" else -0.5
    X, grad = song2022.reference(A, G, power)
    f = getattr(spectral, function)
    value, grad_lib = jax.value_and_grad(lambda A: jnp.sum(jnp.asarray(G) * f(A, method="eigh")))(
        jnp.asarray(A)
    )
    assert float(value) == pytest.approx(float(np.sum(G * X)), rel=1e-12)
    np.testing.assert_allclose(np.asarray(grad_lib), grad, atol=1e-12)


def test_unrolled_newton_schulz_has_the_library_forward():
    rng = np.random.default_rng(2)
    A = jnp.asarray(_spd(rng, 2, 8))
    for power, f in [(0.5, spectral.sqrtm), (-0.5, spectral.inv_sqrtm)]:
        ours = song2022._newton_schulz_unrolled(A, power, 6)
        library = f(A, method="newton_schulz", iters=6)
        # The same products in the same order; XLA may fuse them differently.
        np.testing.assert_allclose(np.asarray(ours), np.asarray(library), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("function", song2022.FUNCTIONS)
@pytest.mark.parametrize("method", ["taylor", "pade"])
def test_truncated_methods_stay_in_float32(method, function):
    cfg = load_config("song2022").config  # float32, the paper's settings
    A = jnp.asarray(song2022.covariances(jr.key(4), 2, 8, 32, 1.0, 1e-3), jnp.float32)
    root = song2022.matrix_root(cfg, function, method)
    assert root(A).dtype == jnp.float32
    value, grad = jax.value_and_grad(lambda A: jnp.sum(root(A)))(A)
    assert value.dtype == grad.dtype == jnp.float32


# --- test matrices and config -------------------------------------------------------------


def test_covariances_are_spd_deterministic_and_regularized():
    key = jr.key(3)
    A = song2022.covariances(key, 3, 10, 40, 1.0, 1e-2)
    assert A.shape == (3, 10, 10)
    assert A.dtype == np.float64
    np.testing.assert_array_equal(A, np.swapaxes(A, -1, -2))
    np.testing.assert_array_equal(A, song2022.covariances(key, 3, 10, 40, 1.0, 1e-2))
    w = np.linalg.eigvalsh(A)
    # The ridge puts every eigenvalue at or above rho * tr(C) / n = rho * tr(A) / (n (1 + rho)).
    floor = 1e-2 * np.trace(A, axis1=-2, axis2=-1) / (10 * (1 + 1e-2))
    assert np.all(w[:, 0] >= floor * (1 - 1e-12))
    # Different matrices in the batch, and not diagonal (the rotation).
    assert not np.allclose(A[0], A[1])
    assert np.abs(A[0] - np.diag(np.diag(A[0]))).max() > 1e-3 * np.abs(A[0]).max()


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"sizes": [64, 48]}, "equal length"),
        ({"sizes": [1]}, "sizes"),
        ({"num_samples": [1]}, "num_samples"),
        ({"methods": []}, "methods"),
        ({"functions": ["sqrtm", "sqrtm"]}, "functions"),
        ({"ridge": 0.0}, "ridge"),
        ({"spectrum_decay": -1.0}, "spectrum_decay"),
        ({"pade_degree": (5,)}, "pade_degree"),
        ({"pade_degree": (0, 5)}, "pade_degree"),
        ({"backward_iters": 0}, "backward_iters"),
        ({"repeats": 0}, "repeats"),
        ({"batch_sizes": [1, 1], "sizes": [8, 8], "num_samples": [9, 9]}, "distinct"),
    ],
)
def test_config_rejects_bad_values(changes, match):
    base = load_config("song2022-tiny").config
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(base, **changes)


def test_full_config_uses_the_papers_settings():
    cfg = load_config("song2022").config
    assert cfg.dtype == "float32"
    assert cfg.shapes == [(1, 64), (64, 48)]
    assert set(cfg.shapes) == set(song2022.PAPER_FWD_BWD_MS)
    assert (cfg.newton_schulz_iters, cfg.taylor_degree, tuple(cfg.pade_degree)) == (5, 10, (5, 5))
    assert (cfg.backward, cfg.backward_iters) == ("newton_schulz", 8)


# --- tiny-config sanity -------------------------------------------------------------------


@pytest.mark.slow
def test_tiny_errors_and_orderings(tiny_result):
    cfg, result = tiny_result
    rows = {(row["function"], row["shape"], row["method"]): row for row in result["table"]}
    methods = [*cfg.methods, song2022.UNROLLED]
    assert len(rows) == len(cfg.functions) * len(cfg.shapes) * len(methods)
    assert not [note for note in result["notes"] if note.startswith("WARNING")]
    for (function, shape, method), row in rows.items():
        for column in ("forward_ms", "fwd_bwd_ms", "fwd_bwd_min_ms", "compile_s"):
            assert row[column] > 0, column
        assert row["fwd_bwd_min_ms"] <= row["fwd_bwd_ms"]
        if method == "eigh":
            # eigh is backward stable: relative errors ~ kappa * n * eps, at most ~1e-4 for
            # kappa ~ 1e2, n = 64 even in float32 (~1e-6 observed in float32, ~1e-15 in
            # float64).
            assert row["forward_err"] < 1e-4
            assert row["grad_err"] < 1e-4
        else:
            # Truncated methods at the paper's settings on kappa ~ 80: 5e-2 (Pade) to 0.3
            # (Taylor) observed; below 1 means they approximate at all.
            assert 0 < row["forward_err"] < 1
            assert 0 < row["grad_err"] < 1
        lib = rows[function, shape, "newton_schulz"]
        if method == song2022.UNROLLED:
            # The same forward computation (up to XLA's fusion of the products).
            assert row["forward_err"] == pytest.approx(lib["forward_err"], rel=1e-3)
        if method == "pade":
            # [5, 5] Pade beats the degree-10 Taylor polynomial at the same number of
            # products on every eigenvalue (0.056 against 0.26 observed).
            assert row["forward_err"] < rows[function, shape, "taylor"]["forward_err"]
    (ordering,) = result["data"]["orderings"]  # the tiny shape 1x64x64 is the paper's
    assert sorted(ordering["ours"]) == sorted(cfg.methods)
    assert ordering["paper"] == ["taylor", "pade", "newton_schulz", "eigh"]
    assert isinstance(ordering["matches"], bool)
    verdict = [note for note in result["notes"] if note.startswith("Ordering")]
    assert len(verdict) == 1
    assert ("does NOT match" in verdict[0]) is not ordering["matches"]
