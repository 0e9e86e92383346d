"""Historical replay and reconciliation, dispute summaries and payout trends.

* :func:`replay` runs a plan (the current one, or a new design) over a past
  fiscal year of credited data and sets what it would have paid beside what
  was paid (``payments``), rep by rep and pay period by pay period;
  :func:`replay_many` replays every plan of a company over every closed year.
* :func:`reconcile` separates **timing** from **errors**. A payment made in a
  later pay run than its period's (a late payment, or a leaver's final-pay run
  that settles the last two periods at once) leaves one period short and the
  next one over by the same amount, to the cent: both rows are ``timing``, not
  errors. What remains is an error, named by kind where the amounts show it
  (:data:`ERROR_KINDS`: a duplicated payment, a flat over- or under-payment of
  a round amount, a rate typo).
* :func:`dispute_summary` counts disputes, amounts claimed and granted and
  resolution times by category, region and month; :func:`payout_trends`
  summarises payments over time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import numpy as np
import pandas as pd

from spm_model.calc.credit import credit_dataset
from spm_model.calc.engine import CalcResult, calculate
from spm_model.crediting import CreditingResult
from spm_model.data.dataset import Dataset
from spm_model.data.periods import Frequency, parse_period, period_labels, periods_between
from spm_model.errors import SpmConfigError, SpmError
from spm_model.plans import Plan

RECON_STATUSES = {
    "match": "paid what the plan pays (within the tolerance)",
    "timing": "paid in another pay run: the amount one period is short, the next is over "
    "(late payment, final-pay run of a leaver); not an error",
    "overpaid": "paid more than the plan pays",
    "underpaid": "paid less than the plan pays",
    "not_paid": "the plan pays something, no payment recorded",
    "not_due": "the plan pays something, but the period's pay date (PAY_LAG_DAYS after its end) "
    "is after the data's end: not paid yet, not an error",
    "unexpected_payment": "payment recorded where the plan pays nothing",
    "duplicate_payment": "one payment of the period recorded twice",
}
"""Statuses of :attr:`ReplayResult.reconciliation` and what they mean."""

ERROR_KINDS = {
    "duplicate_payment": "a payment of the period recorded twice (paid = 2 payments of one amount)",
    "rate_typo": "paid the statement times a mistyped rate factor (see RATE_TYPO_FACTORS)",
    "overpaid_flat": "paid a round amount (a multiple of FLAT_STEP) more than the statement",
    "underpaid_flat": "paid a round amount (a multiple of FLAT_STEP) less than the statement",
}
"""Error kinds :func:`reconcile` names in the ``kind`` column (empty when the amounts show none)."""

TIMING_KINDS = {
    "paid_next_period": "part or all of the period's pay was paid in the next period's run",
    "includes_previous_period": "the period's payments include pay of the previous period",
    "final_pay_run": "a leaver's final-pay run paid this period together with the next one",
}
"""Timing kinds :func:`reconcile` names in the ``kind`` column of ``timing`` rows."""

RATE_TYPO_FACTORS = (Decimal("0.5"), Decimal("1.1"), Decimal("1.5"))
"""Paid / statement ratios read as a mistyped rate (5% or 15% keyed for 10%, 11% for 10%)."""

FLAT_STEP_CENTS = 10_000
"""A flat error is a whole multiple of this many cents (100.00 in the currency)."""

PAY_LAG_DAYS = 15
"""Days after a pay period's end on which its regular pay run is made (the generator's payroll)."""

_CENT = Decimal("0.01")


@dataclass
class ReplayResult:
    """A plan replayed over a past fiscal year, against what was paid.

    Attributes
    ----------
    calc : CalcResult
        The exact statements of the year (every measurement period).
    reconciliation : DataFrame
        One row per rep and payment period: ``recomputed`` (what the plan
        pays), ``paid`` (sum of payments), ``payments`` (count),
        ``payment_ids``, ``difference`` (paid - recomputed), ``status``
        (:data:`RECON_STATUSES`), ``kind`` (:data:`ERROR_KINDS` or
        :data:`TIMING_KINDS`; empty when none applies), ``timing_amount``
        (amount moved to or from a neighbouring pay period), plus role,
        region and team. Currency.
    tolerance : float
        Differences up to this amount count as a match (currency).
    """

    calc: CalcResult
    reconciliation: pd.DataFrame
    tolerance: float = 0.01

    @property
    def discrepancies(self) -> pd.DataFrame:
        """Payment errors: rows that are neither a match nor timing, largest difference first."""
        r = self.reconciliation
        d = r[~r["status"].isin(["match", "timing", "not_due"])]
        return d.reindex(d["difference"].abs().sort_values(ascending=False).index).reset_index(
            drop=True
        )

    errors = discrepancies

    @property
    def timing(self) -> pd.DataFrame:
        """Timing differences (not errors): rows with status ``timing``, by rep and period."""
        r = self.reconciliation
        return r[r["status"] == "timing"].reset_index(drop=True)

    def by_rep(self) -> pd.DataFrame:
        """Would-have-paid versus paid per rep over the year (currency)."""
        r = self.reconciliation
        g = r.groupby(["rep_id", "role", "region"], dropna=False, as_index=False)[
            ["recomputed", "paid"]
        ].sum()
        g["difference"] = g["paid"] - g["recomputed"]
        with np.errstate(divide="ignore", invalid="ignore"):
            g["difference_pct"] = np.where(
                g["recomputed"] != 0, g["difference"] / g["recomputed"], np.nan
            )
        return g.sort_values("difference", key=abs, ascending=False).reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Return counts and amounts per reconciliation status."""
        r = self.reconciliation
        g = r.groupby("status", as_index=False).agg(
            rows=("rep_id", "size"),
            recomputed=("recomputed", "sum"),
            paid=("paid", "sum"),
            difference=("difference", "sum"),
        )
        g["meaning"] = g["status"].map(RECON_STATUSES)
        return g

    def trends(self, by: str | None = None) -> pd.DataFrame:
        """Recomputed and paid totals per payment period (optionally by role, region or team)."""
        keys = ["period"] + ([by] if by else [])
        r = self.reconciliation
        g = r.groupby(keys, as_index=False, dropna=False).agg(
            reps=("rep_id", "nunique"), recomputed=("recomputed", "sum"), paid=("paid", "sum")
        )
        g["difference"] = g["paid"] - g["recomputed"]
        return g

    def __repr__(self) -> str:
        r = self.reconciliation
        return (
            f"ReplayResult(plan={self.calc.plan.id!r}, {self.calc.period}, "
            f"{r['rep_id'].nunique()} reps: "
            f"would pay {r['recomputed'].sum():,.2f}, paid {r['paid'].sum():,.2f}, "
            f"{len(self.discrepancies)} payment errors, {len(self.timing)} timing rows)"
        )


