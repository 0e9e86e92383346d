"""Management by objectives: weighted objectives with scores."""

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
from spm_model.plans.money import ZERO, D
from spm_model.plans.percent import Fraction


class Objective(BaseModel):
    """One MBO objective."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="Objective name; scores are keyed '<component>.<name>'.")
    weight: Fraction = Field(..., ge=0, le=1, description="Share of the MBO payout (fraction).")
    max_score: Fraction = Field(1.0, ge=0, description="Highest score counted (1.0 = fully met).")
    description: str = Field("", description="What must be achieved.")


@register_component("mbo")
class Mbo(Component):
    """MBO bonus: ``target * sum(weight_i * min(max(score_i, 0), max_score_i))``.

    Scores (fractions, 1.0 = fully met) come from :class:`PeriodInputs` ``scores``
    (or the ``extras`` arrays) keyed ``"<component>.<objective>"``; a missing score
    counts as ``default_score``.
    """

    type: Literal["mbo"] = "mbo"
    objectives: list[Objective] = Field(..., min_length=1, description="Objectives.")
    default_score: Fraction = Field(0.0, ge=0, description="Score assumed when none is given.")

    def measures_used(self) -> list[str]:
        """MBOs read no measure."""
        return []

    def score_keys(self) -> list[str]:
        """Keys of the scores this component reads."""
        return [f"{self.name}.{o.name}" for o in self.objectives]

    def check(self, measures: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Objective weights sum to 1, a component weight is set."""
        p = super().check(measures)
        if self.weight is None:
            p.append((("weight",), "an MBO needs a 'weight' (share of target incentive)"))
        total = sum(o.weight for o in self.objectives)
        if abs(total - 1) > 1e-9:
            p.append((("objectives",), f"objective weights sum to {total:g}, not 1"))
        names = [o.name for o in self.objectives]
        for i, n in enumerate(names):
            if names.index(n) != i:
                p.append((("objectives", i, "name"), f"duplicate objective {n!r}"))
        return p

    def _raw_exact(self, inputs: PeriodInputs, target: Decimal) -> tuple[Decimal, dict[str, Any]]:
        steps = []
        total = ZERO
        for o, key in zip(self.objectives, self.score_keys(), strict=True):
            given = inputs.scores.get(key)
            s = D(self.default_score) if given is None else given
            s = min(max(s, ZERO), D(o.max_score))
            amt = target * D(o.weight) * s
            total += amt
            note = "" if given is not None else " (default score)"
            steps.append(
                Step(
                    f"{o.name}: weight {o.weight:g}, score {s:f}{note}",
                    target,
                    D(o.weight) * s,
                    amt,
                )
            )
        return total, {"segment": "objectives", "steps": tuple(steps)}

    def _raw_arrays(self, inputs: ArrayInputs, target: np.ndarray) -> np.ndarray:
        out = np.zeros(np.shape(target))
        for o, key in zip(self.objectives, self.score_keys(), strict=True):
            s = inputs.extras.get(key, self.default_score)
            s = np.clip(np.asarray(s, dtype=np.float64), 0.0, o.max_score)
            out = out + target * o.weight * s
        return out
