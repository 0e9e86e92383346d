"""The issue's worked examples, run end to end: transactions -> crediting -> statement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.calc import calculate

MARGINAL = [
    {
        "type": "commission",
        "name": "c",
        "measure": "sales",
        "basis": "amount",
        "method": "marginal",
        "tiers": [{"from": 0, "to": 5000, "rate": 0.10}, {"from": 5000, "rate": 0.12}],
    }
]


@pytest.mark.parametrize(("sales", "pay"), [(6000, 620.00), (5000, 500.00), (4000, 400.00)])
def test_marginal_tiers_on_amount(company, make_plan, sales, pay):
    ds = company([("2025-02-10", sales)])
    res = calculate(make_plan(MARGINAL), ds, "2025-Q1")
    s = res.summary.iloc[0]
    assert s["earned"] == pay
    assert s["payable"] == pay
    line = res.lines.iloc[0]
    assert line["credited"] == sales


def test_marginal_tiers_on_attainment(company, make_plan):
    comps = [
        {
            "type": "commission",
            "name": "c",
            "measure": "sales",
            "basis": "attainment",
            "method": "marginal",
            "tiers": [
                {"from": 0, "to": 0.5, "rate": 0.05},
                {"from": 0.5, "to": 1.0, "rate": 0.10},
                {"from": 1.0, "to": 1.5, "rate": 0.15},
                {"from": 1.5, "rate": 0.20},
            ],
        }
    ]
    # two bookings adding up to 140,000 against a quarterly quota of 100,000
    ds = company([("2025-07-01", 90_000), ("2025-09-30", 50_000)], [("2025-Q3", 100_000)])
    res = calculate(make_plan(comps), ds, "2025-Q3")
    assert res.summary.iloc[0]["earned"] == 13_500.00
    assert res.lines.iloc[0]["attainment"] == pytest.approx(1.4)


@pytest.mark.parametrize(("sales", "pay"), [(999, 49.95), (1000, 60.00)])
def test_retroactive_tier(company, make_plan, sales, pay):
    comps = [
        {
            "type": "commission",
            "name": "c",
            "measure": "sales",
            "basis": "amount",
            "method": "retroactive",
            "tiers": [{"from": 0, "to": 1000, "rate": 0.05}, {"from": 1000, "rate": 0.06}],
        }
    ]
    res = calculate(make_plan(comps), company([("2025-01-15", sales)]), "2025-Q1")
    assert res.summary.iloc[0]["earned"] == pay


def test_recoverable_monthly_draw(company, make_plan):
    # 10% commission on monthly sales gives earnings 2,750, 3,000, 1,500, 2,375, 3,000, 2,750
    sales = [27_500, 30_000, 15_000, 23_750, 30_000, 27_500]
    ds = company([(f"2025-{m:02d}-10", s) for m, s in zip(range(1, 7), sales, strict=True)])
    plan = make_plan(
        [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}],
        measurement_period="month",
        pay_frequency="month",
        draw={"kind": "recoverable", "amount": 2000, "periods": 6, "starts": "plan_start"},
        effective_from="2025-01-01",
    )
    res = calculate(plan, ds, "2025-Q2")
    full = calculate(plan, ds, "2025-Q1")
    s = pd.concat([full.summary, res.summary], ignore_index=True)
    assert list(s["earned"]) == [2750, 3000, 1500, 2375, 3000, 2750]
    assert list(s["payable"]) == [2750, 3000, 2000, 2000, 2875, 2750]
    assert list(s["draw_balance"]) == [0, 0, -500, -125, 0, 0]
    assert list(s["draw_advanced"]) == [0, 0, 500, 0, 0, 0]
    assert list(s["draw_recovered"]) == [0, 0, 0, 375, 125, 0]
    # previously paid is what earlier pay periods of the year paid out (draws included)
    assert list(res.summary["previously_paid"]) == [7750, 9750, 12625]


@pytest.mark.parametrize(
    ("att", "pct_of_base"), [(0.79, 0), (0.80, 40), (0.90, 45), (1.10, 65), (1.20, 80), (1.50, 80)]
)
def test_payout_curve_percent_of_base(company, make_plan, att, pct_of_base):
    # base 100,000 a year -> 25,000 a quarter; target payout 50% of base = TI 12,500 a quarter
    comps = [
        {
            "type": "payout_curve",
            "name": "bonus",
            "measure": "sales",
            "weight": 1.0,
            "points": [
                {"attainment": 0.8, "payout": 0.8},
                {"attainment": 1.0, "payout": 1.0},
                {"attainment": 1.2, "payout": 1.6},
            ],
            "cap_multiple": 1.6,
        }
    ]
    ds = company([("2025-05-05", att * 100_000)], [("2025-Q2", 100_000)], ote=150_000, base=100_000)
    res = calculate(make_plan(comps, pay_mix={"base": 0.5, "variable": 0.5}), ds, "2025-Q2")
    # the rep's own OTE - base salary (50,000 a year) beats the plan's pay mix
    assert res.summary.iloc[0]["target_incentive"] == 12_500.00
    assert res.summary.iloc[0]["earned"] == pytest.approx(25_000 * pct_of_base / 100, abs=0.005)


def test_statement_columns_and_ytd(company, make_plan):
    ds = company([("2025-02-10", 6000), ("2025-05-10", 4000)])
    res = calculate(make_plan(MARGINAL), ds, "2025-Q2")
    line = res.lines.iloc[0]
    assert line["earned"] == 400.0
    assert line["ytd_earned"] == 1020.0
    s = res.summary.iloc[0]
    assert s["previously_paid"] == 620.0
    assert s["ytd_earned"] == 1020.0
    assert s["payable"] == 400.0
    assert "tier" in line["segment"] or line["segment"]


def test_recoverable_draw_balance_carries_into_the_next_year(company, make_plan):
    # hired 2024-11-01, draw 2,000 a month for 4 months; 10% commission
    sales = [
        ("2024-11-10", 5_000),
        ("2024-12-10", 5_000),
        ("2025-01-10", 25_000),
        ("2025-02-10", 40_000),
        ("2025-03-10", 30_000),
    ]
    ds = company(sales, hire="2024-11-01")
    plan = make_plan(
        [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}],
        measurement_period="month",
        pay_frequency="month",
        draw={"kind": "recoverable", "amount": 2000, "periods": 4, "starts": "hire_date"},
    )
    prev = calculate(plan, ds, "2024-Q4")
    assert list(prev.summary["draw_balance"]) == [-1500.0, -3000.0]
    res = calculate(plan, ds, "2025-Q1")
    s = res.summary
    assert res.runs["A"].opening_balance == -3000
    # Jan: earns 2,500 >= draw 2,000 -> 500 recovered; Feb: 4,000 -> 2,000 recovered;
    # Mar (window over): 3,000 -> the last 500 recovered
    assert list(s["payable"]) == [2000.0, 2000.0, 2500.0]
    assert list(s["draw_recovered"]) == [500.0, 2000.0, 500.0]
    assert list(s["draw_balance"]) == [-2500.0, -500.0, 0.0]


@pytest.mark.parametrize(
    ("hire", "payable"),
    [
        # hired years before the plan took effect: not a new hire, no draw
        ("2017-03-01", [500.0, 500.0, 500.0]),
        # hired 2024-12-01, a month before the plan: the window's December is not this plan's,
        # its January and February are (earned 500 each, topped up to the 2,000 draw)
        ("2024-12-01", [2000.0, 2000.0, 500.0]),
        # hired inside the plan: statements from the month of hire, the window opens there
        ("2025-02-15", [2000.0, 2000.0]),
    ],
)
def test_new_hire_draw_opens_at_the_hire_date_not_at_the_plans_start(
    company, make_plan, hire, payable
):
    sales = [(f"2025-{m:02d}-20", 5_000) for m in (1, 2, 3)]
    ds = company(sales, hire=hire)
    plan = make_plan(
        [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}],
        measurement_period="month",
        pay_frequency="month",
        draw={"kind": "non_recoverable", "amount": 2000, "periods": 3, "starts": "hire_date"},
        effective_from="2025-01-01",
    )
    res = calculate(plan, ds, "2025-Q1")
    assert list(res.summary["payable"]) == payable


def test_a_year_to_date_plan_is_targeted_from_the_datas_first_day(company, make_plan):
    # the data start 2025-10-01 (declared): FY2025 holds one quarter of this rep's year, so the
    # year-to-date target is that quarter's (TI 50,000 a year -> 12,500), not the whole year's
    comps = [
        {
            "type": "payout_curve",
            "name": "bonus",
            "measure": "sales",
            "weight": 1.0,
            "points": [{"attainment": 0.0, "payout": 0.0}, {"attainment": 1.0, "payout": 1.0}],
        }
    ]
    ds = company([("2025-11-05", 80_000)], [("2025-Q4", 100_000)])
    plan = make_plan(
        comps, cumulative=True, effective_from="2023-01-01", pay_mix={"base": 0.5, "variable": 0.5}
    )
    whole = calculate(plan, ds, "2025-Q4").summary.iloc[0]
    assert whole["earned"] == 40_000.00  # 80% of the full year's 50,000, no start declared
    ds.meta = ds.meta.model_copy(update={"start_date": pd.Timestamp("2025-10-01").date()})
    s = calculate(plan, ds, "2025-Q4").summary.iloc[0]
    assert s["earned"] == 10_000.00 and s["payable"] == 10_000.00  # 80% of 12,500
    assert s["previously_paid"] == 0.0


def test_accelerators_gated_on_the_years_quota_to_date(company, make_plan):
    """Quarterly statements: 5% of sales plus 3% above the quarter's 100,000 quota while the
    year's quota to date is met. Sales 60k / 130k / 150k / 90k: year to date 60%, 95%, 113%,
    107.5%, so Q2's 130% quarter earns no accelerator and Q3 earns 3% of 50,000 = 1,500."""
    comps = [
        {"type": "commission", "name": "base", "measure": "sales", "rate": 0.05},
        {
            "type": "commission",
            "name": "accelerator",
            "measure": "sales",
            "basis": "attainment",
            "tiers": [{"from": 0, "to": 1, "rate": 0}, {"from": 1, "rate": 0.03}],
            "gate": {"measure": "sales", "min_attainment": 1.0, "span": "year_to_date"},
        },
    ]
    sales = [("2025-02-10", 60_000), ("2025-05-10", 130_000), ("2025-08-10", 150_000)]
    sales += [("2025-11-10", 90_000)]
    quotas = [(f"2025-Q{i}", 100_000) for i in range(1, 5)]
    ds = company(sales, quotas)
    plan = make_plan(comps)
    runs = [calculate(plan, ds, f"2025-Q{i}") for i in range(1, 5)]
    earned = [r.lines.set_index("component")["earned"] for r in runs]
    assert [e["base"] for e in earned] == [3000.0, 6500.0, 7500.0, 4500.0]
    assert [e["accelerator"] for e in earned] == [0.0, 0.0, 1500.0, 0.0]
    assert "not met (sales 95.00% year to date < 100%): pays nothing" in runs[1].explain("A").text
    assert "met (sales 113.33% year to date >= 100%)" in runs[2].explain("A").text


