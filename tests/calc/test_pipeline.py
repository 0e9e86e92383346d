"""Pipeline created: opportunities a rep owns or sourced (an SDR's booked meeting)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spm_model.calc import calculate
from spm_model.calc.inputs import pipeline_pairs
from spm_model.data import load_dataset
from spm_model.plans import load_plan

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.exists():
        pytest.skip("data/sample not generated")
    return load_dataset(SAMPLE)


def test_owned_and_sourced_opportunities_count_once_per_rep(sample):
    day = pd.Timestamp("2025-05-06")
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "account_id": ["A1", "A2"],
            "owner_rep_id": ["AE1", "AE1"],
            "product_id": ["P1", "P1"],
            "created_date": [day, day],
            "close_date": [day, day],
            "stage": ["won", "open"],
            "amount": [1000.0, 250.0],
            "probability": [1.0, 0.2],
            "status": ["won", "open"],
        }
    )
    acts = pd.DataFrame(
        {
            "activity_id": ["V1", "V2", "V3", "V4"],
            "rep_id": ["SDR1", "SDR1", "SDR2", "SDR2"],
            "account_id": ["A1", "A1", "A2", None],
            "opportunity_id": ["O1", "O1", "O2", None],  # two meetings on O1: counted once
            "date": [day, day, day, day],
            "kind": ["meeting", "meeting", "call", "meeting"],  # a call sources nothing
        }
    )
    got = pipeline_pairs(sample.replace(opportunities=opps, activities=acts))
    got = got.set_index(["rep_id", "opportunity_id"])["how"].to_dict()
    assert got == {("AE1", "O1"): "owned", ("AE1", "O2"): "owned", ("SDR1", "O1"): "sourced"}


def test_an_sdrs_pipeline_is_what_their_meetings_sourced(sample):
    res = calculate(load_plan(ROOT / "templates" / "plans" / "sdr.yaml"), sample, "2025-Q2")
    lines = res.lines[res.lines["component"] == "pipeline_bonus"].set_index(["rep_id", "period"])
    # by hand from the tables: the amounts of the opportunities each SDR's meetings carry,
    # by the month each opportunity was created
    a, o = sample.activities, sample.opportunities.set_index("opportunity_id")
    met = a[(a["kind"] == "meeting") & a["opportunity_id"].notna()]
    met = met[["rep_id", "opportunity_id"]].drop_duplicates()
    met = met.join(o[["created_date", "amount"]], on="opportunity_id")
    met["period"] = pd.to_datetime(met["created_date"]).dt.strftime("%Y-%m")
    by_hand = met.groupby(["rep_id", "period"])["amount"].sum()
    for key, row in lines.iterrows():
        assert row["credited"] == pytest.approx(by_hand.get(key, 0.0), abs=0.005), key
    assert (lines["earned"] > 0).sum() >= 6  # the pipeline bonus pays
