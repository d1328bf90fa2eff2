"""Oracle tests of `spectral.sqrtm`, `spectral.inv_sqrtm` and `spectral.solve_lyapunov`.

Matrices are built exactly as $A = Q \\operatorname{diag}(w) Q^\\top$ (Q orthogonal from a
fixed NumPy seed, $w$ geometric from 1 to $1/\\kappa$), so the exact answers are
$Q \\operatorname{diag}(w^{\\pm 1/2}) Q^\\top$; `scipy.linalg.sqrtm` is a second oracle.
Taylor and Padé are exact scalar functions of the eigenvalues: their error is predicted in
NumPy float64 from the Taylor coefficients $\\binom{\\pm 1/2}{k}(-1)^k$ (Padé: the
approximant is solved from them in exact rational arithmetic) and checked to rounding.
Derivatives are checked against the closed form of the exact function (computed in NumPy)
and against finite differences.
"""

import functools
import re
from fractions import Fraction

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from jax.test_util import check_grads
from threadpoolctl import threadpool_limits

import spectral
from spectral import lyapunov
from tests.helpers import dot_precisions, orthogonal, symmetric_with_spectrum

EPS = float(np.finfo(np.float64).eps)
METHODS = ("eigh", "newton_schulz", "denman_beavers", "taylor", "pade")
AUTODIFF_METHODS = METHODS[1:]  # eigh has only its exact derivative
BACKWARDS = ("eigh", "newton_schulz", "smith", "autodiff")
ITERATIVE_LYAPUNOV = ("newton_schulz", "smith")
FUNCTIONS = {"sqrtm": (spectral.sqrtm, 0.5), "inv_sqrtm": (spectral.inv_sqrtm, -0.5)}
# Condition numbers 1e1 .. 1e6, stacked into one batch (one compilation per method and n).
KAPPAS = 10.0 ** np.arange(1, 7)
# Iterations for the whole batch: Newton-Schulz needs about log_{9/4}(c / lambda_min) + 4
# steps (module docstring), at most the cruder log_1.5(c / lambda_min) + 6 <= 47 here, as
# c / lambda_min <= sqrt(n) * kappa <= 1.6e7 (n <= 256).
# Denman-Beavers (Newton's method for the sign function) converges in about 15 (measured
# 15 for kappa = 1e6). Extra steps after convergence are harmless (both are stable).
ITERS = {"newton_schulz": 50, "denman_beavers": 20}
# The documented default degrees of the truncated methods (the paper's code).
DEFAULT_DEGREE = {"taylor": 10, "pade": (5, 5)}
# The derivative of the exact function, by the Lyapunov solve (Song et al.'s backward).
DEFAULT_BACKWARD = {
    "eigh": "eigh",
    "newton_schulz": "smith",
    "denman_beavers": "smith",
    "taylor": "smith",
    "pade": "smith",
}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Run this module with one OpenBLAS thread (restored afterwards).

    jaxlib's LAPACK kernels run the entries of a batch, and independent calls such as the
    two inverses of a Denman-Beavers step, concurrently on XLA's thread pool; each then
    calls a multithreaded OpenBLAS, whose own threads they fight over. On a 2-core machine
    that stalls batched calls for minutes: 400 batched (6 x 64 x 64) Denman-Beavers square
    roots took 7-9 s with one BLAS thread and did not finish in 200 s without. Same remedy
    as experiments/benchmarks/matfun.py (threadpoolctl comes with scikit-learn, a dev
    dependency).
    """
    jax.block_until_ready(jnp.linalg.eigh(jnp.eye(2)))  # threadpoolctl sees loaded libraries
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ---------------------------------------------------------------------------------------
# Oracles


@functools.cache
def spd_batch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(A, Q, W)`: `A[b] = Q diag(W[b]) Q^T`, `W[b]` geometric from 1 to 1 / KAPPAS[b]."""
    Q = orthogonal(np.random.default_rng(n), n, n)
    W = np.stack([np.geomspace(1.0, 1.0 / kappa, n) for kappa in KAPPAS])
    A = (Q * W[:, None, :]) @ Q.T
    return 0.5 * (A + np.swapaxes(A, -1, -2)), Q, W


def eig_upper_bound(A: np.ndarray) -> np.ndarray:
    """The library's normalizer c = min(||A||_F, ||A||_1), computed here in NumPy, (..., 1)."""
    fro = np.linalg.norm(A, axis=(-2, -1))
    one = np.abs(A).sum(axis=-2).max(axis=-1)
    return np.minimum(fro, one)[..., None]


def taylor_coefficients(power: Fraction, degree: int) -> list[Fraction]:
    """Exact Taylor coefficients of (1 - z)^power: binom(power, k) (-1)^k."""
    t = [Fraction(1)]
    for k in range(1, degree + 1):
        t.append(t[-1] * (k - 1 - power) / k)
    return t


