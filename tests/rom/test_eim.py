"""EIM, DEIM and Q-DEIM against plain NumPy implementations of the published algorithms."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import rom


def _numpy_deim(U: np.ndarray) -> list[int]:
    """Chaturantabut & Sorensen (2010), Algorithm 1, literally."""
    p = [int(np.argmax(np.abs(U[:, 0])))]
    for j in range(1, U.shape[1]):
        c = np.linalg.solve(U[p, :j], U[p, j])
        r = U[:, j] - U[:, :j] @ c
        p.append(int(np.argmax(np.abs(r))))
    return p


def _numpy_eim(F: np.ndarray, k: int) -> tuple[list[int], np.ndarray, list[float], list[int]]:
    """Greedy EIM (Maday et al. 2009) over the columns of F, in the max norm."""
    points, basis, errors, columns = [], np.zeros((F.shape[0], 0)), [], []
    for _ in range(k):
        if points:
            R = F - basis @ np.linalg.solve(basis[points], F[points])
        else:
            R = F.copy()
        i, t = np.unravel_index(np.argmax(np.abs(R)), R.shape)
        errors.append(abs(R[i, t]))
        points.append(int(i))
        columns.append(int(t))
        basis = np.column_stack([basis, R[:, t] / R[i, t]])
    return points, basis, errors, columns


def _parametrized(x: np.ndarray, mus: np.ndarray) -> np.ndarray:
    """A smooth parametrized family: f(x; mu) = (1 - x) cos(3 pi mu (x + 1)) exp(-(1 + x) mu)
    on [-1, 1], mu in [1, pi] (Chaturantabut & Sorensen 2010, Sec. 3.3.1)."""
    return (
        (1 - x[:, None])
        * np.cos(3 * np.pi * mus * (x[:, None] + 1))
        * np.exp(-(1 + x[:, None]) * mus)
    )


def test_deim_and_qdeim_match_the_published_algorithms():
    x = np.linspace(-1, 1, 100)
    F = _parametrized(x, np.linspace(1, np.pi, 51))
    U = np.linalg.svd(F, full_matrices=False)[0][:, :10]
    interpolant = rom.deim(U)
    assert np.asarray(interpolant.indices).tolist() == _numpy_deim(U)
    _, _, pivots = scipy.linalg.qr(U.T, pivoting=True)
    assert np.asarray(rom.qdeim(U).indices).tolist() == pivots[:10].tolist()
    # The interpolant reproduces span(U) exactly and interpolates at the indices.
    for method in (rom.deim, rom.qdeim):
        interp = method(U)
        np.testing.assert_allclose(interp.interpolate(U), U, atol=1e-12)
        f = F[:, 7]
        np.testing.assert_allclose(
            interp.interpolate(f)[interp.indices], f[np.asarray(interp.indices)], atol=1e-13
        )


def test_deim_error_is_within_its_constant_of_the_projection():
    # ||f - I f||_2 <= ||(U[p])^-1||_2 ||f - U U^T f||_2 (Chaturantabut & Sorensen, Lemma 3.2).
    x = np.linspace(-1, 1, 100)
    F = _parametrized(x, np.linspace(1, np.pi, 51))
    U = np.linalg.svd(F, full_matrices=False)[0][:, :8]
    interp = rom.deim(U)
    constant = np.linalg.norm(np.linalg.inv(np.asarray(interp.interpolation_matrix)), 2)
    test = _parametrized(x, np.linspace(1.02, 3.1, 13))
    for f in test.T:
        error = np.linalg.norm(f - np.asarray(interp.interpolate(f)))
        assert error <= constant * np.linalg.norm(f - U @ (U.T @ f)) * (1 + 1e-10)


def test_eim_matches_numpy_interpolates_at_magic_points_and_converges():
    x = np.linspace(-1, 1, 120)
    F = _parametrized(x, np.linspace(1, np.pi, 40))
    k = 24
    interpolant = rom.eim(F, k)
    points, basis, errors, columns = _numpy_eim(F, k)
    assert np.asarray(interpolant.indices).tolist() == points
    assert np.asarray(interpolant.selected).tolist() == columns
    # The last vectors are residuals of size ~5e-7 scaled to 1: rounding (~1e-16) grows to
    # ~1e-9 in them, in either implementation.
    np.testing.assert_allclose(interpolant.basis, basis, atol=1e-8)
    np.testing.assert_allclose(interpolant.errors, errors, rtol=1e-8)
    # The interpolation matrix is unit lower triangular (the EIM normalization).
    T = np.asarray(interpolant.interpolation_matrix)
    np.testing.assert_allclose(np.triu(T, 1), 0, atol=1e-8)  # rounding, as above
    np.testing.assert_allclose(np.diag(T), 1, atol=1e-12)
    # Exact at the magic points for any vector, and the error decays on unseen parameters:
    # a smooth family in one parameter has exponentially decaying Kolmogorov widths.
    test = _parametrized(x, np.linspace(1.01, 3.13, 17))
    approx = np.asarray(interpolant.interpolate(test))
    np.testing.assert_allclose(approx[points], test[points], atol=1e-12)
    # Measured: training error 2.0 -> 5e-7 over 24 points, unseen-parameter error 3.5e-7.
    assert interpolant.errors[-1] < 1e-5 * interpolant.errors[0]
    assert np.max(np.abs(test - approx)) < 1e-5 * np.max(np.abs(test))


def test_eim_under_jit_and_vmap():
    x = np.linspace(-1, 1, 60)
    F = jnp.asarray(_parametrized(x, np.linspace(1, np.pi, 20)))
    eager = rom.eim(F, 6)
    jitted = jax.jit(lambda F: rom.eim(F, 6))(F)
    np.testing.assert_array_equal(eager.indices, jitted.indices)
    batched = jax.vmap(lambda F: rom.eim(F, 6).indices)(jnp.stack([F, 2 * F]))
    np.testing.assert_array_equal(batched[0], batched[1])  # scale invariant


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"basis must be \(n, k\) with 1 <= k <= n"):
        rom.deim(np.ones((3, 4)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="basis\\[indices\\] is singular"):
        rom.deim(np.ones((5, 2)))
    with pytest.raises(ValueError, match="size must be in"):
        rom.eim(np.ones((5, 3)), 4)
    rank_one = np.outer(np.linspace(1, 2, 10), np.linspace(1, 3, 6))
    with pytest.raises(eqx.EquinoxRuntimeError, match="larger than the rank of the training"):
        rom.eim(rank_one, 2)
    with pytest.raises(ValueError, match="training must be"):
        rom.eim(np.ones(5), 1)
