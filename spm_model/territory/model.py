"""Build and solve the assignment model with HiGHS (through ``highspy``).

One builder serves every solver: the exact MIP (all unit-territory pairs), the LP
relaxation (a candidate subset, priced out against all pairs) and the repair
sub-MIPs of the heuristic (a subset of free units, the rest fixed).

Rows, in order: one assignment row per free unit (``sum_t x[u, t] = 1``); one
ranged balance row per territory and measure; the disruption-budget row (kept
disruption size ``>= total - budget``) when there is a budget; flow rows for
contiguity when asked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from spm_model.territory.problem import Compiled


@dataclass
class ModelOut:
    """Result of one HiGHS run on a built model."""

    status: str
    x: np.ndarray | None  # values of the assignment columns
    objective: float  # objective value of the columns (incl. slack penalties), NaN if none
    bound: float  # dual bound (MIP) or LP objective, NaN if none
    gap: float  # relative gap reported by HiGHS (MIP), 0 for LP
    row_dual: np.ndarray | None
    seconds: float
    slack: float = 0.0  # total slack used (relative units), sub-MIP only


def candidate_columns(
    c: Compiled,
    k: int | None = None,
    units: np.ndarray | None = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-territory pairs offered to the model.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    k : int, optional
        Offer each unit its ``k`` cheapest territories plus its current one(s);
        ``None`` offers every territory.
    units : ndarray of int, optional
        Restrict to these units (default all).
    extra : (ndarray, ndarray), optional
        Additional (unit, territory) pairs.

    Returns
    -------
    (ndarray, ndarray)
        Unit and territory index of every column, sorted by unit then territory,
        without duplicates. Locked units get only their territory.
    """
    units = np.arange(c.n) if units is None else np.asarray(units)
    m = c.m
    if k is None or k >= m:
        cu = np.repeat(units, m)
        ct = np.tile(np.arange(m), len(units))
    else:
        part = np.argpartition(c.cost[units], k - 1, axis=1)[:, :k]
        cu = np.repeat(units, k)
        ct = part.ravel()
        st = c.stay[units].tocoo()
        cu = np.concatenate([cu, units[st.row]])
        ct = np.concatenate([ct, st.col])
    if extra is not None:
        keep = np.isin(extra[0], units)
        cu = np.concatenate([cu, extra[0][keep]])
        ct = np.concatenate([ct, extra[1][keep]])
    lk = c.locked[cu]
    ok = (lk < 0) | (lk == ct)
    cu, ct = cu[ok], ct[ok]
    locked_units = units[c.locked[units] >= 0]
    cu = np.concatenate([cu, locked_units])
    ct = np.concatenate([ct, c.locked[locked_units]])
    key = np.unique(cu.astype(np.int64) * m + ct)
    return key // m, key % m


def contiguity_roots(c: Compiled) -> np.ndarray:
    """Root unit of every territory for the contiguity flow model.

    A territory's root is a unit locked to it (the one nearest its home) or else
    the free unit nearest its home not already the root of another territory.
    """
    dist = np.full((c.n, c.m), np.inf)
    np.minimum.at(dist, c.group, c.dist0)
    roots = np.full(c.m, -1)
    used = np.zeros(c.n, dtype=bool)
    for t in range(c.m):
        mine = np.flatnonzero(c.locked == t)
        if len(mine):
            roots[t] = mine[np.argmin(dist[mine, t])]
            used[roots[t]] = True
    for t in np.argsort(dist.min(axis=0)):
        if roots[t] >= 0:
            continue
        d = np.where(used | (c.locked >= 0), np.inf, dist[:, t])
        if np.isfinite(d).any():
            roots[t] = int(np.argmin(d))
            used[roots[t]] = True
    return roots


