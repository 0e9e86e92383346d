"""The hierarchical hurdle model of monthly bookings per rep, in PyMC and in numpy.

Model
-----
For rep ``r`` in month ``t`` (fiscal month ``m``, fiscal quarter ``q(m)``,
month within the quarter ``k(m)``, ``tenure`` months since hire)::

    ramp(tenure)   = 1 - exp(-(tenure + 0.5) / ramp_tau)          new-hire ramp, in (0, 1]
                     (exactly 1 from 48 months of tenure, RAMP_HORIZON)
    P(bookings > 0) = logistic(hurdle_intercept + sigma_hurdle_rep * hurdle_rep_z[r]
                               + hurdle_month_of_quarter[k] + hurdle_ramp * log ramp)
    log bookings | bookings > 0 ~ StudentT(nu, mu, sigma_r)   (or Normal), or
    bookings | bookings > 0 ~ Gamma(mean exp(mu), coefficient of variation sigma_r), or
    log bookings | bookings > 0 = mu + sigma_r * u,  u a standardised log-gamma(gg_shape)
        (a generalised gamma amount: log amounts skewed to the left for a small shape,
        symmetric, i.e. lognormal, for a large one; the data choose)
    mu = rep_effect[r] + sigma_drift * sum(drift_z[1..b(t), r]) + trend * years(t)
         + season_quarter[q] + season_month_of_quarter[k] + season_resid . B[m]
         + log ramp(tenure) + lag12 * x12[r, t] + business_days * bd[t]
         + easter * ea[t]

``bd[t]`` is the month's weekdays less the usual number for its calendar month
(:func:`business_day_deviation`): more selling days, more bookings. ``ea[t]`` is
the share of the eight days before Easter Sunday that falls in the month, less
its usual share (:func:`easter_deviation`; non-zero in March and April only):
Easter moves its holidays between the two months from year to year.
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
    team_mean[j]     = region_mean[g(j)] + sigma_team * team_dev[j]    (non-centred: few teams)
    team_dev         = team_z less its region's mean, times sqrt(n_g / (n_g - 1))
    rep_effect[r]    ~ Normal(team_mean[j(r)], sigma_rep)              (centred: ~24-36 months each)
    log sigma_r      = log_sigma_mean + log_sigma_sd * log_sigma_z[r]   (non-centred)
    log sigma_r,t    = log sigma_r + log_sigma_month_of_quarter[k(m)]    (noise scale)

Why this parameterisation: each rep has two to three years of monthly data, so
the likelihood pins its intercept and the **centred** form samples far better
(on this machine a 200-group test gave bulk ESS 771 centred against 27
non-centred). Teams and regions are few and only indirectly observed, so their
offsets are non-centred; the hurdle's rep offsets and the reps' noise scales
are non-centred too because 36 yes/no outcomes (or a couple of dozen squared
residuals) say little about each rep and the spread between reps is small.
The hurdle's rep offsets are also zero-sum (``ZeroSumNormal`` over reps), so
``hurdle_intercept`` is the mean rep logit rather than trading off against the
offsets' sum (that ridge held its bulk ESS near 300 on the sample company).

The team deviations sum to zero within each region (each is still
``Normal(0, 1)`` marginally; a region's only team has none): otherwise a
region's mean and its teams' average deviation trade off along a ridge (the
sample company has 7 teams in 4 regions; ``sigma_team`` bulk ESS 221 of 2,000
draws, 414 zero-sum).

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
* ``business_days ~ Normal(0, 0.05)`` per day (a day is about 5% of a month);
* ``easter ~ Normal(0, 0.2)`` per window moved (:data:`EASTER_PRIOR_SD`);
* ``sigma_drift ~ HalfNormal(0.3)``: a rep's level moves by about 25% from one
  year to the next; ``drift_z ~ ZeroSumNormal(1)`` over reps in each block
  (non-centred; zero-sum so that company-wide movement is left to ``trend``);
* ``season_quarter, season_month_of_quarter ~ ZeroSumNormal(0.5)``;
  ``season_resid ~ Normal(0, 0.25)``;
* ``ramp_tau ~ LogNormal(log 3, 0.6)`` months (63% of full productivity after
  about 3 months; 90% prior interval 1.1 to 8 months);
* ``log_sigma_mean ~ Normal(log 0.5, 1)``, ``log_sigma_sd ~ HalfNormal(0.3)``,
  ``log_sigma_month_of_quarter ~ ZeroSumNormal(0.3)``;
* ``nu ~ Gamma(2, 0.1)`` (Juarez and Steel's prior, mean 20: tails heavy only
  when the data say so);
* ``gg_shape ~ LogNormal(log 4, 1.2)`` (90% prior interval 0.6 to 29: from the
  skew of a gamma with a coefficient of variation above 1 to nearly lognormal);
* hurdle: ``hurdle_intercept ~ Normal(logit(share of months with bookings), 1.5)``,
  ``sigma_hurdle_rep ~ HalfNormal(1)``, ``hurdle_rep_z ~ ZeroSumNormal(1)``,
  ``hurdle_month_of_quarter ~ ZeroSumNormal(0.5)``,
  ``hurdle_ramp ~ Normal(1, 1)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Distributions of the amount in a month with bookings (see ``ForecastConfig.likelihood``).
LIKELIHOODS = ("gamma", "generalized_gamma", "student_t", "normal")

# Parameters whose convergence is checked and reported (the "main parameters").
MAIN_PARAMS = (
    "region_mean",
    "sigma_team",
    "sigma_drift",
    "lag12",
    "business_days",
    "easter",
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
    "log_sigma_month_of_quarter",
    "nu",
    "gg_shape",
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
    business_days: np.ndarray = field(default_factory=lambda: np.array([]))
    easter: np.ndarray = field(default_factory=lambda: np.array([]))
    rep_scale: np.ndarray = field(default_factory=lambda: np.array([]))
    rep_lag_mean: np.ndarray = field(default_factory=lambda: np.array([]))
    history: pd.Series | None = None
    rep_hire: np.ndarray = field(default_factory=lambda: np.array([]))
    rep_end: np.ndarray = field(default_factory=lambda: np.array([]))
    grid_months: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    month_idx: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))

    @property
    def n_obs(self) -> int:
        """Number of rep-months observed."""
        return len(self.y)


def fiscal_month_index(months: pd.Series | pd.DatetimeIndex, fy_start_month: int) -> np.ndarray:
    """0-based month of the fiscal year (0 = first month) of each month start."""
    mon = pd.DatetimeIndex(months).month.to_numpy()
    return ((mon - fy_start_month) % 12).astype(np.int64)


def business_day_deviation(months: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Weekdays (Monday to Friday) in each month less the usual number for its calendar month.

    The usual number is the mean over the 28-year cycle 2001-2028 after which
    the Gregorian calendar's weekdays repeat (1901-2099), so the deviation is
    0 on average for every calendar month, between -1 3/7 and +6/7 of a day.
    Public holidays are not counted (they differ by country).

    Parameters
    ----------
    months : pandas.DatetimeIndex or pandas.Series
        Month starts.

    Returns
    -------
    numpy.ndarray
        Deviation in days (float), one per month.
    """
    m = pd.DatetimeIndex(months).to_period("M").to_timestamp()
    start = m.to_numpy(dtype="datetime64[D]")
    end = (m + pd.offsets.MonthBegin(1)).to_numpy(dtype="datetime64[D]")
    days = np.busday_count(start, end).astype(float)
    return days - _usual_business_days()[m.month.to_numpy() - 1]


