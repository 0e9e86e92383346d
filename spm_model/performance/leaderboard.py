"""Leaderboards with movement and the estimated payout at current attainment.

The payout comes from the vectorised plan engine of :mod:`spm_model.plans`
(``Plan.payout_arrays``): each rep's plan (``reps.plan_id``) is evaluated on the
period's credited values so far ("what I make if the period ended now") and on
credited = quota ("what I make when I reach quota"). It is an estimate: the
credit is the analytics attribution of :mod:`spm_model.performance.credit`,
draws, true-ups and clawbacks are not applied (statements come from ``spm_model.calc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from spm_model.performance.data import PerformanceData
from spm_model.plans import Plan, load_plan

GROUPS = ("company", "region", "team")


def load_plans(folder: str | Path) -> dict[str, Plan]:
    """Load every ``*.yaml`` plan of a folder, keyed by plan id."""
    out: dict[str, Plan] = {}
    for p in sorted(Path(folder).glob("*.yaml")):
        plan = load_plan(p)
        out[plan.id] = plan
    return out


def _measure_values(
    pdata: PerformanceData, plan: Plan, reps: pd.Series, start: pd.Timestamp, cut: pd.Timestamp
) -> dict[str, np.ndarray]:
    """Credited value of each plan measure for ``reps`` over ``start..cut``."""
    actual = pdata.actuals(start, cut)
    by = actual.set_index(["rep_id", "measure"])["actual"]
    c = pdata.credit
    sel = c[(c["date"] >= start) & (c["date"] <= cut)]
    out: dict[str, np.ndarray] = {}
    for name, m in plan.measures.items():
        if m.source == "credit":
            key = m.data_measure or name
            vals = [by.get((r, key), 0.0) for r in reps]
        elif m.source == "margin":
            mg = (
                sel.groupby("rep_id")["margin"].sum() if "margin" in sel else pd.Series(dtype=float)
            )
            vals = reps.map(mg).fillna(0.0).tolist()
        elif m.source == "activities":
            a = pdata.ds.activities
            a = a[(a["date"] >= start) & (a["date"] <= cut)]
            if m.activity_kinds:
                a = a[a["kind"].isin(m.activity_kinds)]
            vals = reps.map(a.groupby("rep_id").size()).fillna(0.0).tolist()
        elif m.source == "pipeline":
            o = pdata.ds.opportunities
            o = o[(o["created_date"] >= start) & (o["created_date"] <= cut)]
            vals = reps.map(o.groupby("owner_rep_id")["amount"].sum()).fillna(0.0).tolist()
        else:  # units and anything unknown: not measured by the analytics
            vals = [np.nan] * len(reps)
        out[name] = np.asarray(vals, dtype=float)
    return out


def _measure_quotas(
    pdata: PerformanceData,
    plan: Plan,
    reps: pd.Series,
    start: pd.Timestamp,
    end: pd.Timestamp,
    n_periods: float,
) -> dict[str, np.ndarray]:
    q = pdata.quotas(start, end).set_index(["rep_id", "measure"])["quota"]
    out: dict[str, np.ndarray] = {}
    for name, m in plan.measures.items():
        if m.fixed_quota is not None:
            out[name] = np.full(len(reps), float(m.fixed_quota) * n_periods)
        elif m.quota_ratio_of is None:
            key = m.quota_measure or name
            out[name] = np.asarray([q.get((r, key), np.nan) for r in reps], dtype=float)
    for name, m in plan.measures.items():
        if m.quota_ratio_of is not None and m.quota_ratio is not None:
            base = out.get(m.quota_ratio_of, np.full(len(reps), np.nan))
            out[name] = base * float(m.quota_ratio)
    return out


def estimated_payouts(
    pdata: PerformanceData,
    card: pd.DataFrame,
    plans: Mapping[str, Plan],
) -> pd.DataFrame:
    """Estimated incentive now and at quota for each scorecard row.

    Returns
    -------
    DataFrame
        ``rep_id, plan_id, target_incentive, payout_now, payout_at_quota,
        payout_gap`` (currency), for the period of ``card`` so far.
    """
    if card.empty:
        return pd.DataFrame(
            columns=["rep_id", "plan_id", "target_incentive", "payout_now", "payout_at_quota"]
        )
    start = pd.Timestamp(card["period_start"].iloc[0])
    end = pd.Timestamp(card["period_end"].iloc[0])
    cut = pd.Timestamp(card["as_of"].iloc[0])
    reps = pdata.ds.reps.set_index("rep_id")
    plan_id = (
        card["rep_id"].map(reps["plan_id"])
        if "plan_id" in reps
        else pd.Series(np.nan, index=card.index)
    )
    ote = card["rep_id"].map(reps["ote"]).astype(float)
    out = pd.DataFrame(
        {
            "rep_id": card["rep_id"],
            "plan_id": plan_id,
            "target_incentive": np.nan,
            "payout_now": np.nan,
            "payout_at_quota": np.nan,
        }
    )
    span_days = (end - start).days + 1
    for pid, idx in out.groupby("plan_id").groups.items():
        plan = plans.get(str(pid))
        if plan is None:
            continue
        rows = out.loc[idx]
        who = rows["rep_id"].reset_index(drop=True)
        n_periods = max(plan.periods_per_year * span_days / 365.25, 1e-9)
        n_periods = round(n_periods) if abs(n_periods - round(n_periods)) < 0.1 else n_periods
        ti = np.array(
            [
                float(plan.period_target_incentive(o)) * n_periods if np.isfinite(o) else np.nan
                for o in ote.loc[idx]
            ]
        )
        credited = _measure_values(pdata, plan, who, start, cut)
        quota = _measure_quotas(pdata, plan, who, start, end, n_periods)
        now = plan.payout_arrays(credited, quota, ti, periods=n_periods, components=False).total
        at_q = plan.payout_arrays(
            {k: np.nan_to_num(quota.get(k, v), nan=0.0) for k, v in credited.items()},
            quota,
            ti,
            periods=n_periods,
            components=False,
        ).total
        out.loc[idx, "target_incentive"] = np.round(ti, 2)
        out.loc[idx, "payout_now"] = np.asarray(now, dtype=float)
        out.loc[idx, "payout_at_quota"] = np.asarray(at_q, dtype=float)
    out["payout_gap"] = (out["payout_at_quota"] - out["payout_now"]).clip(lower=0).round(2)
    return out


def leaderboard(
    card: pd.DataFrame,
    by: str = "company",
    metric: str = "attainment",
    previous: pd.DataFrame | None = None,
    payouts: pd.DataFrame | None = None,
    ascending: bool = False,
) -> pd.DataFrame:
    """Rank reps by a metric within company, region or team.

    Parameters
    ----------
    card : DataFrame
        Scorecards of the period (:func:`~spm_model.performance.scorecard.scorecards`).
    by : {"company", "region", "team"}
        Grouping of the ranking.
    metric : str
        Scorecard column to rank by (default ``attainment``, a fraction).
    previous : DataFrame, optional
        The previous period's values: ``rep_id`` and ``metric`` (e.g. the
        previous period's scorecards or attainment panel rows); gives
        ``previous_rank`` and ``movement`` (places gained, positive is up).
    payouts : DataFrame, optional
        :func:`estimated_payouts` output to join.
    ascending : bool
        Rank low values first (for metrics where lower is better).

    Returns
    -------
    DataFrame
        ``group, rank, rep_id, name, ... , <metric>, previous_rank, movement``
        and payout columns; reps with a missing metric are ranked last (rank NaN).
    """
    if by not in GROUPS:
        raise ValueError(f"by must be one of {', '.join(GROUPS)}, got {by!r}")
    if metric not in card:
        raise ValueError(f"unknown metric {metric!r}; choose a scorecard column")
    cols = [
        c
        for c in (
            "rep_id",
            "name",
            "role",
            "region",
            "team",
            "quota",
            "bookings",
            "attainment",
            "pace",
        )
        if c in card
    ]
    lb = card[list(dict.fromkeys([*cols, metric]))].copy()
    lb["group"] = "company" if by == "company" else lb[by].astype(str)
    lb["rank"] = lb.groupby("group")[metric].rank(method="min", ascending=ascending)
    if previous is not None and metric in previous:
        prev = previous[["rep_id", metric]].drop_duplicates("rep_id")
        prev = prev.merge(lb[["rep_id", "group"]], on="rep_id", how="inner")
        prev["previous_rank"] = prev.groupby("group")[metric].rank(
            method="min", ascending=ascending
        )
        lb["previous_rank"] = lb["rep_id"].map(prev.set_index("rep_id")["previous_rank"])
        lb["movement"] = lb["previous_rank"] - lb["rank"]
    else:
        lb["previous_rank"] = np.nan
        lb["movement"] = np.nan
    if payouts is not None:
        lb = lb.merge(
            payouts.drop(columns=[c for c in ("plan_id",) if c in lb]), on="rep_id", how="left"
        )
    lb = lb.sort_values(["group", "rank", "rep_id"], na_position="last", kind="stable")
    front = ["group", "rank"]
    return lb[front + [c for c in lb.columns if c not in front]].reset_index(drop=True)
