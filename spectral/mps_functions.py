r"""Analytic matrix product states of functions on a uniform grid (quantics tensor trains).

A function $f$ sampled on $2^n$ grid points $x_j = x_0 + jh$, $j = 0, \dots, 2^n - 1$, is a
vector with one site per binary digit of $j = \sum_{k=0}^{n-1} b_k 2^{n-1-k}$, most
significant first (the bit order of `spectral.mps`), so that

$$x_j = x_0 + \sum_{k=0}^{n-1} w_k b_k, \qquad w_k = h\, 2^{n-1-k}.$$

The constructors here write the cores of such an MPS down directly, from this sum, in
$O(n \chi^2)$ time and memory (plus $O(\chi^3)$ at the two ends), without sampling the
$2^n$ points (Oseledets 2013):

- `exp_mps`: $e^{-\zeta x_j} = e^{-\zeta x_0} \prod_k e^{-\zeta w_k b_k}$, a product over
  the bits: bond dimension 1.
- `poly_exp_mps`: $p(x) e^{-\zeta x}$ with $p(x) = \sum_{m=0}^{d} c_m x^m$. The bond after
  site $k$ carries the monomials $(1, s_k, \dots, s_k^d)$ of the partial sum $s_k$ of the
  first $k+1$ bits, and a site shifts them with a binomial transfer matrix,
  $(s + \delta)^m = \sum_{l \le m} \binom{m}{l} s^l \delta^{m-l}$:
  $G_k[l, b, m] = \binom{m}{l} \delta_k(b)^{m-l} e^{-\zeta w_k b}$, bond dimension $d + 1$.
- `poly_cusp_mps` and `cusp_mps`: $p(x - c) e^{-\zeta |x - c|}$ (or $p(|x - c|)
  e^{-\zeta|x - c|}$) for any real center $c$, from a three-state automaton comparing $j$
  bit by bit with the threshold index $t = \lfloor (c - x_0)/h \rfloor$: "already below"
  ($x < c$ whatever the remaining bits: carries $p_-(x - c) e^{\zeta(x - c)}$ as $d + 1$
  binomial channels), "equal so far" (one channel, the bits of $t$) and "already above"
  ($d + 1$ channels of $p_+(x - c) e^{-\zeta (x - c)}$): bond dimension $2d + 3$, so 3 for
  the plain cusp.
- `product_mps`: $f_1(x) f_2(y) f_3(z) \cdots$ on a tensor-product grid, from one MPS per
  coordinate, sequential or interleaved bits (the bit orders of `spectral.mps.tt_svd`).

Each bond is then cut to the dimension the two sides allow: the bond after site $k$ has
dimension $\min(\chi, 2^{k+1}, 2^{n-k-1})$ (the edge cores become identities and the
small matrices they carried are multiplied into their neighbours). For $p_d(x) e^{-\zeta
x}$ with $c_d \ne 0$ these are the exact TT ranks (the unfolding at any bond is a
product of two Vandermonde-type matrices and the anti-triangular matrix $[c_{l+m}
\binom{l+m}{l}]_{l,m}$, of full rank $d + 1$).

Numerics. The dense vector the cores contract to is within a small multiple of
$(n + \kappa)\,\varepsilon \max_j |f(x_j)|$ of the exact samples, where $\kappa = |\zeta|
\max_j |x_j - c|$ ($c = 0$ without a cusp) is the condition number of sampling the
exponential itself (rounding $x_j$ costs that much in float arithmetic too), times the
conditioning of $p$ in the monomial basis. Three choices keep it so. (i) The exponentials
are anchored where they are largest (the end of the grid where $e^{-\operatorname{Re}\zeta
x}$ is, or the center for the cusp), so that every per-site factor has modulus at most 1 and
no partial product overflows or underflows before the result does. (ii) The polynomial
channels carry the monomials of the scaled partial sums, $(x_{\text{partial}}/L)^m$, $L =
h 2^{n-1}$ the half-width of the grid, with the coefficients $c_m L^m$, so that the
channels of a bond are of comparable size; the per-site shifts $2^{-k}(b - o)$ are exact
dyadic numbers. (iii) The expansions avoid cancellation: `poly_exp_mps` starts at the end
of the grid nearest 0 when the grid does not cross 0 (all the binomial terms then have one
sign), and otherwise at the exponential's anchor when it varies by $e^{d+1}$ or more over
the grid, at the center if not; in the cusp, the "below" channels expand from the top of
their block and the "above" channels from its bottom, so that every term has the sign of
the result however close $x$ is to $c$. Measured against extended-precision samples: a
few $\varepsilon$ where $\kappa$ is small, and never more than float64 sampling's own
error elsewhere.

Compilation: an eager call compiles its pieces once per degree and dtype, whatever the
number of sites; under `jax.jit`, `jax.grad` or `jax.vmap` the sites are one vectorized
computation, so the traced graph does not grow with $n$.

All parameters that are not sizes ($\zeta$, $x_0$, $h$, $c$, the coefficients) are traced:
the constructors work under `jax.jit` with `num_sites` static, `jax.vmap` over parameters,
and are differentiable in every traced parameter ($\zeta$ and the coefficients may be
complex; $x_0$, $h$, $c$ are real).

References
----------
I. V. Oseledets (2013), "Constructive representation of functions in low-rank tensor
formats", Constr. Approx. 37, 1-18, DOI:10.1007/s00365-012-9175-x (exponentials have rank
1, polynomials of degree $d$ rank $d + 1$). [oseledets2013]
A. Bolos (2026), "Amplitude Encoding of Slater-Type Orbitals via Matrix Product States:
Efficient State Preparation and Integral Evaluation on Quantum Hardware". [bolos2026]

Examples
--------
>>> import jax.numpy as jnp
>>> from spectral.mps import to_dense
>>> from spectral.mps_functions import cusp_mps
>>> psi = cusp_mps(1.5, 0.3, num_sites=10, x0=-8.0, h=16 / 2**10)
>>> psi.bond_dims
(2, 3, 3, 3, 3, 3, 3, 3, 2)
>>> x = -8.0 + 16 / 2**10 * jnp.arange(2.0**10)
>>> bool(jnp.allclose(to_dense(psi), jnp.exp(-1.5 * jnp.abs(x - 0.3)), rtol=0, atol=1e-6))
True
"""

