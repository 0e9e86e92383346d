"""Historical replay and reconciliation, dispute summaries and payout trends.

* :func:`replay` runs a plan (the current one, or a new design) over a past
  fiscal year of credited data and sets what it would have paid beside what
  was paid (``payments``), rep by rep and pay period by pay period.
* :class:`ReplayResult` lists the discrepancies (over/under payment, missing
  or unexpected payments, duplicates) and summarises them.
* :func:`dispute_summary` counts disputes, amounts claimed and granted and
  resolution times by category, region and month; :func:`payout_trends`
  summarises payments over time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spm_model.calc.engine import CalcResult, calculate
from spm_model.crediting import CreditingResult
from spm_model.data.dataset import Dataset
from spm_model.data.periods import Frequency, parse_period, period_labels
from spm_model.errors import SpmConfigError
from spm_model.plans import Plan

RECON_STATUSES = {
    "match": "paid what the plan pays (within the tolerance)",
    "overpaid": "paid more than the plan pays",
    "underpaid": "paid less than the plan pays",
    "not_paid": "the plan pays something, no payment recorded",
    "unexpected_payment": "payment recorded where the plan pays nothing",
    "duplicate_payment": "several payments for one rep and period whose sum is off",
}
"""Statuses of :attr:`ReplayResult.reconciliation` and what they mean."""


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
        (:data:`RECON_STATUSES`), plus role, region and team. Currency.
    tolerance : float
        Differences up to this amount count as a match (currency).
    """

    calc: CalcResult
    reconciliation: pd.DataFrame
    tolerance: float = 0.01

    @property
    def discrepancies(self) -> pd.DataFrame:
        """Reconciliation rows that are not a match, largest difference first."""
        r = self.reconciliation
        d = r[r["status"] != "match"]
        return d.reindex(d["difference"].abs().sort_values(ascending=False).index).reset_index(
            drop=True
        )

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
            f"{len(self.discrepancies)} discrepancies)"
        )


def replay(
    plan: Plan,
    ds: Dataset,
    year: int | str,
    *,
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
    credits : CreditingResult, optional
        Crediting to use (default: credit ``ds`` with the plan's clawbacks).
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
    """
    label = str(year).strip()
    try:
        span = parse_period(label, plan.fy_start_month)
    except ValueError as exc:
        raise SpmConfigError(str(exc)) from None
    if span.freq != "year":
        raise SpmConfigError(f"replay needs a fiscal year such as 2025, got {year!r}")
    calc = calculate(plan, ds, span.label, credits=credits, reps=reps, progress=progress)
    recon = reconcile(calc, ds if payments is None else ds.replace(payments=payments), tolerance)
    return ReplayResult(calc, recon, tolerance)


def _freq_of(labels: pd.Series) -> Frequency | None:
    for lab in labels.dropna().astype(str).unique()[:50]:
        try:
            return parse_period(lab).freq
        except ValueError:
            continue
    return None


def reconcile(calc: CalcResult, ds: Dataset, tolerance: float = 0.01) -> pd.DataFrame:
    """Compare the payable amounts of ``calc`` with ``ds.payments`` per rep and period.

    The recomputed side uses the plan's pay periods; when payments are recorded
    on a coarser period (quarterly payments of a monthly plan), recomputed pay
    is summed to that period first.

    Returns
    -------
    DataFrame
        See :attr:`ReplayResult.reconciliation`.
    """
    plan = calc.plan
    s = calc.summary[calc.summary["pay_period_end"]].copy()
    ends = {p.label: p for p in calc.periods}
    pay = ds.payments.copy()
    pay_freq = _freq_of(pay["period"]) if len(pay) else None
    order = {"month": 1, "quarter": 2, "year": 3}
    freq: Frequency = plan.pay_frequency
    if pay_freq is not None and order[pay_freq] > order[freq]:
        freq = pay_freq
    end_dates = pd.DatetimeIndex([pd.Timestamp(ends[p].end) for p in s["period"]])
    s["pay_period"] = period_labels(end_dates, freq, plan.fy_start_month) if len(s) else []
    rec = s.groupby("rep_id", as_index=False).agg(
        role=("role", "first"), region=("region", "first"), team=("team", "first")
    )
    got = s.groupby(["rep_id", "pay_period"], as_index=False)["payable"].sum()
    got = got.rename(columns={"pay_period": "period", "payable": "recomputed"})
    valid = set(got["period"]) | {
        str(x)
        for x in period_labels(
            pd.date_range(calc.periods[0].start, calc.periods[-1].end, freq="D"),
            freq,
            plan.fy_start_month,
        )
    }
    reps = set(calc.summary["rep_id"])
    pay = pay[pay["rep_id"].astype(object).isin(reps) & pay["period"].astype(object).isin(valid)]
    paid = (
        pay.groupby([pay["rep_id"].astype(object), pay["period"].astype(object)])
        .agg(
            paid=("amount", "sum"),
            payments=("amount", "size"),
            payment_ids=("payment_id", lambda x: ", ".join(map(str, x))),
            max_payment=("amount", "max"),
        )
        .reset_index()
    )
    m = got.merge(paid, on=["rep_id", "period"], how="outer")
    m["recomputed"] = m["recomputed"].fillna(0.0).round(2)
    m["paid"] = m["paid"].fillna(0.0).round(2)
    m["payments"] = m["payments"].fillna(0).astype(int)
    m["payment_ids"] = m["payment_ids"].fillna("")
    m["difference"] = (m["paid"] - m["recomputed"]).round(2)
    tol = tolerance + 1e-9
    status = np.where(
        m["difference"].abs() <= tol,
        "match",
        np.where(
            (m["payments"] == 0) & (m["recomputed"] != 0),
            "not_paid",
            np.where(
                (m["recomputed"].abs() <= tol) & (m["paid"] != 0),
                "unexpected_payment",
                np.where(
                    (m["payments"] > 1) & ((m["max_payment"] - m["recomputed"]).abs() <= tol),
                    "duplicate_payment",
                    np.where(m["difference"] > 0, "overpaid", "underpaid"),
                ),
            ),
        ),
    )
    m["status"] = status
    m = m.merge(rec, on="rep_id", how="left")
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
    ]
    return m[cols].sort_values(["period", "rep_id"]).reset_index(drop=True)


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
