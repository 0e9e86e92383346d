"""Fiscal periods: parsing, vectorised labels, spans."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spm_model.data.periods import (
    fiscal_year_of,
    parse_period,
    period_labels,
    periods_between,
    periods_in_fiscal_year,
)


@pytest.mark.parametrize(
    ("label", "fy", "canon", "start", "end"),
    [
        ("2025", 1, "2025", "2025-01-01", "2025-12-31"),
        ("FY2025", 1, "2025", "2025-01-01", "2025-12-31"),
        ("2025-Q3", 1, "2025-Q3", "2025-07-01", "2025-09-30"),
        ("2025q3", 1, "2025-Q3", "2025-07-01", "2025-09-30"),
        ("2025-07", 1, "2025-07", "2025-07-01", "2025-07-31"),
        ("2024-02", 1, "2024-02", "2024-02-01", "2024-02-29"),
        ("2026", 2, "2026", "2025-02-01", "2026-01-31"),
        ("2026-Q1", 2, "2026-Q1", "2025-02-01", "2025-04-30"),
        ("2026-Q4", 2, "2026-Q4", "2025-11-01", "2026-01-31"),
        ("2025-Q1", 7, "2025-Q1", "2024-07-01", "2024-09-30"),
    ],
)
def test_parse_period(label, fy, canon, start, end):
    p = parse_period(label, fy)
    assert p.label == canon
    assert p.start == dt.date.fromisoformat(start)
    assert p.end == dt.date.fromisoformat(end)
    assert p.days == (p.end - p.start).days + 1


@pytest.mark.parametrize("bad", ["2025-Q5", "2025-13", "25-Q1", "Q3", "", "2025-00", "2025/07"])
def test_bad_period_labels(bad):
    with pytest.raises(ValueError, match="not a period label"):
        parse_period(bad)


def test_bad_fiscal_start_month():
    with pytest.raises(ValueError, match="fy_start_month"):
        parse_period("2025", 13)
    with pytest.raises(ValueError, match="fy_start_month"):
        period_labels(pd.Series(pd.to_datetime(["2025-01-01"])), "quarter", 0)


def test_period_labels_all_frequencies_and_missing_dates():
    d = pd.Series(pd.to_datetime(["2025-01-31", None, "2025-02-01", "2025-12-31"]))
    assert period_labels(d, "month").tolist() == ["2025-01", None, "2025-02", "2025-12"]
    assert period_labels(d, "quarter").tolist() == ["2025-Q1", None, "2025-Q1", "2025-Q4"]
    assert period_labels(d, "quarter", 2).tolist() == ["2025-Q4", None, "2026-Q1", "2026-Q4"]
    assert period_labels(d, "year", 2).tolist() == ["2025", None, "2026", "2026"]
    assert period_labels(pd.DatetimeIndex([]), "month").tolist() == []


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)),
    fy=st.integers(1, 12),
    freq=st.sampled_from(["month", "quarter", "year"]),
)
def test_label_of_a_date_is_the_period_containing_it(day, fy, freq):
    (label,) = period_labels(pd.DatetimeIndex([pd.Timestamp(day)]), freq, fy)
    span = parse_period(label, fy)
    assert span.start <= day <= span.end
    assert span.fiscal_year == fiscal_year_of(span.start, fy)


@pytest.mark.parametrize("fy", [1, 2, 4, 7, 10])
def test_fiscal_year_splits_into_contiguous_periods(fy):
    year = parse_period("2025", fy)
    for freq, n in (("quarter", 4), ("month", 12)):
        ps = periods_in_fiscal_year(2025, freq, fy)
        assert len(ps) == n
        assert ps[0].start == year.start and ps[-1].end == year.end
        for a, b in itertools.pairwise(ps):
            assert b.start == a.end + dt.timedelta(days=1)
        assert all(p.fiscal_year == 2025 for p in ps)
        assert [parse_period(p.label, fy) for p in ps] == ps


def test_periods_between_partial_span():
    ps = periods_between(dt.date(2024, 11, 15), dt.date(2025, 2, 3), "month")
    assert [p.label for p in ps] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    qs = periods_between(dt.date(2024, 11, 15), dt.date(2025, 2, 3), "quarter", 2)
    assert [q.label for q in qs] == ["2025-Q4", "2026-Q1"]


def test_period_labels_scale():
    d = pd.Series(pd.date_range("2020-01-01", periods=500_000, freq="h"))
    labels = period_labels(d, "quarter")
    last = d.iloc[-1]
    assert labels.dtype == object and len(labels) == len(d)
    assert labels[0] == "2020-Q1" and labels[-1] == f"{last.year}-Q{(last.month - 1) // 3 + 1}"
    assert len(np.unique(labels)) == (last.year - 2020) * 4 + (last.month - 1) // 3 + 1
