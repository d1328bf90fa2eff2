"""The banded sparse Cholesky against dense NumPy solves, and its ordering against SciPy's RCM.

Oracles: `numpy.linalg.solve` and `slogdet` on the assembled dense matrix; SciPy's
`reverse_cuthill_mckee` (the bandwidth ours reaches must be as small, up to tie-breaking);
the closed-form derivative d(b^T A^-1 b)/dA_ij = -x_i x_j (x = A^-1 b) and finite
differences (`check_grads`). The matrices are well conditioned (diagonally dominated,
cond < 1e3), so a backward-stable Cholesky solve is accurate to ~1e-13 in float64 and
~1e-5 in float32: the tolerances below are 1e-10 and 1e-4.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import spectral


def grid_laplacian(m: int, shift: float = 0.1) -> np.ndarray:
    """The 5-point Laplacian of an m x m grid plus `shift` I (natural bandwidth m)."""
    T = 2 * np.eye(m) - np.eye(m, k=1) - np.eye(m, k=-1)
    return np.kron(T, np.eye(m)) + np.kron(np.eye(m), T) + shift * np.eye(m * m)


def scrambled(A: np.ndarray, seed: int = 0) -> np.ndarray:
    p = np.random.default_rng(seed).permutation(A.shape[0])
    return A[np.ix_(p, p)]


def pattern_of(A: np.ndarray):
    rows, cols = np.nonzero(A)
    return np.stack([rows, cols], 1), A[rows, cols]


def bandwidth(A: np.ndarray, permutation: np.ndarray) -> int:
    rows, cols = np.nonzero(A[np.ix_(permutation, permutation)])
    return int(np.max(np.abs(rows - cols)))


@pytest.mark.parametrize("ordering", ["rcm", "natural", "explicit"])
def test_solve_and_logdet_match_dense(ordering):
    A = scrambled(grid_laplacian(7), seed=1)  # 49 unknowns, nonzeros scattered
    n = A.shape[0]
    indices, values = pattern_of(A)
    if ordering == "explicit":
        ordering = np.random.default_rng(3).permutation(n)  # any permutation is valid
    pattern = spectral.banded_pattern(indices, n, ordering=ordering)
    assert pattern.bandwidth == bandwidth(A, np.asarray(pattern.permutation))
    factor = spectral.banded_cholesky(pattern, jnp.asarray(values))
    rng = np.random.default_rng(0)
    b, B = rng.standard_normal(n), rng.standard_normal((n, 3))
    np.testing.assert_allclose(factor.solve(jnp.asarray(b)), np.linalg.solve(A, b), rtol=1e-10)
    np.testing.assert_allclose(factor.solve(jnp.asarray(B)), np.linalg.solve(A, B), rtol=1e-10)
    np.testing.assert_allclose(float(factor.logdet()), np.linalg.slogdet(A)[1], rtol=1e-12)


def test_lower_triangle_alone_suffices_and_block_size_may_exceed_bandwidth():
    A = grid_laplacian(5)
    indices, values = pattern_of(np.tril(A))
    pattern = spectral.banded_pattern(indices, 25, ordering="natural", block_size=8)
    assert (pattern.bandwidth, pattern.num_blocks) == (5, 4)  # 25 = 3 * 8 + 1: padded
    x = spectral.banded_cholesky(pattern, jnp.asarray(values)).solve(jnp.ones(25))
    np.testing.assert_allclose(x, np.linalg.solve(A, np.ones(25)), rtol=1e-10)


def test_rcm_recovers_a_narrow_band_like_scipy():
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    A = scrambled(grid_laplacian(12), seed=2)  # natural bandwidth 12, scrambled ~ 140
    indices, _ = pattern_of(A)
    ours = spectral.reverse_cuthill_mckee(indices, A.shape[0])
    assert np.array_equal(np.sort(ours), np.arange(A.shape[0]))
    theirs = reverse_cuthill_mckee(csr_matrix(A != 0), symmetric_mode=True)
    assert bandwidth(A, ours) <= max(bandwidth(A, theirs), 13)
    assert bandwidth(A, np.arange(A.shape[0])) > 5 * bandwidth(A, ours)


def test_disconnected_pattern_and_float32():
    A = np.zeros((25, 25))  # two components: a scrambled 4 x 4 grid and a 3 x 3 grid
    A[:16, :16] = scrambled(grid_laplacian(4, shift=1.0), seed=4)
    A[16:, 16:] = grid_laplacian(3, shift=1.0)
    indices, values = pattern_of(A)
    pattern = spectral.banded_pattern(indices, 25)
    factor = spectral.banded_cholesky(pattern, jnp.asarray(values, jnp.float32))
    x = factor.solve(jnp.ones(25, jnp.float32))
    assert x.dtype == jnp.float32
    np.testing.assert_allclose(x, np.linalg.solve(A, np.ones(25)), rtol=1e-4)


def test_jit_vmap_and_gradient():
    A = scrambled(grid_laplacian(4), seed=5)
    indices, values = pattern_of(A)
    pattern = spectral.banded_pattern(indices, 16)
    b = jnp.asarray(np.random.default_rng(1).standard_normal(16))

    def energy(v):  # b^T A(v)^-1 b, with A assembled from the pattern values v
        return b @ spectral.banded_cholesky(pattern, v).solve(b)

    v = jnp.asarray(values)
    x = np.linalg.solve(A, np.asarray(b))
    # d/dA_ij of b^T A^-1 b is -x_i x_j. Only the entries on or below the diagonal of the
    # permuted matrix are read, each off-diagonal one standing for A_ij and A_ji: -2 x_i x_j.
    position = np.argsort(np.asarray(pattern.permutation))
    i, j = indices[:, 0], indices[:, 1]
    read = position[i] >= position[j]
    expected = np.where(read, -x[i] * x[j] * np.where(i == j, 1.0, 2.0), 0.0)
    np.testing.assert_allclose(jax.jit(jax.grad(energy))(v), expected, rtol=1e-9, atol=1e-12)
    check_grads(energy, (v,), order=1, modes=("rev",), atol=1e-6, rtol=1e-6)
    scales = jnp.asarray([1.0, 2.0, 4.0])  # A scaled by s: energy / s
    batched = jax.vmap(lambda s: energy(s * v))(scales)
    np.testing.assert_allclose(batched, float(b @ x) / np.asarray(scales), rtol=1e-10)


def test_bad_input_is_a_clear_error():
    A = grid_laplacian(3)
    indices, values = pattern_of(A)
    with pytest.raises(ValueError, match=r"indices must have shape \(nnz, 2\)"):
        spectral.banded_pattern(indices[:, 0], 9)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, n\)"):
        spectral.banded_pattern(indices, 5)
    with pytest.raises(ValueError, match="ordering must be"):
        spectral.banded_pattern(indices, 9, ordering="amd")
    with pytest.raises(ValueError, match="ordering must be a permutation"):
        spectral.banded_pattern(indices, 9, ordering=np.zeros(9, int))
    with pytest.raises(ValueError, match="block_size must be at least the bandwidth"):
        spectral.banded_pattern(indices, 9, ordering="natural", block_size=1)
    pattern = spectral.banded_pattern(indices, 9)
    with pytest.raises(ValueError, match="values must have one entry per pattern entry"):
        spectral.banded_cholesky(pattern, jnp.ones(3))
    factor = spectral.banded_cholesky(pattern, jnp.asarray(values))
    with pytest.raises(ValueError, match=r"rhs must have shape \(9,\)"):
        factor.solve(jnp.ones(4))
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"not .*positive definite"):
        spectral.banded_cholesky(pattern, -jnp.asarray(values))
