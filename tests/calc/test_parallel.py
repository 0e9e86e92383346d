"""The parallel per-rep evaluation gives exactly the single-process statements."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest

import spm_model.calc.engine as engine
from spm_model.calc import calculate, calculate_many
from spm_model.crediting.examples import worked_example_dataset
from spm_model.plans import Plan

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")

PLAN = {
    "id": "flat",
    "name": "Flat",
    "effective_from": "2025-01-01",
    "measurement_period": "quarter",
    "pay_frequency": "quarter",
    "measures": {
        "new_business": {"source": "credit"},
        "team": {"source": "credit", "data_measure": "new_business", "rollup": True},
    },
    "components": [
        {"type": "commission", "name": "nb", "measure": "new_business", "rate": 0.1},
        {"type": "commission", "name": "team", "measure": "team", "rate": 0.01},
    ],
    "clawback": {"window_days": 90},
}


def test_parallel_equals_serial(monkeypatch):
    ds = worked_example_dataset()
    ds = ds.replace(reps=ds.reps.assign(plan_id="flat"))
    plan = Plan.from_dict(PLAN)
    serial = calculate(plan, ds, "2025")
    monkeypatch.setattr(engine, "MIN_REPS_PER_WORKER", 1)
    par = calculate(plan, ds, "2025", workers=2)
    pd.testing.assert_frame_equal(serial.summary, par.summary)
    pd.testing.assert_frame_equal(serial.lines, par.lines)
    # runs are recomputed on demand for explanations
    assert par.explain("A2").text == serial.explain("A2").text
    many = calculate_many([plan], ds, "2025", workers=2)
    pd.testing.assert_frame_equal(many[0].summary, serial.summary)
