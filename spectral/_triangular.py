r"""The inverse of a lower triangular matrix by block doubling: batched products only.

For $L = \begin{bmatrix} L_{11} & 0 \\ L_{21} & L_{22} \end{bmatrix}$,
$$L^{-1} = \begin{bmatrix} L_{11}^{-1} & 0 \\ -L_{22}^{-1} L_{21} L_{11}^{-1} & L_{22}^{-1}
\end{bmatrix}.$$
Starting from the inverses of the diagonal entries, each level merges neighbouring pairs of
diagonal blocks of size $k$ into blocks of size $2k$ with two products of $k \times k$
blocks, all pairs of a level in one batched product: $\log_2 n$ levels,
$n^3/3 + O(n^2)$ flops, like LAPACK's ``trtri``.

Accuracy: Du Croz & Higham show that a block method whose off-diagonal blocks come from
products alone, as here, need not satisfy the residual bounds of substitution for every
triangular matrix. Its inputs here are Cholesky factors (of $X + qI$ in Smith's solve, of
Padé's denominator, of Denman–Beavers' iterates): measured on factors of matrices with
$\kappa$ from $10^4$ to $10^{12}$ ($n$ = 64, 100, float64), it agreed with LAPACK's
substitution to 2e-15 relative, with normwise residuals
$\lVert XL - I\rVert / (\lVert X\rVert \lVert L\rVert)$ of 6e-17 against LAPACK's 1e-16.

Why not the triangular solve of `jax.scipy.linalg.solve_triangular`: on XLA:CPU it is a call
to OpenBLAS's ``trsm``, which for $64 \times 64$ blocks starts OpenBLAS's own threads. Those
spin on after the call and take cores from XLA's thread pool: with OpenBLAS's default
threads (one per core), a batch of 10 products (64 matrices, $n = 64$, float32) after a
Cholesky inverse by ``trsm`` took 6.3 ms against 3.6 ms with one OpenBLAS thread (and
Taylor's `sqrtm` forward + backward 12–13 ms against 7). Built from XLA's own products,
this inverse took 0.45–0.75 ms against ``trsm``'s 0.57–0.67 ms at that size, and
0.15 / 1.6 / 5.5 ms against 0.3 / 2.4–3.2 / 9–15 ms at $n$ = 32, 128 and 1024, whatever
the OpenBLAS threads.

Sizes that are not a power of two are padded with an identity block: to the nearest
$c \cdot 2^p \ge n$ with $c \le 8$ (at most 25% more rows), whose $c \times c$ diagonal
blocks are inverted by the same doubling, padded to the next power of two.

References
----------
Du Croz & Higham (1992), "Stability of methods for matrix inversion", IMA J. Numer. Anal.
12(1), 1–19, doi:10.1093/imanum/12.1.1. [ducroz1992]
"""

import jax.numpy as jnp
from jaxtyping import Array, Float

# Merges of blocks up to this size multiply by broadcasting and summing: XLA:CPU ran batched
# GEMMs of 2 x 2 to 6 x 6 blocks outside its fast GEMM path, 0.15-0.3 ms each (64 matrices,
# n = 48 or 64), about as long as the whole inverse takes this way.
_ELEMENTWISE_PRODUCT_MAX = 8
# The largest c in the padded order c * 2^p.
_BASE_MAX = 8


def _small_product(a: Array, b: Array) -> Array:
    return jnp.sum(a[..., :, :, None] * b[..., None, :, :], axis=-2)


def _diagonal_blocks(L: Array, size: int) -> Array:
    """The diagonal blocks of `L`, shape (..., n / size, size, size).

    By reshapes and slices of the row-major entries, where block i starts at the flat index
    i * size * (n + 1). `jnp.diagonal` lowers to a gather: with it, the inverse compiled in
    130 / 160 ms at n = 20 / 60 (XLA:CPU), against 110 / 125 ms this way.
    """
    *batch, n, _ = L.shape
    m = n // size
    batch_widths = [(0, 0)] * len(batch)
    flat = jnp.pad(L.reshape(*batch, n * n), [*batch_widths, (0, n)])
    rows = flat.reshape(*batch, m, size * (n + 1))[..., : size * n]
    return rows.reshape(*batch, m, size, n)[..., :size]


def _merge_levels(L: Array, inverses: Array) -> Array:
    """`L^{-1}` from the inverses of its diagonal blocks, shape (..., n / k, k, k)."""
    *batch, n, _ = L.shape
    k = inverses.shape[-1]
    while k < n:
        pairs = _diagonal_blocks(L, 2 * k)  # (..., m, 2k, 2k)
        L21 = pairs[..., k:, :k]
        inverses = inverses.reshape(*batch, n // (2 * k), 2, k, k)
        I11, I22 = inverses[..., 0, :, :], inverses[..., 1, :, :]
        product = _small_product if k <= _ELEMENTWISE_PRODUCT_MAX else jnp.matmul
        X21 = -product(product(I22, L21), I11)
        top = jnp.concatenate([I11, jnp.zeros_like(I11)], axis=-1)
        bottom = jnp.concatenate([X21, I22], axis=-1)
        inverses = jnp.concatenate([top, bottom], axis=-2)
        k *= 2
    return inverses.reshape(*batch, n, n)


def _padded(L: Array, size: int) -> Array:
    """`L` as the leading block of `diag(L, I)` of order `size`."""
    n = L.shape[-1]
    if size == n:
        return L
    widths = [(0, 0)] * (L.ndim - 2) + [(0, size - n), (0, size - n)]
    padded = jnp.pad(L, widths)
    identity_tail = jnp.diag(jnp.arange(size) >= n).astype(L.dtype)
    return padded + jnp.broadcast_to(identity_tail, padded.shape)


def _power_of_two_at_least(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _padded_order(n: int) -> tuple[int, int]:
    """`(c, N)`: the smallest `N = c * 2^p >= n` with `c <= 8`, and its `c`."""
    p = max((n - 1).bit_length() - _BASE_MAX.bit_length() + 1, 0)
    c = -(-n // (1 << p))
    return c, c << p


def lower_triangular_inverse(L: Float[Array, "*batch n n"]) -> Float[Array, "*batch n n"]:
    r"""$L^{-1}$ for nonsingular lower triangular $L$ (its upper triangle is not read).

    Block doubling with batched products (see the module docstring): $n^3/3$ flops. A zero
    on the diagonal gives Inf/NaN, as in a triangular solve.
    """
    n = L.shape[-1]
    c, N = _padded_order(n)
    L = _padded(L, N)
    base = _padded(_diagonal_blocks(L, c), _power_of_two_at_least(c))
    reciprocals = 1.0 / _diagonal_blocks(base, 1)[..., 0, 0]
    base_inverses = _merge_levels(base, reciprocals[..., None, None])
    inverse = _merge_levels(L, base_inverses[..., :c, :c])
    return inverse[..., :n, :n]
