"""Structure report (text, JSON, combinatorial dense counts), plots and the CLI subcommand."""

import json

import pytest
import sympy

from polylip import POP
from polylip.cli import main
from polylip.model.problems import broyden_tridiagonal
from polylip.sparsity.report import count_monomials, dense_counts

PROBLEM = """# chain of coupled quartics
variables: x1 x2 x3 x4 x5
minimize: x1**4 + x2**4 + x3**4 + x4**4 + x5**4 + x1*x2 + x2*x3 + x3*x4 + x4*x5
subject to: 1 - x1**2 - x2**2 >= 0
subject to: x3 - x4**2 == 0
"""


def test_dense_counts_match_the_built_dense_relaxation():
    x = sympy.symbols("x0:4")
    s = sympy.symbols("s0:2")
    pops = [POP(x[0]**3 * x[1] + x[2] * x[3], ineqs=[1 - x[0]**2 - x[1]**2], eqs=[x[2] - x[3]**2]),
            POP(s[0] * s[1] + x[0] * s[0] + x[1]**2, spin=s, ineqs=[1 - x[0]**2])]
    for pop in pops:
        for order in (2, 3):
            r = pop.relax(order)
            d = dense_counts(pop, order)
            assert d["moments"] == r.sizes["nmoments"]
            assert sum(d["block_sizes"].values()) == len(r.sizes["psd_sizes"])
            assert d["largest_block"] == max(r.sizes["psd_sizes"])
            assert d["equality_rows"] == r.sizes["equality_rows"]
            assert d["sos_side_vars"] == r.sizes["sos_side_vars"]
            assert d["nnz"] >= r.sizes["nnz"]


def test_count_monomials():
    assert count_monomials(3, 0, 2) == 10
    assert count_monomials(0, 4, 4) == 16
    assert count_monomials(2, 2, 0) == 1


def test_report_text_and_json_for_a_large_problem_without_dense_build():
    r = broyden_tridiagonal(2000).relax(2, "cs")
    rep = r.structure
    text = str(rep)
    assert "Cliques: 1998 (largest 3)" in text
    assert "running intersection property: holds" in text
    assert "dense (same order)" in text
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["counts"]["moments"] == r.sizes["nmoments"]
    assert d["dense"]["moments"] == count_monomials(2000, 0, 4)
    assert d["clique_sizes"] == [[3, 1998]]
    assert d["rip"]["holds"]


def test_report_ts_section():
    rep = broyden_tridiagonal(8).relax(2, "cs+ts").structure
    assert "Term sparsity: completion block" in str(rep)
    assert rep.to_dict()["ts"]["history"][0]["step"] == 1


def test_cli_structure_text_and_json(tmp_path, capsys):
    f = tmp_path / "chain.pop"
    f.write_text(PROBLEM)
    assert main(["structure", str(f), "--order", "2", "--sparsity", "cs"]) == 0
    out = capsys.readouterr().out
    assert "Relaxation structure: order 2, sparsity cs" in out and "{x1, x2}" in out
    assert main(["structure", str(f), "--sparsity", "cs+ts", "--steps", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "cs+ts" and d["ts"]["steps"] == 2
    assert main(["structure", str(f), "--sparsity", "nope"]) == 2
    assert "'cs+ts'" in capsys.readouterr().err
    assert main(["structure", str(f), "--sparsity", "cs", "--steps", "2"]) == 2


def test_plot_structure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    f = tmp_path / "chain.pop"
    f.write_text(PROBLEM)
    out = tmp_path / "s.png"
    assert main(["structure", str(f), "--sparsity", "cs+ts", "--plot", str(out)]) == 0
    assert out.stat().st_size > 1000
    out2 = tmp_path / "t.png"
    broyden_tridiagonal(10).relax(2, "ts").structure.plot(out2)
    assert out2.exists()


def test_chordal_shorthand_keeps_its_completion(tmp_path, capsys):
    """"cs+ts:chordal" is CS + TS with chordal completion, in Python and in the CLI (also with
    --steps given), and gives the smaller blocks the docs promise on Broyden tridiagonal."""
    from polylip.sparsity import CorrelativeTerm, Term, as_pattern

    assert as_pattern("cs+ts:chordal") == CorrelativeTerm(term=Term(completion="chordal"))
    assert as_pattern("ts:chordal") == Term(completion="chordal")
    block = broyden_tridiagonal(20).relax(2, "cs+ts").sizes
    chordal = broyden_tridiagonal(20).relax(2, "cs+ts:chordal").sizes
    assert max(chordal["psd_sizes"]) == 6 < max(block["psd_sizes"]) == 10
    assert chordal["nmoments"] < block["nmoments"]
    f = tmp_path / "chain.pop"
    f.write_text(PROBLEM)
    assert main(["structure", str(f), "--sparsity", "cs+ts:chordal", "--steps", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ts"]["completion"] == "chordal" and d["ts"]["steps"] == 2
