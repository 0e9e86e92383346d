"""Engine pieces: fused period payouts equal the plan engine; bins; streams; validation."""

from __future__ import annotations

import numpy as np
import pytest

from spm_model.errors import SpmConfigError
from spm_model.plans import Plan
from spm_model.simulate import from_assumptions, simulate
from spm_model.simulate.engine import (
    HIST_EDGES,
    LEVERAGE_EDGES,
    bin_index,
    period_payable,
    prepare_plan,
    stream,
)


def test_period_payable_matches_plan_engine(saas_plan, make_model):
    model = make_model(12)
    ctx = prepare_plan(saas_plan, model)
    assert ctx.compiled is not None  # the fused path is exercised
    rng = np.random.default_rng(3)
    q = {m: model.quota[:, i, :] for i, m in enumerate(model.measures)}
    cred = {m: np.round(q[m] * rng.lognormal(0, 0.6, (50, 12, 4)), 2) for m in model.measures}
    cred["new_business"][0, 0, 0] = 0.0
    cred["renewal"][1, 1, 1] = q["renewal"][1, 1] * 0.5  # exactly at a curve point
    assert ctx.draws is not None and ctx.draws.sum() > 0  # two new hires with draws
    fast = period_payable(ctx, cred, q, ctx.ti, ctx.draws)
    ref = saas_plan.payout_arrays_periods(cred, q, ctx.ti, draws=ctx.draws)["payable"]
    np.testing.assert_array_equal(fast, ref)
    # 2-D (backfill) shapes
    c2 = {m: v[:, 3, :] for m, v in cred.items()}
    q2 = {m: np.broadcast_to(v[3], (50, 4)) for m, v in q.items()}
    ti2 = np.broadcast_to(ctx.ti[3], (50, 4))
    ref2 = saas_plan.payout_arrays_periods(c2, q2, ti2, draws=np.zeros(4))["payable"]
    np.testing.assert_array_equal(period_payable(ctx, c2, q2, ti2, None), ref2)


def test_cumulative_plan_uses_engine(saas_plan, make_model):
    d = saas_plan.to_dict()
    d["cumulative"] = True
    d["id"] = "saas_ytd"
    plan = Plan.from_dict(d)
    model = make_model(9)
    ctx = prepare_plan(plan, model)
    assert ctx.compiled is None
    res = simulate(model, [saas_plan, plan], 300, seed=4)
    # YTD true-up changes the cost but both are sane
    assert res.costs(0).mean() > 0 and res.costs(1).mean() > 0


@pytest.mark.parametrize("edges", [LEVERAGE_EDGES, HIST_EDGES])
def test_bin_index_equals_searchsorted(edges):
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [rng.uniform(-0.5, 4, 20_000), edges, edges + 1e-12, edges - 1e-12, [np.nan]]
    )
    want = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 1)
    got = bin_index(x, edges)
    ok = np.isfinite(x)
    np.testing.assert_array_equal(got[ok], want[ok])


def test_streams_are_spawn_children():
    a = stream(5, 1, 3, 0).standard_normal(4)
    child = np.random.SeedSequence(5).spawn(2)[1].spawn(4)[3].spawn(1)[0]
    b = np.random.Generator(np.random.PCG64(child)).standard_normal(4)
    np.testing.assert_array_equal(a, b)


def test_plan_measure_missing_is_clear(saas_plan):
    model = from_assumptions({"new_business": {"quota": 1e5}}, n_reps=3, periods=4)
    with pytest.raises(SpmConfigError, match="renewal"):
        simulate(model, saas_plan, 10, seed=1)


def test_frequency_mismatch_is_clear(saas_plan):
    model = from_assumptions(
        {"new_business": {"quota": 1e5}, "renewal": {"quota": 1e5}},
        n_reps=3,
        periods=12,
        freq="month",
    )
    with pytest.raises(SpmConfigError, match="quarter"):
        simulate(model, saas_plan, 10, seed=1)


def test_bad_parameters_listed_together():
    with pytest.raises(SpmConfigError) as e:
        from_assumptions(
            {"x": {"quota": 1.0}}, n_reps=2, rho_company=0.7, rho_group=0.5, attrition=1.5
        )
    msg = str(e.value)
    assert "must stay below 1" in msg and "attrition" in msg


def test_bad_distribution_is_clear():
    with pytest.raises(SpmConfigError, match="mean > 0"):
        from_assumptions({"x": {"quota": 1.0, "distribution": {"mean": -1, "sd": 1}}}, n_reps=2)
    with pytest.raises(SpmConfigError, match="unknown field"):
        from_assumptions({"x": {"quota": 1.0, "distribution": {"mu": 1}}}, n_reps=2)


def test_seed_required(saas_plan, make_model):
    with pytest.raises(SpmConfigError, match="seed"):
        simulate(make_model(3), saas_plan, 10, seed=-1)


def test_period_payable_monthly_gate_recoverable_draw():
    """Monthly measurement, quarterly pay, a gate and a recoverable draw: fused == engine."""
    plan = Plan.from_dict(
        {
            "id": "gated",
            "name": "gated monthly",
            "effective_from": "2027-01-01",
            "measurement_period": "month",
            "pay_frequency": "quarter",
            "target_incentive": 120_000,
            "measures": {"a": {"source": "credit"}, "b": {"source": "credit"}},
            "components": [
                {
                    "type": "commission",
                    "name": "ca",
                    "measure": "a",
                    "weight": 0.7,
                    "basis": "attainment",
                    "rate_basis": "bcr",
                    "tiers": [{"from": 0, "to": 1, "rate": 1.0}, {"from": 1, "rate": 1.8}],
                    "gate": {
                        "measure": "b",
                        "min_attainment": 0.6,
                        "otherwise_cap_attainment": 1.0,
                    },
                },
                {
                    "type": "payout_curve",
                    "name": "cb",
                    "measure": "b",
                    "weight": 0.3,
                    "points": [
                        {"attainment": 0.5, "payout": 0.25},
                        {"attainment": 1.0, "payout": 1.0},
                    ],
                    "gate": {"measure": "a", "min_attainment": 0.4},
                },
            ],
            "cap": {"multiple_of_target": 2.5},
            "draw": {"kind": "recoverable", "fraction_of_target": 0.5, "periods": 2},
        }
    )
    model = from_assumptions(
        {"a": {"quota": 40_000.0}, "b": {"quota": 20_000.0}},
        n_reps=8,
        periods=12,
        freq="month",
        hire_period=[0, 0, 3, -20, -20, -20, -20, -20],
    )
    ctx = prepare_plan(plan, model)
    assert ctx.compiled is not None and ctx.n_pay == 4
    rng = np.random.default_rng(1)
    q = {m: model.quota[:, i, :] for i, m in enumerate(model.measures)}
    cred = {m: np.round(q[m] * rng.lognormal(-0.1, 0.5, (40, 8, 12)), 2) for m in q}
    fast = period_payable(ctx, cred, q, ctx.ti, ctx.draws)
    ref = plan.payout_arrays_periods(cred, q, ctx.ti, draws=ctx.draws)["payable"]
    np.testing.assert_array_equal(fast, ref)
    assert ctx.draws[2, 1] > 0 and ctx.draws[2, 0] == 0  # hired in month 3: draws from Q2
