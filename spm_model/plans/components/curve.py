"""Payout curve (quota bonus): attainment -> payout as a fraction of the component target."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spm_model.plans.components.base import (
    ArrayInputs,
    Component,
    PeriodInputs,
    Step,
    register_component,
)
from spm_model.plans.money import ZERO, D, pct
from spm_model.plans.percent import Fraction, attainment_problem
from spm_model.plans.vector import band_index, piecewise_linear, reached


class CurvePoint(BaseModel):
    """One point of a payout curve.

    Give either ``payout`` (fraction of the component target at this attainment)
    or ``slope`` (payout added per unit of attainment since the previous point:
    1.0 = one point of payout per point of attainment; > 1 accelerates, < 1
    decelerates).
    """

    model_config = ConfigDict(extra="forbid")

    attainment: Fraction = Field(..., description="Attainment (fraction, 1.0 = 100% of quota).")
    payout: Fraction | None = Field(None, description="Payout, fraction of component target.")
    slope: Fraction | None = Field(
        None, description="Slope from the previous point instead of payout."
    )
    label: str = Field("", description="threshold, target, excellence, ...")


@register_component("payout_curve")
class PayoutCurve(Component):
    """Quota bonus paid along a curve of attainment.

    Below the first point (the threshold) nothing is paid; between points the
    payout is interpolated linearly (``interpolation: linear``) or held at the
    lower point (``step``); beyond the last point it grows with
    ``slope_after_last`` (0 = flat). ``cap_multiple`` caps the payout as a multiple
    of the component target. Earned = payout fraction * weight * target incentive.
    Without a quota (<= 0) nothing is earned.
    """

    type: Literal["payout_curve"] = "payout_curve"
    measure: str = Field(..., description="Measure whose attainment drives the payout.")
    points: list[CurvePoint] = Field(..., min_length=1, description="Curve points.")
    interpolation: Literal["linear", "step"] = Field("linear", description="Between points.")
    slope_after_last: Fraction = Field(
        0.0, description="Payout fraction per unit attainment beyond the last point."
    )

    def measures_used(self) -> list[str]:
        """Return the curve measure."""
        return [self.measure]

    def resolved_points(self) -> tuple[list[float], list[float]]:
        """Knots ``(attainments, payouts)`` with slopes resolved to payouts."""
        xs: list[float] = []
        ys: list[float] = []
        for i, p in enumerate(self.points):
            if p.payout is not None:
                y = p.payout
            elif i > 0 and p.slope is not None:
                y = ys[-1] + p.slope * (p.attainment - xs[-1])
            else:
                y = 0.0
            xs.append(p.attainment)
            ys.append(y)
        return xs, ys

    def _resolved_exact(self) -> tuple[list[Decimal], list[Decimal]]:
        xs: list[Decimal] = []
        ys: list[Decimal] = []
        for i, p in enumerate(self.points):
            if p.payout is not None:
                y = D(p.payout)
            elif i > 0 and p.slope is not None:
                y = ys[-1] + D(p.slope) * (D(p.attainment) - xs[-1])
            else:
                y = ZERO
            xs.append(D(p.attainment))
            ys.append(y)
        return xs, ys

    def check(self, measures: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Increasing attainments, payout/slope given once, non-negative, cap >= target payout."""
        p = super().check(measures)
        if self.weight is None:
            p.append((("weight",), "a payout curve needs a 'weight' (share of target incentive)"))
        for i, pt in enumerate(self.points):
            if (pt.payout is None) == (pt.slope is None):
                p.append((("points", i), "give exactly one of 'payout' or 'slope'"))
            if i == 0 and pt.slope is not None:
                p.append(
                    (("points", 0, "slope"), "the first point needs a 'payout', not a 'slope'")
                )
            if pt.attainment < 0:
                p.append((("points", i, "attainment"), "attainment must be >= 0"))
            msg = attainment_problem(pt.attainment)
            if msg:
                p.append((("points", i, "attainment"), msg))
            if i > 0 and pt.attainment <= self.points[i - 1].attainment:
                p.append(
                    (
                        ("points", i, "attainment"),
                        f"curve points must increase: attainment "
                        f"{pt.attainment:g} after {self.points[i - 1].attainment:g}",
                    )
                )
        _xs, ys = self.resolved_points()
        for i in range(len(ys)):
            if ys[i] < 0:
                p.append((("points", i), f"negative payout {ys[i]:g}"))
            if i > 0 and ys[i] < ys[i - 1]:
                p.append(
                    (
                        ("points", i),
                        f"payout decreases from {ys[i - 1]:g} to {ys[i]:g}: "
                        "a payout curve must not decrease",
                    )
                )
        if self.slope_after_last < 0:
            p.append((("slope_after_last",), "must be >= 0"))
        if self.cap_multiple is not None and self.cap_multiple >= 1:
            at_target = float(self._value_exact(Decimal(1))[0])
            if self.cap_multiple < at_target:
                p.append(
                    (
                        ("cap_multiple",),
                        f"cap below target: cap {self.cap_multiple:g} is below "
                        f"the payout at 100% attainment ({at_target:g})",
                    )
                )
        return p

    def _fraction_exact(
        self, c: Decimal, q: Decimal
    ) -> tuple[Decimal, Decimal, str, Decimal | None]:
        """Payout fraction at credited ``c`` and quota ``q > 0`` as an exact ratio.

        Returns ``(num, den, segment, slope)`` with fraction = ``num / den``; both
        are exact products, so the amount ``target * num / den`` takes a single
        division and a half-cent tie (4,619.025) is not lost to a rounded
        attainment.
        """
        xs, ys = self._resolved_exact()
        if c < xs[0] * q:
            return ZERO, Decimal(1), f"below threshold {pct(xs[0])}", None
        for i in range(len(xs) - 1):
            if xs[i] * q <= c < xs[i + 1] * q:
                seg = f"{pct(xs[i])}-{pct(xs[i + 1])}"
                if self.interpolation == "step":
                    return ys[i], Decimal(1), f"step {seg}", ZERO
                dx = xs[i + 1] - xs[i]
                dy = ys[i + 1] - ys[i]
                return ys[i] * q * dx + dy * (c - xs[i] * q), q * dx, seg, dy / dx
        s = D(self.slope_after_last)
        return ys[-1] * q + s * (c - xs[-1] * q), q, f"above {pct(xs[-1])}", s

    def _value_exact(self, a: Decimal) -> tuple[Decimal, str, Decimal | None]:
        """Payout fraction at attainment ``a``, the segment text and its slope."""
        num, den, seg, slope = self._fraction_exact(a, Decimal(1))
        return num / den, seg, slope

    def _raw_exact(self, inputs: PeriodInputs, target: Decimal) -> tuple[Decimal, dict[str, Any]]:
        q = inputs.quota_of(self.measure)
        if q <= 0:
            return ZERO, {"segment": "no quota: nothing earned"}
        num, den, seg, slope = self._fraction_exact(inputs.credited_of(self.measure), q)
        amt = target * num / den
        frac = num / den
        step = Step(f"curve {seg}: payout {frac * 100:.4f}% of target", target, frac, amt)
        return amt, {"rate": slope, "segment": seg, "steps": (step,)}

    def payout_fraction(
        self,
        attainment: np.ndarray,
        credited: np.ndarray | None = None,
        quota: np.ndarray | None = None,
    ) -> np.ndarray:
        """Vectorised payout fraction of target at ``attainment`` (before cap).

        With ``credited`` and ``quota`` the threshold and steps are decided by
        comparing ``credited`` with ``point * quota`` (as the exact engine does)
        rather than on the rounded float attainment.
        """
        xs, ys = self.resolved_points()
        a = np.asarray(attainment, dtype=np.float64)
        c, q = (a, 1.0) if credited is None or quota is None else (credited, quota)
        if self.interpolation == "step":
            idx = band_index(c, q, xs)
            y = np.concatenate([[0.0], ys])[idx + 1]
            if self.slope_after_last:
                y = np.where(
                    idx == len(xs) - 1, y + self.slope_after_last * np.maximum(a - xs[-1], 0.0), y
                )
            return y
        y = piecewise_linear(a, xs, ys, below=ys[0], slope_after=self.slope_after_last)
        return np.where(reached(c, q, xs[0]), y, 0.0)

    def _raw_arrays(self, inputs: ArrayInputs, target: np.ndarray) -> np.ndarray:
        a = inputs.attainment(self.measure)
        frac = self.payout_fraction(
            a, inputs.credited_of(self.measure), inputs.quota_of(self.measure)
        )
        return np.where(inputs.has_quota(self.measure), frac * target, 0.0)
