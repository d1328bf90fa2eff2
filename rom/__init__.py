"""`rom`: reduced-order modeling built on `spectral`.

Full-order model -> reductor -> reduced model, in pure JAX (see DESIGN.md). This release
has POD (batch and streaming, in a weighted inner product), empirical interpolation (EIM,
DEIM, Q-DEIM), affine full-order models (`rom.problems.thermal_block`), Galerkin reduction
with the residual-based error estimator, the weak greedy algorithm, linear parabolic models
with POD-greedy, and semilinear models with DEIM hyper-reduction.
"""

from .affine import AffineModel as AffineModel
from .eim import Interpolant as Interpolant, deim as deim, eim as eim, qdeim as qdeim
from .galerkin import (
    ReducedModel as ReducedModel,
    RieszRepresentatives as RieszRepresentatives,
    galerkin as galerkin,
    orthonormalize as orthonormalize,
    riesz_representatives as riesz_representatives,
)
from .greedy import GreedyResult as GreedyResult, weak_greedy as weak_greedy
from .matrix_eim import MatrixEIM as MatrixEIM, matrix_eim as matrix_eim
from .parabolic import (
    ParabolicModel as ParabolicModel,
    ReducedParabolicModel as ReducedParabolicModel,
    galerkin_parabolic as galerkin_parabolic,
)
from .pod import (
    PODResult as PODResult,
    StreamingPOD as StreamingPOD,
    StreamingPODState as StreamingPODState,
    pod as pod,
    streaming_pod as streaming_pod,
)
from .pod_greedy import PODGreedyResult as PODGreedyResult, pod_greedy as pod_greedy
from .residual_eim import (
    ResidualInterpolant as ResidualInterpolant,
    residual_interpolant as residual_interpolant,
)
from .semilinear import (
    ReducedSemilinearModel as ReducedSemilinearModel,
    SemilinearModel as SemilinearModel,
)

__all__ = [
    "AffineModel",
    "GreedyResult",
    "Interpolant",
    "MatrixEIM",
    "PODGreedyResult",
    "PODResult",
    "ParabolicModel",
    "ReducedModel",
    "ReducedParabolicModel",
    "ReducedSemilinearModel",
    "ResidualInterpolant",
    "RieszRepresentatives",
    "SemilinearModel",
    "StreamingPOD",
    "StreamingPODState",
    "deim",
    "eim",
    "galerkin",
    "galerkin_parabolic",
    "matrix_eim",
    "orthonormalize",
    "pod",
    "pod_greedy",
    "qdeim",
    "residual_interpolant",
    "riesz_representatives",
    "streaming_pod",
    "weak_greedy",
]
