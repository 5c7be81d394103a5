"""Modeling: the :class:`POP` a user writes, and the plain-text problem format."""

from polylip.model.pop import POP

__all__ = ["POP"]
