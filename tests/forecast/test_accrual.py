"""Commission accruals from forecast draws through a plan's vectorised payout."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spm_model.errors import SpmConfigError
from spm_model.forecast import commission_accrual
from spm_model.plans import PeriodInputs, Plan


def _plan(**kw):
    base = {
        "id": "ae",
        "name": "ae",
        "effective_from": "2020-01-01",
        "measurement_period": "quarter",
        "pay_frequency": "quarter",
        "target_incentive": 40000,
        "measures": {"new_business": {}},
        "components": [
            {
                "type": "commission",
                "name": "nb",
                "measure": "new_business",
                "basis": "attainment",
                "rate_basis": "bcr",
                "weight": 1.0,
                "method": "marginal",
                "tiers": [{"from": 0.0, "to": 1.0, "rate": 1.0}, {"from": 1.0, "rate": 2.0}],
            }
        ],
    }
    base.update(kw)
    return Plan.from_dict(base)


def _draws(values, months, reps=("a", "b")):
    arr = np.asarray(values, dtype=float)
    return xr.DataArray(
        arr,
        dims=("sample", "rep", "month"),
        coords={
            "sample": np.arange(arr.shape[0]),
            "rep": list(reps),
            "month": pd.DatetimeIndex(months),
        },
        attrs={"measure": "new_business"},
    )


def test_accrual_of_the_open_quarter_adds_actuals_and_draws():
    plan = _plan()
    months = ["2025-05-01", "2025-06-01"]  # cut-off April: Q2 is open, April is actual
    # rep a: April 20k actual; draws of May+June total 10k, 30k, 50k, 90k (4 samples)
    a = np.array([[5e3, 5e3], [10e3, 20e3], [25e3, 25e3], [45e3, 45e3]])
    b = np.zeros((4, 2))
    draws = _draws(np.stack([a, b], axis=1), months)
    actual = pd.DataFrame(
        {"rep_id": ["a", "b"], "month": pd.to_datetime(["2025-04-01"] * 2), "bookings": [20e3, 0.0]}
    )
    quotas = pd.DataFrame(
        {
            "rep_id": ["a", "b"],
            "period": ["2025-Q2", "2025-Q2"],
            "measure": "new_business",
            "amount": [50e3, 50e3],
        }
    )
    res = commission_accrual(draws, plan, actual, quotas).set_index("rep_id")
    # quarter TI 10,000, quota 50,000: credited 30k, 50k, 70k, 110k
    # -> 6,000, 10,000, 18,000, 34,000
    expected = np.array([6000.0, 10000.0, 18000.0, 34000.0])
    # the exact engine agrees on every draw
    for cred, exp in zip([30e3, 50e3, 70e3, 110e3], expected, strict=True):
        exact = plan.evaluate_exact(
            PeriodInputs(
                {"new_business": Decimal(str(cred))},
                {"new_business": Decimal("50000")},
                Decimal("10000"),
            )
        )
        assert float(exact.total) == exp
    assert res.loc["a", "expected_payout"] == pytest.approx(expected.mean())
    assert res.loc["a", "p90_payout"] == pytest.approx(np.quantile(expected, 0.9))
    assert res.loc["b", "expected_payout"] == 0.0
    assert res.loc["TOTAL", "expected_payout"] == pytest.approx(expected.mean())
    assert res.attrs["periods"] == ["2025-Q2"]


def test_total_quantiles_are_of_summed_draws_and_ote_sets_target():
    plan = _plan()
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 20e3, size=(400, 2, 3))
    draws = _draws(x, ["2025-04-01", "2025-05-01", "2025-06-01"])
    quotas = pd.DataFrame(
        {
            "rep_id": ["a", "b"],
            "period": ["2025", "2025"],
            "measure": "new_business",
            "amount": [400e3, 400e3],
        }
    )
    actual = pd.DataFrame({"rep_id": [], "month": pd.to_datetime([]), "bookings": []})
    ote = pd.Series({"a": 160000.0, "b": np.nan})
    res = commission_accrual(draws, plan, actual, quotas, ote=ote).set_index("rep_id")
    assert res.loc["TOTAL", "expected_payout"] == pytest.approx(
        res.loc["a", "expected_payout"] + res.loc["b", "expected_payout"], abs=0.02
    )
    assert res.loc["TOTAL", "p90_payout"] < res.loc["a", "p90_payout"] + res.loc["b", "p90_payout"]
    # rep a: annual TI = OTE (no pay mix: all variable) = 160,000 -> 40,000 a quarter;
    # rep b: the plan TI, 10,000 a quarter
    same = x[:, 0, :].sum(1)
    pay_a = np.where(same <= 100e3, same * 0.4, 40e3 + (same - 100e3) * 0.8)
    assert res.loc["a", "expected_payout"] == pytest.approx(pay_a.mean(), rel=1e-6)


def test_measure_must_be_resolvable():
    plan = _plan(measures={"new_business": {}, "renewal": {}})
    draws = _draws(np.ones((2, 2, 1)), ["2025-04-01"]).assign_attrs(measure="all")
    empty = pd.DataFrame({"rep_id": [], "month": pd.to_datetime([]), "bookings": []})
    q = pd.DataFrame(
        {"rep_id": ["a"], "period": ["2025-Q2"], "measure": ["new_business"], "amount": [1.0]}
    )
    with pytest.raises(SpmConfigError, match="say which measure"):
        commission_accrual(draws, plan, empty, q)
    with pytest.raises(SpmConfigError, match="has no measure"):
        commission_accrual(draws, plan, empty, q, measure="services")
    res = commission_accrual(draws, plan, empty, q, measure="new_business")
    assert len(res) == 3


def test_open_periods_without_quotas_are_skipped_not_paid_at_zero():
    plan = _plan()
    draws = _draws(
        np.full((3, 2, 4), 10e3), ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01"]
    )
    quotas = pd.DataFrame(
        {
            "rep_id": ["a", "b"],
            "period": ["2025-Q4"] * 2,
            "measure": "new_business",
            "amount": [50e3] * 2,
        }
    )
    empty = pd.DataFrame({"rep_id": [], "month": pd.to_datetime([]), "bookings": []})
    res = commission_accrual(draws, plan, empty, quotas)
    assert res.attrs["periods"] == ["2025-Q4"]
    assert res.attrs["skipped_periods"] == ["2026-Q1"]
    # 20k of 50k in Q4 at BCR 10,000 / 50,000 = 4,000 each
    assert res.set_index("rep_id").loc["a", "expected_payout"] == pytest.approx(4000.0)
