"""polylip's own PDLP: restarted primal-dual hybrid gradient for large LPs in numpy/scipy, with
the sparse products split over threads (``solver="pdhg"``).

Why this module is long: it is a whole first-order LP solver (scaling, step sizes, restarts,
termination, the threaded products) that must stay one readable unit next to the measurements
that chose each piece.

The LP form is :class:`polylip.relax.krivine.LPProblem`: ``minimize c @ z s.t. A z = b`` with
``z[0]`` free and ``z[1:] >= 0``. As in :mod:`polylip.backends.highspy_lp` the free variable is
substituted out first when it has a single entry (its row is dropped), leaving
``min c' x s.t. A' x = b', x >= 0``. Like every first-order result, the point is accurate to
about the tolerance; the bound is made valid downstream by the certificate check
(:meth:`polylip.solve.lp.LPRelaxation._result`).

The algorithm (PDLP, Applegate et al. 2021, as in cuPDLP, Lu & Yang 2023)
----------------------------------------------------------------------------
* **Preconditioning**: 10 Ruiz equilibration passes (rows and columns divided by the square
  root of their largest entry), then one Pock-Chambolle pass (alpha = 1: the square root of the
  rows' and columns' 1-norms), then ``b`` and ``c`` divided by ``1 + ||b||`` and ``1 + ||c||``.
* **PDHG** ``x+ = max(0, x - tau (c - A^T y))``, ``y+ = y + sigma (b - A (2 x+ - x))`` with
  ``tau = eta / omega``, ``sigma = eta omega``; the products ``A x`` and ``A^T y`` of each
  iterate are kept, so an iteration costs one ``A x`` and one ``A^T y``.
* **Adaptive steps** (PDLP's rule): a step is accepted when ``eta <= ||dz||_omega^2 /
  (2 |dy^T A dx|)``; the next ``eta`` is ``min((1 - (k+1)^-0.3) limit, (1 + (k+1)^-0.6) eta)``.
* **Restarts** every :data:`CHECK_EVERY` iterations on the KKT score
  ``sqrt(omega^2 |Ax - b|^2 + |(c - A^T y)^-|^2 / omega^2 + gap^2)`` of the current and the
  averaged iterate (cuPDLP's criteria: sufficient decay 0.2, necessary decay 0.8 with no local
  progress, artificial after 36 % of the iterations); the **primal weight** ``omega`` is
  updated at each restart from the distances moved, smoothed by 0.5 in the log.
* **Termination** on the original (unscaled) LP, cuPDLP-C's relative criteria:
  ``|Ax - b| <= tol (1 + |b|)``, ``|(c - A^T y)^-| <= tol (1 + |c|)`` and
  ``|c x - b y| <= tol (1 + |c x| + |b y|)`` (2-norms), on the current or the average.

The products: threads and float32
---------------------------------
``A`` (CSR, row blocks of equal non-zeros) and ``A^T`` (CSR, likewise) are both kept, one
block per thread, with int32 indices; scipy's sparse kernels release the GIL, so the blocks run
in parallel on a :class:`~concurrent.futures.ThreadPoolExecutor`. ``precision="single"`` keeps
the scaled matrix and the vectors handed to the products in float32 (iterates, sums and the
termination check stay float64): a third fewer bytes streamed per non-zero (8 instead of 12).
The vector work of each phase (primal step, dual step) runs on the same threads, block by
block in cache-sized chunks (:data:`CHUNK`), and the step's interaction ``dy.(A dx)`` is taken
on the short (row) side. Neither threads nor float32 change what the bound means (the
certificate is exact whatever the point).

**Per-clique templates** (:mod:`polylip.backends.pdhg_blocks`): when the LP labels its
columns by clique (``LPProblem.column_blocks``, set by the Krivine relaxation) and cliques of
one shape give equal blocks ``A[:, b] = P_b M`` (checked value for value), the products run as
``P (M @ X)`` and ``M^T @ (P^T y)`` with one small template ``M`` per shape and the blocks'
values as the columns of a dense ``X``: the template stays in the cache instead of ``nnz``
values and indices streaming from memory twice an iteration. The solver then works on the
columns permuted to the template order (undone on return); the scaling is unchanged (``r`` and
``s`` are applied as vectors). Measured at width 80 sparsity 20 (62 cliques of one shape, 9
pairs of smaller ones; float32, one thread, CPU ms at load 12-15): ``A x`` + ``A^T y`` 10.8
against 24.0 explicit (float64: 17.7 against 35.6); a whole iteration about 29 ms of CPU
against about 50 (RESULTS.md, "Width 80, sparsity 20, degree 4"). The template of the 62
equal cliques costs 0.22 ns a multiply-add, a pair of cliques about as much as the explicit
product, so smaller cliques that are not in a shape of their own gain little.

Measured (benchmarks/RESULTS.md, "polylip's own PDLP"; LiPopt-4 LPs of the CertDNN networks,
seed 0, tolerance 1e-6, load 8-11, CPU seconds of the whole run): width 80 sparsity 20,
1,040-1,080 iterations, 56.0-62.1 s in two runs (cuPDLP-C: 960 iterations, 84.3 s at the same
load), certified +3.9e-6 to +4.2e-6 from the published LiPopt-4; double precision 960 iterations, 64.7 s, +1.4e-6; width 80 sparsity 30,
1,640 iterations, 301 s, optimal. Hence ``solver="auto"`` takes ``"pdhg-single"`` for the LPs
of the first-order rule (:data:`polylip.backends.registry.AUTO_FIRST_ORDER`). A reflected
Halpern scheme with constant steps (cuPDLPx, ``scheme="halpern"``) took more iterations
(20x16: 560 against 480) and is not the default; nor is cuPDLPx's PID control of the primal
weight (``weight="pid"``, K_P 0.99, K_I 0.01, discount 0.3: the weight follows the measured
distance ratio at once instead of halfway in the log): width 40 sparsity 20 seeds 0-5, 5,560
iterations against 5,960 but seed 1 1,480 against 1,240; width 80 sparsity 20 seed 8 2,240
against 2,400; within the spread that the rounding alone makes (the per-clique templates
change no step of the method, only the products' rounding, and moved seeds 5-8 by -15 % to
+32 %), so not taken. Two threads: at load 2-3 they split the
float32 products 1.87x and a whole iteration 1.56x (80x20: 31.7 ms an iteration), and the
whole width-80 sparsity-20 run took 48.9 s of wall-clock (sparsity 30: 492 s at load 2-5.6);
at load 8-11 (the other core busy) they gain nothing and cost little CPU.

Statuses: "optimal" when the tolerances are met; "inaccurate" at the iteration cap or the time
limit (the better of the current and average point is returned, so the certificate check can
still certify a bound from it); "failed" on a non-finite iterate.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from polylip import runtime
from polylip.runtime import one_blas_thread
from polylip.backends import pdhg_blocks
from polylip.backends.base import BackendSolution
from polylip.backends.highspy_lp import _eliminate_free
from polylip.errors import RelaxationError

log = logging.getLogger(__name__)

#: Default relative tolerance (the same criteria and value as the cuPDLP-C backend).
DEFAULT_TOL = 1e-6
#: ``precision="single"`` is taken only for tolerances at least this large; below it the solve
#: runs in double precision (and says so in ``extra["precision"]``): float32 products carry a
#: rounding of about 6e-8 relative, so residuals far below 1e-7 are out of their reach.
SINGLE_MIN_TOL = 1e-7
#: Iteration cap when the caller gives none.
DEFAULT_MAX_ITERS = 100_000
#: Iterations between restart / termination checks (cuPDLP-C checks every 40).
CHECK_EVERY = 40
#: Elements per chunk of the vector work inside a block (256 KiB of float64: the few arrays a
#: chunk touches stay in the core's cache between the numpy calls).
CHUNK = 32_768
#: Ruiz passes of the preconditioner.
RUIZ_PASSES = 10


def default_threads() -> int:
    """Threads for the products: the cores this process may use, at most 2 (these machines
    have 2 cores; the second thread gains when the second core is free: 1.56x an iteration at
    load 2, nothing at load 10; benchmarks/RESULTS.md, runs P7 and P7b)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        n = os.cpu_count() or 1
    return max(1, min(2, n))


