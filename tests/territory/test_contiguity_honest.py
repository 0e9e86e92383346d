"""Contiguity that never lies: no false "infeasible", the MIP's root is free."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spm_model.territory import InfeasibleAlignment, TerritoryProblem, solve
from spm_model.territory.contiguity import contiguity_violations
from tests.territory.territory_helpers import brute_force


def grid_problem(seed: int, rows: int, cols: int, m: int, tol: float, lock: bool):
    """A rows x cols grid of units (4-neighbour adjacency) and m reps at random homes."""
    rng = np.random.default_rng(seed)
    cells = [(i, j) for i in range(rows) for j in range(cols)]
    n = len(cells)
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i}{j}" for i, j in cells],
            "x": [float(j) for i, j in cells],
            "y": [float(i) for i, j in cells],
            "potential": rng.integers(1, 10, n).astype(float),
            "workload": rng.integers(1, 10, n).astype(float),
            "current": [f"r{t}" for t in rng.integers(0, m, n)],
        }
    )
    if lock:
        units["locked"] = None
        units.loc[int(rng.integers(n)), "locked"] = f"r{int(rng.integers(m))}"
    edges = pd.DataFrame(
        [(f"u{i}{j}", f"u{i}{j + 1}") for i in range(rows) for j in range(cols - 1)]
        + [(f"u{i}{j}", f"u{i + 1}{j}") for i in range(rows - 1) for j in range(cols)],
        columns=["unit_a", "unit_b"],
    )
    terrs = pd.DataFrame(
        {
            "territory_id": [f"r{t}" for t in range(m)],
            "home_x": rng.uniform(0, cols - 1, m),
            "home_y": rng.uniform(0, rows - 1, m),
        }
    )
    return TerritoryProblem(units, terrs, tolerance=tol, adjacency=edges)


@st.composite
def grid_cases(draw):
    rows = draw(st.integers(2, 3))
    cols = draw(st.integers(3, 3))
    m = draw(st.integers(2, 3))
    seed = draw(st.integers(0, 100_000))
    tol = draw(st.sampled_from([0.15, 0.3, 0.5]))
    lock = draw(st.booleans())
    return grid_problem(seed, rows, cols, m, tol, lock)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_cases())
@example(grid_problem(99999, rows=3, cols=3, m=3, tol=0.5, lock=True))  # HiGHS presolve cut it off
def test_heuristic_never_false_infeasible_and_mip_is_exact(p):
    c = p.compile()
    best, _ = brute_force(c, contiguity=True)
    if not np.isfinite(best):
        # infeasible with contiguity: the MIP must prove it, never return an alignment
        with pytest.raises(InfeasibleAlignment):
            solve(p, method="mip", time_limit=5, gap_target=0.0)
        return
    h = solve(p, method="heuristic", time_limit=3, gap_target=0.0)
    sup = np.full(c.n, -1)
    sup[c.group] = h.assign
    assert contiguity_violations(c.edges, sup, c.m) == 0
    assert c.is_feasible(sup)
    assert h.objective >= best - 1e-6
    assert h.lower_bound <= best + 1e-6
    r = solve(p, method="mip", time_limit=5, gap_target=0.0)
    assert r.objective == pytest.approx(best, rel=1e-7, abs=1e-7)
    assert "connected" in r.bound_statement()


def test_mip_root_is_not_the_unit_nearest_home():
    """The optimum leaves the unit nearest a rep's home to the other territory.

    A path a-b-c-d; rep L's home sits on b, rep R's home beside d. Balance forces
    L = {a} (potential 6 of 12) and R = {b, c, d}: the unit nearest L's home (b)
    is not in L. A model rooted at the unit nearest each home calls this infeasible.
    """
    units = pd.DataFrame(
        {
            "unit_id": list("abcd"),
            "x": [0.0, 1.0, 2.0, 3.0],
            "y": 0.0,
            "potential": [6.0, 2.0, 2.0, 2.0],
        }
    )
    terrs = pd.DataFrame({"territory_id": ["L", "R"], "home_x": [1.0, 3.2], "home_y": 0.0})
    edges = pd.DataFrame({"unit_a": list("abc"), "unit_b": list("bcd")})
    p = TerritoryProblem(units, terrs, measures=["potential"], tolerance=0.01, adjacency=edges)
    r = solve(p, method="mip", time_limit=5, gap_target=0.0)
    al = r.alignment.set_index("unit_id")["territory_id"]
    assert al.to_dict() == {"a": "L", "b": "R", "c": "R", "d": "R"}
    h = solve(p, method="heuristic", time_limit=3, gap_target=0.0)
    assert h.alignment.set_index("unit_id")["territory_id"].to_dict() == al.to_dict()
