"""Set quotas: method basis -> adjustments -> top-down allocation -> phasing.

:func:`set_quotas` is the one call analysts make. For each measure:

1. the method's full-capacity annual basis per rep (reps without one fall back to
   the capacity method, i.e. peers' productivity, and are reported);
2. the **seat weight** ``basis x FTE`` (the territory for the whole year) and the
   **rep weight** ``basis x FTE x capacity share``, where the capacity share is
   the season-weighted mean over plan months of employed fraction x leave x
   new-hire ramp (and, for potential-based methods, the monthly territory
   potential, so mid-year moves prorate). The difference (months before a hire
   or after a leaver, leave, ramp relief) is carried per team as an
   ``unassigned`` line;
3. with a ``target``: company -> region -> team -> rep (plus each team's
   unassigned line) with over-assignment and largest-remainder rounding to whole
   units, reconciling exactly at every level; without one, bottom-up: the
   company total is the sum of seat weights;
4. every annual amount is phased into months by learnt seasonality x capacity
   (largest remainder again, so months sum to the year exactly), then to the
   requested period length.

Money is in whole currency units (counts for ``meetings``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.quota.allocation import (
    Allocation,
    allocate,
    largest_remainder_grouped,
    parse_over_assign,
    round_half_up,
    total_over_assign,
)
from spm_model.quota.history import QuotaHistory, _month_label, build_history
from spm_model.quota.methods import CapacityBased, Probabilistic, QuotaMethod, make_method
from spm_model.quota.predictive import attainment_chance, staying_share

UNASSIGNED = "(unassigned)"
FREQS = ("month", "quarter", "year")


def percent_text(x: float) -> str:
    """Format a fraction as a percentage to 0.01 point, rounded to 1e-9 first.

    Two computations of one value then read alike: +21.275% met exactly
    (2,425,500 / 2,000,000 - 1) and asked (1.05 x 1.05 x 1.1 - 1) differ in the
    last bits, and printed straight they read 21.27% and 21.28%.
    """
    return f"{round(float(x), 9):.2%}"


@dataclass
class QuotaResult:
    """Quotas for one fiscal year, with everything needed to defend them.

    Attributes
    ----------
    quotas : DataFrame
        Canonical ``quotas`` table: ``rep_id, period, measure, amount`` (whole
        currency units), ready for ``calc`` and ``simulate``.
    annual : DataFrame
        Per (rep, measure): ``basis`` (full capacity, currency per year),
        ``source`` (method or fallback), ``fte``, ``capacity_share`` (fraction of a
        full year), ``seat_weight``, ``weight``, ``annual`` (whole units),
        ``potential`` (average owned, currency per year), ``last_year_actual``,
        ``p_attain`` (stated chance of reaching the annual quota under the
        history-based predictive distribution, :func:`attainment_chance`, with the
        plan-year share of a full year the rep is expected to sell: the ramp the
        history shows, :attr:`QuotaHistory.productivity`, not the quota ramp).
    unassigned : DataFrame
        ``region, team, measure, period, amount``: vacancy and relief quota per team.
    allocation : DataFrame
        Target vs assigned per level and node (see :class:`Allocation`), with ``measure``.
    monthly : DataFrame
        Every line (reps and unassigned) by plan month, long form.
    notes : list of str
        Fallbacks and inferences, in words.
    over_assign : dict str -> float
        Over-assignment fraction applied at each level (region, team, rep) to
        measures with a target.
    over_assign_per_level : bool
        True when the per-level fractions were given explicitly (they compound);
        False when one total was asked and split across levels.
    chance : dict str -> float
        Probabilistic method: the common chance of attainment per measure
        (the aim, or with a target the chance at which quotas sum to it).
    """

    year: int
    freq: str
    quotas: pd.DataFrame
    annual: pd.DataFrame
    unassigned: pd.DataFrame
    allocation: pd.DataFrame
    monthly: pd.DataFrame
    method: QuotaMethod
    history: QuotaHistory
    targets: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    over_assign: dict[str, float] = field(default_factory=dict)
    over_assign_per_level: bool = False
    chance: dict[str, float] = field(default_factory=dict)
    targeted: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        """True when every allocation node's children sum exactly to its amount to assign."""
        inner = self.allocation[self.allocation["level"] != "rep"]
        return bool((inner["difference"] == 0).all())

    def summary(self) -> pd.DataFrame:
        """Per measure: target, assigned, unassigned, reps, over-assignment asked and achieved.

        ``over_assignment`` is the effective total: (rep quotas + vacancy lines) /
        company target - 1 (fraction); ``over_assign_asked`` the total asked
        (compounded when given per level); ``chance`` the probabilistic
        method's common chance of attainment (fraction).
        """
        a = self.annual.groupby("measure").agg(
            reps=("rep_id", "nunique"), assigned=("annual", "sum")
        )
        u = self.unassigned.groupby("measure")["amount"].sum().rename("unassigned")
        out = a.join(u).fillna({"unassigned": 0}).astype({"unassigned": np.int64})
        comp = self.allocation[self.allocation["level"] == "company"].set_index("measure")["target"]
        out["company_target"] = comp.reindex(out.index)
        out["over_assignment"] = (out["assigned"] + out["unassigned"]) / out["company_target"] - 1
        asked = total_over_assign(self.over_assign) if self.over_assign else 0.0
        out["over_assign_asked"] = [asked if m in self.targeted else 0.0 for m in out.index]
        if self.chance:
            out["chance"] = [self.chance.get(str(m), np.nan) for m in out.index]
        return out.reset_index()

    def over_assignment_text(self) -> list[str]:
        """One line per measure with a target: asked and effective total over-assignment."""
        s = self.summary()
        lines = []
        for r in s.itertuples(index=False):
            if r.measure not in self.targeted:
                continue
            how = (
                "per level, compounding: "
                + ", ".join(f"{lv} {v:.2%}" for lv, v in self.over_assign.items())
                if self.over_assign_per_level
                else "split evenly across region, team and rep levels: "
                f"{next(iter(self.over_assign.values())):.2%} each"
            )
            lines.append(
                f"{r.measure}: quotas (reps {int(r.assigned):,} + vacancies {int(r.unassigned):,})"
                f" sum to {int(r.assigned + r.unassigned):,} = target {int(r.company_target):,}"
                f" + {percent_text(r.over_assignment)} (asked {percent_text(r.over_assign_asked)};"
                f" {how})"
            )
        return lines

    def __repr__(self) -> str:
        return (
            f"QuotaResult(year={self.year}, method={self.method!r}, freq={self.freq!r}, "
            f"pairs={len(self.annual)}, rows={len(self.quotas)}, reconciles={self.reconciles})"
        )

    def to_excel(self, path: str | os.PathLike[str]) -> Any:
        """Write the workbook with the allocation hierarchy (:func:`spm_model.quota.to_excel`)."""
        from spm_model.quota.export import to_excel

        return to_excel(self, path)


