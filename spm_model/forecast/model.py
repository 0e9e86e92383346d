"""The hierarchical hurdle model of monthly bookings per rep, in PyMC and in numpy.

Model
-----
For rep ``r`` in month ``t`` (fiscal month ``m``, fiscal quarter ``q(m)``,
month within the quarter ``k(m)``, ``tenure`` months since hire)::

    ramp(tenure)   = 1 - exp(-(tenure + 0.5) / ramp_tau)          new-hire ramp, in (0, 1]
    P(bookings > 0) = logistic(hurdle_intercept + sigma_hurdle_rep * hurdle_rep_z[r]
                               + hurdle_month_of_quarter[k] + hurdle_ramp * log ramp)
    log bookings | bookings > 0 ~ StudentT(nu, mu, sigma_r)   (or Normal), or
    bookings | bookings > 0 ~ Gamma(mean exp(mu), coefficient of variation sigma_r)
    mu = rep_effect[r] + sigma_drift * sum(drift_z[r, 1..b(t)]) + trend * years(t)
         + season_quarter[q] + season_month_of_quarter[k] + season_resid . B[m]
         + log ramp(tenure) + lag12 * x12[r, t]

``x12[r, t]`` is ``log1p(bookings a year earlier / rep's mean month)``, centred
per rep and 0 where the month a year earlier is not in the data: repeat
business (renewals a year after a sale) makes a month resemble the same month
last year. The hurdle gets its own coefficient ``hurdle_lag12``.

``rep_effect[r]`` is the rep's level over the latest ``block_months`` (12)
months before the cut-off; in earlier blocks ``b(t) = 1, 2...`` the level
differs by a random walk (the book of accounts changes: reassignments,
vacancies covered by the manager, backfills). After the cut-off the level keeps
walking month by month on the same yearly scale ``sigma_drift``, so the
uncertainty about a rep's level grows with the horizon.

Rep effects are partially pooled within team, teams within region::

    region_mean[g]   ~ Normal(log-scale median, 2)
    team_mean[j]     = region_mean[g(j)] + sigma_team * team_z[j]      (non-centred: few teams)
    rep_effect[r]    ~ Normal(team_mean[j(r)], sigma_rep)              (centred: ~24-36 months each)
    log sigma_r      = log_sigma_mean + log_sigma_sd * log_sigma_z[r]   (non-centred)

Why this parameterisation: each rep has two to three years of monthly data, so
the likelihood pins its intercept and the **centred** form samples far better
(on this machine a 200-group test gave bulk ESS 771 centred against 27
non-centred). Teams and regions are few and only indirectly observed, so their
offsets are non-centred; the hurdle's rep offsets and the reps' noise scales
are non-centred too because 36 yes/no outcomes (or a couple of dozen squared
residuals) say little about each rep and the spread between reps is small.

Seasonality is a 12-month pattern split into three orthogonal, zero-sum parts:
fiscal quarter (``ZeroSumNormal`` over 4, the Q4 push), month within the
quarter (``ZeroSumNormal`` over 3, the quarter-end spike) and a 6-dimensional
residual (an orthonormal basis ``B`` of what is left), so the quarter-end effect
is identified and reported on its own.

Priors (weakly informative, on the log scale of bookings):

* ``region_mean ~ Normal(median log positive bookings, 2)``;
* ``sigma_team ~ HalfNormal(0.5)``, ``sigma_rep ~ HalfNormal(1)``: a factor of
  e^0.5 ~ 1.6 between teams, e^1 ~ 2.7 between reps is plausible, 10x is not;
* ``trend ~ Normal(0, 0.5)`` per year (+-65% a year at 1 sd);
* ``lag12 ~ Normal(0, 0.5)``, ``hurdle_lag12 ~ Normal(0, 1)``;
* ``sigma_drift ~ HalfNormal(0.3)``: a rep's level moves by about 25% from one
  year to the next; ``drift_z ~ Normal(0, 1)`` (non-centred);
* ``season_quarter, season_month_of_quarter ~ ZeroSumNormal(0.5)``;
  ``season_resid ~ Normal(0, 0.25)``;
* ``ramp_tau ~ LogNormal(log 3, 0.6)`` months (63% of full productivity after
  about 3 months; 90% prior interval 1.1 to 8 months);
* ``log_sigma_mean ~ Normal(log 0.5, 1)``, ``log_sigma_sd ~ HalfNormal(0.3)``;
* ``nu ~ Gamma(2, 0.1)`` (Juarez and Steel's prior, mean 20: tails heavy only
  when the data say so);
* hurdle: ``hurdle_intercept ~ Normal(logit(share of months with bookings), 1.5)``,
  ``sigma_hurdle_rep ~ HalfNormal(1)``, ``hurdle_month_of_quarter ~ ZeroSumNormal(0.5)``,
  ``hurdle_ramp ~ Normal(1, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# Parameters whose convergence is checked and reported (the "main parameters").
MAIN_PARAMS = (
    "region_mean",
    "sigma_team",
    "sigma_drift",
    "lag12",
    "hurdle_lag12",
    "sigma_rep",
    "trend",
    "season_quarter",
    "season_month_of_quarter",
    "season_resid",
    "ramp_tau",
    "sigma",
    "log_sigma_mean",
    "log_sigma_sd",
    "nu",
    "hurdle_intercept",
    "sigma_hurdle_rep",
    "hurdle_month_of_quarter",
    "hurdle_ramp",
)


def seasonal_basis() -> np.ndarray:
    """Return an orthonormal 12 x 6 basis of monthly patterns beyond quarter and month-in-quarter.

    Returns
    -------
    numpy.ndarray
        ``B`` with ``B.T @ B = I``; each column sums to zero over the year, and
        is orthogonal to every pattern that depends only on the fiscal quarter
        or only on the month within the quarter.
    """
    m = np.arange(12)
    cols = [np.ones(12)]
    cols += [(m // 3 == q).astype(float) for q in range(4)]
    cols += [(m % 3 == k).astype(float) for k in range(3)]
    span = np.column_stack(cols)
    u, s, _ = np.linalg.svd(span, full_matrices=True)
    rank = int((s > 1e-9).sum())
    return u[:, rank:]


@dataclass
class Design:
    """Index arrays and scalings that map a monthly panel onto the model.

    Built by :func:`make_design`; ``months`` are Timestamps (month starts) and
    ``years`` is time in years relative to ``t0`` (the centre of the
    training months).
    """

    reps: list[str]
    teams: list[str]
    regions: list[str]
    rep_team: np.ndarray
    team_region: np.ndarray
    fy_start_month: int
    t0: pd.Timestamp
    # observations
    rep_idx: np.ndarray
    years: np.ndarray
    fiscal_month: np.ndarray
    tenure: np.ndarray
    y: np.ndarray
    loc: float
    positive_share: float
    block: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    n_blocks: int = 1
    block_months: int = 12
    lag12: np.ndarray = field(default_factory=lambda: np.array([]))
    rep_scale: np.ndarray = field(default_factory=lambda: np.array([]))
    rep_lag_mean: np.ndarray = field(default_factory=lambda: np.array([]))
    history: pd.Series | None = None
    rep_hire: np.ndarray = field(default_factory=lambda: np.array([]))
    rep_end: np.ndarray = field(default_factory=lambda: np.array([]))

    @property
    def n_obs(self) -> int:
        """Number of rep-months observed."""
        return len(self.y)


def fiscal_month_index(months: pd.Series | pd.DatetimeIndex, fy_start_month: int) -> np.ndarray:
    """0-based month of the fiscal year (0 = first month) of each month start."""
    mon = pd.DatetimeIndex(months).month.to_numpy()
    return ((mon - fy_start_month) % 12).astype(np.int64)


def months_between(a: pd.DatetimeIndex | pd.Series, b: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Whole calendar months from ``b`` to ``a`` (``a - b``), elementwise."""
    a = pd.DatetimeIndex(a)
    b = pd.DatetimeIndex(b)
    return ((a.year - b.year) * 12 + (a.month - b.month)).to_numpy()


