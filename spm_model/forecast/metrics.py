"""Scores of probabilistic forecasts given as samples: CRPS, interval coverage, WAPE and MAPE."""

from __future__ import annotations

from typing import Literal

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


IntervalKind = Literal["central", "nominal"]


def interval_bounds(
    samples: np.ndarray, level: float, kind: IntervalKind = "central"
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the ``level`` prediction interval of sample forecasts.

    Parameters
    ----------
    samples : numpy.ndarray
        Shape (S, ...); bookings, so no value is below 0.
    level : float
        Interval probability as a fraction (0.8 = an 80% interval).
    kind : {"central", "nominal"}
        ``"central"``: the equal-tailed interval from the ``(1 - level) / 2``
        to the ``(1 + level) / 2`` quantile. When a forecast puts more than
        ``(1 - level) / 2`` on exactly zero (a rep who may book nothing), that
        interval starts at 0 and holds more than ``level``: a 30% chance of
        zero makes the 80% interval hold 90%. ``"nominal"``: the interval that
        holds ``level``: the central one where the chance of zero is at most
        ``(1 - level) / 2``, otherwise from 0 to the ``level`` quantile.

    Returns
    -------
    lo, hi : numpy.ndarray
        Shape ``samples.shape[1:]``.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a fraction in (0, 1), got {level}")
    if kind not in ("central", "nominal"):
        raise ValueError(f"kind must be 'central' or 'nominal', got {kind!r}")
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [a, 1.0 - a], axis=0)
    if kind == "nominal":
        atom = (samples <= 0.0).mean(axis=0) > a
        lo = np.where(atom, 0.0, lo)
        hi = np.where(atom, np.quantile(samples, level, axis=0), hi)
    return lo, hi


def interval_content(
    samples: np.ndarray, level: float, kind: IntervalKind = "central"
) -> np.ndarray:
    """Probability the forecast itself puts inside its ``level`` interval.

    For a continuous forecast this is ``level``; with an atom at zero the
    central interval holds more (see :func:`interval_bounds`). The mean over
    outcomes is the coverage a perfectly calibrated forecast would show, the
    yardstick for :func:`interval_hits`.

    Parameters
    ----------
    samples : numpy.ndarray
        Shape (S, ...).
    level : float
        Interval probability as a fraction.
    kind : {"central", "nominal"}
        Which interval (:func:`interval_bounds`).

    Returns
    -------
    numpy.ndarray
        Shape ``samples.shape[1:]``, fractions.
    """
    lo, hi = interval_bounds(samples, level, kind)
    return ((samples >= lo[None]) & (samples <= hi[None])).mean(axis=0)


def interval_hits(
    samples: np.ndarray, observed: np.ndarray, level: float, kind: IntervalKind = "central"
) -> np.ndarray:
    """Whether each outcome lies in the ``level`` interval of its samples.

    Parameters
    ----------
    samples : numpy.ndarray
        Shape (S, ...).
    observed : numpy.ndarray
        Shape ``samples.shape[1:]``.
    level : float
        Interval probability as a fraction (0.8 = the 10%-90% interval).
    kind : {"central", "nominal"}
        Which interval (:func:`interval_bounds`).

    Returns
    -------
    numpy.ndarray of bool
    """
    lo, hi = interval_bounds(samples, level, kind)
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


def format_amount(x: float) -> str:
    """Format an amount for a table: whole units from 100 on, three significant figures below.

    From 100 on with thousands separators; below, three significant figures (a panel of
    small numbers, months of inventory or rates, read ``0`` and ``1`` in whole units).

    Examples
    --------
    >>> format_amount(122761.4), format_amount(12.345), format_amount(0.04123)
    ('122,761', '12.3', '0.0412')
    """
    if not np.isfinite(x):
        return str(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"
