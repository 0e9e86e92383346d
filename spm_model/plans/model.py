"""The :class:`Plan` model: metadata, target incentive, measures, components and settings.

A plan is a pydantic v2 model; :func:`spm_model.plans.load_plan` builds one from
YAML with line-accurate errors, :meth:`Plan.from_dict` from a mapping, and
:meth:`Plan.to_dict` / :meth:`Plan.to_yaml` write it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    field_validator,
    model_validator,
)

from spm_model.plans.components.base import (
    ArrayInputs,
    Component,
    ComponentResult,
    PeriodInputs,
    Step,
    component_from_dict,
)
from spm_model.plans.components.multiplier import Multiplier
from spm_model.plans.money import ZERO, D, round_cents, round_cents_array
from spm_model.plans.percent import Fraction
from spm_model.plans.sequencing import (
    DrawPeriod,
    TrueUpPeriod,
    apply_draws_arrays,
    apply_draws_exact,
    true_up_arrays,
    true_up_exact,
)

Frequency = Literal["month", "quarter", "year"]
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


# -- settings --------------------------------------------------------------------------------
class Measure(BaseModel):
    """A measure the plan pays on, and where its values come from.

    ``source`` tells the calculation which data produce the credited values:

    * ``credit``: credited transaction amounts of products whose
      ``products.measure`` equals ``data_measure`` (default: the measure name),
      optionally only ``product_families``; with ``rollup: true`` the team
      roll-up credit (managers);
    * ``margin``: the credited ``transactions.margin`` of those products;
    * ``units``: credited ``transactions.units``;
    * ``activities``: number of ``activities`` of the given ``activity_kinds``
      logged by the rep (count measure);
    * ``pipeline``: amount of ``opportunities`` created in the period that the rep
      owns or sourced (one of their meetings in ``activities`` carries the
      opportunity's id, as an SDR's booked meeting does).

    Quotas come from the ``quotas`` table (``quota_measure``, default the name)
    unless ``fixed_quota`` gives one per measurement period or ``quota_ratio_of``
    / ``quota_ratio`` derive it from another measure's quota (see
    :meth:`Plan.resolve_quotas`).
    """

    model_config = ConfigDict(extra="forbid")

    unit: Literal["money", "count"] = Field("money", description="Currency amounts or counts.")
    source: Literal["credit", "margin", "units", "activities", "pipeline"] = Field(
        "credit", description="Data the credited values come from."
    )
    data_measure: str | None = Field(None, description="products.measure value (default: name).")
    product_families: list[str] | None = Field(None, description="Only these product families.")
    activity_kinds: list[str] | None = Field(None, description="For source activities.")
    rollup: bool = Field(False, description="Team roll-up credit (first-line managers).")
    quota_measure: str | None = Field(None, description="Measure name in the quotas table.")
    fixed_quota: float | None = Field(None, ge=0, description="Quota per measurement period.")
    quota_ratio_of: str | None = Field(
        None, description="Quota is quota_ratio times the quota of this other plan measure."
    )
    quota_ratio: Fraction | None = Field(
        None, gt=0, description="Ratio for quota_ratio_of (e.g. 0.7: margin target 70% of revenue)."
    )
    description: str = Field("", description="What the measure counts.")


class PayMix(BaseModel):
    """Split of on-target earnings between base salary and variable pay (fractions)."""

    model_config = ConfigDict(extra="forbid")

    base: Fraction = Field(..., ge=0, le=1, description="Base salary share of OTE.")
    variable: Fraction = Field(..., ge=0, le=1, description="Target incentive share of OTE.")


class TotalCap(BaseModel):
    """Cap on the total incentive of a measurement period (times periods for YTD)."""

    model_config = ConfigDict(extra="forbid")

    multiple_of_target: Fraction | None = Field(
        None, description="Multiple of the target incentive."
    )
    amount: float | None = Field(None, ge=0, description="Currency per measurement period.")


class TrueUp(BaseModel):
    """Year-to-date true-up settings (cumulative plans)."""

    model_config = ConfigDict(extra="forbid")

    negative: Literal["carry_forward", "recover"] = Field(
        "carry_forward",
        description="A negative true-up is carried into later periods or recovered at once.",
    )


class DrawSettings(BaseModel):
    """Draw against future earnings, for a number of pay periods (usually new hires)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["recoverable", "non_recoverable"] = Field(..., description="Draw kind.")
    amount: float | None = Field(None, ge=0, description="Currency per pay period.")
    fraction_of_target: Fraction | None = Field(
        None,
        ge=0,
        le=1,
        description="Alternatively: fraction of the pay-period target incentive (0.5 or '50%'; "
        "at most the whole target: 50 is refused, not read as 5000%).",
    )
    periods: int = Field(..., ge=1, description="Number of pay periods with a draw.")
    starts: Literal["hire_date", "plan_start"] = Field(
        "hire_date", description="Window starts at the rep's hire or at the plan's effective date."
    )
    recover_after_window: bool = Field(True, description="Keep recovering after the window.")


