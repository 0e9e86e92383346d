"""What goes with attainment: a multi-quarter panel regression with 90% intervals.

Rows are rep-periods (quarters by default) of reps with a money quota. Behaviours
are measured over a trailing look-back of ``lookback_periods`` periods ending with
the row's period (one quarter of activity counts is too noisy a measure of a rep's
habit): prospecting touches per month, new-business win rate, average deal size,
sales-cycle length; with tenure and owned territory potential. Rows whose rep owns
no territory potential at the period end are left out of the model and counted
(``n_no_territory``): a log of zero potential is not a small territory, and those
rows (leavers, vacancies, overlays) would otherwise drive the potential effect. So
are rows whose rep was employed under ``min_lookback_months`` (3) of the look-back
(``n_short_lookback``): a rate over days or weeks is mostly noise.

The model is OLS (statsmodels) with standard errors clustered by rep (a rep's
quarters are not independent), each driver standardised, so every effect reads
"one standard deviation more of X goes with Y points of attainment", with a 90%
interval. These are associations, not causes; the output says so.

Even four quarters of activity counts carry sampling noise (the variance of a rate
over ``m`` months is about phi x rate / m, with phi the reps' month-to-month
dispersion, :func:`count_dispersion`; 1 for Poisson counts), which shrinks the activity effect
towards zero by the measure's reliability (on generated companies the look-back
rate's reliability was about 0.75, and OLS put the activity effect 10-30% below
the same regression on the generator's true activity levels). The panel carries
each row's noise variance (``noise_var_prospecting_per_month``) and the model
corrects for it by the method of moments (errors in variables, Fuller 1987):
slopes ``(S_xx - S_uu)^-1 S_xy``, effects per standard deviation of the underlying
habit, 90% intervals from resampling reps. Win rate, deal size and cycle are not
corrected: they are computed from the same deals as attainment, so their noise is
not independent of the outcome and the correction would overshoot.
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
    corrected : bool
        Whether the activity effect is corrected for its sampling noise.
    n_short_lookback : int
        Rep-periods left out because the rep was employed for too little of the
        look-back (``min_lookback_months``).
    """

    table: pd.DataFrame
    n_obs: int
    n_reps: int
    r_squared: float
    sentences: list[str] = field(default_factory=list)
    caution: str = CAUTION
    n_no_territory: int = 0
    corrected: bool = False
    n_short_lookback: int = 0

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
        n_act = ids.map(a.groupby("rep_id").size()).fillna(0)
        # sampling noise of the activity rate: counts with the dispersion of the reps'
        # month-to-month counts (quasi-Poisson: var(count / months) = phi x rate /
        # months). The deal-based behaviours (win rate, deal size, cycle) come from the
        # same deals as attainment: their noise is not independent of the outcome, so
        # no noise column (and no correction) for them.
        phi = count_dispersion(a, ids, hire, s, e)
        noise = {
            "prospecting_per_month": (phi * n_act / months**2).to_numpy(dtype=float),
        }
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
                    **{f"noise_var_{k}": v for k, v in noise.items()},
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def count_dispersion(
    events: pd.DataFrame,
    ids: pd.Series,
    hire: pd.Series,
    start: pd.Timestamp,
    end: pd.Timestamp,
    min_rep_months: int = 20,
) -> float:
    """Pooled dispersion of reps' monthly event counts (1 for Poisson counts).

    Pearson's estimate over the calendar months of ``[start, end]`` each rep was
    employed for in full: ``phi = sum_r sum_m (c_rm - cbar_r)^2 / cbar_r / sum_r
    (M_r - 1)``. A rate measured over ``m`` months then has sampling variance
    ``phi x rate / m``: month-to-month swings in a rep's activity (busy and
    quiet months, leave) are noise around the habit as much as the Poisson
    scatter is, and real activity logs are rarely Poisson. On generated companies
    (whose touches are Poisson around a constant habit) phi was 0.89-1.12, and
    over the full-year look-backs the variance of the measured rate around the
    true habit (0.58) matched the estimated noise variance (0.54).

    Parameters
    ----------
    events : DataFrame
        ``rep_id, date`` of the counted events (already the window's).
    ids, hire : Series
        The reps and their hire dates (same order).
    start, end : Timestamp
        The window.
    min_rep_months : int
        Fewer usable rep-months than this (or no events): 1.0 (Poisson).

    Returns
    -------
    float
        The dispersion (ratio; 1.0 = Poisson).
    """
    months = pd.period_range(start, end, freq="M")
    full = months[(months.start_time >= start) & (months.end_time <= end + pd.Timedelta(days=1))]
    if len(full) < 2 or events.empty:
        return 1.0
    counts = (
        events.assign(month=events["date"].dt.to_period("M"))
        .groupby(["rep_id", "month"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=ids.to_numpy(), columns=full, fill_value=0)
        .to_numpy(dtype=float)
    )
    employed = full.start_time.to_numpy()[None, :] >= hire.to_numpy()[:, None]
    n = employed.sum(axis=1)
    c = np.where(employed, counts, 0.0)
    mean = np.divide(c.sum(axis=1), n, out=np.zeros(len(n)), where=n > 0)
    use = (n >= 2) & (mean > 0)
    if n[use].sum() < min_rep_months:
        return 1.0
    dev = np.where(employed[use], (c[use] - mean[use, None]) ** 2, 0.0).sum(axis=1)
    return float((dev / mean[use]).sum() / (n[use] - 1).sum())


def attainment_drivers(
    data: Dataset | PerformanceData | pd.DataFrame,
    freq: str = "quarter",
    clip_attainment: float = 3.0,
    min_obs: int = 30,
    measurement_error: bool = True,
    n_boot: int = 999,
    seed: int = 0,
    min_lookback_months: float = 3.0,
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
    measurement_error : bool
        Correct for the sampling noise of the look-back averages (the panel's
        ``noise_var_*`` columns, see :func:`driver_panel`) by the method of moments
        (errors in variables) with a rep-level bootstrap for the intervals; effects
        are then per standard deviation of the underlying habit, not of its noisy
        measurement. Without those columns, or with ``False``: OLS.
    n_boot : int
        Bootstrap resamples of reps for the corrected intervals.
    seed : int
        Randomness of the bootstrap (same seed, same intervals).
    min_lookback_months : float
        Rep-periods whose rep was employed fewer months of the look-back are left
        out and counted (``n_short_lookback``): a rate over a few days or weeks is
        mostly noise (a rep hired two days before the period end with three calls
        reads 45 a month), its sampling variance is estimated from that same count
        (zero for a zero count), and such rows drove the activity effect. On 38
        generated companies (seeds 302-339) leaving out rows under three months
        took the corrected activity effect from 0.84 to 0.92 of the regression on
        the generator's true activity levels.

    Returns
    -------
    DriversResult
    """
    import statsmodels.api as sm

    panel = data if isinstance(data, pd.DataFrame) else driver_panel(data, freq)
    cols = [c for c in DRIVERS if c in panel.columns]
    n_no_territory = n_short_lookback = 0
    if "territory_potential" in panel:
        no_terr = ~(panel["territory_potential"].fillna(0.0) > 0)
        n_no_territory = int(no_terr.sum())
        panel = panel[~no_terr]
    if "lookback_months" in panel and min_lookback_months > 0:
        short = panel["lookback_months"].fillna(0.0) < min_lookback_months
        n_short_lookback = int(short.sum())
        panel = panel[~short]
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
    est = {
        c: (fit.params[c] * 100, ci.loc[c, 0] * 100, ci.loc[c, 1] * 100, fit.pvalues[c])
        for c in keep
    }
    noisy = [c for c in keep if f"noise_var_{c}" in df.columns]
    corrected = bool(measurement_error and noisy)
    if corrected:
        nv = np.column_stack(
            [
                df[f"noise_var_{c}"].to_numpy(dtype=float)
                if f"noise_var_{c}" in df.columns
                else np.zeros(len(df))
                for c in keep
            ]
        )
        est, sd_true = _errors_in_variables(
            df[keep].to_numpy(dtype=float), y.to_numpy(dtype=float), nv, groups, keep, n_boot, seed
        )
        sd = pd.Series(sd_true, index=keep)
    rows, sentences = [], []
    for c in keep:
        eff, lo, hi, p = est[c]
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
    if corrected:
        sentences.append(
            "Corrected for the sampling noise of "
            + ", ".join(DRIVERS[c].split(" (")[0] for c in noisy)
            + " (errors in variables; effects per SD of the underlying habit, intervals "
            "from resampling reps)."
        )
    if n_no_territory:
        sentences.append(
            f"{n_no_territory} rep-periods without territory potential at the period end "
            "(leavers, vacancies, overlays) are left out."
        )
    if n_short_lookback:
        sentences.append(
            f"{n_short_lookback} rep-periods of reps employed under {min_lookback_months:g} "
            "months of the look-back (new hires) are left out: their behaviours are not yet "
            "measured."
        )
    return DriversResult(
        table,
        int(fit.nobs),
        int(df["rep_id"].nunique()),
        float(fit.rsquared),
        sentences,
        n_no_territory=n_no_territory,
        corrected=corrected,
        n_short_lookback=n_short_lookback,
    )


def _moments(
    w: np.ndarray,
    n_r: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    sxx: np.ndarray,
    sxy: np.ndarray,
    su: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Corrected slopes and true-score SDs from per-rep sums weighted by ``w`` (reps)."""
    n = w @ n_r
    mx, my = (w @ sx) / n, (w @ sy) / n
    cxx = np.einsum("r,rij->ij", w, sxx) / n - np.outer(mx, mx)
    cxy = (w @ sxy) / n - mx * my
    uu = (w @ su) / n
    # a measured spread can never be mostly noise: keep at least a fifth as signal
    uu = np.minimum(uu, 0.8 * np.diag(cxx))
    m = cxx - np.diag(uu)
    beta = np.linalg.solve(m, cxy)
    return beta, np.sqrt(np.diag(m))


def _errors_in_variables(
    x: np.ndarray,
    y: np.ndarray,
    noise_var: np.ndarray,
    groups: np.ndarray,
    names: list[str],
    n_boot: int,
    seed: int,
) -> tuple[dict[str, tuple[float, float, float, float]], np.ndarray]:
    """Method-of-moments regression with noisy regressors (Fuller 1987, ch. 2).

    With ``x = t + u`` (``u`` the sampling noise of a look-back average, mean
    variance ``S_uu``, independent of ``t`` and of the outcome), OLS shrinks each
    slope towards zero by the driver's reliability; ``(S_xx - S_uu)^-1 S_xy`` is
    consistent. Rows of one rep share noise (overlapping look-backs), so the
    interval resamples reps (percentile bootstrap).

    Returns
    -------
    (dict, ndarray)
        Per driver ``(effect_pp, low_pp, high_pp, p_value)`` per SD of the true
        score, and the true-score SDs.
    """
    nv = np.where(np.isfinite(noise_var), noise_var, np.nan)
    # a row whose noise could not be estimated gets the driver's typical noise
    med = np.nanmedian(np.where(np.isfinite(nv), nv, np.nan), axis=0)
    nv = np.where(np.isfinite(nv), nv, np.nan_to_num(med))
    g = pd.factorize(groups)[0]
    k = x.shape[1]
    n_g = g.max() + 1
    n_r = np.bincount(g, minlength=n_g).astype(float)
    sx = np.zeros((n_g, k))
    np.add.at(sx, g, x)
    sy = np.bincount(g, weights=y, minlength=n_g)
    sxx = np.zeros((n_g, k, k))
    np.add.at(sxx, g, x[:, :, None] * x[:, None, :])
    sxy = np.zeros((n_g, k))
    np.add.at(sxy, g, x * y[:, None])
    su = np.zeros((n_g, k))
    np.add.at(su, g, nv)
    stats = (n_r, sx, sy, sxx, sxy, su)
    beta, sd_t = _moments(np.ones(n_g), *stats)
    eff = beta * sd_t
    rng = np.random.default_rng(seed)
    boots = np.empty((n_boot, k))
    for b in range(n_boot):
        w = rng.multinomial(n_g, np.full(n_g, 1.0 / n_g)).astype(float)
        try:
            bb, ss = _moments(w, *stats)
            boots[b] = bb * ss
        except np.linalg.LinAlgError:
            boots[b] = np.nan
    boots = boots[np.isfinite(boots).all(axis=1)]
    a = (1.0 - INTERVAL) / 2
    lo, hi = np.quantile(boots, [a, 1 - a], axis=0)
    share_pos = (boots > 0).mean(axis=0)
    p = np.clip(2 * np.minimum(share_pos, 1 - share_pos), 1.0 / (len(boots) + 1), 1.0)
    out = {
        c: (float(eff[j] * 100), float(lo[j] * 100), float(hi[j] * 100), float(p[j]))
        for j, c in enumerate(names)
    }
    return out, sd_t
