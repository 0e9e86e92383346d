"""Money arithmetic shared by the exact and vectorised engines.

Rounding rule (documented once, used everywhere)
------------------------------------------------
Every earned amount is rounded to the cent with ``ROUND_HALF_UP`` (ties away
from zero: 0.005 -> 0.01, -0.005 -> -0.01), once per component line, after the
component's own cap and gate; totals are sums of rounded lines. The exact
engine divides once, at the end of each line (amount = target x num / den), so
an exact half-cent tie such as 4,619.025 is never lost to a rounded attainment.

The vectorised engine applies the same rule on float64, treating a value within
a relative 2e-14 of a half-cent tie as the tie (float arithmetic lands ties a few
ulp, about 1e-15 relative, either side). It therefore agrees with the exact
engine to the cent, except for a value that lies genuinely within 2e-14
(relative) of a half cent without being one: there it may round the other way
by one cent (probability about 4e-14 x amount in cents per value, e.g. 1 in
10 million for 1,000,000.00).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import numpy as np

CENT = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")

_TIE_RTOL = 2e-14


def D(value: Any) -> Decimal:
    """Convert ``value`` to :class:`~decimal.Decimal` without binary float noise.

    Floats go through ``repr`` (shortest round-trip text), so ``0.1`` becomes
    ``Decimal("0.1")``, not ``0.1000000000000000055...``.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (float, np.floating)):
        # float() first: repr(np.float64(0.5)) is "np.float64(0.5)" under numpy 2
        return _float_decimal(float(value))
    if isinstance(value, (np.integer,)):
        return Decimal(int(value))
    return Decimal(value)


@lru_cache(maxsize=65536)
def _float_decimal(value: float) -> Decimal:
    # plan numbers (rates, bounds, weights) are converted again and again: cache them
    return Decimal(repr(value))


def round_cents(value: Decimal) -> Decimal:
    """Round a money amount to the cent, ``ROUND_HALF_UP``.

    Units: currency.
    """
    return D(value).quantize(CENT, rounding=ROUND_HALF_UP)


def round_cents_array(x: np.ndarray | float) -> np.ndarray:
    """Vectorised :func:`round_cents` on float64 (ties away from zero).

    A value within a relative 2e-14 of a half-cent tie is treated as the tie, so
    float noise such as ``49.954999999999998`` (exactly 49.955 in decimal) rounds
    like the exact engine.

    Units: currency.
    """
    x = np.asarray(x, dtype=np.float64)
    c = np.abs(x) * 100.0
    r = np.floor(c + 0.5 + _TIE_RTOL * np.maximum(c, 1.0))
    return np.copysign(r, x) / 100.0


def pct(x: Decimal | float) -> str:
    """Format a fraction as a short percentage: ``Decimal("1.25")`` -> ``"125%"``."""
    return f"{float(x) * 100:.10g}%"
