"""Acceptance: backtest of every method on the sample company (FY2025 held out)."""

from __future__ import annotations

import pandas as pd
import pytest

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


def test_probabilistic_share_at_quota_within_five_points_of_aim(bt):
    t = bt.table.set_index("method")
    assert t.loc["probabilistic", "aim"] == 0.65
    assert abs(t.loc["probabilistic", "share_at_quota"] - 0.65) <= 0.05


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