def test_tiers_applied_to_each_deal_as_a_rate_table_processes_transactions(company, make_plan):
    """Oracle's step-rate example: 1% to 1,000, 2% to 3,000, 3% to 8,000, 5% above, each
    transaction on its own: 200 -> 2, 300 -> 3, 1,500 -> 10 + 10 = 20, 1,200 -> 10 + 4 = 14,
    2,000 -> 10 + 20 = 30, 4,500 -> 10 + 40 + 45 = 95; 164.00 for the quarter (the quarter's
    total of 9,700 tiered once would be 10 + 40 + 150 + 85 = 285.00)."""
    tiers = [
        {"from": 0, "to": 1000, "rate": "1%"},
        {"from": 1000, "to": 3000, "rate": "2%"},
        {"from": 3000, "to": 8000, "rate": "3%"},
        {"from": 8000, "rate": "5%"},
    ]
    sales = [("2025-01-01", 200), ("2025-01-02", 300), ("2025-01-15", 1500)]
    sales += [("2025-02-01", 1200), ("2025-02-15", 2000), ("2025-03-01", 4500)]
    ds = company(sales)
    per_deal = make_plan(
        [{"type": "commission", "name": "c", "measure": "sales", "tiers": tiers, "per": "deal"}]
    )
    res = calculate(per_deal, ds, "2025-Q1")
    assert res.summary["earned"].tolist() == [164.0]
    text = res.explain("A").text
    assert "deal T6 of 2025-03-01 base 4,500.00" in text and "= 95.0000" in text
    whole = make_plan([{"type": "commission", "name": "c", "measure": "sales", "tiers": tiers}])
    assert calculate(whole, ds, "2025-Q1").summary["earned"].tolist() == [285.0]


