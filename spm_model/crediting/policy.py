"""Clawback policy: how much of a booking's credit a cancellation reverses.

A cancellation names the booking it cancels (``original_txn_id``). Its credit
reverses the booking's credit, rep by rep, in the period of the cancellation,
scaled by the cancelled fraction of the booking (``-cancel amount / booking
amount``) and by the clawback factor of the rep's plan:

* no window (``window_days=None``): factor 1, every cancellation reverses;
* ``mode="full"``: factor 1 if the cancellation is at most ``window_days`` after
  the booking, else 0 (the rep keeps the credit);
* ``mode="pro_rata"``: factor ``(window_days - elapsed_days) / window_days``
  inside the window, 0 after it: the longer the customer stayed, the less is
  clawed back.

A window may be counted in calendar months instead (``window_months``): a
cancellation is inside it up to the same day ``window_months`` months after the
booking, and pro rata reverses ``(window_months - whole_months) / window_months``
where ``whole_months`` counts the full months the customer stayed (booked 15
January, cancelled 15 July: 6 of 12 months, half reversed; on 14 July: 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from spm_model.errors import SpmConfigError

ClawbackMode = Literal["full", "pro_rata"]


@dataclass(frozen=True)
class ClawbackPolicy:
    """Clawback settings of one plan.

    Parameters
    ----------
    window_days : int or None
        Days after the booking during which a cancellation reverses credit;
        ``None`` (and no ``window_months``) means always.
    mode : {"full", "pro_rata"}
        Full reversal inside the window, or linearly declining with elapsed time.
    window_months : int or None
        The window in calendar months instead of days (see the module doc).
    """

    window_days: int | None = None
    mode: ClawbackMode = "full"
    window_months: int | None = None

    def __post_init__(self) -> None:
        if self.window_days is not None and self.window_days < 0:
            raise SpmConfigError(f"clawback window_days must be >= 0, got {self.window_days}")
        if self.window_months is not None and self.window_months < 1:
            raise SpmConfigError(f"clawback window_months must be >= 1, got {self.window_months}")
        if self.window_days is not None and self.window_months is not None:
            raise SpmConfigError("clawback: give window_days or window_months, not both")
        if self.mode not in ("full", "pro_rata"):
            raise SpmConfigError(f"clawback mode must be 'full' or 'pro_rata', got {self.mode!r}")

    def factor(self, elapsed_days: np.ndarray, booked_day: np.ndarray | None = None) -> np.ndarray:
        """Fraction of the credit reversed after ``elapsed_days`` days (0..1).

        ``booked_day`` (days since 1970-01-01 of each booking) is needed for a
        window in months.
        """
        e = np.asarray(elapsed_days, dtype=np.float64)
        if self.window_months is not None:
            if booked_day is None:
                raise ValueError("a clawback window in months needs the booking days")
            return self._factor_months(np.asarray(booked_day), np.asarray(elapsed_days))
        if self.window_days is None:
            return np.ones_like(e)
        inside = e <= self.window_days
        if self.mode == "full":
            return inside.astype(np.float64)
        if self.window_days == 0:
            return np.where(e <= 0, 1.0, 0.0)
        return np.where(inside, np.clip((self.window_days - e) / self.window_days, 0.0, 1.0), 0.0)

    def _factor_months(self, booked: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
        w = int(self.window_months or 0)
        b = booked.astype("datetime64[D]")
        c = (booked + elapsed).astype("datetime64[D]")
        bm, cm = b.astype("datetime64[M]"), c.astype("datetime64[M]")
        months = (cm - bm).astype(np.int64)
        day_b = (b - bm).astype(np.int64)
        day_c = (c - cm).astype(np.int64)
        # the booking's day in the cancellation's month (31 January -> 28 February)
        anniversary = np.minimum(day_b, _month_days(cm) - 1)
        whole = months - (day_c < anniversary)  # full months stayed
        exact_end = (whole == w) & (day_c == anniversary)
        inside = (elapsed >= 0) & ((whole < w) | exact_end)
        if self.mode == "full":
            return inside.astype(np.float64)
        return np.where(inside, np.clip((w - whole) / w, 0.0, 1.0), 0.0)

    def describe(self) -> str:
        """One line a comp analyst can read."""
        if self.window_months is not None:
            span = f"{self.window_months} months"
            if self.mode == "full":
                return f"cancellations within {span} reverse their credit in full"
            return (
                f"cancellations within {span} reverse their credit pro rata to the whole "
                "months left in the window"
            )
        if self.window_days is None:
            return "every cancellation reverses its credit in full"
        if self.mode == "full":
            return f"cancellations within {self.window_days} days reverse their credit in full"
        return (
            f"cancellations within {self.window_days} days reverse their credit pro rata "
            "to the days left in the window"
        )


def _month_days(month: np.ndarray) -> np.ndarray:
    """Days in each calendar month (``datetime64[M]``)."""
    return ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)


ClawbackSpec = ClawbackPolicy | Mapping[str, ClawbackPolicy] | None


def resolve_policies(
    spec: ClawbackSpec, rep_ids: pd.Index
) -> tuple[list[ClawbackPolicy], np.ndarray]:
    """Policies and a per-rep policy index for ``rep_ids``.

    Parameters
    ----------
    spec : ClawbackPolicy, mapping of rep_id to ClawbackPolicy, or None
        One policy for everybody, one per rep (reps missing from the mapping
        get the default policy, full reversal), or None (full reversal).
    rep_ids : pandas.Index
        Rep ids in code order.

    Returns
    -------
    (list of ClawbackPolicy, numpy.ndarray of int)
        Distinct policies and the index of each rep's policy.
    """
    default = ClawbackPolicy()
    if spec is None:
        return [default], np.zeros(len(rep_ids), dtype=np.int64)
    if isinstance(spec, ClawbackPolicy):
        return [spec], np.zeros(len(rep_ids), dtype=np.int64)
    policies: list[ClawbackPolicy] = [default]
    index: dict[ClawbackPolicy, int] = {default: 0}
    out = np.zeros(len(rep_ids), dtype=np.int64)
    pos = {r: i for i, r in enumerate(rep_ids)}
    for rep, pol in spec.items():
        if not isinstance(pol, ClawbackPolicy):
            raise SpmConfigError(
                f"clawback policy for rep {rep!r} is not a ClawbackPolicy: {pol!r}"
            )
        if pol not in index:
            index[pol] = len(policies)
            policies.append(pol)
        if rep in pos:
            out[pos[rep]] = index[pol]
    return policies, out
