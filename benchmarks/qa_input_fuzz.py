"""QA round 4: fuzz every input polylip reads, at the byte, token and structure level.

Usage::

    PYTHONPATH=. python3 benchmarks/qa_input_fuzz.py [SEED] [--kinds pop,expr,cert,ray,mray,npz,cli]
                                                     [--cli-cases N] [--per-kind N]

Deterministic (one ``random.Random(SEED)`` per kind). What is checked:

* **API** (in this process, under a 3 GiB address-space cap and a 20 s alarm per case): the call
  returns, or raises a :class:`polylip.errors.PolylipError` with a message. Anything else (a raw
  ``KeyError``, ``IndexError``, ``TypeError``, ``RecursionError``, ``MemoryError``,
  ``OverflowError``, ``json.JSONDecodeError`` ...) or the alarm is a FAIL.
* **Certificates**: ``from_json`` of a tampered document returns or raises a polylip error;
  ``verify()`` returns a bool (never raises, never hangs). A tampered SOS certificate that still
  verifies is checked against sampling: no point of its (tampered) feasible set may have an
  objective value below its claimed bound; a tampered ray certificate that verifies is checked
  along its ray in floats. "must fail" tampers (claimed bound raised above the optimum, a
  moment-ray value negated) must fail ``verify()``.
* **CLI** (``python3 -m polylip ...`` in a subprocess, 4 GiB address-space cap, 90 s guard):
  exit code 0, 1 or 2; on 1 or 2 exactly one non-warning line on stderr; never ``Traceback``,
  never ``internal error``; bad input (a refused file) exits 2.

Prints one table row per kind: cases, failures, and the first failures in full.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from polylip.errors import PolylipError  # noqa: E402

CASE_SECONDS = 20
CLI_GUARD = 90
API_MEMORY = 3 * 2**30
CLI_MEMORY = 4 * 2**30

# ---------------------------------------------------------------------- seeds (valid inputs)
SNIPPETS = [
    open(os.path.join(ROOT, "examples", f)).read()
    for f in sorted(os.listdir(os.path.join(ROOT, "examples"))) if f.endswith(".pop")
] + [
    "# A quartic over the box [-1, 1]^3\nvariables: x y z\n"
    "minimize: x^4 + y^4 + z^4 - 2*x*y*z + x^2*y - 3*z^2 + y\n"
    "subject to: 1 - x^2 >= 0\nsubject to: y^2 <= 1\ns.t.: z^2 <= 1\n",
    "minimize: x^2 - 2*x*y\nsubject to: x^2 + y^2 <= 1\n",
    "maximize: x*y + y*z\nsubject to: x^2 + y^2 + z^2 == 1\n",
    "minimize: x1 + 2*x2 - x3\nbinary: x1 x2 x3\nsubject to: x1 + x2 + x3 >= 1\n",
    "minimize: s1*s2 + s2*s3 - s1*s3\nspin: s1 s2 s3\n",
    "minimize: (x - 1/3)^2 + 1e-3*y**2\nsubject to: y >= 0\nsubject to: 2 - y >= 0\n",
]

NUMBERS = ["1e308", "1.7976931348623157e308", "1e309", "1e-320", "4.9e-324", "1e-400", "10**10000",
           "10^10000", "1" + "0" * 400, "0." + "0" * 400 + "1", "nan", "NaN", "inf", "-inf",
           "Infinity", "1e99999", "0x10", "1_000", "\u0663", "\uff11", "1.2.3", "1e", ".5", "5.",
           "1e+308*1e308", "2^1023*2", "1/0", "0/0", "1e-200*1e-200", "-0", "00012", "1E3",
           "9" * 5000]
EXPONENTS = ["1000000000", "10**9", "1001", "1000", "-1", "0.5", "99999999999999999999", "(2)",
             "x", "2^2^2^2", "0", "1e1", "+2", "(10^3)", "3^7", "2^10"]
LOOKALIKES = ["\u0445", "x\u200b", "\uff58", "x\u0301", "\u03c7", "\U0001d465", "x\u00a0",
              "\u2212", "\u00d7", "\u00b7", "\uff0b", "\u2265", "\u2264", "\u2260", "\u2013",
              "\ufeff", "\u202e", "\u0000", "\u2028", "\u0085"]
OPERATORS = ["=", "<", ">", "==", ">=", "<=", "=>", "=<", "!=", "<>", "**", "^", "//", "%",
             "&", "|", "@", "~", ",", ";", ":"]
KEYWORDS = ["minimize:", "maximize:", "subject to:", "s.t.:", "variables:", "binary:", "spin:"]


def _tokens(text):
    import re
    return re.findall(r"\d+\.?\d*(?:[eE][-+]?\d+)?|[A-Za-z_]\w*|\*\*|[<>=]=|\S|\s+", text)


def mutate_text(rng: random.Random, text: str) -> tuple[str, str]:
    """(mutated text, label) of one byte, token or structure mutation of a valid problem."""
    level = rng.choice(["byte", "token", "structure"])
    if level == "byte":
        kind = rng.choice(["truncate", "delete", "insert", "flip", "dup", "nul", "bom", "crlf",
                           "cr", "garbage", "latin1", "longline", "tabs"])
        i = rng.randrange(len(text) + 1)
        if kind == "truncate":
            return text[:i], f"truncate@{i}"
        if kind == "delete":
            return text[:i] + text[i + 1:], f"delete@{i}"
        if kind == "insert":
            return text[:i] + chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000)])) + text[i:], f"insert@{i}"
        if kind == "flip":
            b = bytearray(text.encode())
            if b:
                b[min(i, len(b) - 1)] ^= 1 << rng.randrange(8)
            return b.decode("utf-8", "surrogateescape"), f"flip@{i}"
        if kind == "dup":
            j = rng.randrange(i, len(text) + 1)
            return text[:j] + text[i:j] * rng.choice([2, 50, 2000]) + text[j:], f"dup{i}:{j}"
        if kind == "nul":
            return text[:i] + "\0" + text[i:], "nul"
        if kind == "bom":
            return "\ufeff" + text, "bom"
        if kind == "crlf":
            return text.replace("\n", "\r\n"), "crlf"
        if kind == "cr":
            return text.replace("\n", "\r"), "cr-only"
        if kind == "garbage":
            return bytes(rng.randrange(256) for _ in range(rng.choice([10, 500]))).decode(
                "utf-8", "surrogateescape"), "garbage"
        if kind == "latin1":
            return text + "# caf\xe9\n", "latin1"
        if kind == "longline":
            return "minimize: " + " + ".join(f"{rng.randint(1, 9)}*x{k % 50}^{k % 3}" for k in range(40000)) + "\n", "longline"
        return text.replace(" ", "\t"), "tabs"
    if level == "token":
        toks = _tokens(text)
        idx = [k for k, t in enumerate(toks) if not t.isspace()]
        kind = rng.choice(["number", "exponent", "lookalike", "operator", "keyword", "swap", "drop"])
        k = rng.choice(idx)
        if kind == "number":
            nums = [j for j, t in enumerate(toks) if t[0].isdigit()] or idx
            k = rng.choice(nums)
            toks[k] = rng.choice(NUMBERS)
        elif kind == "exponent":
            toks[k] = toks[k] + "^" + rng.choice(EXPONENTS)
        elif kind == "lookalike":
            toks[k] = toks[k] + rng.choice(LOOKALIKES) if rng.random() < 0.5 else rng.choice(LOOKALIKES)
        elif kind == "operator":
            toks[k] = rng.choice(OPERATORS)
        elif kind == "keyword":
            toks[k] = rng.choice(KEYWORDS)
        elif kind == "swap":
            j = rng.choice(idx)
            toks[k], toks[j] = toks[j], toks[k]
        else:
            toks[k] = ""
        return "".join(toks), f"{kind}:{toks[k][:30]!r}"
    kind = rng.choice(["dup-objective", "both-senses", "no-objective", "empty-section", "dup-vars",
                       "undeclared", "binary-spin", "binary-undeclared", "deep", "deep-sign",
                       "tower", "bomb", "degree", "many-constraints", "many-vars", "only-comments",
                       "empty", "constant-constraint", "name-long", "keyword-case"])
    lines = text.splitlines()
    if kind == "dup-objective":
        return text + "minimize: x\n", kind
    if kind == "both-senses":
        return text + "maximize: 1\n", kind
    if kind == "no-objective":
        return "\n".join(l for l in lines if not l.startswith(("minimize", "maximize"))) + "\n", kind
    if kind == "empty-section":
        return text + rng.choice(KEYWORDS) + "\n", kind
    if kind == "dup-vars":
        return "variables: x x y y z\n" + "\n".join(l for l in lines if not l.startswith("variables")) + "\n", kind
    if kind == "undeclared":
        return "variables: x\n" + "\n".join(l for l in lines if not l.startswith("variables")) + "\nsubject to: q >= 0\n", kind
    if kind == "binary-spin":
        return text + "binary: x\nspin: x\n", kind
    if kind == "binary-undeclared":
        return "variables: x y z\n" + "\n".join(l for l in lines if not l.startswith("variables")) + "\nbinary: w\n", kind
    if kind == "deep":
        d = rng.choice([150, 199, 201, 1000, 100000])
        return f"minimize: {'(' * d}x{')' * d}\n", f"deep{d}"
    if kind == "deep-sign":
        d = rng.choice([199, 201, 100000])
        return f"minimize: {'-' * d}x\n", f"deep-sign{d}"
    if kind == "tower":
        return "minimize: x^2^2^2^2^2\n", kind
    if kind == "bomb":
        return rng.choice(["minimize: (x+y+z+w+v)^1000\n", "minimize: (x+y)^60 + 1\n",
                           "minimize: " + "*".join(f"(x{k}+y{k}+1)" for k in range(30)) + "\n",
                           "minimize: ((x+y)^10)^10\n"]), kind
    if kind == "degree":
        return "minimize: x^1000 + y^1000\nsubject to: 1 - x^2 >= 0\nsubject to: 1 - y^2 >= 0\n", kind
    if kind == "many-constraints":
        return "minimize: x + y\n" + "".join(f"subject to: x + {k}*y >= -{k}\n" for k in range(5000)), kind
    if kind == "many-vars":
        return "minimize: " + " + ".join(f"x{k}^2" for k in range(3000)) + "\n", kind
    if kind == "only-comments":
        return "# nothing\n# here\n", kind
    if kind == "empty":
        return "", kind
    if kind == "constant-constraint":
        return text + rng.choice(["subject to: -1 >= 0\n", "subject to: 0 == 1\n", "subject to: 1 >= 0\n"]), kind
    if kind == "name-long":
        return f"minimize: {'x' * 200000} + 1\n", kind
    return text.replace("minimize", "MINIMIZE").replace("subject to", "Subject To"), kind


# ---------------------------------------------------------------------- harness
class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def api_case(fn, *args):
    """('ok' | 'refused' | 'FAIL', detail) of one API call."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        out = fn(*args)
        return "ok", out
    except PolylipError as exc:
        if not str(exc):
            return "FAIL", f"{type(exc).__name__} without a message"
        return "refused", f"{type(exc).__name__}: {str(exc)[:160]}"
    except Timeout:
        return "FAIL", f"no answer in {CASE_SECONDS} s"
    except BaseException as exc:  # noqa: BLE001 - the point of the fuzzer
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return "FAIL", f"{type(exc).__name__}: {str(exc)[:160]} at {os.path.basename(tb.filename)}:{tb.lineno}"
    finally:
        signal.alarm(0)


