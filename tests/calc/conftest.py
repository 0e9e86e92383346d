"""Small hand-built companies for the calculation tests."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from spm_model.data.dataset import Dataset, DatasetMeta


def tiny_company(
    sales: Sequence[tuple[str, float]],
    quotas: Sequence[tuple[str, float]] = (),
    *,
    plan_id: str = "p",
    hire: str = "2020-01-01",
    end: str | None = None,
    ote: float = 100_000.0,
    base: float = 50_000.0,
    extra_reps: Sequence[tuple[str, str | None, str | None]] = (),
    cancellations: Sequence[tuple[str, str, float]] = (),
) -> Dataset:
    """One rep ``A`` owning account ``C`` (product ``P`` credits ``sales``), with bookings.

    Parameters
    ----------
    sales : sequence of (date, amount)
        Bookings.
    quotas : sequence of (period label, amount)
        ``sales`` quotas of rep A.
    extra_reps : sequence of (rep_id, manager_id, plan_id)
        More reps (no accounts).
    cancellations : sequence of (date, original txn id, amount)
        Cancellations (negative amounts).
    """
    reps = pd.DataFrame(
        [
            (
                "A",
                "Ann",
                "AE",
                "West",
                "W1",
                "M" if any(r[0] == "M" for r in extra_reps) else None,
                hire,
                end,
                plan_id,
                base,
                ote,
            )
        ]
        + [
            (r, r, "MANAGER", "West", "W1", m, "2020-01-01", None, p, base, ote)
            for r, m, p in extra_reps
        ],
        columns=[
            "rep_id",
            "name",
            "role",
            "region",
            "team",
            "manager_id",
            "hire_date",
            "end_date",
            "plan_id",
            "base_salary",
            "ote",
        ],
    )
    reps["hire_date"] = pd.to_datetime(reps["hire_date"])
    reps["end_date"] = pd.to_datetime(reps["end_date"])
    reps["fte"] = 1.0
    t = pd.DataFrame(
        [
            (f"T{i + 1}", pd.Timestamp(d), "C", "P", float(a), "booking", None)
            for i, (d, a) in enumerate(sales)
        ]
        + [
            (f"X{i + 1}", pd.Timestamp(d), "C", "P", float(a), "cancellation", o)
            for i, (d, o, a) in enumerate(cancellations)
        ],
        columns=["txn_id", "date", "account_id", "product_id", "amount", "kind", "original_txn_id"],
    )
    q = pd.DataFrame(
        [("A", p, "sales", float(a)) for p, a in quotas],
        columns=["rep_id", "period", "measure", "amount"],
    )
    return Dataset(
        {
            "reps": reps,
            "accounts": pd.DataFrame(
                {
                    "account_id": ["C"],
                    "name": ["Acme"],
                    "segment": ["smb"],
                    "industry": ["x"],
                    "potential": [1.0],
                    "workload": [1.0],
                }
            ),
            "assignments": pd.DataFrame(
                {
                    "account_id": ["C"],
                    "rep_id": ["A"],
                    "role": ["owner"],
                    "start_date": [pd.Timestamp("2020-01-01")],
                    "end_date": [pd.NaT],
                }
            ),
            "products": pd.DataFrame(
                {"product_id": ["P"], "name": ["Prod"], "family": ["f"], "measure": ["sales"]}
            ),
            "transactions": t,
            "quotas": q,
        },
        DatasetMeta(name="tiny", fy_start_month=1),
    )


def plan_dict(components: list[dict], **kw) -> dict:
    """A minimal valid plan mapping paying on measure ``sales``."""
    d = {
        "id": "p",
        "name": "Test plan",
        "effective_from": "2020-01-01",
        "measurement_period": "quarter",
        "pay_frequency": "quarter",
        "measures": {"sales": {"source": "credit"}},
        "components": components,
    }
    d.update(kw)
    return d


@pytest.fixture
def company():
    return tiny_company


@pytest.fixture
def make_plan():
    from spm_model.plans import Plan

    def _make(components: list[dict], **kw):
        return Plan.from_dict(plan_dict(components, **kw))

    return _make