@functools.cache
def pade_coefficients(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact [m, n] Padé approximant p/q (q_0 = 1) of sqrt(1 - z), by rational elimination.

    The conditions: the series of q(z) sqrt(1 - z) - p(z) vanishes through z^{m+n}.
    """
    t = taylor_coefficients(Fraction(1, 2), m + n)
    rows = [
        [t[k - j] if k >= j else Fraction(0) for j in range(1, n + 1)] + [-t[k]]
        for k in range(m + 1, m + n + 1)
    ]
    for i in range(n):  # Gauss-Jordan elimination, exact
        pivot = next(r for r in range(i, n) if rows[r][i] != 0)
        rows[i], rows[pivot] = rows[pivot], rows[i]
        for r in range(n):
            if r != i and rows[r][i] != 0:
                f = rows[r][i] / rows[i][i]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[i], strict=True)]
    q = [Fraction(1)] + [rows[i][n] / rows[i][i] for i in range(n)]
    p = [sum(q[j] * t[k - j] for j in range(min(k, n) + 1)) for k in range(m + 1)]
    return np.array(p, dtype=np.float64), np.array(q, dtype=np.float64)


def truncated_eigenvalues(method: str, power: float, degree, w: np.ndarray, c: np.ndarray):
    """Eigenvalues of the Taylor / Padé approximant: c^power r(z) at z = 1 - w / c."""
    z = 1.0 - w / c
    if method == "taylor":
        coefficients = np.array(taylor_coefficients(Fraction(power), degree), dtype=np.float64)
        r = np.polynomial.polynomial.polyval(z, coefficients)
    else:
        p, q = (np.polynomial.polynomial.polyval(z, a) for a in pade_coefficients(*degree))
        r = p / q if power > 0 else q / p  # A^{-1/2} ~ c^{-1/2} P^{-1} Q
    return c**power * r


def from_eigen(Q: np.ndarray, values: np.ndarray) -> np.ndarray:
    return (Q * values[..., None, :]) @ Q.T


def relative_error(X, exact) -> np.ndarray:
    X, exact = np.asarray(X), np.asarray(exact)
    return np.linalg.norm(X - exact, axis=(-2, -1)) / np.linalg.norm(exact, axis=(-2, -1))


def condition_tolerance(power: float) -> np.ndarray:
    """Working precision for the batch, from the conditioning of A -> A^{+-1/2}.

    Rounding A costs eps ||A|| = eps lambda_max; the relative condition number of A^{1/2} is
    about sqrt(kappa) / 2 and that of A^{-1/2} about kappa / 2 (first-order perturbation of
    lambda^{+-1/2} at lambda_min). Measured: at most 21 eps sqrt(kappa) (Denman-Beavers,
    n = 256, kappa = 1e6) and 1.4 eps kappa, so 100 and 10 leave a margin of about 5x.
    """
    return 100 * EPS * np.sqrt(KAPPAS) if power > 0 else 10 * EPS * KAPPAS


# ---------------------------------------------------------------------------------------
# Forward error
#
# Results are computed once and shared by the parametrized cases. The accuracy and
# derivative tests pass check=False: the value checks (`equinox.error_if` on the eigenvalues
# or a Cholesky factorization) have their own tests below, both paths symmetrize A the same
# way, so the numbers are identical, and the checks double the compilation time.
# Batched inputs are never combined into one `jax.jit` over several methods: two independent
# batched LAPACK calls (eigh and Cholesky) in one XLA:CPU computation deadlocked jaxlib
# 0.10.2 here, each of the two pool threads waiting in `ParallelBatchMap` for work queued
# behind the other (seen in gdb, about 1 run in 6).


def _options(method: str) -> dict:
    return {"iters": ITERS[method]} if method in ITERS else {}


@functools.cache
def computed_batch(name: str, method: str, n: int) -> np.ndarray:
    """The method's result on `spd_batch(n)` (a batch: the leading-dimension call)."""
    f, _ = FUNCTIONS[name]
    A = jnp.asarray(spd_batch(n)[0])
    return np.asarray(f(A, method=method, check=False, **_options(method)))


def _forward_params():
    # n = 64 and 256 are slow-marked.
    slow = pytest.mark.slow
    return [
        pytest.param(name, method, n, marks=slow) if n > 16 else pytest.param(name, method, n)
        for name in FUNCTIONS
        for method in METHODS
        for n in (16, 64, 256)
    ]


@pytest.mark.parametrize(("name", "method", "n"), _forward_params())
def test_forward_error_against_exact_and_scipy(name, method, n):
    _, power = FUNCTIONS[name]
    A, Q, W = spd_batch(n)
    X = computed_batch(name, method, n)
    assert X.shape == A.shape
    assert X.dtype == np.float64
    exact = from_eigen(Q, W**power)
    error = np.linalg.norm(X - exact, axis=(-2, -1))
    scale = np.linalg.norm(exact, axis=(-2, -1))
    if method in ("taylor", "pade"):
        # X = Q diag(c^p r(z_i)) Q^T up to rounding: ||X - A^p||_F equals the scalar
        # prediction ||c^p r(z) - w^p||_2. Rounding: K <= 10 products and one LU solve of a
        # well-conditioned Q(Z) (its zeros lie outside [0, 1)), each ~ n eps ||X||; measured
        # <= 2e-13 relative at n = 64, so 100 n eps (1.4e-12 there) leaves margin.
        predicted = truncated_eigenvalues(
            method, power, DEFAULT_DEGREE[method], W, eig_upper_bound(A)
        )
        tol = 100 * n * EPS * scale
        np.testing.assert_array_less(
            np.abs(error - np.linalg.norm(predicted - W**power, axis=-1)), tol
        )
        np.testing.assert_array_less(
            np.linalg.norm(X - from_eigen(Q, predicted), axis=(-2, -1)), tol
        )
        # and the truncation error is far above rounding: the prediction is not vacuous.
        assert np.all(error > 1e3 * tol)
    else:
        tol = condition_tolerance(power)
        np.testing.assert_array_less(error / scale, tol)
        # Second oracle: SciPy's Schur-based square root (itself accurate to the same
        # conditioning bound), inverted for A^{-1/2} (cond(A^{1/2}) = sqrt(kappa) more).
        for b in range(len(KAPPAS)):
            oracle = scipy.linalg.sqrtm(A[b])
            if power < 0:
                oracle = np.linalg.solve(oracle, np.eye(n))
            assert relative_error(X[b], oracle) < 2 * tol[b]


@pytest.mark.parametrize("n", [16, pytest.param(64, marks=pytest.mark.slow)])
@pytest.mark.parametrize("method", ["taylor", "pade"])
@pytest.mark.parametrize("name", ["sqrtm", "inv_sqrtm"])
def test_truncated_error_grows_with_condition_number(name, method, n):
    """The documented error growth: at fixed n the relative error increases with kappa."""
    _, power = FUNCTIONS[name]
    _, Q, W = spd_batch(n)
    errors = relative_error(computed_batch(name, method, n), from_eigen(Q, W**power))
    assert np.all(np.diff(errors) > 0), errors


# Degrees other than the defaults; [1, 0] Padé is the degree-1 Taylor polynomial.
OTHER_DEGREES = [
    ("sqrtm", "taylor", 25),
    ("inv_sqrtm", "pade", (1, 0)),
    ("sqrtm", "pade", (2, 3)),
    ("inv_sqrtm", "pade", (6, 2)),
]


@pytest.mark.parametrize("case", range(len(OTHER_DEGREES)), ids=str)
def test_truncated_methods_at_other_degrees(case):
    name, method, degree = OTHER_DEGREES[case]
    _, power = FUNCTIONS[name]
    A, Q, W = spd_batch(8)
    X = np.asarray(FUNCTIONS[name][0](jnp.asarray(A), method=method, degree=degree, check=False))
    predicted = truncated_eigenvalues(method, power, degree, W, eig_upper_bound(A))
    # Rounding as in test_forward_error_against_exact_and_scipy; degree 25 has 25 products.
    tol = 300 * 8 * EPS * np.linalg.norm(from_eigen(Q, W**power), axis=(-2, -1))
    np.testing.assert_array_less(np.linalg.norm(X - from_eigen(Q, predicted), axis=(-2, -1)), tol)


def test_pade_polynomials_are_positive_on_the_unit_interval():
    """P_M and Q_N are positive on [0, 1] (the spectrum of Z = I - A/c for PSD A), so both
    are symmetric positive definite and Padé's solve may use a Cholesky factorization (the
    docstring of spectral.matfun._commuting_solve states this for M, N <= 15)."""
    z = np.linspace(0.0, 1.0, 2001)
    for m in range(1, 16):
        for n in range(16):
            for name, a in zip("PQ", pade_coefficients(m, n), strict=True):
                values = np.polynomial.polynomial.polyval(z, a)
                # The minimum is at z = 1 (9e-10 for P at [15, 15]); float64 rounding ~1e-14.
                assert values.min() > 1e-12, (m, n, name, values.min())


def test_semidefinite_square_root():
    # A singular PSD matrix is valid input for sqrtm; eigh is exact on a diagonal one.
    X = spectral.sqrtm(jnp.diag(jnp.array([0.0, 1.0, 4.0, 9.0])))
    np.testing.assert_allclose(X, np.diag([0.0, 1.0, 2.0, 3.0]), atol=1e-15)


# ---------------------------------------------------------------------------------------
# Derivatives

GRAD_N = 4
# Forward options accurate to ~1e-12 on the gradient problem below, where z = 1 - lambda / c
# <= 0.45: 0.45^32 / sqrt(32) ~ 1e-12 for the Taylor series of (1 - z)^{-1/2}; c / lambda_min
# < 2, so 20 Newton-Schulz steps; the [6, 6] Padé error there is below 1e-12. Then the
# derivative of the exact function, which all methods return, is also the derivative of the
# computed one.
ACCURATE = {
    "eigh": {},
    "newton_schulz": {"iters": 20},
    "denman_beavers": {"iters": 12},
    "taylor": {"degree": 32},
    "pade": {"degree": (6, 6)},
}
BACKWARD_ITERS = 30  # the Lyapunov sign iteration from lambda(X / c) >= 0.5: ~10 suffice


def grad_problem(seed: int = 0):
    """`(B, A, dA, G)`: A = B B^T + n I (kappa < 2) from an unconstrained B, a tangent and a
    cotangent (neither symmetric)."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((GRAD_N, GRAD_N)) / 2
    A = B @ B.T + GRAD_N * np.eye(GRAD_N)
    dA = rng.standard_normal((GRAD_N, GRAD_N))
    G = rng.standard_normal((GRAD_N, GRAD_N))
    return B, A, dA, G


def spd_from(B):
    return B @ B.T + GRAD_N * jnp.eye(GRAD_N)


def closed_form_tangent(A: np.ndarray, dA: np.ndarray, power: float) -> np.ndarray:
    """Derivative of the exact A^{+-1/2} along dA (symmetrized), in A's eigenbasis (NumPy)."""
    w, V = np.linalg.eigh(A)
    s = np.sqrt(w)
    dA = 0.5 * (dA + dA.T)
    dS = V @ ((V.T @ dA @ V) / (s[:, None] + s[None, :])) @ V.T  # X dS + dS X = dA
    if power > 0:
        return dS
    Y = (V / s) @ V.T
    return -Y @ dS @ Y


def closed_form_cotangent(A: np.ndarray, G: np.ndarray, power: float) -> np.ndarray:
    """Adjoint of `closed_form_tangent` for the cotangent G: <G, dX> = <A_bar, dA>."""
    w, V = np.linalg.eigh(A)
    s = np.sqrt(w)
    G = 0.5 * (G + G.T)  # the input is symmetrized, so only sym(G) reaches A
    if power < 0:
        Y = (V / s) @ V.T
        G = -Y @ G @ Y
    return V @ ((V.T @ G @ V) / (s[:, None] + s[None, :])) @ V.T


@functools.cache
def computed_tangents(backward: str) -> dict[tuple[str, str], np.ndarray]:
    """`jax.jvp` (forward mode) of every (function, method) on `grad_problem(0)`."""
    _, A, dA, _ = grad_problem(0)
    # backward="eigh" differentiates the exact function in A's eigenbasis whatever the
    # forward accuracy: check that at the default (inaccurate, ~1e-3) degrees. The
    # Newton-Schulz Lyapunov solve uses the computed X, and autodiff differentiates the
    # computed X, so they get the accurate options.

    def every(A, dA):
        out = {}
        for name, (f, _) in FUNCTIONS.items():
            for method in AUTODIFF_METHODS if backward == "autodiff" else METHODS:
                options = _options(method) if backward == "eigh" else ACCURATE[method]
                fun = functools.partial(
                    f,
                    method=method,
                    backward=backward,
                    backward_iters=BACKWARD_ITERS,
                    check=False,
                    **options,
                )
                out[name, method] = jax.jvp(fun, (A,), (dA,))[1]
        return out

    out = jax.jit(every)(jnp.asarray(A), jnp.asarray(dA))
    return {key: np.asarray(dX) for key, dX in out.items()}


def _jvp_params():
    return [
        (method, backward)
        for backward in BACKWARDS
        for method in (AUTODIFF_METHODS if backward == "autodiff" else METHODS)
    ]


@pytest.mark.parametrize(("method", "backward"), _jvp_params())
@pytest.mark.parametrize("name", ["sqrtm", "inv_sqrtm"])
def test_jvp_matches_closed_form(name, method, backward):
    _, power = FUNCTIONS[name]
    _, A, dA, _ = grad_problem(0)
    dX = computed_tangents(backward)[name, method]
    # dA is not symmetric: the function symmetrizes A first, and so its tangent.
    expected = closed_form_tangent(A, dA, power)
    # Well conditioned (kappa(A) < 2): rounding ~ n eps; the Newton-Schulz paths add the
    # forward error (<= 1e-13 with ACCURATE) times a Lyapunov condition number ~ 1.
    # Autodiff gives the derivative of the computed approximation, off by the derivative of
    # its truncation error: for Taylor degree 32 at z <= 0.45, sum_{k > 32} k |t_k| z^(k-1)
    # ~ sqrt(32) 0.45^32 / 0.55 ~ 1e-10; the iterations' unrolled derivatives converge with
    # them.
    tol = {"eigh": 1e-13, "newton_schulz": 1e-11, "smith": 1e-11, "autodiff": 1e-9}[backward]
    np.testing.assert_allclose(dX, expected, atol=tol * np.abs(expected).max(), rtol=0)
    assert dX.dtype == np.float64


@functools.cache
def computed_cotangents() -> dict[tuple[str, str], np.ndarray]:
    _, A, _, G = grad_problem(1)

    def every(A, G):
        out = {}
        for name, (f, _) in FUNCTIONS.items():
            for backward in BACKWARDS:
                fun = functools.partial(
                    f,
                    method="newton_schulz",
                    backward=backward,
                    check=False,
                    **ACCURATE["newton_schulz"],
                )
                out[name, backward] = jax.vjp(fun, A)[1](G)[0]
        return out

    out = jax.jit(every)(jnp.asarray(A), jnp.asarray(G))
    return {key: np.asarray(A_bar) for key, A_bar in out.items()}


@pytest.mark.parametrize("backward", BACKWARDS)
@pytest.mark.parametrize("name", ["sqrtm", "inv_sqrtm"])
def test_vjp_matches_closed_form(name, backward):
    """Reverse mode is JAX's transpose of the linear JVP rule: the same Lyapunov solve.

    (With ``backward="autodiff"``, reverse mode through the 20 unrolled Newton-Schulz steps.)
    """
    _, power = FUNCTIONS[name]
    _, A, _, G = grad_problem(1)
    A_bar = computed_cotangents()[name, backward]
    expected = closed_form_cotangent(A, G, power)
    # As for the tangents: the default 20 backward steps converge from lambda(X / c) >= 0.5.
    np.testing.assert_allclose(A_bar, expected, atol=1e-11 * np.abs(expected).max(), rtol=0)


@pytest.mark.parametrize("method", METHODS)
def test_default_backward(method):
    """The documented default derivative: the same numbers as naming it."""
    _, A, _, G = grad_problem(1)
    A, G = jnp.asarray(A), jnp.asarray(G)

    def grad(**backward):
        loss = lambda A: jnp.sum(G * spectral.sqrtm(A, method=method, **backward))  # noqa: E731
        return jax.jit(jax.grad(loss))(A)

    np.testing.assert_array_equal(grad(), grad(backward=DEFAULT_BACKWARD[method]))


# For finite differences the forward must be smooth and accurate to ~1e-7 (the derivative
# of its truncation error must stay below check_grads' tolerance): on grad_problem(1),
# z <= 0.22 and c / lambda_min < 1.3, so the default iterations and Padé degree are accurate
# to ~1e-10 and Taylor degree 16 to 0.22^17 ~ 1e-11 (its default 10 would leave ~1e-8).
GRADCHECK = {"taylor": {"degree": 16}}


def _check_grads_params():
    # Four compilations each: the default backward of eigh, Newton-Schulz and Padé is fast;
    # Taylor and Denman-Beavers (whose derivative is the same rule, checked against the
    # closed form above) and the other backward are slow-marked.
    slow = pytest.mark.slow
    return [
        pytest.param(method, backward, marks=slow)
        if backward == "other" or method in ("taylor", "denman_beavers")
        else pytest.param(method, backward)
        for method in METHODS
        for backward in ("default", "other")
    ] + [pytest.param(method, "autodiff") for method in ("taylor", "pade")]


@pytest.mark.parametrize(("method", "backward"), _check_grads_params())
def test_check_grads_against_finite_differences(method, backward):
    """Forward and reverse mode against central differences, A = B B^T + n I."""
    default = DEFAULT_BACKWARD[method]
    other = "newton_schulz" if method == "eigh" else "eigh"
    options = {
        "method": method,
        "backward": {"default": default, "other": other}.get(backward, backward),
        "backward_iters": BACKWARD_ITERS,
        # The checks are differentiated through once (eigh, the cheapest to compile); the
        # other methods skip them, as in the tests above (the same derivative either way).
        "check": method == "eigh",
        # Autodiff differentiates the computed value, so it matches finite differences at
        # the default (inaccurate) degrees too.
        **(GRADCHECK.get(method, {}) if backward != "autodiff" else {}),
    }
    B, *_ = grad_problem(1)

    @jax.jit  # one compilation for both functions
    def both(B):
        A = spd_from(B)
        return spectral.sqrtm(A, **options), spectral.inv_sqrtm(A, **options)

    # float64, step 1e-4 (check_grads' default): central differences are accurate to
    # ~1e-8 relative; the default tolerance 1e-5 then only fails on a wrong derivative.
    check_grads(both, (jnp.asarray(B),), order=1, modes=("fwd", "rev"))


# ---------------------------------------------------------------------------------------
# The Lyapunov equation


@pytest.mark.parametrize("method", ["eigh", *ITERATIVE_LYAPUNOV])
def test_solve_lyapunov_matches_scipy(method):
    rng = np.random.default_rng(5)
    n = 16
    X = np.stack([symmetric_with_spectrum(s, np.geomspace(1.0, 0.1, n)) for s in (5, 6)])
    G = rng.standard_normal((2, n, n))  # any square right-hand side, not symmetric
    Y = np.asarray(spectral.solve_lyapunov(jnp.asarray(X), jnp.asarray(G), method=method))
    for b in range(2):
        # SciPy solves A Y + Y A^H = Q; X is symmetric. kappa(X) = 10: the Lyapunov operator
        # has condition number <= 10, so 1e-12 is ~ 500 eps with margin; Newton-Schulz is
        # quadratically converged after ~12 of its 20 default steps here.
        oracle = scipy.linalg.solve_continuous_lyapunov(X[b], G[b])
        assert relative_error(Y[b], oracle) < 1e-12
    # Under jax.jit (and vmap over the batch): the same numbers to rounding.
    jitted = jax.jit(jax.vmap(lambda X, G: spectral.solve_lyapunov(X, G, method=method)))
    np.testing.assert_allclose(jitted(jnp.asarray(X), jnp.asarray(G)), Y, rtol=0, atol=1e-13)


def _lyapunov_errors(X, G, iters_list, method):
    oracle = scipy.linalg.solve_continuous_lyapunov(X, G)

    def error(**kwargs):
        Y = spectral.solve_lyapunov(jnp.asarray(X), jnp.asarray(G), method=method, **kwargs)
        return relative_error(Y, oracle)

    return [error(iters=iters) for iters in iters_list] + [error()]  # default: 20


# kappa(X) = 100 (the derivative's X = A^{1/2} for kappa(A) = 1e4).
KAPPA_100_SPECTRUM, KAPPA_100_SEED = np.geomspace(1.0, 1e-2, 64), 7


def test_newton_schulz_lyapunov_converges_with_iters():
    # The sign iteration needs log_1.5(c / lambda_min) ~ 13 steps before its quadratic phase.
    X = symmetric_with_spectrum(KAPPA_100_SEED, KAPPA_100_SPECTRUM)
    G = np.random.default_rng(7).standard_normal(X.shape)
    errors = _lyapunov_errors(X, G, (4, 8, 12), "newton_schulz")
    assert np.all(np.diff(errors) < 0), errors
    assert errors[-1] < 1e-12  # 20 default steps: converged (measured 6e-15)
    assert errors[1] > 0.1  # the paper's 8 steps are far from it (measured 0.76)


def test_smith_lyapunov_error_follows_its_bound():
    # After j doubling steps the partial sum holds the terms k < 2^j of
    # Y = sum_k T^k G1 T^k, and the rest is T^(2^j) Y T^(2^j): the relative Frobenius error
    # is at most ||T||_2^(2^(j+1)), with T = (X - qI)(X + qI)^{-1}. The bound is computed
    # here from the q the solver picks (its eigenvalues (x - q)/(x + q) in closed form).
    X = symmetric_with_spectrum(KAPPA_100_SEED, KAPPA_100_SPECTRUM)
    G = np.random.default_rng(7).standard_normal(X.shape)
    q = float(np.squeeze(lyapunov._cayley_shift(jnp.asarray(X))))
    x = KAPPA_100_SPECTRUM
    rho = np.max(np.abs((x - q) / (x + q)))
    # The estimate of sqrt(lambda_min lambda_max) = 0.1 is rough (measured q = 0.165), but
    # rho stays near the optimum (sqrt(kappa) - 1) / (sqrt(kappa) + 1) = 0.818 (0.885).
    assert 0.8 < rho < 0.9
    steps = (2, 3, 4, 5)
    errors = _lyapunov_errors(X, G, steps, "smith")
    bounds = [rho ** (2 ** (j + 1)) for j in steps]
    for j, error, bound in zip(steps, errors, bounds, strict=False):
        # Below the bound, and not far below: the error is the part of Y on the eigenvalues
        # of T nearest +-rho, whose weight shrinks slowly as the others die out (measured
        # error / bound = 0.31, 0.19, 0.11, 0.057): no early stop, no faster convergence
        # than the theory allows.
        assert bound / 50 < error <= bound, (j, error, bound)
    assert errors[-1] < 1e-12  # converged in the default (measured 4e-15 after 8 steps)


@pytest.mark.parametrize("method", ITERATIVE_LYAPUNOV)
def test_lyapunov_stops_only_when_every_matrix_has_converged(method):
    # Converged steps are skipped once the whole batch has converged (B^2 = I for
    # Newton-Schulz, ||T^(2^j)|| below eps for Smith): a kappa = 10 matrix beside a
    # kappa = 1e3 one (about 8 more Newton-Schulz steps, 3 more Smith steps) must not stop
    # the second one early.
    n = 24
    X = np.stack(
        [
            symmetric_with_spectrum(8, np.geomspace(1.0, 0.1, n)),
            symmetric_with_spectrum(9, np.geomspace(1.0, 1e-3, n)),
        ]
    )
    G = np.random.default_rng(8).standard_normal((2, n, n))
    Y = spectral.solve_lyapunov(jnp.asarray(X), jnp.asarray(G), method=method, iters=30)
    for b in range(2):
        oracle = scipy.linalg.solve_continuous_lyapunov(X[b], G[b])
        assert relative_error(Y[b], oracle) < 1e-12


@pytest.mark.parametrize("method", ITERATIVE_LYAPUNOV)
def test_solve_lyapunov_differentiates_like_the_exact_solve(method):
    # The iterative solves are a lax.custom_linear_solve (their while loops have no
    # derivative of their own): reverse and forward mode in X and G, against JAX's
    # derivative of the eigh solve (distinct eigenvalues, kappa(X) = 10).
    n = 12
    X = jnp.asarray(symmetric_with_spectrum(3, np.geomspace(1.0, 0.1, n)))
    G = jnp.asarray(np.random.default_rng(3).standard_normal((n, n)))
    dX = jnp.asarray(symmetric_with_spectrum(4, np.linspace(-1.0, 1.0, n)))

    def loss(X, G, method):
        return jnp.sum(jnp.sin(spectral.solve_lyapunov(X, G, method=method)))

    ours = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)(X, G, method)
    exact = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)(X, G, "eigh")
    for a, b in zip(ours, exact, strict=True):
        # The eigh path's gradient in X is not symmetrized; compare what a symmetric
        # perturbation sees.
        np.testing.assert_allclose(a + a.T, b + b.T, atol=1e-11)
    tangent = jax.jvp(lambda X: spectral.solve_lyapunov(X, G, method=method), (X,), (dX,))[1]
    expected = jax.jvp(lambda X: spectral.solve_lyapunov(X, G, method="eigh"), (X,), (dX,))[1]
    np.testing.assert_allclose(tangent, expected, atol=1e-11)