class Tally:
    def __init__(self, kind):
        self.kind, self.cases, self.fails, self.refused, self.verified = kind, 0, [], 0, 0

    def add(self, label, status, detail):
        self.cases += 1
        if status == "FAIL":
            self.fails.append((label, detail))
        elif status == "refused":
            self.refused += 1


# ---------------------------------------------------------------------- POP text and strings
def fuzz_pop(rng, n, tally):
    from polylip.model.textformat import parse_problem
    cases = []
    for _ in range(n):
        text, label = mutate_text(rng, rng.choice(SNIPPETS))
        status, detail = api_case(parse_problem, text)
        tally.add(label, status, detail)
        cases.append((text, label))
    return cases


def fuzz_expr(rng, n, tally):
    from polylip.model.pop import POP
    from polylip.poly.parse import parse_expression, parse_relation
    exprs = ["x^4 + y^4 - 2*x*y*z + 3", "(x + 2*y)^2 - 8*x*y/2", "1 - x^2 - y^2", "x*y*z/7"]
    for _ in range(n):
        text, label = mutate_text(rng, "minimize: " + rng.choice(exprs))
        text = text.split(":", 1)[-1]
        which = rng.randrange(4)
        if which == 0:
            status, detail = api_case(parse_expression, text)
        elif which == 1:
            status, detail = api_case(parse_expression, text, "x y z")
        elif which == 2:
            status, detail = api_case(parse_relation, text + rng.choice([" >= 0", " <= x", " == 1", ""]))
        else:
            status, detail = api_case(lambda t: POP(t, ineqs=["1 - x^2"], variables=["x", "y", "z"]), text)
        tally.add(f"{label}/{which}", status, detail)


