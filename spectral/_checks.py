"""Argument checks shared by the public functions of `spectral`.

Trace-time checks (shapes, dtypes, ranges) raise `TypeError`/`ValueError` naming the
argument, what was given and what is expected. Value checks that need data go through
`equinox.error_if`, so they work under `jax.jit` and `jax.vmap`.
"""

import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jsparse

_OPERATOR_KINDS = (
    "a jax.Array, a jax.experimental.sparse.BCOO matrix, a spectral.LinearOperator, "
    "or anything with .shape, .dtype, @ and .T"
)


def as_operator(A: Any, name: str = "A") -> Any:
    """Validate an operator argument and return it ready for `A @ X` and `A.T @ Y`.

    NumPy arrays are converted to `jax.Array`. Matrix-free operators are checked by tracing
    (`jax.eval_shape`) that `A @ X` and `A.T @ Y` have the shapes `A.shape` promises.
    """
    if isinstance(A, np.ndarray):
        A = jnp.asarray(A)
    if not all(hasattr(A, attr) for attr in ("shape", "dtype", "__matmul__", "T")):
        raise TypeError(f"{name} must be {_OPERATOR_KINDS}; got an object of type {type(A)}.")
    shape = tuple(A.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} must be 2-D with shape (m, n); got shape {shape}.")
    if not jnp.issubdtype(A.dtype, jnp.floating):
        raise TypeError(
            f"{name} must have a real floating dtype (float32 or float64); got dtype {A.dtype}."
        )
    if not isinstance(A, jax.Array | jsparse.BCOO):
        _check_operator_shapes(A, name)
    return A


def _check_operator_shapes(A: Any, name: str) -> None:
    m, n = A.shape
    for label, op, n_in, n_out in (("A @ X", A, n, m), ("A.T @ Y", A.T, m, n)):
        probe = jax.ShapeDtypeStruct((n_in, 1), A.dtype)
        try:
            out = jax.eval_shape(lambda X, op=op: op @ X, probe)
        except Exception as err:  # the operator's own error, re-raised with context
            raise ValueError(
                f"{name}: {label} failed for a block of shape {(n_in, 1)} given "
                f"{name}.shape = {(m, n)}: {err}"
            ) from err
        if tuple(out.shape) != (n_out, 1):
            raise ValueError(
                f"{name}: {label} maps a block of shape {(n_in, 1)} to shape {tuple(out.shape)}, "
                f"but {name}.shape = {(m, n)} says it should give {(n_out, 1)}; the operator's "
                f"shape and its matmat/rmatmat do not agree."
            )


def check_square(A: Any, name: str = "A") -> None:
    """Raise `ValueError` unless the operator is square."""
    m, n = A.shape
    if m != n:
        raise ValueError(f"{name} must be square (symmetric); got shape {(m, n)}.")


def check_int(value: Any, name: str, *, low: int, high: int | None = None, why: str = "") -> int:
    """Check that a static size argument is a Python int in `[low, high]`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{name} must be a Python int (a static size); got {value!r} of type "
            f"{type(value).__name__}."
        )
    value = int(value)
    if value < low or (high is not None and value > high):
        expected = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {expected}{why}; got {name}={value}.")
    return value


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Check that a static method-name argument is one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {name}={value!r}.")
    return value


def check_finite(x: jax.Array, name: str = "A") -> jax.Array:
    """Return `x`, raising at run time (also under jit) if it holds NaN or Inf.

    Used on the first sketch `A @ Omega`: a non-finite entry of `A` makes the sketch
    non-finite almost surely, so this catches NaN/Inf input for every kind of operator at
    the cost of one pass over an `m x l` block.
    """
    return eqx.error_if(
        x,
        ~jnp.all(jnp.isfinite(x)),
        f"{name} contains NaN or Inf (its product with a random test matrix is not finite).",
    )


MATMUL_PRECISION = "highest"


def full_precision_products(fn: Callable) -> Callable:
    """Trace `fn` with every matrix product at the full precision of its dtype.

    XLA's default on GPUs and TPUs multiplies float32 matrices in TensorFloat-32 or bfloat16
    passes (a relative error ~1e-3 instead of ~1e-7): measured on an H100, it left the SVD
    polar factor 5e-4 from the float32 reference and the eigh square root 3e-4. Numerical
    linear algebra in float32 needs float32 products, so the products `fn` traces (its own,
    those of the operators it applies, and their transposes under autodiff) carry
    ``precision=HIGHEST``. It changes nothing on CPUs, and nothing for bfloat16 inputs, whose
    products are bfloat16 anyway: pass bfloat16 for the fast, coarse products.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with jax.default_matmul_precision(MATMUL_PRECISION):
            return fn(*args, **kwargs)

    return wrapper


def full_precision_derivative(fn: Callable) -> Callable:
    """`fn`, with JAX's own derivative of it traced under `full_precision_products` too.

    A primitive's derivative rule (the JVP of `jnp.linalg.qr`, say) is traced when the
    derivative is taken, which for the gradient of a user's `jax.jit` happens after the
    public function's scope has closed. Wrapping `fn` in a `jax.custom_jvp` whose rule is
    `jax.jvp(fn, ...)` itself moves that tracing inside the scope; the rule is linear in the
    tangents, so reverse mode transposes it as usual.
    """
    wrapped = jax.custom_jvp(fn)

    @wrapped.defjvp
    @full_precision_products
    def jvp(primals: tuple, tangents: tuple) -> tuple:
        return jax.jvp(fn, primals, tangents)

    return wrapped


def public_jit(fn: Callable) -> Callable:
    """`equinox.filter_jit` of `full_precision_products(fn)`, NumPy integers made Python ints.

    `filter_jit` traces NumPy scalars like arrays, so `rank=np.int64(5)` (a common result of
    NumPy arithmetic) would reach the size checks as a tracer. Sizes are static: convert them
    before tracing, so they are checked and hashed like the Python ints they stand for.
    """
    jitted = eqx.filter_jit(full_precision_products(fn))

    def static(x: Any) -> Any:
        return int(x) if isinstance(x, np.integer) else x

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return jitted(*map(static, args), **{k: static(v) for k, v in kwargs.items()})

    return wrapper
