"""Percentages in plan YAML: "5%" reads as 0.05 exactly; a bare 5 for 5% is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spm_model.plans import PeriodInputs, Plan, PlanError, load_plan
from spm_model.plans.money import D
from spm_model.plans.percent import percent_to_fraction

BASE = {
    "id": "t",
    "name": "test",
    "effective_from": "2025-01-01",
    "measurement_period": "quarter",
    "pay_frequency": "quarter",
    "target_incentive": 40_000,
    "measures": {"sales": {}, "deals": {"unit": "count", "source": "units"}},
}


def plan_with(*components, **extra) -> Plan:
    return Plan.from_dict({**BASE, **extra, "components": list(components)})


def messages(*components) -> list[str]:
    with pytest.raises(PlanError) as err:
        plan_with(*components)
    return [p.message for p in err.value.problems]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5%", 0.05),
        ("12.5 %", 0.125),
        (" 1.1%", 0.011),
        ("150%", 1.5),
        ("-2%", -0.02),
        (".5%", 0.005),
    ],
)
def test_percent_text_is_read_exactly(text, value):
    assert percent_to_fraction(text) == value
    assert D(percent_to_fraction(text)) == D(value)


@pytest.mark.parametrize("other", ["5", "5 percent", "%5", "5%%", "abc", 5, None, 0.05])
def test_anything_else_is_left_to_the_field(other):
    assert percent_to_fraction(other) == other


@given(st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False))
def test_any_percentage_is_the_decimal_fraction(d):
    """The fraction's shortest text is the percentage divided by 100, digit for digit."""
    assert D(percent_to_fraction(f"{d}%")) == d / 100


def test_percent_rates_pay_the_same_as_fractions():
    """Tiered commission on 180,000 of sales against a 150,000 quota, written both ways:
    marginal 5% to quota, 8% above: 7,500 + 2,400 = 9,900.00; a 50%-weighted curve paying 100%
    at 100% and 150% at 120% of a 10,000 target: 5,000 x 1.5 = 7,500.00; total 17,400.00."""

    def plan(rate_lo, rate_hi, bound, weight, att, pay):
        return plan_with(
            {
                "type": "commission",
                "name": "c",
                "measure": "sales",
                "weight": weight,
                "basis": "attainment",
                "tiers": [
                    {"from": 0, "to": bound, "rate": rate_lo},
                    {"from": bound, "rate": rate_hi},
                ],
            },
            {
                "type": "payout_curve",
                "name": "b",
                "measure": "sales",
                "weight": weight,
                "points": [
                    {"attainment": bound, "payout": bound},
                    {"attainment": att, "payout": pay},
                ],
            },
        )

    as_text = plan("5%", "8%", "100%", "50%", "120%", "150%")
    as_fractions = plan(0.05, 0.08, 1.0, 0.5, 1.2, 1.5)
    assert as_text.model_dump() == as_fractions.model_dump()
    inputs = PeriodInputs({"sales": 180_000}, {"sales": 150_000}, 10_000)
    for p in (as_text, as_fractions):
        res = p.evaluate_exact(inputs)
        assert [line.earned for line in res.lines] == [Decimal("9900.00"), Decimal("7500.00")]


def test_a_bare_percentage_as_a_rate_on_money_is_refused_with_the_fraction_to_write():
    msgs = messages({"type": "commission", "name": "c", "measure": "sales", "rate": 5})
    assert msgs == [
        "rate 5 on money measure 'sales' pays 500% of the amount: rates are fractions "
        "(write 0.05 or '5%')"
    ]
    msgs = messages(
        {
            "type": "commission",
            "name": "c",
            "measure": "sales",
            "tiers": [{"from": 0, "to": 1000, "rate": 0.05}, {"from": 1000, "rate": 8}],
        }
    )
    assert len(msgs) == 1 and msgs[0].startswith("rate 8 on money measure 'sales' pays 800%")


def test_rates_above_one_stay_allowed_where_they_mean_something():
    """Currency per unit on a count measure; multiples of the base commission rate."""
    plan_with({"type": "commission", "name": "c", "measure": "deals", "rate": 90})
    plan_with(
        {
            "type": "commission",
            "name": "c",
            "measure": "sales",
            "weight": 1.0,
            "rate_basis": "bcr",
            "basis": "attainment",
            "tiers": [{"from": 0, "to": 1, "rate": 1.0}, {"from": 1, "rate": 2.0}],
        }
    )
    plan_with({"type": "commission", "name": "c", "measure": "sales", "rate": 1})  # 100%


