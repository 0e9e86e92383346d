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
        ``None`` means always.
    mode : {"full", "pro_rata"}
        Full reversal inside the window, or linearly declining with elapsed days.
    """

    window_days: int | None = None
    mode: ClawbackMode = "full"

    def __post_init__(self) -> None:
        if self.window_days is not None and self.window_days < 0:
            raise SpmConfigError(f"clawback window_days must be >= 0, got {self.window_days}")
        if self.mode not in ("full", "pro_rata"):
            raise SpmConfigError(f"clawback mode must be 'full' or 'pro_rata', got {self.mode!r}")

    def factor(self, elapsed_days: np.ndarray) -> np.ndarray:
        """Fraction of the credit reversed after ``elapsed_days`` days (0..1)."""
        e = np.asarray(elapsed_days, dtype=np.float64)
        if self.window_days is None:
            return np.ones_like(e)
        inside = e <= self.window_days
        if self.mode == "full":
            return inside.astype(np.float64)
        if self.window_days == 0:
            return np.where(e <= 0, 1.0, 0.0)
        return np.where(inside, np.clip((self.window_days - e) / self.window_days, 0.0, 1.0), 0.0)

    def describe(self) -> str:
        """One line a comp analyst can read."""
        if self.window_days is None:
            return "every cancellation reverses its credit in full"
        if self.mode == "full":
            return f"cancellations within {self.window_days} days reverse their credit in full"
        return (
            f"cancellations within {self.window_days} days reverse their credit pro rata "
            "to the days left in the window"
        )


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
