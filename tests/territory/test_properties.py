"""Property tests: every returned alignment satisfies its constraints; infeasibility is real."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spm_model.territory import InfeasibleAlignment, TerritoryProblem, solve
from tests.territory.territory_helpers import brute_force


@st.composite
def problems(draw):
    n = draw(st.integers(4, 8))
    m = draw(st.integers(2, 3))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    units = pd.DataFrame(
        {
            "unit_id": [f"a{i}" for i in range(n)],
            "lat": rng.uniform(40, 41, n),
            "lon": rng.uniform(-75, -74, n),
            "potential": rng.integers(1, 60, n).astype(float),
            "workload": rng.integers(1, 20, n).astype(float),
            "current": [f"r{j}" if rng.random() < 0.9 else None for j in rng.integers(0, m, n)],
        }
    )
    if draw(st.booleans()):
        k = int(rng.integers(0, n))
        units["locked"] = None
        units.loc[k, "locked"] = f"r{int(rng.integers(0, m))}"
    if draw(st.booleans()):
        units["family"] = None
        units.loc[0, "family"] = "f"
        units.loc[1, "family"] = "f"
    terrs = pd.DataFrame(
        {
            "territory_id": [f"r{j}" for j in range(m)],
            "home_lat": rng.uniform(40, 41, m),
            "home_lon": rng.uniform(-75, -74, m),
            "capacity": rng.choice([0.5, 1.0], m),
        }
    )
    tol = draw(st.sampled_from([0.1, 0.3, 0.6, 0.9]))
    budget = draw(st.sampled_from([None, 0.2, 0.5]))
    dw = draw(st.sampled_from([0.0, 10.0]))
    method = draw(st.sampled_from(["mip", "heuristic"]))
    return TerritoryProblem(
        units, terrs, tolerance=tol, max_moved=budget, disruption_weight=dw
    ), method


def _check(p: TerritoryProblem, assign: np.ndarray) -> None:
    c = p.compile()
    units = p.units.reset_index(drop=True)
    tid = list(p.territories["territory_id"])
    # balance per territory and measure, from the raw inputs
    for k, tau in zip(c.measures, c.tau, strict=True):
        tot = units[k].sum()
        cap = p.territories["capacity"].to_numpy()
        for j in range(len(tid)):
            load = units[k][assign == j].sum()
            target = cap[j] / cap.sum() * tot
            assert (1 - tau) * target - 1e-6 <= load <= (1 + tau) * target + 1e-6
    # budget
    if p.max_moved is not None:
        cur = units["current"]
        has = cur.notna()
        moved = has & (np.array(tid, dtype=object)[assign] != cur)
        assert moved.sum() <= p.max_moved * has.sum() + 1e-9
    # locks
    if "locked" in units:
        lk = units["locked"].notna()
        assert (np.array(tid, dtype=object)[assign][lk] == units["locked"][lk]).all()
    # families
    if "family" in units:
        f = units["family"].notna()
        assert len(set(assign[f.to_numpy()])) <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_solutions_satisfy_constraints(case):
    p, method = case
    c = p.compile()
    best, _ = brute_force(c)
    try:
        r = solve(p, method=method, time_limit=10, gap_target=0.0)
    except InfeasibleAlignment as exc:
        assert not np.isfinite(best), "reported infeasible but brute force found an alignment"
        assert exc.diagnosis is not None and exc.diagnosis.binding in (
            "tolerance",
            "disruption budget",
            "locked accounts",
            "integrality",
            "none",
        )
        return
    assert np.isfinite(best)
    _check(p, r.assign)
    assert r.lower_bound <= r.objective + 1e-6
    assert r.lower_bound <= best + 1e-6
    assert r.objective >= best - 1e-6
    if method == "mip":
        assert abs(r.objective - best) <= 1e-6 * max(1.0, abs(best))
