"""Acceptance: backtest of every method on the sample company (FY2025 held out)."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.quota import backtest, truncate_dataset


@pytest.fixture(scope="module")
def bt(sample):
    return backtest(sample, 2025)


def test_backtest_table_shows_every_method(bt):
    assert list(bt.table["method"]) == [
        "history",
        "run_rate",
        "potential",
        "capacity",
        "blend",
        "probabilistic",
    ]
    assert {"share_at_quota", "attainment_cv", "attainment_iqr", "mae", "wape"} <= set(
        bt.table.columns
    )
    assert (bt.table["pairs"] >= 55).all()


def test_blend_and_probabilistic_are_less_dispersed_than_history(bt):
    t = bt.table.set_index("method")
    for m in ("blend", "probabilistic"):
        assert t.loc[m, "attainment_cv"] < t.loc["history", "attainment_cv"]
        assert t.loc[m, "attainment_iqr"] < t.loc["history", "attainment_iqr"]


def test_probabilistic_share_at_quota_near_its_aim(bt):
    t = bt.table.set_index("method")
    assert t.loc["probabilistic", "aim"] == pytest.approx(0.65)
    # bottom-up, the company's own growth error moves everyone (FY2025 beat the learnt growth):
    # new business 0.786 reached on 28 pairs whether or not renewals are read from the book
    # due; all pairs 0.750 before the book, 0.783 with it (60 pairs: one pair is 0.017)
    assert abs(t.loc["probabilistic", "share_at_quota"] - 0.65) <= 0.15


def test_equal_chance_quotas_with_a_target_reach_the_solved_chance(sample):
    """Issue 14: with the year's real total as target and 10% over-assignment.

    As measured on the generated companies: a target on every measure, stated against
    reached over all pairs (0.400 against 0.433; 0.413 before the chance was stated
    given the target). New business alone, 28 pairs, states 0.391 and reaches 0.464
    (0.432 before): 3 of its 31 reps left during FY2025 where the history's leaving
    rate expected 1.7; with the leaving that happened it would state 0.419.
    """
    res = backtest(sample, 2025, ["probabilistic"], target="actual", over_assign=0.1)
    t = res.table.iloc[0]
    nb = res.by_measure.set_index("measure").loc["new_business"]
    assert 0.2 < nb["aim"] < 0.65  # over-assigned against the real total: below the default aim
    assert abs(t["share_at_quota"] - t["aim"]) <= 0.07
    d = res.detail[res.detail["measure"] == "new_business"]
    assert d["chance"].to_numpy() == pytest.approx(nb["aim"], abs=1e-4)
    # a target on one measure leaves the others bottom-up at the aim
    one = backtest(
        sample, 2025, ["probabilistic"], target="actual", measure="new_business", over_assign=0.1
    )
    bm = one.by_measure.set_index("measure")
    assert bm.loc["new_business", "aim"] == pytest.approx(nb["aim"], abs=1e-6)
    assert bm.loc["renewal", "aim"] == pytest.approx(0.65)


def test_stated_chance_is_scored_for_every_method(bt):
    t = bt.table.set_index("method")
    assert t["brier"].notna().all() and t["brier_base_rate"].notna().all()
    # the history method's per-rep chance knows something about who reaches quota
    assert t.loc["history", "brier"] < t.loc["history", "brier_base_rate"]
    # a common chance cannot beat the base rate: its Brier is the base rate's + squared gap
    gap = t.loc["probabilistic", "share_at_quota"] - 0.65
    assert t.loc["probabilistic", "brier"] == pytest.approx(
        t.loc["probabilistic", "brier_base_rate"] + gap**2, abs=2e-3
    )
    rel = bt.reliability
    assert set(rel["method"]) == set(t.index)
    assert rel.groupby("method")["cases"].sum().to_dict() == t["pairs"].to_dict()


def test_population_is_whole_year_reps_with_a_quota_on_the_measure(sample, bt):
    d = bt.detail[bt.detail["method"] == "history"]
    reps = sample.reps.set_index("rep_id")
    assert (reps.loc[d["rep_id"], "hire_date"] <= pd.Timestamp("2025-01-01")).all()
    end = reps.loc[d["rep_id"], "end_date"]
    assert (end.isna() | (end >= pd.Timestamp("2025-12-31"))).all()
    assert "MANAGER" not in set(reps.loc[d["rep_id"], "role"])


def test_truncation_hides_the_future(sample):
    past = truncate_dataset(sample, "2024-12-31")
    assert past.transactions["date"].max() <= pd.Timestamp("2024-12-31")
    assert (past.reps["hire_date"] <= pd.Timestamp("2024-12-31")).all()
    assert past.reps["end_date"].dropna().max() <= pd.Timestamp("2024-12-31")


def test_a_measure_without_history_is_left_out_when_asked():
    # a 12-person company over two years: no one sold services before FY2025
    from spm_model.data.synthetic import generate

    ds = generate(n_reps=12, n_accounts=100, years=2, seed=97)
    with pytest.raises(SpmDataError, match="measure 'services': no rep has history"):
        backtest(ds, 2025, ["history"])
    res = backtest(ds, 2025, ["history"], unset="skip")
    assert res.notes == ["measure 'services': no rep has history before FY2025; left out"]
    assert "services" not in set(res.detail["measure"]) and len(res.detail) > 0
    with pytest.raises(SpmConfigError, match="unset must be"):
        backtest(ds, 2025, ["history"], unset="drop")