def new_highs(verbose: bool = False):
    """Create a HiGHS instance that prints nothing unless ``verbose``.

    ``highspy.Highs()`` writes the HiGHS banner while it enables its Python
    callbacks, before any option can be set. These models use no callbacks, so
    when quiet we create highspy's core solver object (the base class of
    ``highspy.Highs``, same methods) and switch its output off first.

    Parameters
    ----------
    verbose : bool
        Keep the banner and the solver log on the console.

    Returns
    -------
    highspy.Highs or its core base class
    """
    import highspy

    if verbose:
        h = highspy.Highs()
        h.setOptionValue("output_flag", True)
        return h
    core = getattr(highspy, "_Highs", None) or highspy.Highs.__mro__[1]
    h = core()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def build_and_solve(
    c: Compiled,
    cu: np.ndarray,
    ct: np.ndarray,
    *,
    integer: bool,
    fixed: np.ndarray | None = None,
    slack_penalty: float | None = None,
    contiguity: bool = False,
    time_limit: float = 60.0,
    mip_rel_gap: float = 1e-3,
    start: np.ndarray | None = None,
    cost: np.ndarray | None = None,
    drop_budget: bool = False,
    verbose: bool = False,
) -> ModelOut:
    """Build the model over columns ``(cu, ct)`` and solve it with HiGHS.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    cu, ct : ndarray of int
        Unit and territory of each assignment column.
    integer : bool
        Binary columns (MIP) or continuous in [0, 1] (LP relaxation).
    fixed : ndarray of int, optional
        Solve-level assignment of units *not* among ``cu``; their loads and kept
        disruption are subtracted from the row bounds. Needed when ``cu`` covers
        only some units.
    slack_penalty : float, optional
        Make balance and budget rows elastic: violations cost this much per unit
        of relative violation (1.0 = 100% of a target). Keeps repair sub-MIPs feasible.
    contiguity : bool
        Add single-commodity flow constraints so every territory is connected
        in ``c.edges`` (rooted at :func:`contiguity_roots`).
    time_limit : float
        Seconds.
    mip_rel_gap : float
        Relative gap at which the MIP stops (fraction).
    start : ndarray, optional
        Values of the assignment columns to offer as a MIP start.
    cost : ndarray, optional
        Column costs to use instead of ``c.cost[cu, ct]``.
    drop_budget : bool
        Leave out the disruption-budget row.
    verbose : bool
        Print the HiGHS log.

    Returns
    -------
    ModelOut
    """
    import highspy

    t0 = time.perf_counter()
    units = np.unique(cu)
    urow = np.full(c.n, -1)
    urow[units] = np.arange(len(units))
    nu, m, kk = len(units), c.m, c.values.shape[1]
    ncol = len(cu)
    lo = c.lo.copy()
    hi = c.hi.copy()
    min_stay = c.min_stay()
    if fixed is not None:
        others = np.setdiff1d(np.arange(c.n), units)
        fl = np.zeros((m, kk))
        np.add.at(fl, fixed[others], c.values[others])
        lo, hi = lo - fl, hi - fl
        if c.budget is not None:
            min_stay -= float(c.stay_of(others, fixed[others]).sum())
    use_budget = c.budget is not None and not drop_budget
    nbal = m * kk
    r_bal = nu
    r_bud = nu + nbal
    nrow = r_bud + (1 if use_budget else 0)

    rows = [urow[cu], r_bal + (ct[:, None] * kk + np.arange(kk)[None, :]).ravel()]
    cols = [np.arange(ncol), np.repeat(np.arange(ncol), kk)]
    vals = [np.ones(ncol), c.values[cu].ravel()]
    if use_budget:
        sv = c.stay_of(cu, ct)
        nz = np.flatnonzero(sv)
        rows.append(np.full(len(nz), r_bud))
        cols.append(nz)
        vals.append(sv[nz])
    col_cost = [c.cost[cu, ct] if cost is None else np.asarray(cost, dtype=float)]
    col_lo = [np.zeros(ncol)]
    col_hi = [np.ones(ncol)]
    integ = [np.ones(ncol, dtype=bool) if integer else np.zeros(ncol, dtype=bool)]
    row_lo = [np.ones(nu), lo.ravel()] + ([np.array([min_stay])] if use_budget else [])
    row_hi = [np.ones(nu), hi.ravel()] + ([np.array([np.inf])] if use_budget else [])
    nxt = ncol
    if slack_penalty is not None:
        # two slacks per balance row (under, over), one for the budget row
        scale = np.maximum(c.target.ravel(), 1e-9)
        for sign in (1.0, -1.0):
            rows.append(r_bal + np.arange(nbal))
            cols.append(nxt + np.arange(nbal))
            vals.append(sign * np.ones(nbal))
            col_cost.append(slack_penalty / scale)
            col_lo.append(np.zeros(nbal))
            col_hi.append(np.full(nbal, np.inf))
            integ.append(np.zeros(nbal, dtype=bool))
            nxt += nbal
        if use_budget:
            rows.append(np.array([r_bud]))
            cols.append(np.array([nxt]))
            vals.append(np.ones(1))
            col_cost.append(np.array([slack_penalty / max(c.size_total, 1e-9)]))
            col_lo.append(np.zeros(1))
            col_hi.append(np.array([np.inf]))
            integ.append(np.zeros(1, dtype=bool))
            nxt += 1
    if contiguity and c.edges is not None:
        nxt, nrow = _add_flow(
            c, cu, ct, rows, cols, vals, col_cost, col_lo, col_hi, integ, row_lo, row_hi, nxt, nrow
        )
    A = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, nxt)
    )
    A.sum_duplicates()
    lp = highspy.HighsLp()
    lp.num_col_ = nxt
    lp.num_row_ = nrow
    lp.col_cost_ = np.concatenate(col_cost)
    lp.col_lower_ = np.concatenate(col_lo)
    lp.col_upper_ = np.concatenate(col_hi)
    lp.row_lower_ = np.concatenate(row_lo)
    lp.row_upper_ = np.concatenate(row_hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    isint = np.concatenate(integ)
    if isint.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in isint
        ]
    h = new_highs(verbose)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("random_seed", 0)
    if isint.any():
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.passModel(lp)
    if start is not None and isint.any():
        sol = highspy.HighsSolution()
        full = np.zeros(nxt)
        full[:ncol] = start
        if slack_penalty is not None or contiguity:
            full[ncol:] = 0.0
            sol.col_value = full
            sol.value_valid = True
            # let HiGHS complete the continuous part (slacks, flows)
            h.setSolution(sol)
        else:
            sol.col_value = full
            sol.value_valid = True
            h.setSolution(sol)
    h.run()
    st = h.getModelStatus()
    status = h.modelStatusToString(st)
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = None
    objective = np.nan
    slack = 0.0
    row_dual = None
    if has_sol:
        solution = h.getSolution()
        allx = np.asarray(solution.col_value)
        x = allx[:ncol]
        objective = float(info.objective_function_value)
        if slack_penalty is not None:
            slack = float(np.sum(allx[ncol : ncol + 2 * nbal + (1 if use_budget else 0)]))
        if not isint.any() and solution.dual_valid:
            row_dual = np.asarray(solution.row_dual)
    if isint.any():
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap)
    else:
        bound = objective
        gap = 0.0
    return ModelOut(
        status=status,
        x=x,
        objective=objective,
        bound=bound,
        gap=gap,
        row_dual=row_dual,
        seconds=time.perf_counter() - t0,
        slack=slack,
    )


