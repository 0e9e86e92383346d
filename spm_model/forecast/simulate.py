"""Monthly bookings simulated from the forecasting model itself (known true parameters).

Used to check that the model recovers its parameters and to benchmark the
sampler at a chosen size; not a model of a real company (see
``spm_model.data.synthetic`` for that).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.forecast.model import (
    draw_bookings,
    fiscal_month_index,
    linear_predictors,
    seasonal_basis,
    tenure_months,
)

DEFAULT_TRUTH: dict[str, float | list[float]] = {
    "trend": 0.08,
    "sigma_team": 0.25,
    "sigma_rep": 0.45,
    "season_quarter": [-0.15, -0.05, -0.05, 0.25],
    "season_month_of_quarter": [-0.2, -0.1, 0.3],
    "ramp_tau": 3.0,
    "log_sigma_mean": np.log(0.45),
    "log_sigma_sd": 0.15,
    "nu": 8.0,
    "gg_shape": 3.0,
    "sigma_drift": 0.15,
    "lag12": 0.0,  # the simulation has no repeat business; the fit should find none
    "hurdle_lag12": 0.0,
    "hurdle_intercept": 2.5,
    "sigma_hurdle_rep": 0.5,
    "hurdle_month_of_quarter": [-0.3, 0.0, 0.3],
    "hurdle_ramp": 1.0,
}


def _zero_sum_rows(z: np.ndarray) -> np.ndarray:
    """Centre each row, as the model's zero-sum drift steps are (block x rep)."""
    return z - z.mean(axis=1, keepdims=True)


_VECTORS = ("season_quarter", "season_month_of_quarter", "hurdle_month_of_quarter")