@pytest.mark.skipif(
    jax.default_backend() != "cpu",
    reason="the layout this guards is XLA:CPU's (GPUs transpose in the GEMM)",
)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("method", ["taylor", "pade"])
def test_derivative_compiles_to_gemms_without_a_transposed_left_operand(name, method):
    # XLA:CPU runs a batched product whose left operand is transposed (lhs contracting dim 1)
    # outside its fast GEMM path, about twice as slowly (0.55 against 0.25 ms at batch 64,
    # n = 64, float32). The derivative (spd_inverse's L^-T L^-1, inv_sqrtm's sandwich by
    # A^{-1/2}, whose transposes reverse mode would take) is written without one.
    f, _ = FUNCTIONS[name]
    A = jnp.asarray(symmetric_with_spectrum(3, np.geomspace(1.0, 0.1, 16)), jnp.float32)
    A = jnp.stack([A, 2.0 * A, 3.0 * A, 4.0 * A])
    grad = jax.jit(jax.grad(lambda A: jnp.sum(jnp.sin(f(A, method=method)))))
    hlo = grad.lower(A).compile().as_text()
    dims = re.findall(
        r"f32\[4,16,16\]\{[0-9,]+\} dot\([^)]*\), lhs_batch_dims=\{0\}, "
        r"lhs_contracting_dims=\{(\d)\}, rhs_batch_dims=\{0\}, rhs_contracting_dims=\{(\d)\}",
        hlo,
    )
    assert len(dims) >= 10, hlo  # the forward's and the Lyapunov solve's products
    assert all(lhs == "2" for lhs, _ in dims), dims


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the calls it guards are XLA:CPU's")
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("method", ["taylor", "pade"])
def test_derivative_calls_lapack_only_for_cholesky_factorizations(name, method):
    # A triangular solve is OpenBLAS's trsm on XLA:CPU, whose threads spin on after the call
    # and take the cores from XLA's next products: with OpenBLAS's default threads Taylor's
    # forward + backward took 12-13 ms instead of 7 (batch 64, n = 64, float32). Padé's
    # solve and Smith's (X + qI)^{-1} use the product-only triangular inverse instead; the
    # Cholesky factorizations (the input check, Padé's Q, Smith's X + qI) stay in LAPACK.
    f, _ = FUNCTIONS[name]
    A = jnp.asarray(symmetric_with_spectrum(3, np.geomspace(1.0, 0.1, 16)), jnp.float32)
    grad = jax.jit(jax.grad(lambda A: jnp.sum(jnp.sin(f(A, method=method)))))
    calls = set(re.findall(r'custom_call_target="([^"]+)"', grad.lower(A).compile().as_text()))
    lapack = {call for call in calls if "lapack" in call or "blas" in call}
    assert lapack == {"lapack_spotrf_ffi"}, calls


