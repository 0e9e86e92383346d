"""Reps behind pace get the reasons their scorecards give (handmade cards)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from spm_model.performance import behind_pace


def _card() -> pd.DataFrame:
    # five AEs: win-rate median 0.30, activities median 100 a month
    return pd.DataFrame(
        {
            "rep_id": ["A", "B", "C", "D", "E", "M"],
            "name": ["Ann", "Bob", "Cat", "Dan", "Eve", "Max"],
            "role": ["AE", "AE", "AE", "AE", "AE", "MANAGER"],
            "attainment": [0.20, 0.30, 0.40, 0.90, 0.50, 0.45],
            "pace": [0.40, 0.60, 0.80, 1.20, 0.95, 0.90],
            "coverage_weighted": [0.5, 2.0, 1.5, 3.0, 0.9, math.nan],
            "win_rate": [0.30, 0.20, 0.30, 0.35, 0.10, math.nan],
            "won_deals": [3, 4, 6, 7, 1, 0],
            "lost_deals": [7, 16, 14, 13, 3, 0],
            "activities_per_month": [100, 110, 60, 100, 90, math.nan],
        }
    )


def test_each_rep_behind_pace_gets_the_figures_that_explain_it():
    out = behind_pace(_card()).set_index("rep_id")
    # slowest first; D is ahead of pace and not listed
    assert list(out.index) == ["A", "B", "C", "M", "E"]
    # A: the pipeline cannot close the gap
    assert out.at["A", "why"] == (
        "Weighted pipeline covers 0.50x of the quota left: too little to catch up without new deals."
    )
    # B: 20% of 20 closed deals against the AE median 30% (20% < 0.75 x 30%)
    assert out.at["B", "why"] == "Win rate 20% against 30% for the AE role here."
    # C: 60 activities a month against the median 100 (below 75%)
    assert out.at["C", "why"] == "60 activities a month against 100 for the role."
    # E: 10% win rate on 4 closed deals is too few to name; pipeline 0.9x is
    assert out.at["E", "why"].startswith("Weighted pipeline covers 0.90x")
    assert "win rate" not in out.at["E", "why"].lower()
    # M: nothing measured against the quota: says so rather than inventing a reason
    assert out.at["M", "why"] == "No pipeline measure for this rep's quota."


def test_a_rep_with_pipeline_and_peer_level_rates_is_a_timing_gap():
    card = _card()
    card.loc[card["rep_id"] == "A", "coverage_weighted"] = 1.8
    out = behind_pace(card).set_index("rep_id")
    assert out.at["A", "why"] == (
        "Weighted pipeline covers 1.80x of the quota left: the deals have yet to close."
    )


def test_flag_reasons_come_first():
    flags = pd.DataFrame({"rep_id": ["B", "B"], "reason": ["First flag.", "Second flag."]})
    out = behind_pace(_card(), flags).set_index("rep_id")
    assert out.at["B", "why"] == (
        "First flag. Second flag. Win rate 20% against 30% for the AE role here."
    )
    assert out.at["A", "why"].startswith("Weighted pipeline")


def test_thresholds_are_parameters_and_checked():
    out = behind_pace(_card(), ratio=0.5).set_index("rep_id")
    assert "Win rate" not in out.at["B", "why"]  # 20% is not below half of 30%
    out = behind_pace(_card(), min_closed=4).set_index("rep_id")
    assert "win rate 10% against 30%" in out.at["E", "why"]
    with pytest.raises(ValueError, match="ratio"):
        behind_pace(_card(), ratio=0)


def test_nobody_behind_or_no_pace_column_is_an_empty_table():
    card = _card().assign(pace=1.5)
    assert behind_pace(card).empty
    assert list(behind_pace(card.drop(columns="pace")).columns) == [
        "rep_id",
        "name",
        "attainment",
        "pace",
        "why",
    ]