def _parse_targets(
    target: float | Mapping[str, float] | None, measures: Sequence[str], default_measure: str | None
) -> dict[str, float]:
    if target is None:
        return {}
    if isinstance(target, Mapping):
        t = {str(k): v for k, v in target.items()}
    else:
        if default_measure is None:
            default_measure = "new_business" if "new_business" in measures else sorted(measures)[0]
        t = {default_measure: target}
    problems = []
    for k, v in t.items():
        if k not in measures:
            problems.append(
                f"target for unknown measure {k!r} (quota measures: {sorted(measures)})"
            )
        elif not (
            isinstance(v, int | float | np.integer | np.floating) and np.isfinite(v) and v > 0
        ):
            problems.append(f"target for {k!r} must be a positive amount, got {v!r}")
    if problems:
        raise SpmConfigError("; ".join(problems))
    return {k: float(v) for k, v in t.items()}


def _period_labels(
    plan_months: np.ndarray, freq: str, fy_start_month: int, year: int
) -> np.ndarray:
    if freq == "month":
        return _month_label(plan_months)
    if freq == "quarter":
        return np.array([f"{year}-Q{i // 3 + 1}" for i in range(12)], dtype=object)
    return np.array([str(year)] * 12, dtype=object)


def set_quotas(
    data: Dataset | QuotaHistory,
    year: int | None = None,
    method: str | Mapping[str, Any] | QuotaMethod = "blend",
    *,
    target: float | Mapping[str, float] | None = None,
    measure: str | None = None,
    over_assign: float | Mapping[str, float] | None = None,
    freq: str = "month",
    manager_quotas: bool = True,
    unset: Literal["error", "skip"] = "error",
    **history_options: Any,
) -> QuotaResult:
    """Set quotas for fiscal ``year``.

    Parameters
    ----------
    data : Dataset or QuotaHistory
        The company, or an already built planning frame (:func:`build_history`).
    year : int
        Fiscal year (not needed with a QuotaHistory).
    method : str, mapping or QuotaMethod
        ``"history"``, ``"run_rate"``, ``"potential"``, ``"capacity"``, ``"blend"``
        or ``"probabilistic"``, a mapping ``{"method": ..., params}`` or an instance.
    target : float or mapping, optional
        Company target (currency per year, > 0) for ``measure`` or per measure;
        measures without a target are set bottom-up.
    measure : str, optional
        Measure a plain-number ``target`` applies to (default ``new_business``).
    over_assign : float or mapping, optional
        Over-assignment of measures with a target. A number is the **total**
        (fraction): rep quotas plus vacancy lines sum to ``target x (1 +
        over_assign)`` (0.1 = 10% above the target), split evenly across the
        region, team and rep levels (:func:`~spm_model.quota.allocation.split_total_over_assign`).
        A mapping ``{"region": a, "team": b, "rep": c}`` sets each level
        explicitly; per-level fractions **compound** (0.1 at each level is 33.1%
        in total). :meth:`QuotaResult.summary` states the effective total.
        Without any target it is not applied (noted).
    freq : {"month", "quarter", "year"}
        Period length of the output quotas.
    manager_quotas : bool
        Also give managers (excluded roles) the amount handed to their team,
        region or company, phased by seasonality.
    unset : {"error", "skip"}
        A measure that no rep has history for (nor peers' productivity) and that
        has no target cannot be set: ``"error"`` raises; ``"skip"`` sets the
        other measures and says so in the notes (a report on a young company;
        with a :class:`QuotaHistory` given, or when no measure could be set, it
        still raises).
    **history_options
        Passed to :func:`build_history`: ``credits`` (the run's crediting
        result, reused rather than crediting again), ``leaves``, ``ramp``,
        ``growth``, ``measures_by_role``, ``cutoff``...

    Returns
    -------
    QuotaResult

    Raises
    ------
    SpmConfigError
        Non-positive target, unknown measure or method, bad weights or over-assignment.
    SpmDataError
        Negative potential, no quota-carrying reps, a measure nobody has history for
        and no target.
    """
    if freq not in FREQS:
        raise SpmConfigError(f"freq must be one of {list(FREQS)}, got {freq!r}")
    oa = parse_over_assign(over_assign)
    per_level = isinstance(over_assign, Mapping)
    meth = make_method(method)  # validates parameters before any work
    if isinstance(data, QuotaHistory):
        hist = data
    else:
        if year is None:
            raise SpmConfigError("year is required when setting quotas from a Dataset")
        hist = build_history(data, int(year), **history_options)
    measures = sorted(hist.pairs["measure"].unique())
    targets = _parse_targets(target, measures, measure)
    notes = list(hist.notes)
    meth.fit(hist)
    notes += list(getattr(meth, "notes_", []))
    basis = meth.basis_.copy()
    source = np.full(hist.n_pairs, meth.name, dtype=object)
    p = hist.pairs
    missing = ~np.isfinite(basis)
    if missing.any():
        cap = CapacityBased().fit(hist).basis_
        basis = np.where(missing, cap, basis)
        source[missing] = "capacity fallback"
        for r, m in zip(p["rep_id"][missing], p["measure"][missing], strict=True):
            notes.append(
                f"{r} {m}: no basis from {meth.name} (no history or potential); "
                "capacity-based (peer productivity) used"
            )
    still = ~np.isfinite(basis)
    # bottom-up needs someone's history: no positive basis and no target cannot be set
    positive = np.isfinite(basis) & (np.nan_to_num(basis, nan=0.0) > 0)
    unsettable = [
        m
        for m in measures
        if not positive[(p["measure"] == m).to_numpy()].any() and m not in targets
    ]
    if unset not in ("error", "skip"):
        raise SpmConfigError(f"unset must be 'error' or 'skip', got {unset!r}")
    if unsettable and unset == "skip" and not isinstance(data, QuotaHistory):
        keep = [m for m in measures if m not in unsettable]
        if keep:
            options = {k: v for k, v in history_options.items() if k != "measures"}
            res = set_quotas(
                data, year, method, target=target, measure=measure, over_assign=over_assign,
                freq=freq, manager_quotas=manager_quotas, measures=keep, **options,
            )  # fmt: skip
            res.notes[:0] = [
                f"measure {m!r}: no rep has history to set quotas from and no target; "
                "not set (give a target to set it)"
                for m in unsettable
            ]
            return res
    if unsettable:
        raise SpmDataError(
            "; ".join(
                f"measure {m!r}: no rep has history to set quotas from (the bottom-up total "
                "would be zero); give it a target or leave it out (unset='skip', "
                "--skip-unset)"
                for m in unsettable
            )
        )
    if still.any():
        for r, m in zip(p["rep_id"][still], p["measure"][still], strict=True):
            notes.append(f"{r} {m}: no history for any peer; equal share of the target used")
        source[still] = "equal share"
    basis = np.maximum(np.nan_to_num(basis, nan=0.0), 0.0)
    # measures with a target but no basis at all: equal weights per FTE
    season = hist.season_matrix()
    employed = hist.employed if hist.employed is not None else (hist.capacity > 0).astype(float)
    prof = meth.profile_
    sp = season * prof
    fte = p["fte"].to_numpy(dtype=float)
    unit = np.where(still, 1.0, basis)
    chance: dict[str, float] = {}
    if isinstance(meth, Probabilistic):
        for m in measures:
            chance[m] = meth.aim
    for m in targets:
        if isinstance(meth, Probabilistic):
            sel_m = (p["measure"] == m).to_numpy() & ~missing & ~still
            goal = targets[m] * (1.0 + total_over_assign(oa))
            rows_m = (p["measure"] == m).to_numpy()
            # the chance as the history forecasts the year, for the report
            pm0, _ = _equal_chance(meth, unit, sel_m, rows_m, fte, sp, goal)
            # the chance if the reps sell the target: what pairs without a distribution
            # are expected to sell is set aside, the rest is what the others sell
            sell = fte * _expected_share(hist, sp)
            shift = meth.condition_on_target(
                sel_m, targets[m] - float((unit * sell)[rows_m & ~sel_m].sum()), sell
            )
            if shift:
                notes.append(
                    f"{m}: chances stated if the reps sell the target, which is "
                    f"{np.expm1(shift):+.1%} against what the history expects of them "
                    f"(with {hist.attrition or 0.0:.2%} of reps leaving a month; as the "
                    f"history forecasts the year, the common chance would be {pm0:.1%})"
                )
            pm, unit_m = _equal_chance(
                meth, unit, sel_m, (p["measure"] == m).to_numpy(), fte, sp, goal
            )
            unit = unit_m
            basis = np.where(sel_m, unit, basis)
            chance[m] = pm
            notes.append(
                f"{m}: equal-chance quotas: every rep with history has a {pm:.1%} chance of "
                "reaching quota"
                + (" if the reps sell the target (a rep who stays the year)" if shift else "")
                + f" (aim {meth.aim:.0%} replaced: quotas must sum to the target"
                + (f" + {total_over_assign(oa):.1%}" if total_over_assign(oa) > 0 else "")
                + ")"
            )
    # equal-chance quotas follow what a ramping rep is expected to sell (the ramp the
    # history shows); other methods apply the quota ramp policy
    cap = (
        hist.productivity
        if isinstance(meth, Probabilistic) and hist.productivity is not None
        else hist.capacity
    )
    seat_w = unit * fte * sp.mean(axis=1)
    rep_monthly_w = unit[:, None] * fte[:, None] * sp * cap / 12.0
    rep_w = rep_monthly_w.sum(axis=1)
    unas_monthly_w = unit[:, None] * fte[:, None] * sp * (1.0 - cap) / 12.0

    annual_amt = np.zeros(hist.n_pairs, dtype=np.int64)
    alloc_reports = []
    unas_rows = []
    target_units: dict[str, int] = {}
    for m in measures:
        sel = np.flatnonzero((p["measure"] == m).to_numpy())
        sub = p.iloc[sel]
        teams = sub[["region", "team"]].drop_duplicates()
        tkey = sub["region"] + "/" + sub["team"]
        um = pd.DataFrame(unas_monthly_w[sel]).groupby(tkey.to_numpy()).sum()
        tk_teams = teams["region"] + "/" + teams["team"]
        um = um.reindex(tk_teams.to_numpy())
        leaves = pd.concat(
            [
                pd.DataFrame(
                    {
                        "rep_id": sub["rep_id"].to_numpy(),
                        "region": sub["region"].to_numpy(),
                        "team": sub["team"].to_numpy(),
                        "weight": rep_w[sel],
                    }
                ),
                pd.DataFrame(
                    {
                        "rep_id": UNASSIGNED,
                        "region": teams["region"].to_numpy(),
                        "team": teams["team"].to_numpy(),
                        "weight": um.sum(axis=1).to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        )
        if m in targets:
            tgt = targets[m]
            oam = oa
        else:
            tgt = float(seat_w[sel].sum())
            oam = dict.fromkeys(oa, 0.0)
            if tgt < 0.5:
                raise SpmDataError(
                    f"measure {m!r}: no credit in the history, so the bottom-up total is "
                    "zero; give a target for it or leave it out (measures=[...])"
                )
            notes.append(
                f"{m}: no target given, set bottom-up (company total = sum of seat weights"
                + (", over-assignment not applied)" if over_assign is not None else ")")
            )
        al: Allocation = allocate(tgt, leaves, oam)
        rep_part = al.leaves.iloc[: len(sel)]
        annual_amt[sel] = rep_part["amount"].to_numpy()
        un = al.leaves.iloc[len(sel) :]
        un_m = largest_remainder_grouped(
            um.to_numpy().ravel(),
            np.repeat(np.arange(len(un)), 12),
            un["amount"].to_numpy(),
        ).reshape(len(un), 12)
        unas_rows.append((m, un[["region", "team"]].to_numpy(), un_m))
        rep_ = al.report.assign(measure=m)
        alloc_reports.append(rep_)
        target_units[m] = int(round_half_up(tgt))
    # phase every rep's annual amount into months
    mw = rep_monthly_w.copy()
    zero = mw.sum(axis=1) <= 0
    mw[zero] = (sp * np.maximum(employed, 1e-9))[zero]
    monthly = largest_remainder_grouped(
        mw.ravel(), np.repeat(np.arange(hist.n_pairs), 12), annual_amt
    ).reshape(hist.n_pairs, 12)
    labels = _period_labels(hist.plan_months, freq, hist.fy_start_month, hist.year)
    month_labels = _month_label(hist.plan_months)
    long = pd.DataFrame(
        {
            "rep_id": np.repeat(p["rep_id"].to_numpy(), 12),
            "measure": np.repeat(p["measure"].to_numpy(), 12),
            "month": np.tile(month_labels, hist.n_pairs),
            "period": np.tile(labels, hist.n_pairs),
            "amount": monthly.ravel(),
            "employed": (employed > 0).ravel(),
        }
    )
    q = long.groupby(["rep_id", "period", "measure"], as_index=False, sort=False).agg(
        amount=("amount", "sum"), employed=("employed", "any")
    )
    q = q[q["employed"]].drop(columns="employed")
    # unassigned lines
    urows = []
    for m, keys, um_ in unas_rows:
        for (reg, team), row in zip(keys, um_, strict=True):
            for lab, mon, v in zip(labels, month_labels, row, strict=True):
                urows.append((reg, team, m, lab, mon, int(v)))
    un_long = pd.DataFrame(
        urows, columns=["region", "team", "measure", "period", "month", "amount"]
    )
    unassigned = un_long.groupby(
        ["region", "team", "measure", "period"], as_index=False, sort=False
    )["amount"].sum()
    allocation = pd.concat(alloc_reports, ignore_index=True)
    # manager roll-ups: the amount handed to their team / region / company
    mq = pd.DataFrame(columns=["rep_id", "period", "measure", "amount"])
    if manager_quotas and hist.managers is not None and len(hist.managers):
        mq = _manager_quotas(hist, allocation, season, labels, notes)
    quotas = pd.concat([q, mq], ignore_index=True)
    quotas["amount"] = quotas["amount"].astype(float)
    quotas = quotas.sort_values(["rep_id", "measure", "period"], kind="stable").reset_index(
        drop=True
    )
    cap_share = (sp * hist.capacity).sum(axis=1) / np.maximum(sp.sum(axis=1), 1e-12)
    act = employed > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_pot = np.where(
            act.any(axis=1), (hist.potential * act).sum(axis=1) / act.sum(axis=1), 0.0
        )
    annual = pd.DataFrame(
        {
            "rep_id": p["rep_id"].to_numpy(),
            "measure": p["measure"].to_numpy(),
            "role": p["role"].to_numpy(),
            "region": p["region"].to_numpy(),
            "team": p["team"].to_numpy(),
            "fte": fte,
            "basis": basis,
            "source": source,
            "capacity_share": cap_share,
            "seat_weight": seat_w,
            "weight": rep_w,
            "annual": annual_amt,
            "potential": avg_pot,
            "last_year_actual": hist.last_year_actual
            if hist.last_year_actual is not None
            else np.nan,
        }
    )
    params = getattr(meth, "predictive_", None)
    # the stated chance judges the quota against expected sales: the learnt ramp
    prod = hist.productivity if hist.productivity is not None else hist.capacity
    prod_share = (sp * prod).sum(axis=1) / np.maximum(sp.sum(axis=1), 1e-12)
    annual["p_attain"] = attainment_chance(
        hist, annual_amt.astype(float), fte * prod_share, params=params
    )
    long = pd.concat(
        [
            long.drop(columns="employed").assign(line="rep"),
            un_long.assign(rep_id=UNASSIGNED, line="unassigned"),
        ],
        ignore_index=True,
    )
    return QuotaResult(
        year=hist.year,
        freq=freq,
        quotas=quotas[["rep_id", "period", "measure", "amount"]],
        annual=annual,
        unassigned=unassigned,
        allocation=allocation,
        monthly=long,
        method=meth,
        history=hist,
        targets=target_units,
        notes=notes,
        over_assign=oa,
        over_assign_per_level=per_level,
        chance=chance,
        targeted=sorted(targets),
    )


def _expected_share(hist: QuotaHistory, sp: np.ndarray) -> np.ndarray:
    """Return the expected share of a full-capacity plan year each pair sells (FTE excluded).

    Season-weighted productivity (the ramp the history shows) times the chance
    that the rep is still there, from the leaving rate the history shows
    (:attr:`QuotaHistory.attrition`, :func:`~spm_model.quota.predictive.staying_share`).

    Parameters
    ----------
    hist : QuotaHistory
        The planning frame.
    sp : ndarray
        Plan-month seasonality x profile (pairs x 12).

    Returns
    -------
    ndarray
        Fraction per pair.
    """
    prod = hist.productivity if hist.productivity is not None else hist.capacity
    ahead = (hist.plan_months - hist.hist_months[-1]).astype(float) - 0.5
    stay = staying_share(hist.attrition, ahead)
    return (sp * prod * stay[None, :]).sum(axis=1) / np.maximum(sp.sum(axis=1), 1e-12)


def _equal_chance(
    meth: Probabilistic,
    unit: np.ndarray,
    sel: np.ndarray,
    measure_rows: np.ndarray,
    fte: np.ndarray,
    sp: np.ndarray,
    goal: float,
) -> tuple[float, np.ndarray]:
    """Find the common chance of attainment at which a measure's seat weights sum to ``goal``.

    Parameters
    ----------
    meth : Probabilistic
        Fitted method (:meth:`Probabilistic.basis_at`).
    unit : ndarray
        Current full-capacity basis per pair (kept for rows outside ``sel``).
    sel : ndarray of bool
        Pairs of the measure with a predictive distribution.
    measure_rows : ndarray of bool
        Every pair of the measure (fallback rows keep their basis).
    fte, sp : ndarray
        FTE per pair and plan-month seasonality x profile (pairs x 12).
    goal : float
        Company target x (1 + total over-assignment), currency per year.

    Returns
    -------
    (float, ndarray)
        The common chance (fraction) and the basis per pair at that chance.
    """
    from scipy.optimize import brentq

    scale = fte * sp.mean(axis=1)
    fixed = float((unit * scale)[measure_rows & ~sel].sum())

    def gap(c: float) -> float:
        b = meth.basis_at(c)[sel]
        return float(np.nansum(b * scale[sel])) + fixed - goal

    lo, hi = 1e-4, 1.0 - 1e-4
    if not sel.any() or gap(lo) <= 0:
        c = lo
    elif gap(hi) >= 0:
        c = hi
    else:
        c = float(brentq(gap, lo, hi, xtol=1e-10))
    out = unit.copy()
    if sel.any():
        out[sel] = meth.basis_at(c)[sel]
    return c, out


def _manager_quotas(
    hist: QuotaHistory,
    allocation: pd.DataFrame,
    season: np.ndarray,
    labels: np.ndarray,
    notes: list[str],
) -> pd.DataFrame:
    """Give managers the target of the team, region or company node they lead, phased."""
    from spm_model.quota.history import _active_fraction

    mg = hist.managers
    assert mg is not None
    target = {
        (m, lv, n): int(t)
        for m, lv, n, t in zip(
            allocation["measure"],
            allocation["level"],
            allocation["node"],
            allocation["target"],
            strict=True,
        )
        if lv != "rep"
    }
    amounts = np.full(len(mg), -1, dtype=np.int64)
    for i, (meas, reg, team, boss) in enumerate(
        zip(mg["measure"], mg["region"], mg["team"], mg["manager_id"], strict=True)
    ):
        for key in ((meas, "team", f"{reg}/{team}"), (meas, "region", str(reg))):
            if key in target:
                amounts[i] = target[key]
                break
        else:
            if (boss is None or boss != boss or boss == "") and (
                meas,
                "company",
                "company",
            ) in target:
                amounts[i] = target[(meas, "company", "company")]
    emp = _active_fraction(mg["hire_date"].to_numpy(), mg["end_date"].to_numpy(), hist.plan_months)
    s = np.ones((len(mg), 12))
    for meas, sv in hist.season.items():
        s[(mg["measure"] == meas).to_numpy()] = sv
    w = s * emp
    ok = (amounts >= 0) & (w.sum(axis=1) > 0)
    if not ok.any():
        return pd.DataFrame(columns=["rep_id", "period", "measure", "amount"])
    share = round_half_up(amounts[ok] * w[ok].sum(axis=1) / s[ok].sum(axis=1))
    mon = largest_remainder_grouped(
        w[ok].ravel(), np.repeat(np.arange(ok.sum()), 12), share
    ).reshape(-1, 12)
    df = pd.DataFrame(
        {
            "rep_id": np.repeat(mg["rep_id"].to_numpy()[ok], 12),
            "measure": np.repeat(mg["measure"].to_numpy()[ok], 12),
            "period": np.tile(labels, ok.sum()),
            "amount": mon.ravel(),
            "emp": (emp[ok] > 0).ravel(),
        }
    )
    g = df.groupby(["rep_id", "period", "measure"], as_index=False, sort=False).agg(
        amount=("amount", "sum"), emp=("emp", "any")
    )
    g = g[g["emp"]].drop(columns="emp")
    notes.append(f"{g['rep_id'].nunique()} manager(s) given the quota of the node they lead")
    return g
