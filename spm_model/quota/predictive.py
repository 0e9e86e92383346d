"""A small history-based predictive distribution of next year's performance.

Used by :class:`~spm_model.quota.methods.Probabilistic` when no forecast draws are
given, by the fairness diagnostics and by the backtest. The forecast module
produces better draws; this one keeps the quota module usable on its own.

Model, per (role, measure) peer group (falling back to the measure)
--------------------------------------------------------------------
* ``y_r``: the rep's full-capacity annual rate (history annualised over the last
  ``window`` months, see :meth:`QuotaHistory.annualised`), with ``E_r`` season-
  weighted months of exposure.
* Monthly lumpiness ``k``: the median over peers of the squared coefficient of
  variation of the seasonally adjusted monthly amounts; the sampling variance of
  ``log y_r`` is ``s2_r = log(1 + k / E_r)``.
* Prior mean ``mu_r``: what peers make of a territory like the rep's, a line
  ``a + b log potential_r`` fitted over the peers with history (``b`` clipped to
  [0, 1.5]; the peer mean when the group is small or the rep owns no potential).
* Between-rep spread ``tau2 = max(var(log y - mu) - mean(s2), floor)`` (method of
  moments). The rep's level shrinks towards the prior:
  ``w_r = tau2 / (tau2 + s2_r)``, ``m_r = w_r log y_r + (1 - w_r) mu_r``, with
  posterior variance ``w_r s2_r``. Reps without history get ``mu_r`` and ``tau2``.
* Next year: ``log A = m_r + log(1 + g) + N(0, w_r s2_r + log(1 + k / 12) + drift)``,
  with ``drift`` the variance of the change in a rep's true rate up to the plan
  year (:data:`DEFAULT_DRIFT`).

Draws are at full capacity (one FTE, fully ramped, the whole year); multiply by
the plan-year capacity to get expected credit.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from spm_model.errors import SpmConfigError
from spm_model.quota.history import QuotaHistory


def _groups(pairs: pd.DataFrame) -> np.ndarray:
    return (pairs["role"].astype(str) + "|" + pairs["measure"].astype(str)).to_numpy()


#: Default variance (log scale) of the change in a rep's true rate from the history
#: window to the plan year: a standard deviation of about 0.32 (x0.73 to x1.37).
DEFAULT_DRIFT = 0.1


def predictive_params(
    history: QuotaHistory,
    *,
    window: int = 12,
    min_exposure: float = 3.0,
    min_peers: int = 4,
    drift: float = DEFAULT_DRIFT,
    use_potential: bool = True,
) -> pd.DataFrame:
    """Per-pair predictive parameters on the log scale.

    Parameters
    ----------
    history : QuotaHistory
        The planning frame.
    window : int
        History months used for the rep's level.
    min_exposure : float
        Season-weighted months below which a rep counts as having no history.
    min_peers : int
        Peers with history a (role, measure) group needs; else the measure's pool.
    drift : float
        Extra variance (log scale) of the change in a rep's true rate up to the
        plan year (territory changes, ramp, market); default :data:`DEFAULT_DRIFT`.
        Without it the stated chances are overconfident: on generated companies
        the standardised year-ahead errors had a spread of 1.3-1.6 instead of 1.
    use_potential : bool
        Shrink towards what peers make of a territory like the rep's (``log y ~
        a + b log potential`` within the peer group, ``b`` in [0, 1.5]; reps
        without potential shrink to the group mean) rather than the group mean.

    Returns
    -------
    DataFrame
        ``rep_id, measure, mean_log, sd_log, level, has_history, shrinkage``: the
        predictive ``log A ~ N(mean_log, sd_log**2)`` (currency per year at full
        capacity), ``level`` the annualised history (NaN when none).
    """
    if window < 1 or min_exposure <= 0 or drift < 0:
        raise SpmConfigError(
            "predictive: window must be >= 1, min_exposure > 0 and drift >= 0, "
            f"got window={window}, min_exposure={min_exposure}, drift={drift}"
        )
    pairs = history.pairs
    y = history.annualised(window, min_exposure)
    sl = slice(-window, None)
    se = history.exposure[:, sl] * history.hist_season()[:, sl]
    e = se.sum(axis=1)
    amt = history.amounts[:, sl]
    # seasonally adjusted monthly rate where exposed
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(se > 0.2, amt / se, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_x = np.nanmean(x, axis=1)
        cv2 = np.nanvar(x, axis=1, ddof=1) / mean_x**2
    has = np.isfinite(y) & (y > 0)
    # split-half noise: annualised rates of the two halves of the window
    half = window // 2
    seh = se[:, -2 * half :] if half else se
    amh = amt[:, -2 * half :] if half else amt
    ea, eb = seh[:, :half].sum(axis=1), seh[:, half:].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ya = amh[:, :half].sum(axis=1) / ea
        yb = amh[:, half:].sum(axis=1) / eb
    split_ok = (
        (ea >= 0.8 * half) & (eb >= 0.8 * half) & (ya > 0) & (yb > 0)
        if half >= 2
        else (np.zeros(len(pairs), dtype=bool))
    )
    grp = _groups(pairs)
    meas = pairs["measure"].to_numpy()
    emp = history.employed if history.employed is not None else history.capacity
    act = np.where(emp > 0, 1.0, 0.0)
    act = np.where(act.sum(axis=1, keepdims=True) > 0, act, 1.0)
    pot = (history.potential * act).sum(axis=1) / act.sum(axis=1)
    with np.errstate(divide="ignore"):
        lpot = np.where(pot > 0, np.log(np.maximum(pot, 1e-300)), -np.inf)
    mean_log = np.full(len(pairs), np.nan)
    sd_log = np.full(len(pairs), np.nan)
    shrink = np.zeros(len(pairs))
    g = np.array([history.growth.get(m, 0.0) for m in meas])
    with np.errstate(invalid="ignore", divide="ignore"):
        ly = np.log(np.where(has, y, np.nan))
        dlog = np.log(ya) - np.log(yb)
    for key in np.unique(grp):
        sel = grp == key
        pool = sel & has
        if pool.sum() < min_peers:
            pool = (meas == meas[sel][0]) & has
        if pool.sum() == 0:
            continue
        dr = float(drift)
        spool = pool & split_ok
        if spool.sum() < min_peers:
            spool = (meas == meas[sel][0]) & split_ok
        if spool.sum() >= min_peers:
            d = dlog[spool]
            mad = np.median(np.abs(d - np.median(d))) * 1.4826
            var_half = float(mad**2 / 2.0)  # var of one half
            s2 = var_half * half / np.maximum(e, min_exposure)  # sampling var of the level
            future = var_half * half / 12.0
        else:  # monthly lumpiness
            kk = np.nanmedian(cv2[pool]) if np.isfinite(cv2[pool]).any() else 1.0
            kk = float(np.clip(kk, 0.01, 25.0))
            s2 = np.log1p(kk / np.maximum(e, min_exposure))
            future = np.log1p(kk / 12.0)
        mu_c = float(np.mean(ly[pool]))
        prior = np.full(len(pairs), mu_c)
        resid = ly[pool] - mu_c
        fit = pool & (lpot > -np.inf) if use_potential else np.zeros(len(pairs), dtype=bool)
        if fit.sum() >= max(min_peers, 5) and np.var(lpot[fit]) > 1e-6:
            # prior mean from the territory: log rate ~ a + b log potential over the peers
            b, a = np.polyfit(lpot[fit], ly[fit], 1)
            b = float(np.clip(b, 0.0, 1.5))
            a = float(np.mean(ly[fit]) - b * np.mean(lpot[fit]))
            prior = np.where(lpot > -np.inf, a + b * lpot, mu_c)
            resid = ly[pool] - prior[pool]
        tau2 = (
            float(max(np.var(resid, ddof=1) - np.mean(s2[pool]) - dr, 0.005))
            if pool.sum() > 1
            else 0.05
        )
        # the history measures the rate of the past; the plan year's rate has moved on
        # by ``dr``, so history is a noisier reading of it than its sampling noise alone
        w = np.where(has, tau2 / (tau2 + s2 + dr), 0.0)
        m = np.where(has, w * np.nan_to_num(ly) + (1 - w) * prior, prior)
        v = np.where(has, w * (s2 + dr), tau2)
        mean_log[sel] = m[sel] + np.log1p(g[sel])
        sd_log[sel] = np.sqrt(v[sel] + future)
        shrink[sel] = 1 - w[sel]
    return pd.DataFrame(
        {
            "rep_id": pairs["rep_id"].to_numpy(),
            "measure": meas,
            "mean_log": mean_log,
            "sd_log": sd_log,
            "level": np.where(has, y, np.nan),
            "has_history": has,
            "shrinkage": shrink,
        }
    )


def predictive_draws(
    history: QuotaHistory,
    n_draws: int = 2000,
    seed: int | np.random.Generator = 0,
    **params: Any,
) -> np.ndarray:
    """Draws of next fiscal year's full-capacity amount per pair (pairs x draws).

    Parameters
    ----------
    history : QuotaHistory
        The planning frame.
    n_draws : int
        Draws per pair.
    seed : int or numpy.random.Generator
        Randomness (same seed, same draws).
    **params
        Passed to :func:`predictive_params`.

    Returns
    -------
    ndarray
        Currency per year (counts for ``meetings``), zero where a measure has no
        history at all.
    """
    if n_draws < 10:
        raise SpmConfigError(f"n_draws must be >= 10, got {n_draws}")
    p = predictive_params(history, **params)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    z = rng.standard_normal((len(p), n_draws))
    m = np.nan_to_num(p["mean_log"].to_numpy(), nan=-np.inf)[:, None]
    s = np.nan_to_num(p["sd_log"].to_numpy(), nan=0.0)[:, None]
    return np.exp(m + s * z)


def attainment_chance(
    history: QuotaHistory,
    quota: np.ndarray,
    scale: np.ndarray,
    params: pd.DataFrame | None = None,
    **options: Any,
) -> np.ndarray:
    """Stated chance that each pair reaches its annual quota, from the predictive distribution.

    The pair's plan-year credit is ``A x scale`` with ``A`` the full-capacity
    predictive (:func:`predictive_params`, lognormal), so the chance is
    ``P(A >= quota / scale) = 1 - Phi((log(quota / scale) - mean_log) / sd_log)``.

    Parameters
    ----------
    history : QuotaHistory
        The planning frame (pair order of ``quota`` and ``scale``).
    quota : ndarray
        Annual quota per pair (currency; counts for ``meetings``).
    scale : ndarray
        FTE x season-weighted plan-year capacity share per pair (fraction of a
        full-capacity year).
    params : DataFrame, optional
        Precomputed :func:`predictive_params` (else computed with ``options``).
    **options
        Passed to :func:`predictive_params`.

    Returns
    -------
    ndarray
        Probability (fraction) per pair; NaN where the quota is not positive or the
        measure has no predictive distribution.
    """
    from scipy import stats

    p = params if params is not None else predictive_params(history, **options)
    q = np.asarray(quota, dtype=float)
    sc = np.asarray(scale, dtype=float)
    mu = p["mean_log"].to_numpy(dtype=float)
    sd = p["sd_log"].to_numpy(dtype=float)
    ok = (q > 0) & (sc > 0) & np.isfinite(mu) & np.isfinite(sd) & (sd > 0)
    out = np.full(len(q), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (np.log(q[ok] / sc[ok]) - mu[ok]) / sd[ok]
    out[ok] = stats.norm.sf(z)
    return out
