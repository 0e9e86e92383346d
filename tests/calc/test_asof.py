"""Pay as of a date and exact what-ifs: they are the statement engine, never an estimate of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from spm_model.calc import calculate, credit_dataset
from spm_model.calc.asof import (
    WhatIfDeal,
    as_of,
    as_of_many,
    estimate,
    payable,
    primary_measure,
    what_if,
)
from spm_model.errors import SpmConfigError
from spm_model.plans import load_plan

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
PLANS = ROOT / "templates" / "plans"

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="data/sample not generated")


@pytest.fixture(scope="module")
def ds():
    from spm_model.data import load_dataset

    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def plans():
    return {p.id: p for p in (load_plan(f) for f in sorted(PLANS.glob("*.yaml")))}


@pytest.fixture(scope="module")
def credits(ds, plans):
    return credit_dataset(ds, plans)


@pytest.fixture(scope="module")
def q3(ds, plans, credits):
    """2025-Q3 as of its last day, for every plan (monthly plans: the quarter's three months)."""
    return {
        r.plan.id: r for r in as_of_many(plans, ds, "2025-09-30", period="2025-Q3", credits=credits)
    }


def test_as_of_the_last_day_is_the_statement_for_every_plan(ds, plans, credits, q3):
    assert set(q3) == set(plans)
    for pid, res in q3.items():
        full = calculate(plans[pid], ds, "2025-Q3", credits=credits)
        pd.testing.assert_series_equal(payable(res), payable(full))
        cols = ["rep_id", "period", "component", "credited", "quota", "earned", "ytd_earned"]
        pd.testing.assert_frame_equal(res.lines[cols], full.lines[cols])
        assert res.as_of == pd.Timestamp("2025-09-30").date()


def test_as_of_mid_period_counts_only_credit_to_date(ds, plans, credits):
    plan = plans["saas_ae"]
    res = as_of(plan, ds, "2025-08-15", credits=credits)
    assert res.period == "2025-Q3"
    c = credits.totals("quarter", start="2025-07-01", end="2025-08-15", by=("rep_id", "measure"))
    got = res.lines.drop_duplicates(["rep_id", "measure"]).set_index(["rep_id", "measure"])
    want = c.set_index(["rep_id", "measure"])["amount"]
    both = got.join(want, how="inner")
    assert len(both) > 10
    # a saas_ae rep's credited value is their direct credit of the measure to date
    np.testing.assert_allclose(both["credited"], both["amount"], atol=0.005)


def test_as_of_outside_the_period_is_refused(ds, plans, credits):
    with pytest.raises(SpmConfigError, match="after period"):
        as_of(plans["saas_ae"], ds, "2025-10-02", period="2025-Q3", credits=credits)
    with pytest.raises(SpmConfigError, match="not a date"):
        as_of(plans["saas_ae"], ds, "yesterday-ish", credits=credits)


def test_what_if_without_changes_reproduces_the_statement(q3):
    for res in q3.values():
        pd.testing.assert_series_equal(payable(what_if(res)), payable(res))


def test_at_100_percent_a_saas_ae_earns_exactly_the_quarter_target(ds, q3):
    """Hand-checked: R0013's OTE 196,000 - base 98,000 = 98,000 a year -> 24,500 a quarter;
    the plan pays exactly the target incentive at 100% of both quotas (0.8 x + 0.2 x)."""
    res = what_if(q3["saas_ae"], "R0013", attainment=1.0)
    assert payable(res)["R0013"] == pytest.approx(24_500.00, abs=0.001)
    lines = res.lines.set_index("component")
    assert lines.loc["new_arr", "attainment"] == pytest.approx(1.0)
    assert lines.loc["renewals", "attainment"] == pytest.approx(1.0)


def test_what_if_deal_is_credited_on_the_as_of_day(ds, plans, credits):
    base = as_of(plans["saas_ae"], ds, "2025-08-15", credits=credits, reps=["R0013"])
    more = what_if(base, "R0013", deals=["50000:new_business"])
    a = base.lines.set_index("component").loc["new_arr", "credited"]
    b = more.lines.set_index("component").loc["new_arr", "credited"]
    assert b - a == pytest.approx(50_000.0)
    # and equals a statement on the data with that booking really made
    assert payable(more)["R0013"] > payable(base)["R0013"]


def test_estimate_scenarios_and_explain(ds, plans, credits):
    est = estimate(plans["saas_ae"], ds, "R0013", "2025-08-15", deals=[50_000], credits=credits)
    assert list(est.scenarios["scenario"]) == ["now", "with deals", "at 100%", "at 120%"]
    assert est.scenarios.loc[2, "payable"] == pytest.approx(24_500.0)
    assert (
        est.payable_now
        == payable(as_of(plans["saas_ae"], ds, "2025-08-15", credits=credits))["R0013"]
    )
    assert "R0013" in est.explain().text
    assert "payable" in repr(est)


def test_deal_parsing_and_measures(plans):
    assert WhatIfDeal.parse("25,000:renewal") == WhatIfDeal(25_000.0, "renewal")
    with pytest.raises(SpmConfigError, match="AMOUNT"):
        WhatIfDeal.parse("lots")
    assert primary_measure(plans["saas_ae"]) == "new_business"
    assert primary_measure(plans["sdr"]) == "pipeline"  # the only money measure


# -- properties ----------------------------------------------------------------------------------
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    day=st.dates(
        min_value=pd.Timestamp("2025-01-01").date(), max_value=pd.Timestamp("2025-12-31").date()
    ),
    amount=st.floats(min_value=0.01, max_value=2_000_000, allow_nan=False),
    k=st.integers(min_value=0, max_value=1000),
)
def test_adding_a_booking_never_lowers_pay_on_a_plan_without_decelerators(
    ds, plans, credits, day, amount, k
):
    """saas_ae's marginal rates rise with attainment, its caps are non-decreasing: more credit
    never pays less, whatever the rep, date or amount."""
    plan = plans["saas_ae"]
    reps = sorted(ds.reps.loc[ds.reps["plan_id"] == "saas_ae", "rep_id"].astype(str))
    rep = reps[k % len(reps)]
    try:
        base = as_of(plan, ds, day, credits=credits, reps=[rep])
    except Exception as exc:  # rep not employed in that quarter
        assert "employed" in str(exc)
        return
    if rep not in payable(base).index:  # employed this year, but not in that quarter
        return
    more = what_if(base, rep, deals=[amount])
    assert payable(more)[rep] >= payable(base)[rep]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pid=st.sampled_from(["saas_ae", "sales_manager", "account_manager", "sdr"]),
    quarter=st.sampled_from(["2024-Q2", "2024-Q4", "2025-Q1", "2025-Q3"]),
)
def test_estimate_on_the_last_day_equals_the_statement(ds, plans, credits, pid, quarter):
    plan = plans[pid]
    full = calculate(plan, ds, quarter, credits=credits)
    end = full.periods[-1].end
    got = as_of(plan, ds, end, period=quarter, credits=credits)
    pd.testing.assert_series_equal(payable(got), payable(full))


def test_cli_estimate(tmp_path):
    from spm_model.cli import app

    r = CliRunner().invoke(
        app,
        [
            "estimate",
            "--plan",
            str(PLANS),
            "--data",
            str(SAMPLE),
            "--rep",
            "R0013",
            "--as-of",
            "2025-08-15",
            "--deal",
            "50000",
            "--attainment",
            "1.0",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "now" in r.output and "with deals" in r.output and "24,500.00" in r.output
    bad = CliRunner().invoke(
        app, ["estimate", "--plan", str(PLANS), "--data", str(SAMPLE), "--rep", "NOPE"]
    )
    assert bad.exit_code != 0
