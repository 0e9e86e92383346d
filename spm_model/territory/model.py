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
from spm_model.territory.quiet import solver_stdout_silenced


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
    """Return the fixed root unit of every territory for the contiguity flow model, or -1.

    A territory with a unit locked to it is rooted at that unit (the locked one
    nearest its home): the unit belongs to the territory in every feasible
    alignment, so fixing the root there loses nothing. Every other territory
    gets -1: the model chooses its root (binary root variables), so no
    alignment is excluded.
    """
    dist = np.full((c.n, c.m), np.inf)
    np.minimum.at(dist, c.group, c.dist0)
    roots = np.full(c.m, -1)
    for t in range(c.m):
        mine = np.flatnonzero(c.locked == t)
        if len(mine):
            roots[t] = mine[np.argmin(dist[mine, t])]
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
        in ``c.edges`` (the root is chosen by the model, or is a locked unit;
        see :func:`_add_flow`). With ``fixed``, every territory offered a
        column must have all its units among ``cu``.
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
        if fixed is not None:
            others = np.setdiff1d(np.arange(c.n), units)
            clash = np.intersect1d(np.unique(fixed[others]), np.unique(ct))
            if len(clash):
                raise ValueError(
                    "contiguity sub-model: territories offered to free units must have "
                    f"no fixed units (territories {clash[:5].tolist()} do)"
                )
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
    if contiguity and c.edges is not None:
        # HiGHS 1.16 presolve can cut off the optimum of the single-commodity flow model
        # (seen on a 3 x 3 grid with locks: "Optimal" 8.6099 while a connected 8.4131
        # exists; correct with presolve off), so the contiguity model is solved without it
        h.setOptionValue("presolve", "off")
    h.passModel(lp)
    if start is not None and isint.any():
        if nxt > ncol:
            # slacks, flows, roots: give the assignment only; HiGHS completes the rest
            h.setSolution(
                ncol, np.arange(ncol, dtype=np.int32), np.asarray(start, dtype=np.float64)
            )
        else:
            sol = highspy.HighsSolution()
            sol.col_value = np.asarray(start, dtype=float)
            sol.value_valid = True
            h.setSolution(sol)
    if verbose:
        h.run()
    else:
        with solver_stdout_silenced():  # HiGHS's stray MIP debug line (see .quiet)
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
    """Append single-commodity flow columns/rows that make every territory connected.

    For territory ``t`` with candidate units ``V_t`` (``nt = |V_t|``), arc flows
    ``f[a, t] in [0, nt - 1]`` run along adjacency edges inside ``V_t``; a unit
    takes in flow only if it is in ``t`` (``in(v) <= (nt - 1) x[v, t]``) and
    every member except the root consumes one unit of flow. With a fixed root
    (a locked unit, see :func:`contiguity_roots`) conservation is
    ``in(v) - out(v) = x[v, t]`` for the other members. Otherwise binary root
    variables ``r[u, t] <= x[u, t]`` with ``sum_u r[u, t] <= 1`` choose the
    root, and ``in(v) - out(v) >= x[v, t] - nt r[v, t]``: all flow starts at the
    root, so every member is reached from it inside the territory. No
    alignment is excluded beyond contiguity itself.
    """
    roots = contiguity_roots(c)
    m, n = c.m, c.n
    has = np.zeros((n, m), dtype=bool)
    has[cu, ct] = True
    colid = np.full((n, m), -1)
    colid[cu, ct] = np.arange(len(cu))
    nt_all = has.sum(axis=0)
    e = c.edges
    arcs = np.vstack([e, e[:, ::-1]]) if len(e) else np.empty((0, 2), dtype=np.int64)
    for t in range(m):
        nt = int(nt_all[t])
        if nt <= 1:
            continue
        r = int(roots[t])
        if r >= 0 and not has[r, t]:
            r = -1
        nodes = np.flatnonzero(has[:, t])
        if r >= 0:
            nodes = nodes[nodes != r]
        k = len(nodes)
        node_row = np.full(n, -1)
        node_row[nodes] = np.arange(k)
        r_flow, r_cap = nrow, nrow + k
        nrow += 2 * k
        xs = colid[nodes, t]
        # x in conservation (-1) and capacity (-(nt - 1)) rows
        rows += [r_flow + np.arange(k), r_cap + np.arange(k)]
        cols += [xs, xs]
        vals += [-np.ones(k), -float(nt - 1) * np.ones(k)]
        if r >= 0:
            row_lo += [np.zeros(k), np.full(k, -np.inf)]
            row_hi += [np.zeros(k), np.zeros(k)]
        else:
            row_lo += [np.zeros(k), np.full(k, -np.inf)]
            row_hi += [np.full(k, np.inf), np.zeros(k)]
            # root variables: +nt in conservation, r - x <= 0, sum r <= 1
            rid = nxt + np.arange(k)
            nxt += k
            r_link, r_one = nrow, nrow + k
            nrow += k + 1
            rows += [r_flow + np.arange(k), r_link + np.arange(k), r_link + np.arange(k)]
            cols += [rid, rid, xs]
            vals += [float(nt) * np.ones(k), np.ones(k), -np.ones(k)]
            rows.append(np.full(k, r_one))
            cols.append(rid)
            vals.append(np.ones(k))
            row_lo += [np.full(k, -np.inf), np.array([-np.inf])]
            row_hi += [np.zeros(k), np.array([1.0])]
            col_cost.append(np.zeros(k))
            col_lo.append(np.zeros(k))
            col_hi.append(np.ones(k))
            integ.append(np.ones(k, dtype=bool))
        a = arcs[has[arcs[:, 0], t] & has[arcs[:, 1], t]]
        if r >= 0:
            a = a[a[:, 1] != r]
        if not len(a):
            continue
        ids = nxt + np.arange(len(a))
        nxt += len(a)
        vin = node_row[a[:, 1]]
        rows += [r_flow + vin, r_cap + vin]
        cols += [ids, ids]
        vals += [np.ones(len(a)), np.ones(len(a))]
        src_ok = a[:, 0] != r
        rows.append(r_flow + node_row[a[src_ok, 0]])
        cols.append(ids[src_ok])
        vals.append(-np.ones(int(src_ok.sum())))
        col_cost.append(np.zeros(len(a)))
        col_lo.append(np.zeros(len(a)))
        col_hi.append(np.full(len(a), float(nt - 1)))
        integ.append(np.zeros(len(a), dtype=bool))
    return nxt, nrow
