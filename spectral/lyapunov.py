r"""The Lyapunov equation $X Y + Y X = G$ for symmetric positive definite $X$.

It is the inner solve of the derivatives of the matrix square root (`spectral.matfun`):
the tangent of $A^{1/2} = X$ solves $X \dot X + \dot X X = \dot A$. Three solvers, batched
over leading dimensions:

- ``"eigh"``: exact in $X$'s eigenbasis, $Y = V [(V^\top G V)_{ij} / (x_i + x_j)] V^\top$
  from $X = V \operatorname{diag}(x) V^\top$ (one symmetric eigendecomposition).
- ``"newton_schulz"``: the coupled Newton–Schulz iteration for the matrix sign function of
  $\begin{bmatrix} X/c & G/c \\ 0 & -X/c\end{bmatrix}$, whose limit is
  $\begin{bmatrix} I & 2Y \\ 0 & -I\end{bmatrix}$ (Song, Sebe & Wang 2022, Sec. 3.3; Higham
  2008, ch. 5): matrix products only, 5 or 6 per step, about
  $\log_{3/2} \kappa(X) + 4$ steps.
- ``"smith"``: the Cayley transform and the squared Smith iteration (Smith 1968). For any
  $q > 0$, $(X + qI) Y (X + qI) - (X - qI) Y (X - qI) = 2q (XY + YX)$, so with
  $R = (X + qI)^{-1}$ and $T = (X - qI) R = I - 2qR$ the equation is the Stein equation
  $Y - T Y T = 2q\,R G R$, whose solution is the convergent series
  $Y = \sum_{k \ge 0} T^k (2q\,RGR) T^k$ (the eigenvalues $(x - q)/(x + q)$ of $T$ lie in
  $(-1, 1)$). Its partial sums over $k < 2^j$ double at each step:
  $Y_{j+1} = Y_j + T_j Y_j T_j$, $T_{j+1} = T_j^2$, 3 products a step, and the relative
  error after $j$ steps is at most $\|T\|_2^{2^{j+1}}$. With
  $q = \sqrt{\lambda_{\min} \lambda_{\max}}$ (estimated by a few power iterations),
  $\|T\|_2 = (\sqrt{\kappa} - 1)/(\sqrt{\kappa} + 1)$ for $\kappa = \kappa(X)$. Measured at
  $n = 64$ (float32 / float64): 3 / 4 steps to rounding at $\kappa(X) = 3$ ($\kappa(A) = 10$
  for $X = A^{1/2}$), 6 / 7 at $\kappa(X) = 100$ and 8 / 9 at $\kappa(X) = 1000$, against
  about 8 and 16 Newton–Schulz steps of 5 products at the first two. It pays one Cholesky
  factorization of $X + qI$ (well conditioned: $\kappa(X + qI) = \sqrt{\kappa(X)}$) and
  its inverse.

Both iterations stop once converged (every matrix of the batch): the iteration count is an
upper bound. The stopping tests look at $X$'s iterates only (never at $G$), so each solve is
a linear map of $G$, as its use inside derivatives needs.

References
----------
Smith (1968), "Matrix equation XA + BX = C", SIAM J. Appl. Math. 16(1), 198–201,
doi:10.1137/0116017. [smith1968]
Song, Sebe & Wang (2022), "Fast Differentiable Matrix Square Root", ICLR,
arXiv:2201.08663. [song2022]
Higham (2008), "Functions of Matrices: Theory and Computation", SIAM. [higham2008]
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import check_choice, check_int, full_precision_products, public_jit
from ._symmetric import check_matrix_batch, eig_upper_bound, eye_like, spd_inverse, sym

METHODS = ("eigh", "newton_schulz", "smith")
# At most this many steps of the iterations (steps after convergence are skipped). For
# Newton–Schulz: from the smallest eigenvalue of X / c the iteration grows by about 1.5x a
# step, then converges quadratically; 20 steps reach float32 precision for n = 256 with
# kappa(A) up to 1e4 (kappa(X) = 100), while kappa(A) = 10 needs 8. The paper's 8 leave
# errors of 1e-2 at kappa(X) = 100 (measured in the tests). For Smith, 20 doublings sum
# 2^20 terms of the series, enough for kappa(X) up to about 1e6 in float64.
DEFAULT_ITERS = 20


def lyapunov_eigh_from(V: Array, s: Array, G: Array) -> Array:
    r"""$Y$ with $XY + YX = G$ for $X = V \operatorname{diag}(s) V^\top$."""
    Vt = jnp.swapaxes(V, -1, -2)
    return V @ ((Vt @ G @ V) / (s[..., :, None] + s[..., None, :])) @ Vt


def _rayleigh_after_power_steps(S: Array, steps: int) -> Array:
    r"""$v^\top S v$ after `steps` normalized power iterations, shape (..., 1, 1).

    For symmetric $S$ the value lies in $[\lambda_{\min}(S), \lambda_{\max}(S)]$ and tends to
    the eigenvalue of largest modulus. Matrix-vector products only, negligible next to the
    matrix products of the solves.
    """
    n = S.shape[-1]
    # A fixed start vector with no special alignment (not the ones vector).
    v = jnp.broadcast_to(jnp.cos(jnp.arange(n, dtype=S.dtype) * 2.4 + 0.3), S.shape[:-1])

    def power_step(v, _):
        w = jnp.einsum("...ij,...j->...i", S, v)
        return w / jnp.maximum(
            jnp.linalg.norm(w, axis=-1, keepdims=True), jnp.finfo(S.dtype).tiny
        ), None

    v, _ = jax.lax.scan(power_step, v, length=steps)
    return jnp.einsum("...i,...ij,...j->...", v, S, v)[..., None, None]


def _iterate_until(advance, state: tuple, iters: int) -> tuple:
    """Apply ``state, done = advance(*state)`` until `done` (a scalar) or `iters` times.

    A `lax.while_loop`: converged steps cost nothing (a `scan` with a `cond` per step still
    copied its carry through every skipped step: the Smith solve at batch 64, $n = 64$,
    float32 took 16.6 ms that way against 13.3 ms, medians of 21 calls).
    It has no reverse-mode derivative; the solves that use it are differentiated through
    `jax.lax.custom_linear_solve` instead.
    """

    def body(carry):
        *state, _, step = carry
        *state, done = advance(*state)
        return (*state, done, step + 1)

    def running(carry):
        return ~carry[-2] & (carry[-1] < iters)

    *state, _, _ = jax.lax.while_loop(running, body, (*state, jnp.bool_(False), 0))
    return tuple(state)


def _sign_iteration_scale(X: Array, power_steps: int = 8) -> Array:
    r"""A scale $c$ with $\lambda_{\max}(X)/c \in (0, 1.3]$, close to 1 when it can be.

    The Newton–Schulz sign step $h(x) = x(3 - x^2)/2$ multiplies small eigenvalues by only
    1.5, so the step count grows with $\log_{1.5}(c/\lambda_{\min})$: the tighter $c$, the
    fewer steps. $c = \max(\mu, \bar c/1.3)$ with $\bar c = \min(\|X\|_F, \|X\|_1)
    \ge \lambda_{\max}$ and $\mu \le \lambda_{\max}$ the Rayleigh quotient after
    `power_steps` power iterations: whatever $\mu$, $\lambda_{\max}/c \le 1.3$, where $h$
    still maps into $[0.85, 1]$ (inside the region of convergence $(0, \sqrt 3)$), and for an
    accurate $\mu$ the spectrum's top sits at 1 instead of at $\lambda_{\max}/\bar c$ (about
    $1/\sqrt n$ for a flat spectrum). Saves about $\log_{1.5}(\bar c/\lambda_{\max})$ steps.
    """
    return jnp.maximum(_rayleigh_after_power_steps(X, power_steps), eig_upper_bound(X) / 1.3)


def _lyapunov_newton_schulz(
    X: Array, G: Array, iters: int, symmetric: bool = False, commuting: Array | None = None
) -> Array:
    if commuting is not None:  # the right-hand side C G C
        G = commuting @ G @ commuting
    # sign([[B, C], [0, -B]]) = [[I, Z], [0, -I]] with B Z + Z B = 2 C, by the Newton–Schulz
    # sign iteration H <- H (3I - H^2) / 2 written blockwise; B0 = X / c has its spectrum
    # in (0, 1.3] (see `_sign_iteration_scale`), inside the iteration's region of
    # convergence (0, sqrt(3)).
    #
    # A step with B^2 = I to working precision (every matrix of the batch) leaves B = I to
    # rounding, after which a step maps (B, C) to itself: the remaining steps are skipped, so
    # the step count is an upper bound, and well-conditioned X pay only for the steps they
    # need (8 for kappa(X) = 3 at n = 64 in float32, out of the default 20). The test is on
    # B alone, which does not depend on G, so the map stays linear in G (and transposable).
    c = _sign_iteration_scale(X)
    eye = eye_like(X)
    tol = X.shape[-1] * jnp.finfo(X.dtype).eps

    def advance(B, C):
        B2 = B @ B
        B2C = B2 @ C
        if symmetric:
            # C stays symmetric when G is, and C B2 = (B2 C)^T: 5 products, not 6. The
            # result is symmetrized: this form doubles an antisymmetric rounding error at
            # every converged step (2^20 eps ~ 1e-10 after 20 steps) instead of damping it.
            C = sym(0.5 * (B @ C @ B + 3.0 * C) - B2C)
        else:
            C = 0.5 * (B @ C @ B - B2C + C @ (3.0 * eye - B2))
        return 0.5 * (3.0 * B - B @ B2), C, jnp.max(jnp.abs(B2 - eye)) <= tol

    _, C = _iterate_until(advance, (X / c, G / c), iters)
    return 0.5 * C


def _cayley_shift(X: Array, power_steps: int = 8) -> Array:
    r"""$q \approx \sqrt{\lambda_{\min}(X) \lambda_{\max}(X)}$, which minimizes $\|T\|_2$.

    $\lambda_{\max} \approx \mu$, the Rayleigh quotient of $X$ after `power_steps` power
    iterations, and $\lambda_{\min} \approx \mu - \nu$ with $\nu$ that of $\mu I - X$ (whose
    eigenvalue of largest modulus is $\mu - \lambda_{\min}$). Any $q > 0$ gives a convergent
    iteration; a rough $q$ costs little ($\|T\|_2$ is flat near the optimum, and each step
    squares it), so the estimates need no accuracy guarantee.
    """
    hi = jnp.maximum(_rayleigh_after_power_steps(X, power_steps), jnp.finfo(X.dtype).tiny)
    lo = hi - _rayleigh_after_power_steps(hi * eye_like(X) - X, power_steps)
    lo = jnp.clip(lo, hi * jnp.finfo(X.dtype).eps, hi)
    return jnp.sqrt(lo * hi)


def _lyapunov_smith(
    X: Array, G: Array, iters: int, symmetric: bool = False, commuting: Array | None = None
) -> Array:
    # Y = sum_k T^k G1 T^k with T = I - 2q (X + qI)^{-1}, G1 = 2q R G R (see the module
    # docstring), by doubling. With a `commuting` C (a function of X), the solve is of
    # X Y + Y X = C G C, whose G1 = 2q (RC) G (RC): the sandwich by C costs one product
    # with R (independent of G) instead of two with G.
    #
    # After a step the partial sum holds the terms k < 2^(j+1) and the rest is
    # T_{j+1} Y T_{j+1}, so the relative error is at most ||T_{j+1}||_2^2 <= ||T_{j+1}||_F^2.
    # A step whose T_j already has ||T_j||_F^4 <= eps (an upper bound of ||T_{j+1}||_2^2) is
    # the last and skips the squaring. The tests are on T alone, which does not depend on G.
    q = _cayley_shift(X)
    eye = eye_like(X)
    R = spd_inverse(X + q * eye)  # (X + qI)^{-1}
    T = eye - 2.0 * q * R
    RC = R if commuting is None else R @ commuting
    tol = jnp.finfo(X.dtype).eps

    def frobenius_squared(M):
        return jnp.sum(M * M, axis=(-2, -1))

    def advance(T, norm, Y):
        # norm = ||T||_F^2, carried over from the step that squared T.
        last = jnp.all(norm**2 <= tol)
        Y = Y + T @ Y @ T
        T, norm = jax.lax.cond(last, lambda: (T, norm), lambda: squared(T))
        return T, norm, Y, last | jnp.all(norm <= tol)

    def squared(T):
        T = T @ T
        return T, frobenius_squared(T)

    _, _, Y = _iterate_until(advance, (T, frobenius_squared(T), 2.0 * q * (RC @ G @ RC)), iters)
    return sym(Y) if symmetric else Y


_ITERATIVE = {"newton_schulz": _lyapunov_newton_schulz, "smith": _lyapunov_smith}


def self_adjoint_lyapunov(
    X: Array,
    G: Array,
    method: str,
    iters: int,
    *,
    symmetric_rhs: bool = False,
    commuting: tuple[Array, Array] | None = None,
) -> Array:
    r"""$\mathcal L^{-1} G$, $\mathcal L Y = XY + YX$, by an iteration, with itself as transpose.

    `method` is ``"newton_schulz"`` or ``"smith"``. For symmetric $X$, $\mathcal L$ is
    self-adjoint in the Frobenius inner product ($\langle XY + YX, Z\rangle =
    \langle Y, XZ + ZX\rangle$), and so is $\mathcal L^{-1}$; it maps symmetric matrices to
    symmetric matrices, so $\mathcal L^{-1} \circ \operatorname{sym}$ is self-adjoint too.
    With `symmetric_rhs`, the solve is $\mathcal L^{-1} \operatorname{sym}(G)$ and uses
    the symmetric forms (5 products per Newton–Schulz step instead of 6): the derivatives of
    the matrix square root, whose tangents are symmetric.

    Stated as a symmetric `jax.lax.custom_linear_solve`: the transpose (reverse mode) runs
    the same forward solve, where JAX's own transpose of an unrolled iteration would replay
    the stored iterates through transposed batched products (2.5–3x slower on XLA:CPU,
    `bench matfun`, batch 64, $n = 64$, float32, for the Newton–Schulz solve), and the
    iterations can stop early in a `lax.while_loop`, which has no reverse-mode derivative of
    its own. It batches under `vmap`, and differentiates in $X$ implicitly, through
    $\mathcal L$.

    With ``commuting=(C, C_inv)``, a symmetric $C$ that commutes with $X$ (a function of
    it, as $A^{-1/2}$ is of $A^{1/2}$) and its inverse, the map is
    $G \mapsto \mathcal L^{-1}(C G C) = C\,\mathcal L^{-1}(G)\,C$, self-adjoint too, with
    inverse $Y \mapsto C^{-1} \mathcal L(Y) C^{-1}$: the derivative of the inverse square
    root. Smith's solve folds $C$ into its first step, one product independent of $G$ in
    place of the two products of a sandwich (whose transposes, in reverse mode, are
    transposed-operand products, slow on XLA:CPU).
    """
    solver = _ITERATIVE[method]
    C, C_inv = commuting if commuting is not None else (None, None)

    def operator(Y):
        LY = X @ Y + Y @ X
        return LY if C_inv is None else C_inv @ LY @ C_inv

    @full_precision_products  # traced lazily, maybe outside the public function's scope
    def solve(_, G):
        if symmetric_rhs:
            return solver(X, sym(G), iters, symmetric=True, commuting=C)
        return solver(X, G, iters, commuting=C)

    return jax.lax.custom_linear_solve(operator, G, solve, symmetric=True)


@public_jit
def solve_lyapunov(
    X: Float[Array, "*batch n n"],
    G: Float[Array, "*batch n n"],
    /,
    *,
    method: str = "smith",
    iters: int = DEFAULT_ITERS,
) -> Float[Array, "*batch n n"]:
    r"""Solve the Lyapunov equation $X Y + Y X = G$ for symmetric positive definite $X$.

    ``method="eigh"``: $Y = V [(V^\top G V)_{ij} / (x_i + x_j)] V^\top$ from
    $X = V \operatorname{diag}(x) V^\top$, exact. ``method="smith"`` (the default): the
    Cayley transform $T = (X - qI)(X + qI)^{-1}$ and at most `iters` doubling steps of the
    squared Smith iteration for $Y - TYT = 2q (X + qI)^{-1} G (X + qI)^{-1}$, 3 products a
    step; the relative error after $j$ steps is at most $\|T\|_2^{2^{j+1}}$, with
    $\|T\|_2 \approx (\sqrt{\kappa(X)} - 1)/(\sqrt{\kappa(X)} + 1)$.
    ``method="newton_schulz"``: at most `iters` steps of the coupled Newton–Schulz sign
    iteration on $\begin{bmatrix} X/c & G/c \\ 0 & -X/c\end{bmatrix}$ (Song, Sebe & Wang
    2022), 6 matrix products per step (5 in the derivatives, where $G$ is symmetric); the
    error falls quadratically once $1.5^{k}\,\lambda_{\min}(X)/c \gtrsim 1$, where
    $c \approx \lambda_{\max}(X)$ comes from a few power iterations (and is at least
    $\min(\|X\|_F, \|X\|_1)/1.3$, which keeps the iteration convergent). For both
    iterations `iters` is an upper bound: once every matrix of the batch has converged, the
    remaining steps are skipped (under `vmap`, once every mapped matrix has).

    Parameters
    ----------
    X : Float[Array, "*batch n n"]
        Symmetric positive definite (not checked: this is the inner solve of the matrix
        square-root derivatives, where it is SPD by construction).
    G : Float[Array, "*batch n n"]
        Right-hand side (any square matrix).
    method : str
        ``"smith"``, ``"newton_schulz"`` or ``"eigh"``; static.
    iters : int
        At most this many steps of the iteration; static.

    Returns
    -------
    Float[Array, "*batch n n"]
        $Y$.

    Notes
    -----
    Cost per matrix, a product being $2n^3$ flops: ``"eigh"`` one eigendecomposition and 4
    products; ``"smith"`` a Cholesky factorization, a triangular inverse, 3 products, then
    3 per step (about $\log_2 \log(1/\epsilon) - \log_2 \log(1/\|T\|_2)$ steps);
    ``"newton_schulz"`` 6 products per step.

    References
    ----------
    Smith (1968), "Matrix equation XA + BX = C", SIAM J. Appl. Math. 16(1), 198–201.
    [smith1968] Song, Sebe & Wang (2022), "Fast Differentiable Matrix Square Root", ICLR,
    arXiv:2201.08663. [song2022]

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import spectral
    >>> X = jnp.diag(jnp.array([1.0, 2.0]))
    >>> Y = spectral.solve_lyapunov(X, jnp.ones((2, 2)), method="eigh")
    >>> bool(jnp.allclose(X @ Y + Y @ X, jnp.ones((2, 2))))
    True
    """
    X, G = jnp.asarray(X), jnp.asarray(G)
    check_matrix_batch(X, "X")
    if G.shape != X.shape:
        raise ValueError(f"G must have the shape of X, {X.shape}; got shape {G.shape}.")
    method = check_choice(method, "method", METHODS)
    iters = check_int(iters, "iters", low=1)
    if method == "eigh":
        x, V = jnp.linalg.eigh(sym(X))
        return lyapunov_eigh_from(V, x, G)
    return self_adjoint_lyapunov(sym(X), G, method, iters)
