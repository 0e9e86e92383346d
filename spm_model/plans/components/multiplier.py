"""Multiplier: scales other components by a factor looked up from a measure's attainment."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spm_model.plans.components.base import ArrayInputs, Component, PeriodInputs, register_component
from spm_model.plans.money import D
from spm_model.plans.percent import Fraction, attainment_problem
from spm_model.plans.vector import band_index


class Band(BaseModel):
    """Attainment band ``[from, next from)`` with its factor."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Fraction = Field(..., alias="from", description="Lower bound (attainment fraction).")
    factor: Fraction = Field(..., ge=0, description="Multiplier (1.0 = unchanged).")


@register_component("multiplier")
class Multiplier(Component):
    """Modifier: ``adjustment = (factor - 1) * sum(earned of applies_to)``.

    The factor is the one of the highest band whose ``from`` the measure's
    attainment reaches (the first band's factor below it); without a quota the
    factor is 1.0. The adjustment is its own statement line, rounded to the cent,
    computed from the already rounded lines of the components it applies to
    (all earning components when ``applies_to`` is empty). Multipliers do not
    compound: each applies to the earning lines, never to another multiplier.
    """

    kind = "modifier"
    type: Literal["multiplier"] = "multiplier"
    measure: str = Field(..., description="Measure whose attainment selects the factor.")
    bands: list[Band] = Field(..., min_length=1, description="Bands, increasing, first from 0.")
    applies_to: list[str] = Field(default_factory=list, description="Component names; empty = all.")

    def measures_used(self) -> list[str]:
        """Return the band measure."""
        return [self.measure]

    def check(self, measures: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Bands start at 0 and increase."""
        p = super().check(measures)
        if self.bands[0].from_ != 0:
            p.append(
                (("bands", 0, "from"), f"first band must start at 0, not {self.bands[0].from_:g}")
            )
        for i, band in enumerate(self.bands):
            msg = attainment_problem(band.from_)
            if msg:
                p.append((("bands", i, "from"), msg))
        for i in range(1, len(self.bands)):
            if self.bands[i].from_ <= self.bands[i - 1].from_:
                p.append(
                    (
                        ("bands", i, "from"),
                        f"bands must increase: {self.bands[i].from_:g} after "
                        f"{self.bands[i - 1].from_:g}",
                    )
                )
        if self.weight is not None:
            p.append((("weight",), "a multiplier has no weight of its own"))
        return p

    def factor_exact(self, inputs: PeriodInputs) -> tuple[Decimal, str]:
        """Factor and band text."""
        a = inputs.attainment(self.measure)
        if a is None:
            return Decimal(1), "no quota: factor 1"
        k = 0
        for i, b in enumerate(self.bands):
            if a >= D(b.from_):
                k = i
        b = self.bands[k]
        return D(
            b.factor
        ), f"{self.measure} {a * 100:.2f}% in band from {b.from_:.0%}: x{b.factor:g}"

    def factor_arrays(self, inputs: ArrayInputs) -> np.ndarray:
        """Vectorised factor."""
        q = inputs.quota_of(self.measure)
        c = inputs.credited_of(self.measure)
        idx = band_index(c, q, [b.from_ for b in self.bands])
        f = np.asarray([b.factor for b in self.bands])[np.maximum(idx, 0)]
        return np.where(q > 0, f, 1.0)
