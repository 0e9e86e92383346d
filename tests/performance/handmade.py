"""A hand-made company where every scorecard figure of rep R1 is computed by hand.

Period 2024-Q2 (2024-04-01..2024-06-30), as of 2024-05-15 (day 45 of 91).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from spm_model.data import Dataset, DatasetMeta


def _d(*v: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(v)), dtype="datetime64[ns]")


def handmade() -> Dataset:
    reps = pd.DataFrame(
        {
            "rep_id": ["M1", "R1", "R2", "S1"],
            "name": ["Mia", "Ann", "Bob", "Sam"],
            "role": ["MANAGER", "AE", "AE", "SDR"],
            "region": ["West"] * 4,
            "team": ["T1"] * 4,
            "manager_id": [None, "M1", "M1", "M1"],
            "hire_date": _d("2020-01-01", "2022-01-01", "2024-01-01", "2023-01-01"),
            "end_date": _d(None, None, None, None),
            "plan_id": ["sales_manager", "saas_ae", "saas_ae", "sdr"],
            "base_salary": [100000.0, 100000.0, 100000.0, 50000.0],
            "ote": [200000.0, 200000.0, 200000.0, 80000.0],
            "fte": [1.0] * 4,
            "home_lat": [None] * 4,
            "home_lon": [None] * 4,
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "name": ["a1", "a2", "a3"],
            "parent_account_id": [None] * 3,
            "segment": ["smb"] * 3,
            "industry": ["x"] * 3,
            "lat": [None] * 3,
            "lon": [None] * 3,
            "potential": [100000.0, 50000.0, 70000.0],
            "workload": [10.0] * 3,
        }
    )
    assignments = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "rep_id": ["R1", "R1", "R2"],
            "role": ["owner"] * 3,
            "start_date": _d("2023-01-01", "2023-01-01", "2024-01-01"),
            "end_date": _d(None, None, None),
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2"],
            "name": ["new", "renew"],
            "family": ["platform", "renewal"],
            "measure": ["new_business", "renewal"],
        }
    )
    transactions = pd.DataFrame(
        {
            "txn_id": ["T0", "T1", "T2", "T3", "T4", "T5"],
            "date": _d(
                "2024-02-15", "2024-04-10", "2024-05-01", "2024-05-20", "2024-04-20", "2024-05-05"
            ),
            "account_id": ["A1", "A1", "A2", "A1", "A3", "A1"],
            "product_id": ["P1"] * 6,
            "amount": [20000.0, 10000.0, 30000.0, 5000.0, 8000.0, -2000.0],
            "kind": ["booking"] * 5 + ["cancellation"],
            "original_txn_id": [None] * 5 + ["T1"],
        }
    )
    quotas = pd.DataFrame(
        {
            "rep_id": ["R1", "R1", "R2", "M1", "S1", "R1"],
            "period": ["2024-Q2", "2024-Q2", "2024-Q2", "2024-Q2", "2024-Q2", "2024-Q1"],
            "measure": [
                "new_business",
                "renewal",
                "new_business",
                "new_business",
                "meetings",
                "new_business",
            ],
            "amount": [100000.0, 20000.0, 50000.0, 150000.0, 30.0, 40000.0],
        }
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4", "O5", "O6", "O7"],
            "account_id": ["A1", "A2", "A1", "A2", "A1", "A2", "A1"],
            "owner_rep_id": ["R1"] * 7,
            "created_date": _d(
                "2024-03-01",
                "2024-04-01",
                "2024-02-01",
                "2024-01-10",
                "2024-04-20",
                "2024-05-01",
                "2024-04-05",
            ),
            "close_date": _d(
                "2024-04-10",
                "2024-05-01",
                "2024-04-15",
                "2024-03-10",
                "2024-06-15",
                "2024-08-01",
                "2024-06-01",
            ),
            "stage": [
                "closed_won",
                "closed_won",
                "closed_lost",
                "closed_lost",
                "propose",
                "qualify",
                "closed_won",
            ],
            "amount": [10000.0, 30000.0, 12000.0, 6000.0, 40000.0, 20000.0, 25000.0],
            "probability": [1.0, 1.0, 0.0, 0.0, 0.5, 0.25, 1.0],
            "status": ["won", "won", "lost", "lost", "open", "open", "won"],
        }
    )
    act_r1 = [
        ("2024-04-02", "call"),
        ("2024-04-03", "call"),
        ("2024-05-10", "call"),
        ("2024-04-15", "email"),
        ("2024-04-16", "meeting"),
        ("2024-05-02", "meeting"),
        ("2024-05-03", "demo"),
        ("2024-02-01", "call"),
        ("2024-02-02", "email"),
        ("2024-05-20", "call"),  # after the as-of date
    ]
    act_s1 = [(f"2024-04-{d:02d}", "meeting") for d in range(1, 13)]
    acts = [("R1", d, k) for d, k in act_r1] + [("S1", d, k) for d, k in act_s1]
    activities = pd.DataFrame(
        {
            "activity_id": [f"V{i}" for i in range(len(acts))],
            "rep_id": [a[0] for a in acts],
            "account_id": [None] * len(acts),
            "date": pd.to_datetime([a[1] for a in acts]).astype("datetime64[ns]"),
            "kind": [a[2] for a in acts],
        }
    )
    payments = pd.DataFrame(
        {
            "payment_id": ["PAY1", "PAY2"],
            "rep_id": ["R1", "R2"],
            "period": ["2024-Q1", "2024-Q1"],
            "amount": [5000.0, 1000.0],
            "paid_date": _d("2024-04-15", "2024-04-15"),
        }
    )
    disputes = pd.DataFrame(
        {
            "dispute_id": ["D1"],
            "rep_id": ["R2"],
            "period": ["2024-Q1"],
            "category": ["crediting"],
            "amount": [300.0],
            "opened_date": _d("2024-04-20"),
            "resolved_date": _d(None),
            "status": ["open"],
        }
    )
    meta = DatasetMeta(
        name="handmade",
        currency="USD",
        fy_start_month=1,
        start_date=dt.date(2024, 1, 1),
        end_date=dt.date(2024, 6, 30),
    )
    tables = {
        "reps": reps,
        "accounts": accounts,
        "assignments": assignments,
        "products": products,
        "transactions": transactions,
        "quotas": quotas,
        "opportunities": opportunities,
        "activities": activities,
        "payments": payments,
        "disputes": disputes,
    }
    ds = Dataset(tables, meta)
    problems = ds.validate()
    assert problems == [], problems
    tables = {k: v for k, v in tables.items()}
    return ds
