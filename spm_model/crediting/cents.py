"""Integer-cent arithmetic for crediting: conversions and exact allocation.

Credit is carried in integer cents (``int64``) so that conservation checks are
exact: when an amount is divided between several credit rows (splits, partial
reversals), the rows are rounded with the *largest remainder* method so that
they add up exactly to the rounded total of the group.
"""

from __future__ import annotations

import numpy as np


def to_cents(amount: np.ndarray) -> np.ndarray:
    """Convert money amounts (float, 2 decimals) to integer cents.

    Units: currency in, cents out.
    """
    return np.rint(np.asarray(amount, dtype=np.float64) * 100.0).astype(np.int64)


def allocate(raw: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Round real-valued cent amounts to integers, exactly preserving group totals.

    Values within 1e-6 cent of a whole cent are first snapped to it (float noise
    such as 59.99999999 for 0.6 * 100). Each group's rounded rows then add up to
    the group's total rounded half away from zero; within a group the cents left
    over after flooring go to the rows with the largest fractional parts (ties to
    the earlier row).

    Parameters
    ----------
    raw : numpy.ndarray of float
        Unrounded amounts in cents (any sign).
    group : numpy.ndarray of int
        Group id of each row (any integers).

    Returns
    -------
    numpy.ndarray of int64
        Rounded amounts in cents.
    """
    raw = np.asarray(raw, dtype=np.float64)
    n = raw.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # guard against float noise such as 59.99999999 for 0.6 * 100
    noisy = np.rint(raw)
    raw = np.where(np.abs(raw - noisy) < 1e-6, noisy, raw)
    base = np.floor(raw)
    frac = raw - base
    _, inv = np.unique(group, return_inverse=True)
    totals = np.bincount(inv, weights=raw)
    target = np.copysign(np.floor(np.abs(totals) + 0.5), totals)
    left = np.rint(target - np.bincount(inv, weights=base)).astype(np.int64)
    # rank rows within each group by descending fractional part
    order = np.lexsort((np.arange(n), -frac, inv))
    g_sorted = inv[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g_sorted)) + 1]
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    bump = np.zeros(n, dtype=np.int64)
    bump[order] = (rank < left[g_sorted]).astype(np.int64)
    return base.astype(np.int64) + bump
