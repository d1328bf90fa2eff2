r"""The orthogonal polar factor by Newton–Schulz iterations, as used by Muon-style optimizers.

For $X = U \Sigma V^\top$ (thin SVD) the polar factor is $\operatorname{polar}(X) = U V^\top$,
the nearest matrix with orthonormal rows or columns. Newton–Schulz methods approach it with
odd matrix polynomials that act on the singular values only,

$$X_{k+1} = a_k X_k + (b_k A_k + c_k A_k^2) X_k,\qquad A_k = X_k X_k^\top,$$

i.e. $\sigma \mapsto p_k(\sigma) = a_k \sigma + b_k \sigma^3 + c_k \sigma^5$, after scaling
$X_0$ so that $\sigma_{\max} \le 1$. Coefficient choices:

- ``"muon"``: $(3.4445, -4.7750, 2.0315)$ at every step (Jordan et al. 2024): maximal
  slope at 0, so small singular values grow fast, but the iteration does not converge to 1:
  the singular values end up oscillating in roughly $[0.7, 1.2]$, which Muon tolerates.
- ``"polar_express"``: the per-step minimax-optimal quintics of Amsel, Persson, Musco &
  Gower (2025), computed for $\sigma \in [10^{-3}, 1]$, with their safety factor 1.01; after
  the listed steps the last polynomial $(15/8, -5/4, 3/8)$ (the classical quintic
  Newton–Schulz step) repeats and converges to $U V^\top$.
- a tuple ``(a, b, c)`` used at every step, or a sequence of such tuples, one per step.

Scaling (``precondition``): ``"frobenius"`` divides by $\|X\|_F \ge \sigma_{\max}$;
``"aol"`` (Turbo-Muon, Boissin et al. 2025) rescales the rows by
$d_i = (\sum_j |A_{ij}|)^{-1/2}$, $A = X X^\top$ (the Almost-Orthogonal-Layer bound of
Prach & Lampert 2022 guarantees $\|D X\|_2 \le 1$), and reuses the rescaled Gram matrix
$D A D$ for the first step, so it costs no extra product; it starts the iteration closer to
orthogonal than Frobenius scaling, which is worth about one step. Note that the limit is then
the polar factor of $D X$, an orthogonal matrix that differs from that of $X$ unless the
rows of $X$ have equal AOL weights (Turbo-Muon accepts this: the update stays orthogonal).
``None`` leaves $X$ as given (its spectral norm must be at most 1). The iteration works on
the wide orientation ($m \le n$, transposing if needed) so that $A$ is the smaller Gram
matrix.

References
----------
Jordan, Jin, Boza, You, Cesista, Newhouse & Bernstein (2024), "Muon: An optimizer for hidden
layers in neural networks", kellerjordan.github.io/posts/muon. [jordan2024]
Amsel, Persson, Musco & Gower (2025), "The Polar Express: Optimal Matrix Sign Methods and
Their Application to the Muon Algorithm", arXiv:2505.16932. [amsel2025]
Boissin, Massena, Mamalet & Serrurier (2025), "Turbo-Muon: Accelerating Orthogonality-Based
Optimization with Pre-Conditioning", arXiv:2512.04632. [boissin2025]
Prach & Lampert (2022), "Almost-Orthogonal Layers for Efficient General-Purpose Lipschitz
Networks", ECCV, arXiv:2208.03160.
"""

from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import check_choice, check_int, public_jit

MUON_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
# Amsel et al. (2025), Algorithm 1 (degree 5, l = 1e-3); every step but the last divided by
# the safety factor 1.01 (a / 1.01, b / 1.01^3, c / 1.01^5) as in the paper.
_POLAR_EXPRESS_RAW = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
)
POLAR_EXPRESS_COEFFICIENTS = (
    *((a / 1.01, b / 1.01**3, c / 1.01**5) for a, b, c in _POLAR_EXPRESS_RAW),
    (1.875, -1.25, 0.375),
)
_PRECONDITIONS = ("frobenius", "aol", None)
_METHODS = ("newton_schulz", "svd")


def newton_schulz_coefficients(
    coefficients: str | tuple[float, float, float] | Sequence[tuple[float, float, float]],
    steps: int,
) -> tuple[tuple[float, float, float], ...]:
    """The `(a, b, c)` of each of `steps` Newton–Schulz steps for a `coefficients` choice."""
    if isinstance(coefficients, str):
        check_choice(coefficients, "coefficients", ("muon", "polar_express"))
        table = (MUON_COEFFICIENTS,) if coefficients == "muon" else POLAR_EXPRESS_COEFFICIENTS
    elif _is_triple(coefficients):
        table = (tuple(float(x) for x in coefficients),)
    else:
        table = tuple(coefficients) if isinstance(coefficients, Sequence) else ()
        if not table or not all(_is_triple(t) for t in table):
            raise ValueError(
                "coefficients must be 'muon', 'polar_express', a tuple (a, b, c) of floats or a "
                f"sequence of such tuples; got coefficients={coefficients!r}."
            )
    table = tuple(tuple(float(x) for x in t) for t in table)
    # After the table's end, its last polynomial repeats.
    return tuple(table[min(k, len(table) - 1)] for k in range(steps))


