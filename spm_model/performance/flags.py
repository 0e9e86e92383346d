"""Coaching flags: who needs help, and why, in words a manager can act on.

Five flags, thresholds in :class:`~spm_model.performance.config.FlagConfig`:

``behind_pace_thin_pipeline``
    Pace (attainment / expected share of the period's bookings by now) below
    ``behind_pace`` and weighted pipeline below ``thin_coverage`` x the remaining quota.
``activity_without_wins``
    Prospecting touches per month (calls and emails by default) at or above the
    ``high_activity_pct`` percentile of sellers with the same role family, and a
    win rate below ``low_win_rate_ratio`` x the median win rate of sellers
    (at least ``min_closed_deals`` closed deals). Sellers are compared company-wide:
    peer groups are often too small to judge a rate.
``concentrated_on_one_deal``
    One deal is at least ``concentration_share`` of bookings plus open pipeline.
``slow_ramp``
    Tenure under ``ramp_months`` and projected attainment below ``ramp_ratio`` x
    the tenure curve (median attainment of reps at the same tenure, from history).
``sudden_drop``
    Projected attainment below ``drop_ratio`` x the rep's own mean over the
    previous ``drop_history`` periods (when that mean is at least ``drop_min_mean``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spm_model.performance.config import FlagConfig

FLAG_NAMES = (
    "behind_pace_thin_pipeline",
    "activity_without_wins",
    "concentrated_on_one_deal",
    "slow_ramp",
    "sudden_drop",
)

SELLER_ROLES = ("AE", "AM", "FIELD", "CHANNEL")
"""Roles whose win rates are compared with each other."""


def _ratio(num: object, den: object) -> np.ndarray:
    n = np.asarray(num, dtype=float)
    d = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(n, d).shape, np.nan)
    np.divide(n, d, out=out, where=np.isfinite(d) & (d != 0))
    return out


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.0%}"


def _money(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:,.0f}"


def tenure_curve(panel: pd.DataFrame, reps: pd.DataFrame, step_months: int = 3) -> pd.Series:
    """Median attainment by tenure (months at the period end, in ``step_months`` bins).

    Parameters
    ----------
    panel : DataFrame
        :func:`~spm_model.performance.scorecard.attainment_panel` output.
    reps : DataFrame
        The reps table (``hire_date``).

    Returns
    -------
    Series
        Index: tenure bin start (months); values: median attainment (fraction).
    """
    if panel.empty:
        return pd.Series(dtype=float)
    hire = panel["rep_id"].map(reps.set_index("rep_id")["hire_date"])
    months = (panel["end"] - hire).dt.days / (365.25 / 12)
    bins = (months // step_months * step_months).clip(lower=0)
    ok = panel["attainment"].notna() & bins.notna()
    return panel.loc[ok, "attainment"].groupby(bins[ok]).median().sort_index()


def coaching_flags(
    card: pd.DataFrame,
    panel: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
    config: FlagConfig | None = None,
) -> pd.DataFrame:
    """Evaluate the coaching flags on a scorecard.

    Parameters
    ----------
    card : DataFrame
        :func:`~spm_model.performance.scorecard.scorecards` output (one period).
    panel : DataFrame, optional
        :func:`~spm_model.performance.scorecard.attainment_panel` output; needed
        for ``slow_ramp`` and ``sudden_drop`` (skipped without it). Only periods
        ending before the scorecard's period start are used.
    reps : DataFrame, optional
        The reps table (for the tenure curve).
    config : FlagConfig, optional
        Thresholds.

    Returns
    -------
    DataFrame
        One row per raised flag: ``rep_id, name, team, region, role, period, flag,
        reason`` (a sentence with the numbers), ``severity`` (how far past the
        threshold, 0..1, larger is worse).
    """
    cfg = config or FlagConfig.model_validate({})
    rows: list[dict[str, object]] = []
    if card.empty:
        return pd.DataFrame(columns=["rep_id", "flag", "reason", "severity"])

    def add(mask: np.ndarray, flag: str, reasons: list[str], severity: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            r = card.iloc[i]
            rows.append(
                {
                    "rep_id": r["rep_id"],
                    "name": r.get("name"),
                    "team": r.get("team"),
                    "region": r.get("region"),
                    "role": r.get("role"),
                    "period": r.get("period"),
                    "flag": flag,
                    "reason": reasons[i],
                    "severity": float(np.clip(severity[i], 0, 1)),
                }
            )

    pace = card["pace"].to_numpy(dtype=float)
    cov = card["coverage_weighted"].to_numpy(dtype=float)
    elapsed = card["elapsed_share"].to_numpy(dtype=float)
    money = card["coverage_weighted"].notna().to_numpy() | (card["remaining_quota"] == 0).to_numpy()

    # 1. behind pace with thin pipeline (late in the period: next period's pipeline)
    late = elapsed >= cfg.late_in_period
    next_cov = card["next_coverage_weighted"].to_numpy(dtype=float)
    use_cov = np.where(late, next_cov, cov)
    m1 = (
        (elapsed >= cfg.min_elapsed_share)
        & np.isfinite(pace)
        & (pace < cfg.behind_pace)
        & np.isfinite(use_cov)
        & (use_cov < cfg.thin_coverage)
        & money
    )

    def pipeline_words(i: int, r: Any) -> str:
        if late[i]:
            return (
                f"weighted pipeline for {r.next_period} covers only {next_cov[i]:.1f}x "
                f"next period's {_money(r.next_quota)} quota"
            )
        return (
            f"weighted pipeline closing this period covers only {cov[i]:.1f}x the "
            f"{_money(r.remaining_quota)} still to go"
        )

    reasons = [
        f"Behind pace: {_pct(r.attainment)} of the {_money(r.quota)} quota booked with "
        f"{_pct(r.expected_share)} of the period's bookings normally in by now (pace "
        f"{_pct(r.pace)}); {pipeline_words(i, r)}. Build pipeline or pull deals forward."
        if m1[i]
        else ""
        for i, r in enumerate(card.itertuples(index=False))
    ]
    add(m1, "behind_pace_thin_pipeline", reasons, 1 - _ratio(pace, cfg.behind_pace))

    # 2. healthy activity but low win rate (sellers compared company-wide)
    seller = card["role"].isin(SELLER_ROLES).to_numpy()
    closed = (card["won_deals"] + card["lost_deals"]).to_numpy()
    judged = seller & (closed >= cfg.min_closed_deals)
    act = card["prospecting_per_month"].astype(float)
    act_pct = act.where(seller).rank(pct=True).to_numpy()
    wr = card["win_rate"].to_numpy(dtype=float)
    med_wr = float(np.nanmedian(wr[judged])) if judged.any() else np.nan
    m2 = judged & (act_pct >= cfg.high_activity_pct) & (wr < cfg.low_win_rate_ratio * med_wr)
    reasons = [
        f"Busy but not winning: {act.iloc[i]:.1f} prospecting touches a month (top "
        f"{1 - act_pct[i]:.0%} of sellers) but wins {_pct(wr[i])} of closed deals against a "
        f"median of {_pct(med_wr)} ({int(closed[i])} deals in the last year). Review "
        "qualification and deal strategy, not effort."
        if m2[i]
        else ""
        for i in range(len(card))
    ]
    add(m2, "activity_without_wins", reasons, 1 - _ratio(wr, cfg.low_win_rate_ratio * med_wr))

    # 3. concentration on one deal
    share = card["largest_deal_share"].to_numpy(dtype=float)
    big = _ratio(card["largest_deal"], card["quota"]) >= cfg.concentration_min_quota_share
    m3 = np.isfinite(share) & (share >= cfg.concentration_share) & big
    reasons = [
        f"Concentrated: one deal of {_money(r.largest_deal)} ({_pct(r.largest_deal / r.quota)} "
        f"of quota) is {_pct(share[i])} of this period's bookings plus open pipeline. Widen "
        "the pipeline so the period does not hinge on it."
        if m3[i]
        else ""
        for i, r in enumerate(card.itertuples(index=False))
    ]
    add(m3, "concentrated_on_one_deal", reasons, share)

    # 4 and 5 need history
    if panel is not None and not panel.empty:
        start = pd.Timestamp(card["period_start"].iloc[0])
        hist = panel[panel["end"] < start]
        proj = card["projected_attainment"].to_numpy(dtype=float)
        if reps is not None and not hist.empty:
            curve = tenure_curve(hist, reps)
            if not curve.empty:
                tenure = card["tenure_months"].to_numpy(dtype=float)
                idx = np.searchsorted(curve.index.to_numpy(dtype=float), tenure, side="right") - 1
                expected = np.where(idx >= 0, curve.to_numpy()[np.clip(idx, 0, None)], np.nan)
                m4 = (
                    (tenure < cfg.ramp_months)
                    & np.isfinite(proj)
                    & np.isfinite(expected)
                    & (proj < cfg.ramp_ratio * expected)
                )
                reasons = [
                    f"Slow ramp: {tenure[i]:.0f} months in, projected at {_pct(proj[i])} of "
                    f"quota where reps at this tenure typically reach {_pct(expected[i])}. "
                    "Pair with a mentor and review territory and onboarding."
                    if m4[i]
                    else ""
                    for i in range(len(card))
                ]
                add(m4, "slow_ramp", reasons, 1 - _ratio(proj, cfg.ramp_ratio * expected))
        if not hist.empty:
            last = hist.sort_values("end").groupby("rep_id").tail(cfg.drop_history)
            # clip so one quarter on a tiny ramp quota (e.g. 478%) does not set the bar
            mean = last["attainment"].clip(upper=cfg.drop_clip).groupby(last["rep_id"]).mean()
            n = last.groupby("rep_id")["attainment"].count()
            own = card["rep_id"].map(mean).to_numpy(dtype=float)
            nh = card["rep_id"].map(n).fillna(0).to_numpy()
            m5 = (
                (nh >= 2)
                & np.isfinite(own)
                & (own >= cfg.drop_min_mean)
                & np.isfinite(proj)
                & (proj < cfg.drop_ratio * own)
                & (elapsed >= cfg.min_elapsed_share)
            )
            reasons = [
                f"Sudden drop: projected at {_pct(proj[i])} of quota against an average of "
                f"{_pct(own[i])} over the previous {int(nh[i])} periods. Ask what changed "
                "(territory, a lost account, personal circumstances)."
                if m5[i]
                else ""
                for i in range(len(card))
            ]
            add(m5, "sudden_drop", reasons, 1 - _ratio(proj, cfg.drop_ratio * own))
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(
            columns=[
                "rep_id",
                "name",
                "team",
                "region",
                "role",
                "period",
                "flag",
                "reason",
                "severity",
            ]
        )
    return out.sort_values(["team", "rep_id", "flag"], kind="stable").reset_index(drop=True)
