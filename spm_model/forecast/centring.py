"""How strongly the data inform two pooled effects, to choose how the sampler sees them.

A hierarchical effect ``x ~ Normal(0, tau)`` can be sampled centred (``x``
itself) or non-centred (``x = tau * z``, ``z ~ Normal(0, 1)``), or partially
centred (``z ~ Normal(0, tau**c)``, ``x = tau**(1 - c) * z``). The posterior is
the same; the geometry is not. When the data say little about each ``x``
(their standard error is large against ``tau``), the centred form is a funnel
and the non-centred one samples well; when the data pin each ``x`` down, it is
the other way round (Papaspiliopoulos, Roberts and Skold 2007; Gorinova,
Moore and Hoffman 2020). The weight of the data,
``w = tau^2 / (tau^2 + se^2)``, tells which case a panel is in.

In the state-space model (:mod:`spm_model.forecast.statespace`) this matters
for three effects: the per-series seasonal deviations, the steps of the
shared noise regime and the per-series observation noise scales
(:func:`sigma_centring`). On a real panel with strong per-city seasonality and a
volatile decade (Texas housing: ``w`` 0.63 and 0.88) the non-centred form left
main-parameter bulk ESS at 212-367 of 2,000 draws; half-centred (``c = 0.5``)
at 420. On a panel simulated without either (``w`` 0 and 0) half-centred
was a funnel (R-hat 1.32, bulk ESS 5) and non-centred mixed well. So
:func:`centring` picks ``c = 0.5`` where the data carry at least
:data:`MIN_DATA_WEIGHT` of the weight and ``c = 0`` elsewhere; fully centred
(``c = 1``) was not tried.

The estimates are rough moments of the data before any fit (residuals from a
centred 13-month moving average of each series' log amounts); they choose a
parameterisation, they do not enter the model.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: Partial-centring exponent used where the data carry most of the weight.
HALF_CENTRED = 0.5

#: Weight of the data from which an effect is sampled half-centred: one half, where the data and
#: the pooling weigh alike. The seasonal weights, per panel: simulated without per-series
#: seasonality (10-200 series, 4-15 years) 0-0.04; generated 4-year companies (150 reps) 0.27 and
#: 0.43; Texas housing 0.56-0.63 (dollar volume, all months and the five backtest cut-offs) and
#: 0.65-0.70 (number of sales). The regime weights: simulated 0-0.48 (0.98 on 10 series x 4 years,
#: too few to tell), generated 0.21 and 0.70, Texas 0.77-0.91. Until 2026-12-05 the within-cell
#: variance was not corrected for the twelve cell means, which inflated short series' seasonal
#: weights (simulated 0.12-0.50, generated 0.61 and 0.70) and needed a bar of 0.6; the generated
#: company at 0.61 was then half-centred: `sigma_season_rep` bulk / tail ESS 51 / 90, R-hat 1.02
#: (non-centred now: 180 / 223).
MIN_DATA_WEIGHT = 0.5

#: Weight of the data from which the per-series noise scales are sampled fully centred (the
#: state-space model's form before 2026-12-05 on every panel). Their weights: Texas housing
#: 0.97-0.98 (all months), 0.88-0.89 (from 2010 or 2011 to the backtest cut-offs, 43-61
#: months); panels simulated from the regression model 0.45-0.70 (10-200 series, 4-15 years).
#: Centred on 10 series x 5 years (weight 0.47) the fit had 25 divergences at a small pooled sd
#: (their mean ``log_sigma_sd`` 0.02 against a posterior mean of 0.15; bulk ESS 219): the
#: centred hierarchy's funnel. Non-centred: 1 divergence, min main bulk ESS 352. The bar was 0.9
#: until 2026-12-06: Texas from 2010 (0.89) was then half-centred and ``log_sigma_mean`` mixed
#: slowly (bulk ESS 236 at the 2014-07 cut-off; 3 of the 4 state-space backtest fits refitted
#: for it), centred it is not the slowest parameter (the slowest, ``sigma_season_rep``, 392) and
#: the backtest took 239 s against 304 s, same scores. Simulated 50 x 180 (0.62) sampled alike
#: either way (min main bulk ESS 506 centred, 609 half-centred).
MIN_SIGMA_CENTRED_WEIGHT = 0.8


def _residuals(log_y: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Log amounts less their centred 13-month moving average (NaN if unobserved or at the ends)."""
    x = np.where(positive > 0, log_y, np.nan)
    trend = pd.DataFrame(x.T).rolling(13, center=True, min_periods=13).mean().to_numpy().T
    return x - trend


