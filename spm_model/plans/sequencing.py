"""Sequencing over periods: year-to-date true-up, draws, proration and clawbacks.

Each rule exists twice with one meaning: an exact version on ``Decimal`` sequences
(for statements) and a vectorised version on float64 arrays whose **last axis** is
the period axis (for simulation). All amounts are currency.

Order of operations for one rep over the periods of a fiscal year
-----------------------------------------------------------------
1. earned (per period, or year to date when the plan is cumulative) - see
   :meth:`spm_model.plans.Plan.evaluate_exact`;
2. true-up (cumulative plans): ``due = earned_ytd - paid_before`` where
   ``paid_before`` is the incentive already due in earlier periods; with
   ``negative: carry_forward`` a negative true-up is not taken back but carried
   (``due = max(0, ...)``), with ``recover`` it is deducted immediately;
3. measurement periods are summed into pay periods when pay is less frequent;
4. draws: a guarantee ``draw`` per pay period in the draw window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

import numpy as np

from spm_model.plans.money import ZERO, D, round_cents, round_cents_array


# -- true-up ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrueUpPeriod:
    """Exact true-up of one period (currency)."""

    earned_ytd: Decimal
    paid_before: Decimal
    due: Decimal


def true_up_exact(
    earned_ytd: Sequence[Decimal],
    negative: Literal["carry_forward", "recover"] = "carry_forward",
    paid_before: Decimal = ZERO,
) -> list[TrueUpPeriod]:
    """Incentive due each period from year-to-date earnings.

    Parameters
    ----------
    earned_ytd : sequence of Decimal
        Cumulative earnings at the end of each period (currency).
    negative : {"carry_forward", "recover"}
        What a negative true-up does: carried into later periods (nothing due now)
        or deducted now (negative amount due).
    paid_before : Decimal
        Incentive already paid this fiscal year before the first period.

    Returns
    -------
    list of TrueUpPeriod
    """
    out = []
    paid = D(paid_before)
    for e in earned_ytd:
        due = D(e) - paid
        if negative == "carry_forward" and due < 0:
            due = ZERO
        out.append(TrueUpPeriod(D(e), paid, due))
        paid += due
    return out


def true_up_arrays(
    earned_ytd: np.ndarray,
    negative: Literal["carry_forward", "recover"] = "carry_forward",
    paid_before: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Vectorised :func:`true_up_exact`; ``earned_ytd`` has periods on the last axis."""
    e = np.asarray(earned_ytd, dtype=np.float64)
    if negative == "recover":
        prev = np.concatenate([np.zeros((*e.shape[:-1], 1)) + paid_before, e[..., :-1]], axis=-1)
        return round_cents_array(e - prev)
    due = np.empty_like(e)
    paid = np.zeros(e.shape[:-1]) + paid_before
    for t in range(e.shape[-1]):
        d = np.maximum(round_cents_array(e[..., t] - paid), 0.0)
        due[..., t] = d
        paid = paid + d
    return due


# -- draws -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DrawPeriod:
    """Exact outcome of one pay period under a draw (currency).

    ``balance`` is the draw balance after the period: negative when the rep owes
    advances still to be recovered (-500 = 500 to recover).
    """

    earned: Decimal
    draw: Decimal
    advance: Decimal
    recovery: Decimal
    payable: Decimal
    balance: Decimal


def draw_schedule(amount: Decimal | float, periods: int, n_periods: int) -> list[Decimal]:
    """Draw guarantee per pay period: ``amount`` for the first ``periods``, then 0."""
    a = D(amount)
    return [a if t < periods else ZERO for t in range(n_periods)]


