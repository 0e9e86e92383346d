"""A tiny hand-made company whose crediting is worked out by hand.

Used by the documentation and the tests: every number below can be checked
with a pencil.

Hierarchy: ``M1`` (second-line manager) > ``M2`` (first-line manager) >
``A1``, ``A2`` (account executives), ``S1`` (SDR); ``O1`` (overlay
specialist) reports to ``M1``.

Territory: ``C1`` is owned by ``A1`` until 2025-06-30 and by ``A2`` from
2025-07-01; ``C2`` by ``A2``; ``C3`` has no owner before 2025-03-01 (then ``A1``).
``O1`` overlays ``C1`` for the ``software`` family.

======  ==========  ====  ====  =========  ===========================================
txn     date        acct  prod  amount     crediting
======  ==========  ====  ====  =========  ===========================================
T1      2025-02-10  C1    P1    10,000.00  owner A1 10,000; overlay O1 10,000
T2      2025-07-15  C1    P1     6,000.00  owner A2 6,000 (territory moved); overlay O1
T3      2025-03-05  C2    P2     3,000.00  split A2 60% = 1,800, A1 40% = 1,200
T4      2025-02-20  C3    P1     1,000.00  unassigned (C3 has no owner yet)
T5      2025-04-10  C2    P1     1,000.00  split A2 50%, S1 50%, A1 25% (125%: reported)
T6      2025-08-01  C1    P1   -10,000.00  cancels T1 (172 days): A1 -10,000, O1 -10,000
T7      2025-09-10  C1    P1    -3,000.00  cancels half of T2 (57 days): A2 -3,000, O1 -3,000
T8      2025-05-05  C2    P3     2,000.00  owner A2 2,000; exception EX1 moves 500 to S1
T9      2025-06-01  C2    P1       750.00  owner A2 750; exception EX2 adds 750 for A1
======  ==========  ====  ====  =========  ===========================================
"""

from __future__ import annotations

import pandas as pd

from spm_model.data.dataset import Dataset, DatasetMeta


def _d(s: str | None) -> pd.Timestamp:
    return pd.Timestamp(s) if s else pd.NaT


def worked_example_dataset() -> Dataset:
    """Return the hand-checked example company described in this module's docstring."""
    reps = pd.DataFrame(
        [
            (
                "M1",
                "Mara One",
                "MANAGER",
                "West",
                "West",
                None,
                "2020-01-01",
                None,
                "mgr",
                150000,
                250000,
            ),
            (
                "M2",
                "Milo Two",
                "MANAGER",
                "West",
                "West-1",
                "M1",
                "2021-01-01",
                None,
                "mgr",
                120000,
                200000,
            ),
            (
                "A1",
                "Ada One",
                "AE",
                "West",
                "West-1",
                "M2",
                "2022-01-01",
                None,
                "ae",
                80000,
                160000,
            ),
            (
                "A2",
                "Abe Two",
                "AE",
                "West",
                "West-1",
                "M2",
                "2022-01-01",
                None,
                "ae",
                80000,
                160000,
            ),
            (
                "S1",
                "Sam One",
                "SDR",
                "West",
                "West-1",
                "M2",
                "2024-01-01",
                None,
                "sdr",
                50000,
                70000,
            ),
            (
                "O1",
                "Ola One",
                "OVERLAY",
                "West",
                "West",
                "M1",
                "2023-01-01",
                None,
                "overlay",
                90000,
                150000,
            ),
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
    reps["base_salary"] = reps["base_salary"].astype(float)
    reps["ote"] = reps["ote"].astype(float)
    reps["fte"] = 1.0
    reps["home_lat"] = float("nan")
    reps["home_lon"] = float("nan")
    accounts = pd.DataFrame(
        {
            "account_id": ["C1", "C2", "C3"],
            "name": ["Acme", "Bolt", "Cora"],
            "parent_account_id": [None, None, None],
            "segment": ["enterprise", "mid_market", "smb"],
            "industry": ["tech", "retail", "health"],
            "lat": [float("nan")] * 3,
            "lon": [float("nan")] * 3,
            "potential": [1e6, 5e5, 1e5],
            "workload": [100.0, 60.0, 20.0],
        }
    )
    assignments = pd.DataFrame(
        [
            ("C1", "A1", "owner", None, "2025-01-01", "2025-06-30"),
            ("C1", "A2", "owner", None, "2025-07-01", None),
            ("C2", "A2", "owner", None, "2025-01-01", None),
            ("C3", "A1", "owner", None, "2025-03-01", None),
            ("C1", "O1", "overlay", "software", "2025-01-01", None),
        ],
        columns=["account_id", "rep_id", "role", "product_family", "start_date", "end_date"],
    )
    assignments["start_date"] = pd.to_datetime(assignments["start_date"])
    assignments["end_date"] = pd.to_datetime(assignments["end_date"])
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "name": ["Platform", "Consulting", "Platform renewal"],
            "family": ["software", "services", "software"],
            "measure": ["new_business", "services", "renewal"],
        }
    )
    transactions = pd.DataFrame(
        [
            ("T1", "2025-02-10", "C1", "P1", 10000.00, "booking", None),
            ("T2", "2025-07-15", "C1", "P1", 6000.00, "booking", None),
            ("T3", "2025-03-05", "C2", "P2", 3000.00, "booking", None),
            ("T4", "2025-02-20", "C3", "P1", 1000.00, "booking", None),
            ("T5", "2025-04-10", "C2", "P1", 1000.00, "booking", None),
            ("T6", "2025-08-01", "C1", "P1", -10000.00, "cancellation", "T1"),
            ("T7", "2025-09-10", "C1", "P1", -3000.00, "cancellation", "T2"),
            ("T8", "2025-05-05", "C2", "P3", 2000.00, "booking", None),
            ("T9", "2025-06-01", "C2", "P1", 750.00, "booking", None),
        ],
        columns=["txn_id", "date", "account_id", "product_id", "amount", "kind", "original_txn_id"],
    )
    transactions["date"] = pd.to_datetime(transactions["date"])
    splits = pd.DataFrame(
        [
            ("T3", "A2", 0.6, "co-sold services"),
            ("T3", "A1", 0.4, "co-sold services"),
            ("T5", "A2", 0.5, "team deal"),
            ("T5", "S1", 0.5, "team deal"),
            ("T5", "A1", 0.25, "team deal"),
        ],
        columns=["txn_id", "rep_id", "share", "reason"],
    )
    exceptions = pd.DataFrame(
        [
            ("EX1", "T8", "A2", -500.0, "SDR sourced the renewal", "M1"),
            ("EX1b", "T8", "S1", 500.0, "SDR sourced the renewal", "M1"),
            ("EX2", "T9", "A1", 750.0, "A1 ran the proof of concept", "M1"),
        ],
        columns=["exception_id", "txn_id", "rep_id", "amount", "reason", "approved_by"],
    )
    meta = DatasetMeta(
        name="worked example",
        currency="USD",
        fy_start_month=1,
        start_date=pd.Timestamp("2025-01-01").date(),
        end_date=pd.Timestamp("2025-12-31").date(),
        seed=None,
    )
    return Dataset(
        {
            "reps": reps,
            "accounts": accounts,
            "assignments": assignments,
            "products": products,
            "transactions": transactions,
            "splits": splits,
            "credit_exceptions": exceptions,
        },
        meta,
        source="worked example",
    )
