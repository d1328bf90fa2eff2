r"""An optax gradient transformation that orthogonalizes matrix updates (Muon-style).

`orthogonalize_updates` replaces every update leaf with two or more dimensions by its
(approximate) polar factor from `spectral.polar`, over the last two axes (leading axes are a
batch, e.g. stacked layers), scaled by $\sqrt{\max(1, m / n)}$ for an $m \times n$ update so
that tall and wide matrices get updates of comparable RMS (Jordan et al. 2024). Scalars and
vectors (biases, norms) pass through unchanged. Chained after momentum it is Muon:

    optax.chain(optax.trace(decay=0.95, nesterov=True),
                spectral.orthogonalize_updates(),
                optax.scale_by_learning_rate(0.02))

Muon is meant for the hidden layers' weight matrices; use `optax.multi_transform` (or
`optax.contrib.muon`, which partitions the parameters for you) to send embeddings, heads and
vectors to Adam.

References
----------
Jordan, Jin, Boza, You, Cesista, Newhouse & Bernstein (2024), "Muon: An optimizer for hidden
layers in neural networks", kellerjordan.github.io/posts/muon. [jordan2024]
"""

from typing import Any

import jax
import optax

from ._checks import check_choice, check_int
from .polar import newton_schulz_coefficients, polar


def orthogonalize_updates(
    *,
    steps: int = 5,
    coefficients: str | tuple = "muon",
    precondition: str | None = "frobenius",
    method: str = "newton_schulz",
    eps: float = 1e-7,
) -> optax.GradientTransformation:
    r"""Muon's orthogonalization of matrix updates, as an optax transformation.

    Maps every update leaf $G$ ($m \times n$, or a batch) of two or more dimensions to
    $\sqrt{\max(1, m/n)}\,\operatorname{polar}(G)$; other leaves pass through.

    Parameters
    ----------
    steps, coefficients, precondition, method, eps
        As in `spectral.polar`; checked here, when the transformation is built.

    Returns
    -------
    optax.GradientTransformation
        Stateless (`optax.EmptyState`); `update(updates, state, params=None)`.

    References
    ----------
    Jordan et al. (2024), "Muon: An optimizer for hidden layers in neural networks".
    [jordan2024]

    Examples
    --------
    >>> import jax, jax.numpy as jnp, optax
    >>> import spectral
    >>> opt = optax.chain(optax.trace(decay=0.9), spectral.orthogonalize_updates())
    >>> params = {"w": jnp.ones((3, 5)), "b": jnp.zeros(5)}
    >>> grads = {"w": jax.random.normal(jax.random.key(0), (3, 5)), "b": jnp.ones(5)}
    >>> updates, _ = opt.update(grads, opt.init(params))
    >>> bool(jnp.allclose(updates["b"], 1.0)), updates["w"].shape
    (True, (3, 5))
    """
    method = check_choice(method, "method", ("newton_schulz", "svd"))
    steps = check_int(steps, "steps", low=1)
    newton_schulz_coefficients(coefficients, steps)  # validates now, not at the first update
    if precondition not in ("frobenius", "aol", None):
        raise ValueError(
            "precondition must be one of ('frobenius', 'aol', None); got "
            f"precondition={precondition!r}."
        )
    if isinstance(coefficients, list):
        coefficients = tuple(tuple(c) for c in coefficients)  # hashable for the static jit

    def orthogonalize(g: jax.Array) -> jax.Array:
        if g.ndim < 2:
            return g
        m, n = g.shape[-2:]
        scale = max(1.0, m / n) ** 0.5
        q = polar(
            g,
            method=method,
            steps=steps,
            coefficients=coefficients,
            precondition=precondition,
            eps=eps,
        )
        return (scale * q).astype(g.dtype)

    def init_fn(params: Any) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update_fn(updates: Any, state: optax.EmptyState, params: Any = None) -> tuple:
        del params
        return jax.tree.map(orthogonalize, updates), state

    return optax.GradientTransformation(init_fn, update_fn)


__all__ = ["orthogonalize_updates"]