import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from ._checks import check_choice, check_int
from .mps import MPS, ORDERS

__all__ = ["cusp_mps", "exp_mps", "poly_cusp_mps", "poly_exp_mps", "product_mps"]


# --- argument checks ------------------------------------------------------------------------


def _infer_dtype(dtype: Any, values: dict[str, Any]) -> Any:
    """The dtype of the cores.

    `dtype` if given, else the common precision of the array arguments (JAX's default float
    when all are Python numbers), complex if any argument is.
    """
    if dtype is not None:
        dtype = jnp.dtype(dtype)
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"dtype must be a floating or complex dtype (float32, float64, complex64, "
                f"complex128); got {dtype}."
            )
        return dtype
    precisions: dict[str, Any] = {}
    is_complex = False
    for name, value in values.items():
        if isinstance(value, jax.Array | np.ndarray | np.generic):
            if jnp.issubdtype(value.dtype, jnp.inexact):
                precisions[name] = jnp.finfo(value.dtype).dtype
                is_complex |= bool(jnp.issubdtype(value.dtype, jnp.complexfloating))
        elif isinstance(value, complex):
            is_complex = True
        elif isinstance(value, list | tuple):
            is_complex |= any(isinstance(v, complex) for v in value)
    if len(set(precisions.values())) > 1:
        given = ", ".join(f"{name}: {dt}" for name, dt in precisions.items())
        raise TypeError(
            f"the array arguments must share one precision; got {given}. Cast them, or pass "
            f"dtype=... to choose the dtype of the cores."
        )
    base = next(iter(precisions.values())) if precisions else jnp.zeros(()).dtype
    if not is_complex:
        return base
    complex_of = {jnp.dtype(jnp.float32): jnp.complex64, jnp.dtype(jnp.float64): jnp.complex128}
    if base not in complex_of:
        raise TypeError(f"complex arguments need float32 or float64 precision; got {base}.")
    return jnp.dtype(complex_of[base])


