from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spm_model import load_dataset
from spm_model.calc import calculate, credit_dataset, payable
from spm_model.errors import SpmConfigError
from spm_model.plans import PlanError, load_plan
from spm_model.widgets import EarningsEstimator, Leaderboard, PlanDesigner, logic

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ds():
    return load_dataset(ROOT / "data" / "sample")


@pytest.fixture(scope="module")
def plan():
    return load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")


@pytest.fixture(scope="module")
def credits(ds, plan):
    return credit_dataset(ds, [plan])


@pytest.fixture(scope="module")
def totals(credits):
    return credits.totals("quarter")


# -- plan designer -------------------------------------------------------------
def test_edit_plan_changes_payout_and_keeps_original(plan):
    before = logic.payout_curve_table(plan, [1.0, 1.5, 2.0])
    edited = logic.edit_plan(
        plan, "new_arr", tiers=[{"from": 0.0, "to": 1.0, "rate": 1.0}, {"from": 1.0, "rate": 3.0}]
    )
    after = logic.payout_curve_table(edited, [1.0, 1.5, 2.0])
    # TI 25,000 a quarter; new_arr is 80% of it: 20,000 at 100%, +3x BCR above
    assert after["new_arr"].tolist() == [
        20000.0,
        50000.0,
        60000.0,
    ]  # 3x component cap bites at 200%
    assert before["new_arr"].tolist() == [20000.0, 40000.0, 60000.0]
    uncapped = logic.edit_plan(edited, "new_arr", cap_multiple=0)
    assert logic.payout_curve_table(uncapped, [2.0])["new_arr"].iloc[0] == 80000.0
    assert logic.payout_curve_table(uncapped, [2.0])["total"].iloc[0] == 75000.0  # plan cap 3x TI
    free = logic.edit_plan(uncapped, "new_arr", total_cap_multiple=0)
    assert logic.payout_curve_table(free, [2.0])["total"].iloc[0] == 87500.0


def test_invalid_edit_is_reported_not_raised(plan):
    new, err = logic.try_edit(
        plan, "new_arr", tiers=[{"from": 0, "to": 1.0, "rate": 1}, {"from": 0.5, "rate": 3}]
    )
    assert new is None and "components[0].tiers[1].from" in err and "overlapping" in err
    with pytest.raises(PlanError):
        logic.edit_plan(
            plan,
            "renewals",
            points=[{"attainment": 1.0, "payout": 1.0}, {"attainment": 0.5, "payout": 2.0}],
        )
    with pytest.raises(SpmConfigError, match="no component 'nope'"):
        logic.edit_plan(plan, "nope", rate=0.1)


def test_plan_designer_callbacks(plan):
    seen = []

    def cost(p):
        seen.append(p)
        return np.array([1.0, 2.0, 3.0]), 2.5

    d = PlanDesigner(plan, cost_function=cost, plot=False)
    assert d.component.value == "new_arr" and d.kind == "tiers" and len(d.step_inputs) == 4
    assert d.table.set_index("attainment").loc[1.0, "pct_of_target"] == pytest.approx(1.0)
    d.step_inputs[2]["rate"].value = 4.0  # accelerator 2x -> 4x BCR
    assert d.error == "" and d.plan is not plan and seen[-1] is d.plan
    assert d.table.set_index("attainment").loc[1.5, "new_arr"] == pytest.approx(
        20000 + 0.5 * 4.0 * 20000
    )
    d.step_inputs[1][
        "from"
    ].value = 0.2  # overlaps the first tier: error shown, last valid plan kept
    assert "overlapping" in d.error and "overlapping" in d.status.value
    good = d.plan
    d.step_inputs[1]["from"].value = 0.5
    assert d.error == ""
    assert good is not d.plan
    d.component.value = "renewals"
    assert d.kind == "points" and len(d.step_inputs) == 3
    d.step_inputs[0]["payout"].value = 0.2
    assert d.table.set_index("attainment").loc[0.5, "renewals"] == pytest.approx(0.2 * 5000)
    # the edits of the other component are kept
    assert d.table.set_index("attainment").loc[1.5, "new_arr"] == pytest.approx(60000.0)


# -- earnings estimator --------------------------------------------------------
def test_estimate_earnings_is_the_statement(ds, plan, credits, totals):
    rep = ds.reps[ds.reps["plan_id"] == "saas_ae"]["rep_id"].iloc[0]
    pos = logic.rep_position(ds, plan, rep, "2026-Q3", credits)
    q = ds.quotas[(ds.quotas.rep_id == rep) & (ds.quotas.period == "2026-Q3")].set_index("measure")[
        "amount"
    ]
    assert pos.quota["new_business"] == q["new_business"]
    t = totals[(totals.rep_id == rep) & (totals.period == "2026-Q3")].set_index("measure")["amount"]
    assert pos.credited["new_business"] == pytest.approx(t["new_business"])
    _, pay = logic.estimate_earnings(plan, pos)
    assert pay["difference"] == 0.0
    # a closed quarter: "now" is the statement's payable, to the cent
    stmt = payable(calculate(plan, ds, "2026-Q3", credits=credits))[rep]
    assert pay["now"] == pytest.approx(stmt, abs=0.001)
    _, pay2 = logic.estimate_earnings(plan, pos, extra_amounts={"new_business": 50000})
    assert pay2["with_deals"] > pay2["now"] == pay["now"]
    with pytest.raises(SpmConfigError, match="no measure 'services'"):
        logic.estimate_earnings(plan, pos, extra_amounts={"services": 1})
    with pytest.raises(TypeError, match="CreditingResult"):
        logic.rep_position(ds, plan, rep, "2026-Q3", totals)