def test_per_deal_tiers_are_checked_and_not_simulated(make_plan):
    from spm_model.errors import SpmConfigError
    from spm_model.plans import PlanError
    from spm_model.simulate import from_assumptions, simulate

    with pytest.raises(PlanError, match="per: deal takes a 'measure' with a flat 'rate' or amount"):
        make_plan(
            [
                {
                    "type": "commission",
                    "name": "c",
                    "measure": "sales",
                    "basis": "attainment",
                    "tiers": [{"from": 0, "rate": 0.01}],
                    "per": "deal",
                }
            ]
        )
    plan = make_plan(
        [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.02, "per": "deal"}]
    )
    model = from_assumptions({"sales": {"quota": 100_000}}, n_reps=3)
    with pytest.raises(SpmConfigError, match="tiered per deal cannot be simulated"):
        simulate(model, plan, 100, seed=1)


def test_an_annual_quota_spread_over_quarters_adds_up_to_the_cent(company, make_plan):
    """400,000 for 2025 on a quarterly year-to-date plan: the quarters' shares by days
    (90, 91, 92, 92 of 365) are the differences of rounded running totals, 98,630.14,
    99,726.02, 100,821.92 and 100,821.92, so the year to date is 400,000.00 and a rep who sells
    exactly the annual quota is at 100% and reaches a 100% step (50,000 = the year's target)."""
    step = [
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "sales",
            "weight": 1.0,
            "interpolation": "step",
            "points": [{"attainment": 0.5, "payout": 0.5}, {"attainment": 1.0, "payout": 1.0}],
        }
    ]
    plan = make_plan(step, cumulative=True, pay_mix={"base": 0.5, "variable": 0.5})
    sales = [("2025-02-01", 100_000), ("2025-05-01", 100_000), ("2025-08-01", 100_000)]
    ds = company([*sales, ("2025-11-01", 100_000)], [("2025", 400_000)])
    quarters = [calculate(plan, ds, f"2025-Q{i}").lines.iloc[0] for i in range(1, 5)]
    assert [q["quota"] for q in quarters] == [98_630.14, 198_356.16, 299_178.08, 400_000.0]
    assert quarters[-1]["attainment"] == 1.0
    assert calculate(plan, ds, "2025-Q4").summary.iloc[0]["ytd_earned"] == 50_000.0


