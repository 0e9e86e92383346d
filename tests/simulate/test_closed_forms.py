"""Closed-form expectations within 4 Monte Carlo standard errors."""

from __future__ import annotations

import numpy as np
from scipy import stats

from spm_model.plans import Plan
from spm_model.simulate import from_assumptions, simulate


def _plan(components, measures=("sales",)) -> Plan:
    return Plan.from_dict(
        {
            "id": "cf",
            "name": "closed form",
            "effective_from": "2027-01-01",
            "measurement_period": "quarter",
            "pay_frequency": "quarter",
            "target_incentive": 100_000,
            "measures": {m: {"source": "credit"} for m in measures},
            "components": components,
        }
    )


def test_flat_rate_on_normal_sales():
    r = 0.07
    plan = _plan([{"type": "commission", "name": "flat", "measure": "sales", "rate": r}])
    model = from_assumptions(
        {
            "sales": {
                "quota": 200_000.0,
                "distribution": {"family": "normal", "mean": 1.0, "sd": 0.3},
            }
        },
        n_reps=40,
        periods=4,
        rho_company=0.2,
        rho_group=0.0,
    )
    res = simulate(model, plan, 4_000, seed=11)
    s = res.summary()
    expected = r * 40 * 4 * 200_000.0
    assert abs(s.value("mean cost") - expected) < 4 * s.se("mean cost")
    # the MCSE is meaningful: not zero and not huge
    assert 0 < s.se("mean cost") < 0.01 * expected


def test_capped_linear_payout_on_lognormal_attainment():
    cap = 1.6
    plan = _plan(
        [
            {
                "type": "payout_curve",
                "name": "linear",
                "measure": "sales",
                "weight": 1.0,
                "points": [{"attainment": 0.0, "payout": 0.0}, {"attainment": cap, "payout": cap}],
                "cap_multiple": cap,
            }
        ]
    )
    mean, sd = 1.0, 0.35
    model = from_assumptions(
        {
            "sales": {
                "quota": 300_000.0,
                "distribution": {"family": "lognormal", "mean": mean, "sd": sd},
            }
        },
        n_reps=50,
        periods=4,
    )
    res = simulate(model, plan, 3_000, seed=5)
    s2 = np.log1p((sd / mean) ** 2)
    mu, sig = np.log(mean) - s2 / 2, np.sqrt(s2)
    lc = np.log(cap)
    e_min = np.exp(mu + s2 / 2) * stats.norm.cdf((lc - mu - s2) / sig) + cap * stats.norm.sf(
        (lc - mu) / sig
    )
    expected = 25_000.0 * e_min * 50 * 4
    s = res.summary()
    assert abs(s.value("mean cost") - expected) < 4 * s.se("mean cost")
    # leverage curve: payout share of target never above the cap
    lev = res.leverage()
    assert np.nanmax(lev["payout_share_of_target"]) <= cap + 1e-9