def simulate_panel(
    n_reps: int = 40,
    n_months: int = 36,
    n_regions: int = 2,
    teams_per_region: int = 3,
    new_hire_share: float = 0.2,
    leaver_share: float = 0.1,
    start: str = "2023-01",
    seed: int | np.random.Generator = 0,
    truth: dict | None = None,
    likelihood: str = "student_t",
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Simulate a monthly bookings panel from the hurdle model with known parameters.

    Parameters
    ----------
    n_reps, n_months : int
        Panel size.
    n_regions, teams_per_region : int
        Group structure (reps are spread evenly over teams).
    new_hire_share : float
        Fraction of reps hired during the panel (they show the ramp), as a fraction.
    leaver_share : float
        Fraction of reps who leave before the end, as a fraction.
    start : str
        First month (``"YYYY-MM"``).
    seed : int or numpy.random.Generator
        Randomness.
    truth : dict, optional
        Overrides of :data:`DEFAULT_TRUTH`.
    likelihood : {"student_t", "normal", "gamma", "generalized_gamma"}
        Distribution of the amounts (as in :class:`ForecastConfig`); with
        ``"gamma"`` the noise scale is the coefficient of variation.

    Returns
    -------
    panel : DataFrame
        Columns as :func:`spm_model.forecast.panel.monthly_bookings` returns.
    truth : dict of str to numpy.ndarray
        True parameter values (including ``region_mean``, ``team_mean``,
        ``rep_effect``, ``log_sigma_rep``, ``hurdle_rep_z``), each with a
        leading axis of length 1 so they can be passed to
        :func:`~spm_model.forecast.model.linear_predictors`.
    """
    rng = np.random.default_rng(seed)
    t = {
        k: np.atleast_1d(np.asarray(v, dtype=float))
        for k, v in {**DEFAULT_TRUTH, **(truth or {})}.items()
    }
    n_teams = n_regions * teams_per_region
    regions = [f"R{i + 1}" for i in range(n_regions)]
    teams = [f"T{i + 1}" for i in range(n_teams)]
    team_region = np.repeat(np.arange(n_regions), teams_per_region)
    rep_team = np.arange(n_reps) % n_teams
    region_mean = np.log(60_000.0) + rng.normal(0, 0.3, n_regions)
    team_mean = region_mean[team_region] + t["sigma_team"][0] * rng.normal(size=n_teams)
    rep_effect = team_mean[rep_team] + t["sigma_rep"][0] * rng.normal(size=n_reps)
    log_sigma_rep = t["log_sigma_mean"][0] + t["log_sigma_sd"][0] * rng.normal(size=n_reps)
    hurdle_rep_z = rng.normal(size=n_reps)
    hurdle_rep_z -= hurdle_rep_z.mean()  # zero-sum, as in the model
    truth_out = {
        k: (v if v.size == 1 and k not in _VECTORS else v[None, ...]) for k, v in t.items()
    }
    truth_out.update(
        region_mean=region_mean[None],
        team_mean=team_mean[None],
        rep_effect=rep_effect[None],
        log_sigma_rep=log_sigma_rep[None],
        hurdle_rep_z=hurdle_rep_z[None],
        drift_z=_zero_sum_rows(rng.normal(size=(max(1, (n_months - 1) // 12), n_reps)))[None],
        season_resid=np.asarray(rng.normal(0, 0.08, seasonal_basis().shape[1]))[None],
    )
    months = pd.date_range(pd.Period(start, "M").to_timestamp(), periods=n_months, freq="MS")
    first = months[0]
    hire = np.array([first - pd.DateOffset(months=int(m)) for m in rng.integers(12, 120, n_reps)])
    new = rng.random(n_reps) < new_hire_share
    for i in np.flatnonzero(new):
        hire[i] = months[int(rng.integers(1, max(2, n_months - 3)))] + pd.Timedelta(
            days=int(rng.integers(0, 28))
        )
    end = np.full(n_reps, pd.NaT, dtype=object)
    leave = (~new) & (rng.random(n_reps) < leaver_share)
    for i in np.flatnonzero(leave):
        end[i] = months[int(rng.integers(n_months // 2, n_months))] + pd.Timedelta(
            days=int(rng.integers(0, 28))
        )
    rows = []
    for r in range(n_reps):
        h = pd.Timestamp(hire[r])
        mask = months >= h.to_period("M").to_timestamp()
        if pd.notna(end[r]):
            mask &= months <= pd.Timestamp(end[r]).to_period("M").to_timestamp()
        rows.append(pd.DataFrame({"rep_id": f"S{r + 1:04d}", "month": months[mask], "_r": r}))
    panel = pd.concat(rows, ignore_index=True)
    r_idx = panel["_r"].to_numpy()
    pm_ = pd.DatetimeIndex(panel["month"])
    t0 = months[0] + (months[-1] - months[0]) / 2
    years = (pm_ - t0).days.to_numpy() / 365.25
    hires = pd.DatetimeIndex(hire[r_idx].astype("datetime64[ns]"))
    block = ((months[-1].year - pm_.year) * 12 + (months[-1].month - pm_.month)).to_numpy() // 12
    mu, logit, sigma = linear_predictors(
        truth_out,
        r_idx,
        years,
        fiscal_month_index(pm_, 1),
        tenure_months(pm_, hires),
        block,
    )
    if likelihood != "student_t":
        truth_out.pop("nu", None)
    if likelihood != "generalized_gamma":
        truth_out.pop("gg_shape", None)
    y = draw_bookings(truth_out, mu, logit, sigma, rng, likelihood=likelihood)[0]
    panel["bookings"] = np.round(y, 2)
    panel["team"] = np.array(teams)[rep_team[r_idx]]
    panel["region"] = np.array(regions)[team_region[rep_team[r_idx]]]
    panel["hire_date"] = hires.normalize()
    panel["end_date"] = pd.to_datetime(pd.Series(end[r_idx]))
    panel = panel.drop(columns="_r")
    panel.attrs["fy_start_month"] = 1
    panel.attrs["measure"] = "simulated"
    return panel, truth_out
