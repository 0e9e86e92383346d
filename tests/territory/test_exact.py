"""The exact MIP against brute force on small instances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.territory import TerritoryProblem, solve
from spm_model.territory.heuristic import lp_bound
from tests.territory.territory_helpers import brute_force, small_instance


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mip_matches_brute_force(seed):
    units, terrs = small_instance(seed, n=8, m=3)
    p = TerritoryProblem(units, terrs, tolerance=0.35, max_moved=0.5, disruption_weight=5.0)
    c = p.compile()
    best, _ = brute_force(c)
    if not np.isfinite(best):
        pytest.skip("random instance infeasible")
    r = solve(p, method="mip", time_limit=30, gap_target=0.0)
    assert r.objective == pytest.approx(best, rel=1e-7)
    assert r.lower_bound <= best + 1e-6
    assert c.is_feasible(r.assign)


def test_brute_force_instance_with_locks_and_budget():
    """A hand-checked instance: 7 accounts on a line, 2 reps at both ends."""
    units = pd.DataFrame(
        {
            "unit_id": [f"a{i}" for i in range(7)],
            "lat": 40.0,
            "lon": [-75.0, -74.5, -74.0, -73.5, -73.0, -72.5, -72.0],
            "potential": [10, 10, 10, 30, 10, 20, 10.0],
            "workload": 1.0,
            "current": ["w", "w", "w", "w", "w", "e", "e"],
            "locked": [None, None, None, None, None, None, "e"],
        }
    )
    terrs = pd.DataFrame(
        {
            "territory_id": ["w", "e"],
            "home_lat": [40.0, 40.0],
            "home_lon": [-75.0, -72.0],
            "capacity": [1.0, 1.0],
        }
    )
    p = TerritoryProblem(units, terrs, tolerance=0.15, max_moved=3 / 7)
    c = p.compile()
    best, _arg = brute_force(c)
    assert np.isfinite(best)
    r = solve(p, method="mip", time_limit=30, gap_target=0.0)
    assert r.objective == pytest.approx(best, rel=1e-9)
    al = r.alignment.set_index("unit_id")["territory_id"]
    assert al["a6"] == "e"  # locked
    assert (al != units.set_index("unit_id")["current"]).sum() <= 3
    # heuristic: feasible, never better than the optimum, valid bound
    h = solve(p, method="heuristic", time_limit=10)
    assert c.is_feasible(h.assign) and h.objective >= best - 1e-6
    assert h.lower_bound <= best + 1e-6


def test_families_stay_together_and_match_brute_force():
    units, terrs = small_instance(7, n=9, m=3)
    units["family"] = [None, "f1", "f1", None, "f2", "f2", "f2", None, None]
    p = TerritoryProblem(units, terrs, tolerance=0.4)
    c = p.compile()
    assert c.n == 6
    best, _ = brute_force(c)
    if not np.isfinite(best):
        pytest.skip("infeasible")
    r = solve(p, method="mip", time_limit=30, gap_target=0.0)
    assert r.objective == pytest.approx(best, rel=1e-7)
    al = r.alignment.set_index("unit_id")["territory_id"]
    assert al["a1"] == al["a2"]
    assert al["a4"] == al["a5"] == al["a6"]


def test_contiguity_mip_matches_brute_force():
    # 3 x 3 grid of units, two reps in opposite corners; a chequerboard-ish
    # potential makes the unconstrained optimum disconnected
    g = [(i, j) for i in range(3) for j in range(3)]
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i}{j}" for i, j in g],
            "lat": [40 + 0.2 * i for i, j in g],
            "lon": [-75 + 0.2 * j for i, j in g],
            "potential": [1, 5, 1, 5, 1, 5, 1, 5, 1.0],
            "workload": 1.0,
        }
    )
    edges = pd.DataFrame(
        [(f"u{i}{j}", f"u{i}{j + 1}") for i in range(3) for j in range(2)]
        + [(f"u{i}{j}", f"u{i + 1}{j}") for i in range(2) for j in range(3)],
        columns=["unit_a", "unit_b"],
    )
    terrs = pd.DataFrame(
        {"territory_id": ["sw", "ne"], "home_lat": [40.0, 40.4], "home_lon": [-75.0, -74.6]}
    )
    p = TerritoryProblem(units, terrs, measures=["potential"], tolerance=0.2, adjacency=edges)
    c = p.compile()
    best_free, _ = brute_force(c, contiguity=False)
    best, _ = brute_force(c, contiguity=True)
    assert np.isfinite(best)
    r = solve(p, method="mip", time_limit=30, gap_target=0.0)
    assert r.objective == pytest.approx(best, rel=1e-7)
    assert r.metrics().loc["contiguity_violations", "after"] == 0
    assert best >= best_free - 1e-9


def test_lagrangian_bound_equals_full_lp():
    units, terrs = small_instance(11, n=60, m=5)
    p = TerritoryProblem(units, terrs, tolerance=0.1)
    c = p.compile()
    restricted = lp_bound(c, k=2, pricing_rounds=20)
    full = lp_bound(c, k=5, pricing_rounds=1)
    assert full.lp_objective == pytest.approx(full.lower_bound, rel=1e-7)
    assert restricted.lower_bound <= full.lp_objective + 1e-6
    assert restricted.lower_bound == pytest.approx(full.lp_objective, rel=1e-6)
