"""SPIF: a fixed amount per qualifying deal or per unit sold within dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spm_model.plans.components.base import (
    ArrayInputs,
    Component,
    Deal,
    PeriodInputs,
    Step,
    register_component,
)
from spm_model.plans.money import D


class SpifFilter(BaseModel):
    """Which deals qualify (all conditions must hold)."""

    model_config = ConfigDict(extra="forbid")

    measure: str | None = Field(None, description="Deal must credit this measure.")
    product_ids: list[str] | None = Field(None, description="Deal product must be one of these.")
    product_families: list[str] | None = Field(
        None, description="Product family must be one of these."
    )
    min_amount: float | None = Field(None, description="Minimum credited deal amount (currency).")


@register_component("spif")
class Spif(Component):
    """Sales performance incentive fund: ``amount`` per qualifying deal or unit.

    A deal qualifies if its booking date is within ``start``..``end``
    (inclusive) and it passes ``filter``. ``basis: deal`` counts deals (negative
    for cancellations of qualifying deals: pass them with a negative amount and
    they count -1), ``basis: unit`` sums their units. The count may also be given
    directly (``PeriodInputs.counts`` / ``extras`` keyed by the component name),
    which is what simulations do. Use ``cap_amount`` for a per-period maximum.
    """

    type: Literal["spif"] = "spif"
    basis: Literal["deal", "unit"] = Field("deal", description="Pay per deal or per unit.")
    amount: float = Field(..., description="Currency paid per qualifying deal or unit.")
    start: date = Field(..., description="First booking date that qualifies.")
    end: date = Field(..., description="Last booking date that qualifies.")
    filter: SpifFilter = Field(
        default_factory=lambda: SpifFilter.model_validate({}), description="Qualifying conditions."
    )

    def measures_used(self) -> list[str]:
        """Measure of the filter, if any."""
        return [self.filter.measure] if self.filter.measure else []

    def _measure_field(self, measure: str) -> tuple[str | int, ...]:
        return ("filter", "measure")

    def check(self, measures: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Dates in order, non-negative amount."""
        p = super().check(measures)
        if self.amount < 0:
            p.append((("amount",), f"negative SPIF amount {self.amount:g}"))
        if self.end < self.start:
            p.append((("end",), f"SPIF ends ({self.end}) before it starts ({self.start})"))
        return p

    def qualifies(self, deal: Deal) -> bool:
        """Whether ``deal`` counts for this SPIF (sign of the amount ignored)."""
        f = self.filter
        if not (self.start <= deal.date <= self.end):
            return False
        if f.measure and deal.measure != f.measure:
            return False
        if f.product_ids is not None and deal.product_id not in f.product_ids:
            return False
        if f.product_families is not None and deal.product_family not in f.product_families:
            return False
        return not (f.min_amount is not None and abs(deal.amount) < D(f.min_amount))

    def count_exact(self, inputs: PeriodInputs) -> tuple[Decimal, list[str]]:
        """Qualifying deals (or units) and the txn ids behind them."""
        if self.name in inputs.counts:
            return inputs.counts[self.name], []
        n = Decimal(0)
        ids = []
        for d in inputs.deals:
            if self.qualifies(d):
                sign = -1 if d.amount < 0 else 1
                n += sign * (Decimal(1) if self.basis == "deal" else d.units)
                ids.append(d.txn_id)
        return n, ids

    def _raw_exact(self, inputs: PeriodInputs, target: Decimal) -> tuple[Decimal, dict[str, Any]]:
        n, ids = self.count_exact(inputs)
        amt = n * D(self.amount)
        label = f"{n:f} qualifying {self.basis}s ({self.start} to {self.end})"
        if ids:
            shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
            label += f": {shown}"
        return amt, {
            "rate": D(self.amount),
            "segment": f"{n:f} {self.basis}s",
            "steps": (Step(label, n, D(self.amount), amt),),
        }

    def _raw_arrays(self, inputs: ArrayInputs, target: np.ndarray) -> np.ndarray:
        n = np.asarray(inputs.extras.get(self.name, 0.0), dtype=np.float64)
        return n * self.amount + np.zeros(np.shape(target))
