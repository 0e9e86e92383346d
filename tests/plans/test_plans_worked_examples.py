"""The worked examples of issue 3, exact and vectorised."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from spm_model.plans import (
    PeriodInputs,
    Plan,
    apply_draws_arrays,
    apply_draws_exact,
    draw_schedule,
)

BASE = {
    "id": "t",
    "name": "test",
    "effective_from": "2025-01-01",
    "measurement_period": "month",
    "pay_frequency": "month",
    "measures": {"new_business": {}},
}


def plan_with(*components, **extra) -> Plan:
    return Plan.from_dict({**BASE, **extra, "components": list(components)})


def exact(plan: Plan, credited, quota=None, ti=0) -> Decimal:
    q = {} if quota is None else {"new_business": quota}
    return plan.evaluate_exact(PeriodInputs({"new_business": credited}, q, ti)).total


def vec(plan: Plan, credited, quota=None, ti=0.0) -> np.ndarray:
    c = {"new_business": np.asarray(credited, dtype=float)}
    q = {} if quota is None else {"new_business": np.asarray(quota, dtype=float)}
    return plan.payout_arrays(c, q, ti).total


MARGINAL = plan_with(
    {
        "type": "commission",
        "name": "c",
        "measure": "new_business",
        "tiers": [{"from": 0, "to": 5000, "rate": 0.10}, {"from": 5000, "rate": 0.12}],
    }
)


@pytest.mark.parametrize(("sales", "pay"), [(6000, "620.00"), (5000, "500.00"), (4000, "400.00")])
def test_marginal_tiers(sales, pay):
    assert exact(MARGINAL, sales) == Decimal(pay)
    assert vec(MARGINAL, [sales])[0] == float(pay)


def test_marginal_tiers_explanation_lists_slices():
    res = MARGINAL.evaluate_exact(PeriodInputs({"new_business": 6000}))
    line = res.lines[0]
    assert [s.amount for s in line.steps] == [Decimal("500.0"), Decimal("120.00")]
    assert [s.base for s in line.steps] == [Decimal(5000), Decimal(1000)]
    assert line.rate == Decimal("0.12")
    assert "tier 2" in line.segment
    assert "620.00" in res.explain()


ATTAINMENT_TIERS = plan_with(
    {
        "type": "commission",
        "name": "c",
        "measure": "new_business",
        "basis": "attainment",
        "tiers": [
            {"from": 0, "to": 0.5, "rate": 0.05},
            {"from": 0.5, "to": 1.0, "rate": 0.10},
            {"from": 1.0, "to": 1.5, "rate": 0.15},
            {"from": 1.5, "rate": 0.20},
        ],
    }
)


def test_attainment_tiers():
    assert exact(ATTAINMENT_TIERS, 140_000, 100_000) == Decimal("13500.00")
    assert vec(ATTAINMENT_TIERS, [140_000], [100_000])[0] == 13500.00
    # beyond the last bound: 2,500 + 5,000 + 7,500 + 20% x 10,000
    assert exact(ATTAINMENT_TIERS, 160_000, 100_000) == Decimal("17000.00")


RETRO = plan_with(
    {
        "type": "commission",
        "name": "c",
        "measure": "new_business",
        "method": "retroactive",
        "tiers": [{"from": 0, "to": 1000, "rate": 0.05}, {"from": 1000, "rate": 0.06}],
    }
)


def test_retroactive_tiers():
    assert exact(RETRO, 999) == Decimal("49.95")
    assert exact(RETRO, 1000) == Decimal("60.00")
    np.testing.assert_array_equal(vec(RETRO, [999, 1000]), [49.95, 60.00])


def test_recoverable_draw_sequence():
    earnings = [Decimal(x) for x in ("2750", "3000", "1500", "2375", "3000", "2750")]
    rows = apply_draws_exact(earnings, draw_schedule(2000, 6, 6), recoverable=True)
    assert [r.payable for r in rows] == [Decimal(x) for x in (2750, 3000, 2000, 2000, 2875, 2750)]
    assert [r.balance for r in rows] == [0, 0, -500, -125, 0, 0]
    assert rows[2].advance == 500 and rows[3].recovery == 375 and rows[4].recovery == 125
    v = apply_draws_arrays(np.array([[2750, 3000, 1500, 2375, 3000, 2750.0]]), np.full(6, 2000.0))
    np.testing.assert_array_equal(v["payable"][0], [2750, 3000, 2000, 2000, 2875, 2750])
    np.testing.assert_array_equal(v["balance"][0], [0, 0, -500, -125, 0, 0])


def test_non_recoverable_draw_is_never_recovered():
    earnings = [Decimal(x) for x in ("1500", "3000")]
    rows = apply_draws_exact(earnings, draw_schedule(2000, 2, 2), recoverable=False)
    assert [r.payable for r in rows] == [2000, 3000]
    assert rows[-1].balance == 0


def test_recoverable_draw_through_the_plan():
    plan = plan_with(
        {"type": "commission", "name": "c", "measure": "new_business", "rate": 1.0},
        draw={"kind": "recoverable", "amount": 2000, "periods": 6},
    )
    sales = [2750, 3000, 1500, 2375, 3000, 2750]
    out = plan.evaluate_periods_exact([PeriodInputs({"new_business": s}) for s in sales])
    assert [o.payable for o in out] == [2750, 3000, 2000, 2000, 2875, 2750]
    assert [o.draw.balance for o in out] == [0, 0, -500, -125, 0, 0]
    arr = plan.payout_arrays_periods({"new_business": np.array([sales], dtype=float)}, {})
    np.testing.assert_array_equal(arr["payable"][0], [2750, 3000, 2000, 2000, 2875, 2750])


# target payout 50% of base: with base 100 the target incentive is 50, payouts in % of base
CURVE = plan_with(
    {
        "type": "payout_curve",
        "name": "bonus",
        "measure": "new_business",
        "weight": 1.0,
        "points": [
            {"attainment": 0.8, "payout": 0.8, "label": "threshold"},
            {"attainment": 1.0, "payout": 1.0, "label": "target"},
            # +1.5 points of base per point above 100% = +3 points of target; max 80% of base
            {"attainment": 1.2, "slope": 3.0, "label": "cap"},
        ],
    },
    pay_mix={"base": 2 / 3, "variable": 1 / 3},
)


@pytest.mark.parametrize(
    ("attainment", "pct_of_base"),
    [(0.79, "0"), (0.8, "40"), (0.9, "45"), (1.1, "65"), (1.2, "80"), (1.5, "80"), (3.0, "80")],
)
def test_payout_curve(attainment, pct_of_base):
    credited = Decimal(str(attainment)) * 1000
    assert exact(CURVE, credited, 1000, 50) == Decimal(pct_of_base)
    assert vec(CURVE, [float(credited)], [1000.0], 50.0)[0] == float(pct_of_base)


def test_payout_curve_segment_in_explanation():
    line = CURVE.evaluate_exact(
        PeriodInputs({"new_business": 1100}, {"new_business": 1000}, 50)
    ).lines[0]
    assert line.segment == "100%-120%"
    assert line.rate == Decimal(3)
    assert line.attainment == Decimal("1.1")


def test_half_cent_ties_are_not_lost_to_a_rounded_attainment():
    # 121,942.26 / 112,200 x 4,250 = 4,619.025 exactly: ROUND_HALF_UP pays 4,619.03
    # (a 28-digit attainment 1.0868294117647... would give 4,619.0249999... -> 4,619.02)
    curve = plan_with(
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "new_business",
            "weight": 1.0,
            "points": [{"attainment": 0.5, "payout": 0.5}, {"attainment": 1.5, "payout": 1.5}],
        },
        target_incentive=17_000,
    )
    bcr = plan_with(
        {
            "type": "commission",
            "name": "c",
            "measure": "new_business",
            "weight": 1.0,
            "rate_basis": "bcr",
            "rate": 1.0,
        },
        target_incentive=17_000,
    )
    c, q, ti = Decimal("121942.26"), Decimal("112200"), Decimal("4250")
    for plan in (curve, bcr):
        assert exact(plan, c, q, ti) == Decimal("4619.03")
        assert vec(plan, [float(c)], [float(q)], float(ti))[0] == 4619.03


def test_decimal_conversion_of_numpy_and_python_numbers():
    from spm_model.plans import D

    assert D(np.float64(0.1)) == Decimal("0.1")
    assert D(np.float32(0.5)) == Decimal("0.5")
    assert D(0.1) == Decimal("0.1")
    assert D(np.int64(7)) == Decimal(7)
    assert D("1.25") == Decimal("1.25")
    res = MARGINAL.evaluate_exact(PeriodInputs({"new_business": np.float64(6000.0)}))
    assert res.total == Decimal("620.00")


def test_per_deal_tiers_on_deals_and_on_totals():
    """1% to 1,000, 2% above, per deal: deals 200, 300, 1,500 earn 2 + 3 + 20 = 25; the
    engines given only the total of 2,000 count it as one deal: 10 + 20 = 30."""
    from spm_model.plans import Deal

    plan = plan_with(
        {
            "type": "commission",
            "name": "c",
            "measure": "new_business",
            "per": "deal",
            "tiers": [{"from": 0, "to": 1000, "rate": 0.01}, {"from": 1000, "rate": 0.02}],
        }
    )
    deals = tuple(
        Deal(f"T{i}", date(2025, 1, i + 1), Decimal(a), "new_business")
        for i, a in enumerate([200, 300, 1500])
    )
    on_deals = PeriodInputs({"new_business": 2000}, deals=deals)
    assert plan.evaluate_exact(on_deals).total == Decimal("25.00")
    assert exact(plan, 2000) == Decimal("30.00") and vec(plan, [2000])[0] == 30.0
    # a cancellation (a negative deal) earns the first tier's rate
    back = (*deals, Deal("T9", date(2025, 1, 20), Decimal(-1500), "new_business"))
    assert plan.evaluate_exact(PeriodInputs({"new_business": 500}, deals=back)).total == Decimal(
        "10.00"
    )
