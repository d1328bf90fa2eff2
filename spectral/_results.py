"""Result types shared by the decompositions of `spectral`.

Field names mirror `jax.numpy.linalg`, so a result unpacks like `jnp.linalg.svd`'s or
`jnp.linalg.eigh`'s.
"""

from typing import NamedTuple

from jaxtyping import Array, Float


class SVDResult(NamedTuple):
    r"""A (truncated) singular value decomposition $A \approx U \operatorname{diag}(S) V_h$.

    Attributes
    ----------
    U : Float[Array, "m k"]
        Left singular vectors, orthonormal columns.
    S : Float[Array, " k"]
        Singular values, non-negative, in descending order.
    Vh : Float[Array, "k n"]
        Right singular vectors, orthonormal rows.
    """

    U: Float[Array, "m k"]
    S: Float[Array, " k"]
    Vh: Float[Array, "k n"]


class EighResult(NamedTuple):
    r"""A (truncated) symmetric eigendecomposition $A \approx V \operatorname{diag}(w) V^\top$.

    Attributes
    ----------
    eigenvalues : Float[Array, " k"]
        Eigenvalues, ordered as the function that returns them documents (most extreme first
        for the top-k solvers).
    eigenvectors : Float[Array, "n k"]
        Orthonormal eigenvectors, one per column.
    """

    eigenvalues: Float[Array, " k"]
    eigenvectors: Float[Array, "n k"]