@functools.cache
def _usual_business_days() -> np.ndarray:
    cycle = pd.date_range("2001-01-01", "2028-12-01", freq="MS")
    days = np.busday_count(
        cycle.to_numpy(dtype="datetime64[D]"),
        (cycle + pd.offsets.MonthBegin(1)).to_numpy(dtype="datetime64[D]"),
    )
    return pd.Series(days, index=cycle.month).groupby(level=0).mean().to_numpy(dtype=float)


#: Days before Easter Sunday whose share in each month is the Easter covariate (the window of
#: X-13ARIMA-SEATS' ``easter[8]`` regressor: the holiday week before Easter).
EASTER_WINDOW = 8


def easter_deviation(
    months: pd.Series | pd.DatetimeIndex, window: int = EASTER_WINDOW
) -> np.ndarray:
    """Share of the ``window`` days before Easter Sunday in each month, less its usual share.

    Easter moves between 22 March and 25 April, and with it the holidays and
    the selling days lost around it: in years when the days before Easter fall
    in March, March sells less and April more (Norway's new-car registrations:
    March over April 0.77-0.96 in 2008, 2013 and 2016, 1.01-1.28 in the other
    years of 2007-2016). The share is non-zero in March and April only; the
    usual share of each calendar month is its mean over the years 1901-2099,
    so the covariate is 0 on average for every calendar month and moves none
    of the seasonal pattern (as X-13ARIMA-SEATS centres its Easter regressor).

    Parameters
    ----------
    months : pandas.DatetimeIndex or pandas.Series
        Month starts.
    window : int
        Days before Easter Sunday counted (Easter Sunday itself not).

    Returns
    -------
    numpy.ndarray
        Share of the window (between -1 and 1), one per month.
    """
    m = pd.DatetimeIndex(months).to_period("M").to_timestamp()
    share = _easter_share(m.year.to_numpy(), m.month.to_numpy(), window)
    usual = _usual_easter_share(window)
    return share - usual[m.month.to_numpy() - 1]