def estimate_bytes(nrows: int, ncols: int, nnz: int) -> int:
    """Bytes this backend needs beyond the caller's own LP, at its peak (the scaling), counted
    per non-zero: the reduced matrix in CSR (12), the CSC-to-CSR map (8), the transposed
    indices and the row of each non-zero (8), the float32 copies and the index of the scaling
    passes (16), a transient index conversion (8) and the scaled values (8): 60 bytes, plus
    the products' values in both orientations once the scaling is freed (8 or 16, within the
    same peak), and about 20 vectors of the iterates.

    Examples
    --------
    >>> estimate_bytes(92_871, 1_078_560, 12_403_440) // 10**6
    931
    """
    return int(60 * nnz + 20 * 8 * (nrows + ncols))


_one_blas_thread = one_blas_thread  # see polylip.runtime.one_blas_thread


class _Products:
    """``A x`` and ``A^T y`` of a fixed matrix, both orientations in CSR (``A^T`` as the CSC
    arrays of ``A``), each split in row blocks of about equal non-zeros over a thread pool.
    Built from the arrays of :class:`_Pattern` and the scaled values, without scipy's
    matrix-matrix products or slicing (blocks are views of the arrays)."""

    def __init__(self, pat: "_Pattern", data: np.ndarray, threads: int, dtype):
        self.dtype = np.dtype(dtype)
        self.m, self.n = pat.shape
        self.threads = int(threads)
        d = data.astype(self.dtype)
        self.rows = self._blocks(d, pat.indices, pat.indptr, self.n)
        self.cols = self._blocks(d[pat.perm], pat.t_indices, pat.t_indptr, self.m)
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def _blocks(self, data, indices, indptr, ncols):
        nrows = indptr.size - 1
        nnz = int(indptr[-1])
        k = self.threads if nrows >= 2 * self.threads else 1
        cuts = np.searchsorted(indptr, np.linspace(0, nnz, k + 1)[1:-1])
        edges = [0, *[int(c) for c in cuts], nrows]
        out = []
        for a, b in zip(edges[:-1], edges[1:]):
            if b <= a:
                continue
            p0, p1 = int(indptr[a]), int(indptr[b])
            B = sp.csr_matrix((data[p0:p1], indices[p0:p1], indptr[a:b + 1] - p0),
                              shape=(b - a, ncols), copy=False)
            B.has_sorted_indices = True
            out.append((a, b, B))
        return out

    def map(self, fn, blocks):
        """``[fn(a, b, B) for each block]``, the blocks on the pool's threads."""
        if self.pool is None or len(blocks) == 1:
            return [fn(*blk) for blk in blocks]
        return [f.result() for f in [self.pool.submit(fn, *blk) for blk in blocks]]

    def cast(self, v):
        return v.astype(self.dtype, copy=False)

    def _run(self, blocks, v, out):
        v = self.cast(v)

        def one(a, b, B):
            out[a:b] = B @ v

        self.map(one, blocks)
        return out

    def Ax(self, x, out=None):
        return self._run(self.rows, x, np.empty(self.m) if out is None else out)

    def ATy(self, y, out=None):
        return self._run(self.cols, y, np.empty(self.n) if out is None else out)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)