class ClawbackSettings(BaseModel):
    """Cancellations within ``window_days`` (or ``window_months``) of booking reverse credit.

    ``pro_rata`` reverses the share of the window left: days left of
    ``window_days``, or whole months left of ``window_months`` (booked 15 January,
    cancelled 15 July: 6 of 12 months stayed, half reversed).
    """

    model_config = ConfigDict(extra="forbid")

    window_days: int | None = Field(
        None, ge=0, description="Days after booking a cancellation claws back."
    )
    window_months: int | None = Field(
        None, ge=1, description="Alternatively: calendar months after booking."
    )
    method: Literal["full", "pro_rata"] = Field("full", description="Full or pro rata reversal.")

    @model_validator(mode="after")
    def _one_window(self) -> ClawbackSettings:
        if (self.window_days is None) == (self.window_months is None):
            raise ValueError("give exactly one of window_days or window_months")
        return self


class ProrationSettings(BaseModel):
    """Mid-period changes (plan, quota, territory, hire, leave) prorated by days."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["days", "none"] = Field("days", description="Prorate by calendar days.")
    apply_to: list[Literal["quota", "target_incentive"]] = Field(
        default_factory=lambda: ["quota", "target_incentive"],  # type: ignore[arg-type]
        description="What is prorated.",
    )
    quota_rows: Literal["full_period", "as_employed"] = Field(
        "full_period",
        description=(
            "What a quota row holds. 'full_period': the quota of a rep employed the whole "
            "period, prorated by days for hires, leavers and plan changes. 'as_employed': "
            "already the quota for the days the rep is employed in the period (what `spm "
            "quota` and the generator write: a hire's first quarter is set for the weeks "
            "after the hire), so only a move between plans prorates it; prorating a hire's "
            "row again would count the hire twice."
        ),
    )


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanResult:
    """Exact payout of one plan for one rep and span (one period, or year to date).

    Parameters
    ----------
    lines : tuple of ComponentResult
        One line per earning component, then one per multiplier adjustment.
    subtotal : Decimal
        Sum of the lines (currency).
    total_cap : Decimal or None
        Total cap of the span, if any.
    total : Decimal
        ``min(subtotal, total_cap)`` (currency, cents).
    target_incentive : Decimal
        Target incentive of the span.
    """

    lines: tuple[ComponentResult, ...]
    subtotal: Decimal
    total_cap: Decimal | None
    total: Decimal
    target_incentive: Decimal

    @property
    def capped(self) -> bool:
        """Whether the total cap reduced the payout."""
        return self.total < self.subtotal

    def by_component(self) -> dict[str, Decimal]:
        """Earned amount per line name."""
        return {r.component: r.earned for r in self.lines}

    def explain(self) -> str:
        """Readable explanation of every line and the total."""
        parts = [r.explain() for r in self.lines]
        tail = f"subtotal {self.subtotal:,.2f}"
        if self.total_cap is not None:
            tail += f"; total cap {self.total_cap:,.2f}"
        tail += f"; total {self.total:,.2f}"
        return "\n".join([*parts, tail])


@dataclass(frozen=True)
class PeriodOutcome:
    """Exact outcome of one measurement period in a multi-period run (currency).

    ``result`` is the plan evaluated on the period (or on the year to date for a
    cumulative plan); ``earned`` its total; ``due`` what the period adds after
    true-up. Draw fields are set on the last measurement period of each pay
    period (zero elsewhere) and ``payable`` is the net pay of that pay period.
    """

    index: int
    result: PlanResult
    earned: Decimal
    true_up: TrueUpPeriod | None
    due: Decimal
    pay_period_end: bool
    pay_due: Decimal = ZERO
    draw: DrawPeriod | None = None

    @property
    def payable(self) -> Decimal:
        """Net pay at the end of this period (0 if it does not close a pay period)."""
        if not self.pay_period_end:
            return ZERO
        return self.draw.payable if self.draw is not None else self.pay_due


@dataclass
class PayoutArrays:
    """Vectorised payout of one span: ``total`` and per-line arrays (currency, cents)."""

    total: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)
    subtotal: np.ndarray | None = None


# -- the plan --------------------------------------------------------------------------------
def _number_as_text(value: Any) -> Any:
    """Read a version written as a YAML number (2, 1.1) as its text ('1.10' needs quotes)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


