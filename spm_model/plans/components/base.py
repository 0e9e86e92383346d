"""Component base class, the component registry and the evaluation inputs/results.

A component is a small pydantic model registered under a ``type:`` name (the
pymc-marketing habit): ``@register_component("commission")``. A plan file names
the type, :func:`component_from_dict` finds the class, and ``to_dict`` writes the
same mapping back, so plans round-trip through YAML.

Every component implements the same meaning twice:

* :meth:`Component.evaluate_exact` on :class:`PeriodInputs` (``Decimal``), returning
  a :class:`ComponentResult` with the earned amount rounded to the cent and the
  explanation (tier or curve segment used, rate, base amount);
* :meth:`Component.evaluate_arrays` on :class:`ArrayInputs` (float64 numpy arrays
  of any common shape), returning the earned amounts rounded to the cent.

Evaluation order inside a component (both engines): gate -> raw amount -> component
cap -> round to cents (``ROUND_HALF_UP``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from spm_model.plans.money import ZERO, D, round_cents, round_cents_array
from spm_model.plans.percent import Fraction, attainment_problem
from spm_model.plans.vector import reached

COMPONENT_TYPES: dict[str, type[Component]] = {}
"""Registry: ``type:`` name -> component class."""


def register_component(type_name: str):
    """Class decorator registering a component class under ``type_name``."""

    def deco(cls: type[Component]) -> type[Component]:
        cls.type_name = type_name
        COMPONENT_TYPES[type_name] = cls
        return cls

    return deco


# -- inputs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Deal:
    """One credited deal, for SPIF qualification.

    Parameters
    ----------
    txn_id : str
        Transaction id (lineage).
    date : datetime.date
        Booking date.
    amount : Decimal
        Credited amount, currency.
    measure : str
        Plan measure the deal credits.
    units : Decimal
        Quantity sold (units).
    product_id, product_family : str or None
        Product and family, for product filters.
    """

    txn_id: str
    date: date
    amount: Decimal
    measure: str
    units: Decimal = Decimal("0")
    product_id: str | None = None
    product_family: str | None = None


@dataclass(frozen=True)
class PeriodInputs:
    """Exact inputs of one rep for one measurement period (or year to date).

    Parameters
    ----------
    credited : mapping str -> Decimal
        Credited value per plan measure: currency for money measures, units for
        count measures.
    quota : mapping str -> Decimal
        Quota per plan measure, same units as ``credited``. A quota <= 0 means
        "no quota": attainment-based components earn nothing on that measure.
    target_incentive : Decimal
        The rep's target incentive for the span evaluated (currency), after
        proration. Component targets are ``weight * target_incentive``.
    scores : mapping str -> Decimal
        MBO scores keyed ``"<component>.<objective>"`` (fraction, 1.0 = fully met).
    counts : mapping str -> Decimal
        SPIF qualifying deals or units keyed by component name; when absent the
        SPIF counts qualifying ``deals`` itself.
    deals : sequence of Deal
        Credited deals of the span, for SPIFs.
    periods : int
        Number of measurement periods the inputs cover (1, or k for year to
        date); per-period ``cap_amount`` values are multiplied by it.
    ytd_credited, ytd_quota : mapping str -> Decimal, optional
        Year-to-date credited values and quotas up to and including this
        period, for gates measured year to date (``gate.span``); set by
        :meth:`~spm_model.plans.Plan.evaluate_periods_exact`. Without them a
        period evaluated alone is its own year to date.
    """

    credited: Mapping[str, Decimal]
    quota: Mapping[str, Decimal] = field(default_factory=dict)
    target_incentive: Decimal = ZERO
    scores: Mapping[str, Decimal] = field(default_factory=dict)
    counts: Mapping[str, Decimal] = field(default_factory=dict)
    deals: Sequence[Deal] = ()
    periods: int = 1
    ytd_credited: Mapping[str, Decimal] | None = None
    ytd_quota: Mapping[str, Decimal] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "credited", {k: D(v) for k, v in self.credited.items()})
        object.__setattr__(self, "quota", {k: D(v) for k, v in self.quota.items()})
        for name in ("ytd_credited", "ytd_quota"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, {k: D(v) for k, v in value.items()})
        object.__setattr__(self, "target_incentive", D(self.target_incentive))
        object.__setattr__(self, "scores", {k: D(v) for k, v in self.scores.items()})
        object.__setattr__(self, "counts", {k: D(v) for k, v in self.counts.items()})

    def credited_of(self, measure: str) -> Decimal:
        """Credited value of ``measure`` (0 when absent)."""
        return self.credited.get(measure, ZERO)

    def quota_of(self, measure: str) -> Decimal:
        """Quota of ``measure`` (0 when absent)."""
        return self.quota.get(measure, ZERO)

    def attainment(self, measure: str) -> Decimal | None:
        """Credited / quota as a fraction (1.0 = 100%); ``None`` when quota <= 0."""
        q = self.quota_of(measure)
        if q <= 0:
            return None
        return self.credited_of(measure) / q

    def with_credited(self, credited: Mapping[str, Decimal]) -> PeriodInputs:
        """Copy with some credited values replaced."""
        return replace(self, credited={**self.credited, **credited})

    def year_to_date_attainment(self, measure: str) -> Decimal | None:
        """Year-to-date credited / quota (the period's own without year-to-date inputs)."""
        if self.ytd_credited is None or self.ytd_quota is None:
            return self.attainment(measure)
        q = self.ytd_quota.get(measure, ZERO)
        if q <= 0:
            return None
        return self.ytd_credited.get(measure, ZERO) / q


@dataclass(frozen=True)
class ArrayInputs:
    """Vectorised inputs: float64 arrays that broadcast to one common shape.

    Parameters
    ----------
    credited : mapping str -> ndarray
        Credited value per measure (currency, or units for count measures).
    quota : mapping str -> ndarray
        Quota per measure; <= 0 means no quota (attainment components earn 0).
    target_incentive : ndarray
        Target incentive of the span (currency).
    extras : mapping str -> ndarray
        MBO scores (``"<component>.<objective>"``) and SPIF counts (component name).
    periods : ndarray or float
        Number of measurement periods covered (for per-period cap amounts).
    ytd_credited, ytd_quota : mapping str -> ndarray, optional
        Year-to-date values for gates measured year to date (see
        :class:`PeriodInputs`).
    """

    credited: Mapping[str, np.ndarray]
    quota: Mapping[str, np.ndarray]
    target_incentive: np.ndarray
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)
    periods: np.ndarray | float = 1.0
    ytd_credited: Mapping[str, np.ndarray] | None = None
    ytd_quota: Mapping[str, np.ndarray] | None = None

    def credited_of(self, measure: str) -> np.ndarray:
        """Credited array of ``measure``."""
        try:
            return self.credited[measure]
        except KeyError:
            raise KeyError(f"no credited array for measure {measure!r}") from None

    def quota_of(self, measure: str) -> np.ndarray:
        """Quota array of ``measure``."""
        try:
            return self.quota[measure]
        except KeyError:
            raise KeyError(f"no quota array for measure {measure!r}") from None

    def attainment(self, measure: str) -> np.ndarray:
        """Credited / quota; 0 where quota <= 0 (callers mask those with :meth:`has_quota`)."""
        q = self.quota_of(measure)
        c = self.credited_of(measure)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(q > 0, c / np.where(q > 0, q, 1.0), 0.0)

    def has_quota(self, measure: str) -> np.ndarray:
        """Boolean array: quota > 0."""
        return self.quota_of(measure) > 0

    def with_credited(self, credited: Mapping[str, np.ndarray]) -> ArrayInputs:
        """Copy with some credited arrays replaced."""
        return replace(self, credited={**self.credited, **credited})

    def year_to_date(self, measure: str) -> tuple[np.ndarray, np.ndarray]:
        """Year-to-date credited and quota arrays (the span's own without them)."""
        if self.ytd_credited is None or self.ytd_quota is None:
            return self.credited_of(measure), self.quota_of(measure)
        try:
            return self.ytd_credited[measure], self.ytd_quota[measure]
        except KeyError:
            raise KeyError(f"no year-to-date arrays for measure {measure!r}") from None


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One line of a component's explanation (a tier slice, a curve segment...).

    Parameters
    ----------
    label : str
        What this step is ("tier 2: 5,000 and above", "curve 80%-100%").
    base : Decimal or None
        Amount the rate applies to (currency or units), if any.
    rate : Decimal or None
        Rate applied (fraction of currency, currency per unit, or payout
        fraction of target per unit of attainment), if any.
    amount : Decimal
        Unrounded contribution (currency).
    """

    label: str
    base: Decimal | None
    rate: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class ComponentResult:
    """Exact result of one component for one rep and span.

    Parameters
    ----------
    component, type : str
        Component name and ``type:``.
    measure : str or None
        Main measure of the component.
    credited, quota, attainment : Decimal or None
        Inputs used (attainment as a fraction).
    target : Decimal
        Component target incentive, ``weight * target_incentive`` (0 when unweighted).
    raw : Decimal
        Amount before the component cap, unrounded (0 when a gate closed it).
    earned : Decimal
        Amount earned, after cap and gate, rounded to the cent (currency).
    rate : Decimal or None
        Effective rate of the tier/segment reached (see ``steps`` for every slice).
    segment : str
        Tier, curve segment, band or cell reached, in words.
    steps : tuple of Step
        The calculation, line by line.
    capped : bool
        Whether the component cap reduced the amount.
    gate : str
        Gate outcome in words ("" when the component has no gate).
    """

    component: str
    type: str
    measure: str | None
    credited: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    target: Decimal
    raw: Decimal
    earned: Decimal
    rate: Decimal | None = None
    segment: str = ""
    steps: tuple[Step, ...] = ()
    capped: bool = False
    gate: str = ""

    def explain(self) -> str:
        """Human-readable multi-line explanation of the amount."""
        head = f"{self.component} ({self.type})"
        if self.measure:
            head += f" on {self.measure}"
        out = [head]
        if self.credited is not None:
            out.append(f"  credited {self.credited:,.2f}")
        if self.quota is not None:
            out.append(f"  quota {self.quota:,.2f}")
        if self.attainment is not None:
            out.append(f"  attainment {self.attainment * 100:.2f}%")
        if self.target:
            out.append(f"  component target {self.target:,.2f}")
        if self.gate:
            out.append(f"  gate: {self.gate}")
        for s in self.steps:
            bits = [f"  - {s.label}"]
            if s.base is not None:
                bits.append(f"base {s.base:,.2f}")
            if s.rate is not None:
                bits.append(f"rate {s.rate.normalize():f}")
            bits.append(f"= {s.amount:,.4f}")
            out.append(" ".join(bits))
        if self.capped:
            out.append(f"  capped from {self.raw:,.2f}")
        out.append(f"  earned {self.earned:,.2f}")
        return "\n".join(out)


# -- base classes ----------------------------------------------------------------------------
class Gate(BaseModel):
    """A hurdle: the component pays only if another measure reaches an attainment.

    When the gate is not met the component pays nothing, or, with
    ``otherwise_cap_attainment``, is evaluated as if its measures' attainment were
    capped at that value (e.g. 1.0: accelerators above target stay locked).
    """

    model_config = ConfigDict(extra="forbid")

    measure: str = Field(..., description="Measure whose attainment opens the gate.")
    min_attainment: Fraction = Field(
        ..., description="Attainment (fraction, 1.0 = 100%) the gate measure must reach."
    )
    otherwise_cap_attainment: Fraction | None = Field(
        None,
        description="If set, a closed gate caps the component's attainment at this value "
        "instead of paying nothing.",
    )
    span: Literal["period", "year_to_date"] = Field(
        "period",
        description="Attainment of the gate measure over the period evaluated, or over the "
        "fiscal year to date (e.g. accelerators paid each quarter only while the year's "
        "quota to date is met).",
    )

    def attainment_exact(self, inputs: PeriodInputs) -> Decimal | None:
        """Return the gate measure's attainment over the gate's span (None without a quota)."""
        if self.span == "year_to_date":
            return inputs.year_to_date_attainment(self.measure)
        return inputs.attainment(self.measure)

    def is_met_exact(self, inputs: PeriodInputs) -> bool:
        """Whether the gate is open (a missing quota keeps it closed)."""
        a = self.attainment_exact(inputs)
        return a is not None and a >= D(self.min_attainment)

    def is_met_arrays(self, inputs: ArrayInputs) -> np.ndarray:
        """Boolean array: gate open."""
        if self.span == "year_to_date":
            c, q = inputs.year_to_date(self.measure)
        else:
            q = inputs.quota_of(self.measure)
            c = inputs.credited_of(self.measure)
        # credited >= min * quota avoids a division and matches the exact comparison
        return (q > 0) & reached(c, q, self.min_attainment)


class Component(BaseModel):
    """Base class of every plan component.

    Subclasses set ``kind`` ("earning" or "modifier"), implement
    :meth:`_raw_exact`, :meth:`_raw_arrays`, :meth:`measures_used` and may extend
    :meth:`check` with semantic validation.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type_name: ClassVar[str] = ""
    kind: ClassVar[str] = "earning"

    type: str = Field(..., description="Registered component type name.")
    name: str = Field(..., description="Unique name of the component within the plan.")
    description: str = Field("", description="What the component rewards, in words.")
    weight: Fraction | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of the target incentive (fraction); component target = weight * TI.",
    )
    cap_multiple: Fraction | None = Field(
        None, description="Cap as a multiple of the component target (e.g. 3.0 = 300%)."
    )
    cap_amount: float | None = Field(
        None, description="Cap in currency per measurement period (times periods for YTD)."
    )
    gate: Gate | None = Field(None, description="Hurdle on another measure.")

    # -- to implement --------------------------------------------------------------------
    def measures_used(self) -> list[str]:
        """Measures whose credited values the component reads (gate excluded)."""
        raise NotImplementedError

    def main_measure(self) -> str | None:
        """Measure shown on statement lines."""
        m = self.measures_used()
        return m[0] if m else None

    def _raw_exact(self, inputs: PeriodInputs, target: Decimal) -> tuple[Decimal, dict[str, Any]]:
        """Unrounded amount and explanation fields (``rate``, ``segment``, ``steps``)."""
        raise NotImplementedError

    def _raw_arrays(self, inputs: ArrayInputs, target: np.ndarray) -> np.ndarray:
        """Unrounded amounts as a float64 array."""
        raise NotImplementedError

    def check(self, measures: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Semantic problems as ``(field path relative to the component, message)``."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for m in self.measures_used():
            if m not in measures:
                problems.append(
                    (
                        self._measure_field(m),
                        f"unknown measure {m!r} (plan measures: "
                        f"{', '.join(sorted(measures)) or 'none'})",
                    )
                )
        if self.gate is not None:
            if self.gate.measure not in measures:
                problems.append((("gate", "measure"), f"unknown measure {self.gate.measure!r}"))
            if self.gate.min_attainment < 0:
                problems.append((("gate", "min_attainment"), "must be >= 0"))
            for key in ("min_attainment", "otherwise_cap_attainment"):
                msg = attainment_problem(getattr(self.gate, key))
                if msg:
                    problems.append((("gate", key), msg))
        if self.cap_multiple is not None and self.cap_multiple < 1:
            problems.append(
                (
                    ("cap_multiple",),
                    f"cap below target: {self.cap_multiple} < 1.0 "
                    "(a cap must allow at least the target payout)",
                )
            )
        if self.cap_amount is not None and self.cap_amount < 0:
            problems.append((("cap_amount",), "must be >= 0"))
        return problems

    def _measure_field(self, measure: str) -> tuple[str | int, ...]:
        return ("measure",)

    # -- shared evaluation ---------------------------------------------------------------
    def target_of(self, target_incentive: Decimal) -> Decimal:
        """Component target incentive (currency): ``weight * target_incentive``."""
        return D(self.weight) * target_incentive if self.weight is not None else ZERO

    def _cap_exact(self, target: Decimal, periods: int) -> Decimal | None:
        caps = []
        if self.cap_multiple is not None and self.weight is not None:
            caps.append(round_cents(D(self.cap_multiple) * target))
        if self.cap_amount is not None:
            caps.append(round_cents(D(self.cap_amount) * periods))
        return min(caps) if caps else None

    def evaluate_exact(self, inputs: PeriodInputs) -> ComponentResult:
        """Exact earned amount for one rep and span, with its explanation.

        Parameters
        ----------
        inputs : PeriodInputs
            Credited values, quotas and target incentive (currency).

        Returns
        -------
        ComponentResult
            ``earned`` is rounded to the cent, ``ROUND_HALF_UP``.
        """
        target = self.target_of(inputs.target_incentive)
        gate_text = ""
        eval_inputs = inputs
        closed = False
        if self.gate is not None:
            g = self.gate
            ga = g.attainment_exact(inputs)
            shown = "no quota" if ga is None else f"{ga * 100:.2f}%"
            if g.span == "year_to_date":
                shown += " year to date"
            if g.is_met_exact(inputs):
                gate_text = f"met ({g.measure} {shown} >= {g.min_attainment:.0%})"
            elif g.otherwise_cap_attainment is not None:
                cap_a = D(g.otherwise_cap_attainment)
                eval_inputs = inputs.with_credited(
                    {
                        m: min(inputs.credited_of(m), cap_a * inputs.quota_of(m))
                        for m in self.measures_used()
                    }
                )
                gate_text = (
                    f"not met ({g.measure} {shown} < {g.min_attainment:.0%}): attainment "
                    f"capped at {g.otherwise_cap_attainment:.0%}"
                )
            else:
                closed = True
                gate_text = f"not met ({g.measure} {shown} < {g.min_attainment:.0%}): pays nothing"
        m = self.main_measure()
        info: dict[str, Any]
        if closed:
            raw, info = ZERO, {"segment": "gate closed"}
        else:
            raw, info = self._raw_exact(eval_inputs, target)
        cap = self._cap_exact(target, inputs.periods)
        capped = cap is not None and raw > cap
        earned = round_cents(cap if cap is not None and capped else raw)
        return ComponentResult(
            component=self.name,
            type=self.type,
            measure=m,
            credited=inputs.credited_of(m) if m and m in inputs.credited else None,
            quota=inputs.quota_of(m) if m and m in inputs.quota else None,
            attainment=inputs.attainment(m) if m else None,
            target=target,
            raw=raw,
            earned=earned,
            capped=capped,
            gate=gate_text,
            **info,
        )

    def evaluate_arrays(self, inputs: ArrayInputs) -> np.ndarray:
        """Vectorised earned amounts (currency, rounded to the cent), same rules as exact."""
        w = 0.0 if self.weight is None else self.weight
        target = w * np.asarray(inputs.target_incentive, dtype=np.float64)
        eval_inputs = inputs
        open_mask = None
        if self.gate is not None:
            g = self.gate
            open_mask = g.is_met_arrays(inputs)
            if g.otherwise_cap_attainment is not None:
                ca = g.otherwise_cap_attainment
                eval_inputs = inputs.with_credited(
                    {
                        m: np.where(
                            open_mask,
                            inputs.credited_of(m),
                            np.minimum(inputs.credited_of(m), ca * inputs.quota_of(m)),
                        )
                        for m in self.measures_used()
                    }
                )
                open_mask = None
        raw = self._raw_arrays(eval_inputs, target)
        if open_mask is not None:
            raw = np.where(open_mask, raw, 0.0)
        if self.cap_multiple is not None and self.weight is not None:
            raw = np.minimum(raw, round_cents_array(self.cap_multiple * target))
        if self.cap_amount is not None:
            raw = np.minimum(raw, round_cents_array(self.cap_amount * np.asarray(inputs.periods)))
        return round_cents_array(raw)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (YAML-ready) that :func:`component_from_dict` reads back."""
        dump = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
        return {"type": self.type, "name": self.name, **dump}


def component_from_dict(data: Mapping[str, Any]) -> Component:
    """Build a component from a mapping with a registered ``type:``.

    Raises
    ------
    KeyError
        If the type is not registered (message lists the known types).
    pydantic.ValidationError
        If fields are missing or of the wrong type.
    """
    t = data.get("type")
    cls = COMPONENT_TYPES.get(str(t))
    if cls is None:
        raise KeyError(
            f"unknown component type {t!r} (known: {', '.join(sorted(COMPONENT_TYPES))})"
        )
    return cls.model_validate(dict(data))
