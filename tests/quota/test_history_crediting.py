"""Quota history is a view of the one crediting result (issue 13: no second attribution).

For every rep, measure and month the history equals the rep's direct credit read
straight from the credit rows, on the sample company and on a generated company
with another seed; meetings are counted from activities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.calc import credit_dataset
from spm_model.crediting import CreditingResult
from spm_model.data import Dataset
from spm_model.data.synthetic import generate
from spm_model.quota import HISTORY_RULES, build_history, credited_history, truncate_dataset


@pytest.fixture(scope="module")
def generated() -> Dataset:
    return generate(n_reps=24, n_accounts=400, years=3, seed=7)


def _direct_by_month(credits: CreditingResult, rules: tuple[str, ...] | None = None) -> pd.Series:
    """Direct credit per (rep, measure, month) in cents, summed from the credit rows."""
    c = credits.credits
    c = c[(c["level"] == 0).to_numpy()]
    if rules is not None:
        eff = c["source_rule"].astype(object).where(c["source_rule"].notna(), c["rule"])
        c = c[eff.isin(list(rules)).to_numpy()]
    s = c.groupby(
        [c["rep_id"].astype(str), c["measure"].astype(str), c["date"].dt.strftime("%Y-%m")]
    )["cents"].sum()
    return s[s != 0]


def _meetings_by_month(ds: Dataset) -> pd.Series:
    a = ds.activities[ds.activities["kind"] == "meeting"]
    return a.groupby([a["rep_id"].astype(str), pd.to_datetime(a["date"]).dt.strftime("%Y-%m")])[
        "activity_id"
    ].count()


def _check_history_equals_crediting(ds: Dataset, year: int) -> dict[str, float]:
    credits = credit_dataset(ds)
    h = credited_history(ds, credits)
    money = h[h["measure"] != "meetings"]
    got = (
        money.set_index(["rep_id", "measure", "period"])["amount"].mul(100).round().astype(np.int64)
    )
    got = got[got != 0]
    want = _direct_by_month(credits)
    # the quota view is the rep's whole direct credit (every rule, with its reversals)
    pd.testing.assert_series_equal(
        got.sort_index(), want.sort_index(), check_names=False, check_index_type=False
    )
    meet = h[h["measure"] == "meetings"].set_index(["rep_id", "period"])["amount"]
    wm = _meetings_by_month(ds)
    assert meet.sort_index().to_dict() == {k: float(v) for k, v in wm.sort_index().items()}
    # the planning frame carries the same numbers for every pair and exposed history month
    hist = build_history(ds, year, credits=credits)
    months = pd.PeriodIndex(
        [
            pd.Period(year=int(m // 12 + 1970), month=int(m % 12 + 1), freq="M")
            for m in hist.hist_months
        ]
    ).strftime("%Y-%m")
    full_map = {k: v / 100.0 for k, v in want.items()}
    full_map |= {(r, "meetings", p): float(v) for (r, p), v in meet.items()}
    worst = 0.0
    for i, (rep, meas) in enumerate(zip(hist.pairs["rep_id"], hist.pairs["measure"], strict=True)):
        exp = np.array([full_map.get((rep, meas, m), 0.0) for m in months])
        exp = np.where(hist.exposure[i] > 0, exp, 0.0)  # credit while not exposed is dropped
        worst = max(worst, float(np.abs(hist.amounts[i] - exp).max()))
    assert worst < 1e-6
    return {"max_abs_diff": worst, "pairs": float(hist.n_pairs), "months": float(len(months))}


def test_sample_history_equals_crediting_totals(sample):
    _check_history_equals_crediting(sample, 2026)


def test_generated_history_equals_crediting_totals(generated):
    _check_history_equals_crediting(generated, 2026)


def test_history_view_is_direct_credit_and_overlays_can_be_left_out(sample):
    credits = credit_dataset(sample)
    with_ov = credited_history(sample, credits, meetings=False)
    without = credited_history(sample, credits, overlays=False, meetings=False)
    idx = ["rep_id", "measure", "period"]
    diff = (
        (with_ov.set_index(idx)["amount"].sub(without.set_index(idx)["amount"], fill_value=0.0))
        .mul(100)
        .round()
    )
    diff = diff[diff != 0].astype(np.int64)
    ov = _direct_by_month(credits, ("overlay",))
    pd.testing.assert_series_equal(
        diff.sort_index(), ov.sort_index(), check_names=False, check_index_type=False
    )
    assert len(ov) > 0  # the sample has overlay credit, so the option is exercised
    # HISTORY_RULES name every direct rule: the view is the whole direct credit
    full = credits.totals("month", "direct", by=idx)
    view = credits.totals("month", "direct", rules=HISTORY_RULES, by=idx)
    pd.testing.assert_frame_equal(full, view)


def test_backtest_cut_equals_crediting_the_truncated_data(sample):
    cut = pd.Timestamp("2024-12-31")
    past = truncate_dataset(sample, cut)
    reused = build_history(past, 2025, credits=credit_dataset(sample).until(cut))
    again = build_history(past, 2025)  # credits the truncated data itself
    np.testing.assert_array_equal(reused.amounts, again.amounts)
    assert reused.amounts.sum() > 0
