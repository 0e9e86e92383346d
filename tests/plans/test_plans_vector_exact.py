"""The vectorised engine agrees with the exact engine to the cent."""

from __future__ import annotations

import zlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spm_model.plans import PeriodInputs, Plan, load_plan

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates" / "plans").glob("*.yaml"))


def _boundaries(plan: Plan) -> list[float]:
    """Attainment levels where the plan's behaviour changes (tiers, points, bands, gates)."""
    out = {0.0, 1.0}
    for c in plan.components:
        for t in getattr(c, "tiers", None) or []:
            out.add(t.from_)
        for p in getattr(c, "points", None) or []:
            out.add(p.attainment)
        for b in getattr(c, "bands", None) or []:
            out.add(b.from_)
        for key in ("row_bands", "col_bands"):
            out.update(getattr(c, key, None) or [])
        if c.gate is not None:
            out.add(c.gate.min_attainment)
    return sorted(out)


def random_inputs(plan: Plan, n: int, seed: int) -> dict:
    """Random rep-periods in cents: attainments in [-0.2, 3.5] with many exact boundaries."""
    rng = np.random.default_rng(seed)
    bounds = np.array(_boundaries(plan))
    table = {}
    for name, m in plan.measures.items():
        key = m.quota_measure or name
        if m.unit == "count":
            table[key] = rng.integers(0, 40, n).astype(float)
        else:
            table[key] = np.round(rng.uniform(1_000, 2_000_000, n), 2)
            table[key][rng.random(n) < 0.03] = 0.0  # no quota
    quota = plan.resolve_quota_arrays(table)
    credited = {}
    for name, m in plan.measures.items():
        a = rng.uniform(-0.2, 3.5, n)
        at_bound = rng.random(n) < 0.3
        a[at_bound] = rng.choice(bounds, at_bound.sum())
        q = np.broadcast_to(quota[name], (n,))
        if m.unit == "count":
            credited[name] = np.round(np.maximum(a, 0) * np.maximum(q, 10))
        else:
            base = np.where(q > 0, q, 100_000.0)
            credited[name] = np.round(a * base, 2)
    ti = np.round(rng.uniform(500, 80_000, n), 2)
    extras = {}
    for c in plan.components:
        if c.type == "mbo":
            for o in c.objectives:
                s = np.round(rng.uniform(-0.1, 1.5, n), 2)
                s[rng.random(n) < 0.2] = np.nan  # missing -> default score
                extras[f"{c.name}.{o.name}"] = s
        if c.type == "spif":
            extras[c.name] = rng.integers(-1, 15, n).astype(float)
    return {
        "credited": credited,
        "quota": {k: np.broadcast_to(v, (n,)) for k, v in quota.items()},
        "ti": ti,
        "extras": extras,
    }


def exact_row(plan: Plan, data: dict, i: int):
    scores = {
        k: Decimal(repr(float(v[i])))
        for k, v in data["extras"].items()
        if "." in k and not np.isnan(v[i])
    }
    counts = {k: Decimal(repr(float(v[i]))) for k, v in data["extras"].items() if "." not in k}
    inputs = PeriodInputs(
        {k: Decimal(repr(float(v[i]))) for k, v in data["credited"].items()},
        {k: Decimal(repr(float(v[i]))) for k, v in data["quota"].items()},
        Decimal(repr(float(data["ti"][i]))),
        scores=scores,
        counts=counts,
    )
    return plan.evaluate_exact(inputs)


def vector_all(plan: Plan, data: dict):
    extras = {}
    for k, v in data["extras"].items():
        if "." in k:
            c = plan.component(k.split(".")[0])
            extras[k] = np.where(np.isnan(v), c.default_score, v)
        else:
            extras[k] = v
    return plan.payout_arrays(data["credited"], data["quota"], data["ti"], extras=extras)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_templates_vector_equals_exact(path):
    plan = load_plan(path)
    n = 1500
    data = random_inputs(plan, n, seed=zlib.crc32(path.stem.encode()))
    vec = vector_all(plan, data)
    for i in range(n):
        res = exact_row(plan, data, i)
        assert vec.total[i] == float(res.total), (i, res.explain())
        for line in res.lines:
            assert vec.components[line.component][i] == float(line.earned), (i, line.explain())


COMPONENTS = {
    "retro_amount": {
        "type": "commission",
        "name": "c",
        "measure": "m",
        "method": "retroactive",
        "tiers": [
            {"from": 0, "to": 1000, "rate": 0.05},
            {"from": 1000, "to": 25000, "rate": 0.0625},
            {"from": 25000, "rate": 0.071},
        ],
    },
    "marginal_bcr": {
        "type": "commission",
        "name": "c",
        "measure": "m",
        "weight": 1.0,
        "basis": "attainment",
        "rate_basis": "bcr",
        "cap_multiple": 2.2,
        "tiers": [
            {"from": 0, "to": 0.4, "rate": 0.3},
            {"from": 0.4, "to": 1.0, "rate": 1.4666},
            {"from": 1.0, "rate": 1.75},
        ],
    },
    "retro_attainment": {
        "type": "commission",
        "name": "c",
        "measure": "m",
        "basis": "attainment",
        "method": "retroactive",
        "cap_amount": 40000,
        "tiers": [{"from": 0, "to": 0.7, "rate": 0.01}, {"from": 0.7, "rate": 0.033}],
    },
    "step_curve": {
        "type": "payout_curve",
        "name": "c",
        "measure": "m",
        "weight": 1.0,
        "interpolation": "step",
        "slope_after_last": 0.5,
        "points": [
            {"attainment": 0.5, "payout": 0.25},
            {"attainment": 1.0, "payout": 1.0},
            {"attainment": 1.3, "payout": 1.45},
        ],
    },
    "gated_curve": {
        "type": "payout_curve",
        "name": "c",
        "measure": "m",
        "weight": 1.0,
        "gate": {"measure": "g", "min_attainment": 0.8},
        "points": [{"attainment": 0.3, "payout": 0.1}, {"attainment": 1.0, "payout": 1.0}],
        "slope_after_last": 1.7,
        "cap_multiple": 2.5,
    },
}


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(sorted(COMPONENTS)),
    cents=st.lists(st.integers(-2_000_000, 400_000_000), min_size=1, max_size=20),
    quota_cents=st.integers(0, 200_000_000),
    gate_att=st.sampled_from([0.0, 0.5, 0.79, 0.8, 1.2]),
    ti_cents=st.integers(0, 10_000_000),
)
def test_components_vector_equals_exact(kind, cents, quota_cents, gate_att, ti_cents):
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
    q = quota_cents / 100
    credited = np.array(cents, dtype=float) / 100
    ti = ti_cents / 100
    vec = plan.payout_arrays(
        {"m": credited, "g": np.full(len(cents), gate_att * 1000)},
        {"m": np.full(len(cents), q), "g": np.full(len(cents), 1000.0)},
        ti,
    )
    for i, c in enumerate(cents):
        res = plan.evaluate_exact(
            PeriodInputs(
                {"m": Decimal(c) / 100, "g": Decimal(repr(gate_att)) * 1000},
                {"m": Decimal(quota_cents) / 100, "g": Decimal(1000)},
                Decimal(ti_cents) / 100,
            )
        )
        assert vec.total[i] == float(res.total), res.explain()