def closed_years(ds: Dataset, plan: Plan, pay_lag_days: int = PAY_LAG_DAYS) -> list[int]:
    """Fiscal years of ``plan`` that lie inside the data and whose last pay run is past.

    Parameters
    ----------
    ds : Dataset
        Company data; its window is ``meta.start_date`` .. ``meta.end_date``
        (default: first and last transaction date).
    plan : Plan
        Gives the fiscal calendar.
    pay_lag_days : int
        Days after a period's end on which it is paid.

    Returns
    -------
    list of int
        Fiscal years, in order (empty when the window holds none).
    """
    dates = ds.transactions["date"]
    start = ds.meta.start_date or (pd.Timestamp(dates.min()).date() if len(dates) else None)
    end = ds.as_of
    if start is None:
        return []
    years = range(start.year - 1, end.year + 2)
    out = []
    for y in years:
        span = parse_period(str(y), plan.fy_start_month)
        if span.start >= start and span.end + timedelta(days=pay_lag_days) <= end:
            out.append(y)
    return out


def years_with_members(ds: Dataset, plan: Plan, years: Iterable[int]) -> list[int]:
    """Return the fiscal years among ``years`` in which someone is employed on ``plan``.

    Membership as statements read it (``plan_assignments`` when the dataset has
    it, else ``reps.plan_id``), within the plan's effective dates and the reps'
    ``hire_date`` .. ``end_date``.
    """
    from spm_model.calc.inputs import _day, membership_days, plan_reps

    iv = membership_days(plan, ds, plan_reps(plan, ds))
    lo, hi = iv["start"].to_numpy(), iv["end"].to_numpy()
    out = []
    for y in years:
        span = parse_period(str(y), plan.fy_start_month)
        if np.any((lo <= _day(span.end)) & (hi >= _day(span.start))):
            out.append(int(y))
    return out


