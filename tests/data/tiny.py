"""A small, hand-made, valid company used by the data tests (no generator needed)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from spm_model.data import Dataset, DatasetMeta


def _d(*vals: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(vals)), dtype="datetime64[ns]")


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Canonical tables of a valid company of 4 reps and 4 accounts (calendar 2024)."""
    reps = pd.DataFrame(
        {
            "rep_id": ["M1", "R1", "R2", "R3"],
            "name": ["Mia Manager", "Ann Rep", "Bob Rep", "Cy Sdr"],
            "role": ["MANAGER", "AE", "AE", "SDR"],
            "region": ["West"] * 4,
            "team": ["T1"] * 4,
            "manager_id": [None, "M1", "M1", "M1"],
            "hire_date": _d("2020-01-01", "2021-03-15", "2023-06-01", "2024-02-01"),
            "end_date": _d(None, None, None, None),
            "plan_id": ["MGR", "AE", "AE", "SDR"],
            "base_salary": [150000.0, 80000.0, 75000.0, 50000.0],
            "ote": [250000.0, 160000.0, 150000.0, 80000.0],
            "fte": [1.0, 1.0, 1.0, 0.5],
            "home_lat": [37.77, 37.8, 34.05, None],
            "home_lon": [-122.42, -122.27, -118.24, None],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "name": ["Acme", "Acme West", "Globex", "Initech"],
            "parent_account_id": [None, "A1", None, None],
            "segment": ["enterprise", "mid_market", "smb", "smb"],
            "industry": ["Tech", "Tech", "Retail", "Finance"],
            "lat": [37.7, 37.6, 34.0, 34.1],
            "lon": [-122.4, -122.3, -118.2, -118.3],
            "potential": [500000.0, 120000.0, 40000.0, 25000.5],
            "workload": [200.0, 80.0, 20.0, 15.0],
        }
    )
    assignments = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2", "A3", "A4", "A1"],
            "rep_id": ["R1", "R2", "R1", "R2", "R3", "R3"],
            "role": ["owner", "owner", "owner", "owner", "owner", "overlay"],
            "start_date": _d(
                "2023-01-01", "2024-07-01", "2023-01-01", "2023-06-01", "2024-02-01", "2024-01-01"
            ),
            "end_date": _d("2024-06-30", None, None, None, None, "2024-12-31"),
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "name": ["Platform", "Renewal", "Consulting"],
            "family": ["core", "core", "services"],
            "measure": ["new_business", "renewal", "services"],
        }
    )
    transactions = pd.DataFrame(
        {
            "txn_id": ["T1", "T2", "T3", "T4", "T5", "T6"],
            "date": _d(
                "2024-02-10", "2024-03-31", "2024-05-05", "2024-08-20", "2024-11-30", "2024-09-01"
            ),
            "account_id": ["A1", "A2", "A3", "A1", "A4", "A1"],
            "product_id": ["P1", "P1", "P2", "P3", "P1", "P1"],
            "amount": [10000.0, 5000.5, 2500.25, 1200.0, 800.0, -10000.0],
            "kind": ["booking", "booking", "booking", "booking", "booking", "cancellation"],
            "original_txn_id": [None, None, None, None, None, "T1"],
            "opportunity_owner_id": ["R1", "R1", "R2", "R2", "R3", None],
        }
    )
    splits = pd.DataFrame(
        {
            "txn_id": ["T2", "T2"],
            "rep_id": ["R1", "R2"],
            "share": [0.5, 0.5],
            "reason": ["team deal", "team deal"],
        }
    )
    credit_exceptions = pd.DataFrame(
        {
            "exception_id": ["E1"],
            "txn_id": ["T3"],
            "rep_id": ["R1"],
            "amount": [250.0],
            "reason": ["helped close"],
            "approved_by": ["M1"],
        }
    )
    quotas = pd.DataFrame(
        {
            "rep_id": ["R1", "R1", "R2", "R3"],
            "period": ["2024-Q1", "2024-Q2", "2024", "2024"],
            "measure": ["new_business", "new_business", "new_business", "new_business"],
            "amount": [20000.0, 20000.0, 60000.0, 10000.0],
        }
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "account_id": ["A1", "A3", "A4"],
            "owner_rep_id": ["R1", "R2", "R3"],
            "created_date": _d("2024-01-05", "2024-03-01", "2024-10-01"),
            "close_date": _d("2024-02-10", "2024-05-05", "2025-02-01"),
            "stage": ["closed", "closed", "propose"],
            "amount": [10000.0, 2500.25, 4000.0],
            "probability": [1.0, 1.0, 0.4],
            "status": ["won", "won", "open"],
        }
    )
    activities = pd.DataFrame(
        {
            "activity_id": ["AC1", "AC2", "AC3", "AC4"],
            "rep_id": ["R1", "R1", "R2", "R3"],
            "account_id": ["A1", "A1", "A3", None],
            "opportunity_id": ["O1", None, "O2", None],
            "date": _d("2024-01-10", "2024-01-20", "2024-03-10", "2024-10-02"),
            "kind": ["call", "meeting", "demo", "email"],
        }
    )
    payments = pd.DataFrame(
        {
            "payment_id": ["PAY1", "PAY2"],
            "rep_id": ["R1", "R2"],
            "period": ["2024-Q1", "2024-Q2"],
            "amount": [1500.0, 320.1],
            "paid_date": _d("2024-04-15", "2024-07-15"),
        }
    )
    disputes = pd.DataFrame(
        {
            "dispute_id": ["D1"],
            "rep_id": ["R2"],
            "period": ["2024-Q2"],
            "category": ["crediting"],
            "amount": [100.0],
            "opened_date": _d("2024-07-20"),
            "resolved_date": _d("2024-08-01"),
            "status": ["resolved"],
        }
    )
    return {
        "reps": reps,
        "accounts": accounts,
        "assignments": assignments,
        "products": products,
        "transactions": transactions,
        "splits": splits,
        "credit_exceptions": credit_exceptions,
        "quotas": quotas,
        "opportunities": opportunities,
        "activities": activities,
        "payments": payments,
        "disputes": disputes,
    }


def tiny_meta() -> DatasetMeta:
    return DatasetMeta(
        name="tiny",
        currency="USD",
        fy_start_month=1,
        start_date=dt.date(2024, 1, 1),
        end_date=dt.date(2024, 12, 31),
    )


def tiny_truth() -> dict[str, pd.DataFrame]:
    """Extra (non-canonical) tables of several dtypes, like the generator's ground truth."""
    return {
        "truth_reps": pd.DataFrame(
            {
                "rep_id": ["R1", "R2", "R3"],
                "skill": [0.1234567890123, -0.5, 1e-9],
                "win_rate": [0.31, 0.18, 0.25],
                "n_deals": pd.Series([12, 7, 3], dtype="int64"),
                "planted": [False, True, False],
                "since": _d("2024-01-01", "2024-03-01", "2024-06-30"),
                "note": ["ok", None, "00123"],
            }
        ),
        "truth_seasonality": pd.DataFrame(
            {"month": list(range(1, 13)), "factor": [0.8 + 0.05 * i for i in range(12)]}
        ),
    }


def tiny_dataset(with_truth: bool = False) -> Dataset:
    tables = tiny_tables()
    if with_truth:
        tables.update(tiny_truth())
    return Dataset(tables, tiny_meta())
