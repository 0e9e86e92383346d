"""Why an alignment is infeasible, and the tightest settings that are not.

When no alignment meets the balance tolerance, the disruption budget and the
locks together, :func:`diagnose` solves small linear programs (HiGHS through
:func:`scipy.optimize.linprog`) to say which constraint binds and by how much:

* the smallest tolerance scale ``s*`` such that every territory's load lies within
  ``+/- s* tau_k`` of its target (minimise the largest scaled deviation), with and
  without the budget and the locks;
* the smallest disruption (share of accounts or potential moved) that balancing
  to the requested tolerance needs.

These are LP relaxation values, hence *lower bounds*: an integer alignment may
need a little more (large accounts cannot be split).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from spm_model.errors import SpmConfigError
from spm_model.territory.model import candidate_columns
from spm_model.territory.problem import Compiled


class InfeasibleAlignment(SpmConfigError):
    """No alignment meets the constraints; ``diagnosis`` says which binds and by how much."""

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
        alignment hard) or ``"none"``.
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
    message : str
        The explanation, in words.
    """

    binding: str
    tightest_tolerance: dict[str, float]
    tightest_tolerance_no_budget: dict[str, float]
    tightest_tolerance_no_locks: dict[str, float] | None
    min_moved: float | None
    restricted: bool
    message: str


