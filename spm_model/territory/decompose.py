"""Spatial decomposition for very large alignments (tens of thousands of units, hundreds of reps).

Method (``solve_decomposed``)
-----------------------------
1. **Territory groups.** Territories are clustered by home location (k-means,
   seeded) into groups of about ``group_size``.
2. **Group allocation LP.** Each unit is offered its cheapest groups (cost =
   its cheapest territory in the group) and its current group; an LP (HiGHS)
   keeps every group's load per measure within ``+/- tau/2`` of the sum of its
   territories' targets and respects the disruption budget; units take the
   group of largest LP value.
3. **Group subproblems.** Each group is an ordinary alignment problem over its
   units and territories (global targets, the budget left after group changes
   shared pro rata), solved by the LP-based heuristic of
   :mod:`spm_model.territory.heuristic` (LP, rounding and repair, local search,
   reduced-cost sub-MIP).
4. **Global polish.** Moves and swaps across group borders (every unit's ``k``
   cheapest territories) on the joined alignment.
5. **Lower bound.** The group LPs' balance duals form one dual vector for the
   whole problem; the Lagrangian function at that vector (all units x all
   territories, budget dual chosen by a small search) is a valid lower bound on
   the optimum of the full problem.

Guarantee: feasible when returned; the reported gap is measured against a valid
lower bound, which is weaker than the full LP bound (border units are priced with
duals from separate groups).

:func:`spm_model.territory.solve` no longer uses this module: on 50,000 accounts
x 300 territories its bound left a 46% gap and, with a 15% move budget, the
pooled group budgets ran out. Large problems now go through the Lagrangian path
(:mod:`spm_model.territory.lagrange`); this decomposition is kept for problems
whose ``n x m`` cost matrix would not fit in memory, which the Lagrangian path
needs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from spm_model.territory.diagnose import InfeasibleAlignment
from spm_model.territory.heuristic import (
    lagrangian_bound,
    lp_bound,
    reduced_cost_mip,
    round_and_repair,
)
from spm_model.territory.model import candidate_columns
from spm_model.territory.problem import Compiled
from spm_model.territory.quiet import solver_stdout_silenced
from spm_model.territory.repair import balance_repair, improve_local

_log = logging.getLogger(__name__)


def territory_groups(c: Compiled, group_size: int, seed: int) -> np.ndarray:
    """Group index of every territory (k-means on homes, or on cost profiles without homes)."""
    from scipy.cluster.vq import kmeans2

    g = max(1, int(np.ceil(c.m / group_size)))
    if g == 1:
        return np.zeros(c.m, dtype=int)
    if np.isfinite(c.home_lat).all() and np.isfinite(c.home_lon).all():
        pts = np.column_stack([c.home_lat, c.home_lon * np.cos(np.radians(np.mean(c.home_lat)))])
    else:
        pts = c.cost.T / (c.cost.std() + 1e-12)
    _, lab = kmeans2(pts, g, seed=seed, minit="++")
    _, lab = np.unique(lab, return_inverse=True)  # drop empty clusters
    return lab.ravel()


def restrict(c: Compiled, units: np.ndarray, terrs: np.ndarray, budget: float | None) -> Compiled:
    """Return the subproblem of ``units`` (solve level) and ``terrs`` with global targets, costs."""
    members = np.flatnonzero(np.isin(c.group, units))
    umap = np.full(c.n, -1)
    umap[units] = np.arange(len(units))
    tmap = np.full(c.m, -1)
    tmap[terrs] = np.arange(len(terrs))
    cur0 = c.current0[members]
    cur0 = np.where(cur0 >= 0, tmap[np.maximum(cur0, 0)], -1)
    stay = c.stay[units][:, terrs].tocsr()
    size = np.asarray(stay.sum(axis=1)).ravel()
    lk = c.locked[units]
    lk = np.where(lk >= 0, tmap[np.maximum(lk, 0)], -1)
    return replace(
        c,
        unit_ids=c.unit_ids[members],
        territory_ids=c.territory_ids[terrs],
        lat=c.lat[members],
        lon=c.lon[members],
        home_lat=c.home_lat[terrs],
        home_lon=c.home_lon[terrs],
        values0=c.values0[members],
        dist0=c.dist0[np.ix_(members, terrs)],
        current0=cur0,
        size0=c.size0[members],
        accounts0=c.accounts0[members],
        potential0=c.potential0[members],
        travel_w0=c.travel_w0[members],
        group=umap[c.group[members]],
        capacity=c.capacity[terrs],
        target=c.target[terrs],
        lo=c.lo[terrs],
        hi=c.hi[terrs],
        values=c.values[units],
        cost=c.cost[np.ix_(units, terrs)],
        travel=c.travel[np.ix_(units, terrs)],
        stay=stay,
        size=size,
        locked=lk,
        edges=None,
        budget=budget,
        size_total=float(size.sum()),
    )


def _group_lp(c: Compiled, tg: np.ndarray, k_groups: int = 3) -> np.ndarray:
    """Assign units to territory groups by LP (balance at tau/2, budget kept)."""
    from scipy.optimize import linprog

    G = int(tg.max()) + 1
    onehot = sp.csr_matrix((np.ones(c.m), (np.arange(c.m), tg)), shape=(c.m, G))
    gcost = np.full((c.n, G), np.inf)
    for g in range(G):
        gcost[:, g] = c.cost[:, tg == g].min(axis=1)
    stay_g = np.asarray((c.stay @ onehot).todense())
    lk = c.locked >= 0
    r = min(k_groups, G)
    part = (
        np.argpartition(gcost, r - 1, axis=1)[:, :r] if r < G else np.tile(np.arange(G), (c.n, 1))
    )
    cu = np.repeat(np.arange(c.n), part.shape[1])
    cg = part.ravel()
    st = sp.coo_matrix(stay_g)
    cu = np.r_[cu, st.row]
    cg = np.r_[cg, st.col]
    ok = ~lk[cu] | (tg[np.maximum(c.locked[cu], 0)] == cg)
    cu, cg = cu[ok], cg[ok]
    cu = np.r_[cu, np.flatnonzero(lk)]
    cg = np.r_[cg, tg[c.locked[lk]]]
    key = np.unique(cu.astype(np.int64) * G + cg)
    cu, cg = key // G, key % G
    n_col = len(cu)
    kk = c.values.shape[1]
    gt = np.zeros((G, kk))
    np.add.at(gt, tg, c.target)
    g_lo, g_hi = np.zeros((G, kk)), np.zeros((G, kk))
    np.add.at(g_lo, tg, c.lo)
    np.add.at(g_hi, tg, c.hi)
    # each group's band: half of its territories' bands, around the target held inside them
    centre = np.clip(gt, g_lo, g_hi)
    band_lo = centre - (centre - g_lo) / 2
    band_hi = centre + (g_hi - centre) / 2
    A_eq = sp.csr_matrix((np.ones(n_col), (cu, np.arange(n_col))), shape=(c.n, n_col))
    rows = (cg[:, None] * kk + np.arange(kk)[None, :]).ravel()
    A = sp.csr_matrix(
        (c.values[cu].ravel(), (rows, np.repeat(np.arange(n_col), kk))), shape=(G * kk, n_col)
    )
    blocks = [A, -A]
    b = [band_hi.ravel(), -band_lo.ravel()]
    if c.budget is not None:
        blocks.append(sp.csr_matrix(-stay_g[cu, cg][None, :]))
        b.append(np.array([-c.min_stay()]))
    with solver_stdout_silenced():  # HiGHS's stray MIP debug line (see .quiet)
        res = linprog(
            gcost[cu, cg],
            A_ub=sp.vstack(blocks).tocsr(),
            b_ub=np.concatenate(b),
            A_eq=A_eq,
            b_eq=np.ones(c.n),
            bounds=(0, 1),
            method="highs",
        )
    if res.status != 0:
        raise InfeasibleAlignment(
            f"group allocation LP failed ({res.message}); the tolerance or budget may be too tight"
        )
    order = np.lexsort((-res.x, cu))
    first = np.r_[0, np.flatnonzero(np.diff(cu[order])) + 1]
    ug = np.empty(c.n, dtype=int)
    ug[cu[order][first]] = cg[order][first]
    # rounding can push a small group out of its band: repair at group level
    lkg = np.where(lk, tg[np.maximum(c.locked, 0)], -1)
    coarse = replace(
        c,
        territory_ids=np.arange(G).astype(object),
        target=gt,
        lo=band_lo,
        hi=band_hi,
        cost=np.where(np.isfinite(gcost), gcost, 1e12),
        stay=sp.csr_matrix(stay_g),
        locked=lkg,
    )
    if not coarse.is_feasible(ug):
        ug = balance_repair(coarse, ug, cu, cg, time_limit=60.0)
    return ug


def solve_decomposed(
    c: Compiled,
    time_limit: float,
    gap_target: float,
    k: int,
    seed: int,
    log: list[dict],
    group_size: int = 25,
) -> tuple[np.ndarray, float]:
    """Solve a large alignment by spatial decomposition (see the module docstring).

    Returns
    -------
    (ndarray, float)
        Solve-level assignment and a valid lower bound.
    """
    t0 = time.perf_counter()
    tg = territory_groups(c, group_size, seed)
    G = int(tg.max()) + 1
    ug = _group_lp(c, tg)
    _note(log, {"stage": "groups", "seconds": round(time.perf_counter() - t0, 3), "groups": G})
    # budget left after group changes, shared pro rata to what each group keeps
    cur = c.current_super()
    has_cur = cur >= 0
    changed = has_cur & (tg[np.maximum(cur, 0)] != ug)
    left_budget = None
    if c.budget is not None:
        used = float(c.size[changed].sum())
        left_budget = max(c.budget - used, 0.0)
    assign = np.full(c.n, -1)
    y_bal = np.zeros_like(c.target)
    y_buds = [0.0]
    subs = []
    for g in range(G):
        units = np.flatnonzero(ug == g)
        terrs = np.flatnonzero(tg == g)
        subs.append((units, terrs, restrict(c, units, terrs, None)))
    pool = left_budget
    per_group = (time_limit * 0.75 - (time.perf_counter() - t0)) / G
    for g, (units, terrs, sub0) in enumerate(subs):
        tl = time.perf_counter()
        # budget: the pooled budget left, shared pro rata among the groups still to solve;
        # a group that cannot balance with its share may take the whole pool, then none
        tries: list[float | None] = [None]
        if pool is not None:
            rest_size = max(float(sum(s0.size_total for _, _, s0 in subs[g:])), 1e-12)
            tries = [pool * sub0.size_total / rest_size, pool, None]
        for bud in tries:
            sub = replace(sub0, budget=bud, max_moved=c.max_moved)
            lp = lp_bound(sub, k=k, time_limit=max(per_group * 0.5, 120.0))
            if lp.x is not None:
                break
        if lp.x is None:
            raise InfeasibleAlignment(
                f"territory group {g + 1} of {G} has no feasible LP ({lp.status}); "
                f"widen the tolerance or the budget"
            )
        a, viol = round_and_repair(sub, lp, time_limit=max(per_group * 0.4, 3.0), k=k, seed=seed)
        if a is None:
            raise InfeasibleAlignment(
                f"territory group {g + 1} of {G}: no alignment found; widen the tolerance or budget"
            )
        pending = viol > 0  # left for the global repair, where budgets of all groups pool
        if not pending:
            pu, pt = candidate_columns(sub, k=min(k, sub.m), extra=(lp.cu, lp.ct))
            a = improve_local(sub, a, pu, pt, time_limit=max(per_group * 0.1, 1.0))
            rest = per_group - (time.perf_counter() - tl)
            a = reduced_cost_mip(sub, lp, a, time_limit=max(rest, 1.0), gap_target=gap_target)
        assign[units] = terrs[a]
        if pool is not None:
            pool = max(pool - (sub0.size_total - sub0.stayed(a)), 0.0)
        _log.info(
            "group %d/%d: %d units, %d territories, %.1f s, feasible %s",
            g + 1,
            G,
            len(units),
            len(terrs),
            time.perf_counter() - tl,
            not pending,
        )
        if lp.y_bal is not None:
            y_bal[terrs] = lp.y_bal
        y_buds.append(max(lp.y_bud, 0.0))
    if not c.is_feasible(assign):
        pu, pt = candidate_columns(c, k=min(k, c.m))
        assign = balance_repair(c, assign, pu, pt, time_limit=max(time_limit * 0.15, 30.0))
        if not c.is_feasible(assign):
            v = c.violation(assign)
            raise InfeasibleAlignment(
                f"no feasible alignment found by decomposition (balance excess {v['balance']:.2%} "
                f"of a target, budget excess {v['budget']:.2%}); widen the tolerance or the budget"
            )
    _note(
        log,
        {
            "stage": "group_solves",
            "seconds": round(time.perf_counter() - t0, 3),
            "objective": c.objective(assign),
        },
    )
    # global polish across group borders
    tl = time.perf_counter()
    left = time_limit - (tl - t0)
    pu, pt = candidate_columns(c, k=min(k, c.m))
    assign = improve_local(c, assign, pu, pt, time_limit=max(left * 0.6, 5.0))
    _note(
        log,
        {
            "stage": "global_local_search",
            "seconds": round(time.perf_counter() - tl, 3),
            "objective": c.objective(assign),
        },
    )
    # lower bound: Lagrangian at the joined duals, small search over the budget dual
    tl = time.perf_counter()
    cands = sorted(set([0.0, *y_buds, float(np.median(y_buds)), float(np.mean(y_buds))]))
    lb = -np.inf
    for yb in cands:
        val, _ = lagrangian_bound(c, y_bal, yb)
        lb = max(lb, val)
    _note(log, {"stage": "lower_bound", "seconds": round(time.perf_counter() - tl, 3), "bound": lb})
    return assign, lb


def _note(log: list[dict], entry: dict) -> None:
    log.append(entry)
    _log.info("%s", entry)