def test_a_pay_period_that_closes_after_the_rep_left_still_pays(company, make_plan):
    """Measured monthly, paid quarterly, 10%: the rep leaves on 15 February with 10,000
    (January) and 5,000 (February) credited; the quarter's pay period closes in March, when
    the rep is gone, and pays 1,000 + 500 = 1,500 (it was dropped: the March row had no
    covered days)."""
    flat = [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}]
    plan = make_plan(flat, measurement_period="month", pay_frequency="quarter")
    ds = company([("2025-01-10", 10_000), ("2025-02-10", 5_000)], end="2025-02-15")
    s = calculate(plan, ds, "2025-Q1").summary
    assert s["period"].tolist() == ["2025-01", "2025-02", "2025-03"]
    assert s["earned"].tolist() == [1000.0, 500.0, 0.0]
    assert s["payable"].tolist() == [0.0, 0.0, 1500.0]
    assert s["covered_days"].tolist()[-1] == 0


@pytest.mark.parametrize("negative", ["carry_forward", "recover"])
def test_a_year_to_date_plan_is_trued_up_when_it_pays(company, make_plan, negative):
    """Measured monthly, paid quarterly; a curve on year-to-date attainment (100% pays the
    target, 150% twice it), 5,000 of target a month, quota 100,000 a month. Sales of 150,000 in
    January: year to date 10,000 (150%), then 7,500 (75% of 10,000) and 7,500 (50% of 15,000).
    Nothing is paid until March, so the quarter pays 7,500 under either rule for negative
    true-ups (a February dip floored month by month had carried 10,000 into the payment).
    In July, the year to date is 40% of 35,000 = 14,000 against 7,500 paid: 6,500 more."""
    curve = [
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "sales",
            "weight": 1.0,
            "points": [
                {"attainment": 0, "payout": 0},
                {"attainment": 1.0, "payout": 1.0},
                {"attainment": 1.5, "payout": 2.0},
            ],
        }
    ]
    plan = make_plan(
        curve,
        cumulative=True,
        measurement_period="month",
        pay_frequency="quarter",
        target_incentive=60_000,
        true_up={"negative": negative},
    )
    quotas = [(f"2025-{m:02d}", 100_000) for m in range(1, 13)]
    ds = company([("2025-01-10", 150_000), ("2025-07-10", 130_000)], quotas)
    res = calculate(plan, ds, "2025-Q1", ti_source="plan")
    s = res.summary
    assert s["ytd_earned"].tolist() == [10_000.0, 7_500.0, 7_500.0]
    assert s["payable"].tolist() == [0.0, 0.0, 7_500.0]
    if negative == "carry_forward":
        assert "true-up: earned YTD 7,500.00 - already due earlier 0.00 = due now 7,500.00" in (
            res.explain("A").text
        )
    q3 = calculate(plan, ds, "2025-Q3", ti_source="plan").summary
    assert q3["ytd_earned"].tolist()[-1] == 14_000.0 and q3["payable"].tolist()[-1] == 6_500.0
    # the vectorised engine pays the same
    credited = np.zeros((1, 12))
    credited[0, 0], credited[0, 6] = 150_000, 130_000
    arr = plan.payout_arrays_periods(
        {"sales": credited}, {"sales": np.full((1, 12), 1e5)}, np.full((1, 12), 5_000.0)
    )
    assert arr["payable"][0].tolist()[:3] == [7_500.0, 0.0, 6_500.0]