def apply_draws_exact(
    earnings: Sequence[Decimal],
    draws: Sequence[Decimal],
    *,
    recoverable: bool = True,
    recover_after_window: bool = True,
    opening_balance: Decimal = ZERO,
) -> list[DrawPeriod]:
    """Pay a draw (guarantee) against earnings, recovering advances if recoverable.

    In a period with a draw ``d > 0``: if earnings ``e < d`` the rep is paid ``d``
    and the advance ``d - e`` is added to the balance (recoverable draws only);
    otherwise outstanding advances are recovered from the excess ``e - d``, so
    pay never falls below the draw. After the window (``d = 0``) advances are
    recovered from the whole earnings when ``recover_after_window``.

    Parameters
    ----------
    earnings : sequence of Decimal
        Incentive due per pay period (after true-up), currency.
    draws : sequence of Decimal
        Draw guarantee per pay period (0 outside the window), currency.
    recoverable : bool
        Recoverable draw (advances repaid from later earnings) or non-recoverable
        guarantee (top-ups are never recovered).
    recover_after_window : bool
        Keep recovering after the draw window ends.
    opening_balance : Decimal
        Balance carried in (negative = owed by the rep).

    Returns
    -------
    list of DrawPeriod

    Examples
    --------
    Recoverable monthly draw of 2,000 against 2,750, 3,000, 1,500, 2,375, 3,000,
    2,750 pays 2,750, 3,000, 2,000, 2,000, 2,875, 2,750; the balance is -500
    after month 3, -125 after month 4 and 0 from month 5.
    """
    if len(draws) != len(earnings):
        raise ValueError(f"{len(draws)} draw amounts for {len(earnings)} periods")
    owed = -D(opening_balance)
    out = []
    for e, d in zip(earnings, draws, strict=True):
        e, d = D(e), D(d)
        advance = recovery = ZERO
        if d > 0 and e < d:
            advance = d - e
            pay = d
            if recoverable:
                owed += advance
        else:
            if d > 0:
                room = e - d
            elif recover_after_window:
                room = e
            else:
                room = ZERO
            recovery = min(owed, max(room, ZERO)) if recoverable else ZERO
            pay = e - recovery
            owed -= recovery
        out.append(DrawPeriod(e, d, advance, recovery, round_cents(pay), -owed if owed else ZERO))
    return out


def apply_draws_arrays(
    earnings: np.ndarray,
    draws: np.ndarray,
    *,
    recoverable: bool = True,
    recover_after_window: bool = True,
    opening_balance: np.ndarray | float = 0.0,
) -> dict[str, np.ndarray]:
    """Vectorised :func:`apply_draws_exact`; periods on the last axis.

    Returns
    -------
    dict of ndarray
        ``payable``, ``advance``, ``recovery``, ``balance`` (same shape as
        ``earnings``; balance negative when owed).
    """
    e = np.asarray(earnings, dtype=np.float64)
    d = np.broadcast_to(np.asarray(draws, dtype=np.float64), e.shape)
    owed = np.zeros(e.shape[:-1]) - opening_balance
    out = {k: np.empty_like(e) for k in ("payable", "advance", "recovery", "balance")}
    for t in range(e.shape[-1]):
        et, dt = e[..., t], d[..., t]
        short = (dt > 0) & (et < dt)
        advance = np.where(short, dt - et, 0.0)
        if recover_after_window:
            room = np.where(dt > 0, et - dt, et)
        else:
            room = np.where(dt > 0, et - dt, 0.0)
        if recoverable:
            recovery = np.where(short, 0.0, np.minimum(owed, np.maximum(room, 0.0)))
            owed = round_cents_array(owed + advance - recovery)
        else:
            recovery = np.zeros_like(et)
        out["payable"][..., t] = round_cents_array(np.where(short, dt, et - recovery))
        out["advance"][..., t] = advance
        out["recovery"][..., t] = recovery
        out["balance"][..., t] = -owed + 0.0
    return out


# -- proration and clawback ------------------------------------------------------------------
def proration_factor(start: date, end: date, period_start: date, period_end: date) -> Decimal:
    """Share of a period covered by ``start``..``end`` (inclusive days), as an exact fraction.

    Used to prorate quota and target incentive when a rep joins, leaves or
    changes plan, quota or territory part-way through a period: the period is
    split into segments, each evaluated with its own prorated quota and target.
    """
    lo = max(start, period_start)
    hi = min(end, period_end)
    days = (hi - lo).days + 1
    total = (period_end - period_start).days + 1
    if days <= 0:
        return ZERO
    return Decimal(days) / Decimal(total)


def clawback_fraction_exact(
    booking_date: date,
    cancel_date: date,
    window_days: int,
    method: Literal["full", "pro_rata"] = "full",
) -> Decimal:
    """Share of a cancelled booking's credit (and commission) reversed.

    ``full``: everything if cancelled within ``window_days`` of booking, nothing
    after. ``pro_rata``: ``(window_days - days_elapsed) / window_days`` within the
    window (a cancellation on the booking day reverses all of it), nothing after.
    """
    elapsed = (cancel_date - booking_date).days
    if elapsed < 0 or elapsed > window_days:
        return ZERO if elapsed > window_days else Decimal(1)
    if method == "full":
        return Decimal(1)
    return Decimal(window_days - elapsed) / Decimal(window_days)


def clawback_fraction_arrays(
    days_elapsed: np.ndarray, window_days: int, method: Literal["full", "pro_rata"] = "full"
) -> np.ndarray:
    """Vectorised :func:`clawback_fraction_exact` on elapsed days."""
    e = np.asarray(days_elapsed, dtype=np.float64)
    inside = e <= window_days
    if method == "full":
        return np.where(inside, 1.0, 0.0)
    return np.where(inside, np.clip((window_days - e) / window_days, 0.0, 1.0), 0.0)