def _is_triple(t) -> bool:
    """Whether `t` is a sequence of three real numbers (an `(a, b, c)` step)."""
    return (
        isinstance(t, Sequence)
        and not isinstance(t, str)
        and len(t) == 3
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in t)
    )


@public_jit
def polar(
    X: Float[Array, "*batch m n"],
    /,
    *,
    method: str = "newton_schulz",
    steps: int = 5,
    coefficients: str | tuple = "muon",
    precondition: str | None = "frobenius",
    eps: float = 1e-7,
) -> Float[Array, "*batch m n"]:
    r"""The orthogonal polar factor $U V^\top$ of $X = U \Sigma V^\top$, batched.

    ``method="svd"`` computes it exactly from `jnp.linalg.svd`; ``"newton_schulz"`` applies
    `steps` odd quintic polynomials to the singular values (see the module docstring),
    about $(4 m^2 n + 2 m^3)$ flops per step for $m \le n$, in the dtype of $X$ (bfloat16,
    float32 or float64: the products run at that precision, as Muon runs them in bfloat16;
    norms are accumulated in float32 at least). Differentiable by plain autodiff of the
    iteration.

    Parameters
    ----------
    X : Float[Array, "*batch m n"]
        Any matrix, or a batch of them; rectangular allowed.
    method : str
        ``"newton_schulz"`` or ``"svd"``; static.
    steps : int
        Newton–Schulz steps ($\ge 1$); static.
    coefficients : str or tuple
        ``"muon"``, ``"polar_express"``, ``(a, b, c)``, or a sequence of ``(a, b, c)``, one
        per step (the last repeats); static.
    precondition : str or None
        ``"frobenius"``, ``"aol"`` or None (see the module docstring); static.
    eps : float
        Added to $\|X\|_F$ (``"frobenius"``), or the floor of the AOL row sums (``"aol"``), so
        that $X = 0$ maps to 0.

    Returns
    -------
    Float[Array, "*batch m n"]
        The (approximate) polar factor, with orthonormal rows if $m \le n$, columns otherwise.

    Raises
    ------
    ValueError, TypeError
        For input with fewer than 2 dimensions, a non-floating dtype, or unknown options.

    References
    ----------
    Jordan et al. (2024) [jordan2024]; Amsel et al. (2025), arXiv:2505.16932 [amsel2025];
    Boissin et al. (2025), arXiv:2512.04632 [boissin2025].

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import spectral
    >>> X = jax.random.normal(jax.random.key(0), (4, 6))
    >>> Q = spectral.polar(X, coefficients="polar_express", steps=10)
    >>> bool(jnp.allclose(Q @ Q.T, jnp.eye(4), atol=1e-3))
    True
    """
    X = jnp.asarray(X)
    if X.ndim < 2:
        raise ValueError(
            f"X must be a matrix or a batch of them, (..., m, n); got shape {X.shape}."
        )
    if not jnp.issubdtype(X.dtype, jnp.floating):
        raise TypeError(f"X must have a floating dtype; got dtype {X.dtype}.")
    method = check_choice(method, "method", _METHODS)
    if method == "svd":
        U, _, Vh = jnp.linalg.svd(X, full_matrices=False)
        return U @ Vh
    steps = check_int(steps, "steps", low=1)
    if precondition not in _PRECONDITIONS:
        raise ValueError(
            f"precondition must be one of {_PRECONDITIONS}; got precondition={precondition!r}."
        )
    table = newton_schulz_coefficients(coefficients, steps)
    transposed = X.shape[-2] > X.shape[-1]
    if transposed:
        X = jnp.swapaxes(X, -1, -2)
    Y = _newton_schulz(X, table, precondition, eps)
    return jnp.swapaxes(Y, -1, -2) if transposed else Y


def _newton_schulz(X: Array, table, precondition: str | None, eps: float) -> Array:
    dtype = X.dtype
    # Norms and scales at float32 at least (bfloat16 / float16 sums of squares overflow or
    # lose all precision).
    acc = jnp.float32 if jnp.finfo(dtype).bits < 32 else dtype
    A = None
    if precondition == "frobenius":
        norm = jnp.sqrt(jnp.sum(jnp.square(X.astype(acc)), axis=(-2, -1), keepdims=True))
        X = (X.astype(acc) / (norm + eps)).astype(dtype)
    elif precondition == "aol":
        A = X @ jnp.swapaxes(X, -1, -2)
        d = jnp.sqrt(1.0 / jnp.maximum(jnp.sum(jnp.abs(A.astype(acc)), axis=-1), eps))
        d = d.astype(dtype)
        X = d[..., :, None] * X
        A = d[..., :, None] * A * d[..., None, :]
    for a, b, c in table:
        if A is None:
            A = X @ jnp.swapaxes(X, -1, -2)
        B = b * A + c * (A @ A)
        X = a * X + B @ X
        A = None
    return X
