"""Relaxations as conic data, no solver calls: the moment data of the moment-SOS hierarchy
(:mod:`polylip.relax.moment`) and its two conic forms (:mod:`polylip.relax.conic`)."""

from polylip.relax.conic import LMIProblem
from polylip.relax.moment import MomentData, assemble

__all__ = ["LMIProblem", "MomentData", "assemble"]
