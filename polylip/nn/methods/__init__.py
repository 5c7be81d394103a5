"""The Lipschitz methods, listed explicitly in one table: :data:`TABLE`.

Each entry is a :class:`~polylip.nn.methods.base.Method`: the name ``lipschitz(net,
method=...)`` takes, the function ``run(problem, options) -> MethodOutput``, its frozen options
dataclass (validated once; a dict is converted), and a one-line description. The registry of
:mod:`polylip.nn.estimate` starts as this table; users add their own methods there with
:func:`~polylip.nn.estimate.register_method`. Nothing is registered by importing a module.

============  =========================  ====================================================
name          options                    module
============  =========================  ====================================================
product       :class:`ProductOptions`    :mod:`polylip.nn.methods.baselines`
interval      :class:`IntervalOptions`   :mod:`polylip.nn.methods.baselines`
eclipse       :class:`EclipseOptions`    :mod:`polylip.nn.methods.eclipse`
exact         :class:`ExactOptions`      :mod:`polylip.nn.methods.exact`
shor          :class:`ShorOptions`       :mod:`polylip.nn.methods.shor`
sdp           :class:`SDPOptions`        :mod:`polylip.nn.methods.sdp`
lp            :class:`LPOptions`         :mod:`polylip.nn.methods.lp`
lipsdp        :class:`LipSDPOptions`     :mod:`polylip.nn.methods.lipsdp`
geolip        :class:`GeoLIPOptions`     :mod:`polylip.nn.methods.geolip`
dp            :class:`DPOptions`         :mod:`polylip.nn.methods.dp`
milp          :class:`MILPOptions`       :mod:`polylip.nn.methods.milp`
bab           :class:`BaBOptions`        :mod:`polylip.nn.methods.bab` (its node bounds:
                                         :mod:`polylip.nn.jacobian_bounds`)
auto          :class:`AutoOptions`       :mod:`polylip.nn.methods.auto` (its plan:
                                         :mod:`polylip.nn.methods.plan`)
============  =========================  ====================================================

Shared building blocks: :mod:`~polylip.nn.methods.relax` (relaxations of a gradient POP and
their sizes), :mod:`~polylip.nn.methods.bound` (solve, certify, maximum over functionals),
:mod:`~polylip.nn.methods.milp_model` (the mixed-integer LP).

Examples
--------
>>> [m.name for m in TABLE]  # doctest: +NORMALIZE_WHITESPACE
['product', 'interval', 'eclipse', 'exact', 'shor', 'sdp', 'lp', 'lipsdp', 'geolip', 'dp', 'milp',
 'bab',
 'auto']
>>> BY_NAME["milp"].options.coerce({"gap": 1e-3})
MILPOptions(time_limit=60.0, gap=0.001, constant='auto', node_limit=None)
"""

from polylip.nn.methods import auto, bab, baselines, dp, eclipse, exact, geolip, lipsdp, lp, \
    milp, sdp, shor
from polylip.nn.methods.auto import AutoOptions
from polylip.nn.methods.bab import BaBOptions
from polylip.nn.methods.base import Method, MethodOptions
from polylip.nn.methods.baselines import IntervalOptions, ProductOptions
from polylip.nn.methods.dp import DPOptions
from polylip.nn.methods.eclipse import EclipseOptions
from polylip.nn.methods.exact import ExactOptions
from polylip.nn.methods.geolip import GeoLIPOptions
from polylip.nn.methods.lipsdp import LipSDPOptions
from polylip.nn.methods.lp import LPOptions
from polylip.nn.methods.milp import MILPOptions
from polylip.nn.methods.sdp import SDPOptions
from polylip.nn.methods.shor import ShorOptions

__all__ = ["TABLE", "BY_NAME", "Method", "MethodOptions", "ProductOptions", "IntervalOptions",
           "EclipseOptions", "ExactOptions", "ShorOptions", "SDPOptions", "LPOptions",
           "LipSDPOptions", "GeoLIPOptions", "DPOptions", "MILPOptions", "BaBOptions",
           "AutoOptions"]

#: Every built-in method: name, function, options class, description, and the check that
#: refuses a problem it does not apply to before any work (the order of
#: ``polylip lipschitz --help`` and of the docs' table: cheap to expensive, then "auto").
TABLE = (
    Method("product", baselines.product, ProductOptions,
           "product of layer operator norms (local: IBP-scaled)"),
    Method("interval", baselines.interval, IntervalOptions,
           "interval bounds on the Jacobian over the derivative ranges (Fast-Lip style; "
           "local: IBP ranges)"),
    Method("eclipse", eclipse.eclipse, EclipseOptions,
           "ECLipsE-Fast (Xu and Sivaranjani 2024): LipSDP-Neuron multipliers in closed form, "
           "layer by layer, certified; l_2, no SDP", eclipse.check),
    Method("exact", exact.exact, ExactOptions,
           "exact formal and true constants by enumeration (small networks)", exact.check),
    Method("shor", shor.shor, ShorOptions,
           "order-1 SDP (Shor) of the gradient POP (lifted when deep)", shor.check),
    Method("sdp", sdp.sdp, SDPOptions,
           "moment-SOS relaxation of the gradient POP (order, sparsity)", sdp.check),
    Method("lp", lp.lp, LPOptions,
           "Krivine/Handelman LP of degree k (LiPopt-k), l_inf", lp.check),
    Method("lipsdp", lipsdp.lipsdp, LipSDPOptions,
           "LipSDP-Neuron (Fazlyab et al. 2019), l_2 input norm", lipsdp.check),
    Method("geolip", geolip.geolip, GeoLIPOptions,
           "GeoLIP (Wang et al. 2022): SDP of the formal constant over the lifted layers, "
           "one multiplier per input and neuron, certified; l_inf input norm", geolip.check),
    Method("dp", dp.dp, DPOptions,
           "exact formal constant by variable elimination (small elimination width; l_inf, "
           "l_2, l_1)", dp.check),
    Method("milp", milp.milp, MILPOptions,
           "formal constant by mixed-integer LP (HiGHS branch and bound; l_inf, l_1)",
           milp.check),
    Method("bab", bab.bab, BaBOptions,
           "true local l_inf constant over a box: branch and bound on the activation pattern "
           "with linear bounds through the Jacobian (Shi et al. 2022 style) and exact leaves",
           bab.check),
    Method("auto", auto.auto, AutoOptions,
           "best certified bound within a time budget (default)"),
)

#: The table by name.
BY_NAME = {m.name: m for m in TABLE}
