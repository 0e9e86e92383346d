"""Published optimisation cases with known optima (OR-Library, Beasley 1990; Osman and
Christofides 1994), solved through the package's own inputs.

* ``pmed1``: uncapacitated p-median on a graph (100 vertices, 200 edges, p = 5), optimum
  5819 with shortest-path distances: districts designed from a unit-by-unit distance matrix
  with nothing balanced (tolerance ``inf``).
* ``pmedcap1`` #1: capacitated p-median (50 customers, p = 5, capacity 120), optimum 713 with
  Euclidean distances rounded down: (a) the assignment around the published medians with a
  ``max_demand`` limit per territory; (b) the medians chosen too, by the exact design MIP.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from typer.testing import CliRunner

from spm_model.cli import app
from spm_model.territory import TerritoryProblem, solve
from spm_model.territory.districts import design_districts

DATA = Path(__file__).parent / "data"


def pmedcap(name: str = "pmedcap1_1"):
    tok = (DATA / f"{name}.txt").read_text().split()
    best, n, p, cap = int(tok[1]), int(tok[2]), int(tok[3]), float(tok[4])
    a = np.array(tok[5 : 5 + 4 * n], dtype=float).reshape(n, 4)
    units = pd.DataFrame(
        {"unit_id": [f"c{i + 1}" for i in range(n)], "x": a[:, 1], "y": a[:, 2], "demand": a[:, 3]}
    )
    xy = a[:, 1:3]
    floor = np.floor(np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]))
    return best, p, cap, units, floor


def pmed(name: str = "pmed1"):
    tok = (DATA / f"{name}.txt").read_text().split()
    n, e, p = int(tok[0]), int(tok[1]), int(tok[2])
    edges = np.array(tok[3 : 3 + 3 * e], dtype=float).reshape(e, 3)
    w = np.zeros((n, n))
    for a, b, cost in edges:  # an edge listed twice keeps its last cost (the format's rule)
        w[int(a) - 1, int(b) - 1] = w[int(b) - 1, int(a) - 1] = cost
    return p, shortest_path(csr_matrix(w), directed=False)


def test_capacitated_assignment_around_the_published_medians_is_the_published_optimum():
    best, _, cap, units, d = pmedcap()
    assert best == 713
    medians = [9, 11, 18, 20, 47]  # 0-based customers of the published optimum
    tids = [f"M{j + 1}" for j in medians]
    terrs = pd.DataFrame({"territory_id": tids, "max_demand": cap})
    dist = pd.DataFrame(d[:, medians], index=units["unit_id"], columns=tids)
    prob = TerritoryProblem(
        units[["unit_id", "demand"]], terrs, measures=["demand"], tolerance=np.inf, distance=dist
    )
    c = prob.compile()
    assert (c.lo == 0).all() and (c.hi == cap).all()  # only the capacity binds
    r = solve(prob, method="auto", time_limit=30, gap_target=0)
    assert r.objective == pytest.approx(713) and r.status == "optimal"
    assert c.loads(r.assign)[:, 0].max() <= cap
    assert "demand: not balanced" in r.bound_statement()


def test_capacitated_p_median_designed_from_scratch_reaches_the_published_optimum():
    best, p, cap, units, d = pmedcap()
    dist = pd.DataFrame(d, index=units["unit_id"], columns=units["unit_id"])
    design = design_districts(
        units,
        p,
        measures=["demand"],
        tolerance=np.inf,
        max_load={"demand": cap},
        objective="travel",
        distance=dist,
        time_limit=60,
        gap_target=0,
    )
    r = design.result
    assert r.objective == pytest.approx(best) and r.lower_bound == pytest.approx(best)
    assert r.status == "optimal" and not r.centres_chosen
    assert "the bound covers the choice of centres" in r.bound_statement()
    # on the Euclidean coordinates themselves (no rounding) the same MIP gives 728.26, the
    # optimum an independent formulation finds for that model
    coords = design_districts(
        units,
        p,
        measures=["demand"],
        tolerance=np.inf,
        max_load={"demand": cap},
        objective="travel",
        time_limit=60,
        gap_target=0,
    )
    assert coords.result.objective == pytest.approx(728.262, abs=1e-3)
    assert coords.result.status == "optimal"


def test_graph_p_median_from_a_distance_matrix_reaches_the_published_optimum(tmp_path):
    p, d = pmed()
    ids = [f"n{i + 1}" for i in range(len(d))]
    units = pd.DataFrame({"unit_id": ids, "one": 1.0})
    r = design_districts(
        units,
        p,
        measures=["one"],
        tolerance=np.inf,
        objective="travel",
        distance=pd.DataFrame(d, index=ids, columns=ids),
        time_limit=60,
        gap_target=0,
    ).result
    assert r.objective == pytest.approx(5819) and r.status == "optimal"
    # the same through the command line
    units.to_csv(tmp_path / "units.csv", index=False)
    pd.DataFrame(d, index=pd.Index(ids, name="unit_id"), columns=ids).to_csv(tmp_path / "d.csv")
    args = ["territory", "--units", str(tmp_path / "units.csv"), "--distance"]
    args += [str(tmp_path / "d.csv"), "--districts", str(p), "--measures", "one:inf"]
    args += ["--objective", "travel", "--gap", "0", "--out", str(tmp_path / "out.csv"), "-q"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "mip, optimal" in res.output and "Objective 5,819.00" in res.output
    centres = pd.read_csv(tmp_path / "out_centres.csv")
    assert len(centres) == p and centres["centre_unit_id"].is_unique


def test_limits_and_open_bands_on_a_handmade_line():
    """Units at x = 0..5 with demand 1, 2, 3, 4, 5, 6 (total 21); homes at 0 and 5. With no
    balance the nearest home wins: loads 6 and 15 (travel 1+1+2 ... = 6). A max_demand of 12
    on B pushes the unit at x = 3 (demand 4) to A: loads 10 and 11, travel 0+1+2+3+1+0 = 7."""
    units = pd.DataFrame(
        {"unit_id": list("abcdef"), "x": np.arange(6.0), "y": 0.0, "demand": np.arange(1.0, 7)}
    )
    terrs = pd.DataFrame({"territory_id": ["A", "B"], "home_x": [0.0, 5.0], "home_y": 0.0})
    free = solve(TerritoryProblem(units, terrs, measures=["demand"], tolerance=np.inf), "mip")
    assert free.objective == pytest.approx(6.0)
    capped = TerritoryProblem(
        units, terrs.assign(max_demand=[np.nan, 12.0]), measures=["demand"], tolerance=np.inf
    )
    r = solve(capped, "mip")
    assert r.objective == pytest.approx(7.0)
    assert capped.compile().loads(r.assign)[:, 0].tolist() == [10.0, 11.0]
    # a tolerance of 1.5 leaves the lower side open: each territory carries 0 to 26.25
    c = TerritoryProblem(units, terrs, measures=["demand"], tolerance=1.5).compile()
    assert c.lo.ravel().tolist() == [0.0, 0.0] and c.hi.ravel().tolist() == [21.0, 21.0]


def test_limits_that_cannot_hold_are_named():
    from spm_model.errors import SpmDataError

    units = pd.DataFrame({"unit_id": ["a", "b"], "x": [0.0, 1.0], "y": 0.0, "demand": 1.0})
    terrs = pd.DataFrame(
        {
            "territory_id": ["A", "B"],
            "home_x": [0.0, 1.0],
            "home_y": 0.0,
            "min_demand": [2.0, None],
            "max_demand": [1.0, "lots"],
        }
    )
    with pytest.raises(SpmDataError) as err:
        TerritoryProblem(units, terrs, measures=["demand"], tolerance=0.5).compile()
    msg = str(err.value)
    assert "row 3, column 'max_demand': not a number ('lots')" in msg
    with pytest.raises(SpmDataError, match="must carry demand between 2 and 1"):
        TerritoryProblem(
            units, terrs.assign(max_demand=[1.0, None]), measures=["demand"], tolerance=0.5
        ).compile()
