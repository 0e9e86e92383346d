"""The fused numba kernel equals the vectorised (and so the exact) engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spm_model.plans import Plan, load_plan
from spm_model.plans.fast import compile_plan, fast_payout_total
from tests.plans.test_plans_vector_exact import COMPONENTS, random_inputs, vector_all

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates" / "plans").glob("*.yaml"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_fast_equals_vectorised_on_templates(path):
    plan = load_plan(path)
    data = random_inputs(plan, 20_000, seed=7)
    expected = vector_all(plan, data).total
    if compile_plan(plan) is None:  # falls back to the numpy engine
        assert plan.id in {"channel_manager", "field_rep", "sales_manager"}
        return
    got = fast_payout_total(plan, data["credited"], data["quota"], data["ti"])
    np.testing.assert_array_equal(got, expected)


def test_saas_ae_is_compiled():
    assert compile_plan(load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")) is not None


@pytest.mark.parametrize("kind", sorted(COMPONENTS))
def test_fast_equals_vectorised_on_component_kinds(kind):
    plan = Plan.from_dict(
        {
            "id": "p",
            "name": "p",
            "effective_from": "2025-01-01",
            "target_incentive": 100000,
            "measures": {"m": {}, "g": {}},
            "components": [COMPONENTS[kind]],
            "cap": {"multiple_of_target": 2.0},
        }
    )
    rng = np.random.default_rng(3)
    n = 50_000
    q = np.round(rng.uniform(0, 2e6, n), 2)
    q[::50] = 0
    bounds = np.array([0, 0.3, 0.4, 0.5, 0.7, 0.8, 1.0, 1.3])
    a = np.where(rng.random(n) < 0.3, rng.choice(bounds, n), rng.uniform(-0.2, 3.5, n))
    c = np.round(a * np.where(q > 0, q, 1e5), 2)
    g = np.round(rng.choice([0.0, 0.5, 0.79, 0.8, 1.2], n) * 1000, 2)
    ti = np.round(rng.uniform(0, 1e5, n), 2)
    credited = {"m": c, "g": g}
    quota = {"m": q, "g": np.full(n, 1000.0)}
    expected = plan.payout_arrays(credited, quota, ti).total
    np.testing.assert_array_equal(fast_payout_total(plan, credited, quota, ti), expected)


def test_broadcasting_reps_by_scenarios():
    plan = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    rng = np.random.default_rng(0)
    q = {
        "new_business": rng.uniform(1e5, 1e6, (30, 1)).round(2),
        "renewal": rng.uniform(1e5, 1e6, (30, 1)).round(2),
    }
    c = {k: np.round(v * rng.lognormal(0, 0.5, (30, 400)), 2) for k, v in q.items()}
    ti = rng.uniform(1e4, 4e4, (30, 1)).round(2)
    got = fast_payout_total(plan, c, q, ti)
    assert got.shape == (30, 400)
    np.testing.assert_array_equal(got, plan.payout_arrays(c, q, ti).total)


def test_periods_scale_cap_amounts_like_the_numpy_engine():
    plan = load_plan(ROOT / "templates" / "plans" / "sdr.yaml")  # meetings capped at 3,000/month
    meetings = np.arange(0, 200, dtype=float)
    credited = {"meetings": meetings, "pipeline": np.full(200, 300_000.0)}
    quota = {"meetings": np.full(200, 45.0), "pipeline": np.full(200, 450_000.0)}
    for periods in (1.0, 3.0):
        got = fast_payout_total(plan, credited, quota, 6750.0, periods=periods)
        want = plan.payout_arrays(credited, quota, 6750.0, periods=periods).total
        np.testing.assert_array_equal(got, want)
    assert got.max() == 9000.0 + 6750.0 * 0.4 * 0.5  # 3 months of meeting cap + pipeline step


def test_a_quota_is_needed_only_where_a_component_reads_it():
    """Marginal tiers 25% to 500, 30% above, on 1,500: 125 + 300 = 425.00 with no quota at
    all, in both engines; a curve on the measure reads its quota, so it must be given."""
    tiers = Plan.from_dict(
        {
            "id": "t",
            "name": "t",
            "effective_from": "2025-01-01",
            "measures": {"sales": {}},
            "components": [
                {
                    "type": "commission",
                    "name": "c",
                    "measure": "sales",
                    "tiers": [{"from": 0, "to": 500, "rate": 0.25}, {"from": 500, "rate": 0.3}],
                }
            ],
        }
    )
    sales = {"sales": np.array([1500.0, 400.0])}
    assert fast_payout_total(tiers, sales, {}, 0.0).tolist() == [425.0, 100.0]
    assert tiers.payout_arrays(sales, {}, 0.0).total.tolist() == [425.0, 100.0]
    with pytest.raises(KeyError, match="no credited array for measure 'sales'"):
        fast_payout_total(tiers, {}, {}, 0.0)
    curve = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    credited = {m: np.array([1000.0]) for m in curve.measures}
    with pytest.raises(KeyError, match="no quota array for measure"):
        fast_payout_total(curve, credited, {}, 1000.0)
