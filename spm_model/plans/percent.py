"""Fractions written as percentages in plan YAML, and checks for a percent read as a fraction.

Rates, weights and attainments are fractions in a plan (0.05 is 5%, 1.2 is 120% of
quota). A value may also be written as a percentage string, ``"5%"`` or ``"12.5 %"``,
read exactly (through :class:`~decimal.Decimal`, so ``"1.1%"`` is 0.011, not
0.011000000000000001). A bare number is never rescaled: ``rate: 5`` is 500%, which
the components' checks refuse on a money measure, and an attainment of 70 (7,000%
of quota) is refused everywhere (:func:`attainment_problem`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

_PERCENT = re.compile(r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*%\s*")

#: Highest attainment (fraction of quota) a plan may name: 10.0 is 1,000% of quota. A
#: larger figure is a percentage written as a fraction's number (70 for 70%).
MAX_ATTAINMENT = 10.0


def percent_to_fraction(value: Any) -> Any:
    """``"5%"`` -> 0.05 (exactly, via Decimal); any other value unchanged."""
    if isinstance(value, str):
        m = _PERCENT.fullmatch(value)
        if m:
            try:
                return float(Decimal(m.group(1)) / 100)
            except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
                return value
    return value


def is_percent_text(value: Any) -> bool:
    """Whether ``value`` is a percentage string such as ``"70%"``."""
    return isinstance(value, str) and _PERCENT.fullmatch(value) is not None


#: A float field that also reads ``"5%"`` as 0.05.
Fraction = Annotated[float, BeforeValidator(percent_to_fraction)]


def attainment_problem(value: float | None) -> str | None:
    """Message when an attainment (fraction of quota) is a percentage's number, else None."""
    if value is None or value <= MAX_ATTAINMENT:
        return None
    return (
        f"attainment {value:g} is {value * 100:,.0f}% of quota: attainments are fractions "
        f"(write {value / 100:g} or '{value:g}%')"
    )


def money_rate_problem(rate: float, measure: str) -> str | None:
    """Message when a rate on a money measure pays more than the whole amount, else None."""
    if rate <= 1:
        return None
    return (
        f"rate {rate:g} on money measure {measure!r} pays {rate * 100:,.0f}% of the amount: "
        f"rates are fractions (write {rate / 100:g} or '{rate:g}%')"
    )