# ---------------------------------------------------------------------- certificates
def _walk(doc, path=()):
    yield path, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _walk(v, path + (k,))
    elif isinstance(doc, list):
        for k in sorted({0, len(doc) - 1, len(doc) // 2}):
            if 0 <= k < len(doc):
                yield from _walk(doc[k], path + (k,))


def _set(doc, path, value, delete=False):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    node = doc
    for p in path[:-1]:
        node = node[p]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def _value_mutations(rng, v):
    out = [None, "x", 1e308, -1, [], {}, True, [None] * 3]
    if isinstance(v, str):
        out += ["nan", "inf", "-inf", "0x1p+1024", "0x1p-1080", "1/0", "0/0", "1e999999999",
                "1e-999999999", "9" * 9000 + "/1", " 1/2", "1/2/3", "", "\x00",
                v + "0", "-" + v.lstrip("-")]
        try:
            f = float.fromhex(v)
            out += [(f * 1.001 + 1e-3).hex(), (-f).hex(), (f + 1).hex(), (f * 2).hex(), (0.0).hex()]
        except (ValueError, OverflowError):
            pass
    if isinstance(v, bool):
        out += [not v, 0, "true"]
    elif isinstance(v, int):
        out += [v + 1, v - 1, -2, 10**9, 2**40, 2**31, 10**30, 0.5, float("nan"), str(v)]
    if isinstance(v, list):
        out += [v[:-1], v + v[-1:] if v else [0], v * 2, list(reversed(v)), [v], [0] * 200000]
    if isinstance(v, dict):
        out += [dict(list(v.items())[:-1]), {**v, "extra": 1}]
        out += [{k: 10**9 for k in v}] if all(isinstance(x, int) for x in v.values()) else []
    return out


def _certificates():
    """(name, certificate object, problem) of the certificate kinds, from small solves."""
    from polylip.model.textformat import parse_problem
    from polylip.solve.moment_ray import find_moment_ray
    from polylip.model import POP
    from polylip.poly import variables
    out = []
    for text in ["minimize: x^4 + y^2 - x*y\nsubject to: 1 - x^2 - y^2 >= 0\n",
                 "minimize: x1*x2 - x2 + x1\nbinary: x1 x2\n",
                 "minimize: x^2 + y^2 - x\nsubject to: x + y == 1\nsubject to: 2 - x^2 >= 0\n",
                 # a degenerate sum of squares: exact (rational) Gram blocks, "p/q" strings
                 "minimize: (x - 10*y)^4 + (y - z)^2\n"]:
        pop = parse_problem(text)
        r = pop.solve(time_limit=30)
        assert r.certified and r.certificate is not None, (text, r)
        out.append(("sos", r.certificate, pop))
    for text in ["minimize: x - y\nsubject to: y - x >= 0\n",
                 "minimize: x^3 - y\nsubject to: x == y\n"]:
        pop = parse_problem(text)
        r = pop.solve(time_limit=30)
        if r.certificate is not None and type(r.certificate).__name__ == "RayCertificate":
            out.append(("ray", r.certificate, pop))
    x, y = variables("x y")
    out.append(("mray", find_moment_ray(POP(x * y, ineqs=[x, 1 - x, y, 1 - y]), order=1), None))
    return out


def _sampled_min(cert, rng_np, count=20000):
    """The smallest objective value of a sampled feasible point of the SOS certificate's set
    (None when no sample is feasible)."""
    n = len(cert.variables)
    lo, hi = -3.0 * np.ones(n), 3.0 * np.ones(n)
    if cert.box is not None:
        lo, hi = np.maximum(lo, cert.box[0]), np.minimum(hi, cert.box[1])
        if (lo > hi).any():
            return None
    X = rng_np.uniform(lo, hi, size=(count, n))
    X[:, cert.binary] = np.round(np.clip(X[:, cert.binary], 0, 1))
    X[:, cert.spin] = np.sign(X[:, cert.spin] + 1e-300)
    ok = np.ones(count, bool)
    for g in cert.ineqs:
        ok &= np.array([g.evaluate(x) for x in X]) >= 0
    if cert.eqs:  # sample on x + y = 1 the way the seed problem has it: project along the last variable
        return None
    if not ok.any():
        return None
    return float(min(cert.objective.evaluate(x) for x in X[ok]))


def fuzz_certs(rng, n, tally, kinds):
    from polylip.solve.certificate import SOSCertificate
    from polylip.solve.moment_ray import MomentRayCertificate
    from polylip.solve.unbounded import RayCertificate
    cls = {"sos": SOSCertificate, "ray": RayCertificate, "mray": MomentRayCertificate}
    rng_np = np.random.default_rng(rng.randrange(2**32))
    certs = [c for c in _certificates() if c[0] in kinds]
    for name, cert, pop in certs:
        text = cert.to_json()
        assert cls[name].from_json(text).verify(), name
        doc = json.loads(text)
        mutations = []
        for path, v in _walk(doc):
            if path:
                mutations.append((path, None, True))
            for m in _value_mutations(rng, v):
                mutations.append((path, m, False))
        rng.shuffle(mutations)
        raw = [("truncated", text[:rng.randrange(len(text))]), ("garbage", "\x00\xff{"),
               ("not-json", "polylip"), ("array", "[1, 2]"), ("deep", "[" * 100000 + "]" * 100000),
               ("nan", text.replace('"format"', '"x": NaN, "format"')), ("bom", "\ufeff" + text),
               ("bytes", text.encode()), ("none", None), ("dict", doc)]
        tried = 0
        for label, t in raw:
            status, detail = api_case(cls[name].from_json, t)
            tally.add(f"{name}:{label}", status, detail)
        for path, value, delete in mutations[:n]:
            label = f"{name}:{'/'.join(map(str, path))}={'DEL' if delete else repr(value)[:40]}"
            try:
                t = json.dumps(_set(doc, path, value, delete))
            except (ValueError, TypeError):
                continue
            status, detail = api_case(cls[name].from_json, t)
            tried += 1
            if status != "ok":
                tally.add(label, status, detail)
                continue
            tampered = detail
            status, ok = api_case(tampered.verify)
            if status != "ok":
                tally.add(label + " verify", status, ok)
                continue
            if not isinstance(ok, bool):
                tally.add(label + " verify", "FAIL", f"verify returned {ok!r}")
                continue
            if ok and t != text:
                tally.verified += 1    # a changed document that still proves its statement
                tally.add(label, *soundness(name, tampered, rng_np))
            else:
                tally.add(label, "refused" if not ok else "ok", "")
        # must-fail tampers
        for label, t in must_fail(name, doc):
            status, detail = api_case(cls[name].from_json, json.dumps(t))
            if status == "ok":
                status, ok = api_case(detail.verify)
                if status == "ok" and ok:
                    status, ok = "FAIL", "a tampered certificate passed verify()"
            tally.add(f"{name}:mustfail:{label}", status, ok if status == "FAIL" else "")


def soundness(name, cert, rng_np):
    if name == "sos":
        m = _sampled_min(cert, rng_np)
        if m is None:
            return "ok", "unchecked"
        claimed = cert.claimed
        if m < claimed - 1e-9 * max(1.0, abs(claimed)):
            return "FAIL", f"verify() passed for claimed {claimed} but a feasible point has {m}"
        return "ok", ""
    if name == "ray":
        from fractions import Fraction
        x0, d = np.array([float(v) for v in cert.x0]), np.array([float(v) for v in cert.d])
        sign = 1 if cert.sense == "min" else -1
        vals = []
        for t in (1e2, 1e4, 1e6):
            x = x0 + t * d
            if any(g.evaluate(x) < -1e-9 * t ** g.degree for g in cert.ineqs) or \
                    any(abs(h.evaluate(x)) > 1e-9 * t ** h.degree for h in cert.eqs):
                return "FAIL", f"verify() passed but x0 + {t:g} d is infeasible"
            vals.append(sign * cert.objective.evaluate(x))
        if not vals[2] < vals[1] < vals[0]:
            return "FAIL", f"verify() passed but the objective does not decrease along the ray: {vals}"
        return "ok", ""
    return "ok", "unchecked"


def must_fail(name, doc):
    out = []
    if name == "sos":
        c = float.fromhex(doc["claimed"])
        for bump in (1.0, 1e-3, 1e300):
            out.append((f"claimed+{bump:g}", _set(doc, ("claimed",), (c + bump).hex())))
        out.append(("box_assumed", _set(_set(doc, ("box_assumed",), True), ("claimed",), (c + 1).hex())))
        coeffs = doc["objective"]["coeffs"]
        out.append(("objective-const", _set(doc, ("objective", "coeffs", len(coeffs) - 1),
                                            (float.fromhex(coeffs[-1]) - 1).hex())))
    elif name == "ray":
        out.append(("d-zero", _set(doc, ("d",), ["0/1"] * len(doc["d"]))))
        out.append(("d-flip", _set(doc, ("d",), [("-" + v).replace("--", "") for v in doc["d"]])))
    elif name == "mray":
        out.append(("values-neg", _set(doc, ("values",), [("-" + v).replace("--", "") for v in doc["values"]])))
        out.append(("objective-neg", _set(doc, ("sense",), "max")))
    return out


# ---------------------------------------------------------------------- networks (.npz)
def _npz_bytes(arrays: dict, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, a in arrays.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, np.asarray(a) if not isinstance(a, np.ndarray) else a,
                                      allow_pickle=True)
            zf.writestr(k + ".npy", b.getvalue())
    return buf.getvalue()


def npz_cases(rng, n):
    base = {"W0": rng_normal(rng, (4, 3)), "b0": rng_normal(rng, (4,)), "W1": rng_normal(rng, (2, 4)),
            "b1": rng_normal(rng, (2,)), "activation": np.array("relu")}
    cases = [("valid", _npz_bytes(base))]
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = base["W0"], "relu"
    fixed = [
        ("object-array", {**base, "W0": obj}),
        ("object-activation", {**base, "activation": np.array(["relu"], dtype=object)}),
        ("W0-1d", {**base, "W0": base["W0"].ravel()}),
        ("W0-3d", {**base, "W0": base["W0"][None]}),
        ("W0-0d", {**base, "W0": np.array(1.0)}),
        ("chain-break", {**base, "W1": rng_normal(rng, (2, 5))}),
        ("bias-long", {**base, "b0": rng_normal(rng, (5,))}),
        ("bias-2d", {**base, "b0": base["b0"][None]}),
        ("nan", {**base, "W1": np.full((2, 4), np.nan)}),
        ("inf", {**base, "b1": np.array([np.inf, 1.0])}),
        ("huge", {**base, "W0": np.full((4, 3), 1e308)}),
        ("subnormal", {**base, "W0": np.full((4, 3), 1e-320)}),
        ("int", {**base, "W0": np.ones((4, 3), dtype=np.int64)}),
        ("uint8", {**base, "W0": np.ones((4, 3), dtype=np.uint8)}),
        ("bool", {**base, "W0": np.ones((4, 3), dtype=bool)}),
        ("float16", {**base, "W0": base["W0"].astype(np.float16)}),
        ("complex", {**base, "W0": base["W0"] + 1j}),
        ("str-weights", {**base, "W0": np.array([["a"] * 3] * 4)}),
        ("bytes-act", {**base, "activation": np.array(b"relu")}),
        ("datetime", {**base, "W0": np.zeros((4, 3), dtype="datetime64[s]")}),
        ("structured", {**base, "W0": np.zeros((4, 3), dtype=[("a", "f8")])}),
        ("act-unknown", {**base, "activation": np.array("gelu")}),
        ("act-unicode", {**base, "activation": np.array("r\u0435lu")}),
        ("act-list-long", {**base, "activations": np.array(["relu"] * 7)}),
        ("act-number", {**base, "activation": np.array(3.0)}),
        ("gap", {k: v for k, v in base.items() if k not in ("W1", "b1")} | {"W2": base["W1"]}),
        ("no-W0", {k: v for k, v in base.items() if k != "W0"}),
        ("empty", {}),
        ("zero-width", {**base, "W0": np.zeros((0, 3)), "b0": np.zeros(0), "W1": np.zeros((2, 0))}),
        ("extra-key", {**base, "W0 ": base["W0"]}),
        ("output-bad", {**base, "output": np.array("margin:9,1")}),
        ("output-weird", {**base, "output": np.array("vector:\u221e")}),
        ("input-shape-bad", {**base, "input_shape": np.array([-1, 3])}),
        ("input-shape-huge", {**base, "input_shape": np.array([10**9, 10**9, 3])}),
        ("sparse-bad-index", {"W0_data": np.ones(2), "W0_indices": np.array([0, 99]),
                              "W0_indptr": np.array([0, 1, 2]), "W0_shape": np.array([2, 3]),
                              "b0": np.zeros(2), "W1": np.ones((1, 2))}),
        ("sparse-neg-shape", {"W0_data": np.ones(2), "W0_indices": np.array([0, 1]),
                              "W0_indptr": np.array([0, 1, 2]), "W0_shape": np.array([-2, 3]),
                              "W1": np.ones((1, 2))}),
        ("sparse-huge-shape", {"W0_data": np.ones(2), "W0_indices": np.array([0, 1]),
                               "W0_indptr": np.array([0, 1, 2]), "W0_shape": np.array([2, 10**15]),
                               "W1": np.ones((1, 2))}),
    ]
    cases += [(label, _npz_bytes(a)) for label, a in fixed]
    good = cases[0][1]
    cases.append(("lying-header", _lying_header()))
    # zip flags and methods: the general-purpose flag (encrypted) and the compression method
    # (99 is unknown to zipfile) patched in the local header and the central directory
    for label, offset, value in (("encrypted", 6, b"\x01\x00"), ("method99", 8, b"\x63\x00"),
                                 ("bzip2", 8, b"\x0c\x00")):
        b = bytearray(good)
        for sig, shift in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 2)):
            i = b.find(sig)
            while i >= 0:
                b[i + offset + shift:i + offset + shift + 2] = value
                i = b.find(sig, i + 4)
        cases.append((label, bytes(b)))
    for k in range(n):
        kind = rng.choice(["truncate", "flip", "garbage", "zip-of-text"])
        if kind == "truncate":
            cases.append((f"truncate{k}", good[:rng.randrange(len(good))]))
        elif kind == "flip":
            b = bytearray(good)
            for _ in range(rng.choice([1, 5, 50])):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            cases.append((f"flip{k}", bytes(b)))
        elif kind == "garbage":
            cases.append((f"garbage{k}", bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 100, 5000])))))
        else:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr("W0.npy", "not an array")
            cases.append((f"zip-text{k}", buf.getvalue()))
    return cases


