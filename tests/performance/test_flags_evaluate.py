"""Scoring coaching flags against planted patterns: a hand-made case."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from spm_model.performance.evaluate import score_flags


def _case() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    # ten owners (A1..A10), a manager M1 and an SDR S1
    card = pd.DataFrame(
        {
            "rep_id": [f"A{i}" for i in range(1, 11)] + ["M1", "S1"],
            "role": ["AE"] * 6 + ["AM"] * 2 + ["FIELD"] * 2 + ["MANAGER", "SDR"],
        }
    )
    truth = pd.DataFrame(
        {
            "rep_id": ["A1", "A1", "A2", "A3", "A4", "A5"],
            "pattern": [
                "high_activity_low_win",
                "high_activity_low_win",  # second effect row of the same rep
                "under_worked",
                "sandbagging",
                "under_worked",
                "high_discount",  # A5 is too new to be judged
            ],
        }
    )
    flags = pd.DataFrame(
        {
            "rep_id": ["A1", "A2", "A2", "A3", "A9", "M1", "S1"],
            "flag": [
                "activity_without_wins",
                "chronic_thin_pipeline",  # a planted rep found by another flag
                "high_discount",
                "sandbagging",
                "under_worked_territory",  # a false alarm
                "team_behind",  # managers are not counted
                "sandbagging",  # nor other roles
            ],
        }
    )
    months = pd.Series(24.0, index=card["rep_id"])
    months["A5"] = 2.0
    return flags, truth, card, months


def test_score_flags_handmade() -> None:
    flags, truth, card, months = _case()
    s = score_flags(flags, truth, card, months, min_months=3.0)
    assert s.owners == 10
    assert s.flagged == 4  # A1, A2, A3, A9
    assert s.flagged_share == pytest.approx(0.4)
    assert s.true_positives == 3
    assert s.precision == pytest.approx(0.75)
    assert s.planted == 4  # A1..A4; A5 has 2 months
    assert s.planted_unjudged == 1
    assert s.found == 3
    assert s.recall == pytest.approx(0.75)
    by = s.by_pattern
    assert by.loc["under_worked", "planted"] == 2
    assert by.loc["under_worked", "hits"] == 1
    assert by.loc["under_worked", "matched"] == 0  # A2 found by other flags
    assert by.loc["sandbagging", ["planted", "hits", "matched"]].tolist() == [1, 1, 1]
    assert by.loc["high_discount", "planted"] == 0
    row = s.as_row()
    assert row["under_worked"] == "1/2"
    assert row["thin_pipeline"] == "0/0"


def test_score_flags_without_months_and_flags() -> None:
    _, truth, card, _ = _case()
    s = score_flags(pd.DataFrame(columns=["rep_id", "flag"]), truth, card)
    assert s.flagged == 0
    assert math.isnan(s.precision)
    assert s.planted == 5
    assert s.recall == 0.0
