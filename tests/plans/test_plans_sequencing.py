"""Multi-period sequencing: YTD true-up, pay periods, draws, proration, clawbacks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from spm_model.plans import (
    PeriodInputs,
    Plan,
    clawback_fraction_arrays,
    clawback_fraction_exact,
    load_plan,
    proration_factor,
    true_up_arrays,
    true_up_exact,
)

ROOT = Path(__file__).resolve().parents[2]
AM = load_plan(ROOT / "templates" / "plans" / "account_manager.yaml")
SDR = load_plan(ROOT / "templates" / "plans" / "sdr.yaml")


def test_true_up_carry_forward_and_recover():
    ytd = [Decimal(x) for x in (1000, 2500, 2000, 4000)]
    carry = true_up_exact(ytd, "carry_forward")
    assert [p.due for p in carry] == [1000, 1500, 0, 1500]
    rec = true_up_exact(ytd, "recover")
    assert [p.due for p in rec] == [1000, 1500, -500, 2000]
    np.testing.assert_array_equal(
        true_up_arrays(np.array([[1000, 2500, 2000, 4000.0]])), [[1000, 1500, 0, 1500]]
    )
    np.testing.assert_array_equal(
        true_up_arrays(np.array([1000, 2500, 2000, 4000.0]), "recover"), [1000, 1500, -500, 2000]
    )


def test_ytd_plan_pays_the_ytd_difference():
    ti = AM.period_target_incentive()  # 16,000 a quarter
    q = {"renewal": Decimal(100_000), "new_business": Decimal(50_000)}
    periods = [
        PeriodInputs({"renewal": Decimal(100_000), "new_business": Decimal(50_000)}, q, ti),
        PeriodInputs({"renewal": Decimal(70_000), "new_business": Decimal(20_000)}, q, ti),
        PeriodInputs({"renewal": Decimal(130_000), "new_business": Decimal(80_000)}, q, ti),
    ]
    out = AM.evaluate_periods_exact(periods)
    # Q1 at 100% of both: target
    assert out[0].earned == ti and out[0].payable == ti
    # Q2 YTD: renewal 85% (threshold: 50% of 19,200), expansion 70% gate closed -> capped at 100%
    assert out[1].result.by_component()["renewals"] == Decimal("9600.00")
    assert out[1].result.by_component()["expansion"] == Decimal("8960.00")
    assert out[1].due == out[1].earned - out[0].earned
    # cumulative paid equals YTD earned whenever no negative true-up is carried
    assert sum(o.payable for o in out) == out[-1].earned


def _random_periods(plan: Plan, n_reps: int, n_per: int, seed: int):
    rng = np.random.default_rng(seed)
    credited, quota = {}, {}
    for name, m in plan.measures.items():
        if m.fixed_quota is None:
            quota[name] = np.round(rng.uniform(10_000, 300_000, (n_reps, n_per)), 2)
        base = m.fixed_quota if m.fixed_quota is not None else quota[name]
        credited[name] = np.round(
            base * rng.uniform(-0.1, 2.2, (n_reps, n_per)), 0 if m.unit == "count" else 2
        )
    ti = np.round(rng.uniform(1000, 30_000, (n_reps, 1)), 2) * np.ones(n_per)
    return credited, quota, ti


@pytest.mark.parametrize(("plan", "n_per"), [(AM, 4), (SDR, 12)], ids=["am_ytd", "sdr_draws"])
def test_multi_period_vector_equals_exact(plan, n_per):
    n_reps = 150
    credited, table_quota, ti = _random_periods(plan, n_reps, n_per, seed=n_per)
    quota = plan.resolve_quota_arrays(table_quota)
    quota = {k: np.broadcast_to(v, (n_reps, n_per)) for k, v in quota.items()}
    vec = plan.payout_arrays_periods(credited, quota, ti)
    for r in range(n_reps):
        inputs = [
            PeriodInputs(
                {k: Decimal(repr(float(v[r, t]))) for k, v in credited.items()},
                {k: Decimal(repr(float(v[r, t]))) for k, v in quota.items()},
                Decimal(repr(float(ti[r, t]))),
            )
            for t in range(n_per)
        ]
        out = plan.evaluate_periods_exact(inputs)
        np.testing.assert_array_equal(vec["earned"][r], [float(o.earned) for o in out])
        np.testing.assert_array_equal(vec["due"][r], [float(o.due) for o in out])
        np.testing.assert_array_equal(vec["payable"][r], [float(o.payable) for o in out])
        if plan.draw is not None:
            np.testing.assert_array_equal(vec["balance"][r], [float(o.draw.balance) for o in out])


def test_pay_frequency_coarser_than_measurement():
    plan = Plan.from_dict(
        {
            "id": "p",
            "name": "p",
            "effective_from": "2025-01-01",
            "measurement_period": "month",
            "pay_frequency": "quarter",
            "measures": {"m": {}},
            "components": [{"type": "commission", "name": "c", "measure": "m", "rate": 0.1}],
        }
    )
    sales = [1000, 2000, 3000, 500, 0, 0]
    out = plan.evaluate_periods_exact([PeriodInputs({"m": s}) for s in sales])
    assert [o.payable for o in out] == [0, 0, 600, 0, 0, 50]
    arr = plan.payout_arrays_periods({"m": np.array(sales, dtype=float)}, {})
    np.testing.assert_array_equal(arr["payable"], [600, 50])


def test_proration_and_clawback():
    # hired on the 16th of a 30-day month: 15 of 30 days
    assert proration_factor(
        date(2025, 6, 16), date(2030, 1, 1), date(2025, 6, 1), date(2025, 6, 30)
    ) == Decimal("0.5")
    assert (
        proration_factor(date(2025, 8, 1), date(2030, 1, 1), date(2025, 6, 1), date(2025, 6, 30))
        == 0
    )
    b = date(2025, 1, 1)
    assert clawback_fraction_exact(b, date(2025, 3, 1), 90, "full") == 1
    assert clawback_fraction_exact(b, date(2025, 6, 1), 90, "full") == 0
    assert clawback_fraction_exact(b, date(2025, 1, 31), 90, "pro_rata") == Decimal(60) / 90
    np.testing.assert_allclose(
        clawback_fraction_arrays(np.array([0, 30, 90, 91]), 90, "pro_rata"), [1, 2 / 3, 0, 0]
    )


def test_resolve_quotas_fixed_and_ratio():
    field = load_plan(ROOT / "templates" / "plans" / "field_rep.yaml")
    q = field.resolve_quotas({"new_business": Decimal(200_000), "renewal": Decimal(50_000)})
    assert q == {"new_business": 200_000, "renewal": 50_000, "margin": Decimal("140000.00")}
    assert SDR.resolve_quotas({}, periods=3)["pipeline"] == 450_000


def test_spif_counts_qualifying_deals():
    from spm_model.plans import Deal

    ch = load_plan(ROOT / "templates" / "plans" / "channel_manager.yaml")
    deals = [
        Deal("T1", date(2026, 2, 1), Decimal(30_000), "new_business", product_family="platform"),
        Deal("T2", date(2026, 2, 1), Decimal(10_000), "new_business", product_family="platform"),
        Deal("T3", date(2025, 12, 31), Decimal(50_000), "new_business", product_family="platform"),
        Deal("T4", date(2026, 3, 1), Decimal(40_000), "new_business", product_family="addon"),
        Deal("T5", date(2026, 3, 5), Decimal(-30_000), "new_business", product_family="platform"),
        Deal("T6", date(2026, 3, 9), Decimal(25_000), "new_business", product_family="platform"),
    ]
    res = ch.evaluate_exact(
        PeriodInputs({"new_business": 0}, {"new_business": 100_000}, 17_000, deals=deals)
    )
    line = res.lines[1]
    assert line.earned == Decimal("750.00")  # T1 + T6 - T5 (cancellation)
    assert "T1" in line.steps[0].label and "T6" in line.steps[0].label


def test_opening_balance_and_explicit_draws_without_plan_settings():
    plan = Plan.from_dict(
        {
            "id": "p",
            "name": "p",
            "effective_from": "2025-01-01",
            "measurement_period": "month",
            "pay_frequency": "month",
            "measures": {"m": {}},
            "components": [{"type": "commission", "name": "c", "measure": "m", "rate": 1.0}],
        }
    )
    sales = [100, 500, 1000]
    out = plan.evaluate_periods_exact(
        [PeriodInputs({"m": s}) for s in sales],
        draws=[Decimal(0)] * 3,
        opening_balance=Decimal(-300),
    )
    assert [o.payable for o in out] == [0, 300, 1000]
    assert [o.draw.balance for o in out] == [-200, 0, 0]
    arr = plan.payout_arrays_periods(
        {"m": np.array(sales, dtype=float)}, {}, draws=np.zeros(3), opening_balance=-300.0
    )
    np.testing.assert_array_equal(arr["payable"], [0, 300, 1000])
    out2 = plan.evaluate_periods_exact(
        [PeriodInputs({"m": s}) for s in sales], draws=[Decimal(400)] * 2 + [Decimal(0)]
    )
    # 300 advanced in month 1; 100 recovered above the draw in month 2, the rest in month 3
    assert [o.payable for o in out2] == [400, 400, 800]


def test_opening_balance_array_of_zeros_without_draws():
    plan = Plan.from_dict(
        {
            "id": "p",
            "name": "p",
            "effective_from": "2025-01-01",
            "measurement_period": "quarter",
            "pay_frequency": "quarter",
            "measures": {"m": {}},
            "components": [{"type": "commission", "name": "c", "measure": "m", "rate": 0.1}],
        }
    )
    sales = np.array([[1000.0, 2000, 3000, 4000]] * 3)
    out = plan.payout_arrays_periods(
        {"m": sales}, {}, draws=np.zeros(4), opening_balance=np.zeros(3)
    )
    assert out["balance"].shape == (3, 4) and not out["balance"].any()
    np.testing.assert_array_equal(out["payable"][0], [100, 200, 300, 400])