def rng_normal(rng, shape):
    return np.random.default_rng(rng.randrange(2**32)).standard_normal(shape)


def _lying_header():
    b = io.BytesIO()
    np.lib.format.write_array(b, np.ones((4, 3)))
    raw = b.getvalue().replace(b"(4, 3)", b"(400000, 300000)".ljust(6)[:len(b"(4, 3)")] if False else b"(4, 3)")
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    hb = io.BytesIO()
    np.lib.format.write_array_header_1_0(hb, header)
    raw = hb.getvalue() + b"\0" * 96
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("W0.npy", raw)
    return buf.getvalue()


def fuzz_npz(rng, n, tally, workdir):
    from polylip.nn.loaders import load_model
    cases = npz_cases(rng, n)
    paths = []
    for label, data in cases:
        path = os.path.join(workdir, f"net_{len(paths)}.npz")
        with open(path, "wb") as f:
            f.write(data)
        paths.append((path, label))
        status, detail = api_case(load_model, path)
        if label == "valid" and status != "ok":
            status = "FAIL"
        if label.startswith("object") and status == "ok":
            status, detail = "FAIL", "an object array (pickle) was loaded without an opt-in"
        tally.add(label, status, detail)
        paths[-1] = (path, label, status != "ok")
    return paths


# ---------------------------------------------------------------------- torch files
class _Evil:
    """A pickle whose loading would create MARKER (os.system): must never run."""
    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def fuzz_torch(rng, tally, workdir):
    try:
        import torch
    except ImportError:
        return []
    import pickle
    from polylip.nn.loaders import load_model
    marker = os.path.join(workdir, "PWNED")
    _Evil.marker = marker
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    cases = []

    def save(label, obj, raw=None):
        path = os.path.join(workdir, f"t_{len(cases)}.pt")
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        else:
            torch.save(obj, path)
        cases.append((path, label))

    save("module", net)
    save("state_dict", net.state_dict())
    save("tensor", torch.ones(3))
    save("evil-torch", {"w": _Evil()})
    save("evil-pickle", None, pickle.dumps(_Evil()))
    save("nan-state", {k: v * float("nan") for k, v in net.state_dict().items()})
    save("list", [torch.ones(2, 2)])
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    good = buf.getvalue()
    for k in range(8):
        cut = good[:rng.randrange(len(good))]
        save(f"truncated{k}", None, cut)
    for k in range(8):
        b = bytearray(good)
        for _ in range(rng.choice([1, 10])):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        save(f"flip{k}", None, bytes(b))
    save("empty", None, b"")
    refused = []
    for path, label in cases:
        status, detail = api_case(load_model, path)
        if label == "module" and (status != "refused" or "pickle" not in detail):
            status = "FAIL"
        if os.path.exists(marker):
            status, detail = "FAIL", "a pickle ran code while loading"
            os.remove(marker)
        tally.add(label, status, detail)
        refused.append(status != "ok")
    return [(path, label, bad) for (path, label), bad in zip(cases, refused)]