@pytest.mark.parametrize("name", FUNCTIONS)
def test_lyapunov_backward_batches_and_differentiates_twice(name):
    # vmap of grad, and the Hessian, through the default (Smith) Lyapunov derivative: against
    # the exact eigh path (Newton-Schulz forward and Lyapunov backward, both converged to
    # rounding in 30 steps at kappa = 2; the Hessian's second derivative is implicit,
    # through the custom_linear_solve's operator: L for sqrtm, Y -> S L_S(Y) S with
    # S = A^{1/2} for inv_sqrtm, whose solve folds the sandwich by A^{-1/2} into Smith's first
    # step). (The Newton-Schulz solve goes through the same custom_linear_solve:
    # test_solve_lyapunov_differentiates_like_...)
    f, _ = FUNCTIONS[name]
    A = jnp.asarray(symmetric_with_spectrum(12, np.geomspace(1.0, 0.5, 5)))

    def loss(A, **kwargs):
        return jnp.sum(jnp.sin(f(A, **kwargs)))

    ours = functools.partial(
        loss, method="newton_schulz", iters=30, backward="smith", backward_iters=30
    )
    exact = functools.partial(loss, method="eigh")
    batch = jnp.stack([A, 2.0 * A])
    np.testing.assert_allclose(
        jax.jit(jax.vmap(jax.grad(ours)))(batch),
        jax.jit(jax.vmap(jax.grad(exact)))(batch),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        jax.jit(jax.hessian(ours))(A), jax.jit(jax.hessian(exact))(A), atol=1e-11
    )


