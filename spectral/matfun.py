r"""Differentiable square roots and inverse square roots of SPD matrices, made of matrix products.

`sqrtm(A)` and `inv_sqrtm(A)` compute $A^{1/2}$ and $A^{-1/2}$ for symmetric positive
(semi)definite $A$, batched over leading dimensions, by one of five methods:

- ``"eigh"``: $A = V \operatorname{diag}(\lambda) V^\top$, $A^{\pm 1/2} = V
  \operatorname{diag}(\lambda^{\pm 1/2}) V^\top$; exact to working precision, the reference.
- ``"newton_schulz"``: the coupled Newton–Schulz iteration (Higham 2008, eq. 6.35)
  $T_k = \tfrac12 (3I - Z_k Y_k)$, $Y_{k+1} = Y_k T_k$, $Z_{k+1} = T_k Z_k$ from
  $Y_0 = A / c$, $Z_0 = I$; $Y_k \to (A/c)^{1/2}$ and $Z_k \to (A/c)^{-1/2}$ quadratically
  once close, 3 products per step, inverse-free.
- ``"denman_beavers"``: $Y_{k+1} = \tfrac12 (Y_k + Z_k^{-1})$,
  $Z_{k+1} = \tfrac12 (Z_k + Y_k^{-1})$ from the same start (Denman & Beavers 1976), two
  inverses per step (both iterates are positive definite: Cholesky inverses).
- ``"taylor"``: the Matrix Taylor Polynomial of Song, Sebe & Wang (2022): with
  $Z = I - A/c$, $A^{1/2} = \sqrt{c}\,(I - Z)^{1/2} \approx \sqrt{c} \sum_{k=0}^{K}
  \binom{1/2}{k} (-Z)^k$ and $A^{-1/2} \approx c^{-1/2} \sum_{k=0}^{K} \binom{-1/2}{k}(-Z)^k$,
  about $2\sqrt{K}$ products by the Paterson–Stockmeyer scheme (5 for $K = 10$).
- ``"pade"``: their Matrix Padé Approximant: $\sqrt{1 - z} \approx P_M(z) / Q_N(z)$ (the
  $[M, N]$ Padé approximant, coefficients from the Taylor series), so
  $A^{1/2} \approx \sqrt{c}\, Q_N(Z)^{-1} P_M(Z)$ and
  $A^{-1/2} \approx c^{-1/2} P_M(Z)^{-1} Q_N(Z)$: $P_M$ and $Q_N$ by Paterson–Stockmeyer
  with shared powers (4 products for $[5, 5]$), one Cholesky inverse and one product ($P_M$
  and $Q_N$ are positive definite for positive semidefinite $A$).

The normalizer $c$ is $\min(\|A\|_F, \|A\|_1)$, an upper bound of $\lambda_{\max}$ (the paper
uses $\|A\|_F$; the 1-norm is much tighter for diagonally dominant matrices, where
$\|A\|_F \approx \sqrt{n}\,\lambda_{\max}$, and makes every series and iteration converge
faster). The eigenvalues of $A / c$ lie in $(0, 1]$ and those of $Z$ in $[0, 1)$.

**Accuracy of the truncated methods.** Taylor and Padé are exact functions of the
eigenvalues: their error on an eigenvalue $\lambda$ is the scalar error of the truncated
series (or rational function) at $z = 1 - \lambda / c$, largest at $\lambda_{\min}$. It grows
with the condition number $\kappa$, and with $n$ through $c / \lambda_{\max}$ (up to
$\sqrt{n}$ when the 1-norm bound is loose): for $z \to 1$ the Taylor remainder decays only
like $K^{-1/2} (1 - \lambda_{\min}/c)^{K}$. Measured at the default degrees on
$A = Q \operatorname{diag}(\lambda) Q^\top$ with $\lambda$ log-spaced over $[1/\kappa, 1]$
(float64, relative Frobenius error of $A^{1/2}$):

| $n$ | $\kappa$ | Taylor $K = 10$ | Padé $[5, 5]$ |
|---|---|---|---|
| 16 | 1e1 / 1e3 / 1e6 | 2.6e-2 / 2.4e-1 / 4.3e-1 | 1.6e-3 / 8.7e-2 / 2.0e-1 |
| 64 | 1e1 / 1e3 / 1e6 | 4.4e-2 / 3.7e-1 / 6.2e-1 | 3.8e-3 / 1.4e-1 / 3.0e-1 |
| 256 | 1e1 / 1e3 / 1e6 | 9.7e-2 / 5.4e-1 / 9.1e-1 | 1.2e-2 / 2.1e-1 / 4.3e-1 |

and larger for $A^{-1/2}$, whose small eigenvalues are the large ones of the result. They
are the methods for moderately conditioned matrices (regularized covariances, as in the
paper) where a few percent suffices; the tests check the exact scalar error prediction.
The iterations (Newton–Schulz, Denman–Beavers) converge to working precision, but
Newton–Schulz needs about $\log_{9/4}(c / \lambda_{\min})$ steps before its quadratic phase
(the product $Z_k Y_k$ grows by $9/4$ a step on small eigenvalues) and about 4 more: 8, 13
and 18 steps for $\kappa = 10$, $10^3$, $10^5$ at $n = 64$; raise `iters` for
ill-conditioned input. Denman–Beavers (a Newton iteration) needs fewer steps but two
inverses per step.

**Derivatives.** Two kinds (``backward=``). ``"eigh"``, ``"smith"`` and
``"newton_schulz"`` (the defaults: ``"eigh"`` for eigh, ``"smith"`` for the other methods)
give the derivative of the exact matrix function: the tangent of $X = A^{1/2}$ solves the
Lyapunov equation $X\,\dot X + \dot X X = \dot A$, and that of $A^{-1/2}$ is
$-A^{-1/2} \dot S A^{-1/2}$ for the tangent $\dot S$ of $A^{1/2}$ (the iterative solves
compute it as $-Y$ with $S Y + Y S = A^{-1/2} \dot A A^{-1/2}$, as $A^{-1/2}$ commutes with
$S$; Smith's folds those two products into its first step). It is solved
(`spectral.lyapunov`) either exactly in $A$'s eigenbasis,
$\dot X = V [ (V^\top \dot A V)_{ij} / (s_i + s_j) ] V^\top$, or by the coupled
Newton–Schulz iteration for the matrix sign function of
$\begin{bmatrix} X & \dot A \\ 0 & -X\end{bmatrix}$ (Song et al. 2022, Sec. 3.3), whose
limit is $\begin{bmatrix} I & 2\dot X \\ 0 & -I\end{bmatrix}$, made of matrix products only
(the paper's backward, MTP-Lya and MPA-Lya), or by the squared Smith iteration on its Cayley
transform (Smith 1968): one Cholesky factorization, then 3 products per doubling step, about
3 steps at $\kappa(A) = 10$ where the sign iteration takes 8 steps of 5 products, and 7
against 16 at $\kappa(A) = 10^4$ (the default: forward and backward 1.3–2.6x faster than
with the sign iteration in `bench matfun`).
The derivative is defined once, as a `jax.custom_jvp` rule that is linear in the tangent:
JAX transposes it for reverse mode, and since the Lyapunov operator $Y \mapsto XY + YX$ is
self-adjoint the backward pass solves the same equation for the cotangent $\bar G$
($X \bar A + \bar A X = \bar G$). Forward mode
(`jax.jvp`, `jax.jacfwd`) therefore works too, which a `custom_vjp` would forbid; the
forward iteration or polynomial is not unrolled by autodiff. With a truncated forward
(Taylor, Padé, few iterations) the choices differ: ``"autodiff"`` differentiates the computed
value exactly, ``"smith"`` and ``"newton_schulz"`` solve the Lyapunov equation with the
computed $X$,
``"eigh"`` gives the derivative of the exact root, which does not match the computed value
when the forward is inaccurate (training through a Padé forward with the eigh backward at
$\kappa \approx 10^3$ failed in the `dbn_digits` experiment).

``"autodiff"`` lets JAX differentiate the computation itself: for Taylor and Padé the exact
derivative of the computed polynomial or rational function, two products per forward
product (about three times the forward), consistent with finite differences of
the computed value; for the iterations, the derivative of the unrolled steps (the paper's
Newton–Schulz baseline). It is the fast choice, but further from the derivative of the exact
root than the Lyapunov solve: differentiating the truncation error amplifies it near
$\lambda_{\min}$ (at $\kappa = 10$, $n = 64$: Taylor gradients 0.22 off against 0.09,
Padé 0.035 against 0.009, for forward errors of 0.06 and 0.005).

**A CPU caveat.** With jaxlib 0.10.2, one jitted computation holding two *independent*
batched LAPACK calls (eigh, Cholesky, LU, triangular solves) can deadlock XLA:CPU's thread
pool. Within one call these functions order their own LAPACK calls by data dependences;
when you jit several independent ``"eigh"``/``"pade"``/``"denman_beavers"`` roots, or the
derivatives of any roots with ``backward="smith"`` (a Cholesky factorization), together on
a CPU, stack their inputs into one batch instead.

References
----------
Song, Sebe & Wang (2022), "Fast Differentiable Matrix Square Root", ICLR,
arXiv:2201.08663. [song2022]
Higham (2008), "Functions of Matrices: Theory and Computation", SIAM, ch. 6. [higham2008]
Smith (1968), "Matrix equation XA + BX = C", SIAM J. Appl. Math. 16(1), 198–201,
doi:10.1137/0116017. [smith1968]
Denman & Beavers (1976), "The matrix sign function and computations in systems", Appl. Math.
Comput. 2(1), doi:10.1016/0096-3003(76)90020-5.
"""