# ---------------------------------------------------------------------- CLI
def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY, CLI_MEMORY))


def cli_case(args, expect_bad=False):
    env = dict(os.environ, PYTHONPATH=ROOT)
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "polylip", *args], capture_output=True, text=True,
                           timeout=CLI_GUARD, env=env, preexec_fn=_limit, errors="replace")
    except subprocess.TimeoutExpired:
        return "FAIL", f"killed after {CLI_GUARD} s"
    sec = time.perf_counter() - t0
    lines = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith("polylip: warning:")]
    if "Traceback" in p.stderr or "internal error" in p.stderr or "out of memory" in p.stderr:
        return "FAIL", f"rc {p.returncode}: {p.stderr.strip()[-300:]}"
    if p.returncode not in (0, 1, 2):
        return "FAIL", f"rc {p.returncode}: {p.stderr.strip()[-300:]}"
    if p.returncode and len(lines) != 1:
        return "FAIL", f"rc {p.returncode} with {len(lines)} stderr lines: {lines[:3]}"
    if expect_bad and p.returncode != 2:
        return "FAIL", f"expected exit 2, got {p.returncode}: {lines[:1]}"
    if p.returncode == 2:
        return "refused", lines[0][:160]
    return "ok", f"rc {p.returncode} {sec:.1f}s {lines[:1]}"