def _is_traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def _scalar(value: Any, name: str, dtype: Any, *, real: bool) -> Array:
    """A scalar parameter cast to `dtype`; concrete values are checked to be finite."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a number; got the bool {value!r}.")
    arr = jnp.asarray(value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar; got an array of shape {tuple(arr.shape)}.")
    if not jnp.issubdtype(arr.dtype, jnp.number):
        raise TypeError(f"{name} must be a number; got dtype {arr.dtype}.")
    if real and jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(f"{name} must be real (it places grid points); got {name}={value!r}.")
    if jnp.issubdtype(arr.dtype, jnp.complexfloating) and not jnp.issubdtype(
        dtype, jnp.complexfloating
    ):
        raise TypeError(f"{name} is complex ({arr.dtype}) but dtype={dtype} is real.")
    if not _is_traced(arr) and not bool(jnp.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {name}={value!r}.")
    return arr.astype(dtype)


def _grid(x0: Any, h: Any, rdtype: Any) -> tuple[Array, Array]:
    """(x0, h) in the real dtype; h > 0 checked at trace time, or at run time if traced."""
    x0 = _scalar(x0, "x0", rdtype, real=True)
    h_in = h
    h = _scalar(h, "h", rdtype, real=True)
    if _is_traced(h):
        h = eqx.error_if(h, ~(h > 0), "h (the grid spacing) must be > 0.")
    elif not bool(h > 0):
        raise ValueError(f"h (the grid spacing) must be > 0; got h={h_in!r}.")
    return x0, h


def _coefficients(coeffs: Any, dtype: Any) -> Array:
    if isinstance(coeffs, MPS):
        raise TypeError("coeffs must be a 1-D array of polynomial coefficients; got an MPS.")
    arr = jnp.asarray(coeffs)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(
            "coeffs must be a 1-D array of polynomial coefficients in ascending powers "
            f"(coeffs[m] multiplies x**m) with at least one entry; got shape {tuple(arr.shape)}."
        )
    if not jnp.issubdtype(arr.dtype, jnp.number) or arr.dtype == jnp.bool_:
        raise TypeError(f"coeffs must be numbers; got dtype {arr.dtype}.")
    if not jnp.issubdtype(dtype, jnp.complexfloating) and jnp.issubdtype(
        arr.dtype, jnp.complexfloating
    ):
        raise TypeError(f"coeffs are complex ({arr.dtype}) but dtype={dtype} is real.")
    return arr.astype(dtype)


# --- building blocks ------------------------------------------------------------------------


def _powers(x: Array, d: int) -> Array:
    """The powers [1, x, ..., x^d] along a new last axis.

    By repeated products, whose derivatives are finite at x = 0 (unlike those of `x ** m`).
    """
    out = [jnp.ones_like(x)]
    for _ in range(d):
        out.append(out[-1] * x)
    return jnp.stack(out, axis=-1)


def _shift_matrices(deltas: np.ndarray, d: int) -> np.ndarray:
    """Binomial shift matrices T[..., i, m] = C(m, i) delta^(m - i) (m >= i).

    So that powers(s) @ T = powers(s + delta); `deltas` are exact dyadic constants.
    """
    deltas = np.asarray(deltas, dtype=np.float64)
    T = np.zeros((*deltas.shape, d + 1, d + 1))
    for m in range(d + 1):
        for i in range(m + 1):
            T[..., i, m] = math.comb(m, i) * deltas ** (m - i)
    return T


def _trim_left(cores: list[Array]) -> list[Array]:
    """Cut the bonds near the left end to the dimension of the left space they span."""
    cores = list(cores)
    for k in range(len(cores) - 1):
        left, d, right = cores[k].shape
        if left * d >= right:
            break
        M = cores[k].reshape(left * d, right)
        cores[k] = jnp.eye(left * d, dtype=M.dtype).reshape(left, d, left * d)
        cores[k + 1] = jnp.sum(M[:, :, None, None] * cores[k + 1][None], axis=1)
    return cores


def _mirror(cores: Sequence[Array]) -> list[Array]:
    """The cores of the reversed chain (right and left bonds swapped)."""
    return [c.transpose(2, 1, 0) for c in reversed(cores)]


def _fix_edges(
    left: tuple[Array, ...], right: tuple[Array, ...], start: Array | None, closing: Array
) -> tuple[tuple[Array, ...], tuple[Array, ...]]:
    """Close the chain and cut its edge bonds (exact: no rounding).

    `left` and `right` are its first and last cores (`right` empty: `left` is the whole
    chain). The first core is contracted with `start` (D,) on the left (if given), the last
    with `closing` (D,) on the right; then each bond is cut to the dimension of the smaller
    side it separates, min(chi, 2^(k+1), 2^(n-k-1)): where the left (right) space is the
    smaller, the cores become identities and their product is multiplied into the next core
    inward. Broadcast sums rather than matrix products: exact at every precision setting
    (no TF32), and no matrix-product kernel to compile.
    """
    left, right = list(left), list(right)
    if start is not None:
        left[0] = jnp.sum(start[:, None, None] * left[0], axis=0)[None]
    last = right if right else left
    last[-1] = jnp.sum(last[-1] * closing[None, None, :], axis=2)[..., None]
    if not right:
        return tuple(_mirror(_trim_left(_mirror(_trim_left(left))))), ()
    return tuple(_trim_left(left)), tuple(_mirror(_trim_left(_mirror(right))))


def _assemble(cores: list[Array], start: Array | None, closing: Array, traced: bool) -> MPS:
    """The MPS of the chain `cores` closed by `start` and `closing`, edge bonds cut.

    Only the cores within log2(chi) + 2 of each end change, so eagerly a jitted
    `_fix_edges` of those compiles once per degree and dtype, whatever the number of sites.
    """
    chi = max(c.shape[2] for c in cores[:-1]) if len(cores) > 1 else 1
    m = math.ceil(math.log2(chi)) + 2 if chi > 1 else 1
    fix = _fix_edges if traced else _JITTED[_fix_edges]
    if len(cores) <= 2 * m:
        left, _ = fix(tuple(cores), (), start, closing)
        return MPS(list(left))
    left, right = fix(tuple(cores[:m]), tuple(cores[-m:]), start, closing)
    return MPS([*left, *cores[m:-m], *right])


def _any_traced(*values: Any) -> bool:
    return any(_is_traced(v) for v in values)


def _per_site(site: Any, traced: bool, shared: tuple, stacked: tuple) -> list[Array]:
    """`site(*shared, *[a[i] for a in stacked])` for every site i.

    Traced (under the caller's jit, grad or vmap): one vectorized computation, `jax.vmap`
    over the sites, so the graph does not grow with the number of sites. Eager: one call of
    the jitted `site` per site, so that a compilation (per degree and dtype) serves every
    number of sites.
    """
    if traced:
        out = jax.vmap(site, in_axes=(None,) * len(shared) + (0,) * len(stacked))(*shared, *stacked)
        return [out[i] for i in range(out.shape[0])]
    jitted = _JITTED[site]
    return [jitted(*shared, *(a[i] for a in stacked)) for i in range(stacked[0].shape[0])]


# --- exponentials and polynomials -----------------------------------------------------------


def poly_exp_mps(
    coeffs: ArrayLike,
    zeta: ArrayLike,
    *,
    num_sites: int,
    x0: ArrayLike = 0.0,
    h: ArrayLike = 1.0,
    dtype: Any = None,
) -> MPS:
    r"""MPS of $p(x_j) e^{-\zeta x_j}$, $p(x) = \sum_{m=0}^{d} c_m x^m$, on $x_j = x_0 + jh$.

    With $L = h 2^{n-1}$ (the half-width of the grid), an expansion point $x_o = x_0 + o
    (x_{2^n-1} - x_0)$, $o \in \{0, \tfrac12, 1\}$, and the scaled partial sums $s_{-1} =
    x_o / L$, $s_k = s_{k-1} + \delta_k(b_k)$, $\delta_k(b) = 2^{-k}(b - o)$ (so $s_{n-1} =
    x_j / L$), the cores are the binomial shifts of the monomials of $s$ times the
    exponential's factor of the bit,

    $$G_k[l, b, m] = \binom{m}{l} \delta_k(b)^{m - l}\, e^{-\zeta w_k (b - a)},\qquad
    G_0[0, b, m] = (s_{-1} + \delta_0(b))^m\, e^{-\zeta w_0 (b - a)} e^{-\zeta x_a},$$

    $w_k = h 2^{n-1-k}$, closed on the right by the scaled coefficients $c_m L^m$. The
    exponential is anchored at the end of the grid where it is largest ($a = 0$, $x_a = x_0$
    for $\operatorname{Re}\zeta \ge 0$; $a = 1$, $x_a = x_{2^n-1}$ otherwise), so that no
    factor exceeds 1 in modulus; the monomials start at the end nearest 0 if the grid does
    not cross 0 (the binomial terms then have one sign), else at the exponential's anchor
    if $|\operatorname{Re}\zeta|\, 2L \ge d + 1$ and at the center if not.

    Parameters
    ----------
    coeffs : Float[Array, " d+1"] or Complex[Array, " d+1"]
        $c_0, \dots, c_d$, ascending powers (traced; $d$ = ``len(coeffs) - 1`` is static).
    zeta : float or complex scalar
        The exponent $\zeta$ (traced; any sign; complex for oscillating factors).
    num_sites : int
        $n \ge 1$, the number of bits (static): $2^n$ grid points.
    x0, h : float scalars
        The first grid point and the spacing $h > 0$ (traced).
    dtype : dtype, optional
        The dtype of the cores; by default that of the array arguments (JAX's default float
        for Python numbers), complex if `coeffs` or `zeta` is.

    Returns
    -------
    MPS
        $n$ cores of physical dimension 2; the bond after site $k$ has dimension
        $\min(d + 1, 2^{k+1}, 2^{n-k-1})$, the exact TT rank when $c_d \ne 0$ (so
        $d + 1$ away from the ends).

    Raises
    ------
    TypeError, ValueError
        For `num_sites` < 1 or not an int, `coeffs` not 1-D or empty, non-scalar or
        non-finite parameters, complex `x0` or `h`, $h \le 0$ (at run time through
        `equinox.error_if` when `h` is traced), or array arguments of different precisions
        without `dtype`.

    Notes
    -----
    Cost: $O(n d^2)$ time and memory for the cores (the dense vector would be $2^n$), plus
    $O(d^3)$ to cut the edge bonds. Accuracy: a small multiple of $(n + |\zeta| \max_j
    |x_j|)\,\varepsilon$ relative to $\max_j |f(x_j)|$ (the second term is the condition
    number of sampling $e^{-\zeta x}$), times the conditioning of $p$'s coefficients on the
    grid, as for Horner's rule; see the module docstring.

    References
    ----------
    I. V. Oseledets (2013), "Constructive representation of functions in low-rank tensor
    formats", Constr. Approx. 37. [oseledets2013] A. Bolos (2026), "Amplitude Encoding of
    Slater-Type Orbitals via Matrix Product States". [bolos2026]

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.mps import to_dense
    >>> from spectral.mps_functions import poly_exp_mps
    >>> n, x0, h = 10, -4.0, 8 / 2**10
    >>> psi = poly_exp_mps(jnp.array([1.0, 0.0, -2.0]), 0.5, num_sites=n, x0=x0, h=h)
    >>> psi.max_bond  # d + 1 for a quadratic
    3
    >>> x = x0 + h * jnp.arange(2.0**n)
    >>> f = (1 - 2 * x**2) * jnp.exp(-0.5 * x)
    >>> bool(jnp.max(jnp.abs(to_dense(psi) - f)) <= 1e-5 * jnp.max(jnp.abs(f)))
    True
    """
    n = check_int(num_sites, "num_sites", low=1, why=" (the number of bits of the grid)")
    dtype = _infer_dtype(dtype, {"coeffs": coeffs, "zeta": zeta, "x0": x0, "h": h})
    rdtype = jnp.finfo(dtype).dtype
    c = _coefficients(coeffs, dtype)
    zeta = _scalar(zeta, "zeta", dtype, real=False)
    x0, h = _grid(x0, h, rdtype)
    return _poly_exp_build(c, zeta, x0, h, n=n)


def _poly_exp_build(c: Array, zeta: Array, x0: Array, h: Array, *, n: int) -> MPS:
    """The cores of `poly_exp_mps` from checked, cast parameters."""
    rdtype, d = x0.dtype, c.shape[0] - 1
    traced = _any_traced(c, zeta, x0, h)
    half = np.asarray(2.0 ** (n - 1), rdtype)
    ends = _poly_exp_ends if traced else _JITTED[_poly_exp_ends]
    a, o, first, closing = ends(c, zeta, x0, h, half)
    if n == 1:
        return _assemble([first], None, closing, traced)
    k = np.arange(1, n)
    weights, scales = np.asarray(2.0 ** (n - 1 - k), rdtype), np.asarray(2.0**-k, rdtype)
    binomials = np.asarray(_shift_matrices(np.ones(()), d), rdtype)  # C(m, l), m >= l
    shared = (zeta, h, a, o, binomials)
    cores = [first, *_per_site(_poly_exp_site, traced, shared, (weights, scales))]
    return _assemble(cores, None, closing, traced)


def _poly_exp_ends(
    c: Array, zeta: Array, x0: Array, h: Array, half: Array
) -> tuple[Array, Array, Array, Array]:
    """The anchors a (exponential) and o (monomials), the first core and the closing c_m L^m.

    With the offset o in {0, 1/2, 1} (left end, center, right end), x = x_o + sum_k w_k
    (b_k - o) and the channels carry the monomials of the partial sums, scaled by L. The
    binomial terms have one sign (no cancellation) when the grid does not cross 0 and the
    expansion starts at its end nearest 0. When it crosses 0, the monomials start at the
    exponential's anchor if the exponential varies by e^{d+1} or more over the grid (the
    errors then follow the exponential's weight), and at the center otherwise.
    """
    dtype, rdtype, d = c.dtype, x0.dtype, c.shape[0] - 1
    L = h * half
    end = x0 + h * (2 * half - 1)
    # the exponential's anchor: a = 0 (left end) if Re zeta >= 0, else a = 1 (right end)
    a = jnp.where(jnp.real(zeta) >= 0, 0.0, 1.0).astype(rdtype)
    decays = jnp.abs(jnp.real(zeta)) * 2 * L >= d + 1
    o = jnp.where(x0 >= 0, 0.0, jnp.where(end <= 0, 1.0, jnp.where(decays, a, 0.5)))
    o = o.astype(rdtype)
    bits = jnp.array([0.0, 1.0], rdtype)
    factors = jnp.exp(-zeta * (L * (bits - a)).astype(dtype))  # e^{-zeta w_0 (b - a)}
    anchor = jnp.exp(-zeta * (x0 + a * (end - x0)).astype(dtype))
    s_start = (x0 + o * (end - x0)) / L  # x_o, scaled
    first = _powers((s_start + bits - o).astype(dtype), d)  # (2, d+1): powers of s_0
    first = first * (factors * anchor)[:, None]
    closing = c * _powers(L.astype(dtype), d)  # c_m L^m
    return a, o, first.reshape(1, 2, d + 1), closing


def _poly_exp_site(
    zeta: Array, h: Array, a: Array, o: Array, binomials: Array, weight: Array, scale: Array
) -> Array:
    """G_k[l, b, m] = C(m, l) delta(b)^{m-l} e^{-zeta w_k (b - a)}, delta(b) = 2^-k (b - o).

    `weight` = 2^{n-1-k} (so w_k = h weight) and `scale` = 2^-k.
    """
    dtype, d = zeta.dtype, binomials.shape[0] - 1
    bits = jnp.array([0.0, 1.0], h.dtype)
    factors = jnp.exp(-zeta * (h * weight * (bits - a)).astype(dtype))
    powers = _powers((scale * (bits - o)).astype(dtype), d)  # (2, d+1), exact dyadic
    order = np.maximum(np.arange(d + 1)[None, :] - np.arange(d + 1)[:, None], 0)  # m - l
    T = binomials.astype(dtype)[None] * powers[:, order]  # [b, l, m]
    return (T * factors[:, None, None]).transpose(1, 0, 2)


def exp_mps(
    zeta: ArrayLike,
    *,
    num_sites: int,
    x0: ArrayLike = 0.0,
    h: ArrayLike = 1.0,
    dtype: Any = None,
) -> MPS:
    r"""MPS of $e^{-\zeta x_j}$ on $x_j = x_0 + jh$: a product over the bits, bond dimension 1.

    $$e^{-\zeta x_j} = e^{-\zeta x_a} \prod_{k=0}^{n-1} e^{-\zeta w_k (b_k - a)},
    \qquad w_k = h 2^{n-1-k},$$

    anchored at the end of the grid where the exponential is largest ($a = 0$, $x_a = x_0$
    when $\operatorname{Re}\zeta \ge 0$; $a = 1$, $x_a = x_{2^n - 1}$ otherwise), so that
    every factor has modulus at most 1. (`poly_exp_mps` with ``coeffs = [1]``.)

    Parameters
    ----------
    zeta : float or complex scalar
        The exponent (traced). A complex $\zeta = -ik$ gives the plane wave $e^{ikx}$.
    num_sites : int
        $n \ge 1$ (static): $2^n$ grid points.
    x0, h : float scalars
        The first grid point and the spacing $h > 0$ (traced).
    dtype : dtype, optional
        The dtype of the cores (default: that of the array arguments, JAX's default float for
        Python numbers, complex for a complex `zeta`).

    Returns
    -------
    MPS
        $n$ cores of shape (1, 2, 1).

    Raises
    ------
    TypeError, ValueError
        As `poly_exp_mps`.

    Notes
    -----
    Cost: $O(n)$. Each entry is a product of $n + 1$ correctly rounded factors: relative
    error $\lesssim (n + |\zeta| h 2^n) \varepsilon$, as for sampling $e^{-\zeta x_j}$.

    References
    ----------
    I. V. Oseledets (2013), "Constructive representation of functions in low-rank tensor
    formats", Constr. Approx. 37. [oseledets2013]

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.mps import to_dense
    >>> from spectral.mps_functions import exp_mps
    >>> psi = exp_mps(0.5, num_sites=10, x0=-2.0, h=1 / 256)
    >>> psi.bond_dims
    (1, 1, 1, 1, 1, 1, 1, 1, 1)
    >>> x = -2.0 + jnp.arange(1024.0) / 256
    >>> bool(jnp.allclose(to_dense(psi), jnp.exp(-0.5 * x), rtol=1e-5, atol=0))
    True
    """
    n = check_int(num_sites, "num_sites", low=1, why=" (the number of bits of the grid)")
    dtype = _infer_dtype(dtype, {"zeta": zeta, "x0": x0, "h": h})
    return poly_exp_mps(jnp.ones((1,), dtype), zeta, num_sites=n, x0=x0, h=h, dtype=dtype)


# --- cusps ----------------------------------------------------------------------------------


def poly_cusp_mps(
    coeffs: ArrayLike,
    zeta: ArrayLike,
    center: ArrayLike,
    *,
    num_sites: int,
    x0: ArrayLike = 0.0,
    h: ArrayLike = 1.0,
    radial: bool = False,
    dtype: Any = None,
) -> MPS:
    r"""MPS of $p(x_j - c)\, e^{-\zeta |x_j - c|}$ or $p(|x_j - c|)\, e^{-\zeta|x_j - c|}$, any $c$.

    The grid is $x_j = x_0 + jh$ and the center $c$ any real number.

    With $p_+ = p$ and $p_- = p$ (or $p_-(u) = p(-u)$ when ``radial=True``), the function
    is $p_-(x - c) e^{\zeta (x - c)}$ for $x \le c$ and $p_+(x - c) e^{-\zeta(x - c)}$ for
    $x > c$, and $x_j \le c$ exactly when $j \le t = \lfloor (c - x_0)/h \rfloor$. The
    cores run an automaton comparing the bits of $j$ with those of $t$ (computed with
    `jnp` operations, so $c$ may be traced; they enter the cores as data), with three
    states:

    - **below** ($d + 1$ channels): $j$'s prefix is already smaller than $t$'s; the
      channels carry $(\alpha / L)^m e^{\zeta \alpha}$, $\alpha = $ (the largest grid point
      with this prefix) $- c \le 0$, shifted at each site by $\delta = w_k (b - 1) \le 0$
      with the binomial matrix $\binom{m}{l} (\delta/L)^{m-l} e^{\zeta\delta}$;
    - **equal** (1 channel): the prefix equals $t$'s; a bit equal to $t$'s keeps it, a 0
      where $t$ has a 1 goes to *below* with $\alpha$ of the new prefix, a 1 where $t$ has
      a 0 goes to *above*;
    - **above** ($d + 1$ channels): $(\gamma / L)^m e^{-\zeta\gamma}$, $\gamma = $ (the
      smallest grid point with this prefix) $- c > 0$, shifted by $\delta = w_k b \ge 0$.

    The last core closes *below* with $p_-$'s coefficients $c_m L^m$, *above* with
    $p_+$'s, and *equal* with the value at $x_t$; $L = h 2^{n-1}$. Every binomial term has
    the sign of its result (no cancellation near $c$), and every exponential factor is at
    most 1 in modulus for $\operatorname{Re}\zeta \ge 0$. A center off the grid to the
    left (right) starts the automaton in *above* (*below*).

    Parameters
    ----------
    coeffs : Float[Array, " d+1"] or Complex[Array, " d+1"]
        $c_0, \dots, c_d$ of $p$, ascending powers (traced; $d$ static).
    zeta : float or complex scalar
        The exponent (traced).
    center : float scalar
        $c$ (traced; anywhere, on or off the grid, inside or outside it).
    num_sites : int
        $n \ge 1$ (static), at most the mantissa length of the dtype plus one (53 for
        float64, 24 for float32), so that the grid indices are exact.
    x0, h : float scalars
        The first grid point and the spacing $h > 0$ (traced).
    radial : bool
        False (default): $p(x - c)$, e.g. the odd $(x - c) e^{-\zeta|x - c|}$;
        True: $p(|x - c|)$, e.g. the 1-D Slater-type $|x - c|^{m} e^{-\zeta|x - c|}$ (static).
    dtype : dtype, optional
        The dtype of the cores (default: that of the array arguments).

    Returns
    -------
    MPS
        $n$ cores of physical dimension 2, bond after site $k$ of dimension
        $\min(2d + 3, 2^{k+1}, 2^{n-k-1})$: an upper bound on the TT rank, attained for a
        generic center well inside the grid (a center outside it gives a rank-1 function
        with the same static bonds, since $c$ is traced).

    Raises
    ------
    TypeError, ValueError
        For `num_sites` out of range, bad `coeffs`, non-scalar or non-finite parameters,
        complex `x0`, `h` or `center`, $h \le 0$; when `x0`, `h` or `center` are traced, a
        non-finite value or $h \le 0$ raises at run time (`equinox.error_if`).

    Notes
    -----
    Cost: $O(n d^2)$ time and memory, plus $O(d^3)$ at the edges. Accuracy: a small
    multiple of $(n + |\zeta| \max_j |x_j - c|)\,\varepsilon \max_j |f(x_j)|$, the second
    term being the condition number of sampling $e^{-\zeta|x - c|}$ itself, times the
    conditioning of $p$'s coefficients.
    The derivative in $c$ is that of the function (the bits of $t$ are piecewise constant,
    and $f$ is continuous in $c$).

    References
    ----------
    A. Bolos (2026), "Amplitude Encoding of Slater-Type Orbitals via Matrix Product States:
    Efficient State Preparation and Integral Evaluation on Quantum Hardware". [bolos2026]

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.mps import to_dense
    >>> from spectral.mps_functions import poly_cusp_mps
    >>> n, x0, h, c = 10, -8.0, 16 / 2**10, 0.3
    >>> psi = poly_cusp_mps(jnp.array([0.0, 1.0]), 1.0, c, num_sites=n, x0=x0, h=h)
    >>> psi.max_bond  # 2d + 3 for d = 1
    5
    >>> x = x0 + h * jnp.arange(2.0**n)
    >>> f = (x - c) * jnp.exp(-jnp.abs(x - c))
    >>> bool(jnp.max(jnp.abs(to_dense(psi) - f)) <= 1e-6)
    True
    """
    n = check_int(num_sites, "num_sites", low=1, why=" (the number of bits of the grid)")
    if not isinstance(radial, bool):
        raise TypeError(f"radial must be a bool (static); got {radial!r}.")
    dtype = _infer_dtype(
        dtype, {"coeffs": coeffs, "zeta": zeta, "center": center, "x0": x0, "h": h}
    )
    rdtype = jnp.finfo(dtype).dtype
    max_sites = jnp.finfo(rdtype).nmant + 1
    if n > max_sites:
        raise ValueError(
            f"num_sites must be <= {max_sites} for {rdtype} (the grid indices must be exact "
            f"in the dtype); got num_sites={n}."
        )
    c = _coefficients(coeffs, dtype)
    zeta = _scalar(zeta, "zeta", dtype, real=False)
    center = _scalar(center, "center", rdtype, real=True)
    x0, h = _grid(x0, h, rdtype)
    if _is_traced(center) or _is_traced(x0):
        center = eqx.error_if(
            center, ~(jnp.isfinite(center) & jnp.isfinite(x0)), "center and x0 must be finite."
        )
    return _poly_cusp_build(c, zeta, center, x0, h, n=n, radial=radial)


def _poly_cusp_build(
    c: Array, zeta: Array, center: Array, x0: Array, h: Array, *, n: int, radial: bool
) -> MPS:
    """The cores of `poly_cusp_mps` from checked, cast parameters."""
    rdtype, d = x0.dtype, c.shape[0] - 1
    traced = _any_traced(c, zeta, center, x0, h)
    half = np.asarray(2.0 ** (n - 1), rdtype)
    signs = np.asarray((-1.0) ** np.arange(d + 1) if radial else np.ones(d + 1), rdtype)
    ends = _cusp_ends if traced else _JITTED[_cusp_ends]
    tc, start, closing = ends(c, signs, zeta, center, x0, h, half)  # signs: p_-(u) = p(-u)
    k, bits, D = np.arange(n), np.array([0.0, 1.0]), 2 * d + 3
    # the binomial blocks of "below" (delta = w_k (b - 1)) and "above" (w_k b), scaled by L,
    # placed in the (in, b, out) layout of a core
    blocks_below, blocks_above = np.zeros((n, D, 2, D)), np.zeros((n, D, 2, D))
    shift = _shift_matrices(2.0 ** -k[:, None] * (bits - 1), d)  # [k, b, in, out]
    blocks_below[:, : d + 1, :, : d + 1] = shift.transpose(0, 2, 1, 3)
    shift = _shift_matrices(2.0 ** -k[:, None] * bits, d)
    blocks_above[:, d + 2 :, :, d + 2 :] = shift.transpose(0, 2, 1, 3)
    weights = np.asarray(2.0 ** (n - 1 - k), rdtype)
    stacked = (weights, blocks_below.astype(rdtype), blocks_above.astype(rdtype))
    cores = _per_site(_cusp_site, traced, (zeta, center, x0, h, half, tc), stacked)
    return _assemble(cores, start, closing, traced)


def _cusp_channel(value: Array, valid: Array, sign: float, zeta: Array, L: Array, d: int) -> Array:
    """The channel vector powers(value / L) e^{sign zeta value} where valid, else 0.

    The argument is replaced by 0 where not valid, so no inf * 0 (nor its derivative).
    """
    dtype = zeta.dtype
    safe = jnp.where(valid, value, 0.0)
    out = _powers((safe / L).astype(dtype), d) * jnp.exp(sign * zeta * safe.astype(dtype))
    return jnp.where(valid, out, 0.0)


def _cusp_ends(
    c: Array, signs: Array, zeta: Array, center: Array, x0: Array, h: Array, half: Array
) -> tuple[Array, Array, Array]:
    """The clipped threshold index t, the start vector and the closing vector (both (D,))."""
    dtype, d = c.dtype, c.shape[0] - 1
    L, N = h * half, 2 * half
    # threshold index t = floor((c - x0) / h): x_j <= c exactly when j <= t
    t = jnp.floor((center - x0) / h)
    in_range = (t >= 0) & (t <= N - 1)
    tc = jnp.clip(t, 0, N - 1)
    start = jnp.concatenate(
        [  # c at or right of the last point: start below; left of the first: above
            _cusp_channel(x0 + h * (N - 1) - center, t > N - 1, 1.0, zeta, L, d),
            in_range.astype(dtype)[None],
            _cusp_channel(x0 - center, t < 0, -1.0, zeta, L, d),
        ]
    )
    scaled = c * _powers(L.astype(dtype), d)  # c_m L^m
    below = scaled * signs.astype(dtype)
    # "equal" closes with the value at x_t <= c: p_-(x_t - c) e^{zeta (x_t - c)}
    at_t = jnp.sum(_cusp_channel(x0 + h * tc - center, in_range, 1.0, zeta, L, d) * below)
    return tc, start, jnp.concatenate([below, at_t[None], scaled])


def _cusp_site(
    zeta: Array,
    center: Array,
    x0: Array,
    h: Array,
    half: Array,
    tc: Array,
    weight: Array,
    blocks_below: Array,
    blocks_above: Array,
) -> Array:
    """The core (D, 2, D) of the site whose bit has weight `weight` = 2^{n-1-k}."""
    dtype, rdtype, D = zeta.dtype, x0.dtype, blocks_below.shape[0]
    d = (D - 3) // 2
    L = h * half
    quotient = jnp.floor(tc / weight)
    bit = quotient - 2 * jnp.floor(quotient / 2)  # t's bit at this site
    prefix = 2 * weight * jnp.floor(tc / (2 * weight))  # t's bits before it, as an index
    # entering "below" (t has 1, j has 0): alpha = top of the block - c <= 0;
    # entering "above" (t has 0, j has 1): gamma = bottom of the block - c > 0
    alpha = x0 + h * (prefix + weight - 1) - center
    gamma = x0 + h * (prefix + weight) - center
    zeros = jnp.zeros((d + 2,), dtype)
    equal_row = jnp.stack(  # (2, D): a 0 where t has a 1 goes below, a 1 where t has a 0 above
        [
            jnp.concatenate([_cusp_channel(alpha, bit == 1, 1.0, zeta, L, d), zeros]),
            jnp.concatenate([zeros, _cusp_channel(gamma, bit == 0, -1.0, zeta, L, d)]),
        ]
    )
    bits = jnp.array([0.0, 1.0], rdtype)
    w = h * weight
    factor_below = jnp.exp(zeta * (w * (bits - 1)).astype(dtype))  # (2,)
    factor_above = jnp.exp(-zeta * (w * bits).astype(dtype))
    stay = jnp.where(bits == bit, 1.0, 0.0).astype(dtype)  # b equals t's bit
    e = np.zeros((D,))
    e[d + 1] = 1.0  # the "equal" state
    return (
        blocks_below.astype(dtype) * factor_below[None, :, None]
        + blocks_above.astype(dtype) * factor_above[None, :, None]
        + jnp.asarray(e, dtype)[:, None, None] * equal_row[None, :, :]
        + jnp.asarray(np.outer(e, e), dtype)[:, None, :] * stay[None, :, None]
    )


def cusp_mps(
    zeta: ArrayLike,
    center: ArrayLike,
    *,
    num_sites: int,
    x0: ArrayLike = 0.0,
    h: ArrayLike = 1.0,
    dtype: Any = None,
) -> MPS:
    r"""MPS of the two-sided cusp $e^{-\zeta |x_j - c|}$, any real center $c$, on $x_j = x_0 + jh$.

    `poly_cusp_mps` with $p = 1$: a three-state automaton on the bits of $j$ against those
    of the threshold index $t = \lfloor (c - x_0)/h \rfloor$ ("already below": $e^{\zeta(x -
    c)}$, "equal so far", "already above": $e^{-\zeta(x - c)}$), each state carrying its
    exponential factor.

    Parameters
    ----------
    zeta : float or complex scalar
        The exponent (traced).
    center : float scalar
        $c$ (traced; on or off the grid).
    num_sites : int
        $n \ge 1$ (static; at most 53 for float64, 24 for float32).
    x0, h : float scalars
        The first grid point and the spacing $h > 0$ (traced).
    dtype : dtype, optional
        The dtype of the cores (default: that of the array arguments).

    Returns
    -------
    MPS
        Bond after site $k$ of dimension $\min(3, 2^{k+1}, 2^{n-k-1})$, the TT rank for a
        generic center inside the grid (lower ranks, e.g. 1 for a center outside the grid,
        are not detected: the center is traced).

    Raises
    ------
    TypeError, ValueError
        As `poly_cusp_mps`.

    Notes
    -----
    Cost: $O(n)$. Accuracy: a small multiple of $(n + |\zeta| \max_j |x_j - c|)\,
    \varepsilon$ relative to the maximum.

    References
    ----------
    A. Bolos (2026), "Amplitude Encoding of Slater-Type Orbitals via Matrix Product States:
    Efficient State Preparation and Integral Evaluation on Quantum Hardware". [bolos2026]

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.mps import to_dense
    >>> from spectral.mps_functions import cusp_mps
    >>> psi = cusp_mps(2.0, 1.1, num_sites=10, x0=0.0, h=1 / 256)
    >>> psi.bond_dims
    (2, 3, 3, 3, 3, 3, 3, 3, 2)
    >>> x = jnp.arange(1024.0) / 256
    >>> bool(jnp.allclose(to_dense(psi), jnp.exp(-2.0 * jnp.abs(x - 1.1)), rtol=0, atol=1e-6))
    True
    """
    n = check_int(num_sites, "num_sites", low=1, why=" (the number of bits of the grid)")
    dtype = _infer_dtype(dtype, {"zeta": zeta, "center": center, "x0": x0, "h": h})
    return poly_cusp_mps(jnp.ones((1,), dtype), zeta, center, num_sites=n, x0=x0, h=h, dtype=dtype)


# jitted versions for eager calls: compiled once per degree and dtype, whatever num_sites
_JITTED = {
    fn: jax.jit(fn) for fn in (_poly_exp_ends, _poly_exp_site, _cusp_ends, _cusp_site, _fix_edges)
}


# --- separable functions of several coordinates ---------------------------------------------


def product_mps(factors: Sequence[MPS], *, order: str = "sequential") -> MPS:
    r"""MPS of a separable function $f_1(x)\, f_2(y)\, f_3(z) \cdots$ on a tensor-product grid.

    From one MPS per coordinate (any number of coordinates, any numbers of sites):

    - ``order="sequential"``: all the sites of $x$, then those of $y$, then $z$ (the C-order
      flattening of the $(2^{n_x}, 2^{n_y}, 2^{n_z})$ array): the cores are concatenated,
      with bonds of dimension 1 between coordinates.
    - ``order="interleaved"``: the top bits of every coordinate first, $x_1 y_1 z_1 x_2 y_2
      z_2 \dots$, round-robin when the numbers of sites differ (a coordinate that has run
      out of sites is skipped), as in `spectral.mps.tt_svd`. A bond is the product of the
      coordinates' current bonds, and a site of coordinate $c$ carries the others' bonds
      through with identities: $G[(\alpha_1 \dots \alpha_C), i, (\alpha'_1 \dots
      \alpha'_C)] = A^{(c)}[\alpha_c, i, \alpha'_c] \prod_{c' \ne c}
      \delta_{\alpha_{c'} \alpha'_{c'}}$.

    Either way ``to_dense(product_mps(fs, order=o))`` equals ``to_dense(tt_svd(grid,
    order=o).mps)`` for the dense grid array $f_1 \otimes f_2 \otimes \cdots$.

    Parameters
    ----------
    factors : sequence of MPS
        One MPS per coordinate, all of one dtype (physical dimensions may differ).
    order : str
        ``"sequential"`` or ``"interleaved"`` (static).

    Returns
    -------
    MPS
        $\sum_c n_c$ sites. Sequential: the factors' bonds, and 1 between coordinates.
        Interleaved: products of the factors' bonds.

    Raises
    ------
    TypeError
        If `factors` is not a sequence of `spectral.mps.MPS`, or their dtypes differ.
    ValueError
        If `factors` is empty or `order` is unknown.

    Notes
    -----
    Cost: memory only for sequential; for interleaved, a core of coordinate $c$ has
    $\chi_c^2 d \prod_{c' \ne c} \chi_{c'}^2$ entries.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from spectral.mps import to_dense
    >>> from spectral.mps_functions import exp_mps, product_mps
    >>> fx = exp_mps(1.0, num_sites=3, h=0.25)
    >>> fy = exp_mps(2.0, num_sites=2, h=0.5)
    >>> grid = to_dense(fx)[:, None] * to_dense(fy)[None, :]
    >>> bool(jnp.allclose(to_dense(product_mps([fx, fy])), grid.reshape(-1)))
    True
    """
    check_choice(order, "order", ORDERS)
    if isinstance(factors, MPS):
        raise TypeError(
            "factors must be a sequence of spectral.mps.MPS, one per coordinate; got a single "
            "MPS (wrap it in a list)."
        )
    if not isinstance(factors, Sequence) or isinstance(factors, str):
        raise TypeError(
            f"factors must be a sequence of spectral.mps.MPS, one per coordinate; got an "
            f"object of type {type(factors)}."
        )
    factors = tuple(factors)
    if not factors:
        raise ValueError("factors must hold at least one MPS; got an empty sequence.")
    for i, f in enumerate(factors):
        if not isinstance(f, MPS):
            raise TypeError(f"factors[{i}] must be a spectral.mps.MPS; got {type(f)}.")
        if f.dtype != factors[0].dtype:
            raise TypeError(
                f"factors must share one dtype; factors[0] is {factors[0].dtype} but "
                f"factors[{i}] is {f.dtype}."
            )
    if order == "sequential" or len(factors) == 1:
        return MPS([core for f in factors for core in f.cores])
    dtype = factors[0].dtype
    bonds = [1] * len(factors)
    cores = []
    for level in range(max(f.num_sites for f in factors)):
        for ci, f in enumerate(factors):
            if level >= f.num_sites:
                continue
            A = f.cores[level]
            P, Q = math.prod(bonds[:ci]), math.prod(bonds[ci + 1 :])
            left, d, right = A.shape
            # core[(a, l, c), i, (b, r, e)] = delta_ab A[l, i, r] delta_ce, by broadcasting
            # (exact: a matrix-product kernel could round A's entries, e.g. to TF32 on GPUs)
            eye_P = jnp.eye(P, dtype=dtype)[:, None, None, None, :, None, None]
            eye_Q = jnp.eye(Q, dtype=dtype)[None, None, :, None, None, None, :]
            core = eye_P * A[None, :, None, :, None, :, None] * eye_Q
            cores.append(core.reshape(P * left * Q, d, P * right * Q))
            bonds[ci] = right
    return MPS(cores)
