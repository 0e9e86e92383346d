"""Hand-checked numbers for gates, matrices, multipliers, MBOs and caps (exact and vectorised)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spm_model.plans import PeriodInputs, Plan

KITCHEN_SINK = {
    "id": "k",
    "name": "kitchen sink",
    "effective_from": "2025-01-01",
    "ote": 200000,
    "pay_mix": {"base": 0.5, "variable": 0.5},
    "measures": {
        "rev": {},
        "margin": {"source": "margin", "quota_ratio_of": "rev", "quota_ratio": 0.6},
        "renew": {},
    },
    "components": [
        {
            "type": "matrix",
            "name": "mx",
            "row_measure": "rev",
            "col_measure": "margin",
            "weight": 0.5,
            "row_bands": [0.0, 0.8, 1.0],
            "col_bands": [0.0, 1.0],
            "payouts": [[0.2, 0.4], [0.7, 0.9], [1.0, 1.3]],
        },
        {
            "type": "commission",
            "name": "renewals",
            "measure": "renew",
            "weight": 0.3,
            "rate_basis": "bcr",
            "basis": "attainment",
            "tiers": [{"from": 0, "to": 1, "rate": 1.0}, {"from": 1, "rate": 2.0}],
            "gate": {"measure": "rev", "min_attainment": 0.9, "otherwise_cap_attainment": 1.0},
            "cap_multiple": 2.0,
        },
        {
            "type": "mbo",
            "name": "mbo",
            "weight": 0.2,
            "objectives": [
                {"name": "a", "weight": 0.5},
                {"name": "b", "weight": 0.5, "max_score": 1.5},
            ],
        },
        {
            "type": "multiplier",
            "name": "kicker",
            "measure": "renew",
            "applies_to": ["mx"],
            "bands": [
                {"from": 0, "factor": 0.9},
                {"from": 1.0, "factor": 1.0},
                {"from": 1.2, "factor": 1.25},
            ],
        },
        {
            "type": "spif",
            "name": "spif",
            "amount": 250,
            "start": "2025-01-01",
            "end": "2025-03-31",
            "cap_amount": 1000,
        },
    ],
    "cap": {"multiple_of_target": 2.5},
}
PLAN = Plan.from_dict(KITCHEN_SINK)
TI = Decimal("25000")  # quarter


def run(rev, margin, renew, scores=None, spif=0, ti=TI):
    q = PLAN.resolve_quotas({"rev": Decimal(100000), "renew": Decimal(50000)})
    return PLAN.evaluate_exact(
        PeriodInputs(
            {"rev": Decimal(rev), "margin": Decimal(margin), "renew": Decimal(renew)},
            q,
            ti,
            scores={f"mbo.{k}": Decimal(str(v)) for k, v in (scores or {}).items()},
            counts={"spif": Decimal(spif)},
        )
    )


def test_matrix_gate_multiplier_mbo_spif_by_hand():
    # rev 105% (row band from 100%), margin 63,000 / 60,000 = 105% (col from 100%): 1.3 x 12,500
    # renewals 130% with the gate open (rev >= 90%): (1.0 + 0.3 x 2.0) x 7,500 = 12,000
    # MBO: 0.5 x 1.0 + 0.5 x 1.5 (capped) = 1.25 x 5,000 = 6,250
    # multiplier on mx: renew 130% -> x1.25: +0.25 x 16,250 = 4,062.50
    # SPIF 5 deals x 250 = 1,250 capped at 1,000
    res = run(105000, 63000, 65000, scores={"a": 1.0, "b": 2.0}, spif=5)
    got = res.by_component()
    assert got == {
        "mx": Decimal("16250.00"),
        "renewals": Decimal("12000.00"),
        "mbo": Decimal("6250.00"),
        "spif": Decimal("1000.00"),
        "kicker": Decimal("4062.50"),
    }
    assert res.total == Decimal("39562.50")
    kicker = res.lines[-1]
    assert kicker.rate == Decimal("1.25") and "x1.25" in kicker.segment


def test_gate_closed_caps_attainment_and_low_multiplier_reduces():
    # rev 85% < 90%: renewals evaluated at 100% at most -> 7,500; matrix row 0.8, col margin 0.9
    # -> 0.7 x 12,500 = 8,750; renew 130% -> x1.25 on mx: +2,187.50; MBO default 0
    res = run(85000, 54000, 65000)
    got = res.by_component()
    assert got["renewals"] == Decimal("7500.00")
    assert "not met" in res.lines[1].gate
    assert got["mx"] == Decimal("8750.00") and got["kicker"] == Decimal("2187.50")
    assert got["mbo"] == 0
    # renew 50% -> multiplier 0.9: mx 8,750 -> -875.00
    assert run(85000, 54000, 25000).by_component()["kicker"] == Decimal("-875.00")


def test_total_cap():
    capped = Plan.from_dict({**KITCHEN_SINK, "cap": {"multiple_of_target": 1.5}})
    q = capped.resolve_quotas({"rev": Decimal(100000), "renew": Decimal(50000)})
    res = capped.evaluate_exact(
        PeriodInputs(
            {"rev": Decimal(300000), "margin": Decimal(300000), "renew": Decimal(300000)},
            q,
            TI,
            scores={"mbo.a": Decimal(1), "mbo.b": Decimal("1.5")},
            counts={"spif": Decimal(10)},
        )
    )
    assert res.subtotal == Decimal("42562.50")  # 16,250 + 15,000 + 6,250 + 1,000 + 4,062.50
    assert res.total == Decimal("37500.00") and res.capped
    arr = capped.payout_arrays(
        {
            "rev": np.array([300000.0]),
            "margin": np.array([300000.0]),
            "renew": np.array([300000.0]),
        },
        capped.resolve_quota_arrays({"rev": 100000.0, "renew": 50000.0}),
        25000.0,
        extras={"mbo.a": np.array([1.0]), "mbo.b": np.array([1.5]), "spif": np.array([10.0])},
    )
    assert arr.total[0] == 37500.0 and arr.subtotal[0] == 42562.5


@settings(max_examples=60, deadline=None)
@given(
    vals=st.lists(
        st.tuples(
            st.integers(-1_000_000, 40_000_000),
            st.integers(-1_000_000, 40_000_000),
            st.integers(-1_000_000, 20_000_000),
            st.integers(-20, 200),
            st.integers(-20, 200),
            st.integers(-2, 12),
        ),
        min_size=1,
        max_size=15,
    ),
    ti_cents=st.integers(0, 10_000_000),
)
def test_kitchen_sink_vector_equals_exact(vals, ti_cents):
    n = len(vals)
    rev, margin, renew, a, b, spif = (np.array(x, dtype=float) for x in zip(*vals, strict=True))
    q = PLAN.resolve_quota_arrays({"rev": np.full(n, 100000.0), "renew": np.full(n, 50000.0)})
    out = PLAN.payout_arrays(
        {"rev": rev / 100, "margin": margin / 100, "renew": renew / 100},
        q,
        ti_cents / 100,
        extras={"mbo.a": a / 100, "mbo.b": b / 100, "spif": spif},
    )
    for i, (r, m, rn, sa, sb, sp) in enumerate(vals):
        res = run(
            Decimal(r) / 100,
            Decimal(m) / 100,
            Decimal(rn) / 100,
            scores={"a": Decimal(sa) / 100, "b": Decimal(sb) / 100},
            spif=sp,
            ti=Decimal(ti_cents) / 100,
        )
        assert out.total[i] == float(res.total), res.explain()
        for line in res.lines:
            assert out.components[line.component][i] == float(line.earned), line.explain()


def test_per_product_rates_through_product_family_measures():
    plan = Plan.from_dict(
        {
            "id": "pp",
            "name": "per product",
            "effective_from": "2025-01-01",
            "measures": {
                "platform": {"data_measure": "new_business", "product_families": ["platform"]},
                "addon": {"data_measure": "new_business", "product_families": ["addon"]},
                "services": {},
            },
            "components": [
                {
                    "type": "commission",
                    "name": "by_product",
                    "rates": {"platform": 0.08, "addon": 0.12, "services": 0.03},
                }
            ],
        }
    )
    res = plan.evaluate_exact(
        PeriodInputs(
            {
                "platform": Decimal("10000.05"),
                "addon": Decimal("2500"),
                "services": Decimal("-1000"),
            }
        )
    )
    # 800.004 + 300 - 30 = 1,070.004 -> 1,070.00
    assert res.total == Decimal("1070.00")
    assert [s.label for s in res.lines[0].steps] == [
        "platform at 0.08",
        "addon at 0.12",
        "services at 0.03",
    ]
    arr = plan.payout_arrays(
        {
            "platform": np.array([10000.05]),
            "addon": np.array([2500.0]),
            "services": np.array([-1000.0]),
        },
        {},
        0.0,
    )
    assert arr.total[0] == 1070.0