def fuzz_cli(rng, n, tally, pop_cases, npz_paths, workdir, parts=("solve", "flags", "lipschitz")):
    from polylip.model.textformat import parse_problem
    rng.shuffle(pop_cases)
    done = 0
    for text, label in pop_cases:
        if done >= n or "solve" not in parts:
            break
        path = os.path.join(workdir, f"case_{done}.pop")
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        # a file's byte-order mark is accepted (docs/problem-format.md), a string's is not
        bad = api_case(parse_problem, text.removeprefix("\ufeff"))[0] != "ok"
        status, detail = cli_case(["solve", path, "--time-limit", "5"], expect_bad=bad)
        tally.add(f"solve {label}", status, detail)
        done += 1
    ex = os.path.join(ROOT, "examples", "box_quartic.pop")
    flags = [["solve", ex, "--order", "0"], ["solve", ex, "--order", "auto", "--time-limit", "1e-9"],
             ["solve", ex, "--order", "99999", "--time-limit", "5"], ["solve", ex, "--time-limit", "nan"],
             ["solve", ex, "--time-limit", "-1"], ["solve", ex, "--time-limit", "1e309"],
             ["solve", ex, "--sparsity", "bogus"], ["solve", ex, "--solver", "bogus"],
             ["solve", ex, "--method", "lp", "--degree", "100000", "--time-limit", "5"],
             ["solve", ex, "--degree", "-3"], ["solve", ex, "--sparsity", "cs+ts:\u0441hordal"],
             ["solve", "/dev/null"], ["solve", "/nonexistent.pop"], ["solve", workdir],
             ["solve", ex, "--json", "--time-limit", "5"], ["structure", ex, "--steps", "0"],
             ["structure", ex, "--order", "400", "--time-limit", "5"],
             ["structure", ex, "--plot", "/nonexistent/dir/x.png"],
             ["lipschitz", "/nonexistent.npz"], ["solve"], ["bogus"], [],
             ["solve", ex, "--time-limit", "9" * 400], ["solve", ex, "--order", "1" + "0" * 30]]
    for args in flags if "flags" in parts else []:
        status, detail = cli_case(args)
        tally.add("flags " + " ".join(a[-30:] for a in args), status, detail)
    for path, label, bad in npz_paths if "lipschitz" in parts else []:
        # the same file as the network and as --center (an .npz is no .npy: always refused)
        for extra in (["--method", "product"], ["--method", "product", "--center", path, "--radius", "1"]):
            status, detail = cli_case(["lipschitz", path, *extra, "--budget", "5"],
                                      expect_bad=bad or "--center" in extra)
            tally.add(f"lipschitz {label} {' '.join(extra[:2])}", status, detail)


