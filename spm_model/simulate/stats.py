"""Monte Carlo estimates with their standard errors.

Every headline figure of a simulation comes with the Monte Carlo standard error
(MCSE) of its estimate: the spread one would see between reruns with other seeds.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054


def mean_se(x: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error ``sd / sqrt(n)``."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n == 0:
        return float("nan"), float("nan")
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def sd_se(x: np.ndarray) -> tuple[float, float]:
    """Return the standard deviation and its standard error (delta method on the variance)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 3:
        return float("nan"), float("nan")
    s = float(x.std(ddof=1))
    if s == 0:
        return 0.0, 0.0
    m4 = float(np.mean((x - x.mean()) ** 4))
    var_s2 = max(m4 - s**4, 0.0) / n
    return s, float(np.sqrt(var_s2) / (2 * s))


def quantile_se(sorted_x: np.ndarray, p: float) -> tuple[float, float]:
    """Quantile ``p`` of a sorted sample and its standard error.

    The error comes from the distribution-free order-statistic interval: the
    ranks ``n p -/+ 1.96 sqrt(n p (1 - p))`` bound a 95% interval for the
    quantile, and half its width over 1.96 is the standard error.
    """
    x = np.asarray(sorted_x, dtype=np.float64)
    n = x.size
    if n == 0:
        return float("nan"), float("nan")
    q = float(np.quantile(x, p))
    half = Z95 * np.sqrt(n * p * (1 - p))
    lo = int(np.clip(np.floor(n * p - half), 0, n - 1))
    hi = int(np.clip(np.ceil(n * p + half), 0, n - 1))
    return q, float((x[hi] - x[lo]) / (2 * Z95))


def proportion_se(flags: np.ndarray) -> tuple[float, float]:
    """Proportion of true flags and its binomial standard error."""
    f = np.asarray(flags, dtype=bool)
    n = f.size
    if n == 0:
        return float("nan"), float("nan")
    p = float(f.mean())
    return p, float(np.sqrt(p * (1 - p) / n))


def conditional_mean_se(x: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Mean of ``x`` where ``mask`` and its standard error (ratio estimator)."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return float("nan"), float("nan")
    return mean_se(np.asarray(x)[m])
