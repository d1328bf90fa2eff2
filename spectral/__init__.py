"""`spectral`: numerical linear algebra in JAX.

Randomized and Krylov eigensolvers on duck-typed operators (dense arrays, BCOO matrices,
matrix-free `LinearOperator`s). The package namespace is the public API.
"""

from ._results import EighResult as EighResult, SVDResult as SVDResult
from .krylov import block_krylov_svd as block_krylov_svd, lanczos_eigh as lanczos_eigh
from .operators import LinearOperator as LinearOperator, aslinearoperator as aslinearoperator
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
    "lanczos_eigh",
    "nystrom",
    "randomized_eigh",
    "randomized_range_finder",
    "randomized_svd",
]