def test_a_per_period_cap_counts_only_the_periods_worked(company, make_plan):
    """Year-to-date quarterly plan, 10% commission capped at 5,000 a quarter; hired 1 July with
    100,000 sold in Q3: one quarter worked, so the cap is 5,000 (it was 3 x 5,000: the
    quarters before the hire counted)."""
    flat = [
        {"type": "commission", "name": "c", "measure": "sales", "rate": 0.10, "cap_amount": 5000}
    ]
    plan = make_plan(flat, cumulative=True)
    ds = company([("2025-08-01", 100_000)], hire="2025-07-01")
    res = calculate(plan, ds, "2025-Q3")
    assert res.summary["earned"].tolist() == [5_000.0]
    c, q, ti, _ = res.inputs.arrays()
    vec = plan.payout_arrays_periods(c, q, ti, on_plan=res.inputs.on_plan_array())
    assert vec["earned"][0].tolist() == [0.0, 0.0, 5_000.0]


def test_a_draw_balance_still_owed_after_a_whole_year_keeps_being_recovered(company, make_plan):
    """Recoverable draw of 2,000 a month for three months from a 1 November 2024 hire, 10%
    commission, monthly. Nothing earned to January: 6,000 advanced. February to December 2025
    earn 100 a month, all recovered: 4,900 still owed at the end of 2025. January 2026 earns
    10,000: 4,900 recovered, 5,100 paid (the balance was dropped at the second year-end)."""
    flat = [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}]
    draw = {"kind": "recoverable", "amount": 2000, "periods": 3, "starts": "hire_date"}
    plan = make_plan(flat, measurement_period="month", pay_frequency="month", draw=draw)
    sales = [(f"2025-{m:02d}-10", 1_000) for m in range(2, 13)] + [("2026-01-10", 100_000)]
    ds = company(sales, hire="2024-11-01")
    dec = calculate(plan, ds, "2025-12").summary.iloc[-1]
    assert dec["payable"] == 0.0 and dec["draw_balance"] == -4_900.0
    jan = calculate(plan, ds, "2026-01").summary.iloc[-1]
    assert jan["draw_recovered"] == 4_900.0 and jan["payable"] == 5_100.0
    assert jan["draw_balance"] == 0.0


def test_a_plan_on_another_fiscal_calendar_than_the_data_is_refused(company, make_plan):
    """The data's fiscal year starts in April, so its 2026-Q1 quota is for April-June 2025; a
    plan counting from January would read it as January-March 2026 and pay on it silently."""
    from spm_model.errors import SpmConfigError

    ds = company([("2025-05-10", 80_000)], [("2026-Q1", 100_000)])
    ds.meta = ds.meta.model_copy(update={"fy_start_month": 4})
    flat = [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.1}]
    with pytest.raises(SpmConfigError, match="counts fiscal years from month 1, the data"):
        calculate(make_plan(flat), ds, "2026-Q1")
    res = calculate(make_plan(flat, fy_start_month=4), ds, "2026-Q1")
    assert res.lines.iloc[0]["quota"] == 100_000.0 and res.summary["earned"].tolist() == [8_000.0]


def test_a_cancellation_after_the_rep_left_is_named_not_dropped_silently(company, make_plan):
    """Booked 10 March, the rep leaves 30 April, the customer cancels 10 May: the reversal falls
    after the last day on the plan, on no statement; the run says so."""
    flat = [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}]
    plan = make_plan(flat, clawback={"window_days": 90})
    ds = company(
        [("2025-03-10", 10_000)], end="2025-04-30", cancellations=[("2025-05-10", "T1", -10_000)]
    )
    res = calculate(plan, ds, "2025-Q2")
    msgs = [p.message for p in res.inputs.problems]
    assert any(
        m.startswith("A left on 2025-04-30: cancellation credit dated after it is on no statement")
        and "on 2025-05-10 (-10,000.00)" in m
        for m in msgs
    ), msgs


