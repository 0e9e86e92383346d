"""Vectorised building blocks: piecewise-linear and step functions on float64 arrays.

They evaluate over arrays of any shape. The hot path of large simulations
(:func:`piecewise_linear`) uses ``np.interp`` plus two ``np.where`` passes, which is
memory-bound and fast; callers chunk very large inputs (see
:meth:`spm_model.plans.Plan.payout_arrays`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def piecewise_linear(
    x: np.ndarray,
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    below: float = 0.0,
    slope_before: float | None = None,
    slope_after: float = 0.0,
) -> np.ndarray:
    """Evaluate a piecewise-linear function through knots ``(xs, ys)``.

    Parameters
    ----------
    x : ndarray
        Where to evaluate.
    xs, ys : sequence of float
        Knots, ``xs`` strictly increasing.
    below : float
        Value for ``x < xs[0]`` when ``slope_before`` is None (e.g. 0 below a threshold).
    slope_before : float, optional
        If set, extend linearly below ``xs[0]`` with this slope instead.
    slope_after : float
        Slope beyond ``xs[-1]`` (0 = flat).

    Returns
    -------
    ndarray
        Same shape as ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    xs_a = np.asarray(xs, dtype=np.float64)
    ys_a = np.asarray(ys, dtype=np.float64)
    y = np.interp(x, xs_a, ys_a)
    if slope_after != 0.0:
        y = np.where(x > xs_a[-1], ys_a[-1] + slope_after * (x - xs_a[-1]), y)
    if slope_before is not None:
        y = np.where(x < xs_a[0], ys_a[0] + slope_before * (x - xs_a[0]), y)
    else:
        y = np.where(x < xs_a[0], below, y)
    return y


def step_function(
    x: np.ndarray, xs: Sequence[float], ys: Sequence[float], *, below: float = 0.0
) -> np.ndarray:
    """Right-continuous step: ``ys[i]`` on ``[xs[i], xs[i+1])``, ``below`` before ``xs[0]``."""
    x = np.asarray(x, dtype=np.float64)
    idx = np.searchsorted(np.asarray(xs, dtype=np.float64), x, side="right") - 1
    table = np.concatenate([[below], np.asarray(ys, dtype=np.float64)])
    return table[idx + 1]


_REACH_RTOL = 1e-14


def reached(credited: np.ndarray, quota: np.ndarray | float, bound: float) -> np.ndarray:
    """Boolean array: ``credited >= bound * quota``, robust to float rounding.

    The exact engine compares decimals exactly; on floats ``0.9 * 828083.0`` is
    ``745274.7000000001``, so a credited 745,274.70 would miss a 90% threshold it
    exactly meets. A relative tolerance of 1e-14 on ``bound * quota`` absorbs the
    rounding while staying far below the smallest real gap between cent amounts
    and bounds with a few decimals.
    """
    b = bound * np.asarray(quota, dtype=np.float64)
    return np.asarray(credited) >= b - _REACH_RTOL * np.abs(b)


def band_index(
    credited: np.ndarray, quota: np.ndarray | float, bounds: Sequence[float]
) -> np.ndarray:
    """Index of the highest ``bounds[i]`` reached (``-1`` below the first), see :func:`reached`."""
    shape = np.broadcast_shapes(np.shape(credited), np.shape(quota))
    idx = np.full(shape, -1, dtype=np.int64)
    for i, b in enumerate(bounds):
        idx = np.where(reached(credited, quota, b), i, idx)
    return idx