def _company_plans(plan: Plan, plans: Iterable[Plan] | Mapping[str, Plan] | None) -> list[Plan]:
    """Return the company's plans with ``plan`` replacing the one of the same id."""
    items = list(plans.values() if isinstance(plans, Mapping) else (plans or []))
    return [p for p in items if p.id != plan.id] + [plan]


def replay(
    plan: Plan,
    ds: Dataset,
    year: int | str,
    *,
    plans: Iterable[Plan] | Mapping[str, Plan] | None = None,
    credits: CreditingResult | None = None,
    reps: Sequence[str] | None = None,
    tolerance: float = 0.01,
    payments: pd.DataFrame | None = None,
    progress: bool = False,
) -> ReplayResult:
    """Replay ``plan`` over fiscal ``year`` and reconcile it with the payments.

    Parameters
    ----------
    plan : Plan
        Plan to replay (the plan in force, or a new design).
    ds : Dataset
        Company data with ``payments``.
    year : int or str
        Fiscal year (``2025``).
    plans : iterable or mapping of Plan, optional
        The company's other plans, for crediting as pay does: each rep's
        cancellations are clawed back under the window of their own plan, and
        a manager's roll-up follows (``plan`` replaces the plan of its id).
        Without them only the members of ``plan`` get its window.
    credits : CreditingResult, optional
        Crediting to use (default: :func:`~spm_model.calc.credit_dataset`
        with ``plans``).
    reps : sequence of str, optional
        Replay these reps on the plan (default: the plan's members).
    tolerance : float
        Largest difference counted as a match (currency).
    payments : DataFrame, optional
        Payments to compare with (default ``ds.payments``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    ReplayResult
        Timing differences that cross the year's edges are recognised: when
        the first or last pay period of the year is off, the neighbouring pay
        period of the adjacent year is recomputed for those reps.
    """
    label = str(year).strip()
    try:
        span = parse_period(label, plan.fy_start_month)
    except ValueError as exc:
        raise SpmConfigError(str(exc)) from None
    if span.freq != "year":
        raise SpmConfigError(f"replay needs a fiscal year such as 2025, got {year!r}")
    if credits is None:
        credits = credit_dataset(ds, _company_plans(plan, plans))
    # the whole year, as payroll ran it (payments may be dated after the last transaction)
    calc = calculate(
        plan, ds, span.label, credits=credits, reps=reps, progress=progress, stop_at_data_end=False
    )
    pds = ds if payments is None else ds.replace(payments=payments)
    recon = reconcile(calc, pds, tolerance)
    edges = _edge_neighbours(calc, pds, recon, credits, tolerance)
    if edges is not None:
        recon = reconcile(calc, pds, tolerance, neighbours=edges)
    return ReplayResult(calc, recon, tolerance)


def replay_many(
    plans: Iterable[Plan] | Mapping[str, Plan],
    ds: Dataset,
    years: Sequence[int | str] | None = None,
    *,
    tolerance: float = 0.01,
    pay_lag_days: int = PAY_LAG_DAYS,
) -> list[ReplayResult]:
    """Replay every plan of a company over every closed fiscal year, crediting once.

    Parameters
    ----------
    plans : iterable or mapping of Plan
        The company's plans (each rep is replayed on ``reps.plan_id``).
    ds : Dataset
        Company data with ``payments``.
    years : sequence of int or str, optional
        Fiscal years (default: :func:`closed_years` of each plan).
    tolerance : float
        Largest difference counted as a match (currency).
    pay_lag_days : int
        Days after a period's end on which it is paid (for :func:`closed_years`).

    Returns
    -------
    list of ReplayResult
        One per plan with members and year.
    """
    items = list(plans.values() if isinstance(plans, Mapping) else plans)
    credits = credit_dataset(ds, items)
    members = set(ds.reps["plan_id"].dropna().astype(object)) if "plan_id" in ds.reps else set()
    out = []
    for p in items:
        if p.id not in members:
            continue
        for y in years if years is not None else closed_years(ds, p, pay_lag_days):
            out.append(replay(p, ds, y, credits=credits, tolerance=tolerance))
    return out