def _easter_share(years: np.ndarray, months: np.ndarray, window: int) -> np.ndarray:
    """Share of the ``window`` days before Easter Sunday that fall in each (year, month)."""
    from dateutil.easter import easter

    if not 1 <= window <= 21:  # Easter is 22 March at the earliest: the window stays in March
        raise ValueError(f"the Easter window is 1 to 21 days, not {window}")
    out = np.zeros(len(years))
    for y in np.unique(years):
        start = pd.Timestamp(easter(int(y))) - pd.Timedelta(days=window)
        # days in March of the window [Easter - window, Easter - 1]; the rest are in April
        in_march = min(max((pd.Timestamp(int(y), 4, 1) - start).days, 0), window)
        sel = years == y
        out[sel & (months == 3)] = in_march / window
        out[sel & (months == 4)] = (window - in_march) / window
    return out


@functools.cache
def _usual_easter_share(window: int) -> np.ndarray:
    """Mean share of the window in each calendar month over 1901-2099, (12,)."""
    years = np.repeat(np.arange(1901, 2100), 12)
    months = np.tile(np.arange(1, 13), 2099 - 1901 + 1)
    share = _easter_share(years, months, window)
    return pd.Series(share).groupby(months).mean().to_numpy(dtype=float)


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
    grid = pd.date_range(first, last, freq="MS")
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
        business_days=business_day_deviation(months),
        easter=easter_deviation(months),
        rep_scale=scale,
        rep_lag_mean=lag_mean,
        history=history,
        rep_hire=pd.DatetimeIndex(reps_tab["hire"]).to_numpy(),
        rep_end=pd.DatetimeIndex(reps_tab["end"]).to_numpy(),
        grid_months=grid,
        month_idx=grid.get_indexer(months).astype(np.int64),
    )


# Tenure (months) from which a rep counts as fully ramped: the ramp fraction is set to exactly 1.
# At the prior's 95th percentile of ramp_tau (8 months) the exact curve is at 0.998 by then, so
# the cut changes nothing visible, and the PyMC graph skips the ramp on every row beyond it.
RAMP_HORIZON = 48.0


