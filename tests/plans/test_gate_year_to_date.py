"""Gates measured year to date: accelerators paid each quarter only while the year's quota to
date is met (a common rule that a quarterly gate cannot express)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spm_model.plans import PeriodInputs, Plan, with_year_to_date
from spm_model.plans.fast import compile_plan


def plan(span: str = "year_to_date", cumulative: bool = False) -> Plan:
    """5% on all sales; 3% more on sales above the quarter's quota, gated at 100% of quota."""
    return Plan.from_dict(
        {
            "id": "acc",
            "name": "accelerators on the year's pace",
            "effective_from": "2025-01-01",
            "measurement_period": "quarter",
            "pay_frequency": "quarter",
            "cumulative": cumulative,
            "measures": {"sales": {}},
            "components": [
                {"type": "commission", "name": "base", "measure": "sales", "rate": "5%"},
                {
                    "type": "commission",
                    "name": "accelerator",
                    "measure": "sales",
                    "basis": "attainment",
                    "tiers": [{"from": 0, "to": 1, "rate": 0}, {"from": 1, "rate": 0.03}],
                    "gate": {"measure": "sales", "min_attainment": 1, "span": span},
                },
            ],
        }
    )


SALES = [60_000, 130_000, 150_000, 90_000]  # quota 100,000 a quarter


def quarters(sales=SALES, quota=100_000):
    return [PeriodInputs({"sales": s}, {"sales": quota}) for s in sales]


def test_the_accelerator_waits_for_the_years_quota_to_date():
    """Year to date: Q1 60%, Q2 190/200 = 95% (closed, though Q2 alone is 130%), Q3 340/300 =
    113% (open: 3% of the 50,000 above the quarter's quota = 1,500), Q4 430/400 = 107.5% (open,
    but Q4 alone is below quota: 0). Base 5%: 3,000 / 6,500 / 7,500 / 4,500."""
    out = plan().evaluate_periods_exact(quarters())
    by = [o.result.by_component() for o in out]
    assert [b["base"] for b in by] == [Decimal(x) for x in ("3000", "6500", "7500", "4500")]
    assert [b["accelerator"] for b in by] == [Decimal(x) for x in ("0", "0", "1500", "0")]
    assert sum(o.result.total for o in out) == Decimal("23000.00")
    gate_q2 = [ln for ln in out[1].result.lines if ln.component == "accelerator"][0].gate
    assert gate_q2 == "not met (sales 95.00% year to date < 100%): pays nothing"
    # the same plan gated on the quarter alone pays Q2's 900 too
    per_quarter = plan("period").evaluate_periods_exact(quarters())
    assert [o.result.by_component()["accelerator"] for o in per_quarter][1] == Decimal("900")
    # a quarter evaluated alone is its own year to date
    assert plan().evaluate_exact(quarters()[1]).by_component()["accelerator"] == Decimal("900")
    assert with_year_to_date(quarters()[:2]).ytd_credited == {"sales": Decimal("190000")}


def test_the_vectorised_engine_and_the_simulation_path_agree():
    p = plan()
    assert p.needs_year_to_date and not plan("period").needs_year_to_date
    assert not plan(cumulative=True).needs_year_to_date  # a cumulative plan is year to date
    assert compile_plan(p) is None  # the fused kernel leaves it to the period engine
    res = p.payout_arrays_periods({"sales": np.array([SALES], float)}, {"sales": np.array([1e5])})
    assert res["earned"].tolist() == [[3000.0, 6500.0, 9000.0, 4500.0]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 300_000), min_size=1, max_size=4),
    st.lists(st.integers(1, 200_000), min_size=4, max_size=4),
)
def test_exact_and_vectorised_agree_to_the_cent(sales, quotas):
    p = plan()
    n = len(sales)
    exact = [
        o.result.total
        for o in p.evaluate_periods_exact(
            [PeriodInputs({"sales": s}, {"sales": q}) for s, q in zip(sales, quotas, strict=False)]
        )
    ]
    vec = p.payout_arrays_periods(
        {"sales": np.array([sales], float)}, {"sales": np.array([quotas[:n]], float)}
    )["earned"][0]
    assert [float(x) for x in exact] == vec.tolist()
