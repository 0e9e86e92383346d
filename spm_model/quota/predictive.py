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
  ``a + b log potential`` fitted over the peers with history (``b`` clipped to
  [0, 1.5]; the peer mean when the group is small or the rep owns no potential).
  The line is fitted on the potential the rep owned while earning the history
  (:attr:`QuotaHistory.hist_potential`), and a rep whose territory grew or shrank
  since carries the rate to the new territory: ``l_r = log y_r + b (log pot_plan
  - log pot_hist)``.
* Between-rep spread ``tau2 = max(var(log y - mu) - mean(s2), floor)`` (method of
  moments); the rep's current lead over the line has posterior
  ``N(w_r (l_r - mu_r), w_r s2_r)`` with ``w_r = tau2 / (tau2 + s2_r)``.
* Persistence: how much of a rep's lead carries to the plan year. The two halves
  of the window have independent sampling noise, so the covariance of their
  deviations from the line is ``rho_half tau2``; an AR(1) carries it over the
  months from the window's centre to the plan year's centre
  (``rho = rho_half ** (horizon / half)``). Next year:
  ``log A = mu_r + rho w_r (l_r - mu_r) + log(1 + g) + N(0, rho^2 w_r s2_r +
  (1 - rho^2) tau2 + log(1 + k / 12))``. Reps without history get ``mu_r`` and
  ``tau2``. On generated companies (FY2025 held out) a fixed persistence (history
  trusted as if the lead lasted, plus a fixed drift) put too much weight on a
  year-old lead: standardised errors had a spread of 1.3-2 and the stated chances
  of blended quotas scored worse than the base rate.
* With ``drift`` given instead: the former model, ``w_r = tau2 / (tau2 + s2_r +
  drift)`` and variance ``w_r (s2_r + drift) + log(1 + k / 12)``.
* The learnt growth ``g`` is itself an estimate (the rate per full-capacity month
  of the last months against a year earlier, each a ratio of sums over the reps):
  its delta-method variance (:func:`growth_variance`, a standard deviation of
  0.12-0.15 on generated companies learning from three months a year apart) is
  added to every pair's variance.
* The book due (``use_book``): for a measure that comes back from last year's deals
  (renewals; :attr:`QuotaHistory.book`, learnt by
  :func:`~spm_model.quota.history.learn_book`), a second reading of next year:
  ``log A ~ N(log(k B_r / scale_r) , s_b^2)`` with ``B_r`` the year-earlier bookings
  of the accounts the rep owns in the plan year (at the learnt rates), ``k`` the
  pooled ratio of what reps were credited to their book over the history months
  with a year-earlier month in the data (less ``s_b^2 / 2``: the ratio is a mean,
  the lognormal's median is below it), ``s_b`` the robust spread (MAD) of the reps'
  log ratios there and ``scale_r`` the rep's FTE x plan-year productivity (the book
  is sold at whatever capacity). The two readings are combined by precision. On
  seven generated companies (FY2025 held out) the stated chances of every per-rep
  method then score below the base rate (blend 0.169-0.228 against 0.207-0.249;
  0.233-0.273 before), where history alone could not tell which reps beat a blend.

* Given a company target (:func:`condition_on_total`, used by equal-chance
  quotas): every pair of the measure is shifted by one common factor so that
  the reps' expected credit, with the learnt ramp and the history's leaving
  rate (:attr:`QuotaHistory.attrition`), is the target, and read as a year of
  credit: a gamma core with the same mean of ``log A`` and a spread of ``log A``
  a little narrower (:data:`CORE_WIDTH`), and a small chance
  (:data:`COLLAPSE_SHARE`) that the year collapses to a fraction of it
  (:func:`credit_survival`); the learnt growth then drops out.

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

#: Chance that a rep's plan year collapses (fraction; :func:`credit_survival`). A year's credit
#: is a sum of a few lumpy deals, and a few reps lose most of their year: on 60 generated
#: companies (seeds 300-359, 200 reps, FY2025 held out, the real total +10%) 0.8% of the
#: whole-year reps sold nothing and their standardised log errors had a narrower core and heavier
#: lower tail than the gamma (1% quantile -3.85 sd). Fitted with :data:`COLLAPSE_MAX` and
#: :data:`CORE_WIDTH` on the probability integral transform of seeds 300-329 (its chi-square over
#: ten bins 69 -> 36) and checked on 330-359 (92 -> 52); ``Probabilistic(collapse_share=0,
#: core_width=1)`` is the plain gamma.
COLLAPSE_SHARE = 0.04