def log_ramp_fraction(tenure: np.ndarray, tau: Any, xp: Any = np) -> Any:
    """Log of the ramp fraction ``1 - exp(-(tenure + 0.5) / tau)``, 0 from :data:`RAMP_HORIZON`.

    ``xp`` is ``numpy`` or ``pytensor.tensor``; ``tenure`` is a numpy array in
    months and ``tau`` a scalar or an array that broadcasts against it.
    """
    ramping = (tenure < RAMP_HORIZON).astype(float)
    return ramping * xp.log1p(-xp.exp(-(tenure + 0.5) / tau))


def digamma(x: Any, xp: Any = np) -> Any:
    """Digamma function for ``x > 0`` as plain arithmetic (see :func:`trigamma` for why)."""
    total = 0.0
    for n in range(6):
        total = total - 1.0 / (x + n)
    z = x + 6.0
    inv2 = 1.0 / (z * z)
    series = (
        xp.log(z)
        - 0.5 / z
        - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    )
    return total + series


def trigamma(x: Any, xp: Any = np) -> Any:
    """Trigamma function for ``x > 0`` as plain arithmetic (recurrence + asymptotic series).

    PyTensor's own ``tri_gamma`` (and the ``polygamma`` of its gradient) fall
    back to slow Python object mode in the numba backend nutpie compiles to;
    this form compiles natively and is differentiated symbolically. Relative
    error below 1e-9: six recurrence steps, then the series at ``x + 6``.
    """
    total = 0.0
    for n in range(6):
        total = total + 1.0 / xp.square(x + n)
    z = x + 6.0
    inv = 1.0 / z
    inv2 = inv * inv
    series = inv * (
        1.0 + inv * (0.5 + inv * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30))))
    )
    return total + series


@dataclass
class Grid:
    """The observations of a :class:`Design` laid out on a dense rep x month grid.

    The likelihood is evaluated on whole matrices (broadcasting, row sums)
    rather than gathered per observation: with hundreds of reps this makes a
    gradient several times cheaper. Cells a rep was not employed in carry
    ``observed = 0`` and neutral values (tenure 600 months, bookings 0).
    """

    observed: np.ndarray  # (R, T) 1.0 where the rep-month is in the data
    positive: np.ndarray  # (R, T) 1.0 where it has bookings
    y: np.ndarray  # (R, T) bookings, 0 elsewhere
    log_y: np.ndarray  # (R, T) log bookings where positive, 0 elsewhere
    tenure: np.ndarray  # (R, T) months since hire
    lag12: np.ndarray  # (R, T) centred lag-12 covariate
    years: np.ndarray  # (T,)
    fiscal_month: np.ndarray  # (T,)
    block: np.ndarray  # (T,)
    n_positive: np.ndarray  # (R,) months with bookings per rep
    ramp_rows: np.ndarray  # reps whose tenure ramp is not negligible in the data


