"""`spectral`: numerical linear algebra in JAX.

Randomized and Krylov eigensolvers on duck-typed operators (dense arrays, BCOO matrices,
matrix-free `LinearOperator`s); differentiable matrix square roots and polar factors made of
matrix products, with a Muon-style optax transformation. The package namespace is the
public API.
"""

from ._results import EighResult as EighResult, SVDResult as SVDResult
from .krylov import block_krylov_svd as block_krylov_svd, lanczos_eigh as lanczos_eigh
from .matfun import inv_sqrtm as inv_sqrtm, solve_lyapunov as solve_lyapunov, sqrtm as sqrtm
from .muon import orthogonalize_updates as orthogonalize_updates
from .operators import LinearOperator as LinearOperator, aslinearoperator as aslinearoperator
from .polar import polar as polar
from .randomized import (
    nystrom as nystrom,
    randomized_eigh as randomized_eigh,
    randomized_range_finder as randomized_range_finder,
    randomized_svd as randomized_svd,
)

__all__ = [
    "EighResult",
    "LinearOperator",
    "SVDResult",
    "aslinearoperator",
    "block_krylov_svd",
    "inv_sqrtm",
    "lanczos_eigh",
    "nystrom",
    "orthogonalize_updates",
    "polar",
    "randomized_eigh",
    "randomized_range_finder",
    "randomized_svd",
    "solve_lyapunov",
    "sqrtm",
]
