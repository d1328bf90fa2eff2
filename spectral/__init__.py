"""`spectral`: numerical linear algebra in JAX.

Randomized and Krylov eigensolvers on duck-typed operators (dense arrays, BCOO matrices,
matrix-free `LinearOperator`s); differentiable matrix square roots and polar factors made of
matrix products, with a Muon-style optax transformation. The package namespace is the
public API.
"""

from . import mpo as mpo, mps as mps, mps_functions as mps_functions, slater as slater
from ._results import EighResult as EighResult, SVDResult as SVDResult
from .banded import (
    BandedCholesky as BandedCholesky,
    BandedPattern as BandedPattern,
    banded_cholesky as banded_cholesky,
    banded_pattern as banded_pattern,
    reverse_cuthill_mckee as reverse_cuthill_mckee,
)
from .concatenated import (
    ClusteringResult as ClusteringResult,
    ConcatenatedSVDResult as ConcatenatedSVDResult,
    IncrementalSVD as IncrementalSVD,
    IncrementalSVDState as IncrementalSVDState,
    cluster_blocks as cluster_blocks,
    concatenation_error as concatenation_error,
    concatenation_residual_bound as concatenation_residual_bound,
    concatenation_weyl_bound as concatenation_weyl_bound,
    incremental_svd as incremental_svd,
)
from .cur_compression import (
    CURCompressionReport as CURCompressionReport,
    CURLinear as CURLinear,
    activation_scores as activation_scores,
    compress_linear_layers as compress_linear_layers,
    cur_break_even_rank as cur_break_even_rank,
    layer_cur as layer_cur,
)
from .gp import (
    fit_hyperparameters as fit_hyperparameters,
    gp_negative_log_likelihood as gp_negative_log_likelihood,
    gp_posterior as gp_posterior,
    kernel_matrix as kernel_matrix,
    matern52 as matern52,
    spectral_mixture as spectral_mixture,
    squared_exponential as squared_exponential,
    toeplitz_kernel_matrix as toeplitz_kernel_matrix,
)
from .gp_pde import (
    GPHM as GPHM,
    GPHMParams as GPHMParams,
    GPHMResult as GPHMResult,
    GridField as GridField,
    GridPDE as GridPDE,
    advection_residual as advection_residual,
    allen_cahn_residual as allen_cahn_residual,
    poisson_residual as poisson_residual,
)
from .jacobi import jacobi_eigh as jacobi_eigh, jacobi_svd as jacobi_svd
from .kronecker import (
    Kronecker as Kronecker,
    kron_cholesky as kron_cholesky,
    kron_eigh as kron_eigh,
    kron_logdet as kron_logdet,
    kron_solve as kron_solve,
    mode_apply as mode_apply,
)
from .krylov import block_krylov_svd as block_krylov_svd, lanczos_eigh as lanczos_eigh
from .least_squares import (
    Design as Design,
    FeatureMap as FeatureMap,
    LegendreFeatures as LegendreFeatures,
    WLSResult as WLSResult,
    sample_design as sample_design,
    weighted_least_squares as weighted_least_squares,
)
from .lyapunov import solve_lyapunov as solve_lyapunov
from .matfun import inv_sqrtm as inv_sqrtm, sqrtm as sqrtm
from .mpo import MPO as MPO
from .mps import MPS as MPS, TruncationResult as TruncationResult, tt_svd as tt_svd
from .mps_functions import (
    cusp_mps as cusp_mps,
    exp_mps as exp_mps,
    poly_cusp_mps as poly_cusp_mps,
    poly_exp_mps as poly_exp_mps,
    product_mps as product_mps,
)
from .muon import orthogonalize_updates as orthogonalize_updates
from .operators import LinearOperator as LinearOperator, aslinearoperator as aslinearoperator
from .polar import polar as polar
from .randomized import (
    nystrom as nystrom,
    randomized_eigh as randomized_eigh,
    randomized_range_finder as randomized_range_finder,
    randomized_svd as randomized_svd,
)
from .sampling import (
    dpp_sample as dpp_sample,
    k_dpp_sample as k_dpp_sample,
    log_elementary_symmetric as log_elementary_symmetric,
    projection_dpp_sample as projection_dpp_sample,
    volume_sample as volume_sample,
)
from .selection import (
    CURResult as CURResult,
    cur as cur,
    deim_indices as deim_indices,
    interpolative as interpolative,
    leverage_scores as leverage_scores,
    qdeim_indices as qdeim_indices,
)
from .streaming import (
    FrequentDirections as FrequentDirections,
    FrequentDirectionsResult as FrequentDirectionsResult,
    FrequentDirectionsState as FrequentDirectionsState,
    Oja as Oja,
    OjaState as OjaState,
    RandomOrderState as RandomOrderState,
    RandomOrderTopEigenvector as RandomOrderTopEigenvector,
    frequent_directions as frequent_directions,
    oja as oja,
    random_order_top_eigenvector as random_order_top_eigenvector,
)
from .tt_cross import (
    CrossResult as CrossResult,
    grid_function as grid_function,
    tt_cross as tt_cross,
)
from .updating import (
    FactoredSVD as FactoredSVD,
    factored_svd as factored_svd,
    sparse_svd_update as sparse_svd_update,
    svd_update as svd_update,
)

