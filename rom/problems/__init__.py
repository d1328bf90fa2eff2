"""Full-order problems for the reduced-order models of `rom`."""

from .burgers import Burgers as Burgers, ReducedBurgers as ReducedBurgers, burgers as burgers
from .fitzhugh_nagumo import (
    FitzHughNagumo as FitzHughNagumo,
    ReducedFitzHughNagumo as ReducedFitzHughNagumo,
    fitzhugh_nagumo as fitzhugh_nagumo,
)
from .nonaffine_diffusion import (
    NonaffineDiffusion as NonaffineDiffusion,
    nonaffine_diffusion as nonaffine_diffusion,
)
from .nonlinear_elliptic import nonlinear_elliptic as nonlinear_elliptic
from .thermal_block import thermal_block as thermal_block, unit_square_mesh as unit_square_mesh

__all__ = [
    "Burgers",
    "FitzHughNagumo",
    "NonaffineDiffusion",
    "ReducedBurgers",
    "ReducedFitzHughNagumo",
    "burgers",
    "fitzhugh_nagumo",
    "nonaffine_diffusion",
    "nonlinear_elliptic",
    "thermal_block",
    "unit_square_mesh",
]
