"""Relaxations: block structures, moment data, conic forms, and the :class:`Relaxation` object."""

from polylip.relax.blocks import BlockStructure, EqualityBlock, PSDBlock, dense_structure
from polylip.relax.relaxation import Relaxation

__all__ = ["BlockStructure", "PSDBlock", "EqualityBlock", "dense_structure", "Relaxation"]
