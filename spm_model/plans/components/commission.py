"""Commission: flat, per-measure or tiered rates on amounts or on attainment."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from spm_model.plans.components.base import (
    ArrayInputs,
    Component,
    PeriodInputs,
    Step,
    register_component,
)
from spm_model.plans.money import ZERO, D, pct
from spm_model.plans.percent import (
    Fraction,
    attainment_problem,
    is_percent_text,
    money_rate_problem,
)
from spm_model.plans.vector import band_index, piecewise_linear


def _fmt_bound(x: Decimal, basis: str) -> str:
    return pct(x) if basis == "attainment" else f"{x:,.2f}"


def _spec_field(spec: Any, name: str, default: Any) -> Any:
    """Read a measure's setting from the plan's raw mapping (checks run on it) or a Measure."""
    return spec.get(name, default) if isinstance(spec, Mapping) else getattr(spec, name, default)


class Tier(BaseModel):
    """One commission tier ``[from, to)``; ``to`` omitted on the last (open) tier.

    Bounds are currency (or units) for ``basis: amount`` and attainment fractions
    (1.0 = 100% of quota) for ``basis: attainment``.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Fraction = Field(..., alias="from", description="Lower bound (inclusive).")
    to: Fraction | None = Field(None, description="Upper bound (exclusive); omit on the last tier.")
    rate: Fraction = Field(
        ...,
        description="Rate: fraction of the amount (or currency per unit for count measures); "
        "with rate_basis=bcr, a multiple of the base commission rate.",
    )
    label: str = Field("", description="Name shown on statements (e.g. 'accelerator').")
    _percent_bounds: bool = PrivateAttr(False)

    @model_validator(mode="wrap")
    @classmethod
    def _note_percent_bounds(cls, data: Any, handler: Any) -> Tier:
        """Remember bounds written as percentages (attainments: amount tiers refuse them)."""
        written = isinstance(data, Mapping) and any(
            is_percent_text(data.get(k)) for k in ("from", "from_", "to")
        )
        tier = handler(data)
        tier._percent_bounds = written
        return tier


