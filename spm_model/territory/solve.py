"""Solve an alignment: the exact MIP, the scalable heuristic, or both (``method="auto"``).

``solve`` returns an :class:`AlignmentResult` holding the alignment, its
objective, a lower bound on the optimum and the relative gap between them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from spm_model.territory.diagnose import AlignmentNotFound, InfeasibleAlignment, diagnose
from spm_model.territory.metrics import compare_alignments, territory_table
from spm_model.territory.model import build_and_solve, candidate_columns
from spm_model.territory.problem import Compiled, TerritoryProblem, band_text

Method = Literal["auto", "mip", "heuristic"]


class _HeuristicFailed(Exception):
    """The heuristic found no feasible alignment (not a proof of infeasibility)."""


@dataclass
class AlignmentResult:
    """An optimised alignment with its quality certificate.

    Attributes
    ----------
    problem : TerritoryProblem
        The inputs.
    method : str
        ``"mip"``, ``"heuristic"`` or ``"heuristic+mip"``.
    status : str
        ``"optimal"`` (gap within target), ``"feasible"`` (time limit, gap reported).
    assign : ndarray of int
        Territory index per original unit (positions into ``territory_ids``).
    objective : float
        Objective value (km-weighted travel plus disruption penalty).
    lower_bound : float
        Valid lower bound on the optimal objective.
    gap : float
        ``(objective - lower_bound) / objective``, fraction.
    seconds : float
        Wall time.
    log : list of dict
        One entry per stage: stage, seconds, objective, bound.
    gap_target : float
        The gap at which the solve stopped (fraction); ``status`` is
        ``"optimal"`` when ``gap <= gap_target``.
    notes : list of str
        What the bound and the status refer to (e.g. that the bound ignores
        contiguity, or that centres were fixed), in words.
    centres_chosen : bool
        The territories' homes were chosen by the search itself
        (:func:`~spm_model.territory.districts.design_districts`): the bound
        holds for those centres only, and ``status`` is never ``"optimal"``.
    """

    problem: TerritoryProblem
    method: str
    status: str
    assign: np.ndarray
    objective: float
    lower_bound: float
    gap: float
    seconds: float
    log: list[dict] = field(default_factory=list)
    gap_target: float = 1e-3
    notes: list[str] = field(default_factory=list)
    centres_chosen: bool = False

    @property
    def compiled(self) -> Compiled:
        """The compiled problem."""
        return self.problem.compile()

    @property
    def alignment(self) -> pd.DataFrame:
        """One row per unit: unit_id, territory_id, current, moved."""
        c = self.compiled
        cur = np.where(c.current0 >= 0, c.territory_ids[np.maximum(c.current0, 0)], None)
        new = c.territory_ids[self.assign]
        return pd.DataFrame(
            {
                "unit_id": c.unit_ids,
                "territory_id": new,
                "current": cur,
                "moved": (c.current0 >= 0) & (self.assign != c.current0),
            }
        )

    def metrics(self) -> pd.DataFrame:
        """Before/after metrics table (rows: metrics; columns: before, after)."""
        c = self.compiled
        return compare_alignments(c, {"before": c.current0, "after": self.assign})

    def territories(self, which: Literal["after", "before"] = "after") -> pd.DataFrame:
        """Per-territory table of the new (or current) alignment."""
        c = self.compiled
        return territory_table(c, self.assign if which == "after" else c.current0)

    def to_assignments(
        self,
        assignments: pd.DataFrame,
        effective_date: object,
        unit_to_accounts: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Return the new effective-dated assignments table.

        See :func:`spm_model.territory.output.to_assignments`.
        """
        from spm_model.territory.output import to_assignments

        owners = self.alignment.set_index("unit_id")["territory_id"]
        if unit_to_accounts is not None:
            m = unit_to_accounts.assign(rep_id=unit_to_accounts["unit_id"].map(owners))
            owners = m.set_index("account_id")["rep_id"]
        return to_assignments(assignments, owners, effective_date)

    def plot(self, ax=None, **kw):
        """Map of the alignment; see :func:`spm_model.territory.plot.plot_alignment`."""
        from spm_model.territory.plot import plot_alignment

        return plot_alignment(self.compiled, self.assign, ax=ax, **kw)

    def objective_terms(self) -> str:
        """Describe the objective that was minimised, in words with its units."""
        c = self.compiled
        parts = []
        if c.travel_weight > 0:
            w = "" if c.travel_weight == 1 else f"{c.travel_weight:g} x "
            parts.append(f"{w}travel ({c.distance_unit}, unit to home)")
        if c.compactness_weight > 0:
            w = "" if c.compactness_weight == 1 else f"{c.compactness_weight:g} x "
            parts.append(f"{w}squared distance to the centre ({c.distance_unit}^2)")
        if c.disruption_weight > 0:
            w = "" if c.disruption_weight == 1 else f"{c.disruption_weight:g} x "
            basis = (
                "accounts" if c.moved_basis == "accounts" else f"{c.moved_basis} (as average units)"
            )
            parts.append(f"{w}moved {basis}")
        return " + ".join(parts) if parts else "zero (feasibility only)"

    def bound_statement(self) -> str:
        """Say in words what the objective, the bound and the gap mean for this result."""
        c = self.compiled
        stages = {e["stage"] for e in self.log}
        if "mip" in self.method and "mip" in stages:
            how = "HiGHS branch-and-bound dual bound"
        elif "lagrangian_bound" in stages:
            rows = "balance and budget rows" if c.budget is not None else "balance rows"
            how = (
                f"Lagrangian bound: {rows} relaxed with multipliers (from a smoothed dual "
                "ascent and the duals of an LP over priced columns), the relaxed problem "
                "solved exactly over every unit-territory pair"
            )
        else:
            how = "Lagrangian bound from the LP relaxation (column generation)"
        if not np.isfinite(self.lower_bound):
            lines = [
                f"Objective {self.objective:,.2f} = {self.objective_terms()}.",
                "No lower bound was obtained, so the distance to the optimum is unknown.",
            ]
        elif self.centres_chosen:
            lines = [
                f"Objective {self.objective:,.2f} = {self.objective_terms()}.",
                f"Lower bound {self.lower_bound:,.2f} ({how}) for these centres: no alignment "
                "around the same centres meeting the same constraints scores below it, so this "
                f"one is at most {self.gap:.2%} above the best around them.",
                "The centres were chosen by location-allocation, a local search that carries no "
                "bound: districts around other centres may score lower, so the design is not "
                "proven optimal (more restarts search more centres).",
            ]
        else:
            lines = [
                f"Objective {self.objective:,.2f} = {self.objective_terms()}.",
                f"Lower bound {self.lower_bound:,.2f} ({how}): no alignment meeting the same "
                f"constraints scores below it, so this one is at most {self.gap:.2%} above the "
                "best possible.",
            ]
            if self.gap <= GAP_NOISE:
                lines.append("The gap is zero: proven optimal for the model solved.")
            elif self.gap <= self.gap_target:
                lines.append(
                    f"That is within the gap target of {self.gap_target:.2%}, so the search "
                    "stopped there (optimal within that tolerance)."
                )
            else:
                lines.append(
                    f"The time limit ended the search above the {self.gap_target:.2%} gap "
                    "target: a better alignment may exist, by at most the gap."
                )
        cons = [
            "balance "
            + ", ".join(f"{k}: {band_text(t)}" for k, t in zip(c.measures, c.tau, strict=True))
        ]
        if c.budget is not None:
            cons.append(f"at most {c.max_moved:.1%} of {c.moved_basis} moved")
        if (c.locked >= 0).any():
            cons.append(f"{int((c.locked >= 0).sum())} locked unit(s)")
        if c.edges is not None:
            cons.append("connected territories")
        lines.append("Model solved: " + "; ".join(cons) + ".")
        lines.extend(self.notes)
        return "\n".join(lines)

    def summary(self) -> str:
        """Return a short report: method, objective, bound, gap and the before/after table."""
        m = self.metrics()
        head = (
            f"Territory alignment ({self.method}, {self.status}): {self.compiled.n} units into "
            f"{self.compiled.m} territories in {self.seconds:.1f} s\n"
            f"objective {self.objective:,.1f}  lower bound {self.lower_bound:,.1f}  "
            f"gap {self.gap:.2%}\n"
        )
        return (
            head + self.bound_statement() + "\n" + m.to_string(float_format=lambda v: f"{v:,.3f}")
        )

    def __repr__(self) -> str:
        return (
            f"AlignmentResult(method={self.method!r}, status={self.status!r}, "
            f"objective={self.objective:,.1f}, gap={self.gap:.2%}, seconds={self.seconds:.1f})"
        )