def tenure_months(
    months: pd.DatetimeIndex | pd.Series, hire: pd.DatetimeIndex | pd.Series
) -> np.ndarray:
    """Tenure in months at the middle of each month (0.5 in the hire month if hired on the 1st)."""
    months = pd.DatetimeIndex(months)
    hire = pd.DatetimeIndex(hire)
    mid = months + pd.Timedelta(days=14)
    days = (mid - hire).days.to_numpy().astype(float)
    return np.clip(days / 30.4375, 0.0, 600.0)


def lag12_raw(
    history: pd.Series, rep_idx: np.ndarray, months: pd.DatetimeIndex, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``log1p(bookings a year earlier / rep's mean month)`` and whether it was observed."""
    prev = pd.DatetimeIndex(months) - pd.DateOffset(months=12)
    key = pd.MultiIndex.from_arrays([rep_idx, prev])
    lagged = history.reindex(key).to_numpy(dtype=float)
    s = scale[rep_idx]
    has = ~np.isnan(lagged) & (s > 0)
    raw = np.where(has, np.log1p(np.nan_to_num(lagged) / np.where(s > 0, s, 1.0)), 0.0)
    return raw, has


def lag12_covariate(d: Design, rep_idx: np.ndarray, months: pd.DatetimeIndex) -> np.ndarray:
    """Return the centred lag-12 covariate of rep-months (0 where last year is not in the data)."""
    raw, has = lag12_raw(d.history, rep_idx, months, d.rep_scale)
    return np.where(has, raw - d.rep_lag_mean[rep_idx], 0.0)


def make_design(panel: pd.DataFrame, block_months: int = 12) -> Design:
    """Turn a checked monthly panel (see :mod:`spm_model.forecast.panel`) into a :class:`Design`."""
    reps_tab = (
        panel.groupby("rep_id", sort=True)
        .agg(
            team=("team", "first"),
            region=("region", "first"),
            hire=("hire_date", "first"),
            end=("end_date", "first"),
        )
        .reset_index()
    )
    regions = sorted(reps_tab["region"].unique().tolist())
    team_keys = sorted({(t, g) for t, g in zip(reps_tab["team"], reps_tab["region"], strict=True)})
    # A team name is unique within its region; a team spanning regions becomes one team per region.
    teams = [
        t if sum(1 for k in team_keys if k[0] == t) == 1 else f"{t} ({g})" for t, g in team_keys
    ]
    team_pos = {k: i for i, k in enumerate(team_keys)}
    rep_team = np.array(
        [team_pos[(t, g)] for t, g in zip(reps_tab["team"], reps_tab["region"], strict=True)]
    )
    team_region = np.array([regions.index(g) for _, g in team_keys])
    reps = reps_tab["rep_id"].tolist()
    rep_pos = {r: i for i, r in enumerate(reps)}
    months = pd.DatetimeIndex(panel["month"])
    first, last = months.min(), months.max()
    t0 = first + (last - first) / 2
    years = (months - t0).days.to_numpy() / 365.25
    fy = int(panel.attrs.get("fy_start_month", 1))
    back = months_between(pd.DatetimeIndex([last] * len(months)), months)
    block = (back // block_months).astype(np.int64)
    y = panel["bookings"].to_numpy(dtype=float)
    pos = y > 0
    if not pos.any():
        raise ValueError("the panel has no month with bookings; nothing to forecast from")
    hire = panel["hire_date"]
    rep_idx = panel["rep_id"].map(rep_pos).to_numpy(dtype=np.int64)
    # Same month a year earlier, scaled by the rep's mean month: repeat business (renewals).
    counts = np.maximum(np.bincount(rep_idx, minlength=len(reps)), 1)
    scale = np.bincount(rep_idx, weights=y, minlength=len(reps)) / counts
    history = pd.Series(y, index=pd.MultiIndex.from_arrays([rep_idx, months]))
    raw, has = lag12_raw(history, rep_idx, months, scale)
    n_has = np.bincount(rep_idx, weights=has.astype(float), minlength=len(reps))
    sum_has = np.bincount(rep_idx, weights=np.where(has, raw, 0.0), minlength=len(reps))
    lag_mean = np.where(n_has > 0, sum_has / np.maximum(n_has, 1), 0.0)
    lag12 = np.where(has, raw - lag_mean[rep_idx], 0.0)
    return Design(
        reps=reps,
        teams=teams,
        regions=regions,
        rep_team=rep_team,
        team_region=team_region,
        fy_start_month=fy,
        t0=pd.Timestamp(t0),
        rep_idx=rep_idx,
        years=years,
        fiscal_month=fiscal_month_index(months, fy),
        tenure=tenure_months(months, hire),
        y=y,
        loc=float(np.median(np.log(y[pos]))),
        positive_share=float(pos.mean()),
        block=block,
        n_blocks=int(block.max()) + 1,
        block_months=block_months,
        lag12=lag12,
        rep_scale=scale,
        rep_lag_mean=lag_mean,
        history=history,
        rep_hire=pd.DatetimeIndex(reps_tab["hire"]).to_numpy(),
        rep_end=pd.DatetimeIndex(reps_tab["end"]).to_numpy(),
    )


def build_model(
    d: Design,
    likelihood: str = "student_t",
    rep_noise: bool = True,
    hurdle: bool = True,
    level_drift: bool = True,
    lag_effect: bool = True,
) -> Any:
    """Build the PyMC model of :mod:`this module <spm_model.forecast.model>` for a design.

    Parameters
    ----------
    d : Design
        Observations and group structure.
    likelihood : {"student_t", "normal"}
        Noise of log bookings in months with bookings.
    rep_noise : bool
        Partially pooled noise scale per rep (else one shared scale).
    hurdle : bool
        Model zero months; without it every month is assumed to have bookings
        and zero months are dropped from the likelihood.
    lag_effect : bool
        Include the same month a year earlier (:func:`lag12_covariate`) as a covariate.
    level_drift : bool
        Let each rep's level drift from one block of ``d.block_months`` to the
        next (a random walk, non-centred); the current level is ``rep_effect``.

    Returns
    -------
    pymc.Model
    """
    import pymc as pm
    import pytensor.tensor as pt

    basis = seasonal_basis()
    coords = {
        "rep": d.reps,
        "team": d.teams,
        "region": d.regions,
        "quarter": ["Q1", "Q2", "Q3", "Q4"],
        "month_of_quarter": ["first", "second", "third"],
        "season_basis": [f"b{i}" for i in range(basis.shape[1])],
        "past_block": [f"-{b}" for b in range(1, max(d.n_blocks, 2))],
    }
    pos = d.y > 0
    ip = np.flatnonzero(pos)
    m12 = np.arange(12)
    with pm.Model(coords=coords) as model:
        region_mean = pm.Normal("region_mean", mu=d.loc, sigma=2.0, dims="region")
        sigma_team = pm.HalfNormal("sigma_team", sigma=0.5)
        team_z = pm.Normal("team_z", 0.0, 1.0, dims="team")
        team_mean = pm.Deterministic(
            "team_mean", region_mean[d.team_region] + sigma_team * team_z, dims="team"
        )
        sigma_rep = pm.HalfNormal("sigma_rep", sigma=1.0)
        rep_effect = pm.Normal("rep_effect", mu=team_mean[d.rep_team], sigma=sigma_rep, dims="rep")
        level = rep_effect[d.rep_idx[ip]]
        if level_drift and d.n_blocks > 1:
            # Each rep's level walks back in time block by block from its current level
            # (territory changes, backfills): level[r, b] = level[r, b - 1] + sigma_drift * z[r, b].
            sigma_drift = pm.HalfNormal("sigma_drift", 0.3)
            drift_z = pm.Normal("drift_z", 0.0, 1.0, dims=("rep", "past_block"))
            dev = pt.concatenate([pt.zeros((len(d.reps), 1)), pt.cumsum(drift_z, axis=1)], axis=1)
            level = level + sigma_drift * dev[d.rep_idx[ip], d.block[ip]]
        trend = pm.Normal("trend", 0.0, 0.5)
        season_q = pm.ZeroSumNormal("season_quarter", sigma=0.5, dims="quarter")
        season_k = pm.ZeroSumNormal("season_month_of_quarter", sigma=0.5, dims="month_of_quarter")
        season_r = pm.Normal("season_resid", 0.0, 0.25, dims="season_basis")
        ramp_tau = pm.LogNormal("ramp_tau", mu=np.log(3.0), sigma=0.6)
        # One 12-month vector, indexed once per observation (cheaper gradients than three gathers).
        season12 = season_q[m12 // 3] + season_k[m12 % 3] + pt.dot(basis, season_r)

        def log_ramp(idx: np.ndarray) -> Any:
            # log of the ramp fraction, log(1 - exp(-(tenure + 0.5) / tau)); ~0 for tenured reps
            return pt.log1p(-pt.exp(-(d.tenure[idx] + 0.5) / ramp_tau))

        mu_pos = level + trend * d.years[ip] + season12[d.fiscal_month[ip]] + log_ramp(ip)
        if lag_effect:
            mu_pos = mu_pos + pm.Normal("lag12", 0.0, 0.5) * d.lag12[ip]
        if rep_noise:
            ls_mean = pm.Normal("log_sigma_mean", np.log(0.5), 1.0)
            ls_sd = pm.HalfNormal("log_sigma_sd", 0.3)
            ls_z = pm.Normal("log_sigma_z", 0.0, 1.0, dims="rep")
            log_sigma_rep = pm.Deterministic("log_sigma_rep", ls_mean + ls_sd * ls_z, dims="rep")
            sigma_obs = pt.exp(log_sigma_rep)[d.rep_idx[ip]]
        else:
            sigma_obs = pm.HalfNormal("sigma", 1.0)
        logy = np.log(d.y[ip])
        if likelihood == "gamma":
            # amount ~ Gamma with mean exp(mu) and coefficient of variation sigma
            shape = 1.0 / pt.sqr(sigma_obs)
            pm.Gamma("bookings", alpha=shape, beta=shape * pt.exp(-mu_pos), observed=d.y[ip])
        elif likelihood == "student_t":
            nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
            pm.StudentT("log_bookings", nu=nu, mu=mu_pos, sigma=sigma_obs, observed=logy)
        else:
            pm.Normal("log_bookings", mu=mu_pos, sigma=sigma_obs, observed=logy)
        if hurdle:
            share = min(max(d.positive_share, 0.02), 0.98)
            h0 = pm.Normal("hurdle_intercept", np.log(share / (1 - share)), 1.5)
            sh = pm.HalfNormal("sigma_hurdle_rep", 1.0)
            hz = pm.Normal("hurdle_rep_z", 0.0, 1.0, dims="rep")
            hk = pm.ZeroSumNormal("hurdle_month_of_quarter", sigma=0.5, dims="month_of_quarter")
            hr = pm.Normal("hurdle_ramp", 1.0, 1.0)
            all_idx = np.arange(d.n_obs)
            logit_p = (h0 + sh * hz)[d.rep_idx] + hk[d.fiscal_month % 3] + hr * log_ramp(all_idx)
            if lag_effect:
                logit_p = logit_p + pm.Normal("hurdle_lag12", 0.0, 1.0) * d.lag12
            pm.Bernoulli("has_bookings", logit_p=logit_p, observed=pos.astype(np.int8))
    return model


# -- the same model in numpy, on posterior draws ---------------------------------------------
def posterior_arrays(idata: Any) -> dict[str, np.ndarray]:
    """Posterior draws flattened over chains: name -> array of shape (samples, ...)."""
    post = idata.posterior
    out = {}
    for name, da in post.data_vars.items():
        v = da.to_numpy()
        out[str(name)] = v.reshape((v.shape[0] * v.shape[1], *v.shape[2:]))
    return out


def linear_predictors(
    p: dict[str, np.ndarray],
    rep_idx: np.ndarray,
    years: np.ndarray,
    fiscal_month: np.ndarray,
    tenure: np.ndarray,
    block: np.ndarray | None = None,
    lag12: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Location ``mu``, hurdle logit and noise scale for each draw and rep-month.

    Parameters
    ----------
    p : dict
        Posterior (or true) parameters with a leading sample axis, as from
        :func:`posterior_arrays`.
    rep_idx, years, fiscal_month, tenure : numpy.ndarray
        One entry per rep-month to predict.
    block : numpy.ndarray, optional
        For training months: the level block (0 = the latest) of each entry.
        Omitted for future months, whose level is the current one (the
        estimator adds the drift after the cut-off).
    lag12 : numpy.ndarray, optional
        The lag-12 covariate of each entry (:func:`lag12_covariate`).

    Returns
    -------
    mu, logit_p, sigma : numpy.ndarray
        Arrays of shape (samples, n); ``logit_p`` is ``None`` without a hurdle.
    """
    basis = seasonal_basis()
    q = fiscal_month // 3
    k = fiscal_month % 3
    tau = p["ramp_tau"][:, None]
    log_ramp = np.log1p(-np.exp(-(tenure[None, :] + 0.5) / tau))
    season12 = p["season_resid"] @ basis.T  # (S, 12)
    mu = (
        p["rep_effect"][:, rep_idx]
        + p["trend"][:, None] * years[None, :]
        + p["season_quarter"][:, q]
        + p["season_month_of_quarter"][:, k]
        + season12[:, fiscal_month]
        + log_ramp
    )
    if lag12 is not None and "lag12" in p:
        mu = mu + p["lag12"][:, None] * lag12[None, :]
    if block is not None and "drift_z" in p:
        z = p["drift_z"]
        dev = np.concatenate([np.zeros((*z.shape[:2], 1)), np.cumsum(z, axis=2)], axis=2)
        mu = mu + p["sigma_drift"][:, None] * dev[:, rep_idx, block]
    if "log_sigma_rep" in p:
        sigma = np.exp(p["log_sigma_rep"][:, rep_idx])
    else:
        sigma = np.broadcast_to(p["sigma"][:, None], mu.shape)
    logit = None
    if "hurdle_intercept" in p:
        logit = (
            p["hurdle_intercept"][:, None]
            + p["sigma_hurdle_rep"][:, None] * p["hurdle_rep_z"][:, rep_idx]
            + p["hurdle_month_of_quarter"][:, k]
            + p["hurdle_ramp"][:, None] * log_ramp
        )
        if lag12 is not None and "hurdle_lag12" in p:
            logit = logit + p["hurdle_lag12"][:, None] * lag12[None, :]
    return mu, logit, sigma


def draw_bookings(
    p: dict[str, np.ndarray],
    mu: np.ndarray,
    logit: np.ndarray | None,
    sigma: np.ndarray,
    rng: np.random.Generator,
    gamma: bool = False,
) -> np.ndarray:
    """Draw bookings (currency, >= 0) from the hurdle likelihood for each sample and rep-month."""
    if gamma:
        shape = 1.0 / np.square(sigma)
        amount = rng.gamma(shape, np.exp(np.clip(mu, -50.0, 50.0)) / shape)
        if logit is not None:
            has = rng.random(mu.shape) < 1.0 / (1.0 + np.exp(-logit))
            amount = np.where(has, amount, 0.0)
        return amount
    if "nu" in p:
        eps = rng.standard_t(p["nu"][:, None], size=mu.shape)
    else:
        eps = rng.standard_normal(mu.shape)
    amount = np.exp(np.clip(mu + sigma * eps, -50.0, 50.0))
    if logit is not None:
        has = rng.random(mu.shape) < 1.0 / (1.0 + np.exp(-logit))
        amount = np.where(has, amount, 0.0)
    return amount
