"""Linked two-measure matrix: payout factor looked up by the attainment bands of two measures."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import Field

from spm_model.plans.components.base import (
    ArrayInputs,
    Component,
    PeriodInputs,
    Step,
    register_component,
)
from spm_model.plans.money import ZERO, D
from spm_model.plans.percent import Fraction
from spm_model.plans.vector import band_index


def _band_index(a: Decimal, bands: list[float]) -> int:
    """Index of the band ``[bands[i], bands[i+1])`` holding ``a``; -1 below the first."""
    idx = -1
    for i, lo in enumerate(bands):
        if a >= D(lo):
            idx = i
    return idx


@register_component("matrix")
class Matrix(Component):
    """Payout matrix on two measures (e.g. revenue attainment x margin attainment).

    ``row_bands`` and ``col_bands`` are the lower bounds (attainment fractions) of
    the bands of ``row_measure`` and ``col_measure``; ``payouts[i][j]`` is the
    payout (fraction of the component target) when the row measure is in band
    ``i`` and the column measure in band ``j``. Below the first band of either
    measure, or without a quota, nothing is paid.
    """

    type: Literal["matrix"] = "matrix"
    row_measure: str = Field(..., description="Measure of the rows.")
    col_measure: str = Field(..., description="Measure of the columns.")
    row_bands: list[Fraction] = Field(..., min_length=1, description="Row band lower bounds.")
    col_bands: list[Fraction] = Field(..., min_length=1, description="Column band lower bounds.")
    payouts: list[list[Fraction]] = Field(..., description="Payout fraction of target per cell.")

    def measures_used(self) -> list[str]:
        """Row and column measures."""
        return [self.row_measure, self.col_measure]

    def _measure_field(self, measure: str) -> tuple[str | int, ...]:
        return ("row_measure",) if measure == self.row_measure else ("col_measure",)

    def check(self, measures: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Increasing bands, matrix shape, non-negative payouts."""
        p = super().check(measures)
        if self.weight is None:
            p.append((("weight",), "a matrix needs a 'weight' (share of target incentive)"))
        for key, bands in (("row_bands", self.row_bands), ("col_bands", self.col_bands)):
            for i in range(1, len(bands)):
                if bands[i] <= bands[i - 1]:
                    p.append(
                        ((key, i), f"bands must increase: {bands[i]:g} after {bands[i - 1]:g}")
                    )
        if len(self.payouts) != len(self.row_bands):
            p.append(
                (("payouts",), f"{len(self.payouts)} rows for {len(self.row_bands)} row bands")
            )
        for i, row in enumerate(self.payouts):
            if len(row) != len(self.col_bands):
                p.append(
                    (("payouts", i), f"{len(row)} values for {len(self.col_bands)} column bands")
                )
            for j, v in enumerate(row):
                if v < 0:
                    p.append((("payouts", i, j), f"negative payout {v:g}"))
        return p

    def _raw_exact(self, inputs: PeriodInputs, target: Decimal) -> tuple[Decimal, dict[str, Any]]:
        ra = inputs.attainment(self.row_measure)
        ca = inputs.attainment(self.col_measure)
        if ra is None or ca is None:
            return ZERO, {"segment": "no quota: nothing earned"}
        i = _band_index(ra, self.row_bands)
        j = _band_index(ca, self.col_bands)
        if i < 0 or j < 0:
            return ZERO, {"segment": "below the first band: nothing earned"}
        f = D(self.payouts[i][j])
        seg = (
            f"{self.row_measure} band >= {self.row_bands[i]:.0%} ({ra * 100:.2f}%), "
            f"{self.col_measure} band >= {self.col_bands[j]:.0%} ({ca * 100:.2f}%)"
        )
        amt = f * target
        return amt, {
            "rate": f,
            "segment": seg,
            "steps": (Step(f"cell [{i}][{j}]: {seg}", target, f, amt),),
        }

    def _raw_arrays(self, inputs: ArrayInputs, target: np.ndarray) -> np.ndarray:
        rq = inputs.quota_of(self.row_measure)
        cq = inputs.quota_of(self.col_measure)
        rc = inputs.credited_of(self.row_measure)
        cc = inputs.credited_of(self.col_measure)
        ri = band_index(rc, rq, self.row_bands)
        ci = band_index(cc, cq, self.col_bands)
        table = np.zeros((len(self.row_bands) + 1, len(self.col_bands) + 1))
        table[1:, 1:] = np.asarray(self.payouts, dtype=np.float64)
        f = table[ri + 1, ci + 1]
        ok = (rq > 0) & (cq > 0)
        return np.where(ok, f * target, 0.0)
