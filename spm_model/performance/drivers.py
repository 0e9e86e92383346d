"""What goes with attainment: a multi-quarter panel regression with 90% intervals.

Rows are rep-periods (quarters by default) of reps with a money quota. Behaviours
are measured over a trailing look-back of ``lookback_periods`` periods ending with
the row's period (one quarter of activity counts is too noisy a measure of a rep's
habit): prospecting touches per month, new-business win rate, average deal size,
sales-cycle length; with tenure and owned territory potential. Rows whose rep owns
no territory potential at the period end are left out of the model and counted
(``n_no_territory``): a log of zero potential is not a small territory, and those
rows (leavers, vacancies, overlays) would otherwise drive the potential effect.

The model is OLS (statsmodels) with standard errors clustered by rep (a rep's
quarters are not independent), each driver standardised, so every effect reads
"one standard deviation more of X goes with Y points of attainment", with a 90%
interval. These are associations, not causes; the output says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.performance.data import PerformanceData
from spm_model.performance.scorecard import attainment_panel

CAUTION = (
    "These are associations across reps and periods, not causes: territories, "
    "roles and luck differ between reps, and a driver can stand in for something "
    "unmeasured. Use them to ask questions, not to set targets."
)

DRIVERS = {
    "prospecting_per_month": "prospecting touches per month (calls and emails, look-back)",
    "win_rate": "new-business win rate (fraction of closed deals won, look-back)",
    "log_avg_deal_size": "average won deal size (log, look-back)",
    "sales_cycle_days": "sales cycle (days from creation to win, look-back)",
    "tenure_months": "tenure (months, capped at 36)",
    "log_territory_potential": "territory potential (log)",
}

#: Interval level of the effects.
INTERVAL = 0.90


@dataclass
class DriversResult:
    """Effects on attainment with uncertainty, and the words to read them.

    Attributes
    ----------
    table : DataFrame
        One row per driver: ``driver, meaning, sd, effect_pp, ci_low_pp,
        ci_high_pp, p_value`` (effect of +1 SD on attainment, percentage points,
        with its 90% interval).
    n_obs, n_reps : int
        Rep-periods and reps used.
    r_squared : float
        Share of the variation in attainment explained.
    sentences : list of str
        Plain-words reading of each effect.
    caution : str
        Association is not causation.
    n_no_territory : int
        Rep-periods left out because the rep owned no territory potential.
    """

    table: pd.DataFrame
    n_obs: int
    n_reps: int
    r_squared: float
    sentences: list[str] = field(default_factory=list)
    caution: str = CAUTION
    n_no_territory: int = 0

    def summary(self) -> str:
        """Text a manager can read."""
        lines = [
            f"Drivers of attainment: {self.n_obs} rep-periods of {self.n_reps} reps, "
            f"R-squared {self.r_squared:.2f}.",
            *[f"- {s}" for s in self.sentences],
            "",
            f"Caution: {self.caution}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def driver_panel(
    data: Dataset | PerformanceData,
    freq: str = "quarter",
    lookback_periods: int = 4,
    renewal_measures: tuple[str, ...] = ("renewal",),
) -> pd.DataFrame:
    """Rep-period rows with attainment and the candidate drivers (money-quota reps only).

    Parameters
    ----------
    data : Dataset or PerformanceData
        The company.
    freq : str
        Period of the attainment panel.
    lookback_periods : int
        Periods (ending with the row's) over which the behaviours are measured.
    renewal_measures : tuple of str
        Measures whose opportunities are renewals (left out of win rate, deal size
        and cycle).

    Returns
    -------
    DataFrame
        ``rep_id, period, attainment`` (fraction), the :data:`DRIVERS` columns,
        ``territory_potential`` (currency per year, at the period end) and
        ``lookback_months`` (months of the look-back the rep was employed).
    """
    pdata = data if isinstance(data, PerformanceData) else PerformanceData(data)
    ds = pdata.ds
    panel = attainment_panel(pdata, freq)
    panel = panel[panel["measure"].isin(pdata.product_measures) & panel["attainment"].notna()]
    if panel.empty:
        return panel
    reps = ds.reps.set_index("rep_id")
    panel = panel[panel["rep_id"].map(reps["role"]).ne("MANAGER").to_numpy()].copy()
    opp = ds.opportunities
    if "products" in ds and "product_id" in opp:
        pm = ds.products.set_index("product_id")["measure"]
        opp = opp[~opp["product_id"].map(pm).isin(list(renewal_measures)).to_numpy()]
    closed = opp[opp["status"].isin(["won", "lost"])]
    acts = ds.activities[ds.activities["kind"].isin(["call", "email"])]
    ends = sorted(panel["end"].unique())
    starts = dict(zip(panel["end"], panel["start"], strict=False))
    rows = []
    for (_per, _, e), grp in panel.groupby(["period", "start", "end"], sort=False):
        k = ends.index(e)
        s = pd.Timestamp(starts[ends[max(0, k - lookback_periods + 1)]])
        e = pd.Timestamp(e)
        ids = grp["rep_id"]
        c = closed[(closed["close_date"] >= s) & (closed["close_date"] <= e)]
        won = c[c["status"] == "won"]
        n_closed = ids.map(c.groupby("owner_rep_id").size()).fillna(0)
        n_won = ids.map(won.groupby("owner_rep_id").size()).fillna(0)
        a = acts[(acts["date"] >= s) & (acts["date"] <= e)]
        hire = ids.map(reps["hire_date"])
        first = hire.where(hire > s, s)
        months = ((e - first).dt.days + 1) / (365.25 / 12)
        cycle = (won["close_date"] - won["created_date"]).dt.days
        pot = ids.map(pdata.territory_potential(e)).fillna(0.0).to_numpy(dtype=float)
        with np.errstate(divide="ignore"):
            lpot = np.where(pot > 0, np.log(np.where(pot > 0, pot, 1.0)), np.nan)
        rows.append(
            pd.DataFrame(
                {
                    "rep_id": ids.to_numpy(),
                    "period": grp["period"].to_numpy(),
                    "attainment": grp["attainment"].to_numpy(),
                    "prospecting_per_month": (
                        ids.map(a.groupby("rep_id").size()).fillna(0) / months
                    ).to_numpy(),
                    "win_rate": np.where(
                        n_closed > 0, n_won / n_closed.where(n_closed > 0, 1), np.nan
                    ),
                    "log_avg_deal_size": np.log(
                        ids.map(won.groupby("owner_rep_id")["amount"].mean())
                    ).to_numpy(),
                    "sales_cycle_days": ids.map(cycle.groupby(won["owner_rep_id"]).mean()).to_numpy(
                        dtype=float
                    ),
                    "tenure_months": ((e - hire).dt.days / (365.25 / 12)).clip(upper=36).to_numpy(),
                    "log_territory_potential": lpot,
                    "territory_potential": pot,
                    "lookback_months": months.to_numpy(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def attainment_drivers(
    data: Dataset | PerformanceData | pd.DataFrame,
    freq: str = "quarter",
    clip_attainment: float = 3.0,
    min_obs: int = 30,
) -> DriversResult:
    """Regress attainment on look-back behaviours and territory (OLS, rep-clustered errors).

    Parameters
    ----------
    data : Dataset, PerformanceData or DataFrame
        The company, or a ready :func:`driver_panel`.
    freq : {"quarter", "month", "year"}
        Period of the attainment panel.
    clip_attainment : float
        Attainment is clipped at this (fraction) so a tiny ramp quota does not dominate.
    min_obs : int
        Fewer complete rep-periods than this: no regression, the result says why.

    Returns
    -------
    DriversResult
    """
    import statsmodels.api as sm

    panel = data if isinstance(data, pd.DataFrame) else driver_panel(data, freq)
    cols = [c for c in DRIVERS if c in panel.columns]
    n_no_territory = 0
    if "territory_potential" in panel:
        no_terr = ~(panel["territory_potential"].fillna(0.0) > 0)
        n_no_territory = int(no_terr.sum())
        panel = panel[~no_terr]
    df = (
        panel.replace([np.inf, -np.inf], np.nan).dropna(subset=["attainment", *cols])
        if not panel.empty
        else panel
    )
    if len(df) < min_obs or df["rep_id"].nunique() < 5:
        return DriversResult(
            pd.DataFrame(
                columns=[
                    "driver",
                    "meaning",
                    "sd",
                    "effect_pp",
                    "ci_low_pp",
                    "ci_high_pp",
                    "p_value",
                ]
            ),
            len(df),
            int(df["rep_id"].nunique()) if len(df) else 0,
            float("nan"),
            [
                f"Not enough data for a regression ({len(df)} complete rep-periods; "
                f"{min_obs} needed)."
            ],
        )
    y = df["attainment"].clip(upper=clip_attainment)
    sd = df[cols].std(ddof=0).replace(0, np.nan)
    keep = [c for c in cols if np.isfinite(sd[c])]
    z = (df[keep] - df[keep].mean()) / sd[keep]
    x = sm.add_constant(z)
    groups = pd.factorize(df["rep_id"])[0]
    fit = sm.OLS(y.to_numpy(), x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    ci = fit.conf_int(1.0 - INTERVAL)
    rows, sentences = [], []
    for c in keep:
        eff, lo, hi, p = fit.params[c] * 100, ci.loc[c, 0] * 100, ci.loc[c, 1] * 100, fit.pvalues[c]
        rows.append(
            {
                "driver": c,
                "meaning": DRIVERS[c],
                "sd": float(sd[c]),
                "effect_pp": float(eff),
                "ci_low_pp": float(lo),
                "ci_high_pp": float(hi),
                "p_value": float(p),
            }
        )
        sure = "clearly" if (lo > 0 or hi < 0) else "not clearly"
        direction = "higher" if eff > 0 else "lower"
        sentences.append(
            f"One standard deviation more {DRIVERS[c]} (+{sd[c]:.3g}) goes with {abs(eff):.1f} "
            f"points {direction} attainment ({INTERVAL:.0%} interval {lo:+.1f} to {hi:+.1f}; "
            f"{sure} different from zero)."
        )
    table = (
        pd.DataFrame(rows)
        .sort_values("effect_pp", key=np.abs, ascending=False)
        .reset_index(drop=True)
    )
    if n_no_territory:
        sentences.append(
            f"{n_no_territory} rep-periods without territory potential at the period end "
            "(leavers, vacancies, overlays) are left out."
        )
    return DriversResult(
        table,
        int(fit.nobs),
        int(df["rep_id"].nunique()),
        float(fit.rsquared),
        sentences,
        n_no_territory=n_no_territory,
    )