#: A gap this small is rounding in the objective's recomputation (the solver's bound and our
#: sum of costs differ by a few ulp at a proven optimum), not distance to the optimum.
GAP_NOISE = 1e-9


def _gap(obj: float, lb: float) -> float:
    if not np.isfinite(lb):
        return float("nan")
    return float(max(0.0, obj - lb) / max(abs(obj), 1e-12))


def solve(
    problem: TerritoryProblem,
    method: Method = "auto",
    time_limit: float = 60.0,
    gap_target: float = 1e-3,
    k: int = 8,
    seed: int = 0,
    mip_max_pairs: int = 50_000,
    verbose: bool = False,
) -> AlignmentResult:
    """Find a balanced, compact, low-disruption alignment.

    Methods
    -------
    ``"mip"``
        Exact mixed-integer program (every unit-territory pair a binary; flow
        constraints for contiguity) solved by HiGHS branch-and-cut until
        ``gap_target`` or ``time_limit``. Guarantee: the reported gap is HiGHS'
        proven gap between incumbent and dual bound.
    ``"heuristic"``
        LP relaxation by column generation + Lagrangian lower bound, rounding
        and repair by moves, swaps and elastic sub-MIPs, local search, then
        large-neighbourhood search (see :mod:`spm_model.territory.heuristic`).
        Above ``LAGRANGIAN_PAIRS`` (3 million) unit-territory pairs the LP
        starts from the columns of least Lagrangian reduced cost, priced over
        every pair with multipliers from a smoothed dual ascent
        (:mod:`spm_model.territory.lagrange`), stops pricing once within half
        the gap target of the bound, and large-neighbourhood search replaces
        the all-unit sub-MIP; the bound is the better of the two Lagrangian
        bounds, both exact over all pairs. Guarantee: feasible if returned,
        gap against a valid lower bound, no a-priori ratio.
    ``"auto"``
        The heuristic, then (when units x territories <= ``mip_max_pairs``) the
        MIP warm-started with its alignment for the remaining time; the better
        alignment and the best bound are reported.

    Parameters
    ----------
    problem : TerritoryProblem
        Inputs.
    method : {"auto", "mip", "heuristic"}
        Solver.
    time_limit : float
        Seconds for the whole solve (the LP bound always completes).
    gap_target : float
        Stop when the relative gap is at most this (fraction).
    k : int
        Candidate territories per unit in the heuristic's LP.
    seed : int
        Seed of the randomised search steps.
    mip_max_pairs : int
        Largest units x territories for which ``"auto"`` runs the MIP.
    verbose : bool
        Print the HiGHS log.

    Returns
    -------
    AlignmentResult

    Raises
    ------
    InfeasibleAlignment
        When no alignment meets the constraints; the message names the binding
        constraint and the tightest feasible tolerance or budget.
    """
    t0 = time.perf_counter()
    c = problem.compile()
    if method not in ("auto", "mip", "heuristic"):
        from spm_model.errors import SpmConfigError

        raise SpmConfigError(f"method must be 'auto', 'mip' or 'heuristic', got {method!r}")
    log: list[dict] = []
    notes: list[str] = []
    best: np.ndarray | None = None
    lb = -np.inf
    used = []
    failed = ""
    if method in ("auto", "heuristic"):
        share = 1.0 if method == "heuristic" or c.n * c.m > mip_max_pairs else 0.5
        try:
            best, lb = _heuristic(c, time_limit * share, gap_target, k, seed, log, verbose=verbose)
        except _HeuristicFailed as exc:
            failed = str(exc)  # not a proof: the MIP below gets the remaining time
        if best is not None:
            used.append("heuristic")
    left = time_limit - (time.perf_counter() - t0)
    run_mip = method == "mip" or (
        method == "auto"
        and c.n * c.m <= mip_max_pairs
        and (best is None or _gap(c.objective(best), lb) > gap_target)
    )
    # the heuristic found nothing: hand the whole problem to the MIP while time remains
    run_mip |= best is None and c.n * c.m <= _FALLBACK_MAX_PAIRS and left > 0.5
    if run_mip:
        a_mip, mip_lb = _mip(c, max(left, 1.0), gap_target, best, log, verbose)
        lb = max(lb, mip_lb)
        if a_mip is not None and (best is None or c.objective(a_mip) < c.objective(best) - 1e-9):
            best = a_mip
        used.append("mip")
    if best is None:
        d = diagnose(c, time_limit=_diag_time(time_limit))
        if d.proven_infeasible:
            raise InfeasibleAlignment(f"no feasible alignment: {d.message}", d)
        raise AlignmentNotFound(
            "no feasible alignment found in "
            f"{time.perf_counter() - t0:.0f} s, and none was proven impossible"
            + (f" ({failed})" if failed else "")
            + f"; the LP checks say: {d.message}",
            d,
        )
    if c.edges is not None:
        notes.append(
            "The bound comes from a relaxation without contiguity"
            + (" unless the MIP proved it" if "mip" in used else "")
            + ", so the true gap may be smaller than stated."
            if "mip" not in used
            else "The MIP models contiguity exactly (each territory's root is chosen by the "
            "model, or is a locked unit), so its bound and gap refer to the connected model."
        )
    obj = c.objective(best)
    gap = _gap(obj, lb)
    return AlignmentResult(
        problem=problem,
        method="+".join(used),
        status="optimal" if gap <= gap_target + GAP_NOISE else "feasible",
        assign=c.expand(best),
        objective=obj,
        lower_bound=float(lb),
        gap=gap,
        seconds=time.perf_counter() - t0,
        log=log,
        gap_target=gap_target,
        notes=notes,
    )


