"""Lagrangian bound and the large-problem path, checked against an independent exact MIP.

The reference optimum is computed here with ``scipy.optimize.milp`` from the raw
tables (planar distances, balance rows, move budget), not with the package's
model builder.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from spm_model.territory import TerritoryProblem, generate_instance, solve
from spm_model.territory.heuristic import lagrangian_bound
from spm_model.territory.lagrange import lagrangian_candidates, lagrangian_dual

# the package exports the function ``solve``, which shadows the module of that name
solve_mod = importlib.import_module("spm_model.territory.solve")


def planar_instance(seed: int, n: int, m: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Units on the unit square with a deliberately lopsided current alignment."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    homes = rng.random((m, 2))
    d = np.hypot(xy[:, None, 0] - homes[None, :, 0], xy[:, None, 1] - homes[None, :, 1])
    cur = d.argmin(axis=1)
    # push a quarter of the units to their second nearest home: unbalanced, costly start
    push = rng.random(n) < 0.25
    cur[push] = np.argsort(d[push], axis=1)[:, 1]
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "potential": rng.lognormal(3, 0.3, n).round(2),
            "workload": rng.uniform(8, 12, n).round(1),
            "current": [f"t{j}" for j in cur],
        }
    )
    terrs = pd.DataFrame(
        {
            "territory_id": [f"t{j}" for j in range(m)],
            "home_x": homes[:, 0],
            "home_y": homes[:, 1],
            "capacity": 1.0,
        }
    )
    return units, terrs


def reference_model(
    units: pd.DataFrame, terrs: pd.DataFrame, tol: float, max_moved: float | None
) -> tuple[np.ndarray, list[LinearConstraint]]:
    """Cost vector and constraints of the assignment problem, from the raw tables."""
    n, m = len(units), len(terrs)
    d = np.hypot(
        units["x"].to_numpy()[:, None] - terrs["home_x"].to_numpy()[None, :],
        units["y"].to_numpy()[:, None] - terrs["home_y"].to_numpy()[None, :],
    )
    col = lambda u, t: u * m + t  # noqa: E731
    uu, tt = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    cons = [
        LinearConstraint(
            sp.csr_matrix((np.ones(n * m), (uu.ravel(), col(uu, tt).ravel())), shape=(n, n * m)),
            1,
            1,
        )
    ]
    for k in ("potential", "workload"):
        v = units[k].to_numpy(float)
        target = v.sum() / m
        a = sp.csr_matrix((v[uu.ravel()], (tt.ravel(), col(uu, tt).ravel())), shape=(m, n * m))
        cons.append(LinearConstraint(a, (1 - tol) * target, (1 + tol) * target))
    if max_moved is not None:
        tid = {t: j for j, t in enumerate(terrs["territory_id"])}
        cur = units["current"].map(tid).to_numpy()
        stay = np.zeros(n * m)
        stay[col(np.arange(n), cur)] = 1.0
        cons.append(LinearConstraint(stay[None, :], n - max_moved * n, np.inf))
    return d.ravel(), cons


def reference_mip(units, terrs, tol, max_moved) -> float:
    """Optimal objective by scipy's MILP (HiGHS), proven to a 1e-6 gap; honours ``locked``."""
    cost, cons = reference_model(units, terrs, tol, max_moved)
    lower = np.zeros(len(cost))
    if "locked" in units.columns:
        tid = {t: j for j, t in enumerate(terrs["territory_id"])}
        for u, t in enumerate(units["locked"]):
            if isinstance(t, str):
                lower[u * len(terrs) + tid[t]] = 1.0
    res = milp(
        cost,
        constraints=cons,
        integrality=np.ones(len(cost)),
        bounds=Bounds(lower, 1),
        options={"mip_rel_gap": 1e-6, "time_limit": 60},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def reference_lp(units, terrs, tol, max_moved) -> float:
    """Optimum of the full LP relaxation (all pairs), by scipy's linprog."""
    cost, cons = reference_model(units, terrs, tol, max_moved)
    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    for lc in cons:
        a = sp.csr_matrix(lc.A)
        lo, hi = np.broadcast_to(lc.lb, a.shape[0]), np.broadcast_to(lc.ub, a.shape[0])
        if np.all(lo == hi):
            a_eq.append(a)
            b_eq.append(lo)
            continue
        if np.isfinite(hi).any():
            a_ub.append(a)
            b_ub.append(hi)
        a_ub.append(-a)
        b_ub.append(-lo)
    res = linprog(
        cost,
        A_ub=sp.vstack(a_ub),
        b_ub=np.concatenate(b_ub),
        A_eq=sp.vstack(a_eq),
        b_eq=np.concatenate(b_eq),
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0, res.message
    return float(res.fun)


def check_constraints(units, terrs, assign_ids, tol, max_moved) -> None:
    """Balance for every territory and measure, and the move budget, from the raw tables."""
    for k in ("potential", "workload"):
        v = units[k].to_numpy(float)
        load = pd.Series(v).groupby(np.asarray(assign_ids)).sum()
        load = load.reindex(terrs["territory_id"], fill_value=0.0)
        target = v.sum() / len(terrs)
        assert np.all(np.abs(load.to_numpy() / target - 1) <= tol + 1e-9), k
    moved = int((np.asarray(assign_ids) != units["current"].to_numpy()).sum())
    assert moved <= np.floor(max_moved * len(units) + 1e-9)


CASES = [
    (0, 30, 4, 0.10, 0.30),
    (1, 36, 4, 0.08, 0.15),
    (3, 40, 4, 0.06, 0.15),
    (6, 40, 5, 0.10, 0.25),
]


@pytest.mark.parametrize("seed,n,m,tol,max_moved", CASES)
def test_lagrangian_bound_is_valid_and_near_the_lp(seed, n, m, tol, max_moved):
    units, terrs = planar_instance(seed, n, m)
    p = TerritoryProblem(units, terrs, tolerance=tol, max_moved=max_moved)
    c = p.compile()
    opt = reference_mip(units, terrs, tol, max_moved)
    lp = reference_lp(units, terrs, tol, max_moved)
    d = lagrangian_dual(c, time_limit=20)
    # a valid bound: never above the proven optimum (nor the LP it relaxes)
    assert d.bound <= lp + 1e-6 * abs(lp)
    assert d.bound <= opt + 1e-6 * abs(opt)
    # the stated bound is the exact Lagrangian function at the returned multipliers
    exact, _ = lagrangian_bound(c, d.y_bal, d.y_bud)
    assert d.bound <= exact + 1e-6 * abs(exact)
    assert exact <= opt + 1e-6 * abs(opt)
    # and it is strong: the maximum of the Lagrangian is the LP optimum
    assert d.bound >= lp - 2e-3 * abs(lp)
    # the start (all multipliers zero) is much weaker when balance or budget bind
    zero, _ = lagrangian_bound(c, np.zeros_like(d.y_bal), 0.0)
    assert d.bound >= zero


def test_lagrangian_bound_matches_full_lp_on_a_larger_instance():
    """400 units x 12 territories with a binding budget: within 0.1% of the full LP."""
    units, terrs = generate_instance(400, 12, seed=3)
    p = TerritoryProblem(units, terrs, tolerance=0.05, max_moved=0.15)
    c = p.compile()
    from spm_model.territory.model import build_and_solve, candidate_columns

    cu, ct = candidate_columns(c, k=None)
    full = build_and_solve(c, cu, ct, integer=False, time_limit=60)
    d = lagrangian_dual(c, time_limit=30)
    assert d.bound <= full.objective * (1 + 1e-7)
    assert d.bound >= full.objective * (1 - 1e-3)
    a, regret, pu, _pt = lagrangian_candidates(c, d, k=3)
    assert a.shape == (c.n,) and np.all(regret >= 0)
    assert len(pu) == 3 * c.n and np.all(np.diff(pu) >= 0)


@pytest.mark.parametrize("seed,n,m,tol,max_moved", CASES)
def test_large_path_respects_budget_and_balance(monkeypatch, seed, n, m, tol, max_moved):
    """The path used above 3 million pairs, forced on small instances."""
    monkeypatch.setattr(solve_mod, "LAGRANGIAN_PAIRS", 0)
    units, terrs = planar_instance(seed, n, m)
    p = TerritoryProblem(units, terrs, tolerance=tol, max_moved=max_moved)
    opt = reference_mip(units, terrs, tol, max_moved)
    r = solve(p, method="heuristic", time_limit=20, seed=seed)
    assert any(e["stage"] == "lagrangian_bound" for e in r.log)
    check_constraints(units, terrs, r.alignment["territory_id"].to_numpy(), tol, max_moved)
    assert r.lower_bound <= opt + 1e-6 * abs(opt)
    assert r.objective >= opt - 1e-6 * abs(opt)
    assert r.gap == pytest.approx((r.objective - r.lower_bound) / r.objective)
    assert "Lagrangian" in r.bound_statement()


def test_budget_binds_and_is_kept(monkeypatch):
    """A budget of 20% changes the optimum; the large path moves at most 12 of 60 units."""
    monkeypatch.setattr(solve_mod, "LAGRANGIAN_PAIRS", 0)
    units, terrs = planar_instance(5, 60, 5)
    unbudgeted = reference_mip(units, terrs, 0.1, None)
    budgeted = reference_mip(units, terrs, 0.1, 0.2)
    assert unbudgeted < budgeted - 1e-6  # the budget binds
    p = TerritoryProblem(units, terrs, tolerance=0.1, max_moved=0.2)
    r = solve(p, method="heuristic", time_limit=20)
    check_constraints(units, terrs, r.alignment["territory_id"].to_numpy(), 0.1, 0.2)
    assert r.alignment["moved"].sum() <= 12
    assert r.lower_bound <= budgeted + 1e-9
    assert r.objective >= budgeted - 1e-9


def test_large_path_keeps_locks(monkeypatch):
    """Locked units stay put on the large path and the bound stays below the locked optimum."""
    monkeypatch.setattr(solve_mod, "LAGRANGIAN_PAIRS", 0)
    units, terrs = planar_instance(4, 45, 5)
    # lock five units away from their current territory (each to the next one)
    units["locked"] = None
    for i in range(5):
        units.loc[i, "locked"] = f"t{(int(units.loc[i, 'current'][1:]) + 1) % 5}"
    opt = reference_mip(units, terrs, 0.08, 0.3)
    p = TerritoryProblem(units, terrs, tolerance=0.08, max_moved=0.3)
    d = lagrangian_dual(p.compile(), time_limit=10)
    assert d.bound <= opt + 1e-6 * abs(opt)
    r = solve(p, method="heuristic", time_limit=20)
    al = r.alignment.set_index("unit_id")["territory_id"]
    assert all(al[f"u{i}"] == units.loc[i, "locked"] for i in range(5))
    check_constraints(units, terrs, al.to_numpy(), 0.08, 0.3)
    assert r.lower_bound <= opt + 1e-6 * abs(opt) <= r.objective + 2e-6 * abs(opt)