def test_estimator_next_quarter_deals(ds, plan, credits):
    rep = ds.reps[ds.reps["plan_id"] == "saas_ae"]["rep_id"].iloc[0]
    est = EarningsEstimator(ds, plan, credits, rep_id=rep)
    assert est.period == "2026-Q4" and est.payout["now"] == 0.0
    d = est.position.open_deals
    nb = d[d["measure"] == "new_business"]
    pick = nb["opportunity_id"].iloc[:2].tolist()
    est.deals.value = tuple(pick)
    added = nb["amount"].iloc[:2].sum()
    row = est.table.set_index("measure").loc["new_business"]
    assert row["added"] == pytest.approx(added)
    att = added / est.position.quota["new_business"]
    assert row["attainment_with"] == pytest.approx(att)
    # below 50% of quota new ARR pays 0.5x BCR: 0.5 * att * (0.8 * TI); renewals curve starts at 50%
    if att <= 0.5:
        assert est.payout["with_deals"] == pytest.approx(
            0.5 * att * 0.8 * est.position.target_incentive, abs=0.01
        )
    assert "Estimated payout" in est.result.value


def test_default_rep_is_the_first_on_the_plan_still_employed(ds, plan):
    reps = ds.reps.copy()
    first = reps[reps["plan_id"] == plan.id].sort_values("rep_id")["rep_id"].tolist()
    assert logic.default_rep(ds, plan) == first[0]
    # the first has left and the second is not hired yet on the as-of date: the third
    day = pd.Timestamp(ds.as_of)
    reps.loc[reps["rep_id"] == first[0], "end_date"] = day - pd.Timedelta(days=1)
    reps.loc[reps["rep_id"] == first[1], "hire_date"] = day + pd.Timedelta(days=1)
    moved = type(ds)({**ds.tables, "reps": reps}, meta=ds.meta)
    assert logic.default_rep(moved, plan) == first[2]
    reps["end_date"] = pd.Timestamp("2020-01-01")
    with pytest.raises(SpmConfigError, match="no rep on plan 'saas_ae' is employed on"):
        logic.default_rep(type(ds)({**ds.tables, "reps": reps}, meta=ds.meta), plan)


# -- leaderboard ---------------------------------------------------------------
def test_leaderboard_ranks_and_movement(ds, totals):
    lb = logic.leaderboard(ds, totals, "2026-Q3", roles=["AE"])
    assert lb["rank"].tolist() == list(range(1, len(lb) + 1))
    assert lb["attainment"].is_monotonic_decreasing
    prev = logic.leaderboard(ds, totals, "2026-Q2", roles=["AE"]).set_index("rep_id")["rank"]
    both = lb.dropna(subset=["previous_rank"]).set_index("rep_id")
    assert (both["previous_rank"] == prev.reindex(both.index)).all()
    assert (both["movement"] == both["previous_rank"] - both["rank"]).all()
    assert (
        logic.movement_arrow(3) == "▲ 3"
        and logic.movement_arrow(-1) == "▼ 1"
        and logic.movement_arrow(np.nan) == "new"
    )
    w = Leaderboard(ds, totals, period="2026-Q3")
    w.roles.value = ("AE",)
    pd.testing.assert_frame_equal(w.table, lb)
    w.period.value = "2026-Q2"
    assert w.table["rank"].iloc[0] == 1 and "▲" in w.out.value


# -- what-if simulation --------------------------------------------------------
@pytest.fixture(scope="module")
def model(ds, plan):
    from spm_model.calc import credit_dataset
    from spm_model.simulate import from_dataset

    return from_dataset(ds, plan, credits=credit_dataset(ds, [plan]))


def test_what_if_moves_cost_the_right_way(model, plan):
    base = logic.what_if(model, plan, n_scenarios=400, seed=3)
    again = logic.what_if(model, plan, n_scenarios=400, seed=3)
    assert base.figures == again.figures  # same seed, same numbers
    assert base.figures["budget"] == logic.plan_budget(model, plan)
    assert base.figures["budget"] == pytest.approx(
        sum(float(plan.annual_target_incentive(float(o))) for o in model.ote)
    )
    up = logic.what_if(model, plan, mean_scale=1.2, n_scenarios=400, seed=3)
    down = logic.what_if(model, plan, mean_scale=0.8, n_scenarios=400, seed=3)
    assert down.figures["mean_cost"] < base.figures["mean_cost"] < up.figures["mean_cost"]
    assert up.figures["p_over_budget"] >= base.figures["p_over_budget"]
    assert base.figures["p_over_budget"] == pytest.approx(
        np.mean(base.costs > base.figures["budget"])
    )
    with pytest.raises(SpmConfigError, match=r"at most 0\.95"):
        logic.what_if(model, plan, rho_company=0.6, rho_group=0.5)


def test_what_if_sliders_and_designer_cost(model, plan):
    from spm_model.widgets import WhatIfSliders

    w = WhatIfSliders(model, plan, n_scenarios=300, seed=1, plot=False)
    base = w.result.figures["mean_cost"]
    w.mean_scale.value = 1.3
    assert w.result.figures["mean_cost"] > base and "chance of overrun" in w.figures.value
    w.rho_company.value = 0.9
    w.rho_group.value = 0.5
    assert "at most 0.95" in w.error and w.result.figures["mean_cost"] > base
    d = PlanDesigner(
        plan, cost_function=logic.cost_function(model, n_scenarios=300, seed=1), plot=False
    )
    before = d.costs.mean()
    d.cap.value = 1.0  # new_arr capped at its target: cheaper on the same scenarios
    assert d.costs.mean() < before and d.budget == logic.plan_budget(model, plan)
