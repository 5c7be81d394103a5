"""GeoLIP (Wang, Prakriya and Jha, NeurIPS 2022): the natural SDP relaxation of the formal
l_inf Lipschitz constant over the lifted, layer-wise formulation, certified.

For a scalar or margin output ``f(x) = u . W_L phi(W_{L-1} ... phi(W_1 x))`` the formal l_inf
constant is ``max ||grad f||_1`` over all activation patterns, i.e.

    max  w . v_H   s.t.  t in [-1, 1]^{n_0},  v_0 = t,  v_k = diag(s_k) W_k v_{k-1},
                         s_kj in [alpha_kj, beta_kj]                  (w = W_L^T u)

(the slope ranges: [0, 1] for a ReLU globally, interval bounds over a local region). GeoLIP
lifts the layers (one vector ``v_k`` per hidden layer, no pattern variables): ``v = s z`` with
``s in [alpha, beta]`` is ``(v - alpha z)(v - beta z) <= 0``, one quadratic constraint per
neuron, and ``t_i^2 <= 1`` per input. The S-procedure (Shor's relaxation) with multipliers
``lambda_kj >= 0``, ``mu_i >= 0`` and a homogenizing coordinate proves ``w . v_H <= L / 2`` when

    (L - sum mu) a^2 - 2 a w . v_H + sum_i mu_i t_i^2 - sum lambda_kj q(v_{k-1}, v_k)_j >= 0

for all ``(a, t, v)``: a matrix of size ``1 + n_0 + n_1 + ... + n_H``. Eliminating ``a`` (Schur
complement) and scaling (``L = gamma + c sum mu``, optimal ``c``) turns it into

    minimize  sum_i mu_i   s.t.   -M(diag(mu), lambda) >= 0,      bound = sqrt(sum_i mu_i),

where ``-M`` is exactly the LipSDP-Neuron matrix of :mod:`polylip.nn.lipsdp` with output
``Wout = w^T`` and the input block ``diag(mu)`` instead of ``rho I``. Read directly: if the
matrix is PSD then ``(w . v_H)^2 <= sum mu_i t_i^2 <= sum mu_i`` on the box, a weighted
Cauchy-Schwarz. With ``mu = rho 1`` it is LipSDP's l_2 bound times ``sqrt(n_0)``, so GeoLIP is
never worse than that, and the per-input weights adapt to inputs that matter little (the blank
border pixels of an image). For one hidden layer it is GeoLIP's two-layer SDP (the
Grothendieck-type relaxation of ``max c^T W_2 diag(s) W_1 x``, ``x in {-1,1}^n, s in [0,1]^m``).

How it differs from method "shor": "shor" relaxes the gradient POP of
:mod:`polylip.nn.gradient_pop` (pattern variables ``sigma`` binary, ``t`` spin; for deep nets
the backward lifted products ``z_k = diag(s_k) W_{k+1}^T z_{k+1}`` with interval boxes) with
one dense moment matrix over all of ``(1, t, sigma, z)``: about twice the size, and Clarabel or
CVXOPT must handle it densely. GeoLIP eliminates ``s`` (one constraint per neuron), so its LMI
is block tridiagonal in the layers with rank-2 data per multiplier, which two solvers exploit
(``form``):

* ``"dense"``: one LMI as an :class:`~polylip.relax.conic.LMIProblem` with sparse data, handed
  to :func:`polylip.solve.sdp.solve_sdp` (Clarabel by default). Clarabel's KKT system holds a
  dense block of ``(N(N+1)/2)^2`` entries for an ``N x N`` cone, so this is for small networks
  (``N <= AUTO_DENSE_MAX_N``).
* ``"structured"``: a primal-dual interior-point method (HKM, Mehrotra) written for this
  structure, the one of :func:`polylip.nn.lipsdp.lipsdp_neuron` with one input multiplier per
  coordinate: the Schur complement costs a few ``m x N`` products per iteration. It starts
  from the ECLipsE-Fast point (strictly feasible) and stays dual feasible, so a time limit
  still leaves a certified bound.

Whatever the solver's accuracy the bound is **certified a posteriori** from the multipliers
alone: :func:`polylip.nn.lipsdp.certify_rho` with ``input_weights = mu`` proves ``rho`` with
``-M(rho diag(mu), lambda) >= 0`` by a shifted block Cholesky whose round-off is bounded
(see there), and the bound is ``sqrt(rho sum mu)``. A slightly infeasible answer is mixed with
the strictly feasible start until the hidden part certifies.

Several functionals (a vector output: the maximum over them), :func:`geolip_max`: each one
after the first stops as soon as a certified bound below the largest so far is reached (its
SDP value no longer changes the maximum), and may start from the others' multipliers rescaled
(:func:`_rescaled`: the output is only the rank-one term of the last block). On the digits
64-200-200-200-10 net's 10 outputs: 63 iterations instead of 211 (benchmarks/RESULTS.md).

Examples
--------
>>> import numpy as np
>>> from polylip.nn.network import Network
>>> net = Network.from_weights([np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])])
>>> out = geolip_bound(net)     # the formal l_inf constant is 3 (pattern s = (1, 1))
>>> out["status"], round(out["bound"], 2)
('optimal', 3.34)
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from polylip.errors import ModelError
from polylip.nn import lipsdp as _ls
from polylip.nn.hkm import hkm_solve
from polylip.relax.conic import LMIProblem
from polylip.solve.sdp import solve_sdp

__all__ = ["geolip_bound", "geolip_max", "geolip_lmi", "certify_geolip", "choose_form", "FORMS",
           "AUTO_DENSE_MAX_N"]

log = logging.getLogger(__name__)

#: The forms of :func:`geolip_bound` (besides "auto").
FORMS = ("dense", "structured")
#: "dense" (Clarabel on the one LMI) up to this LMI size: the same line as LipSDP's
#: (:data:`polylip.nn.lipsdp.AUTO_DENSE_MAX_N`, measured there), above it "structured".
AUTO_DENSE_MAX_N = _ls.AUTO_DENSE_MAX_N


def _weights_floor(mu) -> np.ndarray:
    """Input weights for the certificate: positive (an input the SDP gave weight 0 gets a tiny
    one; the certificate then asks for what it needs)."""
    mu = np.asarray(mu, dtype=float)
    top = float(np.max(mu)) if mu.size and np.all(np.isfinite(mu)) else 0.0
    if not top > 0:
        return np.ones(mu.shape)
    return np.maximum(mu, 1e-12 * top)


def certify_geolip(data: _ls.LipSDPData, lam, mu) -> dict:
    """The bound these multipliers prove: ``sqrt(rho * sum(mu))`` with ``rho`` certified by
    :func:`polylip.nn.lipsdp.certify_rho` (input block ``rho diag(mu)``). Returns ``bound``
    (None when the hidden part is not certified positive definite), ``rho``, ``message``."""
    w = _weights_floor(mu)
    cert = _ls.certify_rho(data, lam, input_weights=w)
    if cert.rho is None:
        return dict(bound=None, rho=None, message=cert.message, shift=cert.shift)
    # sqrt of a rounded product of a rounded sum: one ulp outward per operation is covered by
    # the relative bump (the certificate's rho already carries its own)
    total = float(np.sum(w)) * (1.0 + 4.0 * w.size * _ls._U)
    bound = float(np.sqrt(cert.rho * total * (1.0 + 4.0 * _ls._U)) * (1.0 + 2.0 * _ls._U))
    return dict(bound=bound, rho=float(cert.rho), message="", shift=cert.shift,
                weights=w)


def _certify_or_mix(data, lam, mu, start):
    """Certify ``(lam, mu)``; if the hidden part fails, mix with the strictly feasible
    ``start = (lam0, mu0)``, the smallest weight that certifies. Returns (result, weight)."""
    out = certify_geolip(data, lam, mu)
    if out["bound"] is not None or start is None:
        return out, 0.0
    lam0, mu0 = start
    for t in (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0):
        o2 = certify_geolip(data, (1 - t) * np.maximum(lam, 0.0) + t * lam0,
                            (1 - t) * np.maximum(mu, 0.0) + t * mu0)
        if o2["bound"] is not None:
            return o2, t
    return out, 0.0


# ---------------------------------------------------------------------------------------------
# the dense LMI (Clarabel)
# ---------------------------------------------------------------------------------------------
def geolip_lmi(data: _ls.LipSDPData) -> LMIProblem:
    """GeoLIP as one ``N x N`` LMI: ``minimize sum(mu)`` over ``x = (lambda, mu)`` with
    ``mat(G x + h) = -M(diag(mu), lambda)`` PSD (and ``lambda_j >= 0`` where not implied)."""
    N, nh, n0 = data.N, data.nh, data.n0
    nvars = nh + n0
    parts = _ls._entries(data)
    r, c, v, x = (np.concatenate([p[i] for p in parts]) for i in range(4))
    inp = x == nh  # LipSDP's rho on the input diagonal: one multiplier per input instead
    x = np.where(inp, nh + r, x)
    G = sp.csr_matrix((v, (r * N + c, x)), shape=(N * N, nvars))
    h = np.zeros((N, N))
    o = data.offsets[-2]
    h[o:, o:] = -_ls._output_term(data)
    Gs, hs, _ = _ls._nonneg_rows(data, nvars)
    c_obj = np.zeros(nvars)
    c_obj[nh:] = 1.0
    return LMIProblem(c=c_obj, offset=0.0, G=tuple([G] + Gs), h=tuple([h.ravel()] + hs),
                      sizes=tuple([N] + [1] * len(Gs)), A=sp.csr_matrix((0, nvars)),
                      b=np.zeros(0), meta={"form": "geolip-dense"})


# ---------------------------------------------------------------------------------------------
# the structured interior-point method
# ---------------------------------------------------------------------------------------------
class _DiagOps:
    """The linear maps of LipSDP's structured method (:class:`polylip.nn.lipsdp._Ops`) with
    one multiplier per input coordinate: ``y = (y_1..y_n0, y_hidden)``, ``A_i = e_i e_i^T``
    for the inputs."""

    def __init__(self, data: _ls.LipSDPData):
        self.base = _ls._Ops(data)
        self.n0, self.m, self.N = data.n0, data.nh, data.N

    def _lift(self, y):
        return np.concatenate([[0.0], y[self.n0:]])

    def apply(self, Y):
        return np.concatenate([np.diag(Y)[:self.n0], self.base.apply(Y)[1:]])

    def adjoint(self, y):
        X = self.base.adjoint(self._lift(y))
        i = np.arange(self.n0)
        X[i, i] += y[:self.n0]
        return X

    def right_mul(self, Y, y):
        out = self.base.right_mul(Y, self._lift(y))
        out[:, :self.n0] += Y[:, :self.n0] * y[:self.n0][None, :]
        return out

    def schur(self, X, P):
        """HKM Schur complement ``M_ij = A_i . (X A_j P)``: the neuron block from
        :meth:`polylip.nn.lipsdp._Ops.schur`, the input block ``X_ii' P_ii'``, the cross block
        ``sum_rs S_rs (X u_jr)_i (u_js^T P)_i``."""
        b, n0 = self.base, self.n0
        Mb = b.schur(X, P)
        hid = b.hid
        R = {}
        for nm, Y in (("X", X), ("P", P)):
            R[nm] = {"A": b.AY(Y[:, :n0]), "E": Y[hid, :n0]}  # only the input columns
        S = {("A", "A"): b.sA, ("A", "E"): b.sX, ("E", "A"): b.sX, ("E", "E"): b.sE}
        hr = np.zeros((self.m, n0))
        for (r, s), val in S.items():
            if np.any(val):
                hr += val[:, None] * R["X"][r] * R["P"][s]
        M = np.empty((n0 + self.m, n0 + self.m))
        Mi = X[:n0, :n0] * P[:n0, :n0]
        M[:n0, :n0] = 0.5 * (Mi + Mi.T)
        M[n0:, :n0] = hr
        M[:n0, n0:] = hr.T
        M[n0:, n0:] = Mb[1:, 1:]
        return M


def _structured(data: _ls.LipSDPData, start_mu, start_lam, *, tol: float, max_iters: int,
                deadline: float | None, cap: float = 1e8, stop_value: float | None = None) -> dict:
    """HKM primal-dual interior-point method for ``max -sum(mu) s.t.
    -M(diag(mu), lambda) >= 0, 0 <= lambda <= cap * start_lam`` (the caps as in
    :func:`polylip.nn.lipsdp._structured`). Dual form ``S = C - sum y_i A_i`` with
    ``y = -(mu, lambda)``; starts strictly dual feasible and stays so."""
    ops = _DiagOps(data)
    m, N, n0 = ops.m, ops.N, ops.n0
    C = np.zeros((N, N))
    o = data.offsets[-2]
    C[o:, o:] = -_ls._output_term(data)
    b = np.zeros(n0 + m)
    b[:n0] = 1.0
    U = cap * np.maximum(start_lam, 1e-300)
    y0 = -np.concatenate([start_mu, start_lam])
    out = hkm_solve(ops, C, b, y0, U, n0, tol=tol, max_iters=max_iters, deadline=deadline,
                    label="GeoLIP", stop_value=stop_value)
    best_y, status, it, gap = out["y"], out["status"], out["iterations"], out["gap"]
    return dict(mu=-best_y[:n0], lam=-best_y[n0:], status=status, iterations=it, gap=gap)


# ---------------------------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------------------------
def choose_form(data: _ls.LipSDPData) -> str:
    """"dense" up to :data:`AUTO_DENSE_MAX_N`, else "structured"."""
    return "dense" if data.N <= AUTO_DENSE_MAX_N or data.depth == 0 else "structured"


#: The start of "structured" from another functional's multipliers is rescaled by
#: ``q (1 + WARM_MARGIN)`` (:func:`_rescaled`): strictly inside, away from the boundary that
#: the other functional's optimum lies on.
WARM_MARGIN = 0.5


def _same_lmi(a: _ls.LipSDPData, b: _ls.LipSDPData) -> bool:
    """The two LMIs differ at most in the output ``wout`` (the same hidden weights and slope
    ranges after pruning): multipliers of one then carry over to the other."""
    return (a.n0 == b.n0 and a.depth == b.depth
            and all(x.shape == y.shape and np.array_equal(x, y)
                    for x, y in zip(a.weights + a.alpha + a.beta, b.weights + b.alpha + b.beta)))


def _rescaled(data: _ls.LipSDPData, lam, mu, *, margin: float = 1e-6):
    """Multipliers ``(lam, mu)`` of another functional of the same hidden LMI, made feasible
    for this one's output ``w`` by one scale ``t`` (None if they cannot be).

    The output enters GeoLIP's matrix only through the rank-one term of the last block:
    ``-M_w(mu, lam) = K(mu, lam) - E w w^T E^T`` with ``K`` linear in ``(mu, lam)`` and the
    same for every functional. Multipliers strictly feasible for a functional ``w'`` have
    ``K > E w' w'^T E^T >= 0``, so ``K`` is positive definite, and by the Schur complement
    ``t K - E w w^T E^T >= 0`` iff ``t >= q = (E w)^T K^{-1} (E w)``; ``K`` being homogeneous,
    ``(t mu, t lam)`` is then feasible for ``w``, and strictly so for ``t > q``. The
    certificate (:func:`certify_geolip`) checks the scaled point a posteriori, as any other.
    Returns ``(t lam, t mu)`` with ``t = q (1 + margin)``.
    """
    lam = np.maximum(np.asarray(lam, dtype=float), 0.0)
    mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
    K = _DiagOps(data).adjoint(np.concatenate([mu, lam]))
    o = data.offsets[-2]
    ew = np.zeros(data.N)
    ew[o:] = data.wout[0]
    try:
        cf = sla.cho_factor(K, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    q = float(ew @ sla.cho_solve(cf, ew, check_finite=False))
    if not (np.isfinite(q) and q > 0):
        return None
    t = q * (1.0 + margin)
    return t * lam, t * mu


def _warm_start(data, warm, stop_below):
    """The best certified rescaled start among ``warm`` (multipliers of other functionals of
    the same hidden LMI): ``(cert, (lam, mu))`` or None."""
    best = None
    for item in (warm or ())[-3:]:  # the latest few (each try: a Cholesky of the LMI)
        wdata, wlam, wmu = item
        if not _same_lmi(wdata, data):
            continue
        sc = _rescaled(data, wlam, wmu)
        if sc is None:
            continue
        cert = certify_geolip(data, *sc)
        if cert["bound"] is not None and (best is None or cert["bound"] < best[0]["bound"]):
            best = (cert, (sc[0], cert["rho"] * cert["weights"]), (wlam, wmu))
    return best


def geolip_bound(net, derivative_bounds=None, *, form: str = "auto", solver: str = "clarabel",
                 tol: float | None = None, time_limit: float | None = None,
                 max_iters: int | None = None, warm=None,
                 stop_below: float | None = None) -> dict:
    """GeoLIP's certified bound on the formal l_inf constant ``max ||grad f||_1`` of a scalar
    or margin output over the slope ranges ``derivative_bounds`` (one ``(lo, hi)`` per hidden
    layer; default the global derivative ranges).

    Parameters
    ----------
    net : Network
        Scalar or margin output.
    derivative_bounds : list of (lo, hi), optional
        Slope ranges per hidden layer (a local region's interval bounds).
    form : {"auto", "dense", "structured"}
        How to solve (module docstring).
    solver : str
        For "dense": a name :func:`polylip.solve.sdp.solve_sdp` takes.
    tol : float, optional
        Solver tolerance ("structured": relative gap, default 1e-7).
    time_limit : float, optional
        Seconds; "structured" then certifies its current (feasible) multipliers.
    max_iters : int, optional
        Iteration limit.
    warm : list, optional
        ``(data, lam, mu)`` of other functionals of the same network (as :func:`geolip_max`
        passes them): rescaled (:func:`_rescaled`), the best certified one is the start of
        "structured" when it is below the ECLipsE-Fast start's bound.
    stop_below : float, optional
        A bound that is enough: stop as soon as one at most this is certified (status
        "dominated"; :func:`geolip_max` passes the largest bound found so far).

    Returns
    -------
    dict
        ``bound`` (None unless certified), ``status`` ("optimal", "time_limit" with a valid
        bound short of the optimum, "dominated" with a valid bound below ``stop_below``, or
        the solver's failure), ``value_solver`` (the solver's ``sqrt(sum mu)``), ``rho``
        (certified scale), ``form``, ``lmi_size``, ``nvars``, ``seconds``, ``mixed``,
        ``pruned``, ``warm_bound`` (the certified bound of the warm start, if any).
    """
    return _geolip(net, derivative_bounds, form=form, solver=solver, tol=tol,
                   time_limit=time_limit, max_iters=max_iters, warm=warm,
                   stop_below=stop_below)[0]


def _geolip(net, derivative_bounds, *, form, solver, tol, time_limit, max_iters, warm,
            stop_below):
    """:func:`geolip_bound` and the multipliers it certified, ``(data, lam, mu)`` (None
    when there are none)."""
    t0 = time.perf_counter()
    if net.functional() is None:
        raise ModelError("GeoLIP bounds a scalar or margin output: pick one with "
                         "output='margin:i,j' or a functional")
    data = _ls.lipsdp_data(net, derivative_bounds)
    base = dict(lmi_size=data.N + 1, nvars=data.nh + data.n0, pruned=data.pruned)
    if _ls._constant(data):
        return dict(base, bound=0.0, status="optimal", form="none", rho=0.0,
                    seconds=time.perf_counter() - t0,
                    message="every path through the network is cut: f is constant"), None
    if data.depth == 0:  # linear: the l_1 norm of the gradient, exactly
        val = float(np.abs(data.wout).sum() * (1.0 + 2.0 * data.n0 * _ls._U))
        return dict(base, bound=val, status="optimal", form="linear",
                    seconds=time.perf_counter() - t0), None
    if form == "auto":
        form = choose_form(data)
    if form not in FORMS:
        raise ModelError(f"geolip form must be 'auto' or one of {', '.join(FORMS)}, got {form!r}")
    with _ls._blas_one_thread():
        rho0, lam0, F, _ = _ls._eclipse_start(data)
        ws = _warm_start(data, warm, stop_below)
    mu0 = np.full(data.n0, rho0)
    start = (lam0, mu0)
    eclipse_bound = float(np.sqrt(F * data.n0))
    if ws is not None:
        base["warm_bound"] = ws[0]["bound"]
        if stop_below is not None and ws[0]["bound"] <= stop_below:
            # the rescaled multipliers of another functional already prove enough
            seconds = time.perf_counter() - t0
            lam, mu = ws[1]
            return dict(base, form=form, bound=ws[0]["bound"], status="dominated",
                        rho=ws[0]["rho"], seconds=seconds, iterations=0, mixed=0.0,
                        eclipse_bound=eclipse_bound), (data, lam, mu)
    if form == "dense":
        lmi = geolip_lmi(data)
        left = None if time_limit is None else max(1e-3, t0 + time_limit - time.perf_counter())
        raw = solve_sdp(lmi, solver, tol=tol, max_iters=max_iters, time_limit=left)
        extra = dict(solver=raw.solver, solver_status=raw.raw_status)
        solver_status = raw.status
        if raw.x is None or raw.status not in ("optimal", "inaccurate"):
            # no answer (a time limit, a failure): the starting point is still a certificate
            lam, mu = start
            extra["message"] = raw.message or raw.raw_status
        else:
            lam, mu = raw.x[:data.nh], raw.x[data.nh:]
    else:
        if ws is not None and ws[0]["bound"] < eclipse_bound:
            # the warm start (strictly feasible: its rescaled hidden part certified)
            slam, smu = _rescaled(data, *ws[2], margin=WARM_MARGIN) or ws[1]
            srho = float(np.exp(np.mean(np.log(np.maximum(smu, 1e-300)))))
            bal = _ls._balance(data, srho, slam, slam)
            start_mu, start_lam = smu / bal.rho_scale, slam / bal.lam_scale
        else:
            bal = _ls._balance(data, rho0, lam0, lam0)
            start_mu, start_lam = np.ones(data.n0), lam0 / bal.lam_scale
        deadline = None if time_limit is None else t0 + float(time_limit)
        stop_value = None
        if stop_below is not None:
            # bound ~ sqrt(sum mu) and sum mu = rho_scale * sum mu': stop a little below, the
            # certificate's margin is about 1e-9 relative
            stop_value = (1.0 - 1e-6) * stop_below ** 2 / bal.rho_scale
        with _ls._blas_one_thread():
            out = _structured(bal.data, start_mu, start_lam,
                              tol=1e-7 if tol is None else float(tol),
                              max_iters=100 if max_iters is None else int(max_iters),
                              deadline=deadline, stop_value=stop_value)
        lam, mu = bal.unscale(out["lam"]), out["mu"] * bal.rho_scale
        extra = dict(solver="structured", solver_status=out["status"],
                     iterations=out["iterations"], gap=out["gap"])
        solver_status = out["status"]
    with _ls._blas_one_thread():
        cert, mixed = _certify_or_mix(data, lam, mu, start)
    seconds = time.perf_counter() - t0
    value_solver = float(np.sqrt(max(float(np.sum(mu)), 0.0)))
    res = dict(base, form=form, value_solver=value_solver, mixed=mixed, seconds=seconds,
               eclipse_bound=eclipse_bound, **extra)
    if cert["bound"] is None:
        return dict(res, bound=None, status="inaccurate", message=cert["message"]), None
    log.info("GeoLIP (%s): sum mu %.8g, certified bound %.8g, LMI %d, %d multipliers, %.2f s",
             form, value_solver ** 2, cert["bound"], data.N, data.nh + data.n0, seconds)
    # the bound is certified whatever the solver said; the status says how close it got
    status = solver_status if solver_status in ("optimal", "time_limit") else "inaccurate"
    if solver_status == "below" and cert["bound"] <= stop_below:
        status = "dominated"
    lam_c = (1 - mixed) * np.maximum(lam, 0.0) + mixed * start[0]
    mu_c = cert["rho"] * cert["weights"]  # the certified point
    return (dict(res, bound=cert["bound"], status=status, rho=cert["rho"],
                 margin=cert["bound"] - value_solver), (data, lam_c, mu_c))


def geolip_max(nets, derivative_bounds=None, *, form: str = "auto", solver: str = "clarabel",
               tol: float | None = None, time_limit: float | None = None,
               max_iters: int | None = None, warm: bool = True, report=None):
    """The largest GeoLIP bound over several scalar networks that share their hidden layers
    (the functionals of a vector output): ``(bound, parts, status)``.

    With ``warm`` (default) each functional after the first starts from the others'
    multipliers, rescaled (:func:`_rescaled`), and stops as soon as its certified bound is at
    most the largest found so far (status "dominated": that part no longer changes the
    maximum, so its SDP need not be solved). The maximum is the same as solving every
    functional (each part's bound is certified; a dominated part's is valid and below it).
    The functionals are taken in decreasing order of their ECLipsE-Fast bound, so that the
    largest is likely solved first. ``time_limit``: seconds for all, an even share of what is
    left to each. ``report(i)``: called after the ``i``-th functional. ``parts`` follow the
    order of ``nets``; ``status`` is "ok", "time_limit", or a failure (bound None).
    """
    t0 = time.perf_counter()
    order = list(range(len(nets)))
    if warm and len(nets) > 1:
        keys = []
        for one in nets:
            data = _ls.lipsdp_data(one, derivative_bounds)
            if _ls._constant(data) or data.depth == 0:
                keys.append(0.0)
                continue
            with _ls._blas_one_thread():
                _, _, F, _ = _ls._eclipse_start(data)
            keys.append(float(F))
        order = sorted(order, key=lambda i: -keys[i])
    parts = [None] * len(nets)
    best, status, pool = -np.inf, "ok", []
    for done, i in enumerate(order):
        left = None
        if time_limit is not None:
            # an even share of what is left; past the limit each functional still gets its
            # certified starting point (the ECLipsE-Fast multipliers: a few dense products)
            left = max(time_limit - (time.perf_counter() - t0), 1e-9) / (len(nets) - done)
        out, mult = _geolip(nets[i], derivative_bounds, form=form, solver=solver, tol=tol,
                            time_limit=left, max_iters=max_iters,
                            warm=pool if warm else None,
                            stop_below=best if warm and np.isfinite(best) else None)
        parts[i] = out
        if report is not None:
            report(done + 1)
        if out["bound"] is None:
            return None, [p for p in parts if p is not None], out["status"]
        if out["status"] == "time_limit":
            status = "time_limit"
        best = max(best, out["bound"])
        if mult is not None:
            pool.append(mult)
    return float(best), parts, status
