from __future__ import annotations

from pathlib import Path

import pytest

from spm_model.plans import Plan, load_plan
from spm_model.simulate import from_assumptions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def saas_plan() -> Plan:
    return load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")


def small_model(n_reps: int = 30, **kw):
    groups = ["West", "East", "North"] * (n_reps // 3) + ["West"] * (n_reps % 3)
    args = dict(
        n_reps=n_reps,
        periods=["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"],
        groups=groups,
        rho_company=0.15,
        rho_group=0.1,
        rho_rep=0.2,
        attrition=0.2,
        large_deals={"new_business": {"prob": 0.05, "size_mean": 0.5, "size_sd": 0.4}},
        hire_period=[-10] * (n_reps - 2) + [0, 1],
    )
    args.update(kw)
    return from_assumptions(
        {
            "new_business": {
                "quota": 500_000.0,
                "distribution": {"family": "lognormal", "mean": 0.95, "sd": 0.45},
                "season": [0.8, 1.0, 1.0, 1.2],
            },
            "renewal": {
                "quota": 300_000.0,
                "distribution": {"quantiles": {0.1: 0.7, 0.5: 0.98, 0.9: 1.3}},
            },
        },
        **args,
    )


@pytest.fixture
def model():
    return small_model()


@pytest.fixture(scope="session")
def make_model():
    return small_model
