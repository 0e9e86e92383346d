"""Labels, quiet solver, planar coordinates and the compactness term."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.territory import TerritoryProblem, solve
from tests.territory.territory_helpers import small_instance


def test_highs_prints_nothing_when_not_verbose(capfd):
    units, terrs = small_instance(0, n=8, m=3)
    solve(TerritoryProblem(units, terrs, tolerance=0.4), method="mip", time_limit=5)
    out, err = capfd.readouterr()
    assert "HiGHS" not in out + err
    assert out + err == ""


def test_disruption_by_a_chosen_measure_is_labelled_with_it():
    units, terrs = small_instance(3, n=8, m=3)
    p = TerritoryProblem(units, terrs, tolerance=0.4, max_moved=0.5, moved_basis="workload")
    r = solve(p, method="mip", time_limit=5, gap_target=0.0)
    m = r.metrics()["after"]
    cur = units["current"].to_numpy(object)
    new = r.alignment["territory_id"].to_numpy(object)
    moved = cur != new
    expect = 100 * units["workload"][moved].sum() / units["workload"].sum()
    assert m["workload_moved_pct"] == pytest.approx(expect)
    assert m["workload_moved_pct"] <= 50 + 1e-9
    assert m["potential_moved_pct"] == pytest.approx(
        100 * units["potential"][moved].sum() / units["potential"].sum()
    )


def test_planar_coordinates_and_distance_unit_in_metric_names():
    rng = np.random.default_rng(4)
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(9)],
            "x": rng.uniform(0, 10, 9),
            "y": rng.uniform(0, 10, 9),
            "potential": rng.integers(1, 9, 9).astype(float),
        }
    )
    terrs = pd.DataFrame({"territory_id": ["a", "b"], "home_x": [0.0, 10.0], "home_y": [0, 10.0]})
    p = TerritoryProblem(units, terrs, measures=["potential"], tolerance=0.5)
    c = p.compile()
    assert c.planar and c.distance_unit == "dist"
    d = np.hypot(units["x"].to_numpy()[:, None] - [0, 10], units["y"].to_numpy()[:, None] - [0, 10])
    np.testing.assert_allclose(c.dist0, d)
    r = solve(p, method="mip", time_limit=5, gap_target=0.0)
    m = r.metrics()["after"]
    assert "mean_dist" in m and "mean_km" not in m and "max_diameter" in m
    # compactness adds squared distances
    pc = p.replace(compactness_weight=2.0, travel_weight=0.0).compile()
    np.testing.assert_allclose(pc.cost, 2.0 * d**2)
