"""Mid-period changes (hire, plan change) prorated by days; clawbacks measured on statements."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.calc import calculate

CURVE = [
    {
        "type": "payout_curve",
        "name": "bonus",
        "measure": "sales",
        "weight": 1.0,
        "points": [{"attainment": 0.0, "payout": 0.0}, {"attainment": 1.0, "payout": 1.0}],
    }
]
FLAT = [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}]


def test_hire_mid_quarter_prorates_quota_and_target(company, make_plan):
    # Q3 2025 has 92 days; hired 2025-08-16 -> 46 covered days = half the quarter
    ds = company(
        [("2025-09-01", 25_000)],
        [("2025-Q3", 100_000)],
        hire="2025-08-16",
        ote=150_000,
        base=110_000,
    )
    plan = make_plan(CURVE, pay_mix={"base": 0.5, "variable": 0.5})
    res = calculate(plan, ds, "2025-Q3")
    s = res.summary.iloc[0]
    assert (s["covered_days"], s["period_days"]) == (46, 92)
    assert s["proration"] == pytest.approx(0.5)
    # TI 40,000 a year -> 10,000 a quarter -> 5,000 prorated; quota 100,000 -> 50,000
    assert s["target_incentive"] == 5_000.00
    line = res.lines.iloc[0]
    assert line["quota"] == 50_000.00
    assert line["attainment"] == pytest.approx(0.5)
    assert s["earned"] == 2_500.00


def test_no_proration_when_the_plan_says_none(company, make_plan):
    ds = company(
        [("2025-09-01", 25_000)],
        [("2025-Q3", 100_000)],
        hire="2025-08-16",
        ote=150_000,
        base=110_000,
    )
    plan = make_plan(CURVE, pay_mix={"base": 0.5, "variable": 0.5}, proration={"method": "none"})
    res = calculate(plan, ds, "2025-Q3")
    assert res.lines.iloc[0]["quota"] == 100_000.00
    assert res.summary.iloc[0]["target_incentive"] == 10_000.00


def test_plan_change_mid_quarter_splits_credit_and_quota(company, make_plan):
    ds = company([("2025-07-20", 10_000), ("2025-09-10", 30_000)], [("2025-Q3", 92_000)])
    # rep A is on plan "p" until 2025-08-15 (46 days), then on plan "q"
    pa = pd.DataFrame(
        {
            "rep_id": ["A", "A"],
            "plan_id": ["p", "q"],
            "start_date": pd.to_datetime(["2025-01-01", "2025-08-16"]),
            "end_date": pd.to_datetime(["2025-08-15", None]),
        }
    )
    ds = ds.replace(plan_assignments=pa)
    p = make_plan(CURVE, pay_mix={"base": 0.5, "variable": 0.5})
    q = make_plan(FLAT, id="q")
    rp = calculate(p, ds, "2025-Q3")
    rq = calculate(q, ds, "2025-Q3")
    # plan p sees the first 46 days: credit 10,000, quota 92,000 * 46/92 = 46,000
    lp = rp.lines.iloc[0]
    assert (lp["credited"], lp["quota"]) == (10_000.0, 46_000.0)
    assert rp.summary.iloc[0]["covered_days"] == 46
    # TI 50,000 / 4 = 12,500 * 0.5 = 6,250; attainment 10/46 -> 6,250 * 10/46 = 1,358.70 (half up)
    assert rp.summary.iloc[0]["earned"] == 1_358.70
    # plan q pays 10% of the credit dated on its days only
    assert rq.lines.iloc[0]["credited"] == 30_000.0
    assert rq.summary.iloc[0]["earned"] == 3_000.0


def test_territory_change_follows_assignments(company, make_plan):
    ds = company([("2025-02-01", 1_000), ("2025-03-15", 2_000)])
    a = pd.DataFrame(
        {
            "account_id": ["C", "C"],
            "rep_id": ["A", "B"],
            "role": ["owner", "owner"],
            "start_date": pd.to_datetime(["2020-01-01", "2025-03-01"]),
            "end_date": pd.to_datetime(["2025-02-28", None]),
        }
    )
    reps = pd.concat([ds.reps, ds.reps.assign(rep_id="B", name="Bo")], ignore_index=True)
    ds = ds.replace(assignments=a, reps=reps)
    res = calculate(make_plan(FLAT), ds, "2025-Q1")
    got = dict(zip(res.summary["rep_id"], res.summary["earned"], strict=True))
    assert got == {"A": 100.0, "B": 200.0}


def test_clawback_window_from_plan(company, make_plan):
    sales = [("2025-01-10", 10_000), ("2025-02-10", 4_000)]
    canc = [("2025-05-01", "T1", -10_000), ("2025-04-20", "T2", -4_000)]  # 111 and 69 days later
    ds = company(sales, cancellations=canc)
    plan = make_plan(FLAT, clawback={"window_days": 90, "method": "full"})
    res = calculate(plan, ds, "2025-Q2")
    line = res.lines.iloc[0]
    # only T2's cancellation is inside the 90-day window
    assert line["credited"] == -4_000.0
    assert line["cancelled_credit"] == -4_000.0
    assert line["earned"] == -400.0
    assert line["clawback"] == 400.0
    ex = res.explain("A")
    assert "cancellation of booking T2" in ex.text
    assert "111 days after booking; 0% reversed" in ex.text


def test_pro_rata_clawback(company, make_plan):
    ds = company([("2025-01-10", 9_000)], cancellations=[("2025-02-09", "T1", -9_000)])  # 30 days
    plan = make_plan(FLAT, clawback={"window_days": 90, "method": "pro_rata"})
    res = calculate(plan, ds, "2025-Q1")
    # (90 - 30) / 90 = 2/3 of 9,000 reversed: net credit 3,000
    assert res.lines.iloc[0]["credited"] == 3_000.0
    assert res.summary.iloc[0]["earned"] == 300.0


def test_manager_paid_on_rollup(company, make_plan):
    ds = company([("2025-02-10", 6000), ("2025-03-01", 4000)], extra_reps=[("M", None, "mgr")])
    mplan = make_plan(FLAT, id="mgr", measures={"sales": {"source": "credit", "rollup": True}})
    res = calculate(mplan, ds, "2025-Q1")
    assert list(res.summary["rep_id"]) == ["M"]
    assert res.summary.iloc[0]["earned"] == 1_000.0
    assert "team roll-up of A's owner credit" in res.explain("M").text


def test_unknown_rep_and_bad_period_are_clear_errors(company, make_plan):
    from spm_model.errors import SpmConfigError

    ds = company([("2025-02-10", 6000)])
    plan = make_plan(FLAT)
    with pytest.raises(SpmConfigError, match="shorter than the plan's measurement period"):
        calculate(plan, ds, "2025-02")
    with pytest.raises(SpmConfigError, match="not a period label"):
        calculate(plan, ds, "2025-Q5")
    res = calculate(plan, ds, "2025-Q1")
    with pytest.raises(SpmConfigError, match="no statement"):
        res.explain("ZZ")