def make_grid(d: Design) -> Grid:
    """Lay a design's observations out on the dense rep x month grid."""
    n_r, n_t = len(d.reps), len(d.grid_months)
    r, t = d.rep_idx, d.month_idx

    def scatter(values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full((n_r, n_t), fill, dtype=float)
        out[r, t] = values
        return out

    pos = d.y > 0
    observed = scatter(np.ones(d.n_obs), 0.0)
    positive = scatter(pos.astype(float), 0.0)
    y = scatter(d.y, 0.0)
    log_y = np.where(positive > 0, np.log(np.where(positive > 0, y, 1.0)), 0.0)
    tenure = scatter(d.tenure, 600.0)
    grid = d.grid_months
    back = months_between(pd.DatetimeIndex([grid[-1]] * n_t), grid)
    return Grid(
        observed=observed,
        positive=positive,
        y=y,
        log_y=log_y,
        tenure=tenure,
        lag12=scatter(d.lag12, 0.0),
        years=(grid - d.t0).days.to_numpy() / 365.25,
        fiscal_month=fiscal_month_index(grid, d.fy_start_month),
        block=(back // d.block_months).astype(np.int64),
        n_positive=positive.sum(axis=1),
        ramp_rows=np.flatnonzero(((observed > 0) & (tenure < RAMP_HORIZON)).any(axis=1)),
    )


#: Whether the log amounts move with the month's business days above or below the usual number
#: for its calendar month (:func:`business_day_deviation`; coefficient ``business_days`` per
#: day, a known calendar covariate, so forecasts use it too), in this model and the state-space
#: one. On Texas home sales the common monthly residual of the 46 cities moves 3.3% per business
#: day (a fifth of its variance).
BUSINESS_DAYS = True

#: Whether the log amounts move with the share of the days before Easter that falls in the month
#: (:func:`easter_deviation`; coefficient ``easter``, prior sd :data:`EASTER_PRIOR_SD`: all the
#: days before Easter moving from April into March moves March by about that much), in this
#: model and the state-space one.
EASTER = True

#: Prior sd of the Easter coefficient (log amount per window moved between March and April).
EASTER_PRIOR_SD = 0.2

#: Whether the team deviations sum to zero within each region (see the module docstring).
TEAMS_ZERO_SUM_IN_REGION = True


def zero_sum_within(group: np.ndarray) -> np.ndarray:
    """Matrix taking i.i.d. standard normals to deviations that sum to zero within each group.

    Row ``j`` subtracts the mean of ``j``'s group and rescales by ``sqrt(n / (n - 1))``
    (``n`` members), so each deviation is still standard normal marginally; a group
    of one gets a zero row (its only member is the group).
    """
    g = np.asarray(group)
    same = (g[:, None] == g[None, :]).astype(float)
    n = same.sum(axis=1)
    scale = np.where(n > 1, np.sqrt(n / np.maximum(n - 1, 1)), 0.0)
    return scale[:, None] * (np.eye(len(g)) - same / n[:, None])


def build_model(
    d: Design,
    likelihood: str = "generalized_gamma",
    rep_noise: bool = True,
    hurdle: bool = True,
    level_drift: bool = True,
    lag_effect: bool = True,
    quarter_noise: bool = False,
) -> Any:
    """Build the PyMC model of :mod:`this module <spm_model.forecast.model>` for a design.

    The likelihood terms are ``pm.Potential`` sums over the dense rep x month
    grid (:class:`Grid`) instead of observed variables indexed per
    rep-month: the same log density (up to a constant), several times cheaper
    to differentiate. The gamma part uses per-rep sufficient statistics, so
    ``lgamma`` is evaluated once per rep rather than once per month.
    Posterior-predictive draws come from the numpy mirror
    (:func:`linear_predictors`, :func:`draw_bookings`), not from PyMC.

    Parameters
    ----------
    d : Design
        Observations and group structure.
    likelihood : {"gamma", "generalized_gamma", "student_t", "normal"}
        Amounts in months with bookings (:data:`LIKELIHOODS`).
    rep_noise : bool
        Partially pooled noise scale per rep (else one shared scale).
    hurdle : bool
        Model zero months; without it every month is assumed to have bookings
        and zero months are dropped from the likelihood.
    level_drift : bool
        Let each rep's level drift from one block of ``d.block_months`` to the
        next (a random walk, non-centred); the current level is ``rep_effect``.
    lag_effect : bool
        Include the same month a year earlier (:func:`lag12_covariate`) as a covariate.
    quarter_noise : bool
        Let the noise scale differ by month of the quarter (``ZeroSumNormal`` on
        the log scale), shared by all reps.

    Returns
    -------
    pymc.Model
        With the location matrix ``mu`` (reps x months) and the per-rep noise
        scale kept as ``model.spm_mu`` and ``model.spm_sigma`` for checks.
    """
    import pymc as pm
    import pytensor.tensor as pt

    g = make_grid(d)
    basis = seasonal_basis()
    n_r = len(d.reps)
    coords = {
        "rep": d.reps,
        "team": d.teams,
        "region": d.regions,
        "quarter": ["Q1", "Q2", "Q3", "Q4"],
        "month_of_quarter": ["first", "second", "third"],
        "season_basis": [f"b{i}" for i in range(basis.shape[1])],
        "past_block": [f"-{b}" for b in range(1, max(d.n_blocks, 2))],
    }
    m12 = np.arange(12)
    with pm.Model(coords=coords) as model:
        region_mean = pm.Normal("region_mean", mu=d.loc, sigma=2.0, dims="region")
        sigma_team = pm.HalfNormal("sigma_team", sigma=0.5)
        team_z = pm.Normal("team_z", 0.0, 1.0, dims="team")
        team_dev: Any = team_z
        if TEAMS_ZERO_SUM_IN_REGION:
            team_dev = pt.as_tensor_variable(zero_sum_within(d.team_region)) @ team_z
        team_mean = pm.Deterministic(
            "team_mean", region_mean[d.team_region] + sigma_team * team_dev, dims="team"
        )
        sigma_rep = pm.HalfNormal("sigma_rep", sigma=1.0)
        rep_effect = pm.Normal("rep_effect", mu=team_mean[d.rep_team], sigma=sigma_rep, dims="rep")
        level = pt.shape_padright(rep_effect)  # (R, 1)
        if level_drift and d.n_blocks > 1:
            # Each rep's level walks back in time block by block from its current level
            # (territory changes, backfills): level[r, b] = level[r, b - 1] + sigma_drift * z[r, b].
            sigma_drift = pm.HalfNormal("sigma_drift", 0.3)
            # Zero-sum over reps within each block: the company-wide movement is the trend's,
            # not a ridge between the trend and the reps' mean drift (which mixed slowly).
            drift_z = pm.ZeroSumNormal("drift_z", sigma=1.0, dims=("past_block", "rep")).T
            dev = pt.concatenate([pt.zeros((n_r, 1)), pt.cumsum(drift_z, axis=1)], axis=1)
            one_hot = (g.block[None, :] == np.arange(d.n_blocks)[:, None]).astype(float)
            level = level + sigma_drift * pt.dot(dev[:, : d.n_blocks], one_hot)  # (R, T)
        trend = pm.Normal("trend", 0.0, 0.5)
        season_q = pm.ZeroSumNormal("season_quarter", sigma=0.5, dims="quarter")
        season_k = pm.ZeroSumNormal("season_month_of_quarter", sigma=0.5, dims="month_of_quarter")
        season_r = pm.Normal("season_resid", 0.0, 0.25, dims="season_basis")
        ramp_tau = pm.LogNormal("ramp_tau", mu=np.log(3.0), sigma=0.6)
        season12 = season_q[m12 // 3] + season_k[m12 % 3] + pt.dot(basis, season_r)
        by_month = trend * g.years + season12[g.fiscal_month]  # (T,)
        if BUSINESS_DAYS:
            days = pm.Normal("business_days", 0.0, 0.05)
            by_month = by_month + days * business_day_deviation(d.grid_months)
        if EASTER:
            easter = pm.Normal("easter", 0.0, EASTER_PRIOR_SD)
            by_month = by_month + easter * easter_deviation(d.grid_months)
        # log of the ramp fraction, only on the rows (reps) that are still ramping in the data
        rows = g.ramp_rows
        log_ramp = pt.zeros(g.y.shape)
        if len(rows):
            ramp_part = log_ramp_fraction(g.tenure[rows], ramp_tau, pt)
            log_ramp = pt.set_subtensor(log_ramp[rows], ramp_part)
        mu = level + by_month[None, :] + log_ramp
        if lag_effect:
            mu = mu + pm.Normal("lag12", 0.0, 0.5) * g.lag12
        if rep_noise:
            ls_mean = pm.Normal("log_sigma_mean", np.log(0.5), 1.0)
            ls_sd = pm.HalfNormal("log_sigma_sd", 0.3)
            ls_z = pm.Normal("log_sigma_z", 0.0, 1.0, dims="rep")
            log_sigma = pm.Deterministic("log_sigma_rep", ls_mean + ls_sd * ls_z, dims="rep")
        else:
            log_sigma = pt.log(pm.HalfNormal("sigma", 1.0)) * pt.ones(n_r)
        # Noise scale = rep scale x month-of-quarter factor: more deals close in the last month
        # of a quarter, so its sum varies less relative to its level.
        k_of_t = g.fiscal_month % 3
        if quarter_noise:
            ls_k = pm.ZeroSumNormal(
                "log_sigma_month_of_quarter", sigma=0.3, dims="month_of_quarter"
            )
        else:
            ls_k = pt.zeros(3)
        log_noise = pt.shape_padright(log_sigma) + ls_k[k_of_t][None, :]  # (R, T)
        # positive months per rep and month of quarter, (R, 3)
        n_rk = g.positive @ (k_of_t[:, None] == np.arange(3)[None, :]).astype(float)
        pos = g.positive
        if likelihood == "gamma":
            # Gamma(shape a, rate a exp(-mu)), a = 1 / sigma^2, summed over positive months:
            # n (a log a - lgamma a) per rep and month of quarter
            # + sum a (log y - mu - y exp(-mu)) - sum log y
            a_rk = pt.exp(-2.0 * (pt.shape_padright(log_sigma) + ls_k[None, :]))
            a = pt.shape_padright(pt.exp(-2.0 * log_sigma)) * pt.exp(-2.0 * ls_k)[k_of_t][None, :]
            stat = pt.sum(pos * a * (g.log_y - mu - g.y * pt.exp(-mu)))
            ll = pt.sum(n_rk * (a_rk * pt.log(a_rk) - pt.gammaln(a_rk))) + stat
            pm.Potential("bookings_loglik", ll - float(g.log_y.sum()))
        elif likelihood == "generalized_gamma":
            # log amount = mu + sigma * u, u a standardised log-gamma(k) variable:
            # z = digamma(k) + sqrt(trigamma(k)) * (log y - mu) / sigma has density
            # exp(k z - e^z) / Gamma(k); k small = left-skewed log amounts (k = a and sigma =
            # sqrt(trigamma(a)) is a gamma with shape a), k large = symmetric (lognormal).
            k = pm.LogNormal("gg_shape", mu=np.log(4.0), sigma=1.2)
            root = pt.sqrt(trigamma(k, pt))
            inv_s = pt.shape_padright(pt.exp(-log_sigma)) * pt.exp(-ls_k)[k_of_t][None, :]
            z = digamma(k, pt) + root * (g.log_y - mu) * inv_s
            stat = pt.sum(pos * (k * z - pt.exp(z)))
            log_s_rk = pt.shape_padright(log_sigma) + ls_k[None, :]
            per_cell = pt.sum(n_rk * (pt.log(root) - pt.gammaln(k) - log_s_rk))
            pm.Potential("bookings_loglik", stat + per_cell - float(g.log_y.sum()))
        else:
            scale = pt.exp(log_noise)
            if likelihood == "student_t":
                nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
                dist = pm.StudentT.dist(nu=nu, mu=mu, sigma=scale)
            else:
                dist = pm.Normal.dist(mu=mu, sigma=scale)
            pm.Potential("log_bookings_loglik", pt.sum(pos * pm.logp(dist, g.log_y)))
        if hurdle:
            share = min(max(d.positive_share, 0.02), 0.98)
            h0 = pm.Normal("hurdle_intercept", np.log(share / (1 - share)), 1.5)
            sh = pm.HalfNormal("sigma_hurdle_rep", 1.0)
            # zero-sum offsets: the intercept is the mean rep logit, not confounded with their sum
            hz = pm.ZeroSumNormal("hurdle_rep_z", sigma=1.0, dims="rep")
            hk = pm.ZeroSumNormal("hurdle_month_of_quarter", sigma=0.5, dims="month_of_quarter")
            hr = pm.Normal("hurdle_ramp", 1.0, 1.0)
            logit_p = pt.shape_padright(h0 + sh * hz) + hk[g.fiscal_month % 3] + hr * log_ramp
            if lag_effect:
                logit_p = logit_p + pm.Normal("hurdle_lag12", 0.0, 1.0) * g.lag12
            # Bernoulli(logit p): y log p + (1 - y) log(1 - p) = y logit - softplus(logit)
            bern = pos * logit_p - pt.softplus(logit_p)
            pm.Potential("has_bookings_loglik", pt.sum(g.observed * bern))
    model.spm_mu = mu
    model.spm_log_sigma = log_noise
    model.spm_grid = g
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
    business_days: np.ndarray | None = None,
    easter: np.ndarray | None = None,
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
    business_days : numpy.ndarray, optional
        The business days above the usual number of each entry's month
        (:func:`business_day_deviation`).
    easter : numpy.ndarray, optional
        The share of the days before Easter in each entry's month above its
        usual share (:func:`easter_deviation`).

    Returns
    -------
    mu, logit_p, sigma : numpy.ndarray
        Arrays of shape (samples, n); ``logit_p`` is ``None`` without a hurdle.
    """
    basis = seasonal_basis()
    q = fiscal_month // 3
    k = fiscal_month % 3
    tau = p["ramp_tau"][:, None]
    log_ramp = log_ramp_fraction(tenure[None, :], tau)
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
    if business_days is not None and "business_days" in p:
        mu = mu + p["business_days"][:, None] * business_days[None, :]
    if easter is not None and "easter" in p:
        mu = mu + p["easter"][:, None] * easter[None, :]
    if block is not None and "drift_z" in p:
        z = np.swapaxes(p["drift_z"], 1, 2)  # (samples, past_block, rep) -> (samples, rep, block)
        dev = np.concatenate([np.zeros((*z.shape[:2], 1)), np.cumsum(z, axis=2)], axis=2)
        mu = mu + p["sigma_drift"][:, None] * dev[:, rep_idx, block]
    if "log_sigma_rep" in p:
        log_sigma = p["log_sigma_rep"][:, rep_idx]
    else:
        log_sigma = np.broadcast_to(np.log(p["sigma"])[:, None], mu.shape)
    if "log_sigma_month_of_quarter" in p:
        log_sigma = log_sigma + p["log_sigma_month_of_quarter"][:, k]
    sigma = np.exp(log_sigma)
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
    likelihood: str = "student_t",
) -> np.ndarray:
    """Draw bookings (currency, >= 0) from the hurdle likelihood for each sample and rep-month.

    ``likelihood`` is one of :data:`LIKELIHOODS`; the parameters it needs
    (``nu``, ``gg_shape``) are read from ``p``.
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {likelihood!r}; choose from {LIKELIHOODS}")
    if likelihood == "gamma":
        shape = 1.0 / np.square(sigma)
        amount = rng.gamma(shape, np.exp(np.clip(mu, -50.0, 50.0)) / shape)
    else:
        if likelihood == "generalized_gamma":
            k = np.broadcast_to(p["gg_shape"][:, None], mu.shape)
            eps = (np.log(rng.gamma(k)) - digamma(k)) / np.sqrt(trigamma(k))
        elif likelihood == "student_t":
            eps = rng.standard_t(p["nu"][:, None], size=mu.shape)
        else:
            eps = rng.standard_normal(mu.shape)
        amount = np.exp(np.clip(mu + sigma * eps, -50.0, 50.0))
    if logit is not None:
        has = rng.random(mu.shape) < 1.0 / (1.0 + np.exp(-logit))
        amount = np.where(has, amount, 0.0)
    return amount