# ---------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int, nargs="?", default=0)
    ap.add_argument("--kinds", default="pop,expr,sos,ray,mray,npz,torch,cli")
    ap.add_argument("--per-kind", type=int, default=400)
    ap.add_argument("--cli-cases", type=int, default=60)
    ap.add_argument("--show", type=int, default=8)
    ap.add_argument("--cli-parts", default="solve,flags,lipschitz")
    a = ap.parse_args()
    kinds = a.kinds.split(",")
    # soft cap only: the CLI children set their own (a hard cap here could not be raised there)
    resource.setrlimit(resource.RLIMIT_AS, (API_MEMORY, resource.getrlimit(resource.RLIMIT_AS)[1]))
    sys.setrecursionlimit(3000)
    tallies = []
    workdir = tempfile.mkdtemp(prefix="qa_input_fuzz_")
    pop_cases, npz_paths = [], []
    t0 = time.perf_counter()
    if "pop" in kinds or "cli" in kinds:
        t = Tally("problem text (parse_problem)")
        pop_cases = fuzz_pop(random.Random(a.seed), a.per_kind, t)
        tallies.append(t)
    if "expr" in kinds:
        t = Tally("expression strings (parse_expression/relation, POP(str))")
        fuzz_expr(random.Random(a.seed + 1), a.per_kind, t)
        tallies.append(t)
    certkinds = [k for k in ("sos", "ray", "mray") if k in kinds]
    if certkinds:
        for k in certkinds:
            t = Tally(f"certificate JSON ({k})")
            fuzz_certs(random.Random(a.seed + 2), a.per_kind, t, [k])
            tallies.append(t)
    if "npz" in kinds or "cli" in kinds:
        t = Tally("network .npz (load_model)")
        npz_paths = fuzz_npz(random.Random(a.seed + 3), 30, t, workdir)
        tallies.append(t)
    if "torch" in kinds or "cli" in kinds:
        t = Tally("torch .pt (load_model)")
        npz_paths += fuzz_torch(random.Random(a.seed + 5), t, workdir)
        tallies.append(t)
    if "cli" in kinds:
        t = Tally("CLI (subprocess)")
        fuzz_cli(random.Random(a.seed + 4), a.cli_cases, t, pop_cases, npz_paths, workdir,
                 a.cli_parts.split(","))
        tallies.append(t)
    print(f"\nseed {a.seed}, {time.perf_counter() - t0:.0f} s\n")
    print("| input kind | cases | refused (polylip error or verify() False) | tampered, still verified (checked) | FAIL |")
    print("|---|---|---|---|---|")
    for t in tallies:
        print(f"| {t.kind} | {t.cases} | {t.refused} | {t.verified or '-'} | {len(t.fails)} |")
    for t in tallies:
        seen = set()
        for label, detail in t.fails:
            key = (label.split("@")[0], detail.split(" at ")[-1] if " at " in detail else detail[:60])
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > a.show:
                break
            print(f"FAIL [{t.kind}] {label!r}: {detail}")


if __name__ == "__main__":
    main()
