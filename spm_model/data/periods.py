"""Fiscal periods: labels, date spans and vectorised period assignment.

Labels
------
* ``"2025"`` or ``"FY2025"``: fiscal year 2025;
* ``"2025-Q3"``: third quarter of fiscal year 2025;
* ``"2025-07"``: calendar month July 2025 (months are always calendar months).

A fiscal year is named after the calendar year in which it **ends**, as pandas
does (with ``fy_start_month=2``, FY2026 runs 2025-02-01 to 2026-01-31). With the
default ``fy_start_month=1`` fiscal and calendar years coincide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

Frequency = Literal["month", "quarter", "year"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_RE_YEAR = re.compile(r"^(?:FY)?(\d{4})$")
_RE_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$")
_RE_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _pandas_freq(freq: Frequency, fy_start_month: int) -> str:
    end = _MONTHS[(fy_start_month - 2) % 12]
    return {"month": "M", "quarter": f"Q-{end}", "year": f"Y-{end}"}[freq]


@dataclass(frozen=True)
class PeriodSpan:
    """A fiscal period with its inclusive date span.

    Parameters
    ----------
    label : str
        Canonical label (``"2025"``, ``"2025-Q3"``, ``"2025-07"``).
    freq : {"month", "quarter", "year"}
        Period length.
    start, end : datetime.date
        First and last day (inclusive).
    fiscal_year : int
        Fiscal year the period belongs to.
    """

    label: str
    freq: Frequency
    start: date
    end: date
    fiscal_year: int

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


def parse_period(label: str, fy_start_month: int = 1) -> PeriodSpan:
    """Parse a period label into a :class:`PeriodSpan`.

    Raises
    ------
    ValueError
        If the label is not a year, fiscal quarter or month label.
    """
    if not 1 <= fy_start_month <= 12:
        raise ValueError(f"fy_start_month must be in 1..12, got {fy_start_month}")
    s = str(label).strip().upper()
    if m := _RE_YEAR.match(s):
        p = pd.Period(year=int(m[1]), freq=_pandas_freq("year", fy_start_month))
        freq: Frequency = "year"
        canon = m[1]
    elif m := _RE_QUARTER.match(s):
        p = pd.Period(
            year=int(m[1]), quarter=int(m[2]), freq=_pandas_freq("quarter", fy_start_month)
        )
        freq = "quarter"
        canon = f"{m[1]}-Q{m[2]}"
    elif (m := _RE_MONTH.match(s)) and 1 <= int(m[2]) <= 12:
        p = pd.Period(year=int(m[1]), month=int(m[2]), freq="M")
        freq = "month"
        canon = f"{m[1]}-{m[2]}"
    else:
        raise ValueError(
            f"not a period label: {label!r} (expected e.g. '2025', '2025-Q3' or '2025-07')"
        )
    start = p.start_time.date()
    end = p.end_time.date()
    return PeriodSpan(canon, freq, start, end, fiscal_year_of(start, fy_start_month))


def fiscal_year_of(d: date, fy_start_month: int = 1) -> int:
    """Fiscal year (named by its end year) containing date ``d``."""
    return d.year + (1 if fy_start_month != 1 and d.month >= fy_start_month else 0)


def period_labels(
    dates: pd.Series | pd.DatetimeIndex | np.ndarray, freq: Frequency, fy_start_month: int = 1
) -> np.ndarray:
    """Vectorised period label of each date.

    Parameters
    ----------
    dates : Series, DatetimeIndex or array of datetime64
        Dates to label; missing dates (NaT) get ``None``.
    freq : {"month", "quarter", "year"}
        Period length.
    fy_start_month : int
        First month of the fiscal year (1 = January).

    Returns
    -------
    numpy.ndarray of object
        Labels such as ``"2025-Q3"`` (``None`` for missing dates), one per date.
        Each distinct period is formatted once, so millions of dates are cheap.
    """
    if freq not in ("month", "quarter", "year"):
        raise ValueError(f"freq must be 'month', 'quarter' or 'year', got {freq!r}")
    if not 1 <= fy_start_month <= 12:
        raise ValueError(f"fy_start_month must be in 1..12, got {fy_start_month}")
    d = pd.DatetimeIndex(pd.to_datetime(dates)).to_numpy()
    valid = ~np.isnat(d)
    # months since 1970-01 (NaT becomes an arbitrary value, masked below)
    m = np.where(valid, d.astype("datetime64[M]").astype(np.int64), 0)
    year, month = m // 12 + 1970, m % 12 + 1
    if freq == "month":
        code = m
    else:
        fy = year + ((fy_start_month != 1) & (month >= fy_start_month)).astype(np.int64)
        code = fy * 4 + ((month - fy_start_month) % 12) // 3 if freq == "quarter" else fy
    all_valid = bool(valid.all())
    inv, uniq = pd.factorize(code if all_valid else code[valid])
    if freq == "month":
        names = [f"{u // 12 + 1970:04d}-{u % 12 + 1:02d}" for u in uniq]
    elif freq == "quarter":
        names = [f"{u // 4:04d}-Q{u % 4 + 1}" for u in uniq]
    else:
        names = [f"{u:04d}" for u in uniq]
    labels = np.array(names, dtype=object)[inv]
    if all_valid:
        return labels
    out = np.full(len(code), None, dtype=object)
    out[valid] = labels
    return out


def periods_between(
    start: date, end: date, freq: Frequency, fy_start_month: int = 1
) -> list[PeriodSpan]:
    """All periods of ``freq`` that overlap the inclusive span ``start``..``end``, in order."""
    rng = pd.period_range(
        pd.Timestamp(start), pd.Timestamp(end), freq=_pandas_freq(freq, fy_start_month)
    )
    out = []
    for p in rng:
        s = p.start_time.date()
        label = str(period_labels(pd.DatetimeIndex([p.start_time]), freq, fy_start_month)[0])
        out.append(PeriodSpan(label, freq, s, p.end_time.date(), fiscal_year_of(s, fy_start_month)))
    return out


def periods_in_fiscal_year(
    fiscal_year: int, freq: Frequency, fy_start_month: int = 1
) -> list[PeriodSpan]:
    """Return the periods of ``freq`` making up a fiscal year, in order."""
    fy = parse_period(str(fiscal_year), fy_start_month)
    return periods_between(fy.start, fy.end, freq, fy_start_month)