_ORDER: dict[str, int] = {"month": 1, "quarter": 2, "year": 3}


def _freq_of(labels: pd.Series) -> Frequency | None:
    """Finest period length among ``labels`` (None when none parses)."""
    found: list[Frequency] = []
    for lab in labels.dropna().astype(str).unique():
        try:
            found.append(parse_period(lab).freq)
        except ValueError:
            continue
    finest: Frequency | None = None
    for f in found:
        if finest is None or _ORDER[f] < _ORDER[finest]:
            finest = f
    return finest


def _pay_freq(plan: Plan, payments: pd.DataFrame, reps: Iterable[str]) -> Frequency:
    """Return the plan's pay frequency, or its reps' payments' when they are all coarser.

    Only the payments of ``reps`` count: a company's table mixes monthly and
    quarterly pay of different plans.
    """
    mine = payments[payments["rep_id"].astype(object).isin(set(reps))]
    pay_freq = _freq_of(mine["period"]) if len(mine) else None
    freq: Frequency = plan.pay_frequency
    if pay_freq is not None and _ORDER[pay_freq] > _ORDER[freq]:
        freq = pay_freq
    return freq


def _recomputed(calc: CalcResult, freq: Frequency) -> pd.DataFrame:
    """Payable per rep and pay period of ``calc`` (``rep_id, period, recomputed``; currency)."""
    s = calc.summary[calc.summary["pay_period_end"]].copy()
    ends = {p.label: p for p in calc.periods}
    end_dates = pd.DatetimeIndex([pd.Timestamp(ends[p].end) for p in s["period"]])
    s["pay_period"] = period_labels(end_dates, freq, calc.plan.fy_start_month) if len(s) else []
    got = s.groupby(["rep_id", "pay_period"], as_index=False)["payable"].sum()
    return got.rename(columns={"pay_period": "period", "payable": "recomputed"})


def _edge_neighbours(
    calc: CalcResult,
    ds: Dataset,
    recon: pd.DataFrame,
    credits: CreditingResult,
    tolerance: float,
) -> pd.DataFrame | None:
    """Recomputed pay of the pay periods just outside the year, for reps off at its edges."""
    plan = calc.plan
    freq = _pay_freq(plan, ds.payments, calc.summary["rep_id"])
    first, last = calc.periods[0].start, calc.periods[-1].end
    pays = periods_between(first, last, freq, plan.fy_start_month)
    off = recon[~recon["status"].isin(["match", "timing"])]
    parts = []
    for edge, neighbour_day in (
        (pays[0].label, first - timedelta(days=1)),
        (pays[-1].label, last + timedelta(days=1)),
    ):
        who = sorted(set(off.loc[off["period"] == edge, "rep_id"]))
        if not who:
            continue
        label = str(period_labels(pd.DatetimeIndex([neighbour_day]), freq, plan.fy_start_month)[0])
        try:
            nb = calculate(plan, ds, label, credits=credits, reps=who, stop_at_data_end=False)
        except (SpmError, ValueError):
            # no statement can be made there (outside the plan's dates; ValueError: the
            # input builder cannot yet merge a period with neither credit nor quotas)
            continue
        got = _recomputed(nb, freq)
        got = got[got["period"] == label]
        missing = [r for r in who if r not in set(got["rep_id"])]
        if missing:  # not employed in the neighbouring period: the plan pays nothing there
            got = pd.concat(
                [got, pd.DataFrame({"rep_id": missing, "period": label, "recomputed": 0.0})],
                ignore_index=True,
            )
        parts.append(got)
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)


def _cents(x: float) -> int:
    return round(float(x) * 100)