def _columns(c: Compiled, max_pairs: int) -> tuple[np.ndarray, np.ndarray, bool]:
    if c.n * c.m <= max_pairs:
        cu, ct = candidate_columns(c, k=None)
        return cu, ct, False
    k = max(1, min(c.m, max_pairs // max(c.n, 1)))
    cu, ct = candidate_columns(c, k=k)
    return cu, ct, True


def _scale_lp(c: Compiled, cu: np.ndarray, ct: np.ndarray, use_budget: bool) -> float:
    """Smallest s with |load - target| <= s * tau_k * target for all territories, measures."""
    from scipy.optimize import linprog

    units, urow = np.unique(cu, return_inverse=True)
    nu, m, kk = len(units), c.m, c.values.shape[1]
    ncol = len(cu)
    tau = np.where(c.tau > 0, c.tau, 1.0)  # a zero tolerance scales like 100%
    A_eq = sp.csr_matrix((np.ones(ncol), (urow, np.arange(ncol))), shape=(nu, ncol + 1))
    r = (ct[:, None] * kk + np.arange(kk)[None, :]).ravel()
    cidx = np.repeat(np.arange(ncol), kk)
    v = c.values[cu].ravel()
    T = c.target.ravel()
    slope = np.tile(tau, m) * T
    # load - slope*s <= T ; -load - slope*s <= -T
    up = sp.csr_matrix(
        (np.r_[v, -slope], (np.r_[r, np.arange(m * kk)], np.r_[cidx, np.full(m * kk, ncol)])),
        shape=(m * kk, ncol + 1),
    )
    dn = sp.csr_matrix(
        (np.r_[-v, -slope], (np.r_[r, np.arange(m * kk)], np.r_[cidx, np.full(m * kk, ncol)])),
        shape=(m * kk, ncol + 1),
    )
    blocks = [up, dn]
    b = [T, -T]
    if use_budget and c.budget is not None:
        sv = c.stay_of(cu, ct)
        blocks.append(sp.csr_matrix(np.r_[-sv, 0.0][None, :]))
        b.append(np.array([-c.min_stay()]))
    cost = np.zeros(ncol + 1)
    cost[-1] = 1.0
    res = linprog(
        cost,
        A_ub=sp.vstack(blocks).tocsr(),
        b_ub=np.concatenate(b),
        A_eq=A_eq,
        b_eq=np.ones(nu),
        bounds=(0, None),
        method="highs",
    )
    return float(res.x[-1]) if res.status == 0 else np.inf


def _min_moved_lp(c: Compiled, cu: np.ndarray, ct: np.ndarray) -> float | None:
    """Smallest moved share (fraction) that meets the balance tolerance, by LP."""
    from scipy.optimize import linprog

    units, urow = np.unique(cu, return_inverse=True)
    nu, m, kk = len(units), c.m, c.values.shape[1]
    ncol = len(cu)
    A_eq = sp.csr_matrix((np.ones(ncol), (urow, np.arange(ncol))), shape=(nu, ncol))
    r = (ct[:, None] * kk + np.arange(kk)[None, :]).ravel()
    cidx = np.repeat(np.arange(ncol), kk)
    v = c.values[cu].ravel()
    A = sp.csr_matrix((v, (r, cidx)), shape=(m * kk, ncol))
    sv = c.stay_of(cu, ct)
    res = linprog(
        -sv,
        A_ub=sp.vstack([A, -A]).tocsr(),
        b_ub=np.r_[c.hi.ravel(), -c.lo.ravel()],
        A_eq=A_eq,
        b_eq=np.ones(nu),
        bounds=(0, 1),
        method="highs",
    )
    if res.status != 0 or c.size_total <= 0:
        return None
    return float((c.size_total + res.fun) / c.size_total)


def diagnose(c: Compiled, max_pairs: int = 2_000_000) -> Diagnosis:
    """Find which constraint makes the alignment infeasible and the tightest feasible values.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    max_pairs : int
        Largest number of unit-territory pairs in the LPs; larger problems offer
        each unit only its nearest territories (``restricted=True``).

    Returns
    -------
    Diagnosis
    """
    cu, ct, restricted = _columns(c, max_pairs)
    s_all = _scale_lp(c, cu, ct, use_budget=True)
    s_nobud = _scale_lp(c, cu, ct, use_budget=False) if c.budget is not None else s_all
    s_nolock = None
    if (c.locked >= 0).any():
        free = replace(c, locked=np.full(c.n, -1))
        fu, ft, _ = _columns(free, max_pairs)
        s_nolock = _scale_lp(free, fu, ft, use_budget=True)
    names = c.measures
    tau = np.where(c.tau > 0, c.tau, 1.0)

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
        min_moved = _min_moved_lp(c, cu, ct)
    where = " (LP over each unit's nearest territories)" if restricted else ""
    if not np.isfinite(s_all):
        binding = "disruption budget"
        lk = np.flatnonzero(c.locked >= 0)
        forced = float(c.size[lk].sum() - c.stay_of(lk, c.locked[lk]).sum()) if len(lk) else 0.0
        msg = (
            f"the disruption budget binds: locked accounts alone must move "
            f"{forced / max(c.size_total, 1e-12):.1%} of {basis} or more, above max_moved "
            f"{c.max_moved:.1%}"
        )
    elif s_all <= 1 + eps:
        binding = "integrality"
        msg = (
            f"the LP relaxation meets tolerance {fmt(asked)} (it needs {fmt(tol(s_all))}), but no "
            f"integer alignment was found: some units are large compared with the tolerance band; "
            f"widen the tolerance a little or allow more time"
        )
    elif s_nobud <= 1 + eps:
        binding = "disruption budget"
        mm = "unknown" if min_moved is None else f"{min_moved:.1%}"
        msg = (
            f"the disruption budget binds: balancing to {fmt(asked)} moves at least {mm} of "
            f"{basis} (LP bound) but max_moved is {c.max_moved:.1%}; with that budget the "
            f"tightest tolerance is {fmt(tol(s_all))}{where}"
        )
    elif s_nolock is not None and s_nolock <= 1 + eps:
        binding = "locked accounts"
        msg = (
            f"locked accounts bind: without locks tolerance {fmt(asked)} is reachable, with them "
            f"the tightest tolerance is {fmt(tol(s_all))}{where}"
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
            f"tolerance is {fmt(tol(s_nobud))}{extra} (LP bound){where}"
        )
    return Diagnosis(
        binding=binding,
        tightest_tolerance=tol(s_all),
        tightest_tolerance_no_budget=tol(s_nobud),
        tightest_tolerance_no_locks=None if s_nolock is None else tol(s_nolock),
        min_moved=min_moved,
        restricted=restricted,
        message=msg,
    )


def raise_infeasible(c: Compiled, context: str = "") -> None:
    """Raise :class:`InfeasibleAlignment` with a diagnosis."""
    d = diagnose(c)
    raise InfeasibleAlignment(f"no feasible alignment{context}: {d.message}", d)
