"""Marginal distributions of attainment: parameters and the normal-score transform.

Each family is given by its mean and standard deviation of attainment (fraction
of quota, 1.0 = 100%) so assumptions read the same whatever the family:

* ``lognormal``: ``exp(mu + s z)`` with ``s**2 = log(1 + (sd/mean)**2)`` and
  ``mu = log(mean) - s**2 / 2``;
* ``normal``: ``mean + sd z`` (can go below zero: net cancellations);
* ``gamma``: shape ``(mean/sd)**2``, scale ``sd**2/mean``, through the inverse
  regularised incomplete gamma function;
* ``empirical``: a quantile table (smoothed bootstrap of history), linearly
  interpolated at ``Phi(z)``.

``p_zero`` adds a hurdle: with that probability the period credits nothing, and
otherwise the family applies (the copula score is split, so dependence is kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import special, stats

from spm_model.errors import SpmConfigError
from spm_model.simulate.model import FAMILY_CODE, TABLE_POINTS, Marginals

_LOGN, _NORM, _GAMMA, _EMP = (FAMILY_CODE[k] for k in ("lognormal", "normal", "gamma", "empirical"))


def lognormal_params(mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(mu, s)`` of a lognormal with the given mean and standard deviation."""
    mean = np.asarray(mean, dtype=np.float64)
    sd = np.asarray(sd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.log1p(np.where(mean > 0, (sd / np.where(mean > 0, mean, 1.0)) ** 2, 0.0))
        mu = np.log(np.where(mean > 0, mean, 1.0)) - s2 / 2
    return mu, np.sqrt(s2)


def transform(
    z: np.ndarray,
    family: int,
    mean: np.ndarray,
    sd: np.ndarray,
    p_zero: np.ndarray | None = None,
    table: np.ndarray | None = None,
) -> np.ndarray:
    """Map standard-normal scores to attainment, one family, parameters per rep.

    Parameters
    ----------
    z : ndarray, shape (S, K, P)
        Standard-normal copula scores for ``K`` reps (modified in place for the
        lognormal and normal families).
    family : int
        Family code (:data:`spm_model.simulate.model.FAMILIES`).
    mean, sd : ndarray, shape (K,)
        Attainment mean and standard deviation (fractions of quota).
    p_zero : ndarray, shape (K,), optional
        Hurdle probability of a zero period.
    table : ndarray, shape (K, TABLE_POINTS), optional
        Quantile table for the empirical family.

    Returns
    -------
    ndarray, shape (S, K, P)
        Attainment (fraction of quota).
    """
    zero_mask = None
    if p_zero is not None and np.any(p_zero > 0):
        p0 = np.asarray(p_zero)[None, :, None]
        u = special.ndtr(z)
        zero_mask = u < p0
        u = np.clip((u - p0) / (1.0 - p0), 1e-12, 1 - 1e-12)
        z = special.ndtri(u)
    mean_b = np.asarray(mean, dtype=np.float64)[None, :, None]
    sd_b = np.asarray(sd, dtype=np.float64)[None, :, None]
    if family == _LOGN:
        mu, s = lognormal_params(mean, sd)
        z *= s[None, :, None]
        z += mu[None, :, None]
        x = np.exp(z, out=z)
    elif family == _NORM:
        z *= sd_b
        z += mean_b
        x = z
    elif family == _GAMMA:
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(sd_b > 0, (mean_b / np.where(sd_b > 0, sd_b, 1.0)) ** 2, 1.0)
            theta = np.where(sd_b > 0, sd_b**2 / np.where(mean_b > 0, mean_b, 1.0), 0.0)
        u = special.ndtr(z)
        x = np.where(sd_b > 0, theta * special.gammaincinv(k, u), mean_b)
    elif family == _EMP:
        if table is None:
            raise SpmConfigError("empirical marginal without a quantile table")
        g = special.ndtr(z) * (TABLE_POINTS - 1)
        i = np.minimum(np.floor(g).astype(np.int64), TABLE_POINTS - 2)
        f = g - i
        base = (np.arange(table.shape[0]) * TABLE_POINTS)[None, :, None]
        flat = np.ascontiguousarray(table).ravel()
        lo = flat[base + i]
        x = lo + f * (flat[base + i + 1] - lo)
    else:
        raise SpmConfigError(f"unknown marginal family code {family}")
    if zero_mask is not None:
        x = np.where(zero_mask, 0.0, x)
    return x


def attainment_from_scores(z: np.ndarray, marginals: Marginals, reps: slice, m: int) -> np.ndarray:
    """Attainment of measure ``m`` for the reps ``reps`` from scores ``z`` of shape (S, K, P).

    Groups reps by family and applies :func:`transform` to each group; one family
    without hurdles (the common case) works in place on ``z``.
    """
    fam = marginals.family[reps, m]
    mean = marginals.mean[reps, m]
    sd = marginals.sd[reps, m]
    p0 = marginals.p_zero[reps, m]
    table = marginals.table[reps, m] if marginals.table is not None else None
    codes = np.unique(fam)
    if len(codes) == 1:
        return transform(z, int(codes[0]), mean, sd, p0, table)
    out = np.empty_like(z)
    for c in codes:
        cols = np.flatnonzero(fam == c)
        sub = np.ascontiguousarray(z[:, cols, :])
        out[:, cols, :] = transform(
            sub, int(c), mean[cols], sd[cols], p0[cols], None if table is None else table[cols]
        )
    return out


def quantile_table(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Quantile table (``TABLE_POINTS`` points) of a weighted sample (Hazen plotting positions)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise SpmConfigError("empirical distribution needs at least one value")
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cw = np.cumsum(w)
    pos = (cw - 0.5 * w) / cw[-1]
    grid = np.linspace(0.0, 1.0, TABLE_POINTS)
    return np.interp(grid, pos, v)


def fit_quantiles(
    quantiles: Mapping[float, float] | Sequence[tuple[float, float]], family: str = "lognormal"
) -> tuple[float, float]:
    """Mean and sd of a lognormal or normal matching given quantiles (least squares).

    Parameters
    ----------
    quantiles : mapping probability -> attainment
        E.g. ``{0.1: 0.6, 0.5: 0.95, 0.9: 1.4}`` (fractions of quota).
    family : {"lognormal", "normal"}
        Family to fit.

    Returns
    -------
    (mean, sd) : tuple of float
        Attainment mean and standard deviation.
    """
    items = sorted(dict(quantiles).items())
    if len(items) < 2:
        raise SpmConfigError("give at least two quantiles, e.g. {0.1: 0.6, 0.9: 1.4}")
    p = np.array([k for k, _ in items], dtype=np.float64)
    q = np.array([v for _, v in items], dtype=np.float64)
    if np.any((p <= 0) | (p >= 1)):
        raise SpmConfigError("quantile probabilities must lie strictly between 0 and 1")
    if np.any(np.diff(q) <= 0):
        raise SpmConfigError("quantile values must increase with the probability")
    zq = stats.norm.ppf(p)
    if family == "lognormal":
        if np.any(q <= 0):
            raise SpmConfigError("lognormal quantiles must be > 0")
        y = np.log(q)
    elif family == "normal":
        y = q
    else:
        raise SpmConfigError(f"quantile fitting supports lognormal and normal, not {family!r}")
    slope, intercept = np.polyfit(zq, y, 1)
    if family == "lognormal":
        mean = float(np.exp(intercept + slope**2 / 2))
        sd = float(mean * np.sqrt(np.expm1(slope**2)))
        return mean, sd
    return float(intercept), float(slope)