def data_weights(
    log_y: np.ndarray, positive: np.ndarray, fiscal_month: np.ndarray, regime_block: np.ndarray
) -> dict[str, float]:
    """Weight of the data for the seasonal deviations and for the regime walk's steps.

    Parameters
    ----------
    log_y, positive : numpy.ndarray
        (R, T) log amounts and 1.0 where a month has bookings.
    fiscal_month : numpy.ndarray
        (T,) fiscal month 0-11 of each month.
    regime_block : numpy.ndarray
        (T,) block of the noise regime (0: the last before the cut-off).

    Returns
    -------
    dict
        ``season_sd`` and ``season_se``: the spread of the per-series seasonal
        deviations and the standard error of one (log scale);
        ``season_weight``; ``regime_step_sd`` (log noise scale per block) and
        ``regime_weight``. Weights are 0 where the data cannot tell.
    """
    res = _residuals(log_y, positive)
    n_r = res.shape[0]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # series or months without data
        shared = np.array([np.nanmean(res[:, fiscal_month == m]) for m in range(12)])
        dev = np.full((n_r, 12), np.nan)
        n = np.zeros((n_r, 12))
        for m in range(12):
            cell = res[:, fiscal_month == m] - shared[m]
            dev[:, m] = np.nanmean(cell, axis=1)
            n[:, m] = np.isfinite(cell).sum(axis=1)
        within = res - shared[fiscal_month][None, :] - dev[:, fiscal_month]
        # the within-cell variance, unbiased: each series' 12 deviations (and the shared
        # pattern) used up one degree of freedom per month-of-year cell it has data in
        n_obs = np.isfinite(within).sum(axis=1)
        n_cells = (n > 0).sum(axis=1)
        df = n_obs - n_cells
        var = np.where(df > 0, np.nansum(within**2, axis=1) / np.maximum(df, 1), np.nan)
        ok = (n > 1) & np.isfinite(dev) & np.isfinite(var)[:, None]
        se2 = float(np.mean((var[:, None] / np.maximum(n, 1))[ok])) if ok.any() else np.nan
        tau2 = max(float(np.mean(dev[ok] ** 2)) - se2, 0.0) if ok.any() else 0.0
        out = {
            "season_sd": float(np.sqrt(tau2)),
            "season_se": float(np.sqrt(se2)) if np.isfinite(se2) else np.nan,
            "season_weight": tau2 / (tau2 + se2) if np.isfinite(se2) and se2 > 0 else 0.0,
        }
        # the per-series noise scales: log sd of each series' within-cell residuals, whose
        # sampling variance is about 1 / (2 df); their spread beyond that is the pooled sd's
        fit = df > 5
        if fit.sum() >= 2:
            log_sd_r = 0.5 * np.log(var[fit])
            se2_sigma = float(np.mean(1.0 / (2.0 * df[fit])))
            tau2_sigma = max(float(np.var(log_sd_r)) - se2_sigma, 0.0)
            out["sigma_sd"] = float(np.sqrt(tau2_sigma))
            out["sigma_weight"] = tau2_sigma / (tau2_sigma + se2_sigma)
        else:
            out["sigma_sd"] = 0.0
            out["sigma_weight"] = 0.0
        z2 = within**2 / var[:, None]
        n_b = int(regime_block.max()) + 1
        cnt = np.array([np.isfinite(z2[:, regime_block == b]).sum() for b in range(n_b)])
        log_sd = np.array(
            [0.5 * np.log(np.nanmean(z2[:, regime_block == b])) if c else np.nan
             for b, c in zip(range(n_b), cnt, strict=True)]
        )  # fmt: skip
    steps = np.diff(log_sd)
    good = np.isfinite(steps) & (cnt[:-1] > 0) & (cnt[1:] > 0)
    if good.sum() >= 2:
        # a block's log sd from n standardised errors has variance about 1 / (2 n)
        noise = np.mean(1.0 / (2 * cnt[:-1][good]) + 1.0 / (2 * cnt[1:][good]))
        s2 = max(float(np.mean(steps[good] ** 2)) - noise, 0.0)
        se2_walk = 1.0 / float(np.mean(cnt[cnt > 0]))
        out["regime_step_sd"] = float(np.sqrt(s2))
        out["regime_weight"] = s2 / (s2 + se2_walk)
    else:
        out["regime_step_sd"] = 0.0
        out["regime_weight"] = 0.0
    return out


def sigma_centring(weights: dict[str, float]) -> float:
    """Partial-centring exponent of the per-series observation noise scales (``log_sigma``).

    Fully centred (1) where the data pin each series' noise scale down
    (weight at least :data:`MIN_SIGMA_CENTRED_WEIGHT`: Texas housing, 0.88-0.98, where the
    non-centred and half-centred forms mixed slowly), half-centred where data and pooling weigh
    about alike, non-centred below :data:`MIN_DATA_WEIGHT`. ``weights`` as returned by
    :func:`data_weights`.
    """
    w = weights.get("sigma_weight", 1.0)
    if w >= MIN_SIGMA_CENTRED_WEIGHT:
        return 1.0
    return HALF_CENTRED if w >= MIN_DATA_WEIGHT else 0.0


def centring(weights: dict[str, float]) -> tuple[float, float]:
    """Partial-centring exponents ``(seasonal deviations, regime steps)``.

    ``weights`` as returned by :func:`data_weights`.
    """
    season = HALF_CENTRED if weights["season_weight"] >= MIN_DATA_WEIGHT else 0.0
    regime = HALF_CENTRED if weights["regime_weight"] >= MIN_DATA_WEIGHT else 0.0
    return season, regime