class _Pattern:
    """The index arrays of a CSR matrix and of its transpose (the CSC arrays), with ``perm``
    mapping CSC positions to CSR positions and the row of every non-zero; int32 where the
    sizes allow. One ``tocsc`` of a matrix whose values are the positions gives them all."""

    def __init__(self, A: sp.csr_matrix):
        A = sp.csr_matrix(A)
        A.sum_duplicates()
        A.sort_indices()
        m, n = A.shape
        nnz = A.nnz
        itype = np.int32 if max(m, n, nnz) < 2**31 - 1 else np.int64
        self.shape = (m, n)
        self.indices = A.indices.astype(itype, copy=False)
        self.indptr = A.indptr.astype(itype, copy=False)
        self.data = A.data.astype(float, copy=False)
        pos = sp.csr_matrix((np.arange(nnz, dtype=np.float64), A.indices, A.indptr), shape=(m, n)).tocsc()
        pos.sort_indices()
        self.perm = pos.data.astype(np.int64)
        self.t_indices = pos.indices.astype(itype, copy=False)
        self.t_indptr = pos.indptr.astype(itype, copy=False)
        self.row = np.repeat(np.arange(m, dtype=itype), np.diff(A.indptr))


def _segment(op, vals, indptr, size):
    """``op.reduceat`` over the segments of a CSR-like ``indptr`` (0 for empty segments)."""
    out = np.zeros(size)
    counts = np.diff(indptr)
    nonempty = np.flatnonzero(counts)
    if nonempty.size:
        out[nonempty] = op.reduceat(vals, np.asarray(indptr[:-1])[nonempty])
    return out


def _scale(pat: _Pattern, passes: int = RUIZ_PASSES):
    """Row and column scalings ``r``, ``s`` (``R A S`` equilibrated): Ruiz then Pock-Chambolle,
    on the value arrays in both orders (segmented reductions; the values in CSC order are
    gathered once and then rescaled in place, a random gather a pass cost 0.3 s at 12 M
    non-zeros). Returns ``r``, ``s`` and the scaled values in CSR order."""
    m, n = pat.shape
    r = np.ones(m)
    s = np.ones(n)
    # the passes run on float32 copies (half the bytes; the scalings need not be exact: the
    # scaled matrix is formed once from r and s in float64 at the end)
    cur = np.abs(pat.data).astype(np.float32)
    cur_t = cur[pat.perm]
    t_col = np.repeat(np.arange(n, dtype=pat.t_indices.dtype), np.diff(pat.t_indptr))

    def inv_sqrt(v):
        return np.where(v > 0, 1.0 / np.sqrt(np.where(v > 0, v, 1.0)), 1.0)

    tmp = np.empty_like(cur)  # one buffer for the gathers (fresh 100 MB temporaries page-fault)
    # (np.take converts int32 indices to intp on every call; converting them once was 15 %
    # faster at 12 M non-zeros, but held 32 more bytes a non-zero: not done)
    gathers = ((cur, pat.row, pat.indices), (cur_t, pat.t_indices, t_col))

    def apply(dr, dc):
        dr32, dc32 = dr.astype(np.float32), dc.astype(np.float32)
        for vals, ri, ci in gathers:
            np.take(dr32, ri, out=tmp)
            vals *= tmp
            np.take(dc32, ci, out=tmp)
            vals *= tmp

    for _ in range(passes):
        dr = inv_sqrt(_segment(np.maximum, cur, pat.indptr, m))
        dc = inv_sqrt(_segment(np.maximum, cur_t, pat.t_indptr, n))
        r *= dr
        s *= dc
        apply(dr, dc)
    # Pock-Chambolle, alpha = 1
    r *= inv_sqrt(_segment(np.add, cur.astype(float), pat.indptr, m))
    s *= inv_sqrt(_segment(np.add, cur_t.astype(float), pat.t_indptr, n))
    del cur, cur_t, tmp
    out = pat.data * np.take(r, gathers[0][1])
    out *= np.take(s, gathers[0][2])
    return r, s, out


