"""Scalable alignment: LP bound by column generation, LP rounding and repair by sub-MIP, LNS.

Method (``solve_heuristic``)
----------------------------
1. **LP relaxation over candidate pairs with pricing** (column generation). Each
   unit is offered its ``k`` cheapest territories plus its current one; the LP
   is solved with HiGHS dual simplex; every unit-territory pair is then priced
   with the LP duals and pairs with negative reduced cost join the LP, for at most
   ``pricing_rounds`` rounds.
2. **Lower bound**. For the balance and budget duals ``y`` of the last LP the
   Lagrangian function ``L(y) = sum_r y_r b_r + sum_u min_t (c_ut - y . a_ut)``
   (minimum over *all* territories a unit may take, ``b_r`` the active side of
   row ``r``) is a valid lower bound on the optimum of the full integer problem,
   whatever the candidate restriction; it equals the full LP optimum once pricing
   finds no negative reduced cost. Contiguity only shrinks the feasible set, so
   the bound also holds with adjacency.
3. **Rounding and repair**. Units the LP assigns integrally keep their territory;
   units split by the LP (at most one per balance/budget row in a basic solution)
   plus the units with the smallest regret are freed and re-assigned by a
   sub-MIP (HiGHS) with elastic balance rows; the free set grows until the
   elastic slack is zero.
4. **Large-neighbourhood search** (LNS). Until ``time_limit`` or ``gap_target``:
   pick a random territory and its ``lns_territories - 1`` nearest neighbours,
   free their units and re-optimise them with a warm-started sub-MIP; keep
   improvements (moves and swaps of any size inside the neighbourhood).
5. **Contiguity** (with adjacency): disconnected pieces are handed to an adjacent
   territory and a local search of contiguity-preserving single-unit moves
   restores balance (:mod:`spm_model.territory.contiguity`).

Guarantee: the returned alignment meets every balance, budget and lock constraint
(or an :class:`~spm_model.territory.diagnose.InfeasibleAlignment` is raised), and
``gap = (objective - lower_bound) / objective`` bounds its distance to the
optimum. There is no a-priori approximation ratio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from spm_model.territory.model import build_and_solve, candidate_columns
from spm_model.territory.problem import Compiled


@dataclass
class LPBound:
    """LP relaxation and the Lagrangian lower bound of an alignment problem."""

    status: str
    lp_objective: float  # restricted LP optimum (upper bound on the full LP)
    lower_bound: float  # valid lower bound on the integer optimum
    cu: np.ndarray
    ct: np.ndarray
    x: np.ndarray | None
    reduced: np.ndarray | None  # (n, m) c - y.a, for regret ranking
    rounds: int
    columns: int
    seconds: float
    y_bal: np.ndarray | None = None  # balance duals of the last LP, (m, K)
    y_bud: float = 0.0  # budget dual of the last LP


def _block_rows(n: int, m: int, budget: int = 4_000_000) -> int:
    return max(1, budget // max(m, 1))


def lagrangian_bound(c: Compiled, y_bal: np.ndarray, y_bud: float) -> tuple[float, np.ndarray]:
    """Lagrangian lower bound for balance duals ``y_bal`` (m, K) and budget dual ``y_bud``.

    Returns
    -------
    (float, ndarray)
        The bound and the matrix of Lagrangian costs ``c - y.a`` (n, m).
    """
    b = np.where(y_bal > 0, c.lo, c.hi)
    total = float(np.sum(y_bal * b))
    y_bud = max(float(y_bud), 0.0) if c.budget is not None else 0.0
    if y_bud > 0:
        total += y_bud * c.min_stay()
    red = np.empty((c.n, c.m))
    step = _block_rows(c.n, c.m)
    for s in range(0, c.n, step):
        e = min(c.n, s + step)
        blk = c.cost[s:e] - c.values[s:e] @ y_bal.T
        if y_bud > 0:
            blk -= y_bud * c.stay[s:e].toarray()
        red[s:e] = blk
    lk = c.locked >= 0
    mins = red.min(axis=1)
    mins[lk] = red[lk, c.locked[lk]]
    return total + float(mins.sum()), red


def lp_bound(
    c: Compiled,
    k: int = 8,
    pricing_rounds: int = 6,
    time_limit: float = 300.0,
    drop_budget: bool = False,
    columns: tuple[np.ndarray, np.ndarray] | None = None,
    stop_gap: float = 0.0,
) -> LPBound:
    """Solve the LP relaxation by column generation and compute the Lagrangian bound.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    k : int
        Candidate territories per unit in the first LP (nearest by cost).
    pricing_rounds : int
        Largest number of pricing rounds.
    time_limit : float
        Seconds for all LP solves together.
    drop_budget : bool
        Ignore the disruption budget.
    columns : (ndarray, ndarray), optional
        Unit and territory of the first LP's columns (every unit must appear),
        e.g. the pairs of least Lagrangian reduced cost from
        :func:`spm_model.territory.lagrange.lagrangian_candidates`; replaces the
        ``k`` cheapest territories by cost (each unit's current one is added).
    stop_gap : float
        Stop pricing once the restricted LP optimum is within this fraction of
        the Lagrangian bound (0: price until no column has negative reduced cost).

    Returns
    -------
    LPBound
        ``status`` is ``"Optimal"`` or the HiGHS status (e.g. ``"Infeasible"``).
    """
    t0 = time.perf_counter()
    if columns is None:
        cu, ct = candidate_columns(c, k=min(k, c.m))
    else:
        cu, ct = candidate_columns(c, k=0, extra=columns)
    best_lb = -np.inf
    out = None
    red = None
    rounds = 0
    prev = None
    kk = c.values.shape[1]
    while True:
        left = time_limit - (time.perf_counter() - t0)
        out = build_and_solve(
            c, cu, ct, integer=False, time_limit=max(left, 1.0), drop_budget=drop_budget
        )
        if (out.x is None or out.row_dual is None) and prev is not None:
            out, cu, ct = prev  # a later pricing round ran out of time: keep the last LP
            break
        if out.x is None or out.row_dual is None:
            if out.status == "Infeasible" and len(cu) < c.n * c.m and k < c.m:
                # the candidate restriction may cause it: widen to all pairs once
                k = c.m
                cu, ct = candidate_columns(c, k=None)
                continue
            return LPBound(
                out.status,
                np.nan,
                -np.inf,
                cu,
                ct,
                None,
                None,
                rounds,
                len(cu),
                time.perf_counter() - t0,
            )
        prev = (out, cu, ct)
        nu = len(np.unique(cu))
        y_bal = out.row_dual[nu : nu + c.m * kk].reshape(c.m, kk)
        use_budget = c.budget is not None and not drop_budget
        y_bud = float(out.row_dual[nu + c.m * kk]) if use_budget else 0.0
        cc = c if not drop_budget else _without_budget(c)
        lb, red = lagrangian_bound(cc, y_bal, y_bud)
        best_lb = max(best_lb, lb)
        u_dual = out.row_dual[:nu]
        rounds += 1
        if rounds >= pricing_rounds or time.perf_counter() - t0 > time_limit:
            break
        if out.objective - best_lb <= stop_gap * abs(out.objective):
            break
        # pricing: reduced cost c - y.a - u_u over all pairs
        rc = red - u_dual[:, None] if nu == c.n else None
        if rc is None:
            break
        have = np.zeros((c.n, c.m), dtype=bool)
        have[cu, ct] = True
        rc[have] = np.inf
        lk = c.locked >= 0
        rc[lk] = np.inf
        tol = 1e-7 * max(1.0, abs(out.objective) / max(c.n, 1))
        neg = rc < -tol
        if not neg.any():
            break
        # add up to 3 most negative columns per unit
        cand_u, cand_t = np.nonzero(neg)
        vals = rc[cand_u, cand_t]
        order = np.lexsort((vals, cand_u))
        cand_u, cand_t = cand_u[order], cand_t[order]
        first = np.r_[0, np.flatnonzero(np.diff(cand_u)) + 1]
        rank = np.arange(len(cand_u)) - np.repeat(first, np.diff(np.r_[first, len(cand_u)]))
        keep = rank < 3
        cu, ct = candidate_columns(c, k=0, extra=(np.r_[cu, cand_u[keep]], np.r_[ct, cand_t[keep]]))
    return LPBound(
        out.status,
        out.objective,
        best_lb,
        cu,
        ct,
        out.x,
        red,
        rounds,
        len(cu),
        time.perf_counter() - t0,
        y_bal=y_bal,
        y_bud=y_bud,
    )


def _without_budget(c: Compiled) -> Compiled:
    from dataclasses import replace

    return replace(c, budget=None)


def round_and_repair(
    c: Compiled, lp: LPBound, time_limit: float = 60.0, k: int = 8, seed: int = 0
) -> tuple[np.ndarray | None, float]:
    """Round an LP solution to an integer alignment and repair its balance.

    The LP is first re-solved with every band shrunk to 80% and the budget to 97%
    (when still feasible), each unit takes the territory with its largest value in
    that LP; then
    :func:`~spm_model.territory.repair.balance_repair` applies moves and swaps
    over the LP's candidate pairs (plus each unit's ``k`` cheapest territories)
    until the balance band and budget hold. If that gets stuck, elastic sub-MIPs
    re-assign a growing set of units (split and low-regret units first).

    Returns
    -------
    (ndarray or None, float)
        Solve-level assignment (``None`` if none was found) and the remaining
        total relative violation (0 when feasible).
    """
    from spm_model.territory.repair import balance_repair

    t0 = time.perf_counter()
    assert lp.x is not None and lp.reduced is not None
    x = lp.x
    # round a *tightened* LP (80% of each band, 97% of the budget): its
    # rounding errors then tend to stay inside the real bands, so repair is short
    tight = replace(
        c,
        lo=c.lo + 0.1 * (c.hi - c.lo),  # 80% of the band, centred in it
        hi=c.hi - 0.1 * (c.hi - c.lo),
        budget=None if c.budget is None else 0.97 * c.budget,
    )
    out_t = build_and_solve(tight, lp.cu, lp.ct, integer=False, time_limit=max(time_limit / 3, 1.0))
    if out_t.x is not None and out_t.status == "Optimal":
        x = out_t.x
    order = np.lexsort((-x, lp.cu))
    cu_s, ct_s = lp.cu[order], lp.ct[order]
    first = np.r_[0, np.flatnonzero(np.diff(cu_s)) + 1]
    assign = np.full(c.n, -1)
    assign[cu_s[first]] = ct_s[first]
    pu, pt = candidate_columns(c, k=min(k, c.m), extra=(lp.cu, lp.ct))
    assign = balance_repair(c, assign, pu, pt, time_limit=time_limit / 2)
    if c.is_feasible(assign):
        return assign, 0.0
    # fallback: elastic sub-MIPs over the violated territories and their neighbours
    penalty = 1e3 * (abs(lp.lp_objective) / max(c.m, 1) + 1.0)
    near = _territory_proximity(c, assign)
    v = c.violation(assign)
    slack = v["balance"] + v["budget"]
    size = 4
    while time.perf_counter() - t0 < time_limit and size <= 4 * c.m:
        ld = c.loads(assign)
        bad = np.flatnonzero(((ld > c.hi * (1 + 1e-9)) | (ld < c.lo * (1 - 1e-9))).any(axis=1))
        if not len(bad) and v["budget"] > 0:
            bad = np.arange(c.m)
        nb = np.unique(np.concatenate([np.argsort(near[b])[:size] for b in bad]))
        free = np.flatnonzero(np.isin(assign, nb) & (c.locked < 0))
        fu, ft = candidate_columns(c, k=min(k, c.m), units=free, extra=(lp.cu, lp.ct))
        # inside the neighbourhood, or back to the unit's current territory (frees budget)
        keep = np.isin(ft, nb) | (c.stay_of(fu, ft) > 0)
        fu, ft = fu[keep], ft[keep]
        start = (ft == assign[fu]).astype(float)
        left = time_limit - (time.perf_counter() - t0)
        out = build_and_solve(
            c,
            fu,
            ft,
            integer=True,
            fixed=assign,
            slack_penalty=penalty,
            time_limit=max(min(left, 15.0), 1.0),
            mip_rel_gap=1e-2,
            start=start,
        )
        if out.x is not None:
            sel = out.x > 0.5
            cand = assign.copy()
            cand[fu[sel]] = ft[sel]
            cand = balance_repair(c, cand, pu, pt, time_limit=5.0)
            vv = c.violation(cand)
            if vv["balance"] + vv["budget"] <= slack:
                assign, slack, v = cand, vv["balance"] + vv["budget"], vv
            if c.is_feasible(assign):
                return assign, 0.0
        size *= 2
    return assign, slack


def _territory_proximity(c: Compiled, assign: np.ndarray) -> np.ndarray:
    """Territory-to-territory proximity (smaller = nearer): home distance, else shared cost."""
    if np.isfinite(c.home_lat).all() and np.isfinite(c.home_lon).all():
        from spm_model.territory.geo import distance_matrix_km

        return distance_matrix_km(c.home_lat, c.home_lon, c.home_lat, c.home_lon)
    prof = np.zeros((c.m, c.m))
    np.add.at(prof, assign, c.cost)
    prof /= np.maximum(np.bincount(assign, minlength=c.m)[:, None], 1)
    return prof - np.diag(prof)[:, None]


def lns_improve(
    c: Compiled,
    assign: np.ndarray,
    lower_bound: float,
    time_limit: float,
    gap_target: float = 1e-3,
    lns_territories: int = 6,
    max_free: int = 2500,
    k: int = 8,
    seed: int = 0,
    sub_time: float = 10.0,
) -> tuple[np.ndarray, int]:
    """Large-neighbourhood search: re-optimise groups of nearby territories by sub-MIP.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    assign : ndarray
        Feasible solve-level assignment to improve (not modified).
    lower_bound : float
        Stop when the relative gap to this bound is at most ``gap_target``.
    time_limit : float
        Seconds.
    gap_target : float
        Relative gap (fraction) at which to stop.
    lns_territories : int
        Territories per neighbourhood (a random one and its nearest neighbours).
    max_free : int
        Largest number of units freed in a neighbourhood.
    k : int
        Candidate territories per unit (intersected with the neighbourhood).
    seed : int
        Seed of the neighbourhood choice.
    sub_time : float
        Seconds per sub-MIP.

    Returns
    -------
    (ndarray, int)
        The improved assignment and the number of improving neighbourhoods.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    assign = assign.copy()
    best = c.objective(assign)
    hd = _territory_proximity(c, assign)
    improved = 0
    tried: set[tuple[int, ...]] = set()
    fails = 0
    while time.perf_counter() - t0 < time_limit:
        if best - lower_bound <= gap_target * max(abs(best), 1e-9):
            break
        t = int(rng.integers(c.m))
        nb = tuple(sorted(np.argsort(hd[t])[: min(lns_territories, c.m)].tolist()))
        if nb in tried:
            fails += 1
            if fails > 3 * c.m:
                break
            continue
        tried.add(nb)
        free = np.flatnonzero(np.isin(assign, nb) & (c.locked < 0))
        if len(free) > max_free:
            free = np.sort(rng.choice(free, max_free, replace=False))
        if len(free) < 2:
            continue
        fu, ft = candidate_columns(c, k=min(k, c.m), units=free)
        keep = np.isin(ft, nb)
        fu, ft = fu[keep], ft[keep]
        # every free unit must keep its current column
        fu, ft = candidate_columns(
            c, k=0, units=free, extra=(np.r_[fu, free], np.r_[ft, assign[free]])
        )
        keep = np.isin(ft, nb) | (ft == assign[fu]) | (c.stay_of(fu, ft) > 0)
        fu, ft = fu[keep], ft[keep]
        start = (ft == assign[fu]).astype(float)
        left = time_limit - (time.perf_counter() - t0)
        out = build_and_solve(
            c,
            fu,
            ft,
            integer=True,
            fixed=assign,
            time_limit=min(sub_time, max(left, 0.5)),
            mip_rel_gap=1e-4,
            start=start,
        )
        if out.x is None:
            continue
        cand = assign.copy()
        sel = out.x > 0.5
        cand[fu[sel]] = ft[sel]
        val = c.objective(cand)
        if val < best - 1e-9 * max(abs(best), 1.0) and c.is_feasible(cand):
            assign, best = cand, val
            improved += 1
            tried = {nb}  # neighbourhoods may improve again after a change
            fails = 0
    return assign, improved