LAGRANGIAN_PAIRS = 3_000_000
"""Above this many units x territories the heuristic's LP starts from Lagrangian-priced columns."""

_FALLBACK_MAX_PAIRS = 2_000_000
"""Largest units x territories handed to the full MIP when the heuristic finds nothing."""


def _diag_time(time_limit: float) -> float:
    """Seconds per exact check of the infeasibility diagnosis, scaled to the solve's limit."""
    return float(min(10.0, max(1.0, time_limit / 4)))


def _coarse_eps(c: Compiled) -> tuple[float, ...]:
    """Smoothing levels for the Lagrangian warm start: 2%, 0.5% and 0.1% of the mean least cost."""
    base = max(abs(float(np.mean(c.cost.min(axis=1)))), 1e-9) if c.n else 1.0
    return (0.02 * base, 0.005 * base, 0.001 * base)


def _stage(log: list[dict], stage: str, t: float, obj: float, bound: float, **extra) -> None:
    log.append(
        {
            "stage": stage,
            "seconds": round(time.perf_counter() - t, 3),
            "objective": obj,
            "bound": bound,
            **extra,
        }
    )


def _heuristic(
    c: Compiled,
    time_limit: float,
    gap_target: float,
    k: int,
    seed: int,
    log: list[dict],
    verbose: bool = False,
) -> tuple[np.ndarray, float]:
    from spm_model.territory.heuristic import (
        lns_improve,
        lp_bound,
        reduced_cost_mip,
        round_and_repair,
    )
    from spm_model.territory.repair import improve_local

    t0 = time.perf_counter()
    columns = None
    lagr_lb = -np.inf
    if c.n * c.m > LAGRANGIAN_PAIRS and c.m > 1:
        # large: price every pair with Lagrangian multipliers first, so the LP starts
        # from the columns that matter (nearest by cost is a poor guess under a budget)
        from spm_model.territory.lagrange import lagrangian_candidates, lagrangian_dual

        dual = lagrangian_dual(c, time_limit=0.15 * time_limit, eps_levels=_coarse_eps(c))
        _stage(log, "lagrangian_bound", t0, np.nan, dual.bound, evaluations=dual.evaluations)
        lagr_lb = dual.bound
        _, _, cu0, ct0 = lagrangian_candidates(c, dual, k=max(k // 2, 3))
        columns = (cu0, ct0)
    t = time.perf_counter()
    lp = lp_bound(
        c,
        k=k,
        time_limit=max(time_limit * 0.5, 5.0),
        columns=columns,
        stop_gap=gap_target / 2 if columns is not None else 0.0,
    )
    lp.lower_bound = max(lp.lower_bound, lagr_lb)
    _stage(
        log, "lp_bound", t, lp.lp_objective, lp.lower_bound, rounds=lp.rounds, columns=lp.columns
    )
    if lp.x is None:
        d = diagnose(c, time_limit=_diag_time(time_limit))
        if d.proven_infeasible:
            raise InfeasibleAlignment(f"no feasible alignment: {d.message}", d)
        raise _HeuristicFailed(f"the LP relaxation stopped with status {lp.status}")
    t = time.perf_counter()
    left = time_limit - (t - t0)
    a, viol = round_and_repair(c, lp, time_limit=max(left * 0.5, 5.0), k=k, seed=seed)
    _stage(
        log,
        "round_repair",
        t,
        c.objective(a) if a is not None else np.nan,
        lp.lower_bound,
        violation=viol,
    )
    if a is None or not c.is_feasible(a):
        worst = c.violation(a) if a is not None else {}
        raise _HeuristicFailed(
            f"no feasible alignment found by the heuristic (best found exceeds the balance band by "
            f"{worst.get('balance', float('nan')):.2%} of a target and the budget by "
            f"{worst.get('budget', float('nan')):.2%})"
        )
    pu, pt = candidate_columns(c, k=min(k, c.m), extra=(lp.cu, lp.ct))
    t = time.perf_counter()
    a = improve_local(c, a, pu, pt, time_limit=max((time_limit - (t - t0)) * 0.3, 2.0))
    _stage(log, "local_search", t, c.objective(a), lp.lower_bound)
    if c.edges is not None:
        t = time.perf_counter()
        a = _contiguous(c, a, t0 + time_limit, seed, log, lp.lower_bound)
        return a, lp.lower_bound
    t = time.perf_counter()
    left = time_limit - (t - t0)
    # one MIP over every unit: useful at moderate sizes; on 50,000 x 300 it found nothing in
    # 160 s while neighbourhood sub-MIPs kept improving, so large problems go to LNS directly
    if columns is None and left > 1.0 and _gap(c.objective(a), lp.lower_bound) > gap_target:
        a = reduced_cost_mip(c, lp, a, time_limit=left * 0.6, gap_target=gap_target)
        _stage(log, "reduced_cost_mip", t, c.objective(a), lp.lower_bound)
    t = time.perf_counter()
    left = time_limit - (t - t0)
    if left > 0.5 and _gap(c.objective(a), lp.lower_bound) > gap_target:
        a, n_imp = lns_improve(
            c,
            a,
            lp.lower_bound,
            time_limit=left,
            gap_target=gap_target,
            k=k,
            seed=seed,
            sub_time=min(3.0, left),
            lns_territories=3,
        )
        _stage(log, "lns", t, c.objective(a), lp.lower_bound, improvements=n_imp)
    return a, lp.lower_bound


def _contiguous(
    c: Compiled, a: np.ndarray, deadline: float, seed: int, log: list[dict], bound: float
) -> np.ndarray:
    """Make a feasible alignment connected, or raise :class:`_HeuristicFailed` at the deadline.

    1. Hand disconnected pieces to a neighbour and run the contiguity-keeping
       local search; restart from the repaired alignment with other seeds and
       a growing penalty while that fails.
    2. Neighbourhood MIPs: free every unit of the territories that are
       disconnected or off balance plus their nearest territories (a growing
       set, ending with all territories) and solve that part exactly with
       contiguity flows and elastic balance, keeping the rest fixed.
    Failing all this is not a proof; the caller hands the problem to the full MIP.
    """
    from spm_model.territory.contiguity import (
        contiguity_violations,
        contiguous_local_search,
        repair_contiguity,
    )
    from spm_model.territory.heuristic import _territory_proximity

    assert c.edges is not None
    t = time.perf_counter()

    def ok(x: np.ndarray) -> bool:
        return contiguity_violations(c.edges, x, c.m) == 0 and c.is_feasible(x)

    base = repair_contiguity(c, a)
    best = base
    penalty = 1e3 * (c.objective(a) / max(c.m, 1) + 1.0)
    tries = 0
    while time.perf_counter() < deadline:
        budget = max(0.3 * (deadline - time.perf_counter()), 0.5)
        cand = contiguous_local_search(
            c, best, time_limit=budget, seed=seed + tries, penalty=penalty
        )
        cand = repair_contiguity(c, cand)
        tries += 1
        if ok(cand):
            _stage(log, "contiguity", t, c.objective(cand), bound, restarts=tries)
            return cand
        best = cand
        penalty *= 10
        if tries >= 3:
            break
    # neighbourhood MIPs around the trouble spots
    near = _territory_proximity(c, best)
    size = 2
    sub_pen = 1e3 * (abs(c.objective(best)) / max(c.m, 1) + 1.0)
    while time.perf_counter() < deadline - 0.2:
        ld = c.loads(best)
        bad = (ld > c.hi * (1 + 1e-9)) | (ld < c.lo * (1 - 1e-9))
        pieces = _pieces(c, best)
        trouble = np.flatnonzero(bad.any(axis=1) | (pieces > 1))
        if not len(trouble):
            trouble = np.arange(c.m)
        nb = np.unique(np.concatenate([np.argsort(near[x])[:size] for x in trouble]))
        free = np.flatnonzero(np.isin(best, nb))
        fu = np.repeat(free, len(nb))
        ft = np.tile(nb, len(free))
        lk = c.locked[fu]
        keep = (lk < 0) | (lk == ft)
        fu, ft = fu[keep], ft[keep]
        out = build_and_solve(
            c,
            fu,
            ft,
            integer=True,
            fixed=best,
            slack_penalty=sub_pen,
            contiguity=True,
            time_limit=max(min(deadline - time.perf_counter(), 30.0), 0.2),
            mip_rel_gap=1e-2,
            start=(ft == best[fu]).astype(float) if pieces.max() <= 1 else None,
        )
        if out.x is not None:
            cand = best.copy()
            sel = out.x > 0.5
            cand[fu[sel]] = ft[sel]
            if contiguity_violations(c.edges, cand, c.m) == 0:
                best = cand
                if ok(best):
                    _stage(log, "contiguity_mip", t, c.objective(best), bound, territories=len(nb))
                    return best
        if len(nb) >= c.m:
            break
        size *= 2
    nv = contiguity_violations(c.edges, best, c.m)
    v = c.violation(best)
    _stage(log, "contiguity", t, c.objective(best), bound, contiguity_violations=nv)
    raise _HeuristicFailed(
        f"the heuristic found no connected alignment in its time ({nv} disconnected piece(s), "
        f"balance excess {v['balance']:.2%} of a target)"
    )


def _pieces(c: Compiled, a: np.ndarray) -> np.ndarray:
    from spm_model.territory.contiguity import territory_components

    assert c.edges is not None
    return territory_components(c.edges, a, c.m)


def _mip(
    c: Compiled,
    time_limit: float,
    gap_target: float,
    start: np.ndarray | None,
    log: list[dict],
    verbose: bool,
) -> tuple[np.ndarray | None, float]:
    t = time.perf_counter()
    cu, ct = candidate_columns(c, k=None)
    x0 = None if start is None else (ct == start[cu]).astype(float)
    out = build_and_solve(
        c,
        cu,
        ct,
        integer=True,
        contiguity=c.edges is not None,
        time_limit=time_limit,
        mip_rel_gap=gap_target,
        start=x0,
        verbose=verbose,
    )
    _stage(log, "mip", t, out.objective, out.bound, status=out.status, gap=out.gap)
    if out.x is None:
        if out.status == "Infeasible":
            d = diagnose(c, time_limit=_diag_time(time_limit))
            what = " with connected territories" if c.edges is not None else ""
            raise InfeasibleAlignment(
                f"no feasible alignment{what} (the MIP proved it infeasible): {d.message}", d
            )
        return None, out.bound if np.isfinite(out.bound) else -np.inf
    a = np.full(c.n, -1)
    sel = out.x > 0.5
    a[cu[sel]] = ct[sel]
    return a, out.bound