def pdhg(*args, **kwargs) -> dict:
    """Solve ``min c x s.t. A x = b, x >= 0`` by restarted PDHG (the algorithm of the module
    docstring): ``pdhg(A, b, c, *, tol, max_iters, time_limit, threads, precision, x0, y0,
    check_every, verbose, scheme, reflection, weight, weight_gains, blocks, monitor)``;
    ``scheme="halpern"`` is the reflected Halpern variant with constant steps (cuPDLPx),
    ``weight="pid"`` cuPDLPx's PID control of the primal weight (gains ``weight_gains`` = K_P,
    K_I, K_D and the integral's discount), both measured and not the default (RESULTS.md);
    ``blocks`` the column labels of :mod:`polylip.backends.pdhg_blocks` (per-clique templates);
    ``monitor`` a callable given a dict at every check (iteration, the current and average
    scaled points, their relative residuals, ``to_orig``; for diagnostics). Returns a dict: ``x``, ``y`` (duals of ``A x = b``, i.e. of
    ``max b y s.t. A^T y <= c``), ``status`` ("optimal" / "inaccurate" / "failed"),
    ``iterations``, ``restarts``, the final relative residuals and the seconds spent in the
    products.

    Examples
    --------
    >>> A = sp.csr_matrix([[1.0, 1.0, 1.0]])
    >>> out = pdhg(A, np.array([1.0]), np.array([1.0, 2.0, 3.0]), tol=1e-8, threads=1)
    >>> out["status"], round(float(out["x"] @ [1.0, 2.0, 3.0]), 6)
    ('optimal', 1.0)
    """
    with _one_blas_thread():
        return _pdhg(*args, **kwargs)


