"""Certificate documents from elsewhere (QA round 4): every malformed or tampered field is a
ModelError naming it, or a certificate ``verify()`` refuses; never a raw KeyError/TypeError/
IndexError, a hang (``Fraction('1e-999999999')``) or a huge allocation (an exponent 10^9)."""

import json

import pytest

from polylip.errors import ModelError
from polylip.model import POP
from polylip.poly import variables
from polylip.solve import certificate_json as cj
from polylip.solve.certificate import SOSCertificate
from polylip.solve.moment_ray import MomentRayCertificate, find_moment_ray
from polylip.solve.unbounded import RayCertificate, find_ray


@pytest.fixture(scope="module")
def documents():
    x, y = variables("x y")
    sos = POP(x**4 + y**2 - x * y, ineqs=[1 - x**2 - y**2]).solve(order=2, time_limit=60).certificate
    ray = find_ray(POP(x - y, ineqs=[y - x]))
    mray = find_moment_ray(POP(x * y, ineqs=[x, 1 - x, y, 1 - y]), order=1)
    docs = {"sos": (SOSCertificate, sos.to_json()), "ray": (RayCertificate, ray.to_json()),
            "mray": (MomentRayCertificate, mray.to_json())}
    assert all(cls.from_json(text).verify() for cls, text in docs.values())
    return docs


def _set(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


_DELETE = object()

# (kind, path, value): each must be refused by from_json or by verify()
TAMPERS = [
    ("sos", ("variables",), True), ("sos", ("blocks",), 1e308), ("sos", ("equalities",), None),
    ("sos", ("box",), {}), ("sos", ("exact",), None), ("sos", ("spin",), "x"),
    ("sos", ("spin",), [[False, False]]), ("sos", ("claimed",), "0x1p+1024"),
    ("sos", ("bound",), "1e-999999999"), ("sos", ("shifts",), -1), ("sos", ("fold",), "yes"),
    ("sos", ("blocks", 0, "basis", 1, 0), float("inf")), ("sos", ("blocks", 0, "basis", 1, 0), 2**40),
    ("sos", ("blocks", 0, "gram", 0), "nan"), ("sos", ("blocks", 0, "basis"), [[-1], [0]]),
    ("sos", ("objective", "rows", 0), [None, None]), ("sos", ("box_assumed",), _DELETE),
    ("ray", ("spin",), _DELETE), ("ray", ("spin",), [[]]), ("ray", ("binary",), ["nope"]),
    ("ray", ("x0", 0), "1e-999999999"), ("ray", ("x0", 0), "0/0"), ("ray", ("x0", 0), {}),
    ("ray", ("x0", 0), "9" * 9000), ("ray", ("d",), None), ("ray", ("objective", 0, 0), {"x": 10**9}),
    ("ray", ("objective", 0), ["0x1p+0", {"x": 1}]), ("ray", ("ineqs", 0), None),
    ("mray", ("values", 0), "1/0"), ("mray", ("values", 0), "1e999999999"), ("mray", ("values",), True),
    ("mray", ("order",), None), ("mray", ("order",), 10**9), ("mray", ("monomials", 0, 0), 0.5),
    ("mray", ("objective", 0, 0), {"y": 2**40}), ("mray", ("variables",), _DELETE),
    ("mray", ("sense",), "maximize"),
]


def _refused(cls, text) -> bool:
    try:
        cert = cls.from_json(text)
    except ModelError as exc:
        assert str(exc)
        return True
    ok = cert.verify()
    assert isinstance(ok, bool)
    return not ok


@pytest.mark.parametrize("kind, path, value", TAMPERS, ids=lambda v: str(v)[:20])
def test_tampered_fields_are_refused(documents, kind, path, value):
    cls, text = documents[kind]
    doc = _set(json.loads(text), path, value)
    assert _refused(cls, json.dumps(doc))


@pytest.mark.parametrize("kind", ["sos", "ray", "mray"])
@pytest.mark.parametrize("text", [None, b"\xff\xfe", "[1, 2]", "{", '{"format": NaN}',
                                  "[" * 100000 + "]" * 100000, "polylip"], ids=range(7))
def test_documents_that_are_not_json_objects(documents, kind, text):
    with pytest.raises(ModelError, match="document"):
        documents[kind][0].from_json(text)


def test_bytes_with_a_byte_order_mark_are_read(documents):
    cls, text = documents["sos"]
    assert cls.from_json(b"\xef\xbb\xbf" + text.encode()).verify()


def test_a_huge_order_is_refused_before_its_blocks_are_listed(documents):
    """order 400 over 2 variables: a top block of 401 rows, more than the search writes;
    verify() says so at once (it used to list and eliminate the blocks in rationals)."""
    cls, text = documents["mray"]
    doc = json.loads(text)
    doc["order"] = 400
    doc["monomials"] = [[0] * 800 for _ in doc["values"]]
    cert = cls.from_json(json.dumps(doc))
    assert not cert.verify() and "larger than verify() checks" in cert.why_not()


def test_rationals_are_parsed_without_exponents():
    assert cj.fraction("-12/8", "v") == cj.fraction("-3/2", "v")
    for bad in ["1e5", "0x10", "1/0", " 1/2", "1/2/3", "", "inf", 3]:
        with pytest.raises(ModelError, match="v"):
            cj.fraction(bad, "v")
