"""Scores of probabilistic forecasts given as samples: CRPS, interval coverage, WAPE and MAPE."""

from __future__ import annotations

import numpy as np


def crps_samples(samples: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Continuous ranked probability score of a sample forecast, per observation.

    Uses the energy form ``CRPS = E|X - y| - E|X - X'| / 2`` with the
    expectations over the empirical distribution of the samples (computed
    exactly in O(S log S) from the sorted samples). Lower is better; the
    score has the units of the data (currency for bookings).

    Parameters
    ----------
    samples : numpy.ndarray
        Forecast draws, shape (S, ...) with the sample axis first.
    observed : numpy.ndarray
        Outcomes, shape matching ``samples.shape[1:]``.

    Returns
    -------
    numpy.ndarray
        CRPS per observation, shape ``observed.shape``.
    """
    x = np.sort(np.asarray(samples, dtype=float), axis=0)
    y = np.asarray(observed, dtype=float)
    n = x.shape[0]
    if n < 1:
        raise ValueError("need at least one sample")
    term1 = np.abs(x - y[None, ...]).mean(axis=0)
    w = (2.0 * np.arange(1, n + 1) - n - 1).reshape((n,) + (1,) * (x.ndim - 1))
    term2 = 2.0 * (w * x).sum(axis=0) / (n * n)
    return term1 - 0.5 * term2


def interval_content(samples: np.ndarray, level: float) -> np.ndarray:
    """Probability the forecast itself puts inside its central ``level`` interval.

    For a continuous forecast this is ``level``; where the forecast has an atom
    (a probability of exactly zero bookings above ``(1 - level) / 2``) the
    interval starts at 0 and holds more. The mean over outcomes is the coverage
    a perfectly calibrated forecast would show, the yardstick for
    :func:`interval_hits`.

    Parameters
    ----------
    samples : numpy.ndarray
        Shape (S, ...).
    level : float
        Interval probability as a fraction.

    Returns
    -------
    numpy.ndarray
        Shape ``samples.shape[1:]``, fractions.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a fraction in (0, 1), got {level}")
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [a, 1.0 - a], axis=0)
    return ((samples >= lo[None]) & (samples <= hi[None])).mean(axis=0)


def interval_hits(samples: np.ndarray, observed: np.ndarray, level: float) -> np.ndarray:
    """Whether each outcome lies in the central ``level`` interval of its samples.

    Parameters
    ----------
    samples : numpy.ndarray
        Shape (S, ...).
    observed : numpy.ndarray
        Shape ``samples.shape[1:]``.
    level : float
        Interval probability as a fraction (0.8 = the 10%-90% interval).

    Returns
    -------
    numpy.ndarray of bool
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a fraction in (0, 1), got {level}")
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [a, 1.0 - a], axis=0)
    y = np.asarray(observed, dtype=float)
    return (y >= lo) & (y <= hi)


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error ``sum|a - f| / sum|a|``, as a fraction."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    den = np.abs(a).sum()
    return float(np.abs(a - f).sum() / den) if den > 0 else float("nan")


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error over non-zero actuals, as a fraction."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    nz = a != 0
    return float(np.mean(np.abs(a[nz] - f[nz]) / np.abs(a[nz]))) if nz.any() else float("nan")
