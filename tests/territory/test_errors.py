"""Bad input gives clear errors; infeasibility names the binding constraint and tightest value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.territory import InfeasibleAlignment, TerritoryProblem, diagnose, solve
from tests.territory.territory_helpers import small_instance


def test_missing_location_duplicate_ids_unknown_lock_all_reported():
    units, terrs = small_instance(0, n=6, m=2)
    units.loc[2, "lat"] = np.nan
    units.loc[4, "unit_id"] = "a0"
    units["locked"] = None
    units.loc[5, "locked"] = "nobody"
    terrs.loc[1, "territory_id"] = "r0"
    with pytest.raises(SpmDataError) as e:
        TerritoryProblem(units, terrs).compile()
    msg = str(e.value)
    assert "row 4, column 'lat': missing location" in msg
    assert "row 6, column 'unit_id': duplicate id 'a0'" in msg
    assert "row 7, column 'locked': locked to 'nobody' is not a known territory/rep" in msg
    assert "table territories, row 3, column 'territory_id': duplicate id 'r0'" in msg
    assert len(e.value.problems) == 4


def test_missing_columns_and_bad_values():
    units, terrs = small_instance(0, n=4, m=2)
    with pytest.raises(SpmDataError, match="'workload': required column is missing"):
        TerritoryProblem(units.drop(columns="workload"), terrs).compile()
    units.loc[1, "potential"] = -5
    with pytest.raises(SpmDataError, match="row 3, column 'potential': -5 must be >= 0"):
        TerritoryProblem(units, terrs).compile()
    units, terrs = small_instance(0, n=4, m=2)
    terrs["capacity"] = [1.0, 0.0]
    with pytest.raises(SpmDataError, match=r"capacity.*must be > 0"):
        TerritoryProblem(units, terrs).compile()
    units["current"] = ["r0", "r9", "r1", "r0"]
    terrs["capacity"] = 1.0
    with pytest.raises(SpmDataError, match="row 3, column 'current': current territory 'r9'"):
        TerritoryProblem(units, terrs).compile()


def test_bad_settings():
    units, terrs = small_instance(0, n=4, m=2)
    for bad in (-0.5, float("nan")):
        with pytest.raises(SpmConfigError, match="tolerance must be a non-negative fraction"):
            TerritoryProblem(units, terrs, tolerance=bad).compile()
    with pytest.raises(SpmConfigError, match="max_moved"):
        TerritoryProblem(units, terrs, max_moved=1.5).compile()
    with pytest.raises(SpmConfigError, match="no value for measure"):
        TerritoryProblem(units, terrs, tolerance={"potential": 0.1}).compile()
    with pytest.raises(SpmConfigError, match="method"):
        solve(TerritoryProblem(units, terrs, tolerance=0.9), method="magic")


def _line(potentials, current, tol, budget=None):
    n = len(potentials)
    units = pd.DataFrame(
        {
            "unit_id": [f"a{i}" for i in range(n)],
            "lat": 40.0,
            "lon": np.linspace(-75, -72, n),
            "potential": potentials,
            "current": current,
        }
    )
    terrs = pd.DataFrame({"territory_id": ["w", "e"], "home_lat": 40.0, "home_lon": [-75.0, -72.0]})
    return TerritoryProblem(units, terrs, measures=["potential"], tolerance=tol, max_moved=budget)


def test_infeasible_tolerance_reports_tightest_value():
    # total 100, targets 50/50; one account of 70 makes +/-10% impossible: best is 70/30 = +/-40%
    p = _line([70, 10, 10, 10.0], ["w", "w", "e", "e"], tol=0.10)
    with pytest.raises(InfeasibleAlignment) as e:
        solve(p, method="heuristic", time_limit=5)
    d = e.value.diagnosis
    assert d.binding == "tolerance"
    assert d.tightest_tolerance_no_budget["potential"] == pytest.approx(0.40, abs=1e-6)
    assert "balance tolerance binds" in str(e.value) and "+/-40.00%" in str(e.value)
    # and with that tolerance it solves
    r = solve(p.replace(tolerance=0.40), method="mip", time_limit=5)
    assert r.metrics().loc["potential.max_dev_pct", "after"] == pytest.approx(40.0)


def test_infeasible_budget_reports_min_moves():
    # all 4 accounts start with w; balance needs 2 of 4 to move (50%); budget 25%
    p = _line([25, 25, 25, 25.0], ["w"] * 4, tol=0.05, budget=0.25)
    with pytest.raises(InfeasibleAlignment) as e:
        solve(p, method="mip", time_limit=5)
    d = e.value.diagnosis
    assert d.binding == "disruption budget"
    assert d.min_moved == pytest.approx(0.5)
    assert "moves at least 50.0% of accounts" in str(e.value)
    assert d.tightest_tolerance["potential"] == pytest.approx(0.5)  # 75/25 with one move


def test_locked_accounts_bind():
    p = _line([25, 25, 25, 25.0], ["w", "w", "e", "e"], tol=0.05)
    units = p.units.assign(locked=["w", "w", "w", None])
    d = diagnose(p.replace(units=units).compile())
    assert d.binding == "locked accounts"
    assert d.tightest_tolerance["potential"] == pytest.approx(0.5)


def test_a_family_held_by_two_territories_must_move_whatever_the_budget():
    # accounts a0 and a1 are one family (moved as one) but w and e hold one each today: one of
    # the four accounts moves whatever the balance, so a 20% budget cannot be met
    p = _line([25, 25, 25, 25.0], ["w", "e", "w", "e"], tol=0.9, budget=0.2)
    p = p.replace(units=p.units.assign(family=["F", "F", None, None]))
    d = diagnose(p.compile())
    assert d.binding == "disruption budget"
    assert "at least 25.0% of accounts must move (25.0% are in account families" in d.message
    assert "above max_moved 20.0%: allow 25.0% or more" in d.message
    assert "locked" not in d.message