@pytest.mark.parametrize(
    ("X", "G", "kwargs", "error", "match"),
    [
        ((4, 4), (4, 3), {}, ValueError, r"G must have the shape of X, \(4, 4\); got shape"),
        ((4, 3), (4, 3), {}, ValueError, r"X must be a square matrix .* got shape \(4, 3\)"),
        ((4, 4), (4, 4), {"method": "qr"}, ValueError, "method must be one of"),
        ((4, 4), (4, 4), {"iters": 0}, ValueError, "iters must be >= 1; got iters=0"),
    ],
)
def test_solve_lyapunov_bad_input(X, G, kwargs, error, match):
    with pytest.raises(error, match=match):
        spectral.solve_lyapunov(jnp.eye(*X), jnp.ones(G), **kwargs)


# ---------------------------------------------------------------------------------------
# jit, vmap, dtypes


def small_spd_batch(dtype) -> jax.Array:
    """Three well-conditioned 4 x 4 SPD matrices (kappa <= 4)."""
    A = [symmetric_with_spectrum(s, np.linspace(0.5, 2.0, 4)) for s in range(3)]
    return jnp.asarray(np.stack(A), dtype=dtype)


@pytest.mark.parametrize("method", METHODS)
def test_jit_and_vmap_match_single_calls(method):
    A = small_spd_batch(jnp.float64)
    for f, _ in FUNCTIONS.values():
        # Mapped without the checks (see test_checks_under_jit_and_vmap), against the checked
        # single calls, which the bad-input tests below reuse compiled.
        per_matrix = jax.jit(jax.vmap(functools.partial(f, method=method, check=False)))(A)
        assert per_matrix.dtype == jnp.float64
        for b in range(A.shape[0]):
            # Same operations mapped or not: equal to rounding (a few ulps).
            np.testing.assert_allclose(f(A[b], method=method), per_matrix[b], rtol=0, atol=1e-14)