class Plan(BaseModel):
    """A compensation plan.

    See ``templates/plans/*.yaml`` for documented examples and the package
    docstring of :mod:`spm_model.plans` for the semantics of every field.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., description="Plan identifier (matches reps.plan_id).")
    name: str = Field(..., description="Display name.")
    version: Annotated[str, BeforeValidator(_number_as_text)] = Field(
        "1", description="Plan version (text; a number such as 2 or 1.1 is read as its text)."
    )
    description: str = Field("", description="What the plan is for.")
    currency: str = Field("USD", min_length=3, max_length=3, description="ISO 4217 code.")
    effective_from: date = Field(..., description="First day the plan applies.")
    effective_to: date | None = Field(None, description="Last day (inclusive); open if empty.")
    fy_start_month: int = Field(1, ge=1, le=12, description="First month of the fiscal year.")
    measurement_period: Frequency = Field("quarter", description="Period results are measured on.")
    pay_frequency: Frequency = Field("quarter", description="How often incentives are paid.")
    cumulative: bool = Field(False, description="Measure year to date and true up each period.")
    true_up: TrueUp = Field(
        default_factory=lambda: TrueUp.model_validate({}), description="True-up settings."
    )
    ote: float | None = Field(None, ge=0, description="Annual on-target earnings (currency).")
    pay_mix: PayMix | None = Field(None, description="Base/variable split of OTE.")
    target_incentive: float | None = Field(
        None, ge=0, description="Annual target incentive (currency); default ote * variable."
    )
    measures: dict[str, Measure] = Field(..., min_length=1, description="Measures paid on.")
    components: list[SerializeAsAny[Component]] = Field(
        ..., description="Components (at least one)."
    )
    cap: TotalCap | None = Field(None, description="Cap on the total incentive.")
    draw: DrawSettings | None = Field(None, description="Draw settings.")
    clawback: ClawbackSettings | None = Field(None, description="Clawback settings.")
    proration: ProrationSettings = Field(
        default_factory=lambda: ProrationSettings.model_validate({}), description="Proration."
    )

    @field_validator("components", mode="before")
    @classmethod
    def _build_components(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [component_from_dict(c) if isinstance(c, Mapping) else c for c in v]
        return v

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Plan:
        """Build and validate a plan from a mapping (:class:`PlanError` lists every problem)."""
        from spm_model.plans.loader import plan_from_data

        return plan_from_data(data, source=source)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (YAML/JSON-ready) that :meth:`from_dict` reads back to an equal plan."""
        out = self.model_dump(mode="json", exclude_none=True, exclude={"components"})
        out["components"] = [c.to_dict() for c in self.components]
        return out

    def to_yaml(self) -> str:
        """Return the plan as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    # -- lookups -------------------------------------------------------------------------
    @property
    def earning_components(self) -> list[Component]:
        """Components that earn money (everything but multipliers)."""
        return [c for c in self.components if c.kind == "earning"]

    @property
    def multipliers(self) -> list[Multiplier]:
        """Multiplier components."""
        return [c for c in self.components if isinstance(c, Multiplier)]

    def component(self, name: str) -> Component:
        """Return the component called ``name``."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def measure_weights(self) -> dict[str, float]:
        """Share of the target incentive per measure (weights of weighted components)."""
        out: dict[str, float] = {}
        for c in self.earning_components:
            if c.weight is not None:
                key = c.main_measure() or c.name
                out[key] = out.get(key, 0.0) + c.weight
        return out

    @property
    def periods_per_year(self) -> int:
        """Measurement periods per fiscal year."""
        return PERIODS_PER_YEAR[self.measurement_period]

    @property
    def periods_per_pay(self) -> int:
        """Measurement periods per pay period (1 when paid as often as measured)."""
        return PERIODS_PER_YEAR[self.measurement_period] // PERIODS_PER_YEAR[self.pay_frequency]

    def annual_target_incentive(self, ote: Decimal | float | None = None) -> Decimal:
        """Annual target incentive (currency).

        Parameters
        ----------
        ote : Decimal or float, optional
            The rep's own annual OTE; with the plan's pay mix it gives the rep's
            target incentive. Default: the plan's ``target_incentive``, else
            ``ote * pay_mix.variable``.
        """
        if ote is not None:
            variable = D(self.pay_mix.variable) if self.pay_mix else Decimal(1)
            return round_cents(D(ote) * variable)
        if self.target_incentive is not None:
            return D(self.target_incentive)
        if self.ote is not None and self.pay_mix is not None:
            return round_cents(D(self.ote) * D(self.pay_mix.variable))
        return ZERO

    def period_target_incentive(self, ote: Decimal | float | None = None) -> Decimal:
        """Target incentive of one measurement period (annual / periods per year, cents)."""
        return round_cents(self.annual_target_incentive(ote) / self.periods_per_year)

    def period_quota(self, measure: str) -> Decimal | None:
        """Return the fixed quota per measurement period of ``measure``, if any."""
        fq = self.measures[measure].fixed_quota
        return None if fq is None else D(fq)

    def resolve_quotas(
        self, table_quotas: Mapping[str, Decimal], periods: int = 1
    ) -> dict[str, Decimal]:
        """Quota of every plan measure from the quotas-table values of the rep and span.

        Parameters
        ----------
        table_quotas : mapping str -> Decimal
            Quota amounts keyed by the quotas-table measure name, for the span.
        periods : int
            Measurement periods in the span (fixed quotas are per period).

        Returns
        -------
        dict str -> Decimal
            ``fixed_quota * periods``, or ``quota_ratio * quota of quota_ratio_of``,
            or the table value of ``quota_measure`` (default the measure name; 0
            when absent).
        """
        out: dict[str, Decimal] = {}
        for name, m in self.measures.items():
            if m.fixed_quota is not None:
                out[name] = D(m.fixed_quota) * periods
            elif m.quota_ratio_of is None:
                out[name] = D(table_quotas.get(m.quota_measure or name, ZERO))
        for name, m in self.measures.items():
            if m.quota_ratio_of is not None and m.fixed_quota is None:
                out[name] = round_cents(D(m.quota_ratio or 0) * out.get(m.quota_ratio_of, ZERO))
        return out

    def resolve_quota_arrays(
        self, table_quotas: Mapping[str, np.ndarray], periods: float | np.ndarray = 1.0
    ) -> dict[str, np.ndarray]:
        """Vectorised :meth:`resolve_quotas` (missing table measures give 0)."""
        out: dict[str, np.ndarray] = {}
        for name, m in self.measures.items():
            if m.fixed_quota is not None:
                out[name] = np.asarray(m.fixed_quota * np.asarray(periods), dtype=np.float64)
            elif m.quota_ratio_of is None:
                out[name] = np.asarray(
                    table_quotas.get(m.quota_measure or name, 0.0), dtype=np.float64
                )
        for name, m in self.measures.items():
            if m.quota_ratio_of is not None and m.fixed_quota is None:
                out[name] = round_cents_array(
                    (m.quota_ratio or 0.0) * out.get(m.quota_ratio_of, 0.0)
                )
        return out

    # -- exact evaluation ----------------------------------------------------------------
    def _total_cap_exact(self, ti: Decimal, periods: int) -> Decimal | None:
        if self.cap is None:
            return None
        caps = []
        if self.cap.multiple_of_target is not None:
            caps.append(round_cents(D(self.cap.multiple_of_target) * ti))
        if self.cap.amount is not None:
            caps.append(round_cents(D(self.cap.amount) * periods))
        return min(caps) if caps else None

    @property
    def needs_deals(self) -> bool:
        """Whether a component reads the span's deals (SPIFs, commissions tiered per deal)."""
        return any(
            c.type == "spif" or getattr(c, "per", "period") == "deal" for c in self.components
        )

    @property
    def needs_year_to_date(self) -> bool:
        """Whether a gate reads year-to-date attainment of a plan measured period by period."""
        return not self.cumulative and any(
            c.gate is not None and c.gate.span == "year_to_date" for c in self.components
        )

    def evaluate_exact(self, inputs: PeriodInputs) -> PlanResult:
        """Exact payout for one rep and span.

        Parameters
        ----------
        inputs : PeriodInputs
            Credited values, quotas, target incentive of the span (currency).

        Returns
        -------
        PlanResult
            Lines rounded to the cent (ROUND_HALF_UP), multiplier adjustments,
            subtotal and total after the total cap.
        """
        lines = [c.evaluate_exact(inputs) for c in self.earning_components]
        earned = {r.component: r.earned for r in lines}
        for m in self.multipliers:
            targets = m.applies_to or list(earned)
            base = sum((earned[n] for n in targets if n in earned), ZERO)
            f, seg = m.factor_exact(inputs)
            adj = (f - 1) * base
            lines.append(
                ComponentResult(
                    component=m.name,
                    type=m.type,
                    measure=m.measure,
                    credited=inputs.credited_of(m.measure),
                    quota=inputs.quota_of(m.measure),
                    attainment=inputs.attainment(m.measure),
                    target=ZERO,
                    raw=adj,
                    earned=round_cents(adj),
                    rate=f,
                    segment=seg,
                    steps=(Step(f"{seg} on {', '.join(targets)}", base, f - 1, adj),),
                )
            )
        subtotal = sum((r.earned for r in lines), ZERO)
        cap = self._total_cap_exact(inputs.target_incentive, inputs.periods)
        total = min(subtotal, cap) if cap is not None else subtotal
        return PlanResult(tuple(lines), subtotal, cap, total, inputs.target_incentive)

    def evaluate_periods_exact(
        self,
        inputs: Sequence[PeriodInputs],
        *,
        draws: Sequence[Decimal] | None = None,
        opening_balance: Decimal = ZERO,
        paid_before: Decimal = ZERO,
    ) -> list[PeriodOutcome]:
        """Exact multi-period run over consecutive measurement periods of one fiscal year.

        Parameters
        ----------
        inputs : sequence of PeriodInputs
            Per-period (not cumulative) inputs, in order, starting at the first
            period of the fiscal year for a cumulative plan.
        draws : sequence of Decimal, optional
            Draw guarantee per **pay** period (0 outside the window); default from
            the plan's draw settings applied from the first pay period
            (:meth:`draw_amounts`). Pass zeros for reps without a draw; draws
            passed to a plan without draw settings are treated as recoverable.
        opening_balance : Decimal
            Draw balance carried in (negative = owed).
        paid_before : Decimal
            Incentive already paid this fiscal year before ``inputs[0]`` (true-up).

        Returns
        -------
        list of PeriodOutcome
        """
        results = []
        for t in range(len(inputs)):
            if self.cumulative:
                span = accumulate_inputs(inputs[: t + 1])
            elif self.needs_year_to_date:
                span = with_year_to_date(inputs[: t + 1])
            else:
                span = inputs[t]
            results.append(self.evaluate_exact(span))
        earned = [r.total for r in results]
        k = self.periods_per_pay
        n_pay = (len(inputs) + k - 1) // k
        ends = [min((i + 1) * k, len(inputs)) - 1 for i in range(n_pay)]
        if self.cumulative:
            # trued up when paid: at each pay period's end, the year to date less what was
            # paid (a dip inside a pay period is not carried forward, nothing was paid then)
            tu_pay = true_up_exact([earned[e] for e in ends], self.true_up.negative, paid_before)
            tu: list[TrueUpPeriod | None] = [None] * len(earned)
            due = [ZERO] * len(earned)
            for e, x in zip(ends, tu_pay, strict=True):
                tu[e], due[e] = x, x.due
        else:
            tu = [None] * len(earned)
            due = earned
        pay_due = [sum(due[i * k : (i + 1) * k], ZERO) for i in range(n_pay)]
        if draws is None:
            draws = self.draw_amounts(
                n_pay, [inputs[min(i * k, len(inputs) - 1)].target_incentive for i in range(n_pay)]
            )
        draw_rows: list[DrawPeriod | None]
        if any(d > 0 for d in draws) or opening_balance:
            # explicit draws on a plan without draw settings are recoverable
            draw_rows = list(
                apply_draws_exact(
                    pay_due,
                    draws,
                    recoverable=self.draw is None or self.draw.kind == "recoverable",
                    recover_after_window=self.draw is None or self.draw.recover_after_window,
                    opening_balance=opening_balance,
                )
            )
        else:
            draw_rows = [None] * n_pay
        out = []
        for t in range(len(inputs)):
            end = (t + 1) % k == 0 or t == len(inputs) - 1
            p = t // k
            out.append(
                PeriodOutcome(
                    t,
                    results[t],
                    earned[t],
                    tu[t],
                    due[t],
                    end,
                    pay_due[p] if end else ZERO,
                    draw_rows[p] if end else None,
                )
            )
        return out

    def draw_amounts(
        self, n_pay_periods: int, pay_target_incentive: Sequence[Decimal] | None = None
    ) -> list[Decimal]:
        """Draw guarantee per pay period from the plan's settings (0 without a draw).

        Parameters
        ----------
        n_pay_periods : int
            Number of pay periods from the start of the window.
        pay_target_incentive : sequence of Decimal, optional
            Target incentive per measurement period, for ``fraction_of_target``.
        """
        if self.draw is None:
            return [ZERO] * n_pay_periods
        out = []
        for t in range(n_pay_periods):
            if t >= self.draw.periods:
                out.append(ZERO)
            elif self.draw.amount is not None:
                out.append(D(self.draw.amount))
            else:
                ti = pay_target_incentive[t] if pay_target_incentive else ZERO
                out.append(
                    round_cents(D(self.draw.fraction_of_target or 0) * ti * self.periods_per_pay)
                )
        return out

    # -- vectorised evaluation -----------------------------------------------------------
    def payout_arrays(
        self,
        credited: Mapping[str, np.ndarray],
        quota: Mapping[str, np.ndarray],
        target_incentive: np.ndarray | float | None = None,
        *,
        extras: Mapping[str, np.ndarray] | None = None,
        periods: np.ndarray | float = 1.0,
        components: bool = True,
        ytd_credited: Mapping[str, np.ndarray] | None = None,
        ytd_quota: Mapping[str, np.ndarray] | None = None,
    ) -> PayoutArrays:
        """Vectorised payout of one span, same semantics as :meth:`evaluate_exact`.

        Parameters
        ----------
        credited, quota : mapping str -> ndarray
            Per measure, arrays broadcasting to a common shape (reps x scenarios,
            ...). Currency (or units for count measures).
        target_incentive : ndarray or float, optional
            Target incentive of the span (currency); default the plan's period TI.
        extras : mapping str -> ndarray, optional
            MBO scores (``"<component>.<objective>"``) and SPIF counts (component name).
        periods : ndarray or float
            Measurement periods covered (for per-period cap amounts).
        components : bool
            Also return the per-line arrays.
        ytd_credited, ytd_quota : mapping str -> ndarray, optional
            Year-to-date values for gates measured year to date (without them the
            span is its own year to date; :meth:`payout_arrays_periods` passes them).

        Returns
        -------
        PayoutArrays
            ``total`` and, when asked, ``components`` (currency, cents).
        """
        ti = float(self.period_target_incentive()) if target_incentive is None else target_incentive
        ai = ArrayInputs(
            {k: np.asarray(v, dtype=np.float64) for k, v in credited.items()},
            {k: np.asarray(v, dtype=np.float64) for k, v in quota.items()},
            np.asarray(ti, dtype=np.float64),
            {k: np.asarray(v, dtype=np.float64) for k, v in (extras or {}).items()},
            periods,
            None
            if ytd_credited is None
            else {k: np.asarray(v, float) for k, v in ytd_credited.items()},
            None if ytd_quota is None else {k: np.asarray(v, float) for k, v in ytd_quota.items()},
        )
        lines: dict[str, np.ndarray] = {}
        subtotal: np.ndarray | float = 0.0
        for c in self.earning_components:
            v = c.evaluate_arrays(ai)
            lines[c.name] = v
            subtotal = subtotal + v
        earned_only = dict(lines)
        for m in self.multipliers:
            targets = m.applies_to or list(earned_only)
            base = sum((earned_only[n] for n in targets if n in earned_only), 0.0)
            adj = round_cents_array((m.factor_arrays(ai) - 1.0) * base)
            lines[m.name] = adj
            subtotal = subtotal + adj
        subtotal = np.asarray(subtotal, dtype=np.float64)
        total = subtotal
        if self.cap is not None:
            t = np.asarray(ai.target_incentive)
            if self.cap.multiple_of_target is not None:
                total = np.minimum(total, round_cents_array(self.cap.multiple_of_target * t))
            if self.cap.amount is not None:
                total = np.minimum(total, round_cents_array(self.cap.amount * np.asarray(periods)))
        total = round_cents_array(total)  # sums of cents: removes float dust
        return PayoutArrays(total, lines if components else {}, subtotal)

    def payout_arrays_periods(
        self,
        credited: Mapping[str, np.ndarray],
        quota: Mapping[str, np.ndarray],
        target_incentive: np.ndarray | float | None = None,
        *,
        extras: Mapping[str, np.ndarray] | None = None,
        draws: np.ndarray | None = None,
        opening_balance: np.ndarray | float = 0.0,
        paid_before: np.ndarray | float = 0.0,
        on_plan: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Vectorised multi-period run; arrays have the period axis **last**.

        Same semantics as :meth:`evaluate_periods_exact`: per-period inputs are
        accumulated year to date for cumulative plans and trued up; measurement
        periods are summed into pay periods; draws are applied per pay period.

        Parameters
        ----------
        credited, quota : mapping str -> ndarray
            Per-period (not cumulative) values, shape ``(..., P)``.
        target_incentive : ndarray or float, optional
            Target incentive per measurement period (default the plan's).
        extras : mapping str -> ndarray, optional
            Per-period MBO scores / SPIF counts, shape ``(..., P)``.
        draws : ndarray, optional
            Draw per pay period, shape broadcasting to ``(..., P_pay)``; default
            from the plan's draw settings from the first pay period.
        opening_balance, paid_before : ndarray or float
            Draw balance carried in; incentive paid before the first period.
        on_plan : ndarray of bool, optional
            Whether the rep is on the plan in each period, shape ``(..., P)``
            (default: every period): year to date, per-period cap amounts count
            only those periods (as :func:`accumulate_inputs`).

        Returns
        -------
        dict of ndarray
            ``earned`` (per period, or YTD for cumulative plans), ``due`` (per
            period after true-up), and per pay period ``pay_due``, ``payable``,
            ``advance``, ``recovery``, ``balance``.
        """
        n_per = next(iter(credited.values())).shape[-1]
        ti = self.period_target_incentive() if target_incentive is None else target_incentive
        ti_a = np.asarray(ti, dtype=np.float64)
        if ti_a.ndim == 0 or ti_a.shape[-1] != n_per:
            ti_a = ti_a[..., None] * np.ones(n_per)
        c = {k: np.asarray(v, dtype=np.float64) for k, v in credited.items()}
        q = {k: np.asarray(v, dtype=np.float64) * np.ones(n_per) for k, v in quota.items()}
        ex = {k: np.asarray(v, dtype=np.float64) for k, v in (extras or {}).items()}
        periods: np.ndarray | float = 1.0
        ti_per = ti_a
        if self.cumulative:
            c = {k: np.cumsum(v, axis=-1) for k, v in c.items()}
            q = {k: np.cumsum(v, axis=-1) for k, v in q.items()}
            ti_a = np.cumsum(ti_a, axis=-1)
            ex = {k: (v if "." in k else np.cumsum(v, axis=-1)) for k, v in ex.items()}
            periods = (
                np.arange(1, n_per + 1, dtype=np.float64)
                if on_plan is None
                else np.cumsum(np.asarray(on_plan, dtype=np.float64), axis=-1)
            )
        ytd: dict[str, Any] = {}
        if self.needs_year_to_date:
            ytd = {
                "ytd_credited": {k: np.cumsum(v, axis=-1) for k, v in c.items()},
                "ytd_quota": {k: np.cumsum(v, axis=-1) for k, v in q.items()},
            }
        res = self.payout_arrays(c, q, ti_a, extras=ex, periods=periods, components=False, **ytd)
        earned = res.total
        k = self.periods_per_pay
        n_pay = (n_per + k - 1) // k
        if self.cumulative:  # trued up at pay-period ends (see evaluate_periods_exact)
            ends = np.minimum((np.arange(n_pay) + 1) * k, n_per) - 1
            due = np.zeros_like(earned)
            due[..., ends] = true_up_arrays(earned[..., ends], self.true_up.negative, paid_before)
        else:
            due = earned
        pad = n_pay * k - n_per
        padded = np.concatenate([due, np.zeros((*due.shape[:-1], pad))], axis=-1) if pad else due
        pay_due = round_cents_array(padded.reshape((*due.shape[:-1], n_pay, k)).sum(axis=-1))
        if draws is None:
            window = (np.arange(n_pay) < (self.draw.periods if self.draw else 0)).astype(float)
            if self.draw is None:
                draws = np.zeros(n_pay)
            elif self.draw.amount is not None:
                draws = self.draw.amount * window
            else:
                frac = self.draw.fraction_of_target or 0.0
                draws = round_cents_array(frac * ti_per[..., ::k] * k) * window
        out = {"earned": earned, "due": due, "pay_due": pay_due}
        if np.any(np.asarray(draws) > 0) or np.any(np.asarray(opening_balance) != 0):
            d = apply_draws_arrays(
                pay_due,
                draws,
                recoverable=self.draw is None or self.draw.kind == "recoverable",
                recover_after_window=self.draw is None or self.draw.recover_after_window,
                opening_balance=opening_balance,
            )
            out.update(d)
        else:
            zeros = np.zeros_like(pay_due)
            # opening_balance has the leading shape (no period axis): broadcast it per period
            ob = np.asarray(opening_balance, dtype=np.float64)[..., None]
            out.update(payable=pay_due, advance=zeros, recovery=zeros, balance=zeros + ob)
        return out


def with_year_to_date(inputs: Sequence[PeriodInputs]) -> PeriodInputs:
    """Return the last period's inputs with the year-to-date sums of ``inputs`` (for gates).

    ``inputs`` are per-period inputs from the fiscal year's first period; the
    result is ``inputs[-1]`` with ``ytd_credited`` and ``ytd_quota`` set.
    """
    acc = accumulate_inputs(inputs)
    return replace(inputs[-1], ytd_credited=acc.credited, ytd_quota=acc.quota)


def accumulate_inputs(inputs: Sequence[PeriodInputs]) -> PeriodInputs:
    """Sum per-period inputs into year-to-date inputs.

    Credited values, quotas, target incentives and SPIF counts are summed, deals
    concatenated, the latest MBO scores kept and ``periods`` summed (each input's
    ``periods``: 1, or 0 for a period the rep is not on the plan, so per-period cap
    amounts count only the periods worked).
    """
    credited: dict[str, Decimal] = {}
    quota: dict[str, Decimal] = {}
    counts: dict[str, Decimal] = {}
    ti = ZERO
    deals: list = []
    for x in inputs:
        for k, v in x.credited.items():
            credited[k] = credited.get(k, ZERO) + v
        for k, v in x.quota.items():
            quota[k] = quota.get(k, ZERO) + v
        for k, v in x.counts.items():
            counts[k] = counts.get(k, ZERO) + v
        ti += x.target_incentive
        deals.extend(x.deals)
    scores = dict(inputs[-1].scores) if inputs else {}
    return PeriodInputs(credited, quota, ti, scores, counts, deals, sum(x.periods for x in inputs))