def reduced_cost_mip(
    c: Compiled,
    lp: LPBound,
    assign: np.ndarray,
    time_limit: float,
    per_unit: int = 3,
    gap_target: float = 1e-3,
) -> np.ndarray:
    """Re-optimise every unit at once over its most promising territories (sub-MIP).

    Each unit may keep its territory in ``assign``, return to its current one, or
    take one of its ``per_unit`` territories of lowest LP reduced cost; HiGHS
    solves that restricted MIP warm-started from ``assign``. Pairs with a high
    reduced cost rarely appear in good alignments, so the restricted MIP is small
    but covers the whole map (unlike LNS neighbourhoods).

    Returns
    -------
    ndarray
        The better of ``assign`` and the sub-MIP's incumbent.
    """
    if lp.reduced is None or time_limit < 0.5:
        return assign
    r = min(per_unit, c.m)
    part = np.argpartition(lp.reduced, r - 1, axis=1)[:, :r] if r < c.m else None
    if part is None:
        cu, ct = candidate_columns(c, k=None)
    else:
        cu, ct = candidate_columns(
            c,
            k=0,
            extra=(
                np.r_[np.repeat(np.arange(c.n), r), np.arange(c.n)],
                np.r_[part.ravel(), assign],
            ),
        )
    start = (ct == assign[cu]).astype(float)
    out = build_and_solve(
        c, cu, ct, integer=True, time_limit=time_limit, mip_rel_gap=gap_target, start=start
    )
    if out.x is None:
        return assign
    b = assign.copy()
    sel = out.x > 0.5
    b[cu[sel]] = ct[sel]
    if c.is_feasible(b) and c.objective(b) < c.objective(assign):
        return b
    return assign
