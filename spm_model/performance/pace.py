"""Reps behind pace, and what their scorecard says about why.

A manager's list of reps behind pace (``pace < 1``: less booked than the share of
the period elapsed expects) needs a reason beside each name, or it is a list of
names. Coaching flags are rare by design (at most about one rep in five, only
when the evidence is sure), so most reps behind pace carry none. Each row here
gives, in this order:

1. the reasons of the rep's coaching flags, if any;
2. the open pipeline against what is left of the quota (``coverage_weighted``:
   probability-weighted pipeline / remaining quota): below 1 the pipeline cannot
   close the gap even if every deal closes as weighted;
3. the win rate, when it is below ``ratio`` x the median of the same role in the
   table and rests on at least ``min_closed`` closed deals;
4. activities a month, when below ``ratio`` x the role's median.

When none of 2-4 applies, the pipeline covers what is left and the row says that
the deals have yet to close (a timing gap, not a pattern).
"""

from __future__ import annotations

import math

import pandas as pd

#: Share of the role's median below which a win rate or an activity rate is named.
BEHIND_RATIO = 0.75
#: Closed (won + lost) deals a win rate needs before it is named.
MIN_CLOSED_DEALS = 5


def _num(row: pd.Series, col: str) -> float:
    v = row.get(col, math.nan)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def behind_pace(
    card: pd.DataFrame,
    flags: pd.DataFrame | None = None,
    *,
    ratio: float = BEHIND_RATIO,
    min_closed: int = MIN_CLOSED_DEALS,
) -> pd.DataFrame:
    """Reps behind pace, slowest first, each with the reasons the data give.

    Parameters
    ----------
    card : DataFrame
        Scorecards (:func:`~spm_model.performance.scorecards`): ``rep_id``, ``pace``
        and, where present, ``name``, ``role``, ``attainment``, ``coverage_weighted``,
        ``remaining_quota``, ``win_rate``, ``won_deals``, ``lost_deals``,
        ``activities_per_month``. Role medians are taken over this table.
    flags : DataFrame, optional
        Coaching flags ``rep_id, reason`` (:func:`~spm_model.performance.coaching_flags`).
    ratio : float
        Fraction of the role's median below which the win rate or activity is named.
    min_closed : int
        Closed deals a win rate needs to be named.

    Returns
    -------
    DataFrame
        ``rep_id, name, attainment, pace, why`` (attainment and pace as fractions).
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
    cols = ["rep_id", "name", "attainment", "pace", "why"]
    if card.empty or "pace" not in card:
        return pd.DataFrame(columns=cols)
    role = card["role"] if "role" in card else pd.Series("", index=card.index)
    medians = {
        m: card[m].astype(float).groupby(role).median() if m in card else pd.Series(dtype=float)
        for m in ("win_rate", "activities_per_month")
    }
    flag_text: dict[str, str] = {}
    if flags is not None and len(flags):
        flag_text = flags.groupby("rep_id")["reason"].apply(lambda s: " ".join(s)).to_dict()
    behind = card[card["pace"].astype(float) < 1].sort_values("pace")
    rows = []
    for _, r in behind.iterrows():
        parts = [flag_text[r["rep_id"]]] if r["rep_id"] in flag_text else []
        facts = []
        cov = _num(r, "coverage_weighted")
        if math.isfinite(cov) and cov < 1:
            facts.append(
                f"weighted pipeline covers {cov:.2f}x of the quota left: "
                "too little to catch up without new deals"
            )
        rl = r.get("role", "")
        wr = _num(r, "win_rate")
        closed = _num(r, "won_deals") + _num(r, "lost_deals")
        wr_med = medians["win_rate"].get(rl, math.nan)
        if (
            math.isfinite(wr)
            and math.isfinite(wr_med)
            and closed >= min_closed
            and wr < ratio * wr_med
        ):
            facts.append(f"win rate {wr:.0%} against {wr_med:.0%} for the {rl} role here")
        act = _num(r, "activities_per_month")
        act_med = medians["activities_per_month"].get(rl, math.nan)
        if math.isfinite(act) and math.isfinite(act_med) and act_med > 0 and act < ratio * act_med:
            facts.append(f"{act:.0f} activities a month against {act_med:.0f} for the role")
        if not facts:
            if math.isfinite(cov):
                facts.append(
                    f"weighted pipeline covers {cov:.2f}x of the quota left: "
                    "the deals have yet to close"
                )
            else:
                facts.append("no pipeline measure for this rep's quota")
        text = "; ".join(facts)
        parts.append(text[0].upper() + text[1:] + ".")
        rows.append(
            {
                "rep_id": r["rep_id"],
                "name": r.get("name", ""),
                "attainment": r.get("attainment", math.nan),
                "pace": r["pace"],
                "why": " ".join(parts),
            }
        )
    return pd.DataFrame(rows, columns=cols)
