"""What goes with attainment: a regression of attainment on behaviours and territory.

An OLS regression (statsmodels) over rep-periods, standard errors clustered by
rep (a rep's periods are not independent): attainment on prospecting activity,
win rate, average deal size, tenure and territory potential, each standardised,
so every effect reads "one standard deviation more of X goes with Y points of
attainment". These are associations, not causes; the output says so.
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
    "prospecting_per_month": "prospecting touches per month (calls and emails)",
    "win_rate": "win rate (fraction of closed deals won)",
    "log_avg_deal_size": "average deal size (log)",
    "tenure_months": "tenure (months, capped at 36)",
    "log_territory_potential": "territory potential (log)",
}


@dataclass
class DriversResult:
    """Effects on attainment with uncertainty, and the words to read them.

    Attributes
    ----------
    table : DataFrame
        One row per driver: ``driver, meaning, sd, effect_pp, ci_low_pp,
        ci_high_pp, p_value`` (effect of +1 SD on attainment, percentage points).
    n_obs, n_reps : int
        Rep-periods and reps used.
    r_squared : float
        Share of the variation in attainment explained.
    sentences : list of str
        Plain-words reading of each effect.
    caution : str
        Association is not causation.
    """

    table: pd.DataFrame
    n_obs: int
    n_reps: int
    r_squared: float
    sentences: list[str] = field(default_factory=list)
    caution: str = CAUTION

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


def driver_panel(data: Dataset | PerformanceData, freq: str = "quarter") -> pd.DataFrame:
    """Rep-period rows with attainment and the candidate drivers (money-quota reps only)."""
    pdata = data if isinstance(data, PerformanceData) else PerformanceData(data)
    ds = pdata.ds
    panel = attainment_panel(pdata, freq)
    panel = panel[panel["measure"].isin(pdata.product_measures) & panel["attainment"].notna()]
    if panel.empty:
        return panel
    reps = ds.reps.set_index("rep_id")
    panel = panel[panel["rep_id"].map(reps["role"]).ne("MANAGER").to_numpy()].copy()
    opp = ds.opportunities
    closed = opp[opp["status"].isin(["won", "lost"])]
    acts = ds.activities[ds.activities["kind"].isin(["call", "email"])]
    rows = []
    for (_, s, e), grp in panel.groupby(["period", "start", "end"], sort=False):
        ids = grp["rep_id"]
        c = closed[(closed["close_date"] >= s) & (closed["close_date"] <= e)]
        won = c[c["status"] == "won"]
        n_closed = ids.map(c.groupby("owner_rep_id").size()).fillna(0)
        n_won = ids.map(won.groupby("owner_rep_id").size()).fillna(0)
        a = acts[(acts["date"] >= s) & (acts["date"] <= e)]
        hire = ids.map(reps["hire_date"])
        first = hire.where(hire > s, s)
        months = ((e - first).dt.days + 1) / (365.25 / 12)
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
                    "tenure_months": ((e - hire).dt.days / (365.25 / 12)).clip(upper=36).to_numpy(),
                    "log_territory_potential": np.log1p(
                        ids.map(pdata.territory_potential(e)).fillna(0.0)
                    ).to_numpy(),
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
    """Regress attainment on behaviours and territory (OLS, rep-clustered errors).

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
    cols = list(DRIVERS)
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
    ci = fit.conf_int(0.05)
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
            f"points {direction} attainment (95% interval {lo:+.1f} to {hi:+.1f}; "
            f"{sure} different from zero)."
        )
    table = (
        pd.DataFrame(rows)
        .sort_values("effect_pp", key=np.abs, ascending=False)
        .reset_index(drop=True)
    )
    return DriversResult(
        table, int(fit.nobs), int(df["rep_id"].nunique()), float(fit.rsquared), sentences
    )
