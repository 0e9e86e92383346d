"""The statement trace names every transaction and the rule that put it on the rep."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.calc import calculate
from spm_model.crediting.examples import worked_example_dataset
from spm_model.plans import Plan


@pytest.fixture(scope="module")
def result():
    ds = worked_example_dataset()
    reps = ds.reps.copy()
    reps["plan_id"] = "flat"
    ds = ds.replace(reps=reps)
    plan = Plan.from_dict(
        {
            "id": "flat",
            "name": "Flat 10%",
            "effective_from": "2025-01-01",
            "measurement_period": "quarter",
            "pay_frequency": "quarter",
            "measures": {
                "new_business": {"source": "credit"},
                "renewal": {"source": "credit"},
                "team": {"source": "credit", "data_measure": "new_business", "rollup": True},
            },
            "components": [
                {"type": "commission", "name": "nb", "measure": "new_business", "rate": 0.10},
                {"type": "commission", "name": "rn", "measure": "renewal", "rate": 0.05},
                {"type": "commission", "name": "team", "measure": "team", "rate": 0.01},
            ],
        }
    )
    return calculate(plan, ds, "2025")


def test_trace_names_transactions_and_rules(result):
    q2 = result.explain("A1", "2025-Q2").text
    assert "split 25% of the deal: team deal" in q2  # T5
    assert "crediting exception EX2: A1 ran the proof of concept (approved by M1)" in q2  # T9
    q1 = result.explain("A1", "2025-Q1").text
    assert "owner of account C1 on 2025-02-10 (assignments row 2)" in q1  # T1
    assert "split 40% of the deal" not in q1  # T3 is services: not a measure of this plan
    q3 = result.explain("A1", "2025-Q3").text
    assert "cancellation of booking T1: reverses its owner credit" in q3
    m = result.explain("M2", "2025-Q3").text
    assert "team roll-up of A2's owner credit (1 level down)" in m
    s = result.explain("S1", "2025-Q2").text
    assert "crediting exception EX1b: SDR sourced the renewal (approved by M1)" in s


def test_trace_amounts_add_up_to_the_statement(result):
    for rep in result.reps:
        ex = result.explain(rep)
        if ex.credits.empty:
            continue
        got = ex.credits.groupby(["period", "component"])["amount"].sum()
        lines = ex.lines.set_index(["period", "component"])["credited"]
        for key, value in got.items():
            assert lines[key] == pytest.approx(value, abs=0.005), (rep, key)
    assert isinstance(result.explain("A2").credits, pd.DataFrame)


def test_every_statement_line_is_traced(result):
    # payable = 10% of new business + 5% of renewal + 1% of team roll-up, per quarter
    s = result.summary.set_index(["rep_id", "period"])
    assert s.loc[("A1", "2025-Q1"), "earned"] == 1000.0  # 10% of T1 10,000
    assert s.loc[("A1", "2025-Q2"), "earned"] == 100.0  # 10% of (250 split + 750 exception)
    assert s.loc[("A1", "2025-Q3"), "earned"] == -1000.0  # T6 reverses T1
    assert s.loc[("M2", "2025-Q3"), "earned"] == pytest.approx(0.01 * (6000 - 10000 - 3000))