@pytest.mark.parametrize("backward", ["eigh", "newton_schulz"])
@pytest.mark.parametrize("method", METHODS)
def test_products_run_at_full_precision(method, backward):
    """float32 products at float32 precision (not TF32 on GPUs), forward and backward.

    Measured on an H100 before this was enforced: the eigh square root 3e-4 from the
    float64 reference in float32. The gradient is taken of an outer `jax.jit`, which traces
    the derivative rule outside `sqrtm`'s own scope.
    """
    A = small_spd_batch(jnp.float32)
    highest = (jax.lax.Precision.HIGHEST,) * 2
    for f, _ in FUNCTIONS.values():
        g = functools.partial(f, method=method, backward=backward)
        forward = dot_precisions(g, A)
        backward_products = dot_precisions(jax.grad(jax.jit(lambda A, g=g: jnp.sum(g(A) ** 3))), A)
        assert backward_products
        assert set(forward) | set(backward_products) == {highest}


@pytest.mark.parametrize(
    "method",
    # float32 matters most where dtype-specific code is (LAPACK's eigh; the Padé and Taylor
    # coefficients, shared by Horner's rule): the other float32 variants are slow-marked.
    [
        "eigh",
        "pade",
        *(
            pytest.param(m, marks=pytest.mark.slow)
            for m in ("newton_schulz", "denman_beavers", "taylor")
        ),
    ],
)
def test_float32_under_jit_and_vmap(method):
    A = small_spd_batch(jnp.float32)
    w, V = np.linalg.eigh(np.asarray(A, dtype=np.float64))
    for name, (f, power) in FUNCTIONS.items():
        X = jax.jit(jax.vmap(functools.partial(f, method=method)))(A)
        assert X.dtype == jnp.float32, name
        # kappa <= 4 gives z <= 0.9 (c / lambda_min <= 8 at n = 4): the default Taylor degree
        # leaves ~5e-2 there, Padé ~1e-3; the others are at float32 precision, 1e3 eps = 1e-4
        # (the eigenvalues of A are rounded to float32 already, relative conditioning <= 4).
        accuracy = {"taylor": 0.1, "pade": 1e-2}.get(
            method, 1e3 * float(jnp.finfo(jnp.float32).eps)
        )
        exact = (V * w[..., None, :] ** power) @ np.swapaxes(V, -1, -2)
        assert np.all(relative_error(np.asarray(X, dtype=np.float64), exact) < accuracy), name


