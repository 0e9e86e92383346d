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
for two effects: the per-series seasonal deviations and the steps of the
shared noise regime. On a real panel with strong per-city seasonality and a
volatile decade (Texas housing: ``w`` 0.67 and 0.85) the non-centred form left
main-parameter bulk ESS at 212-367 of 2,000 draws; half-centred (``c = 0.5``)
at 420. On a panel simulated without either (``w`` 0.13 and 0.05) half-centred
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

#: Weight of the data from which an effect is sampled half-centred. Half-centring a weakly
#: informed effect is a funnel (R-hat 1.32) while leaving a well-informed one non-centred only
#: costs draws, so the bar is above one half. The moment estimates are rough: on panels simulated
#: without per-series seasonality or volatility regimes (10-200 series, 4-15 years) they read
#: 0.27-0.48 (seasonal deviations) and 0-0.54 (regime); on Texas housing (all months, the five
#: backtest cut-offs, 12 cities from 2007) 0.63-0.67 and 0.71-0.88.
MIN_DATA_WEIGHT = 0.6


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
        var = np.nanvar(within, axis=1)
        ok = (n > 1) & np.isfinite(dev) & np.isfinite(var)[:, None]
        se2 = float(np.mean((var[:, None] / np.maximum(n, 1))[ok])) if ok.any() else np.nan
        tau2 = max(float(np.mean(dev[ok] ** 2)) - se2, 0.0) if ok.any() else 0.0
        out = {
            "season_sd": float(np.sqrt(tau2)),
            "season_se": float(np.sqrt(se2)) if np.isfinite(se2) else np.nan,
            "season_weight": tau2 / (tau2 + se2) if np.isfinite(se2) and se2 > 0 else 0.0,
        }
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


def centring(weights: dict[str, float]) -> tuple[float, float]:
    """Partial-centring exponents ``(seasonal deviations, regime steps)``.

    ``weights`` as returned by :func:`data_weights`.
    """
    season = HALF_CENTRED if weights["season_weight"] >= MIN_DATA_WEIGHT else 0.0
    regime = HALF_CENTRED if weights["regime_weight"] >= MIN_DATA_WEIGHT else 0.0
    return season, regime
