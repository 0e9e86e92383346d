"""State-space model of monthly bookings: levels that follow the data (Kalman-filtered).

Model
-----
For rep ``r`` in month ``t`` (fiscal month ``m``) with bookings, the log amount is::

    log bookings[r, t] = level[r, t] + season[m] + season_dev[r, m] + adj[r, m]
                         + log ramp(tenure) + lag12 * x12[r, t]
                         + business_days * bd[t] + easter * ea[t] + eps[r, t]
    adj[r, m] += season_gain * v[r, t]     (as an option, after each observed month;
                                            adj starts at 0, and stays there by default)
    level[r, t + 1] = level[r, t] + slope[r, t] + eta,
                              eta ~ Normal(0, sigma_level_r * exp(regime[b(t)]))
    slope[r, t + 1] = drift + phi * (slope[r, t] - drift) + zeta,  zeta ~ Normal(0, sigma_slope)
    eps ~ Student-t(nu) with variance sigma_r^2 * exp(2 * regime[b(t)]) (or Normal)

Each rep's level is a local linear trend with a damped slope (``phi`` < 1)
whose long-run value is the pooled ``drift``: the level follows the data as
exponential smoothing does (a bust and a rebound move it), and after the
cut-off the forecast rolls the filtered state forward, so the predictive
spread widens at the rate the level noise the data support. The noise scales
are partially pooled over reps on the log scale (``log_sigma_mean/sd``,
``log_sigma_level_mean/sd``); ``phi``, ``sigma_slope`` and ``drift`` are
shared (as an option each series has its own drift, partially pooled around
``drift``: :data:`DRIFT_PER_SERIES`). Seasonality is a shared 12-month
pattern (``ZeroSumNormal``) plus per-rep deviations (``ZeroSumNormal`` over
the 12 months and over the reps, with the pooled scale ``sigma_season_rep``: the
shared pattern is the reps' average, so the two do not trade off along a ridge,
which held the shared February effect at bulk ESS 391 and refitted most Texas fits). As an option
(``ForecastConfig.seasonality``) it evolves: each observed month's one-step
prediction error ``v`` moves its series' adjustment ``adj`` for that month of
the year by ``season_gain`` times ``v`` (exponential smoothing's seasonal
smoothing in its error-correction form; :data:`SEASON_GAIN`). The adjustment is
a function of the past data, so the filter's prediction-error likelihood stays
exact. The per-rep observation noise scales
(``log_sigma[r] ~ Normal(log_sigma_mean, log_sigma_sd)``) are sampled centred where
the data pin each down (non-centred they mixed slowly on a 46 x 187 real panel: bulk
ESS 130 of 2,000 draws for ``log_sigma_mean``), and half- or non-centred where the
series' noise scales differ little against what their months can tell (centred, 10
series x 5 years had 25 divergences in the funnel of a small ``log_sigma_sd``):
:func:`spm_model.forecast.centring.sigma_centring`. The level noise scales and
seasonal deviations, which a few years of data inform only weakly, are
non-centred (``*_z``): centred, they gave R-hat 1.1-1.4 on 12 series x 4-5
years. Where a panel's data inform the seasonal deviations (or the regime
walk's steps) strongly, they are sampled half-centred instead
(:mod:`spm_model.forecast.centring`, :data:`PARTIAL_CENTRING`). The tenure
ramp and the lag-12 covariate are those of :mod:`spm_model.forecast.model`.

**Noise regimes shared by all series.** ``b(t)`` is the 6-month block of month
``t`` counted back from the cut-off (block 0: the last 6 months), and
``regime`` a Gaussian random walk over the blocks (step sd
``sigma_noise_regime``), zero in block 0, so ``sigma_r`` and
``sigma_level_r`` are today's noise scales. Real panels have volatile years
common to all series (on Texas home sales: the 2008 crash, the end of the 2010
tax credit: root mean square standardised one-step errors about 1.3 there,
about 0.9 in the three years before the cut-offs); with constant noise scales
those years widened every forecast's intervals (80% intervals covered 89%). After the cut-off the
walk takes one more step per block (:data:`NOISE_REGIME_MONTHS`). The walk is
sampled non-centred (:data:`REGIME_CENTRED`): centred, it is a funnel on data
without volatility regimes (950 divergences on a simulated 50 x 180 panel).
Raising every past block's regime and lowering all noise scales by as much changes only
block 0, a ridge the sampler crossed slowly (``log_sigma_level_mean`` bulk ESS
141-237 of 2,000 draws on Texas housing, correlation -0.73 with the walk's
mean); the noise scales' means and ``log_sigma`` are therefore sampled shifted
by the walk's mean, a shear with unit Jacobian, so the posterior is unchanged
(:data:`REGIME_SHEAR`). The level noise shares the walk by default; it can
have one of its own over the same blocks instead (``level_regime``, step sd
``sigma_level_regime``, zero in block 0, sheared the same way; :data:`LEVEL_REGIME`),
carried past the cut-off back towards its usual level at the pace its own
history shows (:func:`level_regime_ahead`, :data:`LEVEL_REGIME_AHEAD`).

**The states are not sampled.** Given the static parameters, the levels and
slopes of all reps are filtered month by month (one ``pytensor.scan`` over the
months, vectorised over reps, 2 x 2 covariances in closed form), and the
likelihood is that of the one-step prediction errors ``v`` with variances
``F``. This leaves a few parameters per rep instead of two per rep-month; on
this kind of machine a latent random walk sampled poorly where the filtered
form did not (``MEASURED.md``). Missing months and months without bookings
skip the update (the filter only predicts), so gaps simply widen the state's
uncertainty. With Student-t noise the errors are scored with a Student-t of the
filter's variance (heavy tails without per-observation latent scales), and the filter
is either the best linear one or, with :data:`ROBUST_UPDATE`, a robust one: each
month's noise variance in the update is scaled by ``(nu - 2 + v**2 / F) / (nu + 1)``,
so ordinary months move the level more and a gross error hardly at all, and the level
keeps as variance the square of the move it declined, so a lasting shift is taken up the
month after (:func:`~spm_model.forecast.kalman.kalman_loglik_grad_tm`). Each
prediction depends only on the past either way: the likelihood is the exact
prediction-error decomposition of the filter. With ``"normal"`` the filter is linear.

Months without bookings are the hurdle's (:mod:`spm_model.forecast.model`):
``P(bookings > 0) = logistic(hurdle_intercept + rep offset + month of quarter
+ ramp + lag12)``, on when the data have zero months.

Priors (log scale of monthly bookings):

* ``season ~ ZeroSumNormal(0.5)``, ``sigma_season_rep ~ LogNormal(log 0.05, 1)``
  (:data:`SEASON_REP_SCALE`), the series' deviations zero-sum normal (Student-t with 3
  degrees of freedom as an option, :data:`SEASON_REP_TAILS`);
* ``log_sigma_mean ~ Normal(log 0.3, 1)``, ``log_sigma_sd ~ HalfNormal(0.5)``;
* ``log_sigma_level_mean ~ Normal(log 0.05, 1)``: a level moving about 5% a
  month; ``log_sigma_level_sd ~ HalfNormal(0.5)``;
* ``sigma_slope ~ HalfNormal(0.005)`` (with :data:`SLOPE_NOISE`), ``phi ~ Beta(8, 2)``,
  ``drift ~ Normal(0, 0.01)`` a month;
* ``nu = 2 + Gamma(2, 0.1)`` (finite variance);
* ``season_gain ~ Beta(1, 19)`` when the pattern evolves: 5% of a month's surprise carried
  into next year's same month on average (:data:`SEASON_GAIN_PRIOR_B`);
* ``sigma_noise_regime ~ LogNormal(log 0.15, 1)`` where the data show regimes (the walk
  half-centred), ``HalfNormal(0.2)`` elsewhere: noise scales changing by about 15% from one
  half-year to the next (:data:`NOISE_REGIME_PRIOR`);
* ``sigma_level_regime ~ LogNormal(log 0.15, 1)``: the steps of the level noise's own walk
  when it has one (:data:`LEVEL_REGIME`, :data:`LEVEL_REGIME_STEP`);
* ``business_days ~ Normal(0, 0.05)``: the effect of one weekday more than
  the calendar month's usual number (``bd[t]``,
  :func:`~spm_model.forecast.model.business_day_deviation`;
  :data:`~spm_model.forecast.model.BUSINESS_DAYS`);
* ``easter ~ Normal(0, 0.2)``: the effect of the eight days before Easter falling in the
  month rather than their usual share (``ea[t]``, non-zero in March and April;
  :func:`~spm_model.forecast.model.easter_deviation`; :data:`~spm_model.forecast.model.EASTER`);
* ``ramp_tau``, ``lag12`` and the hurdle as in :mod:`spm_model.forecast.model`.

Initial state of each rep: level ``Normal(mean of its first observed log
amounts, 1)``, slope ``Normal(drift, 0.02)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spm_model.forecast.centring import centring, data_weights, sigma_centring
from spm_model.forecast.fused_loglik import amounts_loglik, hurdle_loglik
from spm_model.forecast.kalman import INIT_LEVEL_SD, INIT_SLOPE_SD, kalman_loglik
from spm_model.forecast.model import (
    BUSINESS_DAYS,
    EASTER,
    EASTER_PRIOR_SD,
    Design,
    Grid,
    business_day_deviation,
    easter_deviation,
    fiscal_month_index,
    lag12_covariate,
    log_ramp_fraction,
    make_grid,
    tenure_months,
)

#: Amount likelihoods the state-space model supports.
SS_LIKELIHOODS = ("student_t", "normal")

#: Prior median of the level noise scale (log amounts per month): a level moving about 5% a month.
LEVEL_NOISE_PRIOR = 0.05

#: Level noise of each series: "per_rep" (own scale, partially pooled) or "tied" (a pooled
#: multiple of the series' observation noise scale).
LEVEL_NOISE = "per_rep"

#: Half-life, in months before the cut-off, of the weight of each month's likelihood terms
#: (None: every month counts fully). The filter still runs through every month; only the
#: noise scales, damping and drift are learnt mostly from recent years, so a crash years ago
#: does not keep today's intervals wide. Experimental: with ``LEVEL_NOISE = "tied"`` and a
#: 36-month half-life the Texas housing backtest's first cut-off scored worse (0.092 against
#: 0.090) and the seasonal deviations' scale did not mix (R-hat 1.53). Alone, on 12 cities:
#: 80% coverage 0.930 -> 0.894 but scaled CRPS 0.087 -> 0.090.
HALF_LIFE_MONTHS: float | None = None

#: Length, in months, of the blocks of the shared noise regime, counted back from the cut-off
#: (None: constant noise scales). The observation noise scale of every series is multiplied by
#: ``exp(noise_regime[block])``, a random walk over the blocks common to all series and zero in
#: the last block before the cut-off, so volatile years (a crash, the end of a tax credit) do
#: not widen today's intervals. On the Texas housing backtest (5 cut-offs) 6-month blocks scored
#: better than 12-month ones (scaled CRPS 0.0890 against 0.0894, 80% coverage 85.2% against 85.7%).
NOISE_REGIME_MONTHS: int | None = 6

#: Whether the regime's walk is sampled centred or non-centred (the default). Centred, it is a
#: funnel when the data have no volatility regimes: on a 50 x 180 panel simulated with constant
#: noise its step sd went to zero and the fit had 950 divergences and R-hat 2.2 (non-centred:
#: R-hat 1.01, bulk ESS 154). On Texas housing both scored alike (cut-offs 2014-07 and
#: 2015-01: scaled CRPS 0.0830 and 0.0879 non-centred, 0.0831 and 0.0877 centred with the
#: shear; 80% coverage 80.4/87.4% and 79.7/87.0%; R-hat 1.01-1.02, no divergences either way).
REGIME_CENTRED = False

#: Whether the noise scales' means and the per-series observation noise scales are sampled
#: shifted by the regime walk's mean (a shear of unit Jacobian, so the same posterior; centred or
#: non-centred walk alike): raising every past block's regime and lowering the noise scales by as
#: much changes only the last block, a ridge the sampler walks slowly. On Texas housing with the
#: non-centred walk: max R-hat 1.01-1.02 and main-parameter bulk ESS 257-316 at the 5 backtest
#: cut-offs, against 1.01-1.04 and 90-229 without the shear.
REGIME_SHEAR = True

#: Partial centring of the seasonal deviations and the regime walk's steps: each is sampled as
#: ``z ~ Normal(0, scale**c)`` and used as ``scale**(1 - c) * z`` (0: non-centred, 1: centred).
#: None (the default): chosen per panel from how strongly its data inform each effect
#: (:func:`spm_model.forecast.centring.centring`: 0.5 or 0); a number: that ``c`` for both.
PARTIAL_CENTRING: float | None = None

#: How the level noise scales change over the regime blocks: ``"shared"`` (the default), the
#: observation noise's walk; ``"own"``, a random walk of its own (step sd ``sigma_level_regime``,
#: zero in the last block and held there after the cut-off); ``"none"``, constant. On Texas housing
#: the level moves far more in turbulent years than the month-to-month noise grows (variogram of
#: the de-seasonalised log sales: the level's own movement about 0.05-0.07 a month in 2008-2010
#: against 0.013-0.028 in 2011-2014, the noise 0.084-0.10 throughout). Its own walk (2026-12-05)
#: scored better at the last five cut-offs (scaled CRPS 0.0673 against 0.0702 on the number of
#: sales, 0.0851 against 0.0859 on dollar volume; 80% cover 84.3% and 83.5% against 85.4% and
#: 84.6%), the same at the history-wide cut-offs (0.0857 / 0.0853 and 0.0992 / 0.0987, 80% cover
#: 83.7% / 83.5% and 85.4% / 84.3%), and worse on the 7-series meat panel (80% / 95% cover 87.1% /
#: 98.6% against 84.8% / 97.1%; five fits with refits 711 s against 150 s): a walk per block needs
#: many series to be read. Stepping the own walk after the cut-off (as the observation noise's
#: does) widened the Texas intervals (80% cover 86.8% on the number of sales).
LEVEL_REGIME = "shared"
#: Forms of the level noise's regime walk (:data:`LEVEL_REGIME`).
LEVEL_REGIMES = ("shared", "own")

#: How the level noise's own regime walk (:data:`LEVEL_REGIME` ``"own"``) is carried past the
#: cut-off: ``"revert"`` (the default), back towards its usual level at the pace its own history
#: shows (:func:`level_regime_ahead`); ``"hold"``, held at the last block's (today's level noise).
#: A turbulent half-year's level noise does not last: on the Texas number of sales at the
#: history-wide cut-offs the walk's last block was 4-6 times its history's average level after the
#: crash and after the tax credit (2009-01, 2010-07), and holding it carried that into every
#: forecast (80% cover 97-98% there). Reverting (2026-12-07, same fits): history-wide scaled CRPS
#: 0.0858 -> 0.0828 on the number of sales, 0.0993 -> 0.0964 on dollar volume (ETS 0.0868, 0.1064);
#: at the calm cut-offs 2014-01 ... 2015-01 within 0.0001 (docs/user-guide.md).
LEVEL_REGIME_AHEAD = "revert"

#: Whether the Student-t model's filter updates its state robustly: each observed month's
#: noise variance in the update is scaled by ``(nu - 2 + v**2 / f) / (nu + 1)`` (the inverse
#: of the posterior mean of the Student-t's precision multiplier given the month's prediction
#: error ``v`` of variance ``f``), so an ordinary month, which the t's narrow core makes more
#: informative than a normal error of the same variance, moves the level more, and a gross
#: error (a month keyed at a tenth of its size) hardly at all; the level keeps as variance the
#: square of the move the update declined, so a lasting shift is taken up the month after. The
#: likelihood stays the exact prediction-error decomposition of this observation-driven filter;
#: with normal errors, or False, the linear Kalman update. Five cut-offs each (2026-12-07): Texas
#: active listings +13.2% against ETS (linear: +3.5%), months of inventory +6.5% (-1.5%), the
#: flows within their noise (number of sales +12.0% / +11.9%, meat +24.5% / +24.1%, wine +3.7% /
#: +4.0%, Norway +4.5% / +5.3%).
ROBUST_UPDATE = True

#: Whether forecasts draw each month's shocks with the share in common that the series'
#: one-step surprises had in the history (:func:`common_correlation`), so sums over series
#: (a region, the company) get the spread their co-movement implies; False: independent series.
#: Each series' own forecast is unchanged. Texas number of sales, nine cut-offs 2007-01 ...
#: 2015-01 (2026-12-07, same fits): the total's 80% / 95% intervals covered 41% / 61% of months
#: with independent series, 63% / 76% with common shocks (ETS 35% / 57%); scaled CRPS 0.0753 and
#: 0.0752, 80% cover 83.4% both.
COMMON_SHOCKS = True
#: Window, in months, over which the series' surprises are summed to read the share of the level
#: shocks in common (the observation noise's share is read month by month): common surprises
#: last, so the correlation grows with the window (Texas number of sales at 2015-01: 0.11 month
#: by month, 0.18 over 6 months, 0.27 over 12), and a level shock stays in every later month.
COMMON_LEVEL_MONTHS = 6

#: Prior of the noise regime walk's step sd ``sigma_noise_regime``: ``"halfnormal"``
#: (``HalfNormal(0.2)``), ``"lognormal"`` (``LogNormal(log NOISE_REGIME_STEP, 1)``) or ``"auto"``
#: (the default since 2026-12-05): log-normal where the walk is sampled half-centred (its data
#: weight, :func:`~spm_model.forecast.centring.centring`, says the data show regimes),
#: half-normal where it is non-centred. Half-centred, the half-normal's mass near zero is a
#: funnel: on Australian wine sales by type (6 series x 15 years, regime data weight 0.54)
#: ``sigma_noise_regime`` had bulk ESS 96-128 and 2 of 5 backtest fits failed their checks even
#: after refits; with the log-normal all five passed at the first fit, and the Texas and meat
#: backtests (weights 0.54-0.91) scored the same to the fourth decimal. Non-centred, where the
#: data show no regime, the log-normal keeps the step from zero against the data: on simulated
#: 50 x 180 panels it brought 1-2 divergences (seeds 7 and 21) where the half-normal had none.
NOISE_REGIME_PRIOR = "auto"

#: Prior median of the noise regime walk's steps with the log-normal prior.
NOISE_REGIME_STEP = 0.15

#: Prior median of the steps of the level noise's own walk (``sigma_level_regime ~
#: LogNormal(log LEVEL_REGIME_STEP, 1)``; Texas housing reads 0.6 a half-year). Log-normal, not
#: half-normal: on panels simulated without regimes the half-normal's mass near zero was a funnel
#: (10 x 60: 3,633 divergences at one refit; 50 x 180: 2 divergences and a refit, 104 s), the
#: log-normal sampled cleanly (35 s and 54 s).
LEVEL_REGIME_STEP = 0.15

#: Whether the slope takes a random step each month (``sigma_slope``) or only decays towards the
#: pooled drift from its filtered value (False, the default). With slope noise the level and slope
#: noise scales trade off along a ridge (small level noise and a wandering slope, or the reverse):
#: on a simulated 50 x 180 panel ``log_sigma_level_mean`` had a bimodal posterior, bulk ESS 211 and
#: 195 divergences at target_accept 0.8; without it bulk ESS 1,772 and no divergences. On the Texas
#: housing backtest (5 cut-offs) it also scored better without: scaled CRPS 0.0880 against 0.0889,
#: total WAPE 4.6% against 4.8%, main-parameter bulk ESS 257-316 against 90-229.
SLOPE_NOISE = False
#: The common movement (``common_movement=True``, ``ForecastConfig.common_movement="on"``): a
#: path ``common_month[t]`` every series' log amount shares, sampled month by month (centred:
#: the panel's cross-section pins each month) with the density of a local linear trend (level
#: step ``sigma_common_level``, damped slope ``phi_common`` with step ``sigma_common_slope``,
#: the long-run ``drift``) plus a month's transient (``sigma_common_month``). The series'
#: own levels then carry only their own movement, and their slopes revert to zero. Each month
#: of the year's mean of the path is zero (the shared seasonal pattern is ``season``). Used for
#: panels of at least :data:`COMMON_MOVEMENT_MIN_SERIES` series.
COMMON_MOVEMENT = False
COMMON_MOVEMENT_MIN_SERIES = 5
COMMON_MOVEMENT_PRIOR = 0.05
#: Prior scale of the path's mean per month of the year (those means do not enter the
#: likelihood; a scale near the path's own posterior scale keeps the sampler's steps even).
COMMON_MEANS_SD = 0.02
#: The common path's level noise follows the series' level regimes (the half-year blocks'
#: walk): calm after calm half-years. Without it the path's one level-noise scale, set by the
#: crash, widened every calm year's forecast (Texas number of sales at 2014-01: scaled CRPS
#: 0.0752 against 0.0726 with it, 80% cover 92.4% against 90.9%).
COMMON_REGIME = True

#: Whether the log amounts' and the hurdle's likelihoods are each one fused numba Op
#: (:mod:`spm_model.forecast.fused_loglik`; same density, about half the cost of a gradient
#: evaluation) or plain PyTensor expressions around the Kalman Op.
FUSED_LOGLIK = True

#: Main (global) parameters of the state-space model, checked for convergence.
# Typical scale of a series' own seasonal deviations (log scale; the prior's median). The prior
# is log-normal, not half-normal: real series nearly always differ a little in seasonality, and
# on panels without such differences the half-normal's mass near zero made the non-centred scale
# the slowest parameter of the fit (simulated 50 x 180: bulk ESS 277 against 836 with this
# prior; docs/performance.md, 2026-12-05).
SEASON_REP_SCALE = 0.05

#: Whether the series' seasonal deviations from the shared pattern are Student-t
#: (:data:`SEASON_REP_NU` degrees of freedom, scale ``sigma_season_rep``) rather than normal, so
#: the one series whose seasonality is far stronger than the others' keeps it instead of being
#: shrunk to the pooled scale. Texas home sales at 2012-01: Bryan-College Station's summer peak,
#: +0.3 of the log beyond the shared one, came out at +0.12-0.14 with normal deviations (pooled
#: scale 0.041), its noise scale inflated to take up the rest and its May-July forecasts scored
#: 0.19-0.36 against ETS's 0.04-0.07; Student-t: +0.25-0.31. Sampled as unconstrained t draws
#: centred over the months and over the series (the deviations stay zero-sum both ways). A
#: per-series scale multiplier (log-Student-t) found the same peak but traded off against the
#: series' deviations along a ridge: every Texas fit was refitted for R-hat 1.02-1.03. Each
#: series' deviations multivariate t (the normal kernel swapped for the t's on the zero-sum
#: subspace, no latent scale) scored alike (Texas across the boom and bust +6.8%, Norway's first
#: four cut-offs 0.1498 against 0.1487) but left one small series' deviations bimodal (South
#: Padre Island at 2010-07, R-hat 1.03, refitted). The cost of the t draws: the 50 x 180
#: benchmark 55 s warm against 46 s (docs/performance.md). Here the model builder's default;
#: fits take ``ForecastConfig.season_deviations`` ("normal" or "student_t"). Off since 2026-12-07
#: 21:10 UTC: where the series' seasonal patterns barely differ the t deviations mix badly
#: (panels simulated by :func:`~spm_model.forecast.simulate.simulate_panel`, defaults otherwise,
#: one fit each: 100 x 36 R-hat 1.05, min main bulk ESS 66; 200 x 36 1.13 / 14; 200 x 48 1.04 /
#: 47; 100 x 60 1.02 / 283; 200 x 72 1.07 / 41; with 5 degrees of freedom 200 x 36 1.01 / 211;
#: half-centred 1.47 / 4), where the normal deviations pass (200 x 36 1.01 / 500; 100 x 60
#: 1.01 / 930; 200 x 72 1.01 / 429). An outlier test on the data's own seasonal deviations
#: could not tell the panels apart (the simulated ones, with new hires and lumpy months, showed
#: larger outliers than Texas).
SEASON_REP_TAILS = False
#: Degrees of freedom of the Student-t seasonal deviations (:data:`SEASON_REP_TAILS`).
SEASON_REP_NU = 3.0

#: Whether each series has its own long-run slope (``drift_rep[r] ~ Normal(drift,
#: sigma_drift_rep)``, non-centred; its slope decays towards it) or all share ``drift`` (the
#: default). See the user guide (forecasting, "each series' own drift") for what it was measured
#: to do.
DRIFT_PER_SERIES = False

#: Prior scale of the series' long-run slopes around the shared drift (``sigma_drift_rep ~
#: HalfNormal(DRIFT_REP_SCALE)``; log scale per month: 0.005 is 6% a year).
DRIFT_REP_SCALE = 0.005

#: Whether each series' seasonal pattern evolves (an option) or stays fixed (the default).
#: Evolving, every observed month's prediction error moves the series' seasonal effect for that
#: month of the year by ``season_gain`` times the error (``season_gain ~ Beta(1,
#: SEASON_GAIN_PRIOR_B)``, shared by the series), the error-correction form of exponential
#: smoothing's seasonal smoothing: the pattern of recent years counts most, and the filter's
#: likelihood stays exact (the adjustment is known given the past). Measured 2026-12-06 on the
#: four real panels (user guide, "Seasonality that changes over the years"): better on Texas
#: number of sales (scaled CRPS 0.0687 against 0.0702, 80% cover 84.5% against 85.7%), level on
#: dollar volume and meat, worse on wine (0.078 against 0.0770), and the series' fixed
#: deviations, now only their initial seasonal states, mixed slowly (8 of 10 Texas fits
#: refitted; with the initial states non-centred, 2026-12-07, still 19 of 20, but each in about
#: half the time). Across the Texas boom and bust (five cut-offs 2007-01 ... 2013-07) it scored
#: +6.2% against ETS on the number of sales (fixed +4.5%) and +10.3% on dollar volume (+9.4%), at
#: the last five cut-offs +11.2% and +11.6% (fixed +11.9% and +12.2%): not the default.
#: Per fit: ``ForecastConfig.seasonality`` ("evolving").
SEASON_GAIN = False

#: Whether each series has fixed seasonal deviations from the shared pattern (``season_rep``,
#: scale ``sigma_season_rep``; the default). With the seasonal gain they are the series' initial
#: seasonal states; without them (False) the gain learns each series' pattern from the shared one.
#: That suits panels of series with much the same seasonality: Texas number of sales with the
#: gain and no fixed deviations scored 0.0692, 80% cover 84.7%, every fit passing its checks at
#: the first attempt (200 s for five); on wine, whose series peak in different months, 0.0811,
#: and on meat 0.0366. Per fit: ``ForecastConfig.seasonality`` ("evolving_common").
SEASON_REP_FIXED = True

#: ``b`` of the seasonal gain's ``Beta(1, b)`` prior: mean ``1 / (1 + b)`` (0.05 a month).
SEASON_GAIN_PRIOR_B = 19.0

#: Seasonal patterns of the state-space model (``ForecastConfig.seasonality``).
SEASONALITIES = ("fixed", "evolving", "evolving_common")

SS_MAIN_PARAMS = (
    "season",
    "sigma_common_month",
    "sigma_common_level",
    "sigma_season_rep",
    "log_sigma_mean",
    "log_sigma_sd",
    "log_sigma_level_mean",
    "log_sigma_level_sd",
    "log_level_noise_ratio",
    "sigma_noise_regime",
    "sigma_level_regime",
    "sigma_slope",
    "phi",
    "drift",
    "sigma_drift_rep",
    "nu",
    "season_gain",
    "ramp_tau",
    "lag12",
    "business_days",
    "easter",
    "hurdle_lag12",
    "hurdle_intercept",
    "sigma_hurdle_rep",
    "hurdle_month_of_quarter",
    "hurdle_ramp",
)


@dataclass
class SSData:
    """Arrays of a design laid out for the filter (reps x months)."""

    grid: Grid
    fiscal_month: np.ndarray  # (T,)
    init_level: np.ndarray  # (R,)
    ramp_rows: np.ndarray
    weight: np.ndarray  # (T,) weight of each month's likelihood terms
    regime_block: np.ndarray  # (T,) block of the noise regime (0: the last before the cut-off)
    regime_months: int  # months per block (0: no regime)
    business_days: np.ndarray  # (T,) business days above the calendar month's usual number
    easter: np.ndarray  # (T,) share of the days before Easter above the calendar month's usual
    season_centring: float = 0.0  # partial centring of the seasonal deviations
    regime_centring: float = 0.0  # partial centring of the regime walk's steps
    level_regime: str = "shared"  # the level noise's regime walk, as built
    sigma_centring: float = 1.0  # partial centring of the per-series noise scales
    robust: bool = False  # the Student-t filter's robust update (ROBUST_UPDATE), as built


def ss_data(d: Design) -> SSData:
    """Lay out a design for the state-space model."""
    g = make_grid(d)
    pos = g.positive > 0
    init = np.empty(len(d.reps))
    for r in range(len(d.reps)):
        vals = g.log_y[r, pos[r]]
        init[r] = vals[:12].mean() if len(vals) else d.loc
    n_t = g.y.shape[1]
    weight = np.ones(n_t)
    if HALF_LIFE_MONTHS is not None:
        weight = 0.5 ** ((n_t - 1 - np.arange(n_t)) / HALF_LIFE_MONTHS)
    block = np.zeros(n_t, dtype=int)
    if NOISE_REGIME_MONTHS:
        block = (n_t - 1 - np.arange(n_t)) // int(NOISE_REGIME_MONTHS)
    fm = fiscal_month_index(d.grid_months, d.fy_start_month)
    if PARTIAL_CENTRING is None:
        weights = data_weights(g.log_y, g.positive, fm, block)
        c_season, c_regime = centring(weights)
        c_sigma = sigma_centring(weights)
    else:
        c_season = c_regime = float(PARTIAL_CENTRING)
        c_sigma = 1.0
    return SSData(
        grid=g,
        fiscal_month=fm,
        init_level=init,
        ramp_rows=g.ramp_rows,
        weight=weight,
        regime_block=block,
        regime_months=int(NOISE_REGIME_MONTHS or 0) if block.max() > 0 else 0,
        business_days=business_day_deviation(d.grid_months),
        easter=easter_deviation(d.grid_months),
        season_centring=c_season,
        regime_centring=c_regime,
        sigma_centring=c_sigma,
        robust=bool(ROBUST_UPDATE),
    )


def _filter_step(xp: Any, e, m, h, lv, b, p11, p12, p22, phi, drift, ql, qb, nu=None):
    """One month of the Kalman filter for every rep (and draw): update, then predict.

    ``l, b, p11, p12, p22`` are the predicted state and covariance for this
    month; ``e`` the de-seasonalised log amount, ``m`` 1 where it is observed
    (else the update is skipped), ``h`` the observation noise variance; ``nu``
    given: the robust update of Student-t errors (:data:`ROBUST_UPDATE`: ``h``
    scaled by ``(nu - 2 + v**2 / f) / (nu + 1)`` in the update, and the square of
    the move declined added to the level's variance).
    Returns the next month's predicted state, the prediction error and its
    variance.
    """
    v = e - lv
    f = p11 + h
    g = f if nu is None else p11 + h * (1.0 + m * ((nu - 2.0 + v * v / f) / (nu + 1.0) - 1.0))
    k1 = m * p11 / g
    k2 = m * p12 / g
    l_u = lv + k1 * v
    b_u = b + k2 * v
    q11 = p11 - k1 * p11
    if nu is not None:  # the level's variance keeps the square of the move declined
        q11 = q11 + (m * p11 * (1.0 / f - 1.0 / g) * v) ** 2
    q12 = p12 - k1 * p12
    q22 = p22 - k2 * p12
    l_n = l_u + b_u
    b_n = drift + phi * (b_u - drift)
    n11 = q11 + 2.0 * q12 + q22 + ql
    n12 = phi * (q12 + q22)
    n22 = phi * phi * q22 + qb
    return l_n, b_n, n11, n12, n22, v, f, l_u, b_u, q11, q12, q22


def _partially_centred(pm: Any, name: str, sd: Any, c: float, dims: str = "rep") -> Any:
    """Deviations ``Normal(0, sd)`` (per series, or per ``dims``) with partial-centring ``c``.

    ``z ~ Normal(0, sd**c)`` and the deviation ``sd**(1 - c) * z`` (0: non-centred; see
    :mod:`spm_model.forecast.centring`).
    """
    z = pm.Normal(name, 0.0, sd**c if c else 1.0, dims=dims)
    return (sd ** (1.0 - c) if c else sd) * z


def static_offset(
    season: Any,
    season_dev: Any,
    fiscal_month: np.ndarray,
    log_ramp: Any,
    lag12: Any,
    days: Any = 0.0,
) -> Any:
    """Seasonal, ramp, lag-12 and business-day part of the log amount (all but the level)."""
    return season[fiscal_month][None, :] + season_dev[:, fiscal_month] + log_ramp + lag12 + days


def build_ss_model(
    d: Design,
    likelihood: str = "student_t",
    hurdle: bool = True,
    lag_effect: bool = True,
    level_noise: str | None = None,
    seasonality: str | None = None,
    drift_per_series: bool | None = None,
    level_regime: str | None = None,
    season_tails: bool | None = None,
    common_movement: bool | None = None,
) -> Any:
    """Build the PyMC state-space model of :mod:`this module <spm_model.forecast.statespace>`.

    Parameters
    ----------
    d : Design
        Observations and group structure (:func:`~spm_model.forecast.model.make_design`).
    likelihood : {"student_t", "normal"}
        Noise of the log amounts (:data:`SS_LIKELIHOODS`).
    hurdle : bool
        Model months without bookings (a logistic part); without it zero
        months are simply not used.
    lag_effect : bool
        Include the same month a year earlier as a covariate.
    level_noise : {"per_rep", "tied"}, optional
        Level noise of each series (default :data:`LEVEL_NOISE`).
    seasonality : {"fixed", "evolving", "evolving_common"}, optional
        Each series' seasonal pattern: fixed deviations from the shared one;
        evolving with a learnt gain from them (:data:`SEASON_GAIN`); or evolving
        from the shared pattern alone (:data:`SEASON_REP_FIXED` False). Default:
        from those two module settings.
    drift_per_series : bool, optional
        Each series its own long-run drift, partially pooled around the shared
        one (default :data:`DRIFT_PER_SERIES`).
    level_regime : {"shared", "own", "auto"}, optional
        The level noise's regime walk: the observation noise's, or its own over the
        same blocks; ``"auto"``: its own for panels of many series whose data show
        noise regimes (:meth:`~spm_model.forecast.config.ForecastConfig.resolved_level_regime`).
        Default :data:`LEVEL_REGIME`. The form used is ``model.spm_ss.level_regime``.
    season_tails : bool, optional
        Student-t rather than normal seasonal deviations of the series (default
        :data:`SEASON_REP_TAILS`; ``ForecastConfig.season_deviations``).
    common_movement : bool, optional
        Model the movement all series share as a path of its own (default
        :data:`COMMON_MOVEMENT`; ``ForecastConfig.common_movement``).

    Returns
    -------
    pymc.Model
        The model; ``model.spm_ss`` holds the :class:`SSData`.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if likelihood not in SS_LIKELIHOODS:
        raise ValueError(
            f"the state-space model takes likelihood 'student_t' or 'normal', got {likelihood!r}"
        )
    if seasonality is None:
        evolving, fixed_deviations = SEASON_GAIN, SEASON_REP_FIXED
    elif seasonality in SEASONALITIES:
        evolving = seasonality != "fixed"
        fixed_deviations = seasonality != "evolving_common"
    else:
        raise ValueError(f"seasonality must be one of {SEASONALITIES}, got {seasonality!r}")
    # one series has no deviations from the shared pattern: it is the pattern (with them the
    # data tell only the sum of the two, and the sampler wanders along it)
    fixed_deviations = fixed_deviations and len(d.reps) > 1
    level_regime = LEVEL_REGIME if level_regime is None else level_regime
    if level_regime not in (*LEVEL_REGIMES, "auto"):
        raise ValueError(
            f"level_regime must be one of {LEVEL_REGIMES} or 'auto', got {level_regime!r}"
        )
    s = ss_data(d)
    s.robust = s.robust and likelihood == "student_t"
    if level_regime == "auto":
        from spm_model.forecast.config import ForecastConfig

        level_regime = ForecastConfig(level_regime="auto").resolved_level_regime(
            len(d.reps), shows_regimes=s.regime_centring > 0
        )
    s.level_regime = level_regime
    g = s.grid
    coords = {
        "rep": d.reps,
        "fiscal_month": [f"m{i + 1}" for i in range(12)],
        "month_of_quarter": ["first", "second", "third"],
    }
    pos = g.positive
    with pm.Model(coords=coords) as model:
        season = pm.ZeroSumNormal("season", sigma=0.5, dims="fiscal_month")
        season_dev: Any = np.zeros((len(d.reps), 12))
        if fixed_deviations:
            s_dev = pm.LogNormal("sigma_season_rep", mu=np.log(SEASON_REP_SCALE), sigma=1.0)
            # 0: non-centred; 0.5: half-centred (see centring.py). With an evolving pattern the
            # deviations are only the initial seasonal states, which the data inform less than the
            # weight computed for a fixed pattern says: non-centred (Texas number of sales,
            # 2012-01: sigma_season_rep bulk ESS 379 against 192 half-centred and 85 centred)
            c = 0.0 if evolving else s.season_centring
            dev_sd: Any = s_dev**c if c else 1.0
            tails = SEASON_REP_TAILS if season_tails is None else season_tails
            if tails and len(d.reps) > 2:
                # Student-t deviations (3 degrees of freedom): the one series whose seasonality
                # is far stronger than the others' keeps it; centred over the months and the
                # series, as the zero-sum normal is
                z = pm.StudentT(
                    "season_rep_z", nu=SEASON_REP_NU, mu=0.0, sigma=dev_sd,
                    dims=("rep", "fiscal_month"),
                )  # fmt: skip
                z = z - pt.mean(z, axis=1, keepdims=True)
                dev_z = z - pt.mean(z, axis=0, keepdims=True)
            else:
                dev_z = pm.ZeroSumNormal(
                    "season_rep_z", sigma=dev_sd, dims=("rep", "fiscal_month"), n_zerosum_axes=2
                )
            dev = (s_dev ** (1.0 - c) if c else s_dev) * dev_z
            season_dev = pm.Deterministic("season_rep", dev, dims=("rep", "fiscal_month"))
        ramp_tau = pm.LogNormal("ramp_tau", mu=np.log(3.0), sigma=0.6)
        rows = np.asarray(s.ramp_rows, dtype=np.int64)
        # the log ramp of the reps it matters for (rows x months), and on the whole grid
        ten_rows = np.asarray(g.tenure[rows], dtype=float).reshape(len(rows), g.y.shape[1])
        log_ramp = pt.zeros(g.y.shape)
        if len(rows) and not FUSED_LOGLIK:
            log_ramp = pt.set_subtensor(log_ramp[rows], log_ramp_fraction(ten_rows, ramp_tau, pt))
        lag12: Any = pm.Normal("lag12", 0.0, 0.5) if lag_effect else 0.0
        lag_term: Any = lag12 * g.lag12 if lag_effect else 0.0
        days: Any = pm.Normal("business_days", 0.0, 0.05) if BUSINESS_DAYS else 0.0
        easter: Any = pm.Normal("easter", 0.0, EASTER_PRIOR_SD) if EASTER else 0.0
        n_b = int(s.regime_block.max()) + 1 if s.regime_months else 1
        shear = bool(REGIME_SHEAR and s.regime_months and n_b > 1)
        walk: Any = None
        s_reg: Any = None
        if s.regime_months:
            model.add_coord("noise_block", np.arange(n_b))
            model.add_coord("noise_step", np.arange(1, n_b))
            if NOISE_REGIME_PRIOR == "lognormal" or (
                NOISE_REGIME_PRIOR == "auto" and s.regime_centring > 0
            ):
                s_reg = pm.LogNormal("sigma_noise_regime", np.log(NOISE_REGIME_STEP), 1.0)
            else:
                s_reg = pm.HalfNormal("sigma_noise_regime", 0.2)
            if REGIME_CENTRED:
                walk = pm.Flat("noise_regime_walk", dims="noise_step")
            else:
                c = s.regime_centring
                steps = _partially_centred(pm, "noise_regime_z", s_reg, c, dims="noise_step")
                walk = pt.cumsum(steps)
        level_walk: Any = walk if level_regime == "shared" else None
        if s.regime_months and level_regime == "own":
            # the level noise's own walk, centred as much as the noise regime's
            s_lreg = pm.LogNormal("sigma_level_regime", np.log(LEVEL_REGIME_STEP), 1.0)
            c = s.regime_centring
            lsteps = _partially_centred(pm, "level_regime_z", s_lreg, c, dims="noise_step")
            level_walk = pt.cumsum(lsteps)
        if shear:
            w_bar = pt.mean(walk)
            lw_bar: Any = pt.mean(level_walk) if level_walk is not None else 0.0
            ls_mean_s = pm.Flat("log_sigma_mean_shifted", initval=np.log(0.3))
            ls_mean = pm.Deterministic("log_sigma_mean", ls_mean_s - w_bar)
            pm.Potential("log_sigma_mean_prior", pm.logp(pm.Normal.dist(np.log(0.3), 1.0), ls_mean))
            ls_sd = pm.HalfNormal("log_sigma_sd", 0.5)
            if s.sigma_centring >= 1.0:
                log_sigma_s = pm.Flat(
                    "log_sigma_shifted", dims="rep", initval=np.full(len(d.reps), np.log(0.3))
                )
                pm.Potential(
                    "log_sigma_prior",
                    pt.sum(pm.logp(pm.Normal.dist(ls_mean_s, ls_sd), log_sigma_s)),
                )
            else:
                dev = _partially_centred(pm, "log_sigma_z", ls_sd, s.sigma_centring)
                log_sigma_s = ls_mean_s + dev
            log_sigma = pm.Deterministic("log_sigma", log_sigma_s - w_bar, dims="rep")
        else:
            ls_mean = pm.Normal("log_sigma_mean", np.log(0.3), 1.0)
            ls_sd = pm.HalfNormal("log_sigma_sd", 0.5)
            if s.sigma_centring >= 1.0:
                log_sigma = pm.Normal("log_sigma", ls_mean, ls_sd, dims="rep")
            else:
                dev = _partially_centred(pm, "log_sigma_z", ls_sd, s.sigma_centring)
                log_sigma = pm.Deterministic("log_sigma", ls_mean + dev, dims="rep")
        if (level_noise or LEVEL_NOISE) == "tied":
            ratio = pm.Normal("log_level_noise_ratio", np.log(0.05 / 0.3), 1.0)
            log_sigma_level = pm.Deterministic("log_sigma_level", log_sigma + ratio, dims="rep")
        else:
            if shear:
                ll_mean_s = pm.Flat(
                    "log_sigma_level_mean_shifted", initval=np.log(LEVEL_NOISE_PRIOR)
                )
                ll_mean = pm.Deterministic("log_sigma_level_mean", ll_mean_s - lw_bar)
                pm.Potential(
                    "log_sigma_level_mean_prior",
                    pm.logp(pm.Normal.dist(np.log(LEVEL_NOISE_PRIOR), 1.0), ll_mean),
                )
            else:
                ll_mean = pm.Normal("log_sigma_level_mean", np.log(LEVEL_NOISE_PRIOR), 1.0)
            ll_sd = pm.HalfNormal("log_sigma_level_sd", 0.5)
            ll_z = pm.Normal("log_sigma_level_z", 0.0, 1.0, dims="rep")
            log_sigma_level = pm.Deterministic(
                "log_sigma_level", ll_mean + ll_sd * ll_z, dims="rep"
            )
        sigma_slope: Any = pm.HalfNormal("sigma_slope", 0.005) if SLOPE_NOISE else 0.0
        phi = pm.Beta("phi", 8.0, 2.0)
        drift: Any = pm.Normal("drift", 0.0, 0.01)
        shared_drift = drift
        drift_per = DRIFT_PER_SERIES if drift_per_series is None else drift_per_series
        if drift_per:
            # each series' long-run slope, partially pooled around the shared drift
            s_drift = pm.HalfNormal("sigma_drift_rep", DRIFT_REP_SCALE)
            dev = _partially_centred(pm, "drift_rep_z", s_drift, 0.0)  # non-centred
            drift = pm.Deterministic("drift_rep", drift + dev, dims="rep")

        regime: Any = pt.zeros(1)
        if s.regime_months:
            if REGIME_CENTRED:
                # a centred walk from block 0 (zero) back in time; written as a flat variable
                # and its steps' normal density (PyMC's GaussianRandomWalk logs a failed
                # PyTensor rewrite here)
                steps = pt.diff(pt.concatenate([pt.zeros(1), walk]))
                pm.Potential(
                    "noise_regime_steps",
                    pt.sum(-0.5 * pt.square(steps / s_reg) - pt.log(s_reg)),
                )
            regime = pm.Deterministic(
                "noise_regime", pt.concatenate([pt.zeros(1), walk]), dims="noise_block"
            )
        level_mult: Any = regime if level_regime == "shared" else pt.zeros(n_b)
        if level_regime == "own" and level_walk is not None:
            level_mult = pm.Deterministic(
                "level_regime", pt.concatenate([pt.zeros(1), level_walk]), dims="noise_block"
            )
        qb = pt.square(sigma_slope)
        if likelihood == "normal":
            nu: Any = 30.0  # unused by the normal likelihood
        else:
            nu = pm.Deterministic("nu", 2.0 + pm.Gamma("nu_excess", alpha=2.0, beta=0.1))
        student = likelihood == "student_t"
        gain: Any = None
        if evolving:
            gain = pm.Beta("season_gain", 1.0, SEASON_GAIN_PRIOR_B)
        common: Any = None
        if common_movement is None:
            common_movement = COMMON_MOVEMENT
        if common_movement and len(d.reps) >= COMMON_MOVEMENT_MIN_SERIES:
            model.add_coord("month", np.arange(g.y.shape[1]))
            # its level noise follows the series' level regimes when COMMON_REGIME
            c_mult = pt.exp(2.0 * level_mult[s.regime_block]) if COMMON_REGIME else None
            common = _common_movement(pm, pt, s, shared_drift, g.y.shape[1], c_mult)
        # with the common movement the long-run drift is its own: the series' slopes revert to
        # zero (or to their own deviations from it)
        series_drift: Any = drift
        if common is not None:
            series_drift = drift - shared_drift if drift_per else 0.0
        if FUSED_LOGLIK:
            # the calendar covariates and their coefficients (zero when a term is off)
            calendar = pt.stack([pt.as_tensor_variable(days), pt.as_tensor_variable(easter)])
            x_calendar = np.column_stack([s.business_days, s.easter])
            if common is not None:  # the month effects as one more calendar covariate each
                calendar = pt.concatenate([calendar, common])
                x_calendar = np.column_stack([x_calendar, np.eye(len(s.fiscal_month))])
            ll = amounts_loglik(
                g.log_y, pos, season, season_dev, s.fiscal_month, ten_rows, rows, ramp_tau,
                lag12, g.lag12, calendar, x_calendar, log_sigma, log_sigma_level, regime,
                level_mult, s.regime_block, qb, phi, series_drift, nu, s.init_level, s.weight,
                student,
                season_gain=gain, robust=s.robust,
            )  # fmt: skip
        else:
            offset = static_offset(
                season,
                season_dev,
                s.fiscal_month,
                log_ramp,
                lag_term,
                days * s.business_days + easter * s.easter,
            )
            if common is not None:
                offset = offset + common[None, :]
            e = pt.as_tensor_variable(g.log_y) - offset  # (R, T); used only where positive
            mult = pt.exp(2.0 * regime[s.regime_block])[None, :]  # (1, T)
            h = pt.exp(2.0 * log_sigma)[:, None] * mult
            ql = pt.exp(2.0 * log_sigma_level)[:, None] * pt.exp(2.0 * level_mult[s.regime_block])
            ll = kalman_loglik(
                e, pos, h, ql, qb, phi, series_drift, nu, s.init_level, student=student,
                weight=s.weight,
                fiscal_month=None if gain is None else s.fiscal_month,
                season_gain=0.0 if gain is None else gain, robust=s.robust,
            )  # fmt: skip
        pm.Potential("log_bookings_loglik", ll)
        if hurdle:
            _hurdle(pm, pt, d, g, log_ramp, ten_rows, rows, ramp_tau, lag_effect)
    model.spm_ss = s
    return model


def _common_movement(
    pm: Any, pt: Any, s: SSData, drift: Any, n_t: int, level_mult: Any = None
) -> Any:
    """Add the common movement's path and its density to the model (:data:`COMMON_MOVEMENT`)."""
    s_cm = pm.HalfNormal("sigma_common_month", COMMON_MOVEMENT_PRIOR)
    s_cl = pm.HalfNormal("sigma_common_level", COMMON_MOVEMENT_PRIOR)
    s_cb = pm.HalfNormal("sigma_common_slope", 0.01)
    phi_c = pm.Beta("phi_common", 8.0, 2.0)
    # each month of the year's mean of the path is zero: the free means do not enter the
    # likelihood (the shared pattern `season` and the series' levels take them) and get a prior
    free = pm.Flat("common_free", shape=n_t, initval=np.zeros(n_t))
    onehot = np.eye(12)[s.fiscal_month]  # (T, 12)
    means = pt.dot(free, onehot) / onehot.sum(axis=0).clip(min=1)
    pm.Potential("common_means_prior", -0.5 * pt.sum(pt.square(means / COMMON_MEANS_SD)))
    path = pm.Deterministic("common_month", free - pt.dot(onehot, means), dims="month")
    ql: Any = pt.square(s_cl)[None]
    if level_mult is not None:
        ql = ql[:, None] * level_mult[None, :]
    density = kalman_loglik(
        path[None, :], np.ones((1, n_t)), pt.square(s_cm)[None], ql,
        pt.square(s_cb), phi_c, drift, 30.0, np.zeros(1), student=False,
    )  # fmt: skip
    pm.Potential("common_month_prior", density)
    return path


def _hurdle(
    pm: Any,
    pt: Any,
    d: Design,
    g: Grid,
    log_ramp: Any,
    ten_rows: np.ndarray,
    rows: np.ndarray,
    ramp_tau: Any,
    lag_effect: bool,
) -> None:
    share = min(max(d.positive_share, 0.02), 0.98)
    h0 = pm.Normal("hurdle_intercept", np.log(share / (1 - share)), 1.5)
    sh = pm.HalfNormal("sigma_hurdle_rep", 1.0)
    hz = pm.ZeroSumNormal("hurdle_rep_z", sigma=1.0, dims="rep")
    hk = pm.ZeroSumNormal("hurdle_month_of_quarter", sigma=0.5, dims="month_of_quarter")
    hr = pm.Normal("hurdle_ramp", 1.0, 1.0)
    lag: Any = pm.Normal("hurdle_lag12", 0.0, 1.0) if lag_effect else 0.0
    if FUSED_LOGLIK:
        moq = np.asarray(g.fiscal_month % 3, dtype=np.int64)
        ll = hurdle_loglik(
            h0 + sh * hz,
            hk,
            hr,
            ten_rows,
            rows,
            ramp_tau,
            lag,
            g.positive,
            g.observed,
            moq,
            g.lag12,
        )
        pm.Potential("has_bookings_loglik", ll)
        return
    logit_p = pt.shape_padright(h0 + sh * hz) + hk[g.fiscal_month % 3] + hr * log_ramp
    if lag_effect:
        logit_p = logit_p + lag * g.lag12
    bern = g.positive * logit_p - pt.softplus(logit_p)
    pm.Potential("has_bookings_loglik", pt.sum(g.observed * bern))


# -- the same model in numpy, on posterior draws ---------------------------------------------
def _offsets(p: dict[str, np.ndarray], s: SSData) -> np.ndarray:
    """Return the static part of the log amount per draw, rep and month: (S, R, T)."""
    g = s.grid
    fm = s.fiscal_month
    dev = _season_rep(p, len(s.init_level))  # (S, R, 12)
    out = p["season"][:, fm][:, None, :] + dev[:, :, fm]
    out = out + log_ramp_fraction(g.tenure[None], p["ramp_tau"][:, None, None])
    if "lag12" in p:
        out = out + p["lag12"][:, None, None] * g.lag12[None]
    if "common_month" in p:
        out = out + p["common_month"][:, None, :]
    return out + _calendar_term(p, s.business_days, s.easter)


def _calendar_term(p: dict[str, np.ndarray], business_days: np.ndarray, easter: np.ndarray) -> Any:
    """Business-day and Easter part of the log amount per draw and month, (S, 1, T) (or 0)."""
    out: Any = 0.0
    for name, x in (("business_days", business_days), ("easter", easter)):
        if name in p:
            out = out + p[name][:, None, None] * x[None, None, :]
    return out


def _season_rep(p: dict[str, np.ndarray], n_reps: int) -> np.ndarray:
    """Each series' fixed seasonal deviation per draw, (S, R, 12) (zeros without them)."""
    if "season_rep" in p:
        return p["season_rep"]
    return np.zeros((p["phi"].shape[0], n_reps, 12))


def _noise(p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-rep noise variances of the last block before the cut-off: (S, R), (S, R), (S, 1)."""
    h = np.exp(2.0 * p["log_sigma"])
    ql = np.exp(2.0 * p["log_sigma_level"])
    qb = np.square(p["sigma_slope"]) if "sigma_slope" in p else np.zeros_like(p["phi"])
    return h, ql, qb[:, None]


def _drift(p: dict[str, np.ndarray]) -> np.ndarray:
    """Long-run slope per draw and series, (S, R), or (S, 1) when the series share it."""
    common = "common_month" in p  # the drift is the common movement's
    if "drift_rep" in p:
        return p["drift_rep"] - p["drift"][:, None] if common else p["drift_rep"]
    if common:
        return np.zeros_like(p["drift"])[:, None]
    return p["drift"][:, None]


def level_regime_ahead(path: np.ndarray, n_new: int) -> np.ndarray:
    """Log multiplier of the level noise in the next ``n_new`` blocks, per draw: (S, n_new).

    ``path`` (S, B) is each draw's regime walk over the history's blocks, block 0 the last
    before the cut-off (zero: today's level noise). The walk is carried forward as a
    stationary AR(1) would be, back towards the mean of its blocks ``m`` with the persistence
    ``rho`` of its own lag-one autocorrelation (clipped to [0, 1]): block ``k`` ahead expects
    ``m * (1 - rho**k)``. The fit's random walk over the blocks smooths the history; the
    forecast reads from that history how long a regime lasts instead of holding today's.
    With fewer than three blocks the walk is held at today's (zeros).
    """
    n_s, n_b = path.shape
    if n_b < 3:
        return np.zeros((n_s, n_new))
    m = path.mean(axis=1, keepdims=True)
    x = path - m
    denom = np.square(x[:, :-1]).sum(axis=1)
    num = (x[:, :-1] * x[:, 1:]).sum(axis=1)
    rho = np.clip(np.divide(num, denom, out=np.ones_like(num), where=denom > 0), 0.0, 1.0)
    k = np.arange(1, n_new + 1)[None, :]
    return m * (1.0 - rho[:, None] ** k)


def _regime_mult(p: dict[str, np.ndarray], s: SSData, name: str = "noise_regime") -> np.ndarray:
    """Noise variance multiplier of each training month per draw: (S, T) (ones without regime).

    ``name``: ``"noise_regime"`` (observation noise) or ``"level_regime"`` (level noise; the
    observation noise's when it is shared, :data:`LEVEL_REGIME`).
    """
    n_s = p["phi"].shape[0]
    if name == "level_regime" and name not in p:  # shared: the observation noise's walk
        name = "noise_regime"
    if not s.regime_months or name not in p:
        return np.ones((n_s, len(s.regime_block)))
    return np.exp(2.0 * p[name][:, s.regime_block])


def run_filter(p: dict[str, np.ndarray], s: SSData) -> dict[str, np.ndarray]:
    """Run the Kalman filter for each draw (numpy mirror of the PyMC graph).

    Returns
    -------
    dict
        ``v, f`` (S, R, T) prediction errors and variances; ``level, slope,
        p11, p12, p22`` (S, R) the filtered state and covariance after the
        last month; ``season_adj`` (S, R, 12) each series' seasonal adjustment
        by month of the year after the last month (zeros without ``season_gain``).
    """
    g = s.grid
    n_s = p["phi"].shape[0]
    gain = p["season_gain"][:, None] if "season_gain" in p else np.zeros((n_s, 1))
    e = g.log_y[None] - _offsets(p, s)
    h, ql, qb = _noise(p)
    mult = _regime_mult(p, s)
    ql_mult = _regime_mult(p, s, "level_regime")
    phi, drift = p["phi"][:, None], _drift(p)
    nu = p["nu"][:, None] if s.robust and "nu" in p else None
    n_r, n_t = g.y.shape
    lv = np.broadcast_to(s.init_level, (n_s, n_r)).copy()
    b = np.broadcast_to(drift, (n_s, n_r)).copy()
    p11 = np.full((n_s, n_r), INIT_LEVEL_SD**2)
    p12 = np.zeros((n_s, n_r))
    p22 = np.full((n_s, n_r), INIT_SLOPE_SD**2)
    v = np.empty((n_s, n_r, n_t))
    f = np.empty((n_s, n_r, n_t))
    adj = np.zeros((n_s, n_r, 12))
    last = None
    for t in range(n_t):
        m = s.fiscal_month[t]
        out = _filter_step(
            np,
            e[:, :, t] - adj[:, :, m],
            g.positive[None, :, t],
            h * mult[:, t : t + 1],
            lv,
            b,
            p11,
            p12,
            p22,
            phi,
            drift,
            ql * ql_mult[:, t : t + 1],
            qb,
            nu,
        )
        lv, b, p11, p12, p22, v[:, :, t], f[:, :, t] = out[:7]
        adj[:, :, m] += gain * g.positive[None, :, t] * v[:, :, t]
        last = out[7:]
    assert last is not None
    return {
        "v": v,
        "f": f,
        "level": last[0],
        "slope": last[1],
        "p11": last[2],
        "p12": last[3],
        "p22": last[4],
        "season_adj": adj,
    }


def _surprises(fl: dict[str, np.ndarray], s: SSData) -> tuple[np.ndarray, np.ndarray]:
    """Standardised one-step surprises ``v / sqrt(f)`` (S, R, T) and where they count.

    They count in the months with bookings and likelihood weight, where finite.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        z = fl["v"] / np.sqrt(fl["f"])
    seen = (s.grid.positive[None] > 0) & (s.weight[None, None, :] > 0) & np.isfinite(z)
    return z, seen


def common_correlation(fl: dict[str, np.ndarray], s: SSData, months: int = 1) -> np.ndarray:
    """Correlation of the series' one-step surprises within a month, per draw: (S,) in [0, 0.99].

    The model fits the series as independent given its parameters, but real series share
    shocks (a market, the calendar, a crash): their sums then move more than sums of
    independent draws, and a total's intervals come out far too narrow. The standardised
    surprises ``z = v / sqrt(f)`` of the months with bookings give the equicorrelation
    ``rho = sum_t sum_{r != q} z_rt z_qt / sum_t (n_t - 1) sum_r z_rt**2`` (the average
    product of two series' surprises in the same month over the average square; scale-free),
    clipped to [0, 0.99]; 0 with one series. With ``months`` > 1 the surprises are first
    summed over windows of that many months (the last ending at the cut-off; month by month
    when the history holds fewer than eight windows): surprises common to the series last,
    and a level shock stays in every later month. :func:`forecast_log_amounts` draws each
    month's observation shocks with the monthly share in common and its level shocks with the
    share over :data:`COMMON_LEVEL_MONTHS`, which leaves every series' own forecast
    distribution as it was.
    """
    z, seen = _surprises(fl, s)
    z = np.where(seen, z, 0.0)
    n_w = z.shape[2] // months
    if months > 1 and n_w >= 8:  # sums over windows of `months`, the last ending at the cut-off
        cut = z.shape[2] - n_w * months
        z = z[:, :, cut:].reshape(*z.shape[:2], n_w, months).sum(axis=3)
        seen = seen[:, :, cut:].reshape(*seen.shape[:2], n_w, months).any(axis=3)
    n_t = seen.sum(axis=1)  # (S, T) series seen each month
    sq = np.square(z).sum(axis=1)
    off = np.square(z.sum(axis=1)) - sq  # sum over pairs r != q of z_r z_q
    denom = ((n_t - 1).clip(min=0) * sq).sum(axis=1)
    rho = np.divide(off.sum(axis=1), denom, out=np.zeros(len(denom)), where=denom > 0)
    return np.clip(rho, 0.0, 0.99)


def innovation_range(fl: dict[str, np.ndarray], s: SSData) -> tuple[np.ndarray, np.ndarray]:
    """Return the smallest and largest standardised one-step surprise of the history, per draw.

    ``z = v / sqrt(f)`` over the months with bookings (and likelihood weight).
    A forecast month's noise is not drawn beyond them: the Student-t's tails
    are symmetric on the log scale, so ``exp`` of a t draw has no mean, and on
    lumpy rep-level data (``nu`` near 2: a month's log amount has a long *lower*
    tail, small months, and a short upper one, deals have sizes) single draws
    ran wild. The sample company forced onto this model (cut-off 2025-06,
    ``nu`` 2.005): the largest draw's log distance from its median 242, the
    99.99% quantile 35.8; with the bounds 26.6 and 12.0 (what is left is the
    filtered levels' own spread on such data; ``model="auto"`` fits the
    regression model there). The bounds are where the history's own surprises
    ended, on each side.

    Returns
    -------
    (ndarray, ndarray)
        ``(S, 1)`` lower and upper bounds (standard deviations of the noise);
        -inf / +inf for a draw without an observed month.
    """
    z, seen = _surprises(fl, s)
    return _seen_range(z, seen)


def _seen_range(x: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest ``x`` (S, R, T) where ``seen``, per draw: ``(S, 1)`` each.

    -inf / +inf for a draw with nothing seen (no bound).
    """
    low = np.where(seen, x, np.inf).min(axis=(1, 2))
    high = np.where(seen, x, -np.inf).max(axis=(1, 2))
    none = ~seen.any(axis=(1, 2))
    low[none], high[none] = -np.inf, np.inf
    return low[:, None], high[:, None]


def surprise_range(fl: dict[str, np.ndarray], s: SSData) -> tuple[np.ndarray, np.ndarray]:
    """Return the smallest and largest one-step surprise of the history in log units, per draw.

    ``v`` (log amount less its one-step prediction) over the months with bookings of
    every series. :func:`innovation_range` bounds a forecast month's noise in units of
    today's noise scale; the noise regime's walk after the cut-off multiplies that
    scale, and where the walk's step is large the product ran far beyond anything the
    history showed. Texas active listings at 2014-01 (smooth series with a few jumps
    where a city's count was redefined: standardised surprises up to 25-30 of today's
    tiny scale, ``sigma_noise_regime`` 1.1-2.2): draws ``exp(45)`` times their median and
    a mean scaled CRPS of 195,661 against ETS's 0.075. So the forecast month's noise is
    also kept inside the history's own surprises in log units, the largest of any
    series (on that panel about +/-2).

    Returns
    -------
    (ndarray, ndarray)
        ``(S, 1)`` lower and upper bounds (log units); -inf / +inf for a draw
        without an observed month.
    """
    _, seen = _surprises(fl, s)
    return _seen_range(fl["v"], seen)


def loglik_amounts(p: dict[str, np.ndarray], s: SSData, likelihood: str) -> np.ndarray:
    """Log likelihood of the positive amounts per draw (numpy mirror of the Potential)."""
    from scipy import stats

    fl = run_filter(p, s)
    v, f = fl["v"], fl["f"]
    if likelihood == "normal":
        dens = stats.norm.logpdf(v, scale=np.sqrt(f))
    else:
        nu = p["nu"][:, None, None]
        dens = stats.t.logpdf(v, df=nu, scale=np.sqrt(f * (nu - 2.0) / nu))
    return (s.grid.positive[None] * s.weight[None, None, :] * dens).sum(axis=(1, 2))


def forecast_log_amounts(
    p: dict[str, np.ndarray],
    d: Design,
    s: SSData,
    rep_idx: np.ndarray,
    months: pd.DatetimeIndex,
    hires: np.ndarray,
    rng: np.random.Generator,
    likelihood: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw log amounts and the hurdle logit for reps ``rep_idx`` in the future ``months``.

    The filtered state after the cut-off month is drawn from its filtered
    distribution and rolled forward month by month with the level and slope
    noise; the observation noise is added per month.

    Returns
    -------
    log_amount, logit : numpy.ndarray
        Shape (S, len(rep_idx), len(months)); ``logit`` is NaN without a hurdle.
    """
    fl = run_filter(p, s)
    z_low, z_high = innovation_range(fl, s)
    v_low, v_high = surprise_range(fl, s)
    n_s = p["phi"].shape[0]
    n_h = len(months)
    rho = common_correlation(fl, s) if COMMON_SHOCKS else np.zeros(n_s)
    w_common, w_own = np.sqrt(rho)[:, None], np.sqrt(1.0 - rho)[:, None]
    rho_l = common_correlation(fl, s, COMMON_LEVEL_MONTHS) if COMMON_SHOCKS else np.zeros(n_s)
    wl_common, wl_own = np.sqrt(rho_l)[:, None], np.sqrt(1.0 - rho_l)[:, None]
    ri = np.asarray(rep_idx)
    h, ql, qb = _noise(p)
    l_m, b_m = fl["level"][:, ri], fl["slope"][:, ri]
    p11, p12, p22 = fl["p11"][:, ri], fl["p12"][:, ri], fl["p22"][:, ri]
    lev, slo = _draw_state(l_m, b_m, p11, p12, p22, rng)
    phi, drift = p["phi"][:, None], _drift(p)
    if drift.shape[1] > 1:
        drift = drift[:, ri]
    fm = fiscal_month_index(months, d.fy_start_month)
    ten = tenure_months(
        pd.DatetimeIndex(np.tile(months.to_numpy(), len(ri))),
        pd.DatetimeIndex(np.repeat(hires, n_h)),
    ).reshape(len(ri), n_h)
    log_ramp = log_ramp_fraction(ten[None], p["ramp_tau"][:, None, None])
    mm = pd.DatetimeIndex(np.tile(months.to_numpy(), len(ri)))
    lag = lag12_covariate(d, np.repeat(ri, n_h), mm).reshape(len(ri), n_h)
    dev = _season_rep(p, len(s.init_level))[:, ri, :]
    static = p["season"][:, fm][:, None, :] + dev[:, :, fm] + log_ramp
    # each series' seasonal adjustment as filtered to the cut-off; a month of the year met again
    # (beyond 12 months ahead) carries the adjustment its simulated error made a year earlier
    adj = fl["season_adj"][:, ri, :].copy()
    gain = p["season_gain"][:, None] if "season_gain" in p else None
    if "lag12" in p:
        static = static + p["lag12"][:, None, None] * lag[None]
    static = static + _calendar_term(p, business_day_deviation(months), easter_deviation(months))
    sd_obs = np.sqrt(h[:, ri])
    sd_level = np.sqrt(ql[:, ri])
    # the noise regimes walk on after the cut-off: a new block every `regime_months` months
    log_mult = np.zeros((n_s, n_h))
    log_lmult = np.zeros((n_s, n_h))
    if s.regime_months and "sigma_noise_regime" in p:
        n_new = (n_h - 1) // s.regime_months + 1
        block = np.arange(n_h) // s.regime_months
        steps = p["sigma_noise_regime"][:, None] * rng.standard_normal((n_s, n_new))
        # the walk ahead stays within the regimes its history went through (block 0, today's,
        # is zero): a large step scale (1.1-2.2 on Texas active listings) otherwise multiplied
        # the level noise by exp(6) within a year
        past = p["noise_regime"]
        log_mult = np.clip(
            np.cumsum(steps, axis=1)[:, block],
            past.min(axis=1, keepdims=True),
            past.max(axis=1, keepdims=True),
        )
        if "level_regime" not in p:  # shared with the observation noise
            log_lmult = log_mult
        elif LEVEL_REGIME_AHEAD == "revert":  # its own walk: back towards its usual level
            log_lmult = level_regime_ahead(p["level_regime"], n_new)[:, block]
        # else its own walk is held at the last block's: today's level noise
    out = np.empty((n_s, len(ri), n_h))
    for j in range(n_h):
        reg = np.exp(log_mult[:, j : j + 1])
        # the level at the first forecast month is one step after the filtered last month; the
        # step out of month t has month t's level noise (the cut-off month's block at j = 0)
        lvl_reg = np.exp(log_lmult[:, j - 1 : j]) if j > 0 else 1.0
        predicted = lev + slo + static[:, :, j] + adj[:, :, fm[j]]
        # the month's shocks share a common part across the series (``rho``): each series'
        # noise keeps its distribution, the sums get the co-movement the history showed
        shock = wl_common * rng.standard_normal((n_s, 1)) + wl_own * rng.standard_normal(lev.shape)
        lev = lev + slo + sd_level * lvl_reg * shock
        slo = drift + phi * (slo - drift) + np.sqrt(qb) * rng.standard_normal(slo.shape)
        eps = w_common * rng.standard_normal((n_s, 1)) + w_own * rng.standard_normal(lev.shape)
        if likelihood != "normal":  # Student-t: the normal over an own chi-square's scale
            nu = p["nu"][:, None]
            chi2 = rng.chisquare(np.broadcast_to(nu, lev.shape))
            eps = eps / np.sqrt(chi2 / nu) * np.sqrt((nu - 2.0) / nu)
        eps = np.clip(eps, z_low, z_high)
        noise = np.clip(sd_obs * reg * eps, v_low, v_high)
        out[:, :, j] = lev + static[:, :, j] + adj[:, :, fm[j]] + noise
        if gain is not None:
            adj[:, :, fm[j]] += gain * (out[:, :, j] - predicted)
    if "common_month" in p:  # the common movement ahead, every series alike
        c_mult = _regime_mult(p, s, "level_regime") if COMMON_REGIME else None
        out += common_ahead(p, n_h, rng, c_mult)[:, None, :]
    logit = np.full(out.shape, np.nan)
    if "hurdle_intercept" in p:
        logit = hurdle_logit(p, ri, fm, log_ramp, lag)
    return out, logit


def _draw_state(
    lv: np.ndarray,
    b: np.ndarray,
    p11: np.ndarray,
    p12: np.ndarray,
    p22: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw level and slope from their normal distribution (means, 2 x 2 covariance)."""
    c11 = np.sqrt(np.maximum(p11, 1e-12))
    c21 = p12 / c11
    c22 = np.sqrt(np.maximum(p22 - c21 * c21, 0.0))
    z1, z2 = rng.standard_normal((2, *np.shape(lv)))
    return lv + c11 * z1, b + c21 * z1 + c22 * z2


def common_ahead(
    p: dict[str, np.ndarray],
    n_new: int,
    rng: np.random.Generator,
    level_mult: np.ndarray | None = None,
) -> np.ndarray:
    """Draw the common movement of the ``n_new`` months after the cut-off: (S, n_new).

    Each draw's path ``common_month`` (S, T) is filtered as the model's density has it (a
    local linear trend with a damped slope plus a month's transient; the numpy mirror of the
    kernel on one series with normal errors); the state is drawn from its predicted
    distribution for the first month after the cut-off and rolled forward, and each month adds
    its transient. ``level_mult`` (S, T): the level noise's variance multiplier of each past
    month (:data:`COMMON_REGIME`; the months ahead keep the cut-off block's, one).
    """
    c = p["common_month"]
    h = np.square(p["sigma_common_month"])
    q = np.square(p["sigma_common_level"])
    q_t = q[:, None] * (np.ones_like(c) if level_mult is None else level_mult)
    qb = np.square(p["sigma_common_slope"])
    phi, drift = p["phi_common"], p["drift"]
    n_s = c.shape[0]
    lv = np.zeros(n_s)
    b = drift.copy()
    p11 = np.full(n_s, INIT_LEVEL_SD**2)
    p12 = np.zeros(n_s)
    p22 = np.full(n_s, INIT_SLOPE_SD**2)
    for t in range(c.shape[1]):
        step = _filter_step(np, c[:, t], 1.0, h, lv, b, p11, p12, p22, phi, drift, q_t[:, t], qb)
        lv, b, p11, p12, p22 = step[:5]
    # (lv, b): the first month's predicted level and the slope it moves on by
    lv, b = _draw_state(lv, b, p11, p12, p22, rng)
    out = np.empty((n_s, n_new))
    for j in range(n_new):
        if j:
            lv = lv + b + np.sqrt(q) * rng.standard_normal(n_s)
            b = drift + phi * (b - drift) + np.sqrt(qb) * rng.standard_normal(n_s)
        out[:, j] = lv + np.sqrt(h) * rng.standard_normal(n_s)
    return out


def hurdle_logit(
    p: dict[str, np.ndarray],
    rep_idx: np.ndarray,
    fiscal_month: np.ndarray,
    log_ramp: np.ndarray,
    lag: np.ndarray,
) -> np.ndarray:
    """Logit of P(bookings > 0) per draw, rep and month: (S, len(rep_idx), months)."""
    rep = (
        p["hurdle_intercept"][:, None]
        + p["sigma_hurdle_rep"][:, None] * p["hurdle_rep_z"][:, rep_idx]
    )
    logit = (
        rep[:, :, None]
        + p["hurdle_month_of_quarter"][:, fiscal_month % 3][:, None, :]
        + p["hurdle_ramp"][:, None, None] * log_ramp
    )
    if "hurdle_lag12" in p:
        logit = logit + p["hurdle_lag12"][:, None, None] * lag[None]
    return logit


def posterior_hurdle_logit(p: dict[str, np.ndarray], s: SSData) -> np.ndarray:
    """Hurdle logit of every training rep-month per draw: (S, R, T)."""
    g = s.grid
    log_ramp = log_ramp_fraction(g.tenure[None], p["ramp_tau"][:, None, None])
    return hurdle_logit(p, np.arange(g.y.shape[0]), s.fiscal_month, log_ramp, g.lag12)
