"""Leaderboards with movement and the payout at current attainment.

Every money figure comes from the exact statement engine (:mod:`spm_model.calc`):
``payout_now`` is the rep's as-of statement for the board's period (what is
payable if the period ended with the credit to date: same proration, true-ups,
draws, clawback windows, roll-ups and caps as the statement), and
``payout_at_quota`` the same statement re-run at 100% of quota
(:func:`spm_model.calc.what_if`). At the period's end with complete data the
payout equals the statement's payable, to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from spm_model.calc.asof import as_of_many, payable, what_if
from spm_model.performance.data import PerformanceData
from spm_model.plans import Plan, load_plan

GROUPS = ("company", "region", "team")
PAYOUT_COLUMNS = [
    "rep_id",
    "plan_id",
    "statement_period",
    "target_incentive",
    "payout_now",
    "payout_at_quota",
    "payout_gap",
]


def load_plans(folder: str | Path) -> dict[str, Plan]:
    """Load every ``*.yaml`` plan of a folder, keyed by plan id."""
    out: dict[str, Plan] = {}
    for p in sorted(Path(folder).glob("*.yaml")):
        plan = load_plan(p)
        out[plan.id] = plan
    return out


def _cents_sum(s: pd.DataFrame, col: str) -> pd.Series:
    cents = np.rint(s[col].to_numpy(np.float64) * 100).astype(np.int64)
    return pd.Series(cents, index=s["rep_id"].to_numpy()).groupby(level=0).sum() / 100.0


def estimated_payouts(
    pdata: PerformanceData,
    card: pd.DataFrame,
    plans: Mapping[str, Plan] | None = None,
    *,
    workers: int = 1,
) -> pd.DataFrame:
    """Payout now and at quota for each scorecard row, from the exact as-of statements.

    Parameters
    ----------
    pdata : PerformanceData
        The company and its crediting (reused: nothing is credited again).
    card : DataFrame
        Scorecards of one period (:func:`~spm_model.performance.scorecard.scorecards`);
        their ``period`` and ``as_of`` set the statement period and date.
    plans : mapping of plan id to Plan, optional
        Plans to pay (default ``pdata.plans``); each rep on ``reps.plan_id``.
    workers : int
        Processes for the exact evaluation.

    Returns
    -------
    DataFrame
        ``rep_id, plan_id, statement_period, target_incentive, payout_now,
        payout_at_quota, payout_gap`` (currency, to the cent). A plan measured
        over a longer period than the board's (a yearly plan on a quarterly
        board) is stated for its own period (``statement_period``). Reps
        without a plan or a statement have missing payouts.
    """
    plans = dict(plans if plans is not None else pdata.plans)
    if card.empty:
        return pd.DataFrame(columns=PAYOUT_COLUMNS)
    period = str(card["period"].iloc[0])
    cut = pd.Timestamp(card["as_of"].iloc[0])
    reps = pdata.ds.reps.set_index(pdata.ds.reps["rep_id"].astype(object))
    plan_id = (
        card["rep_id"].map(reps["plan_id"])
        if "plan_id" in reps
        else pd.Series(np.nan, index=card.index)
    )
    out = pd.DataFrame({"rep_id": card["rep_id"].to_numpy(), "plan_id": plan_id.to_numpy()})
    wanted = {str(p) for p in out["plan_id"].dropna().unique()}
    use = {pid: p for pid, p in plans.items() if pid in wanted}
    parts = []
    for res in as_of_many(
        use, pdata.ds, cut, period=period, credits=pdata.credits, workers=workers
    ):
        at_q = what_if(res, attainment=1.0, workers=workers)
        s = res.summary
        parts.append(
            pd.DataFrame(
                {
                    "plan_id": res.plan.id,
                    "statement_period": res.period,
                    "target_incentive": _cents_sum(s, "target_incentive"),
                    "payout_now": payable(res),
                    "payout_at_quota": payable(at_q),
                }
            )
            .rename_axis("rep_id")
            .reset_index()
        )
    pay = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[c for c in PAYOUT_COLUMNS if c != "payout_gap"])
    )
    # a rep's own plan only (a rep's statement exists only on the plan they are on)
    out = out.merge(pay, on=["rep_id", "plan_id"], how="left")
    out["payout_gap"] = (out["payout_at_quota"] - out["payout_now"]).clip(lower=0).round(2)
    return out[PAYOUT_COLUMNS]


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