def test_attainments_written_as_percent_numbers_are_refused():
    msgs = messages(
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "sales",
            "weight": 1,
            "gate": {"measure": "sales", "min_attainment": 70},
            "points": [{"attainment": 0.5, "payout": 0}, {"attainment": 12, "payout": 1}],
        }
    )
    assert (
        "attainment 70 is 7,000% of quota: attainments are fractions (write 0.7 or '70%')" in msgs
    )
    assert any(m.startswith("attainment 12 is 1,200% of quota") for m in msgs)
    plan_with(  # 10.0 (1,000%) is the highest attainment a plan may name
        {
            "type": "payout_curve",
            "name": "b",
            "measure": "sales",
            "weight": 1,
            "points": [{"attainment": 0.5, "payout": 0}, {"attainment": 10, "payout": 3}],
        }
    )


def test_percent_bounds_on_amount_tiers_ask_for_the_attainment_basis():
    msgs = messages(
        {
            "type": "commission",
            "name": "c",
            "measure": "sales",
            "tiers": [{"from": 0, "to": "100%", "rate": 0.05}, {"from": "100%", "rate": 0.08}],
        }
    )
    assert (
        msgs
        == [
            "tier bounds written as percentages are attainments: add 'basis: attainment' (amount "
            "tiers are in currency or units)"
        ]
        * 2
    )
    msgs = messages(
        {
            "type": "commission",
            "name": "c",
            "measure": "sales",
            "basis": "attainment",
            "tiers": [{"from": 0, "to": 100, "rate": 0.05}, {"from": 100, "rate": 0.08}],
        }
    )
    assert msgs[0].startswith("attainment 100 is 10,000% of quota")


def test_a_vendor_style_gap_says_what_to_write():
    msgs = messages(
        {
            "type": "commission",
            "name": "c",
            "measure": "sales",
            "tiers": [{"from": 0, "to": 499.99, "rate": 0.25}, {"from": 500, "rate": 0.3}],
        }
    )
    assert msgs == [
        "gap between tiers: tier 0 ends at 499.99, tier 1 starts at 500 (a tier is [from, to): "
        "write to: 500)"
    ]


def test_a_numeric_version_is_read_as_its_text(tmp_path):
    p = tmp_path / "v.yaml"
    p.write_text(
        "id: v\nname: V\nversion: 2\neffective_from: 2025-01-01\nmeasures: {sales: {}}\n"
        "components:\n  - {type: commission, name: c, measure: sales, rate: '3%'}\n"
    )
    plan = load_plan(p)
    assert plan.version == "2" and plan.components[0].rate == 0.03


def test_a_percentage_in_an_amount_field_says_the_field_is_an_amount():
    msgs = messages(
        {"type": "commission", "name": "c", "measure": "sales", "rate": 0.1, "cap_amount": "10%"}
    )
    assert msgs == [
        "'10%' is a percentage, but this field is an amount (currency or units); percentages go "
        "in rates, weights and attainments"
    ]


def test_settings_that_would_do_nothing_or_clash_are_named_plainly():
    flat = {"type": "commission", "name": "c", "measure": "sales", "rate": 0.1}
    with pytest.raises(PlanError) as err:
        plan_with(flat, true_up={"negative": "recover"})
    assert [p.message for p in err.value.problems] == [
        "true_up settings apply to year-to-date plans: add 'cumulative: true' or remove them"
    ]
    with pytest.raises(PlanError) as err:
        plan_with(flat, clawback={"window_days": 90, "window_months": 3})
    assert [p.message for p in err.value.problems] == [
        "give exactly one of window_days or window_months"
    ]  # (pydantic's "Value error, " prefix is gone)


def test_check_plan_illustrates_a_plan_that_leaves_ote_to_each_rep():
    from spm_model.plans.summary import plan_summary

    base = {k: v for k, v in BASE.items() if k != "target_incentive"}
    plan = Plan.from_dict(
        {
            **base,
            "pay_mix": {"base": "50%", "variable": "50%"},
            "components": [
                {
                    "type": "payout_curve",
                    "name": "b",
                    "measure": "sales",
                    "weight": 1,
                    "points": [{"attainment": 0, "payout": 0}, {"attainment": 1, "payout": 1}],
                }
            ],
        }
    )
    text = plan_summary(plan)
    assert "target incentive 50,000.00 a year, 12,500.00 per quarter (illustrated at an OTE" in text
    assert "nan" not in text and "100.0%" in text
