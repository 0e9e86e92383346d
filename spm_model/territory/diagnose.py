"""Why an alignment is infeasible, and the tightest settings that are not.

When no alignment meets the balance tolerance, the disruption budget and the
locks together, :func:`diagnose` solves small linear programs (HiGHS through
:func:`scipy.optimize.linprog`) to say which constraint binds and by how much:

* the smallest tolerance scale ``s*`` such that every territory's load lies within
  ``+/- s* tau_k`` of its target (minimise the largest scaled deviation), with and
  without the budget and the locks;
* the smallest disruption (share of accounts or potential moved) that balancing
  to the requested tolerance needs.

For large problems these are LP relaxation values, hence *lower bounds*: an
integer alignment may need a little more (large accounts cannot be split). Small
problems are also solved as MIPs, so the values are exact there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from spm_model.errors import SpmConfigError, SpmError
from spm_model.territory.model import candidate_columns
from spm_model.territory.problem import Compiled
from spm_model.territory.quiet import solver_stdout_silenced


class InfeasibleAlignment(SpmConfigError):
    """No alignment meets the constraints; ``diagnosis`` says which binds and by how much."""

    def __init__(self, message: str, diagnosis: Diagnosis | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis


class AlignmentNotFound(SpmError):
    """No alignment was found within the time limit, and none was proven impossible.

    Raised instead of :class:`InfeasibleAlignment` when the search (heuristic
    restarts, neighbourhood MIPs, the full MIP if it fits) ran out of time
    without a feasible alignment and without a proof that none exists;
    ``diagnosis`` holds the LP checks, which did not rule the problem out.
    """

    def __init__(self, message: str, diagnosis: Diagnosis | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis


@dataclass
class Diagnosis:
    """Tightest feasible settings found by LP.

    Attributes
    ----------
    binding : str
        ``"tolerance"``, ``"disruption budget"``, ``"locked accounts"``,
        ``"integrality"`` (the LP is feasible but large units make an integer
        alignment hard), ``"contiguity"`` (balance is reachable only with
        disconnected territories, as far as the search could tell) or ``"none"``
        (an alignment exists; the heuristic missed it) or ``"unknown"`` (the
        checks ran out of time).
    tightest_tolerance : dict of str to float
        Smallest tolerance per measure (fraction) with the budget and locks as given.
    tightest_tolerance_no_budget : dict of str to float
        The same without the disruption budget.
    tightest_tolerance_no_locks : dict of str to float or None
        The same without locks (``None`` when nothing is locked).
    min_moved : float or None
        Smallest moved share (fraction of accounts or potential) that the requested
        tolerance needs; ``None`` when balancing is impossible at any disruption.
    restricted : bool
        Whether the LPs offered each unit only its nearest territories (large problems).
    exact : bool
        Whether the values are proven optima of integer alignments (small problems);
        otherwise they are LP lower bounds (an integer alignment may need a little more).
    message : str
        The explanation, in words.
    proven_infeasible : bool
        Whether a solver proved that no alignment meets balance, budget and
        locks: the LP relaxation over every unit-territory pair is infeasible,
        or locked units alone exceed the budget. Only then does
        :func:`~spm_model.territory.solve.solve` raise
        :class:`InfeasibleAlignment` on this diagnosis.
    """

    binding: str
    tightest_tolerance: dict[str, float]
    tightest_tolerance_no_budget: dict[str, float]
    tightest_tolerance_no_locks: dict[str, float] | None
    min_moved: float | None
    restricted: bool
    exact: bool
    message: str
    proven_infeasible: bool = False


def _columns(c: Compiled, max_pairs: int) -> tuple[np.ndarray, np.ndarray, bool]:
    if c.n * c.m <= max_pairs:
        cu, ct = candidate_columns(c, k=None)
        return cu, ct, False
    k = max(1, min(c.m, max_pairs // max(c.n, 1)))
    cu, ct = candidate_columns(c, k=k)
    return cu, ct, True


def _solve(cost, A_ub, b_ub, A_eq, ncol_int, lower, upper, integer, time_limit):
    from scipy.optimize import Bounds, LinearConstraint, milp

    integ = np.zeros(len(cost))
    if integer:
        integ[:ncol_int] = 1
    cons = [LinearConstraint(A_ub, -np.inf, b_ub), LinearConstraint(A_eq, 1.0, 1.0)]
    with solver_stdout_silenced():  # HiGHS's stray MIP debug line (see .quiet)
        res = milp(
            cost,
            integrality=integ,
            bounds=Bounds(lower, upper),
            constraints=cons,
            options={"time_limit": time_limit, "mip_rel_gap": 1e-6, "disp": False},
        )
    # status 0: optimal; 1: limit reached (x may hold a feasible point, not proven)
    proven = res.status == 0
    return res, proven


def _scale(
    c: Compiled,
    cu: np.ndarray,
    ct: np.ndarray,
    use_budget: bool,
    integer: bool = False,
    time_limit: float = 10.0,
) -> tuple[float, bool]:
    """Smallest s with |load - target| <= s * tau_k * target for every territory and measure.

    Returns ``(s, proven)``; ``s`` is ``inf`` when no alignment exists at any
    tolerance (the budget cannot be met) and ``proven`` is False when the time
    limit stopped an integer solve (``s`` is then the best found, an upper value).
    """
    units, urow = np.unique(cu, return_inverse=True)
    nu, m, kk = len(units), c.m, c.values.shape[1]
    ncol = len(cu)
    tau = np.where(c.tau > 0, np.minimum(c.tau, 1e6), 1.0)  # a zero tolerance scales like 100%
    A_eq = sp.csr_matrix((np.ones(ncol), (urow, np.arange(ncol))), shape=(nu, ncol + 1))
    r = (ct[:, None] * kk + np.arange(kk)[None, :]).ravel()
    cidx = np.repeat(np.arange(ncol), kk)
    v = c.values[cu].ravel()
    T = c.target.ravel()
    slope = np.tile(tau, m) * T
    # load - slope*s <= T ; -load - slope*s <= -T
    rows = np.r_[r, np.arange(m * kk)]
    cols = np.r_[cidx, np.full(m * kk, ncol)]
    up = sp.csr_matrix((np.r_[v, -slope], (rows, cols)), shape=(m * kk, ncol + 1))
    dn = sp.csr_matrix((np.r_[-v, -slope], (rows, cols)), shape=(m * kk, ncol + 1))
    blocks = [up, dn]
    b = [T, -T]
    # the territories' absolute min_/max_ limits hold whatever the tolerance
    for lim, sign in ((c.limit_hi, 1.0), (c.limit_lo, -1.0)):
        if lim is None or not np.isfinite(lim).any():
            continue
        at = np.flatnonzero(np.isfinite(lim.ravel()))
        keep = np.isin(r, at)
        pos = np.searchsorted(at, r[keep])
        blocks.append(sp.csr_matrix((sign * v[keep], (pos, cidx[keep])), shape=(len(at), ncol + 1)))
        b.append(sign * lim.ravel()[at])
    if use_budget and c.budget is not None:
        sv = c.stay_of(cu, ct)
        blocks.append(sp.csr_matrix(np.r_[-sv, 0.0][None, :]))
        b.append(np.array([-c.min_stay()]))
    cost = np.zeros(ncol + 1)
    cost[-1] = 1.0
    upper = np.r_[np.ones(ncol), np.inf]
    res, proven = _solve(
        cost,
        sp.vstack(blocks).tocsr(),
        np.concatenate(b),
        A_eq,
        ncol,
        np.zeros(ncol + 1),
        upper,
        integer,
        time_limit,
    )
    if res.x is None:
        # infeasible (status 2) at any tolerance, or no answer within the time limit
        return (np.inf if res.status == 2 else np.nan), proven
    return float(res.x[-1]), proven


def _min_moved(
    c: Compiled, cu: np.ndarray, ct: np.ndarray, integer: bool = False, time_limit: float = 10.0
) -> tuple[float | None, bool]:
    """Smallest moved share (fraction) that meets the balance tolerance; ``(share, proven)``."""
    units, urow = np.unique(cu, return_inverse=True)
    nu, m, kk = len(units), c.m, c.values.shape[1]
    ncol = len(cu)
    A_eq = sp.csr_matrix((np.ones(ncol), (urow, np.arange(ncol))), shape=(nu, ncol))
    r = (ct[:, None] * kk + np.arange(kk)[None, :]).ravel()
    cidx = np.repeat(np.arange(ncol), kk)
    v = c.values[cu].ravel()
    A = sp.csr_matrix((v, (r, cidx)), shape=(m * kk, ncol))
    sv = c.stay_of(cu, ct)
    res, proven = _solve(
        -sv,
        sp.vstack([A, -A]).tocsr(),
        np.r_[c.hi.ravel(), -c.lo.ravel()],
        A_eq,
        ncol,
        np.zeros(ncol),
        np.ones(ncol),
        integer,
        time_limit,
    )
    if res.x is None or c.size_total <= 0:
        return None, proven
    return float((c.size_total - sv @ res.x) / c.size_total), proven


def diagnose(
    c: Compiled, max_pairs: int = 2_000_000, exact_pairs: int = 20_000, time_limit: float = 10.0
) -> Diagnosis:
    """Find which constraint makes the alignment infeasible and the tightest feasible values.

    LP relaxations give bounds for any size. When units x territories is at most
    ``exact_pairs`` the same questions are also solved as MIPs (HiGHS, up to
    ``time_limit`` seconds each), so the reported tightest tolerance and smallest
    disruption are those of integer alignments (``exact=True``).

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    max_pairs : int
        Largest number of unit-territory pairs in the LPs; larger problems offer
        each unit only its nearest territories (``restricted=True``).
    exact_pairs : int
        Largest problem solved exactly.
    time_limit : float
        Seconds per exact solve.

    Returns
    -------
    Diagnosis
    """
    cu, ct, restricted = _columns(c, max_pairs)
    exact = not restricted and c.n * c.m <= exact_pairs
    proven = True

    lp_scales: list[float] = []

    def scale(cc: Compiled, u: np.ndarray, t: np.ndarray, budget: bool) -> float:
        nonlocal proven
        s_lp, _ = _scale(cc, u, t, budget)
        lp_scales.append(s_lp)
        if not exact or not np.isfinite(s_lp):
            return s_lp
        s_int, ok = _scale(cc, u, t, budget, integer=True, time_limit=time_limit)
        proven &= ok
        return s_lp if np.isnan(s_int) else s_int

    s_all = scale(c, cu, ct, True)
    s_nobud = scale(c, cu, ct, False) if c.budget is not None else s_all
    s_nolock = None
    if (c.locked >= 0).any():
        free = replace(c, locked=np.full(c.n, -1))
        fu, ft, _ = _columns(free, max_pairs)
        s_nolock = scale(free, fu, ft, True)
    names = c.measures
    tau = np.where(c.tau > 0, np.minimum(c.tau, 1e6), 1.0)

    def tol(s: float) -> dict[str, float]:
        return {k: float(s * t) for k, t in zip(names, tau, strict=True)}

    def fmt(d: dict[str, float]) -> str:
        vals = set(round(v, 6) for v in d.values())
        if len(vals) == 1:
            return f"+/-{next(iter(d.values())):.2%}"
        return ", ".join(f"{k} +/-{v:.2%}" for k, v in d.items())

    asked = {k: float(t) for k, t in zip(names, c.tau, strict=True)}
    basis = "accounts" if c.moved_basis == "accounts" else "potential"
    eps = 1e-7
    min_moved = None
    if s_nobud <= 1 + eps and c.budget is not None:
        min_moved, ok = _min_moved(c, cu, ct, integer=exact, time_limit=time_limit)
        proven &= ok
    how = ("exact MIP" if proven else "best MIP found in the time limit") if exact else "LP bound"
    where = " (LP over each unit's nearest territories)" if restricted else ""
    if np.isnan(s_all) or np.isnan(s_nobud):
        binding = "unknown"
        msg = (
            "the feasibility check did not finish within its time limit; no alignment was found "
            f"for tolerance {fmt(asked)}"
            + ("" if c.budget is None else f" and max_moved {c.max_moved:.1%}")
            + ": allow more time or widen the settings"
        )
    elif not np.isfinite(s_all):
        binding = "disruption budget"
        lk = np.flatnonzero(c.locked >= 0)
        free = np.flatnonzero(c.locked < 0)
        # what must move whatever the balance: locked units sent elsewhere, and the accounts
        # of a family (moved as one) that different territories hold today
        st = c.stay
        best = np.zeros(c.n)
        rows = np.flatnonzero(np.diff(st.indptr) > 0)
        if len(rows):
            best[rows] = np.maximum.reduceat(st.data, st.indptr[rows])
        total = max(c.size_total, 1e-12)
        locked_moves = (
            float(c.size[lk].sum() - c.stay_of(lk, c.locked[lk]).sum()) if len(lk) else 0.0
        )
        split = float(c.size[free].sum() - best[free].sum())
        forced = (locked_moves + split) / total
        parts = []
        if split > 0:
            parts.append(
                f"{split / total:.1%} are in account families that different territories hold "
                "today (a family moves as one)"
            )
        if locked_moves > 0:
            parts.append(f"{locked_moves / total:.1%} are locked to another territory")
        if forced > c.max_moved + 1e-12:
            msg = (
                f"the disruption budget binds: at least {forced:.1%} of {basis} must move ("
                + "; ".join(parts or ["whatever the balance"])
                + f"), above max_moved {c.max_moved:.1%}: allow {np.ceil(forced * 1000) / 10:.1f}% "
                "or more"
            )
        else:
            msg = (
                f"the disruption budget binds: no alignment moves only {c.max_moved:.1%} of "
                f"{basis} (at least {forced:.1%} must move: "
                + "; ".join(parts or ["none whatever the balance"])
                + "); raise "
                "max_moved"
            )
    elif s_all <= 1 + eps and c.edges is not None:
        binding = "contiguity"
        msg = (
            f"balance within {fmt(asked)} is reachable when territories need not be connected "
            f"(it needs {fmt(tol(s_all))}, {how}), but no connected alignment was found: "
            f"contiguity binds; widen the tolerance, allow more time, or check the adjacency "
            f"(isolated units, or units whose only neighbours are locked elsewhere)"
        )
    elif s_all <= 1 + eps:
        if exact:
            binding = "none"
            msg = (
                f"an alignment within {fmt(asked)} exists (the exact check found one needing "
                f"{fmt(tol(s_all))}); the heuristic missed it: use method='mip' or more time"
            )
        else:
            binding = "integrality"
            msg = (
                f"the LP relaxation meets tolerance {fmt(asked)} (it needs {fmt(tol(s_all))}), "
                f"but no integer alignment was found: some units are large compared with the "
                f"tolerance band; widen the tolerance a little or allow more time"
            )
    elif s_nobud <= 1 + eps:
        binding = "disruption budget"
        mm = "unknown" if min_moved is None else f"{min_moved:.1%}"
        msg = (
            f"the disruption budget binds: balancing to {fmt(asked)} moves at least {mm} of "
            f"{basis} ({how}) but max_moved is {c.max_moved:.1%}; with that budget the "
            f"tightest tolerance is {fmt(tol(s_all))}{where}"
        )
    elif s_nolock is not None and s_nolock <= 1 + eps:
        binding = "locked accounts"
        msg = (
            f"locked accounts bind: without locks tolerance {fmt(asked)} is reachable, with them "
            f"the tightest tolerance is {fmt(tol(s_all))} ({how}){where}"
        )
    else:
        binding = "tolerance"
        extra = (
            ""
            if c.budget is None
            else (
                f" even with no disruption budget "
                f"(with max_moved {c.max_moved:.1%}: {fmt(tol(s_all))})"
            )
        )
        msg = (
            f"the balance tolerance binds: {fmt(asked)} is not reachable; the tightest feasible "
            f"tolerance is {fmt(tol(s_nobud))}{extra} ({how}){where}"
        )
    # a proof needs the LP over all pairs (or the locks alone breaking the budget)
    s_all_lp = lp_scales[0]
    proof = binding == "disruption budget" and not np.isfinite(s_all)
    proof |= not restricted and not np.isnan(s_all_lp) and s_all_lp > 1 + eps
    return Diagnosis(
        proven_infeasible=bool(proof),
        binding=binding,
        tightest_tolerance=tol(s_all),
        tightest_tolerance_no_budget=tol(s_nobud),
        tightest_tolerance_no_locks=None if s_nolock is None else tol(s_nolock),
        min_moved=min_moved,
        restricted=restricted,
        exact=exact and proven,
        message=msg,
    )


def raise_infeasible(c: Compiled, context: str = "") -> None:
    """Raise :class:`InfeasibleAlignment` with a diagnosis."""
    d = diagnose(c)
    raise InfeasibleAlignment(f"no feasible alignment{context}: {d.message}", d)


def _half_point_up(x: float) -> float:
    """Round a tolerance (fraction) up to the next half percentage point."""
    return float(np.ceil(x * 200.0 - 1e-9) / 200.0)


def relaxed_tolerance(
    asked: dict[str, float], diagnosis: Diagnosis | None, attempt: int = 0
) -> dict[str, float] | None:
    """Tolerance per measure to try after ``asked`` proved infeasible (``None``: give up).

    The diagnosis's tightest feasible tolerance with the budget and locks as
    given, plus 2% of it (its LP values are lower bounds for an integer
    alignment), rounded up to the next half percentage point and never below
    what was asked; a later ``attempt`` widens by a quarter more. ``None`` when
    the diagnosis has no finite tolerance below 99% (balance is impossible at
    any tolerance with that budget, or there is no diagnosis).
    """
    if diagnosis is None:
        return None
    grow = 1.02 if attempt == 0 else 1.25**attempt
    out = {}
    for k, a in asked.items():
        tight = float(diagnosis.tightest_tolerance.get(k, a))
        if not np.isfinite(tight):
            return None
        out[k] = float(max(a * (1.0 if attempt == 0 else grow), _half_point_up(tight * grow)))
        if out[k] >= 0.99:
            return None
    return out


def solve_relaxing(
    problem: Any, solve_one: Any, error: InfeasibleAlignment, attempts: int = 3, refine: int = 2
):
    """Solve ``problem`` at the tightest tolerance its infeasibility ``error`` says is reachable.

    Parameters
    ----------
    problem : TerritoryProblem
        The problem that proved infeasible.
    solve_one : callable
        ``solve_one(problem) -> AlignmentResult`` (the caller's method, time limit and seed).
    error : InfeasibleAlignment
        What solving ``problem`` raised; its diagnosis gives the first relaxed tolerance.
    attempts : int
        Relaxations to try, each from the last one's diagnosis.
    refine : int
        Unless the diagnosis was exact, halve the interval between the last tolerance
        that failed (at first the one asked) and the feasible one this many times,
        keeping the tightest that solves: a diagnosis cut short by the time limit can
        overshoot, and after a failure the next one often does.

    Returns
    -------
    tuple of (AlignmentResult, dict of str to float) or None
        The result and the tolerance per measure it was solved at (fractions);
        ``None`` when no relaxation was feasible.
    """
    asked = dict(zip(problem.measures, problem.tolerances(), strict=True))
    diagnosis = error.diagnosis
    failed: dict[str, float] | None = None
    for attempt in range(attempts):
        tol = relaxed_tolerance(asked, diagnosis, attempt)
        if tol is None:
            return None
        try:
            best = solve_one(replace(problem, tolerance=tol)), tol
        except InfeasibleAlignment as exc:
            diagnosis = exc.diagnosis or diagnosis
            failed = tol
            continue
        # an exact diagnosis is the optimum: nothing tighter solves; otherwise its value
        # may be a MIP's incumbent cut short by the time limit, or follow a failure
        exact = diagnosis is not None and diagnosis.exact and failed is None
        lo = failed if failed is not None else asked
        for _ in range(0 if exact else refine):
            mid = {k: _half_point_up((lo[k] + best[1][k]) / 2) for k in asked}
            if all(mid[k] >= best[1][k] for k in asked):
                break
            try:
                best = solve_one(replace(problem, tolerance=mid)), mid
            except (InfeasibleAlignment, AlignmentNotFound):
                lo = mid
        return best
    return None