__all__ = [
    "GPHM",
    "MPO",
    "MPS",
    "BandedCholesky",
    "BandedPattern",
    "CURCompressionReport",
    "CURLinear",
    "CURResult",
    "ClusteringResult",
    "ConcatenatedSVDResult",
    "CrossResult",
    "Design",
    "EighResult",
    "FactoredSVD",
    "FeatureMap",
    "FrequentDirections",
    "FrequentDirectionsResult",
    "FrequentDirectionsState",
    "GPHMParams",
    "GPHMResult",
    "GridField",
    "GridPDE",
    "IncrementalSVD",
    "IncrementalSVDState",
    "Kronecker",
    "LegendreFeatures",
    "LinearOperator",
    "Oja",
    "OjaState",
    "RandomOrderState",
    "RandomOrderTopEigenvector",
    "SVDResult",
    "TruncationResult",
    "WLSResult",
    "activation_scores",
    "advection_residual",
    "allen_cahn_residual",
    "aslinearoperator",
    "banded_cholesky",
    "banded_pattern",
    "block_krylov_svd",
    "cluster_blocks",
    "compress_linear_layers",
    "concatenation_error",
    "concatenation_residual_bound",
    "concatenation_weyl_bound",
    "cur",
    "cur_break_even_rank",
    "cusp_mps",
    "deim_indices",
    "dpp_sample",
    "exp_mps",
    "factored_svd",
    "fit_hyperparameters",
    "frequent_directions",
    "gp_negative_log_likelihood",
    "gp_posterior",
    "grid_function",
    "incremental_svd",
    "interpolative",
    "inv_sqrtm",
    "jacobi_eigh",
    "jacobi_svd",
    "k_dpp_sample",
    "kernel_matrix",
    "kron_cholesky",
    "kron_eigh",
    "kron_logdet",
    "kron_solve",
    "lanczos_eigh",
    "layer_cur",
    "leverage_scores",
    "log_elementary_symmetric",
    "matern52",
    "mode_apply",
    "mpo",
    "mps",
    "mps_functions",
    "nystrom",
    "oja",
    "orthogonalize_updates",
    "poisson_residual",
    "polar",
    "poly_cusp_mps",
    "poly_exp_mps",
    "product_mps",
    "projection_dpp_sample",
    "qdeim_indices",
    "random_order_top_eigenvector",
    "randomized_eigh",
    "randomized_range_finder",
    "randomized_svd",
    "reverse_cuthill_mckee",
    "sample_design",
    "slater",
    "solve_lyapunov",
    "sparse_svd_update",
    "spectral_mixture",
    "sqrtm",
    "squared_exponential",
    "svd_update",
    "toeplitz_kernel_matrix",
    "tt_cross",
    "tt_svd",
    "volume_sample",
    "weighted_least_squares",
]