def _times(cents: int, factor: Decimal) -> int:
    """``cents x factor`` rounded half-up to the cent."""
    return int((Decimal(cents) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def classify_payment(
    recomputed: float, amounts: Sequence[float], tolerance: float = 0.01
) -> tuple[str, str]:
    """Status and error kind of one rep-period's payments against what the plan pays.

    Parameters
    ----------
    recomputed : float
        What the plan pays for the period (currency).
    amounts : sequence of float
        The payments recorded for it (currency).
    tolerance : float
        Largest difference counted as a match (currency).

    Returns
    -------
    (str, str)
        ``status`` (:data:`RECON_STATUSES`, never ``timing``: that needs the
        neighbouring periods) and ``kind`` (:data:`ERROR_KINDS`, or ``""``),
        tested in this order: duplicate (two equal payments, one too many),
        rate typo (paid = statement x a :data:`RATE_TYPO_FACTORS` factor, to the
        cent), flat (the difference a whole multiple of :data:`FLAT_STEP_CENTS`).
    """
    tol = _cents(tolerance)
    want = _cents(recomputed)
    got = [_cents(a) for a in amounts]
    paid = sum(got)
    diff = paid - want
    if abs(diff) <= tol:
        return "match", ""
    if not got:
        return "not_paid", ""
    if abs(want) <= tol:
        return "unexpected_payment", ""
    counts = pd.Series(got).value_counts()
    repeated = [a for a, c in counts.items() if c > 1]
    if any(abs(diff - a) <= tol for a in repeated):
        return "duplicate_payment", "duplicate_payment"
    status = "overpaid" if diff > 0 else "underpaid"
    if any(abs(paid - _times(want, f)) <= tol for f in RATE_TYPO_FACTORS):
        return status, "rate_typo"
    if diff % FLAT_STEP_CENTS == 0:
        return status, f"{status}_flat"
    return status, ""


def _spans(labels: Iterable[str], fy_start_month: int) -> dict[str, tuple[date, date]]:
    out = {}
    for lab in set(labels):
        try:
            sp = parse_period(str(lab), fy_start_month)
        except ValueError:
            continue
        out[lab] = (sp.start, sp.end)
    return out


def reconcile(
    calc: CalcResult,
    ds: Dataset,
    tolerance: float = 0.01,
    *,
    neighbours: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compare the payable amounts of ``calc`` with ``ds.payments`` per rep and period.

    The recomputed side uses the plan's pay periods; when payments are recorded
    on a coarser period (quarterly payments of a monthly plan), recomputed pay
    is summed to that period first.

    A rep's pay period short by an amount and the next pay period over by the
    same amount (to the tolerance) are ``timing``: the pay was made in the
    later run (``paid_next_period`` / ``includes_previous_period``, or
    ``final_pay_run`` when the rep left before the end of the later period).
    Every other difference is an error, classified by :func:`classify_payment`.

    Parameters
    ----------
    calc : CalcResult
        Statements of the periods to reconcile.
    ds : Dataset
        Company data with ``payments`` (and ``reps.end_date`` for leavers).
    tolerance : float
        Largest difference counted as a match (currency).
    neighbours : DataFrame, optional
        ``rep_id, period, recomputed`` of pay periods just outside ``calc``
        (currency); used only to recognise timing across its edges.

    Returns
    -------
    DataFrame
        See :attr:`ReplayResult.reconciliation`.
    """
    plan = calc.plan
    pay = ds.payments.copy()
    freq = _pay_freq(plan, pay, calc.summary["rep_id"])
    got = _recomputed(calc, freq)
    s = calc.summary
    rec = s.groupby("rep_id", as_index=False).agg(
        role=("role", "first"), region=("region", "first"), team=("team", "first")
    )
    valid = set(got["period"]) | {
        str(x)
        for x in period_labels(
            pd.date_range(calc.periods[0].start, calc.periods[-1].end, freq="D"),
            freq,
            plan.fy_start_month,
        )
    }
    reps = set(s["rep_id"])
    nb = neighbours if neighbours is not None else pd.DataFrame(columns=["rep_id", "period"])
    nb_keys = set(zip(nb["rep_id"].astype(object), nb["period"].astype(object), strict=True))
    rep_col, per_col = pay["rep_id"].astype(object), pay["period"].astype(object)
    keep = (rep_col.isin(reps) & per_col.isin(valid)) | pd.Series(
        [k in nb_keys for k in zip(rep_col, per_col, strict=True)], index=pay.index, dtype=bool
    )
    pay = pay[keep]
    paid = (
        pay.groupby([pay["rep_id"].astype(object), pay["period"].astype(object)])
        .agg(
            paid=("amount", "sum"),
            payments=("amount", "size"),
            payment_ids=("payment_id", lambda x: ", ".join(map(str, x))),
            amounts=("amount", list),
        )
        .reset_index()
    )
    got = got.assign(_edge=False)
    if len(nb):
        got = pd.concat(
            [got, nb[["rep_id", "period", "recomputed"]].assign(_edge=True)], ignore_index=True
        )
    m = got.merge(paid, on=["rep_id", "period"], how="outer")
    m["_edge"] = m["_edge"].astype("boolean").fillna(False).astype(bool)
    m["recomputed"] = m["recomputed"].fillna(0.0).round(2)
    m["paid"] = m["paid"].fillna(0.0).round(2)
    m["payments"] = m["payments"].fillna(0).astype(int)
    m["payment_ids"] = m["payment_ids"].fillna("")
    m["amounts"] = [a if isinstance(a, list) else [] for a in m["amounts"]]
    m["difference"] = (m["paid"] - m["recomputed"]).round(2)
    m["status"] = "match"
    m["kind"] = ""
    m["timing_amount"] = 0.0
    _mark_timing(m, ds, plan.fy_start_month, tolerance)
    for i in m.index[(m["status"] == "match") & (m["difference"].abs() > tolerance + 1e-9)]:
        m.loc[i, ["status", "kind"]] = classify_payment(
            m.at[i, "recomputed"], m.at[i, "amounts"], tolerance
        )
    # an open year: pay periods whose pay run falls after the data's end are not yet due
    spans = _spans(m["period"], plan.fy_start_month)
    due = m["period"].map(lambda lab: spans[lab][1] if lab in spans else None)
    late = pd.Series(
        [d is not None and d + timedelta(days=PAY_LAG_DAYS) > ds.as_of for d in due],
        index=m.index,
        dtype=bool,
    )
    m.loc[late & (m["status"] == "not_paid"), "status"] = "not_due"
    m = m[~m["_edge"]].merge(rec, on="rep_id", how="left")
    cols = [
        "rep_id",
        "role",
        "region",
        "team",
        "period",
        "recomputed",
        "paid",
        "payments",
        "payment_ids",
        "difference",
        "status",
        "kind",
        "timing_amount",
    ]
    return m[cols].sort_values(["period", "rep_id"]).reset_index(drop=True)


def _mark_timing(m: pd.DataFrame, ds: Dataset, fy_start_month: int, tolerance: float) -> None:
    """Mark short/over pairs of consecutive pay periods of a rep as ``timing`` (in place)."""
    tol = _cents(tolerance)
    diff = (m["difference"] * 100).round().astype(np.int64)
    cand = m.index[diff.abs() > tol]
    if not len(cand):
        return
    spans = _spans(m.loc[cand, "period"].astype(str), fy_start_month)
    ends = ds.reps.set_index(ds.reps["rep_id"].astype(object))["end_date"]
    rows = sorted(
        (str(m.at[i, "rep_id"]), spans[str(m.at[i, "period"])], i)
        for i in cand
        if str(m.at[i, "period"]) in spans
    )
    for (rep_a, (_, end_a), i), (rep_b, (start_b, end_b), j) in pairwise(rows):
        if rep_a != rep_b or start_b != end_a + timedelta(days=1):
            continue
        if m.at[i, "status"] == "timing" or m.at[j, "status"] == "timing":
            continue
        short, over = -int(diff[i]), int(diff[j])
        if short <= tol or abs(over - short) > tol:
            continue
        left = ends.get(rep_a)
        final = left is not None and not pd.isna(left) and pd.Timestamp(left).date() <= end_b
        m.loc[i, ["status", "kind"]] = ("timing", "final_pay_run" if final else "paid_next_period")
        m.loc[j, ["status", "kind"]] = (
            "timing",
            "final_pay_run" if final else "includes_previous_period",
        )
        m.loc[[i, j], "timing_amount"] = short / 100


def dispute_summary(ds: Dataset) -> dict[str, pd.DataFrame]:
    """Disputes by category, region and month: counts, amounts and resolution times.

    Returns
    -------
    dict of DataFrame
        ``overall``, ``by_category``, ``by_region``, ``by_month`` (opened
        month) and ``by_status``; columns ``disputes``, ``open``, ``resolved``,
        ``rejected``, ``claimed`` and ``granted`` (currency), ``grant_rate``
        (granted / claimed), ``median_days`` and ``mean_days`` to resolution
        (closed disputes), ``p90_days``.
    """
    d = ds.disputes.copy()
    if d.empty:
        empty = pd.DataFrame(
            columns=["disputes", "open", "resolved", "rejected", "claimed", "granted"]
        )
        return {k: empty for k in ("overall", "by_category", "by_region", "by_month", "by_status")}
    reps = ds.reps[["rep_id", "region"]].copy()
    reps["rep_id"] = reps["rep_id"].astype(object)
    d["rep_id"] = d["rep_id"].astype(object)
    d = d.merge(reps, on="rep_id", how="left")
    d["region"] = d["region"].fillna("(unknown)")
    d["month"] = period_labels(d["opened_date"], "month")
    d["days"] = (d["resolved_date"] - d["opened_date"]).dt.days
    if "resolution_amount" not in d:
        d["resolution_amount"] = np.nan
    d["granted"] = d["resolution_amount"].fillna(0.0)

    def agg(g: pd.DataFrame) -> pd.Series:
        closed = g["days"].dropna()
        claimed = float(g["amount"].sum())
        granted = float(g["granted"].sum())
        return pd.Series(
            {
                "disputes": len(g),
                "open": int((g["status"] == "open").sum()),
                "resolved": int((g["status"] == "resolved").sum()),
                "rejected": int((g["status"] == "rejected").sum()),
                "claimed": round(claimed, 2),
                "granted": round(granted, 2),
                "grant_rate": granted / claimed if claimed else np.nan,
                "median_days": float(closed.median()) if len(closed) else np.nan,
                "mean_days": float(closed.mean()) if len(closed) else np.nan,
                "p90_days": float(closed.quantile(0.9)) if len(closed) else np.nan,
            }
        )

    out = {"overall": agg(d).to_frame().T}
    for key, col in (
        ("by_category", "category"),
        ("by_region", "region"),
        ("by_month", "month"),
        ("by_status", "status"),
    ):
        rows = [agg(g).rename(k) for k, g in d.groupby(col, sort=True)]
        frame = pd.DataFrame(rows)
        frame.index.name = col
        out[key] = frame.reset_index()
    for f in out.values():
        for c in ("disputes", "open", "resolved", "rejected"):
            if c in f:
                f[c] = f[c].astype(int)
    return out


def payout_trends(ds: Dataset, by: str | None = None) -> pd.DataFrame:
    """Payments per period: total, reps paid, mean and median payment (optionally by a rep column).

    Parameters
    ----------
    ds : Dataset
        Needs ``payments`` (and ``reps`` for ``by``).
    by : str, optional
        A reps column such as ``role``, ``region`` or ``team``.

    Returns
    -------
    DataFrame
        ``period`` (and ``by``), ``reps``, ``total``, ``mean``, ``median``,
        ``change`` (relative to the previous period of the same group).
    """
    p = ds.payments.copy()
    p["rep_id"] = p["rep_id"].astype(object)
    keys = ["period"]
    if by:
        r = ds.reps[["rep_id", by]].copy()
        r["rep_id"] = r["rep_id"].astype(object)
        p = p.merge(r, on="rep_id", how="left")
        keys = [by, "period"]
    per_rep = p.groupby([*keys, "rep_id"], as_index=False)["amount"].sum()
    g = per_rep.groupby(keys, as_index=False).agg(
        reps=("rep_id", "nunique"),
        total=("amount", "sum"),
        mean=("amount", "mean"),
        median=("amount", "median"),
    )
    g = g.sort_values(keys).reset_index(drop=True)
    g["change"] = g.groupby(by)["total"].pct_change() if by else g["total"].pct_change()
    return g
