"""`rom`: reduced-order modeling built on `spectral`.

Full-order model -> reductor -> reduced model, in pure JAX (see DESIGN.md). This release
has the compression and interpolation layer: POD (batch and streaming, in a weighted inner
product) and empirical interpolation (EIM, DEIM, Q-DEIM). Full-order problems, Galerkin
reduction and certified reduced bases follow.
"""

from .eim import Interpolant as Interpolant, deim as deim, eim as eim, qdeim as qdeim
from .pod import (
    PODResult as PODResult,
    StreamingPOD as StreamingPOD,
    StreamingPODState as StreamingPODState,
    pod as pod,
    streaming_pod as streaming_pod,
)

__all__ = [
    "Interpolant",
    "PODResult",
    "StreamingPOD",
    "StreamingPODState",
    "deim",
    "eim",
    "pod",
    "qdeim",
    "streaming_pod",
]