@register_component("commission")
class Commission(Component):
    """Commission on credited amounts.

    Forms
    -----
    * flat: ``measure`` + ``rate``;
    * per measure (or per product, with one measure per product family): ``rates``
      ``{measure: rate}``;
    * tiered: ``measure`` + ``tiers`` with ``basis`` (``amount`` or ``attainment``)
      and ``method``: ``marginal`` (each tier's rate on its slice) or
      ``retroactive`` (the reached tier's rate on everything).

    Rates are fractions of the credited amount (currency per unit for count
    measures). With ``rate_basis: bcr`` they are multiples of the base commission
    rate ``BCR = weight * target_incentive / quota``, so 1.0 pays the component
    target at 100% attainment.

    Negative credited amounts (net cancellations) earn the first tier's rate.
    Attainment tiers need a quota > 0; without one the component earns nothing.

    With ``per: deal`` (amount tiers or a flat rate, absolute rates) every deal
    credited to the measure in the span is tiered on its own and the results
    added up: deals of 200, 300 and 1,500 against 1% to 1,000 and 2% above earn
    2 + 3 + (10 + 10) = 25, where the period's total of 2,000 would earn 30. A
    cancellation (a negative deal) earns the first tier's rate. Without deals in
    the inputs (a period evaluated from totals: ``check-plan``'s payout table) the
    total counts as one deal; simulations, which draw period totals, refuse it.
    """

    type: Literal["commission"] = "commission"
    measure: str | None = Field(None, description="Measure paid on (flat or tiered forms).")
    rate: Fraction | None = Field(None, description="Flat rate (see class doc for units).")
    rates: dict[str, Fraction] | None = Field(None, description="Flat rate per measure.")
    tiers: list[Tier] | None = Field(None, description="Tiers, contiguous from 0, last open.")
    basis: Literal["amount", "attainment"] = Field(
        "amount", description="Tier bounds in currency/units (amount) or attainment fractions."
    )
    method: Literal["marginal", "retroactive"] = Field(
        "marginal",
        description="marginal: each slice at its rate; retroactive: all at reached rate.",
    )
    rate_basis: Literal["absolute", "bcr"] = Field(
        "absolute", description="absolute rates, or multiples of the base commission rate."
    )
    per: Literal["period", "deal"] = Field(
        "period",
        description="Apply the rate or tiers to the period's credited total (default), or to "
        "each deal's credited amount separately and add them up (a rate table processed "
        "transaction by transaction).",
    )

    def measures_used(self) -> list[str]:
        """Measures paid on."""
        if self.rates:
            return list(self.rates)
        return [self.measure] if self.measure else []

    def _measure_field(self, measure: str) -> tuple[str | int, ...]:
        return ("rates", measure) if self.rates else ("measure",)

    # -- validation ----------------------------------------------------------------------
    def check(self, measures: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Form, tier contiguity, rate signs, BCR prerequisites."""
        p = super().check(measures)
        forms = [self.rate is not None, bool(self.rates), bool(self.tiers)]
        if sum(forms) != 1:
            p.append(((), "give exactly one of 'rate', 'rates' or 'tiers'"))
        if (self.rate is not None or self.tiers) and not self.measure:
            p.append((("measure",), "'measure' is required with 'rate' or 'tiers'"))
        if self.rates and self.measure:
            p.append(
                (("measure",), "use either 'measure' with 'rate'/'tiers' or 'rates', not both")
            )
        if self.rate is not None and self.rate < 0:
            p.append((("rate",), f"negative rate {self.rate}"))
        for m, r in (self.rates or {}).items():
            if r < 0:
                p.append((("rates", m), f"negative rate {r}"))
        p += self._check_money_rates(measures)
        if self.rate_basis == "bcr" and self.weight is None:
            p.append(
                (("rate_basis",), "rate_basis 'bcr' needs a 'weight' (share of target incentive)")
            )
        if self.rate_basis == "bcr" and self.rates:
            p.append((("rate_basis",), "rate_basis 'bcr' cannot be used with per-measure 'rates'"))
        if self.tiers:
            p += self._check_tiers()
        if self.per == "deal":
            if self.rates or self.basis != "amount" or self.rate_basis != "absolute":
                p.append(
                    (
                        ("per",),
                        "per: deal takes a 'measure' with a flat 'rate' or amount tiers "
                        "(basis: amount) and absolute rates",
                    )
                )
            spec = measures.get(self.measure) if self.measure else None
            if spec is not None:
                src = _spec_field(spec, "source", "credit")
                rollup = _spec_field(spec, "rollup", False)
                if src != "credit" or rollup:
                    p.append(
                        (
                            ("per",),
                            f"per: deal needs a measure credited deal by deal (source: credit, "
                            f"not rolled up); {self.measure!r} is not",
                        )
                    )
        return p

    def _check_money_rates(
        self, measures: Mapping[str, Any]
    ) -> list[tuple[tuple[str | int, ...], str]]:
        """Refuse a rate above 1 on a money measure (a percentage written as a bare number)."""
        if self.rate_basis != "absolute":
            return []

        def is_money(m: str | None) -> bool:
            spec = measures.get(m) if m is not None else None
            if spec is None:
                return False
            unit = _spec_field(spec, "unit", "money")
            return unit == "money"

        rates: list[tuple[tuple[str | int, ...], float, str]] = []
        if self.rate is not None and self.measure:
            rates.append((("rate",), self.rate, self.measure))
        rates += [(("rates", m), r, m) for m, r in (self.rates or {}).items()]
        if self.measure:
            rates += [
                (("tiers", i, "rate"), t.rate, self.measure) for i, t in enumerate(self.tiers or [])
            ]
        p: list[tuple[tuple[str | int, ...], str]] = []
        for path, rate, m in rates:
            msg = money_rate_problem(rate, m) if is_money(m) else None
            if msg:
                p.append((path, msg))
        return p

    def _check_tiers(self) -> list[tuple[tuple[str | int, ...], str]]:
        p: list[tuple[tuple[str | int, ...], str]] = []
        tiers = self.tiers or []
        for i, t in enumerate(tiers):
            if self.basis == "amount" and t._percent_bounds:
                p.append(
                    (
                        ("tiers", i, "from"),
                        "tier bounds written as percentages are attainments: add "
                        "'basis: attainment' (amount tiers are in currency or units)",
                    )
                )
            elif self.basis == "attainment":
                for key, v in (("from", t.from_), ("to", t.to)):
                    msg = attainment_problem(v)
                    if msg:
                        p.append((("tiers", i, key), msg))
        if tiers[0].from_ != 0:
            p.append((("tiers", 0, "from"), f"first tier must start at 0, not {tiers[0].from_:g}"))
        for i, t in enumerate(tiers):
            if t.rate < 0:
                p.append((("tiers", i, "rate"), f"negative rate {t.rate}"))
            if t.to is not None and t.to <= t.from_:
                p.append(
                    (
                        ("tiers", i, "to"),
                        f"tier upper bound {t.to:g} must exceed its lower bound {t.from_:g}",
                    )
                )
            if i + 1 < len(tiers):
                nxt = tiers[i + 1].from_
                if t.to is None:
                    p.append((("tiers", i, "to"), "only the last tier may be open-ended (no 'to')"))
                elif nxt < t.to:
                    p.append(
                        (
                            ("tiers", i + 1, "from"),
                            f"overlapping tiers: tier {i + 1} starts at "
                            f"{nxt:g}, before tier {i} ends at {t.to:g}",
                        )
                    )
                elif nxt > t.to:
                    p.append(
                        (
                            ("tiers", i + 1, "from"),
                            f"gap between tiers: tier {i} ends at "
                            f"{t.to:g}, tier {i + 1} starts at {nxt:g} (a tier is [from, "
                            f"to): write to: {nxt:g})",
                        )
                    )
            elif t.to is not None:
                p.append(
                    (
                        ("tiers", i, "to"),
                        "the last tier must be open-ended (omit 'to'); use "
                        "cap_amount or cap_multiple to cap earnings",
                    )
                )
        return p

    # -- exact ---------------------------------------------------------------------------
    def _raw_exact(self, inputs: PeriodInputs, target: Decimal) -> tuple[Decimal, dict[str, Any]]:
        if self.rates:
            steps = []
            total = ZERO
            for m, rate in self.rates.items():
                c = inputs.credited_of(m)
                amt = c * D(rate)
                total += amt
                steps.append(Step(f"{m} at {rate:g}", c, D(rate), amt))
            return total, {"steps": tuple(steps), "segment": "per-measure rates"}
        assert self.measure is not None
        if self.per == "deal":
            return self._per_deal_exact(inputs)
        # BCR rates are multiples of target / quota: keep that ratio as (num, den) and
        # divide once at the end, so exact half-cent ties survive (no rounded rate)
        if self.rate_basis == "bcr":
            fnum, fden = target, inputs.quota_of(self.measure)
            if fden <= 0:
                return ZERO, {"segment": "no quota: BCR undefined, nothing earned"}
        else:
            fnum, fden = Decimal(1), Decimal(1)
        c = inputs.credited_of(self.measure)
        if self.rate is not None:
            r = D(self.rate) * fnum / fden
            amt = c * D(self.rate) * fnum / fden
            return amt, {
                "rate": r,
                "segment": "flat rate",
                "steps": (Step("flat rate", c, r, amt),),
            }
        tiers = self.tiers or []
        if self.basis == "attainment":
            q = inputs.quota_of(self.measure)
            if q <= 0:
                return ZERO, {"segment": "no quota: attainment tiers earn nothing"}
            scale = q
        else:
            scale = Decimal(1)
        bounds = [(D(t.from_) * scale, None if t.to is None else D(t.to) * scale) for t in tiers]
        stated = [D(t.rate) for t in tiers]
        rates = [r * fnum / fden for r in stated]  # effective rates, for display
        # index of the tier reached (first tier for negative amounts)
        reached = 0
        for i, (lo, _hi) in enumerate(bounds):
            if c >= lo:
                reached = i
        name = tiers[reached].label or f"tier {reached + 1}"
        seg = f"{name}: {self._tier_text(tiers[reached])}"
        if self.method == "retroactive":
            amt = c * stated[reached] * fnum / fden
            return amt, {
                "rate": rates[reached],
                "segment": seg,
                "steps": (Step(f"{seg} (retroactive, on all)", c, rates[reached], amt),),
            }
        steps = []
        weighted = ZERO  # sum of slice x stated rate
        if c < 0:
            weighted = c * stated[0]
            label = f"{tiers[0].label or 'tier 1'} (negative amount)"
            steps.append(Step(label, c, rates[0], weighted * fnum / fden))
        else:
            for i, ((lo, hi), r) in enumerate(zip(bounds, stated, strict=True)):
                top = c if hi is None else min(c, hi)
                slice_ = top - lo
                if slice_ <= 0:
                    break
                weighted += slice_ * r
                steps.append(
                    Step(
                        f"{tiers[i].label or f'tier {i + 1}'}: {self._tier_text(tiers[i])}",
                        slice_,
                        rates[i],
                        slice_ * r * fnum / fden,
                    )
                )
        total = weighted * fnum / fden
        return total, {"rate": rates[reached], "segment": seg, "steps": tuple(steps)}

    def _tier_text(self, t: Tier) -> str:
        return _tier_text_cached(t.from_, t.to, self.basis)

    def _one_deal_exact(self, amount: Decimal) -> Decimal:
        """Earnings of one amount on its own (flat rate, marginal or retroactive amount tiers)."""
        if self.rate is not None:
            return amount * D(self.rate)
        tiers = self.tiers or []
        stated = [D(t.rate) for t in tiers]
        if amount < 0:
            return amount * stated[0]
        if self.method == "retroactive":
            reached = max(i for i, t in enumerate(tiers) if amount >= D(t.from_))
            return amount * stated[reached]
        out = ZERO
        for t, r in zip(tiers, stated, strict=True):
            lo = D(t.from_)
            top = amount if t.to is None else min(amount, D(t.to))
            if top <= lo:
                break
            out += (top - lo) * r
        return out

    def _per_deal_exact(self, inputs: PeriodInputs) -> tuple[Decimal, dict[str, Any]]:
        deals = [d for d in inputs.deals if d.measure == self.measure]
        if not deals and not inputs.deals:  # evaluated from totals: the total is one deal
            c = inputs.credited_of(self.measure or "")
            amt = self._one_deal_exact(c)
            rate = amt / c if c else None
            return amt, {
                "segment": "per deal (the period's total as one deal: no deals given)",
                "steps": (Step("period total as one deal", c, rate, amt),),
            }
        steps = []
        total = ZERO
        for d in deals:
            amt = self._one_deal_exact(d.amount)
            total += amt
            rate = amt / d.amount if d.amount else None
            steps.append(Step(f"deal {d.txn_id} of {d.date}", d.amount, rate, amt))
        return total, {"segment": f"per deal ({len(deals)} deal(s))", "steps": tuple(steps)}

    # -- vectorised ----------------------------------------------------------------------
    def tier_knots(self) -> tuple[list[float], list[float]]:
        """Knots of the marginal earnings function ``E(x) = sum rate_i * slice_i(x)``.

        Returns ``(xs, ys)`` with ``xs`` the tier lower bounds (in tier units) and
        ``ys`` the cumulative earnings (per unit of ``scale``) at each bound; beyond
        the last bound the slope is the last tier's rate, below 0 the first's.
        """
        tiers = self.tiers or []
        xs = [t.from_ for t in tiers]
        ys = [0.0]
        for t, nxt in itertools.pairwise(tiers):
            ys.append(ys[-1] + t.rate * (nxt.from_ - t.from_))
        return xs, ys

    def _raw_arrays(self, inputs: ArrayInputs, target: np.ndarray) -> np.ndarray:
        if self.rates:
            acc: np.ndarray | float = 0.0
            for m, r in self.rates.items():
                acc = acc + inputs.credited_of(m) * r
            return np.asarray(acc, dtype=np.float64)
        assert self.measure is not None
        c = np.asarray(inputs.credited_of(self.measure), dtype=np.float64)
        # per: deal on arrays sees totals only: the total counts as one deal (as the exact
        # engine does without deals); simulations refuse such plans
        if self.rate_basis == "bcr" or self.basis == "attainment":
            q = np.asarray(inputs.quota_of(self.measure), dtype=np.float64)
            ok = q > 0
            qs = np.where(ok, q, 1.0)
        factor: np.ndarray | float = target / qs if self.rate_basis == "bcr" else 1.0
        out: np.ndarray
        if self.rate is not None:
            out = c * (self.rate * factor)
        else:
            tiers = self.tiers or []
            x = c / qs if self.basis == "attainment" else c
            if self.method == "retroactive":
                idx = band_index(
                    c, qs if self.basis == "attainment" else 1.0, [t.from_ for t in tiers]
                )
                r = np.asarray([t.rate for t in tiers])[np.maximum(idx, 0)]
                out = c * r * factor
            else:
                xs, ys = self.tier_knots()
                e = piecewise_linear(
                    x, xs, ys, slope_before=tiers[0].rate, slope_after=tiers[-1].rate
                )
                if self.basis == "attainment":
                    e = e * qs
                out = e * factor
        if self.rate_basis == "bcr" or self.basis == "attainment":
            out = np.where(ok, out, 0.0)
        return np.asarray(out, dtype=np.float64)


@lru_cache(maxsize=4096)
def _tier_text_cached(lo_f: float, hi_f: float | None, basis: str) -> str:
    lo = _fmt_bound(D(lo_f), basis)
    hi = "and above" if hi_f is None else f"to {_fmt_bound(D(hi_f), basis)}"
    return f"{lo} {hi}"
