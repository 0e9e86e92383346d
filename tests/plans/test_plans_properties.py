"""Hypothesis properties of the payout math."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spm_model.plans import PayoutCurve, PeriodInputs, Plan

BASE = {
    "id": "p",
    "name": "p",
    "effective_from": "2025-01-01",
    "target_incentive": 100000,
    "measures": {"m": {}},
}


@st.composite
def tier_lists(draw, max_bound=100_000):
    n = draw(st.integers(1, 5))
    cuts = sorted(draw(st.sets(st.integers(1, max_bound), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts]
    rates = draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n))  # basis points
    tiers = []
    for i, lo in enumerate(bounds):
        t = {"from": lo, "rate": rates[i] / 10000}
        if i + 1 < n:
            t["to"] = bounds[i + 1]
        tiers.append(t)
    return tiers


def commission(tiers, method):
    return Plan.from_dict(
        {
            **BASE,
            "components": [
                {
                    "type": "commission",
                    "name": "c",
                    "measure": "m",
                    "method": method,
                    "tiers": tiers,
                }
            ],
        }
    )


def pay(plan: Plan, cents: int) -> Decimal:
    return plan.evaluate_exact(PeriodInputs({"m": Decimal(cents) / 100})).total


@settings(max_examples=50, deadline=None)
@given(tiers=tier_lists(), cents=st.integers(0, 20_000_000), step=st.integers(1, 100_000))
def test_marginal_is_continuous_and_non_decreasing(tiers, cents, step):
    plan = commission(tiers, "marginal")
    lo, hi = pay(plan, cents), pay(plan, cents + step)
    assert hi >= lo
    max_rate = max(Decimal(repr(t["rate"])) for t in tiers)
    # continuity: the increase is bounded by the steepest rate (plus one cent of rounding)
    assert hi - lo <= max_rate * Decimal(step) / 100 + Decimal("0.01")


@settings(max_examples=50, deadline=None)
@given(tiers=tier_lists(), cents=st.integers(0, 20_000_000))
def test_retroactive_jumps_only_at_tier_boundaries(tiers, cents):
    plan = commission(tiers, "retroactive")
    boundaries = {t["from"] * 100 for t in tiers}
    before, after = pay(plan, cents), pay(plan, cents + 1)
    max_rate = max(Decimal(repr(t["rate"])) for t in tiers)
    if cents + 1 in boundaries:
        return  # a jump may happen here
    # one cent more moves pay by at most rate x 0.01 plus rounding
    assert abs(after - before) <= max_rate / 100 + Decimal("0.01")


@settings(max_examples=40, deadline=None)
@given(tiers=tier_lists(max_bound=50_000))
def test_retroactive_does_jump_at_a_boundary_when_rates_differ(tiers):
    assume(len(tiers) >= 2 and tiers[1]["rate"] != tiers[0]["rate"])
    plan = commission(tiers, "retroactive")
    b = tiers[1]["from"] * 100
    jump = pay(plan, b) - pay(plan, b - 1)
    expected = (
        Decimal(b) / 100 * (Decimal(repr(tiers[1]["rate"])) - Decimal(repr(tiers[0]["rate"])))
    )
    assert abs(jump - expected) <= Decimal("0.02")


@settings(max_examples=50, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(0, 300), st.integers(0, 400)),
        min_size=1,
        max_size=5,
        unique_by=lambda p: p[0],
    ),
    slope=st.integers(0, 500),
    cap_multiple=st.integers(100, 400),
    total_cap=st.integers(100, 400),
    cap_amount=st.one_of(st.none(), st.integers(0, 5_000_000)),
    credited=st.lists(st.integers(-1_000_000, 100_000_000), min_size=1, max_size=10),
    quota=st.integers(0, 10_000_000),
    ti=st.integers(0, 5_000_000),
)
def test_payout_never_exceeds_caps(
    points, slope, cap_multiple, total_cap, cap_amount, credited, quota, ti
):
    pts = sorted(points)
    ys = np.maximum.accumulate([p[1] for p in pts])  # non-decreasing curve
    comp = {
        "type": "payout_curve",
        "name": "bonus",
        "measure": "m",
        "weight": 0.6,
        "points": [
            {"attainment": x / 100, "payout": float(y) / 100}
            for (x, _), y in zip(pts, ys, strict=True)
        ],
        "slope_after_last": slope / 100,
    }
    at_target = float(PayoutCurve.model_validate(comp)._value_exact(Decimal(1))[0])
    comp["cap_multiple"] = max(cap_multiple / 100, at_target)
    if cap_amount is not None:
        comp["cap_amount"] = cap_amount / 100
    comm = {
        "type": "commission",
        "name": "comm",
        "measure": "m",
        "weight": 0.4,
        "rate": 0.2,
        "cap_multiple": cap_multiple / 100,
    }
    plan = Plan.from_dict(
        {**BASE, "components": [comp, comm], "cap": {"multiple_of_target": total_cap / 100}}
    )
    tid = Decimal(ti) / 100
    for c in credited:
        res = plan.evaluate_exact(
            PeriodInputs({"m": Decimal(c) / 100}, {"m": Decimal(quota) / 100}, tid)
        )
        b, cm = res.lines
        assert b.earned <= (Decimal(repr(comp["cap_multiple"])) * Decimal("0.6") * tid).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )
        if cap_amount is not None:
            assert b.earned <= Decimal(cap_amount) / 100
        assert cm.earned <= (Decimal(cap_multiple) / 100 * Decimal("0.4") * tid).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )
        assert res.total <= res.total_cap
    arr = plan.payout_arrays(
        {"m": np.array(credited, float) / 100}, {"m": np.array(quota / 100)}, ti / 100
    )
    assert np.all(arr.total <= float(res.total_cap) + 1e-9)
