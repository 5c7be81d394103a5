"""Random degenerate sums of squares: how many bounds the certify stage proves (issue 12).

Each problem is the unconstrained ``q1^2 (+ q2^2) + l^2`` in x, y, z, with ``q_i`` integer
quadratic forms (entries in [-3, 3]) and ``l`` an integer linear form: the minimum is 0 at 0
and the Gram matrices of every optimal certificate are singular (their kernels hold ``m(p)``
at the zeros of the quartic part at infinity), which a float certificate can only pay for with
an unbounded shift. The exact facial repair (``polylip/solve/certificate_face.py``) certifies
those whose kernel has a small rational basis. Columns: status, certified, bound, whether
``verify()`` passed, whether the certificate has exact (faced) blocks. Summary on the last line.

Usage::

    python benchmarks/bench_degenerate_sos.py                 # 12 problems, seed 1
    python benchmarks/bench_degenerate_sos.py --count 50 --seed 2
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import sympy

from polylip import POP


def problems(count: int, seed: int):
    rng = np.random.default_rng(seed)
    x, y, z = sympy.symbols("x y z")
    m2 = [x**2, x*y, y**2, x*z, y*z, z**2]
    for _ in range(count):
        k = rng.integers(1, 3)
        f = sum(sum(int(c) * m for c, m in zip(rng.integers(-3, 4, 6), m2)) ** 2 for _ in range(k))
        f += (int(rng.integers(1, 4)) * x - int(rng.integers(-3, 4)) * y + int(rng.integers(-2, 3)) * z) ** 2
        yield sympy.expand(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    print("| # | status | certified | bound | verify | exact blocks |")
    print("|---|---|---|---|---|---|")
    cert = faced = bad = 0
    for i, f in enumerate(problems(args.count, args.seed)):
        r = POP(f).solve(time_limit=60)
        ok = r.certificate.verify() if r.certified else None
        exact = bool(r.certified and getattr(r.certificate, "exact", ()))
        cert += bool(r.certified)
        faced += exact
        bad += bool(r.certified and (r.bound > 0 or not ok))
        print(f"| {i} | {r.status} | {r.certified} | {r.bound:.4g} | {ok} | {exact} |", flush=True)
    print(f"certified {cert} of {args.count} ({faced} with exact blocks); above the minimum 0 or "
          f"failing verify(): {bad}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