def _add_flow(
    c, cu, ct, rows, cols, vals, col_cost, col_lo, col_hi, integ, row_lo, row_hi, nxt, nrow
):
    """Append single-commodity flow columns/rows enforcing connected territories."""
    roots = contiguity_roots(c)
    m, n = c.m, c.n
    has = np.zeros((n, m), dtype=bool)
    has[cu, ct] = True
    colid = np.full((n, m), -1)
    colid[cu, ct] = np.arange(len(cu))
    for t in range(m):
        r = roots[t]
        if r < 0 or not has[r, t]:
            continue
        # fix the root in its territory
        col_lo[0][colid[r, t]] = 1.0
    e = c.edges
    arcs = np.vstack([e, e[:, ::-1]]) if len(e) else np.empty((0, 2), dtype=np.int64)
    # node-territory rows for non-root candidates
    node_t = [(u, t) for u, t in zip(cu, ct, strict=True) if roots[t] != u]
    nid = np.full((n, m), -1)
    for i, (u, t) in enumerate(node_t):
        nid[u, t] = i
    nn = len(node_t)
    r_flow = nrow
    r_cap = nrow + nn
    # x columns in flow rows: -1 in balance, -M in capacity
    mt = has.sum(axis=0) - 1
    if nn:
        nu_, nt_ = np.array(node_t).T
        rows += [r_flow + np.arange(nn), r_cap + np.arange(nn)]
        cols += [colid[nu_, nt_], colid[nu_, nt_]]
        vals += [-np.ones(nn), -mt[nt_].astype(float)]
    fr, fc, fv = [], [], []
    fub = []
    k = 0
    for t in range(m):
        if roots[t] < 0:
            continue
        a = arcs[has[arcs[:, 0], t] & has[arcs[:, 1], t] & (arcs[:, 1] != roots[t])]
        if not len(a):
            continue
        ids = nxt + k + np.arange(len(a))
        k += len(a)
        vin = nid[a[:, 1], t]
        fr += [r_flow + vin, r_cap + vin]
        fc += [ids, ids]
        fv += [np.ones(len(a)), np.ones(len(a))]
        src_ok = a[:, 0] != roots[t]
        uout = nid[a[src_ok, 0], t]
        fr.append(r_flow + uout)
        fc.append(ids[src_ok])
        fv.append(-np.ones(int(src_ok.sum())))
        fub.append(np.full(len(a), float(mt[t])))
    if k:
        rows += fr
        cols += fc
        vals += fv
        col_cost.append(np.zeros(k))
        col_lo.append(np.zeros(k))
        col_hi.append(np.concatenate(fub))
        integ.append(np.zeros(k, dtype=bool))
    row_lo += [np.zeros(nn), np.full(nn, -np.inf)]
    row_hi += [np.zeros(nn), np.zeros(nn)]
    return nxt + k, nrow + 2 * nn
