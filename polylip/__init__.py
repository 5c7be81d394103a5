"""polylip: sparse polynomial optimization with certified Lipschitz bounds for neural networks."""

from polylip.errors import (MissingDependencyError, ModelError, PolylipError, RelaxationError,
                            SolverError)
from polylip.poly import Polynomial, from_sympy, to_sympy, variables
from polylip.model import POP
from polylip.nn import (BallRegion, BoxRegion, GlobalRegion, LipschitzResult, Network,
                        lipschitz)
from polylip.nn import BatchResult, lipschitz_batch
from polylip.solve.lp import LPRelaxation, LPSparsity
from polylip.solve.result import Result
from polylip.sparsity import Correlative, CorrelativeTerm, Dense, Term

__version__ = "0.1.0"

__all__ = ["PolylipError", "ModelError", "RelaxationError", "SolverError", "MissingDependencyError",
           "Polynomial", "variables", "from_sympy", "to_sympy", "POP", "Result", "LPRelaxation", "LPSparsity", "Dense", "Correlative", "Term", "CorrelativeTerm",
           "Network", "lipschitz", "LipschitzResult", "lipschitz_batch", "BatchResult", "GlobalRegion", "BoxRegion", "BallRegion"]