#: Largest fraction of the core a collapsed year keeps: it keeps ``U(0, COLLAPSE_MAX)`` of it.
COLLAPSE_MAX = 0.5

#: Spread of the core's ``log A`` as a fraction of the predictive ``sd_log`` (which, estimated
#: from the history's scatter, carries the collapses too).
CORE_WIDTH = 0.9

# Gauss-Legendre nodes and weights on (0, 1) for the collapsed part's average over U.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_GL_X, _GL_W = (_GL_X + 1.0) / 2.0, _GL_W / 2.0


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
    drift: float | None = None,
    use_potential: bool = True,
    territory_change: bool = True,
    use_book: bool = True,
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
    drift : float, optional
        Default (None): the persistence of a rep's lead is estimated from the two
        halves of the window (see the module docstring). A number: a fixed extra
        variance (log scale) of the change in a rep's true rate up to the plan year
        instead (e.g. :data:`DEFAULT_DRIFT`, the former default).
    use_potential : bool
        Shrink towards what peers make of a territory like the rep's (``log y ~
        a + b log potential`` within the peer group, ``b`` in [0, 1.5]; reps
        without potential shrink to the group mean) rather than the group mean.
    territory_change : bool
        Read the history against the potential the rep owned while earning it
        (:attr:`QuotaHistory.hist_potential`): the peer line is fitted on that
        potential, and a rep whose territory grew or shrank since carries the rate
        to the plan year's territory (``log y + b (log pot_plan - log pot_hist)``).

    Returns
    -------
    DataFrame
        ``rep_id, measure, mean_log, sd_log, level, has_history, shrinkage``: the
        predictive ``log A ~ N(mean_log, sd_log**2)`` (currency per year at full
        capacity), ``level`` the annualised history (NaN when none).
    """
    if window < 1 or min_exposure <= 0 or (drift is not None and drift < 0):
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
    # the potential the history was earned on (season- and exposure-weighted)
    lpot_h = lpot.copy()
    if territory_change and history.hist_potential is not None:
        hp = history.hist_potential[:, sl]
        with np.errstate(invalid="ignore", divide="ignore"):
            pot_h = (hp * se).sum(axis=1) / e
            lpot_h = np.where(
                (e > 0) & (pot_h > 0), np.log(np.where(pot_h > 0, pot_h, 1.0)), -np.inf
            )
    mean_log = np.full(len(pairs), np.nan)
    sd_log = np.full(len(pairs), np.nan)
    shrink = np.zeros(len(pairs))
    g = np.array([history.growth.get(m, 0.0) for m in meas])
    gvar = growth_variance(history)
    g_var = np.array([gvar.get(m, 0.0) for m in meas])
    with np.errstate(invalid="ignore", divide="ignore"):
        ly = np.log(np.where(has, y, np.nan))
        dlog = np.log(ya) - np.log(yb)
    # months from the centre of the history window to the centre of the plan year
    horizon = window / 2.0 + (history.plan_months[0] - 1 - history.hist_months[-1]) + 6.0
    for key in np.unique(grp):
        sel = grp == key
        pool = sel & has
        if pool.sum() < min_peers:
            pool = (meas == meas[sel][0]) & has
        if pool.sum() == 0:
            continue
        dr = 0.0 if drift is None else float(drift)
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
        lvl = ly  # the rep's own level, on the plan year's territory
        prior_h = prior  # what peers made of the territory the history was earned on
        fit = pool & (lpot_h > -np.inf) if use_potential else np.zeros(len(pairs), dtype=bool)
        if fit.sum() >= max(min_peers, 5) and np.var(lpot_h[fit]) > 1e-6:
            # prior mean from the territory: log rate ~ a + b log potential over the peers,
            # the rate read against the potential it was earned on
            b, a = np.polyfit(lpot_h[fit], ly[fit], 1)
            b = float(np.clip(b, 0.0, 1.5))
            a = float(np.mean(ly[fit]) - b * np.mean(lpot_h[fit]))
            prior = np.where(lpot > -np.inf, a + b * lpot, mu_c)
            prior_h = np.where(lpot_h > -np.inf, a + b * lpot_h, mu_c)
            resid = ly[pool] - prior_h[pool]
            # a territory that grew or shrank since the history carries the rep's rate with it
            moved = (lpot > -np.inf) & (lpot_h > -np.inf)
            with np.errstate(invalid="ignore"):
                lvl = np.where(moved, ly + b * (lpot - lpot_h), ly)
        tau2 = (
            float(max(np.var(resid, ddof=1) - np.mean(s2[pool]) - dr, 0.005))
            if pool.sum() > 1
            else 0.05
        )
        rho = 1.0
        if drift is None and spool.sum() >= max(min_peers, 5) and pool.sum() > 1:
            # persistence of a rep's lead over peers: the covariance of the two halves'
            # deviations from the peer line is rho_half * tau2 (their sampling noise is
            # independent); AR(1) carries it from the window's centre to the plan year's
            with np.errstate(invalid="ignore", divide="ignore"):
                ra = np.log(ya[spool]) - prior_h[spool]
                rb = np.log(yb[spool]) - prior_h[spool]
            ok = np.isfinite(ra) & np.isfinite(rb)
            if ok.sum() >= max(min_peers, 5):
                c = float(np.cov(ra[ok], rb[ok])[0, 1])
                rho_half = float(np.clip(c / tau2, 0.0, 1.0))
                rho = rho_half ** (horizon / max(half, 1))
        if drift is None:
            # next year's lead = rho x this year's (posterior N(w r, w s2)) + a fresh
            # deviation of variance (1 - rho^2) tau2
            w = np.where(has, tau2 / (tau2 + s2), 0.0)
            dev = np.where(has, np.nan_to_num(lvl) - prior, 0.0)
            m = prior + rho * w * dev
            v = np.where(has, rho**2 * w * s2 + (1 - rho**2) * tau2, tau2)
            w = rho * w
        else:
            # fixed drift: the plan year's rate has moved on by ``dr``, so history is a
            # noisier reading of it than its sampling noise alone
            w = np.where(has, tau2 / (tau2 + s2 + dr), 0.0)
            m = np.where(has, w * np.nan_to_num(lvl) + (1 - w) * prior, prior)
            v = np.where(has, w * (s2 + dr), tau2)
        mean_log[sel] = m[sel] + np.log1p(g[sel])
        sd_log[sel] = np.sqrt(v[sel] + future)
        shrink[sel] = 1 - w[sel]
    # the learnt growth is itself uncertain
    sd_log = np.sqrt(sd_log**2 + g_var)
    book_mean = np.full(len(pairs), np.nan)
    book_sd = np.full(len(pairs), np.nan)
    if use_book and history.book is not None and history.hist_book is not None:
        book_mean, book_sd = _book_predictive(history, min_peers)
        ok = np.isfinite(book_mean) & np.isfinite(book_sd) & (book_sd > 0)
        # two readings of next year's log amount, weighted by their precision
        has_h = np.isfinite(mean_log) & np.isfinite(sd_log) & (sd_log > 0)
        ph = np.where(has_h, 1.0 / np.where(has_h, sd_log, 1.0) ** 2, 0.0)
        pb = np.where(ok, 1.0 / np.where(ok, book_sd, 1.0) ** 2, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mm = (np.nan_to_num(mean_log) * ph + np.nan_to_num(book_mean) * pb) / (ph + pb)
            ss = np.sqrt(1.0 / (ph + pb))
        mean_log = np.where(ok, mm, mean_log)
        sd_log = np.where(ok, ss, sd_log)
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


def growth_variance(history: QuotaHistory) -> dict[str, float]:
    """Return the sampling variance (log scale) of the learnt growth per measure.

    The growth is the rate per full-capacity month over the last twelve months
    (those with a month a year earlier in the history) against a year earlier
    (:func:`~spm_model.quota.history.build_history`); each rate is a ratio of sums
    over the reps, whose variance by the delta method is ``sum_i (a_i - R e_i)^2 /
    (sum_i a_i)^2``. A measure with fewer than six such months learns its growth
    from every currency measure together, and so its variance.
    """
    hm = history.hist_months
    cut = int(hm[-1])
    idx = {int(m): i for i, m in enumerate(hm)}
    rec = [idx[m] for m in range(cut - 11, cut + 1) if m in idx and m - 12 in idx]
    pri = [idx[m - 12] for m in range(cut - 11, cut + 1) if m in idx and m - 12 in idx]
    meas = history.pairs["measure"].to_numpy()
    a, e = history.amounts, history.exposure

    def var_of(sel: np.ndarray) -> float:
        out = 0.0
        for cols in (rec, pri):
            ai, ei = a[sel][:, cols].sum(axis=1), e[sel][:, cols].sum(axis=1)
            if ai.sum() <= 0 or ei.sum() <= 0:
                return 0.0
            r = ai.sum() / ei.sum()
            out += float(((ai - r * ei) ** 2).sum() / ai.sum() ** 2)
        return out

    if not rec:
        return {}
    money = meas != "meetings"
    res: dict[str, float] = {}
    for mm in np.unique(meas):
        sel = meas == mm
        # as the growth itself: its own months when six or more, else the company's
        own = len(rec) >= 6 and (a[sel][:, pri].sum(axis=0) > 0).sum() >= 6
        res[str(mm)] = var_of(sel if own or mm == "meetings" else money)
    return res


def _book_predictive(history: QuotaHistory, min_peers: int) -> tuple[np.ndarray, np.ndarray]:
    """Next year's log amount per pair read from the book due (NaN without one)."""
    pairs = history.pairs
    n = len(pairs)
    meas = pairs["measure"].to_numpy()
    bk, hb = history.book, history.hist_book
    assert bk is not None and hb is not None
    mean = np.full(n, np.nan)
    sd = np.full(n, np.nan)
    fte = pairs["fte"].to_numpy(dtype=float)
    prod = history.productivity if history.productivity is not None else history.capacity
    sp = history.season_matrix()
    share = (sp * prod).sum(axis=1) / np.maximum(sp.sum(axis=1), 1e-12)
    scale = fte * share
    for mm in np.unique(meas):
        sel = meas == mm
        if not np.isfinite(bk[sel]).all():
            continue
        lag = np.isfinite(hb[sel]).all(axis=0)
        n_lag = int(lag.sum())
        if n_lag < 1:
            continue
        yl = history.amounts[:, lag].sum(axis=1)
        bl = np.nansum(np.where(lag[None, :], hb, 0.0), axis=1)
        full = (history.exposure[:, lag] >= 0.9 * np.maximum(fte, 1e-9)[:, None]).all(axis=1)
        pool = sel & full & (yl > 0) & (bl > 0)
        if pool.sum() < max(min_peers, 5):
            continue
        lr = np.log(yl[pool] / bl[pool])
        var = float((np.median(np.abs(lr - np.median(lr))) * 1.4826) ** 2)
        # the pooled ratio of credit to book is the mean; the lognormal's median is below it
        lk = float(np.log(yl[pool].sum() / bl[pool].sum())) - var / 2.0
        e = np.exp(lk) * bk.sum(axis=1)
        ok = sel & (e > 0) & (scale > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[ok] = np.log(e[ok] / scale[ok])
        sd[ok] = np.sqrt(max(var, 1e-4))
    return mean, sd


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


def log_gamma_shape(sd_log: np.ndarray) -> np.ndarray:
    """Shape ``k`` of the gamma distribution whose logarithm has standard deviation ``sd_log``.

    The variance of ``log X`` for ``X ~ Gamma(k)`` is the trigamma function
    ``psi'(k)``, which decreases from infinity to zero, so ``psi'(k) = sd_log**2``
    has one root (bisection on ``log k``).

    Parameters
    ----------
    sd_log : ndarray
        Standard deviation on the log scale (> 0).

    Returns
    -------
    ndarray
        The shape per element (NaN where ``sd_log`` is not positive and finite);
        e.g. 0.5 gives 4.5, 1.0 gives 1.4.
    """
    from scipy import special

    v = np.asarray(sd_log, dtype=float) ** 2
    ok = np.isfinite(v) & (v > 0)
    lo = np.full(v.shape, np.log(1e-6))
    hi = np.full(v.shape, np.log(1e9))
    vv = np.where(ok, v, 1.0)
    for _ in range(80):
        mid = (lo + hi) / 2.0
        above = special.polygamma(1, np.exp(mid)) > vv  # k too small
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.where(ok, np.exp((lo + hi) / 2.0), np.nan)


def condition_on_total(
    params: pd.DataFrame,
    rows: np.ndarray,
    total: float,
    scale: np.ndarray,
    collapse_share: float = COLLAPSE_SHARE,
    core_width: float = CORE_WIDTH,
    collapse_max: float = COLLAPSE_MAX,
) -> tuple[pd.DataFrame, float]:
    """Predictive distributions given that the pairs' credit sums to ``total``.

    With a company target, the stated chance of reaching quota is read as the
    chance *if the reps sell the target*: a year that turns out better or worse
    than the history suggests moves every rep together, and that common move is
    what the target fixes. The pairs ``rows`` are shifted by one common factor on
    the log scale so that their expected credit, ``sum(scale x E[A])``, equals
    ``total``; the learnt growth then no longer matters. Each pair's credit is
    read as a year of credit (:func:`credit_survival`): a gamma core with the
    same mean of ``log A`` as the lognormal and ``core_width`` of its standard
    deviation (``shape`` from :func:`log_gamma_shape`), which with chance
    ``collapse_share`` keeps only ``U(0, collapse_max)`` of itself. A year's
    credit is a sum of a few lumpy deals, whose logarithm has a longer lower tail
    than the normal and whose mean sits closer to its median. (On eleven
    generated companies, FY2025 held out, with the lognormal so conditioned,
    whole-year reps' credit over what it expected of them had a median of
    0.89-1.05 where the lognormal puts it at ``exp(-sd^2 / 2)``, 0.79-0.90 on new
    business; its stated chances were 0.054 from the share reached on average
    against 0.031 with the gamma. On 60 more, the plain gamma's stated chance
    was 0.031 below the share reached, the mixture's 0.011; 48 and 52 of 60
    within +/-0.07.)

    Parameters
    ----------
    params : DataFrame
        :func:`predictive_params` output (``mean_log, sd_log``), pair order.
    rows : ndarray of bool
        The pairs the total is over (those with a predictive distribution).
    total : float
        Their expected credit in the plan year (currency; > 0).
    scale : ndarray
        Expected share of a full-capacity year each pair sells: FTE x the
        season-weighted productivity x the chance of still being there
        (fraction), so ``scale x A`` is the pair's credit.
    collapse_share : float
        Chance that a pair's year collapses (fraction, in [0, 1)).
    core_width : float
        Standard deviation of the core's ``log A`` over ``sd_log`` (in (0, 1]).
    collapse_max : float
        Largest fraction of the core a collapsed year keeps (in (0, 1]).

    Returns
    -------
    (DataFrame, float)
        A copy of ``params`` with ``mean_log`` (the core's mean of ``log A``)
        shifted on ``rows``, and ``shape`` (the core's gamma shape),
        ``collapse`` and ``collapse_max`` columns set on ``rows`` (other rows
        keep theirs; NaN shape: lognormal), and the shift (log scale;
        ``exp(shift) - 1`` is how far the target is from what the history
        expects of these reps).
    """
    from scipy import special

    if not 0.0 <= collapse_share < 1.0:
        raise SpmConfigError(f"collapse_share must be in [0, 1), got {collapse_share!r}")
    if not 0.0 < core_width <= 1.0:
        raise SpmConfigError(f"core_width must be in (0, 1], got {core_width!r}")
    if not 0.0 < collapse_max <= 1.0:
        raise SpmConfigError(f"collapse_max must be in (0, 1], got {collapse_max!r}")
    out = params.copy()
    mu = out["mean_log"].to_numpy(dtype=float).copy()
    sd = out["sd_log"].to_numpy(dtype=float)
    sc = np.asarray(scale, dtype=float)
    ok = np.asarray(rows, dtype=bool) & np.isfinite(mu) & np.isfinite(sd) & (sd > 0) & (sc > 0)
    n = len(out)
    shape = out["shape"].to_numpy(dtype=float).copy() if "shape" in out else np.full(n, np.nan)
    collapse = out["collapse"].to_numpy(dtype=float).copy() if "collapse" in out else np.zeros(n)
    c_max = (
        out["collapse_max"].to_numpy(dtype=float).copy() if "collapse_max" in out else np.ones(n)
    )
    shift = 0.0
    if ok.any() and total > 0:
        k = log_gamma_shape(core_width * sd[ok])
        # the core: E[log A] = psi(k) + log theta = mu, so E[core] = k theta = k exp(mu - psi(k));
        # a collapsed year keeps U(0, collapse_max) of it, on average collapse_max / 2
        kept = 1.0 - collapse_share + collapse_share * collapse_max / 2.0
        expected = float((sc[ok] * k * np.exp(mu[ok] - special.digamma(k))).sum()) * kept
        if expected > 0:
            shift = float(np.log(total / expected))
            mu[ok] += shift
            shape[ok] = k
            collapse[ok] = collapse_share
            c_max[ok] = collapse_max
    out["mean_log"] = mu
    out["shape"] = shape
    out["collapse"] = collapse
    out["collapse_max"] = c_max
    return out, shift


def credit_survival(
    x: np.ndarray,
    mean_log: np.ndarray,
    shape: np.ndarray,
    collapse: np.ndarray | float = 0.0,
    collapse_max: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Chance that a year of credit reaches ``x``: ``P(A >= x)`` for the collapse mixture.

    ``A = C`` with chance ``1 - collapse`` and ``A = U C`` otherwise, ``C`` gamma
    with ``shape`` and ``E[log C] = mean_log`` (scale ``exp(mean_log -
    digamma(shape))``) and ``U ~ Uniform(0, collapse_max)``:
    ``P(A >= x) = (1 - collapse) S(x) + collapse E_U[S(x / U)]``, ``S`` the
    core's survival function (the average over ``U`` by 24-point Gauss-Legendre
    quadrature).

    Parameters
    ----------
    x : ndarray
        Amounts (currency per full-capacity year; counts for ``meetings``).
    mean_log, shape : ndarray
        The core's mean of ``log C`` and gamma shape, per element.
    collapse, collapse_max : ndarray or float
        Chance of a collapsed year (fraction) and the largest fraction of the
        core it keeps.

    Returns
    -------
    ndarray
        Probability per element (fraction).
    """
    from scipy import special, stats

    x = np.asarray(x, dtype=float)
    k = np.asarray(shape, dtype=float)
    theta = np.exp(np.asarray(mean_log, dtype=float) - special.digamma(k))
    pi = np.broadcast_to(np.asarray(collapse, dtype=float), x.shape)
    out = stats.gamma.sf(x / theta, k)
    some = pi > 0
    if some.any():
        b = np.broadcast_to(np.asarray(collapse_max, dtype=float), x.shape)[some]
        xs = x[some]
        ks = np.broadcast_to(k, x.shape)[some]
        ts = np.broadcast_to(theta, x.shape)[some]
        with np.errstate(divide="ignore"):
            u = b[None, :] * _GL_X[:, None]  # nodes x elements
            low = _GL_W @ stats.gamma.sf(xs[None, :] / (u * ts[None, :]), ks[None, :])
        out = out.copy()
        out[some] = (1.0 - pi[some]) * out[some] + pi[some] * low
    return out


def credit_quantile(
    chance: float,
    mean_log: np.ndarray,
    shape: np.ndarray,
    collapse: np.ndarray | float = 0.0,
    collapse_max: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Amount a year of credit reaches with probability ``chance`` (:func:`credit_survival`).

    Parameters
    ----------
    chance : float
        Probability (fraction in (0, 1)).
    mean_log, shape, collapse, collapse_max : ndarray or float
        As in :func:`credit_survival`.

    Returns
    -------
    ndarray
        Currency per full-capacity year (counts for ``meetings``): the gamma's
        ``isf`` without collapse, else bisection on the log scale between the
        core's quantiles at ``chance / (1 - collapse)`` and ``(chance - collapse)
        / (1 - collapse)`` (the mixture's survival lies between the core's times
        ``1 - collapse`` and that plus ``collapse``), to a relative 1e-12.
    """
    from scipy import special, stats

    k = np.asarray(shape, dtype=float)
    mu = np.asarray(mean_log, dtype=float)
    theta = np.exp(mu - special.digamma(k))
    pi = np.broadcast_to(np.asarray(collapse, dtype=float), k.shape)
    b = np.broadcast_to(np.asarray(collapse_max, dtype=float), k.shape)
    out = theta * stats.gamma.isf(chance, k)
    some = pi > 0
    if not some.any():
        return out
    ks, ts, ps, bs = k[some], theta[some], pi[some], b[some]
    hi_p = np.minimum(chance / (1.0 - ps), 1.0 - 1e-15)
    lo_p = np.maximum((chance - ps) / (1.0 - ps), 1e-300)
    lo = np.log(ts * stats.gamma.isf(hi_p, ks))
    hi = np.log(ts * stats.gamma.isf(lo_p, ks))
    lo = np.where(np.isfinite(lo), lo, np.log(ts) - 700.0)
    for _ in range(200):
        if np.all(hi - lo < 1e-12):
            break
        mid = (lo + hi) / 2.0
        above = credit_survival(np.exp(mid), mu[some], ks, ps, bs) > chance
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out = out.copy()
    out[some] = np.exp((lo + hi) / 2.0)
    return out


def staying_share(attrition: float | None, months_ahead: np.ndarray) -> np.ndarray:
    """Chance a rep is still there ``months_ahead`` months after the cut-off.

    Parameters
    ----------
    attrition : float or None
        Monthly leaving rate (fraction; None or 0: everyone stays).
    months_ahead : ndarray
        Months from the end of the history (e.g. 0.5 for the middle of the first
        plan month).

    Returns
    -------
    ndarray
        ``(1 - attrition) ** months_ahead`` (fraction).
    """
    m = np.asarray(months_ahead, dtype=float)
    if not attrition or attrition <= 0:
        return np.ones_like(m)
    return (1.0 - min(float(attrition), 1.0)) ** m


def _chance_above(
    mean_log: np.ndarray,
    sd_log: np.ndarray,
    shape: np.ndarray | None,
    x: np.ndarray,
    collapse: np.ndarray | None = None,
    collapse_max: np.ndarray | None = None,
) -> np.ndarray:
    """P(A >= x) for the lognormal, or the year of credit where ``shape`` is finite."""
    from scipy import stats

    with np.errstate(invalid="ignore", divide="ignore"):
        out = stats.norm.sf((np.log(x) - mean_log) / sd_log)
        if shape is not None:
            g = np.isfinite(shape)
            if g.any():
                out[g] = credit_survival(
                    x[g],
                    mean_log[g],
                    shape[g],
                    0.0 if collapse is None else np.nan_to_num(collapse[g]),
                    1.0 if collapse_max is None else np.nan_to_num(collapse_max[g], nan=1.0),
                )
    return out


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
    ``P(A >= quota / scale) = 1 - Phi((log(quota / scale) - mean_log) / sd_log)``;
    where ``params`` has a finite ``shape`` (:func:`condition_on_total`), ``A``
    is the year of credit of :func:`credit_survival` (a gamma core with that
    shape, its ``collapse`` and ``collapse_max``).

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
    p = params if params is not None else predictive_params(history, **options)
    q = np.asarray(quota, dtype=float)
    sc = np.asarray(scale, dtype=float)
    mu = p["mean_log"].to_numpy(dtype=float)
    sd = p["sd_log"].to_numpy(dtype=float)
    shape = p["shape"].to_numpy(dtype=float) if "shape" in p else None
    pi = p["collapse"].to_numpy(dtype=float) if "collapse" in p else None
    b = p["collapse_max"].to_numpy(dtype=float) if "collapse_max" in p else None
    ok = (q > 0) & (sc > 0) & np.isfinite(mu) & np.isfinite(sd) & (sd > 0)
    out = np.full(len(q), np.nan)
    out[ok] = _chance_above(
        mu[ok],
        sd[ok],
        None if shape is None else shape[ok],
        q[ok] / sc[ok],
        None if pi is None else pi[ok],
        None if b is None else b[ok],
    )
    return out