import functools
from fractions import Fraction

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._checks import check_choice, check_int, full_precision_products, public_jit
from ._sequencing import after
from ._symmetric import (
    check_matrix_batch,
    cholesky_lower,
    eig_upper_bound,
    eye_like,
    spd_inverse,
    sym,
)
from .lyapunov import (
    DEFAULT_ITERS as DEFAULT_LYAPUNOV_ITERS,
    METHODS as LYAPUNOV_METHODS,
    self_adjoint_lyapunov,
)

METHODS = ("eigh", "newton_schulz", "denman_beavers", "taylor", "pade")
BACKWARDS = (*LYAPUNOV_METHODS, "autodiff")
_DEFAULT_ITERS = {"newton_schulz": 10, "denman_beavers": 10}
_DEFAULT_DEGREE = {"taylor": 10, "pade": (5, 5)}
_DEFAULT_BACKWARD = {
    "eigh": "eigh",
    "newton_schulz": "smith",
    "denman_beavers": "smith",
    "taylor": "smith",
    "pade": "smith",
}


# ---------------------------------------------------------------------------------------
# Small building blocks (batched over leading dimensions)


def _paterson_stockmeyer_block(degrees: tuple[int, ...]) -> int:
    r"""The block size $s$ that evaluates polynomials of these degrees in the fewest products.

    $s - 2$ products for $Z^2, \dots, Z^{s-1}$, one for $Z^s$ if some polynomial has
    more than one block, and $\lceil (d + 1) / s \rceil - 1$ per polynomial of degree $d$;
    ties go to the larger $s$ (fewer sequential steps).
    """

    def products(block: int) -> int:
        steps = [-(-(d + 1) // block) - 1 for d in degrees]
        return max(block - 2, 0) + (max(steps) > 0) + sum(steps)

    return min(range(max(degrees) + 1, 0, -1), key=products)


def _polynomials(coefficients: tuple[np.ndarray, ...], Z: Array) -> tuple[Array, ...]:
    r"""$\sum_k a_k Z^k$ for each coefficient vector, by Paterson–Stockmeyer.

    With the powers $I, Z, \dots, Z^{s-1}$ (shared by all the polynomials),
    $p(Z) = \sum_j B_j(Z) (Z^s)^j$ with $B_j(Z) = \sum_{i < s} a_{js + i} Z^i$ (no products),
    summed by Horner's rule in $Z^s$: about $2\sqrt{K}$ products for degree $K$ instead of
    Horner's $K$ (5 for $K = 10$; 4 for the two of Padé $[5, 5]$). Autodiff of this
    evaluation, the exact derivative of the polynomial, takes two products per product.
    """
    block = _paterson_stockmeyer_block(tuple(len(a) - 1 for a in coefficients))
    powers = [eye_like(Z), Z][:block]
    while len(powers) < block:
        powers.append(powers[-1] @ Z)

    def chunk(a: np.ndarray) -> Array:
        # Python floats, so that the coefficients take Z's dtype (NumPy float64 scalars
        # would promote a float32 Z to float64 under x64).
        return sum(float(a_i) * power for a_i, power in zip(a, powers, strict=False))

    Z_block = powers[-1] @ Z if max(len(a) for a in coefficients) > block else None
    results = []
    for a in coefficients:
        chunks = [a[i : i + block] for i in range(0, len(a), block)]
        P = chunk(chunks[-1])
        for lower in chunks[-2::-1]:
            P = P @ Z_block + chunk(lower)
        results.append(P)
    return tuple(results)


@jax.custom_jvp
def _commuting_solve(Q: Array, P: Array) -> Array:
    r"""$Q^{-1} P$ for commuting $Q$, $P$, polynomials in one matrix, by a Cholesky inverse.

    Padé's $P_M(z)$ and $Q_N(z)$ are positive on $[0, 1]$, which holds the spectrum of
    $Z = I - A/c$ for positive semidefinite $A$ (checked for every $M, N \le 15$; at
    $[5, 5]$, $Q \ge 0.0107$ and $P \ge 0.00098$ there, so $\kappa \le 93$ and $1024$):
    both are symmetric positive definite. $Q^{-1} = L^{-\top} L^{-1}$ from the Cholesky
    factor (`spd_inverse`, whose triangular inverse is made of products), then one product
    with $P$. A Cholesky solve by triangular solves would call OpenBLAS's ``trsm``, whose
    threads slow XLA's next products (see `spectral._triangular`).

    The derivative $Q^{-1} (\dot P - \dot Q X)$ is two products with the inverse, and so
    is its transpose: no triangular solves per tangent, which on a CPU cost more than
    products.
    """
    return spd_inverse(Q) @ P


@_commuting_solve.defjvp
@full_precision_products  # traced lazily, maybe outside the public function's scope
def _commuting_solve_jvp(primals, tangents):
    (Q, P), (dQ, dP) = primals, tangents
    Q_inv = spd_inverse(Q)
    X = Q_inv @ P
    return X, Q_inv @ (dP - dQ @ X)


@functools.cache
def _taylor_coefficients(power: float, degree: int) -> np.ndarray:
    r"""Taylor coefficients of $(1 - z)^{p}$: $t_k = \binom{p}{k} (-1)^k$, $k \le$ degree."""
    t = np.ones(degree + 1)
    for k in range(1, degree + 1):
        t[k] = t[k - 1] * (k - 1 - power) / k
    return t


@functools.cache
def _pade_coefficients(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""$[m, n]$ Padé approximant $P_m(z) / Q_n(z)$ of $\sqrt{1 - z}$ at $z = 0$ ($q_0 = 1$).

    Matches the Taylor coefficients $t_0..t_{m+n}$: $\sum_{j=0}^{n} q_j t_{k-j} = 0$ for
    $k = m+1, \dots, m+n$ and $p_k = \sum_{j \le \min(k, n)} q_j t_{k-j}$. The Toeplitz system
    is ill-conditioned for large degrees (a float64 solve is off by 1e-2 at [12, 12]), so it
    is solved exactly in rational arithmetic, once per degree, at trace time.
    """
    t = [Fraction(1)]
    for k in range(1, m + n + 1):
        t.append(t[-1] * (Fraction(k - 1) - Fraction(1, 2)) / k)
    # Gauss-Jordan elimination on [system | rhs], exact.
    rows = [
        [t[k - j] if k >= j else Fraction(0) for j in range(1, n + 1)] + [-t[k]]
        for k in range(m + 1, m + n + 1)
    ]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        rows[col] = [x / rows[col][col] for x in rows[col]]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                rows[r] = [a - rows[r][col] * b for a, b in zip(rows[r], rows[col], strict=True)]
    q = [Fraction(1)] + [row[-1] for row in rows]
    p = [sum(q[j] * t[k - j] for j in range(min(k, n) + 1)) for k in range(m + 1)]
    return np.array([float(x) for x in p]), np.array([float(x) for x in q])


# ---------------------------------------------------------------------------------------
# Forward methods: each returns (A^{1/2}, A^{-1/2}) or the one asked for, for A / c.


def _eigh_checked(A: Array, power: float, check: bool) -> tuple[Array, Array, Array]:
    """`(w, V, s)`: eigenpairs of `A` and `s = sqrt(max(w, 0))`, definiteness checked on `w`."""
    w, V = jnp.linalg.eigh(A)
    if check:
        n, eps = A.shape[-1], jnp.finfo(A.dtype).eps
        if power < 0:
            bad = jnp.any(w[..., 0] <= 0)
            message = "A must be symmetric positive definite; it has a non-positive eigenvalue."
        else:
            bad = jnp.any(w[..., 0] < -10 * n * eps * jnp.abs(w[..., -1]))
            message = "A must be symmetric positive semidefinite; it has a negative eigenvalue."
        w = eqx.error_if(w, bad, message)
    return w, V, jnp.sqrt(jnp.maximum(w, 0.0))


def _from_eigh(V: Array, values: Array) -> Array:
    return (V * values[..., None, :]) @ jnp.swapaxes(V, -1, -2)


def _roots_newton_schulz(An: Array, power: float, iters: int) -> Array:
    eye = eye_like(An)

    def step(carry, _):
        Y, Z = carry
        T = 0.5 * (3.0 * eye - Z @ Y)
        return (Y @ T, T @ Z), None

    (Y, Z), _ = jax.lax.scan(step, (An, eye), length=iters)
    return Y if power > 0 else Z


def _roots_denman_beavers(An: Array, power: float, iters: int) -> Array:
    def step(carry, _):
        Y, Z = carry
        # Y and Z are rational functions of A, positive definite: Cholesky inverses (no
        # LU with pivoting; 47 -> 28 ms at batch 64, n = 64, float32, 10 steps). One batched
        # inverse of both: two independent LAPACK calls in a jitted, batched scan body can
        # deadlock XLA:CPU (jaxlib 0.10.2; tested in test_matfun.py).
        inv_Z, inv_Y = spd_inverse(jnp.stack([Z, Y]))
        return (0.5 * (Y + inv_Z), 0.5 * (Z + inv_Y)), None

    (Y, Z), _ = jax.lax.scan(step, (An, eye_like(An)), length=iters)
    return Y if power > 0 else Z


def _roots_taylor(An: Array, power: float, degree: int) -> Array:
    (X,) = _polynomials((_taylor_coefficients(power, degree),), eye_like(An) - An)
    return X


def _roots_pade(An: Array, power: float, degree: tuple[int, int]) -> Array:
    P, Q = _polynomials(_pade_coefficients(*degree), eye_like(An) - An)
    # P and Q are polynomials in the same Z, so they commute: Q^{-1} P = P Q^{-1}.
    return _commuting_solve(Q, P) if power > 0 else _commuting_solve(P, Q)


def _forward(A: Array, power: float, method: str, iters: int, degree, check: bool) -> Array:
    if method == "eigh":
        _, V, s = _eigh_checked(A, power, check)
        return _from_eigh(V, s if power > 0 else 1.0 / s)
    c = eig_upper_bound(A)
    An = A / c
    if method == "newton_schulz":
        X = _roots_newton_schulz(An, power, iters)
    elif method == "denman_beavers":
        X = _roots_denman_beavers(An, power, iters)
    elif method == "taylor":
        X = _roots_taylor(An, power, degree)
    else:
        X = _roots_pade(An, power, degree)
    return X * c**power


# ---------------------------------------------------------------------------------------
# The differentiable matrix power A^{±1/2}


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3, 4, 5, 6, 7))
def _matrix_root(A, power, method, iters, degree, backward, backward_iters, check):
    return _forward(A, power, method, iters, degree, check)


@_matrix_root.defjvp
@full_precision_products  # traced lazily, maybe outside the public function's scope
def _matrix_root_jvp(
    power, method, iters, degree, backward, backward_iters, check, primals, tangents
):
    (A,), (dA,) = primals, tangents
    dA = sym(dA)
    if backward == "eigh":
        # Exact, in A's eigenbasis: dX = V [(V^T dA V)_ij K_ij] V^T with K_ij = 1/(s_i + s_j)
        # for A^{1/2} and -1/(s_i s_j (s_i + s_j)) for A^{-1/2}.
        if method == "eigh":
            _, V, s = _eigh_checked(A, power, check)
            X = _from_eigh(V, s if power > 0 else 1.0 / s)
        else:
            X = _forward(A, power, method, iters, degree, check)
            # Order the eigh after the forward's LAPACK calls (Padé's solve, Denman–Beavers'
            # inverses); see `_sequencing`.
            A = after(A, X)
            _, V, s = _eigh_checked(A, power, False)
        K = 1.0 / (s[..., :, None] + s[..., None, :])
        if power < 0:
            K = -K / (s[..., :, None] * s[..., None, :])
        Vt = jnp.swapaxes(V, -1, -2)
        return X, V @ ((Vt @ dA @ V) * K) @ Vt
    X = _forward(A, power, method, iters, degree, check)
    if power > 0:  # X dX + dX X = dA
        return X, self_adjoint_lyapunov(X, dA, backward, backward_iters, symmetric_rhs=True)
    # X = S^{-1} with S = A^{1/2} = A X: dX = -X dS X, S dS + dS S = dA, and X commutes with
    # S, so dX = -L_S^{-1}(X dA X) (`commuting`). S stands in for X^{-1} in the operator that
    # second derivatives differentiate through: exact for the exact root, and as accurate as
    # the forward otherwise (as X itself is in L_S).
    S = A @ X
    dX = self_adjoint_lyapunov(
        S, dA, backward, backward_iters, symmetric_rhs=True, commuting=(X, S)
    )
    return X, -dX


def _check_spd(A: Array, power: float, method: str) -> Array:
    r"""Value checks under jit, returning the symmetric part of `A`.

    Finite, symmetric, and (except for ``"eigh"``, which checks its eigenvalues) positive
    (semi)definite.
    """
    n, dtype = A.shape[-1], A.dtype
    eps = jnp.finfo(dtype).eps
    # The predicates only decide whether to raise: no derivative flows through them.
    A_value = jax.lax.stop_gradient(A)
    scale = jnp.max(jnp.abs(A_value), axis=(-2, -1))
    finite = jnp.all(jnp.isfinite(scale))  # max propagates NaN, and |Inf| is Inf
    asym = jnp.max(jnp.abs(A_value - jnp.swapaxes(A_value, -1, -2)), axis=(-2, -1))
    # Sums of n rounded products (a sample covariance X^T X) are symmetric to ~n eps |A|.
    symmetric = jnp.all(asym <= 10 * n * eps * scale)
    A, A_value = sym(A), sym(A_value)
    definite = "definite" if power < 0 else "semidefinite"
    messages = (
        "A contains NaN or Inf.",
        "A must be symmetric; got A != A.T.",
        f"A must be symmetric positive {definite}; it has a negative eigenvalue.",
    )
    if method == "eigh":  # it checks definiteness on its eigenvalues
        positive = jnp.bool_(True)
    else:
        # Cholesky of A + delta I (n^3 / 3 flops) fails, with NaN, iff A has an eigenvalue
        # below -delta; delta ~ n eps ||A|| accepts semidefinite A up to rounding. (For
        # inv_sqrtm a singular A passes this check; the iterations then return large or
        # non-finite values.)
        delta = 10 * n * eps * eig_upper_bound(A_value)
        factor = cholesky_lower(A_value + delta * eye_like(A))
        # A failed factorization is NaN on and below the diagonal: the diagonal says so.
        positive = jnp.all(jnp.isfinite(jnp.diagonal(factor, axis1=-2, axis2=-1)))
    # One error_if for the three tests (each costs about two products at batch 64, n = 64),
    # reporting the first that fails.
    index = jnp.where(~finite, 0, jnp.where(~symmetric, 1, 2))
    return eqx.branched_error_if(A, ~(finite & symmetric & positive), index, messages)


def _resolve_options(method, iters, degree, backward, backward_iters):
    method = check_choice(method, "method", METHODS)
    if iters is None:
        iters = _DEFAULT_ITERS.get(method, 0)
    elif method in _DEFAULT_ITERS:
        iters = check_int(iters, "iters", low=1)
    else:
        raise ValueError(
            f"iters applies to method='newton_schulz' or 'denman_beavers'; got iters={iters!r} "
            f"with method={method!r}."
        )
    if degree is None:
        degree = _DEFAULT_DEGREE.get(method)
    elif method == "taylor":
        degree = check_int(degree, "degree", low=1)
    elif method == "pade":
        if (
            not isinstance(degree, tuple | list)
            or len(degree) != 2
            or not all(isinstance(d, int) and not isinstance(d, bool) for d in degree)
            or degree[0] < 1
            or degree[1] < 0
        ):
            raise ValueError(
                f"degree must be a pair (M, N) of ints, M >= 1, N >= 0, for method='pade'; got "
                f"degree={degree!r}."
            )
        degree = (int(degree[0]), int(degree[1]))
    else:
        raise ValueError(
            f"degree applies to method='taylor' or 'pade'; got degree={degree!r} with "
            f"method={method!r}."
        )
    if backward is None:
        backward = _DEFAULT_BACKWARD[method]
    backward = check_choice(backward, "backward", BACKWARDS)
    if (method, backward) == ("eigh", "autodiff"):
        raise ValueError(
            "backward='autodiff' applies to the methods made of products and inverses; "
            "method='eigh' has the exact derivative (backward='eigh'), where autodiff of eigh "
            "would divide by eigenvalue gaps."
        )
    backward_iters = check_int(backward_iters, "backward_iters", low=1)
    return method, iters, degree, backward, backward_iters


def _matrix_power_half(A, power, method, iters, degree, backward, backward_iters, check):
    A = jnp.asarray(A)
    check_matrix_batch(A, "A")
    options = _resolve_options(method, iters, degree, backward, backward_iters)
    A = _check_spd(A, power, options[0]) if check else sym(A)
    method, iters, degree, backward, backward_iters = options
    if backward == "autodiff":  # JAX differentiates the computation itself
        return _forward(A, power, method, iters, degree, check)
    return _matrix_root(A, power, *options, check)


@public_jit
def sqrtm(
    A: Float[Array, "*batch n n"],
    /,
    *,
    method: str = "eigh",
    iters: int | None = None,
    degree: int | tuple[int, int] | None = None,
    backward: str | None = None,
    backward_iters: int = DEFAULT_LYAPUNOV_ITERS,
    check: bool = True,
) -> Float[Array, "*batch n n"]:
    r"""Principal square root $A^{1/2}$ of symmetric positive semidefinite matrices.

    See the module docstring for the five methods, their accuracy and the derivatives
    (forward and reverse mode).

    Parameters
    ----------
    A : Float[Array, "*batch n n"]
        Symmetric positive semidefinite, or a batch of them (leading dimensions).
    method : str
        ``"eigh"`` (exact), ``"newton_schulz"``, ``"denman_beavers"``, ``"taylor"`` or
        ``"pade"``; static.
    iters : int, optional
        Steps of ``"newton_schulz"`` (default 10) or ``"denman_beavers"`` (default 10).
    degree : int or (int, int), optional
        Degree $K$ of ``"taylor"`` (default 10, as in the paper's code), or $[M, N]$ of ``"pade"``
        (default (5, 5), the paper's).
    backward : str, optional
        The derivative: of the exact function, by a Lyapunov solve, ``"eigh"`` (exact),
        ``"smith"`` (a Cholesky factorization and matrix products) or ``"newton_schulz"``
        (matrix products, the paper's); or ``"autodiff"``, JAX's derivative of the
        computation (exact for the computed approximation; not for ``method="eigh"``).
        Default: ``"eigh"`` for ``"eigh"``, ``"smith"`` otherwise.
    backward_iters : int
        At most this many Smith or Newton–Schulz steps in the derivative (default 20;
        Newton–Schulz reaches float32 precision at $n = 256$ for $\kappa(A) \le 10^4$, where
        the paper's 8 are loose beyond $n \approx 64$; Smith needs about 7 there); steps
        after convergence are skipped.
    check : bool
        Check (also under jit, by `equinox.error_if`) that $A$ is finite, symmetric to
        rounding, and positive semidefinite (from the eigenvalues for ``"eigh"``, by a
        Cholesky factorization of $A + \delta I$, $n^3/3$ flops, otherwise). With
        ``check=False`` a bad $A$ gives NaN or a meaningless result, silently.

    Returns
    -------
    Float[Array, "*batch n n"]
        $X$ with $X^2 \approx A$, symmetric positive semidefinite.

    Raises
    ------
    ValueError, TypeError
        For non-square or non-floating input, or options that do not fit the method.
    EquinoxRuntimeError
        When ``check=True`` and $A$ holds NaN/Inf, is not symmetric or not positive
        semidefinite.

    Notes
    -----
    Cost per matrix, with a product costing $2 n^3$ flops: ``"eigh"`` one symmetric
    eigendecomposition ($\approx 9 n^3$ flops, but LAPACK-bound and slow on accelerators);
    ``"newton_schulz"`` 3 products per step; ``"denman_beavers"`` 2 Cholesky inverses per step;
    ``"taylor"`` about $2\sqrt{K}$ products (5 at $K = 10$); ``"pade"`` about
    $2\sqrt{\max(M, N)}$ products (4 at $[5, 5]$) and one Cholesky inverse and product. The
    derivative adds one eigh; or for ``"smith"`` a Cholesky factorization, 3 products and
    up to `backward_iters` steps of 3 products (those it needs, about
    $\log_2 \log(1/\epsilon) - \log_2 \log(1/\rho)$ with
    $\rho = (\kappa(A)^{1/4} - 1)/(\kappa(A)^{1/4} + 1)$); or for ``"newton_schulz"`` up to
    `backward_iters` steps of 5 products (about $\log_{3/2}\kappa(A)^{1/2}$ plus 4); or
    (autodiff) two products per forward product.

    References
    ----------
    Song, Sebe & Wang (2022), "Fast Differentiable Matrix Square Root", ICLR,
    arXiv:2201.08663. [song2022]

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> A = jnp.array([[4.0, 1.0], [1.0, 3.0]])
    >>> X = spectral.sqrtm(A, method="pade")
    >>> bool(jnp.allclose(X @ X, A, atol=1e-4))
    True
    >>> g = jax.grad(lambda A: jnp.trace(spectral.sqrtm(A, method="taylor")))(A)
    >>> bool(jnp.allclose(g, 0.5 * spectral.inv_sqrtm(A), atol=1e-4))
    True
    """
    return _matrix_power_half(A, 0.5, method, iters, degree, backward, backward_iters, check)


@public_jit
def inv_sqrtm(
    A: Float[Array, "*batch n n"],
    /,
    *,
    method: str = "eigh",
    iters: int | None = None,
    degree: int | tuple[int, int] | None = None,
    backward: str | None = None,
    backward_iters: int = DEFAULT_LYAPUNOV_ITERS,
    check: bool = True,
) -> Float[Array, "*batch n n"]:
    r"""Inverse principal square root $A^{-1/2}$ of symmetric positive definite matrices.

    See the module docstring for the five methods, their accuracy and the derivatives
    (for the exact function $-A^{-1/2} \dot S A^{-1/2}$, with the Lyapunov solve $\dot S$ of
    the square root).

    Parameters
    ----------
    A : Float[Array, "*batch n n"]
        Symmetric positive definite, or a batch of them (leading dimensions).
    method : str
        ``"eigh"`` (exact), ``"newton_schulz"``, ``"denman_beavers"``, ``"taylor"`` or
        ``"pade"``; static.
    iters : int, optional
        Steps of ``"newton_schulz"`` (default 10) or ``"denman_beavers"`` (default 10).
    degree : int or (int, int), optional
        Degree $K$ of ``"taylor"`` (default 10, as in the paper's code), or $[M, N]$ of ``"pade"``
        (default (5, 5), the paper's).
    backward : str, optional
        The derivative: of the exact function, by a Lyapunov solve, ``"eigh"`` (exact),
        ``"smith"`` (a Cholesky factorization and matrix products) or ``"newton_schulz"``
        (matrix products, the paper's); or ``"autodiff"``, JAX's derivative of the
        computation (exact for the computed approximation; not for ``method="eigh"``).
        Default: ``"eigh"`` for ``"eigh"``, ``"smith"`` otherwise.
    backward_iters : int
        At most this many Smith or Newton–Schulz steps in the derivative (default 20;
        Newton–Schulz reaches float32 precision at $n = 256$ for $\kappa(A) \le 10^4$, where
        the paper's 8 are loose beyond $n \approx 64$; Smith needs about 7 there); steps
        after convergence are skipped.
    check : bool
        Check (also under jit, by `equinox.error_if`) that $A$ is finite, symmetric to
        rounding, and positive definite (from the eigenvalues for ``"eigh"``, by a
        Cholesky factorization of $A + \delta I$, $n^3/3$ flops, otherwise). With
        ``check=False`` a bad $A$ gives NaN or a meaningless result, silently.

    Returns
    -------
    Float[Array, "*batch n n"]
        $X$ with $X A X \approx I$, symmetric positive definite.

    Raises
    ------
    ValueError, TypeError
        For non-square or non-floating input, or options that do not fit the method.
    EquinoxRuntimeError
        When ``check=True`` and $A$ holds NaN/Inf, is not symmetric or not positive
        definite.

    Notes
    -----
    Same costs as `sqrtm`; the Lyapunov derivatives add two products
    ($A^{1/2} = A\,A^{-1/2}$ and the outer $-X \dot S X$).

    References
    ----------
    Song, Sebe & Wang (2022), "Fast Differentiable Matrix Square Root", ICLR,
    arXiv:2201.08663. [song2022]

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import spectral
    >>> A = jnp.array([[4.0, 1.0], [1.0, 3.0]])
    >>> W = spectral.inv_sqrtm(A, method="newton_schulz", iters=12)
    >>> bool(jnp.allclose(W @ A @ W, jnp.eye(2), atol=1e-4))
    True
    """
    return _matrix_power_half(A, -0.5, method, iters, degree, backward, backward_iters, check)
