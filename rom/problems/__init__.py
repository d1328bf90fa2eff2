"""Full-order problems for the reduced-order models of `rom`."""

from .thermal_block import thermal_block as thermal_block, unit_square_mesh as unit_square_mesh

__all__ = ["thermal_block", "unit_square_mesh"]