def test_a_period_without_quota_rows_is_named_not_paid_as_a_quiet_zero(company, make_plan):
    """Quotas for 2025-Q1 only: in 2025-Q2 the rep's 40,000 meets a quota of 0, so a curve on
    attainment pays 0; the run names the measure, the period and the rep."""
    curve = [
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "sales",
            "weight": 1.0,
            "points": [{"attainment": 0.0, "payout": 0.0}, {"attainment": 1.0, "payout": 1.0}],
        }
    ]
    plan = make_plan(curve, pay_mix={"base": 0.5, "variable": 0.5})
    ds = company([("2025-02-01", 40_000), ("2025-05-01", 40_000)], [("2025-Q1", 100_000)])
    ok = calculate(plan, ds, "2025-Q1")
    assert not [p for p in ok.inputs.problems if "no quota row" in p.message]
    res = calculate(plan, ds, "2025-Q2")
    assert res.summary["earned"].tolist() == [0.0]
    msgs = [p.message for p in res.inputs.problems if "no quota row" in p.message]
    assert msgs == [
        "no quota row for measure 'sales' covers 2025-Q2 for 1 rep(s) on the plan (A): their "
        "quota is 0, so pay that reads attainment is 0; add the rows (period labels in the "
        "plan's fiscal calendar)"
    ]


def test_a_year_asked_for_before_it_ends_runs_to_the_last_pay_period_with_data(
    company, make_plan
):
    """Data end 30 September; 2025 on a quarterly year-to-date plan with a 50% threshold: Q1-Q3
    pay 7,812.50 each (25,000 of a 40,000 quarterly quota: 62.5% of a 12,500 quarterly
    target). Q4 has not begun: it is left out and named. Computed on no sales it took the
    year to date to 75,000 / 160,000 = 46.9%, under the threshold: -23,437.50."""
    curve = [
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "sales",
            "weight": 1.0,
            "points": [{"attainment": 0.5, "payout": 0.5}, {"attainment": 1.0, "payout": 1.0}],
        }
    ]
    plan = make_plan(curve, cumulative=True, pay_mix={"base": 0.5, "variable": 0.5})
    sales = [("2025-02-01", 25_000), ("2025-05-01", 25_000), ("2025-08-01", 25_000)]
    quotas = [(f"2025-Q{i}", 40_000) for i in range(1, 5)]
    ds = company(sales, quotas)
    ds.meta.end_date = pd.Timestamp("2025-09-30").date()
    res = calculate(plan, ds, "2025")
    assert res.summary["period"].tolist() == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert res.summary["earned"].tolist() == [7_812.5, 7_812.5, 7_812.5]
    assert [p.message for p in res.inputs.problems if "begin" in p.message] == [
        "2025: 2025-Q4 begin(s) after the end of the data (2025-09-30): left out, the "
        "statements run to 2025-Q3"
    ]
    whole = calculate(plan, ds, "2025", stop_at_data_end=False)
    assert whole.summary["earned"].tolist() == [7_812.5, 7_812.5, 7_812.5, -23_437.5]


@pytest.mark.parametrize(("rows", "quota"), [("full_period", 25_000.0), ("as_employed", 50_000.0)])
def test_quota_rows_set_for_the_days_employed_are_not_prorated_again(company, make_plan, rows, quota):
    """Hired 15 February: employed 45 of 2025-Q1's 90 days. The quota row says 50,000. Read as
    a full-quarter quota it is prorated to 50,000 x 45 / 90 = 25,000; read as already set for
    the days employed (what spm quota and the generator write) it stays 50,000, and 50,000
    sold is 100%, not 200%."""
    curve = [
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "sales",
            "weight": 1.0,
            "points": [{"attainment": 0.0, "payout": 0.0}, {"attainment": 2.0, "payout": 2.0}],
        }
    ]
    plan = make_plan(
        curve,
        pay_mix={"base": 0.5, "variable": 0.5},
        proration={"method": "days", "quota_rows": rows},
    )
    ds = company([("2025-03-01", 50_000)], [("2025-Q1", 50_000)], hire="2025-02-15")
    line = calculate(plan, ds, "2025-Q1").lines.iloc[0]
    assert line["quota"] == quota
    assert line["attainment"] == 50_000 / quota
