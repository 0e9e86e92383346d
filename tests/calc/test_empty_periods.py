"""A period with neither credit nor quota still gets a statement (it pays nothing)."""

from __future__ import annotations

from spm_model.calc import as_of, calculate, payable
from spm_model.plans import Plan
from tests.calc.conftest import plan_dict, tiny_company


def test_quarter_without_credit_or_quota_pays_zero():
    ds = tiny_company([("2024-02-10", 1000.0)])  # no quotas at all, nothing after February
    plan = Plan.from_dict(
        plan_dict([{"type": "commission", "name": "c", "measure": "sales", "rate": 0.1}])
    )
    res = calculate(plan, ds, "2024-Q4")
    assert payable(res)["A"] == 0.0
    q1 = calculate(plan, ds, "2024-Q1")
    assert payable(q1)["A"] == 100.0  # 10% of 1,000
    assert payable(as_of(plan, ds, "2024-11-15"))["A"] == 0.0
    # a whole fiscal year to date without credit or quota (the merge of two empty frames)
    assert payable(calculate(plan, ds, "2025-Q1"))["A"] == 0.0