def _pdhg(A, b, c, *, tol: float = DEFAULT_TOL, max_iters: int = DEFAULT_MAX_ITERS,
         time_limit: float | None = None, threads: int | None = None, precision: str = "double",
         x0=None, y0=None, check_every: int = CHECK_EVERY, verbose: bool = False,
         scheme: str = "adaptive", reflection: float = 1.0, monitor=None, weight: str = "smooth",
         weight_gains=(0.99, 0.01, 0.0, 0.3), blocks=None) -> dict:
    """The body of :func:`pdhg` (under one BLAS thread)."""
    t0 = time.perf_counter()
    if precision not in ("double", "single"):
        raise ValueError(f"precision must be 'double' or 'single', not {precision!r}")
    if scheme not in ("adaptive", "halpern"):
        raise ValueError(f"scheme must be 'adaptive' or 'halpern', not {scheme!r}")
    if weight not in ("smooth", "pid"):
        raise ValueError(f"weight must be 'smooth' or 'pid', not {weight!r}")
    A = sp.csr_matrix(A, dtype=float)
    m, n = A.shape
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    threads = default_threads() if threads is None else max(1, int(threads))
    deadline = None if time_limit is None else t0 + float(time_limit)
    pat = _Pattern(A)
    del A
    r, s, sdata = _scale(pat)
    perm = templates = None
    if blocks is not None and scheme == "adaptive":
        sdata_t = sdata[pat.perm]  # the scaled values in CSC order
        templates, rest = pdhg_blocks.find_templates(
            (pat.data[pat.perm], pat.t_indices, pat.t_indptr, (m, n)), blocks)
        if templates:
            # the solver works on the columns permuted to the template order (to_orig undoes it)
            perm = pdhg_blocks.column_order(templates, rest)
            c = c[perm]
            s = s[perm]
            if x0 is not None:
                x0 = np.asarray(x0, dtype=float)[perm]
            rest_csc = (pdhg_blocks.csc_columns(sdata_t, pat.t_indices, pat.t_indptr, rest, m)
                        if rest.size else None)
            log.info("pdhg: %d column template(s) of %s blocks, %d columns outside", len(templates),
                     "/".join(str(t["cols"].shape[0]) for t in templates), rest.size)
        del sdata_t
    bs0 = r * b
    cs0 = s * c
    sb = 1.0 + float(np.linalg.norm(bs0))
    sc = 1.0 + float(np.linalg.norm(cs0))
    bs = bs0 / sb
    cs = cs0 / sc
    dtype = np.float32 if precision == "single" else np.float64
    if perm is not None:
        ops = pdhg_blocks.TemplateProducts(templates, m, n, r, s, rest_csc,
                                           ThreadPoolExecutor(threads) if threads > 1 else None,
                                           threads, dtype)
        del rest_csc
    else:
        ops = _Products(pat, sdata, threads, dtype)
    amax = float(np.abs(sdata).max(initial=0.0))
    del pat, sdata
    nb = 1.0 + float(np.linalg.norm(b))
    nc = 1.0 + float(np.linalg.norm(c))
    prod_s = 0.0

    def to_orig(xs, ys):
        xo = xs * s * sb
        if perm is not None:
            xo[perm] = xo.copy()
        return xo, ys * r * sc

    # scaled iterates
    x = np.zeros(n) if x0 is None else np.maximum(np.asarray(x0, dtype=float) / (s * sb), 0.0)
    y = np.zeros(m) if y0 is None else np.asarray(y0, dtype=float) / (r * sc)
    tp = time.perf_counter()
    ax = ops.Ax(x)
    aty = ops.ATy(y)
    prod_s += time.perf_counter() - tp
    eta = 1.0 / amax if amax > 0 else 1.0
    nbs, ncs = float(np.linalg.norm(bs)), float(np.linalg.norm(cs))
    omega = ncs / nbs if min(nbs, ncs) > 1e-3 else 1.0
    nstep = 0

    xsum = np.zeros(n)
    ysum = np.zeros(m)
    axsum = np.zeros(m)
    wsum = 0.0
    x_last, y_last = x.copy(), y.copy()
    mu_last = None          # (pfeas, dfeas, gap) of the last restart point, scaled space
    mu_cand_prev = None
    last_restart = 0
    restarts = 0
    pid_sum = pid_prev = 0.0
    status, best = "inaccurate", None
    it = 0
    info = {}

    def measures(xv, yv, axv, atyv):
        """Scaled-space (pfeas, dfeas, gap) and original-space relative errors."""
        pres = axv - bs
        rc = cs - atyv
        dneg = np.minimum(rc, 0.0)
        pobj = float(cs @ xv)
        dobj = float(bs @ yv)
        scaled = (float(np.linalg.norm(pres)), float(np.linalg.norm(dneg)), abs(pobj - dobj))
        po = float(np.linalg.norm(pres / r)) * sb
        do = float(np.linalg.norm(dneg / s)) * sc
        pobj_o, dobj_o = pobj * sb * sc, dobj * sb * sc
        rel = (po / nb, do / nc, abs(pobj_o - dobj_o) / (1.0 + abs(pobj_o) + abs(dobj_o)))
        return scaled, rel

    def score(meas, w):
        p, d, g = meas
        return float(np.sqrt(w * w * p * p + d * d / (w * w) + g * g))

    g = np.empty(n)
    xn = np.empty(n)
    yn = np.empty(m)
    axn = np.empty(m)
    atyn = np.empty(n)
    wpend = 0.0
    whole = getattr(ops, "whole", False)
    xcast = np.empty(n, dtype=ops.dtype) if ops.dtype != np.float64 else None
    ycast = np.empty(m, dtype=ops.dtype) if ops.dtype != np.float64 else None

    def phase_a(a, b, tau, w):
        """xn = max(0, x - tau (c - A^T y)) and g = xn - x on [a, b), in chunks; returns g.g;
        adds w x to the average's sum first."""
        gg = 0.0
        for lo in range(a, b, CHUNK):
            hi = min(lo + CHUNK, b)
            xv, gv, xnv = x[lo:hi], g[lo:hi], xn[lo:hi]
            if w:
                xsum[lo:hi] += w * xv
            np.subtract(aty[lo:hi], cs[lo:hi], out=gv)
            gv *= tau
            np.add(xv, gv, out=xnv)
            np.maximum(xnv, 0.0, out=xnv)
            np.subtract(xnv, xv, out=gv)
            gg += float(np.dot(gv, gv))
            if xcast is not None:
                xcast[lo:hi] = xnv
        return gg

    def phase_b(a, b, B, sigma):
        """A x+ and y+ = y + sigma (b - 2 A x+ + A x) on rows [a, b); returns |dy|^2 and the
        interaction dy.(A dx) (= dx.(A^T dy), on the short side)."""
        out = axn[a:b]
        if B is None:  # template products: the whole A x+ in one threaded call
            ops.Ax(xn if xcast is None else xcast, out=axn)
        else:
            out[:] = B @ (xn if xcast is None else xcast)
        yv = yn[a:b]
        axv = ax[a:b]
        np.multiply(out, -2.0, out=yv)
        yv += bs[a:b]
        yv += axv
        yv *= sigma
        d = float(np.dot(yv, yv))
        inter = float(np.dot(yv, out - axv))
        yv += y[a:b]
        if ycast is not None:
            ycast[a:b] = yv
        return d, inter

    def phase_c(a, b, B):
        """A^T y+ on columns [a, b)."""
        atyn[a:b] = B @ (yn if ycast is None else ycast)

    loop_wall, loop_cpu = time.perf_counter(), time.process_time()
    if scheme == "halpern":
        # reflected restarted Halpern PDHG (cuPDLPx): constant step 0.998 / ||A||_2,
        # z+ = (k+1)/(k+2) ((1+rho) T(z) - rho z) + z0/(k+2), restarts on the fixed-point residual
        q = np.random.default_rng(0).standard_normal(m)
        lam = 1.0
        for _ in range(30):
            q /= np.linalg.norm(q)
            v = ops.Ax(ops.ATy(q))
            lam = float(q @ v)
            q = v
        eta = 0.998 / np.sqrt(lam)
        x0h, y0h, ax0, aty0 = x.copy(), y.copy(), ax.copy(), aty.copy()
        k = 0
        r_restart = None
        r_prev = None
        rho = float(reflection)

        def phase_ch(a, b, B, c1, c2, c3):
            out = atyn[a:b]
            out[:] = B @ (yn if ycast is None else ycast)
            for lo in range(a, b, CHUNK):
                hi = min(lo + CHUNK, b)
                for cur, new, zero in ((x, xn, x0h), (aty, atyn, aty0)):
                    cv = cur[lo:hi]
                    cv *= c2
                    cv += c1 * new[lo:hi]
                    cv += c3 * zero[lo:hi]
            return 0.0

        while True:
            tau = eta / omega
            sigma = eta * omega
            gg = sum(ops.map(lambda a, b, B: phase_a(a, b, tau, 0.0), ops.cols))
            dyy = sum(p[0] for p in ops.map(lambda a, b, B: phase_b(a, b, B, sigma), ops.rows))
            resid = float(np.sqrt(omega * gg + dyy / omega))
            w1, w0 = (k + 1) / (k + 2), 1.0 / (k + 2)
            c1, c2, c3 = w1 * (1 + rho), -w1 * rho, w0
            ops.map(lambda a, b, B: phase_ch(a, b, B, c1, c2, c3), ops.cols)
            # T(z) is (xn, yn) with products (axn, atyn); z+ overwrote x and aty in phase C
            it += 1
            k += 1
            check = it % check_every == 0 or it >= max_iters or (
                deadline is not None and time.perf_counter() > deadline)
            if check:
                cur_s, cur_rel = measures(xn, yn, axn, atyn)
                if not (np.isfinite(cur_s).all() and np.isfinite(cur_rel).all()):
                    status, best = "failed", (xn.copy(), yn.copy(), cur_rel)
                    break
                if verbose:
                    log.info("halpern it %d: T(z) %s residual %.3g omega %.3g", it,
                             ["%.2e" % v for v in cur_rel], resid, omega)
                best = (xn.copy(), yn.copy(), cur_rel)
                if max(cur_rel) <= tol:
                    status = "optimal"
                    break
                if it >= max_iters or (deadline is not None and time.perf_counter() > deadline):
                    status = "inaccurate"
                    break
                if r_restart is None:
                    r_restart = resid
                    r_prev = resid
                else:
                    restart = (k >= 0.36 * it or resid <= 0.2 * r_restart
                               or (resid <= 0.8 * r_restart and resid > r_prev))
                    r_prev = resid
                    if restart:
                        x[:] = xn
                        aty[:] = atyn
                        dxn = float(np.linalg.norm(xn - x0h))
                        dyn = float(np.linalg.norm(yn - y0h))
                        if min(dxn, dyn) > 1e-10:
                            omega = float(np.exp(0.5 * np.log(dyn / dxn) + 0.5 * np.log(omega)))
                        x0h[:] = xn
                        aty0[:] = atyn
                        y[:] = yn
                        ax[:] = axn
                        y0h[:] = yn
                        ax0[:] = axn
                        k = 0
                        restarts += 1
                        r_restart = resid
                        r_prev = resid
                        continue
            y *= -w1 * rho
            y += w1 * (1 + rho) * yn
            y += w0 * y0h
            ax *= -w1 * rho
            ax += w1 * (1 + rho) * axn
            ax += w0 * ax0
    while scheme != "halpern":
        if it % check_every == 0 or it >= max_iters or (deadline is not None and time.perf_counter() > deadline):
            if wpend:
                xsum += wpend * x
                wpend = 0.0
            cur_s, cur_rel = measures(x, y, ax, aty)
            if wsum > 0:
                xa = xsum / wsum
                ya = ysum / wsum
                axa = axsum / wsum
                tp = time.perf_counter()
                atya = ops.ATy(ya)
                prod_s += time.perf_counter() - tp
                avg_s, avg_rel = measures(xa, ya, axa, atya)
            else:
                xa = ya = axa = atya = None
                avg_s, avg_rel = cur_s, cur_rel
            if not (np.isfinite(cur_s).all() and np.isfinite(cur_rel).all()):
                status = "failed"
                best = (x, y, cur_rel)
                break
            if verbose:
                log.info("pdhg it %d: current %s average %s omega %.3g eta %.3g", it,
                         ["%.2e" % v for v in cur_rel], ["%.2e" % v for v in avg_rel], omega, eta)
            if monitor is not None:
                monitor(dict(it=it, cur=(x, y), avg=None if xa is None else (xa, ya), cur_rel=cur_rel,
                             avg_rel=avg_rel, omega=omega, eta=eta, restarts=restarts,
                             to_orig=to_orig))
            if max(cur_rel) <= tol:
                status, best = "optimal", (x, y, cur_rel)
                break
            if xa is not None and max(avg_rel) <= tol:
                status, best = "optimal", (xa, ya, avg_rel)
                break
            use_avg = xa is not None and score(avg_s, omega) < score(cur_s, omega)
            best = (xa, ya, avg_rel) if use_avg else (x, y, cur_rel)
            if it >= max_iters or (deadline is not None and time.perf_counter() > deadline):
                status = "inaccurate"
                break
            cand = avg_s if use_avg else cur_s
            if mu_last is None:
                mu_last = cur_s
                mu_cand_prev = cand
            elif it > last_restart:
                mc = score(cand, omega)
                ml = score(mu_last, omega)
                restart = ((it - last_restart) >= 0.36 * it or mc < 0.2 * ml
                           or (mc < 0.8 * ml and mc > score(mu_cand_prev, omega)))
                mu_cand_prev = cand
                if restart:
                    if use_avg:
                        x, y, ax, aty = xa, ya, axa, atya
                    dxn = float(np.linalg.norm(x - x_last))
                    dyn = float(np.linalg.norm(y - y_last))
                    if min(dxn, dyn) > 1e-10:
                        if weight == "pid":
                            kp, ki, kd, rho_i = weight_gains
                            e = float(np.log(omega * dxn / dyn))
                            pid_sum = e + rho_i * pid_sum
                            omega = float(np.exp(np.log(omega) - (kp * e + ki * pid_sum + kd * (e - pid_prev))))
                            pid_prev = e
                        else:
                            omega = float(np.exp(0.5 * np.log(dyn / dxn) + 0.5 * np.log(omega)))
                    x_last, y_last = x.copy(), y.copy()
                    xsum[:] = 0.0
                    ysum[:] = 0.0
                    axsum[:] = 0.0
                    wsum = 0.0
                    mu_last = cand
                    mu_cand_prev = cand
                    last_restart = it
                    restarts += 1
        # one PDHG step with PDLP's adaptive step size, in three phases over the blocks
        # (the vector work of each phase runs on the product threads too, in cache-sized
        # chunks): A. the primal step on column blocks; B. A x+ and the dual step on row
        # blocks; C. A^T y+ on column blocks. The average's sum of the last accepted x is
        # added in the next phase A (pending weight ``wpend``).
        while True:
            tau = eta / omega
            sigma = eta * omega
            gg = sum(ops.map(lambda a, b, B: phase_a(a, b, tau, wpend), ops.cols))
            wpend = 0.0
            tp = time.perf_counter()
            parts = ops.map(lambda a, b, B: phase_b(a, b, B, sigma), ops.rows)
            if whole:
                ops.ATy(yn if ycast is None else ycast, out=atyn)
            else:
                ops.map(phase_c, ops.cols)
            prod_s += time.perf_counter() - tp
            dyy = sum(p[0] for p in parts)
            movement = 0.5 * omega * gg + 0.5 / omega * dyy
            interaction = abs(sum(p[1] for p in parts))
            limit = movement / interaction if interaction > 0 else np.inf
            nstep += 1
            new_eta = min((1.0 - (nstep + 1) ** -0.3) * limit, (1.0 + (nstep + 1) ** -0.6) * eta)
            ok = eta <= limit
            used = eta
            eta = new_eta
            if ok or not np.isfinite(new_eta):
                break
        x, xn = xn, x
        y, yn = yn, y
        ax, axn = axn, ax
        aty, atyn = atyn, aty
        wpend = used
        ysum += used * y
        axsum += used * ax
        wsum += used
        it += 1

    loop_wall, loop_cpu = time.perf_counter() - loop_wall, time.process_time() - loop_cpu
    xs, ys, rel = best
    ops.close()
    xo, yo = to_orig(xs, ys)
    info.update(x=xo, y=yo, status=status, iterations=it, restarts=restarts, relative=rel,
                product_seconds=prod_s, seconds=time.perf_counter() - t0, threads=threads,
                precision=precision, omega=omega, step=eta, loop_seconds=loop_wall,
                loop_cpu_seconds=loop_cpu,
                template_columns=int(ops.off_rest) if perm is not None else 0)
    return info