# ---------------------------------------------------------------------------------------
# Bad input

SPD4 = small_spd_batch(jnp.float64)[0]


@pytest.mark.parametrize("name", ["sqrtm", "inv_sqrtm"])
@pytest.mark.parametrize(
    ("A", "kwargs", "error", "match"),
    [
        (jnp.ones((3, 4)), {}, ValueError, r"A must be a square matrix .* got shape \(3, 4\)"),
        (jnp.ones(4), {}, ValueError, r"A must be a square matrix .* got shape \(4,\)"),
        (jnp.eye(3, dtype=jnp.int32), {}, TypeError, "A must have a real floating dtype; got"),
        (SPD4, {"method": "schur"}, ValueError, "method must be one of .*method='schur'"),
        (SPD4, {"method": "taylor", "iters": 5}, ValueError, "iters applies to method="),
        (SPD4, {"method": "eigh", "iters": 5}, ValueError, "iters applies to method="),
        (SPD4, {"method": "newton_schulz", "iters": 0}, ValueError, "iters must be >= 1"),
        (SPD4, {"method": "pade", "degree": (0, 3)}, ValueError, r"degree must be a pair"),
        (SPD4, {"method": "pade", "degree": (5, -1)}, ValueError, r"degree must be a pair"),
        (SPD4, {"method": "pade", "degree": 5}, ValueError, r"degree must be a pair \(M, N\)"),
        (SPD4, {"method": "pade", "degree": (5, 5, 5)}, ValueError, "degree must be a pair"),
        (SPD4, {"method": "pade", "degree": (5.0, 5)}, ValueError, "degree must be a pair"),
        (SPD4, {"method": "taylor", "degree": 0}, ValueError, "degree must be >= 1"),
        (SPD4, {"method": "eigh", "degree": 3}, ValueError, "degree applies to method="),
        (SPD4, {"backward": "lu"}, ValueError, "backward must be one of"),
        (SPD4, {"backward": "autodiff"}, ValueError, "backward='autodiff' applies to the"),
        (SPD4, {"backward_iters": 0}, ValueError, "backward_iters must be >= 1"),
    ],
)
def test_bad_options(name, A, kwargs, error, match):
    f, _ = FUNCTIONS[name]
    with pytest.raises(error, match=match):
        f(A, **kwargs)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["sqrtm", "inv_sqrtm"])
