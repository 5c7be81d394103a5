"""Old home of the polynomial-optimization methods, kept so that existing imports keep working
(``polylip.cli.lipschitz`` reads :data:`DEFAULT_BUDGET` from here). Nothing is registered by
importing it: the methods are listed in :data:`polylip.nn.methods.TABLE`, and their code is in
:mod:`polylip.nn.methods` (``shor``, ``sdp``, ``lp``, ``lipsdp``, ``auto`` and its ``plan``;
``relax`` and ``bound`` for the shared building blocks). New code should import from there.

Examples
--------
>>> from polylip.nn.methods import auto
>>> DEFAULT_BUDGET == auto.DEFAULT_BUDGET
True
"""

from polylip.nn.methods.auto import AUTO_REL_GAP, DEFAULT_BUDGET  # noqa: F401
from polylip.nn.methods.bound import solve_gradient_pop  # noqa: F401
from polylip.nn.methods.plan import AUTO_MILP_GAP, AUTO_MILP_SHARE, AUTO_MILP_TRUE_SHARE  # noqa: F401
from polylip.nn.methods.relax import neuron_structure, network_pattern, relax_gradient_pop  # noqa: F401
from polylip.nn.methods.shor import mccormick, shor_cuts  # noqa: F401
from polylip.solve.aposteriori import certified_bound, soundness_margin  # noqa: F401

__all__ = ["DEFAULT_BUDGET", "relax_gradient_pop", "solve_gradient_pop", "network_pattern",
           "neuron_structure", "mccormick", "shor_cuts", "soundness_margin", "certified_bound"]