def solve_lp(problem, tol: float | None = None, max_iters: int | None = None,
             verbose: bool = False, time_limit: float | None = None, warm_start=None,
             threads: int | None = None, precision: str = "double") -> BackendSolution:
    """Solve ``minimize c @ z s.t. A z = b, z[0] free, z[1:] >= 0`` with :func:`pdhg`.

    Parameters
    ----------
    tol : relative tolerance (default :data:`DEFAULT_TOL`).
    max_iters : iteration cap (default :data:`DEFAULT_MAX_ITERS`); at the cap the status is
        "inaccurate" and the better point (current or average) is returned.
    time_limit : seconds; the same at the limit (checked every :data:`CHECK_EVERY` iterations).
    warm_start : a :class:`BackendSolution` (or a pair ``(x, eq_duals)``) of an LP of the same
        shape.
    threads : threads for the sparse products (default :func:`default_threads`).
    precision : "double" or "single" (float32 matrix and product vectors; "double" is used
        instead when ``tol`` is below :data:`SINGLE_MIN_TOL`).

    Examples
    --------
    >>> from polylip.relax.krivine import LPProblem
    >>> lp = LPProblem(sp.csr_matrix([[1.0, 1.0]]), np.array([2.0]), np.array([-1.0, 0.0]))
    >>> round(solve_lp(lp, threads=1).value, 5)
    -2.0
    """
    t0 = time.perf_counter()
    name = "pdhg"
    tol = DEFAULT_TOL if tol is None else float(tol)
    if precision == "single" and tol < SINGLE_MIN_TOL:
        log.info("pdhg: tolerance %g below %g, float64 products instead of float32", tol, SINGLE_MIN_TOL)
        precision = "double"
    m, n = problem.A.shape
    need = estimate_bytes(m, n, int(problem.A.nnz))
    runtime.check_memory(need, f"solving the LP of {m:,} rows, {n:,} columns and "
                         f"{int(problem.A.nnz):,} non-zeros by polylip's PDHG",
                         "lower the degree or use smaller cliques", error=RelaxationError)
    reduced = _eliminate_free(problem)
    if reduced is None:
        # z[0] free in several rows: split it, z0 = u - v with u, v >= 0
        A = sp.csc_matrix(problem.A, dtype=float)
        Ar = sp.hstack([A[:, :1], -A[:, :1], A[:, 1:]]).tocsr()
        cr = np.concatenate([[problem.c[0], -problem.c[0]], np.asarray(problem.c[1:], dtype=float)])
        br = np.asarray(problem.b, dtype=float)
        offset = 0.0
    else:
        Ar, br, cr, offset, r0, a0, row0 = reduced
    if Ar.shape[1] == 0:
        from polylip.backends.highspy_lp import _trivial  # lazy: shared trivial-case helper
        out = _trivial(problem, reduced, br, offset, time.perf_counter() - t0)
        return BackendSolution(out.status, name, out.seconds, raw_status=out.raw_status,
                               value=out.value, dual_value=out.dual_value, x=out.x,
                               eq_duals=out.eq_duals)
    x0 = y0 = None
    if warm_start is not None:
        wx, wy = (warm_start.x, warm_start.eq_duals) if isinstance(warm_start, BackendSolution) else warm_start
        if wx is not None:
            wx = np.asarray(wx, dtype=float)
            if wx.size != n:
                raise ValueError(f"warm start has {wx.size} values for {n} columns")
            x0 = wx[1:] if reduced is not None else np.concatenate([[max(wx[0], 0), max(-wx[0], 0)], wx[1:]])
        if wy is not None:
            wy = np.asarray(wy, dtype=float)
            y0 = np.delete(wy, r0) if reduced is not None else wy
    was_reduced = reduced is not None
    blocks = getattr(problem, "column_blocks", None)
    if blocks is not None:
        blocks = np.asarray(blocks)
        blocks = blocks[1:] if was_reduced else np.concatenate([[-1, -1], blocks[1:]])
    reduced = None  # the CSC copy is freed by the conversion below (memory: estimate_bytes)
    Ar = sp.csr_matrix(Ar, dtype=float)
    build = time.perf_counter() - t0
    remaining = None if time_limit is None else max(float(time_limit) - build, 0.0)
    try:
        out = pdhg(Ar, br, cr, tol=tol, max_iters=DEFAULT_MAX_ITERS if max_iters is None else int(max_iters),
                   time_limit=remaining, threads=threads, precision=precision, x0=x0, y0=y0,
                   verbose=verbose, blocks=blocks)
    except MemoryError as exc:
        return BackendSolution("failed", name, time.perf_counter() - t0, raw_status="MemoryError",
                               message=str(exc))
    del Ar
    xr, yr = out["x"], out["y"]
    if was_reduced:
        z0 = (float(problem.b[r0]) - float(row0 @ xr)) / a0
        x = np.concatenate([[z0], xr])
        y = np.insert(yr, r0, float(problem.c[0]) / a0)
    else:
        x = np.concatenate([[xr[0] - xr[1]], xr[2:]])
        y = yr
    value = float(np.asarray(problem.c, dtype=float) @ x)
    dual_value = float(np.asarray(problem.b, dtype=float) @ y)
    seconds = time.perf_counter() - t0
    rel = out["relative"]
    raw = (f"pdhg {out['status']} after {out['iterations']} iterations ({out['restarts']} restarts; "
           f"relative residuals primal {rel[0]:.2e}, dual {rel[1]:.2e}, gap {rel[2]:.2e})")
    log.info("%s in %.3f s", raw, seconds)
    return BackendSolution(out["status"], name, seconds, raw_status=raw, value=value,
                           dual_value=dual_value, tolerance=tol, x=x, eq_duals=y,
                           message="" if out["status"] == "optimal" else raw,
                           extra=dict(iterations=out["iterations"], restarts=out["restarts"],
                                      model_seconds=build, product_seconds=out["product_seconds"],
                                      threads=out["threads"], precision=precision,
                                      estimated_bytes=need, reduced=was_reduced,
                                      template_columns=out["template_columns"]))