def test_non_symmetric_input(name, method):
    f, _ = FUNCTIONS[name]
    A = SPD4.at[0, 1].add(1e-3)
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"A must be symmetric; got A != A\.T"):
        jax.block_until_ready(f(A, method=method))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["sqrtm", "inv_sqrtm"])
def test_indefinite_input(name, method):
    f, power = FUNCTIONS[name]
    A = jnp.asarray(symmetric_with_spectrum(9, np.array([-0.5, 1.0, 2.0, 3.0])))
    definite = "definite" if power < 0 else "semidefinite"
    with pytest.raises(
        eqx.EquinoxRuntimeError,
        # inv_sqrtm by eigh says "non-positive" (it also rejects a zero eigenvalue).
        match=f"A must be symmetric positive {definite}; it has a (negative|non-positive) "
        "eigenvalue",
    ):
        jax.block_until_ready(f(A, method=method))


@pytest.mark.parametrize("method", ["eigh", "newton_schulz"])
def test_checks_under_jit_and_vmap(method):
    # One indefinite matrix in a batch: the check fires under jit(vmap(.)) too.
    A = (
        small_spd_batch(jnp.float64)
        .at[1]
        .set(jnp.asarray(symmetric_with_spectrum(9, np.array([-0.5, 1.0, 2.0, 3.0]))))
    )
    mapped = jax.jit(jax.vmap(functools.partial(spectral.sqrtm, method=method)))
    # Under an outer jax.jit (not equinox's filter_jit) equinox's error reaches the caller as
    # a JaxRuntimeError carrying the message (equinox's documented behavior).
    with pytest.raises(jax.errors.JaxRuntimeError, match="A must be symmetric positive"):
        jax.block_until_ready(mapped(A))
    jax.block_until_ready(mapped(small_spd_batch(jnp.float64)))  # and not on valid input


def test_singular_input_to_inv_sqrtm():
    A = jnp.diag(jnp.array([0.0, 1.0, 2.0, 3.0]))  # eigh returns the exact 0
    with pytest.raises(
        eqx.EquinoxRuntimeError,
        match="A must be symmetric positive definite; it has a non-positive eigenvalue",
    ):
        jax.block_until_ready(spectral.inv_sqrtm(A, method="eigh"))


@pytest.mark.parametrize("method", ["eigh", "newton_schulz"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(method, bad):
    A = SPD4.at[2, 2].set(bad)
    with pytest.raises(eqx.EquinoxRuntimeError, match="A contains NaN or Inf"):
        jax.block_until_ready(spectral.sqrtm(A, method=method))


def test_check_false_skips_the_checks():
    # A non-symmetric A: with check=False, its symmetric part is used, silently.
    A = SPD4.at[0, 1].add(1e-3)
    X = spectral.sqrtm(A, check=False)
    np.testing.assert_allclose(X, spectral.sqrtm(0.5 * (A + A.T)), atol=1e-15)
    # NaN input: no error, a NaN result (the documented behavior without checks).
    X = spectral.sqrtm(SPD4.at[2, 2].set(np.nan), method="newton_schulz", check=False)
    assert np.isnan(np.asarray(X)).any()


# ---------------------------------------------------------------------------------------
# Properties


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(2, 4),
    seed=st.integers(0, 2**16),
    log_kappa=st.floats(0.0, 4.0),
    t=st.floats(1e-3, 1e3),
)
def test_square_and_scale_equivariance(n, seed, log_kappa, t):
    w = np.geomspace(1.0, 10.0**-log_kappa, n)
    A = jnp.asarray(symmetric_with_spectrum(seed, w))
    X = spectral.sqrtm(A)
    # ||X^2 - A|| <= ~n eps ||A|| for a backward-stable eigh (||A|| = 1 here).
    np.testing.assert_allclose(X @ X, A, atol=100 * EPS, rtol=0)
    # sqrt(t A) = sqrt(t) sqrt(A), to the conditioning of the square root: rounding of order
    # eps ||A|| moves it by ~ eps sqrt(kappa) / 2 relative to ||X|| = 1.
    kappa = 10.0**log_kappa
    np.testing.assert_allclose(
        spectral.sqrtm(t * A), np.sqrt(t) * X, atol=100 * EPS * np.sqrt(t * kappa), rtol=0
    )
