"""Plant defects into a saved CSV dataset folder, the way a person edits files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Defect:
    """One defect: how to plant it and where the problem must be reported."""

    name: str
    file: str  # file name inside the folder
    plant: Callable[[Path], None]
    row: int | None  # row a person sees (header = 1) or YAML line
    column: str | None
    text: str  # part of the message


def edit_table(folder: Path, table: str, fn: Callable[[pd.DataFrame], pd.DataFrame | None]) -> None:
    p = folder / f"{table}.csv"
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    out = fn(df)
    (df if out is None else out).to_csv(p, index=False, lineterminator="\n")


def set_cell(table: str, pos: int, column: str, value: str) -> Callable[[Path], None]:
    def plant(folder: Path) -> None:
        def fn(df: pd.DataFrame) -> None:
            df.loc[pos, column] = value

        edit_table(folder, table, fn)

    return plant


def drop_column(table: str, column: str) -> Callable[[Path], None]:
    def plant(folder: Path) -> None:
        edit_table(folder, table, lambda df: df.drop(columns=[column]))

    return plant


def set_meta(key: str, value: str) -> Callable[[Path], None]:
    def plant(folder: Path) -> None:
        p = folder / "meta.yaml"
        lines = [
            f"{key}: {value}" if ln.startswith(f"{key}:") else ln
            for ln in p.read_text().splitlines()
        ]
        p.write_text("\n".join(lines) + "\n")

    return plant


def meta_line(folder: Path, key: str) -> int:
    for i, ln in enumerate((folder / "meta.yaml").read_text().splitlines()):
        if ln.startswith(f"{key}:"):
            return i + 1
    raise KeyError(key)


# Positions refer to tests/data/tiny.py; row = position + 2.
DEFECTS: list[Defect] = [
    Defect(
        "missing_column",
        "reps.csv",
        drop_column("reps", "region"),
        1,
        "region",
        "required column is missing",
    ),
    Defect(
        "wrong_type",
        "transactions.csv",
        set_cell("transactions", 2, "amount", "12,50 EUR"),
        4,
        "amount",
        "is not a number",
    ),
    Defect(
        "not_a_date",
        "opportunities.csv",
        set_cell("opportunities", 1, "created_date", "31/03/2024"),
        3,
        "created_date",
        "is not a date",
    ),
    Defect(
        "null_required",
        "accounts.csv",
        set_cell("accounts", 3, "name", "  "),
        5,
        "name",
        "required value is empty",
    ),
    Defect(
        "duplicate_key",
        "transactions.csv",
        set_cell("transactions", 4, "txn_id", "T2"),
        6,
        "txn_id",
        "duplicate key T2 (first seen in row 3)",
    ),
    Defect(
        "dangling_txn_account",
        "transactions.csv",
        set_cell("transactions", 0, "account_id", "A99"),
        2,
        "account_id",
        "'A99' is not a known accounts.account_id",
    ),
    Defect(
        "dangling_txn_product",
        "transactions.csv",
        set_cell("transactions", 3, "product_id", "P9"),
        5,
        "product_id",
        "'P9' is not a known products.product_id",
    ),
    Defect(
        "dangling_manager",
        "reps.csv",
        set_cell("reps", 2, "manager_id", "M9"),
        4,
        "manager_id",
        "'M9' is not a known reps.rep_id",
    ),
    Defect(
        "dangling_assignment_rep",
        "assignments.csv",
        set_cell("assignments", 4, "rep_id", "R9"),
        6,
        "rep_id",
        "'R9' is not a known reps.rep_id",
    ),
    Defect(
        "dangling_split_txn",
        "splits.csv",
        set_cell("splits", 1, "txn_id", "T77"),
        3,
        "txn_id",
        "'T77' is not a known transactions.txn_id",
    ),
    Defect(
        "manager_cycle",
        "reps.csv",
        set_cell("reps", 0, "manager_id", "R1"),
        2,
        "manager_id",
        "manager cycle: M1 -> R1 -> M1",
    ),
    Defect(
        "negative_quota",
        "quotas.csv",
        set_cell("quotas", 1, "amount", "-5"),
        3,
        "amount",
        "-5 is below the minimum 0",
    ),
    Defect(
        "split_share_above_one",
        "splits.csv",
        set_cell("splits", 0, "share", "1.2"),
        2,
        "share",
        "1.2 is above the maximum 1",
    ),
    Defect(
        "negative_potential",
        "accounts.csv",
        set_cell("accounts", 0, "potential", "-1000"),
        2,
        "potential",
        "below the minimum 0",
    ),
    Defect(
        "end_before_start",
        "assignments.csv",
        set_cell("assignments", 5, "end_date", "2023-12-31"),
        7,
        "end_date",
        "end_date 2023-12-31 is before start_date 2024-01-01",
    ),
    Defect(
        "rep_end_before_hire",
        "reps.csv",
        set_cell("reps", 1, "end_date", "2020-01-01"),
        3,
        "end_date",
        "is before hire_date",
    ),
    Defect(
        "overlapping_owners",
        "assignments.csv",
        set_cell("assignments", 1, "start_date", "2024-06-01"),
        3,
        "start_date",
        "overlaps another owner assignment (row 2)",
    ),
    Defect(
        "unknown_currency",
        "meta.yaml",
        set_meta("currency", "XYZ"),
        -1,
        "currency",
        "unknown ISO 4217 currency code 'XYZ'",
    ),
    Defect(
        "outside_range",
        "activities.csv",
        set_cell("activities", 0, "date", "2023-06-01"),
        2,
        "date",
        "outside the data's declared range",
    ),
    Defect(
        "bad_period",
        "quotas.csv",
        set_cell("quotas", 0, "period", "2024-Q5"),
        2,
        "period",
        "'2024-Q5' is not a period label",
    ),
    Defect(
        "not_allowed",
        "transactions.csv",
        set_cell("transactions", 1, "kind", "refund"),
        3,
        "kind",
        "'refund' is not one of booking, cancellation, adjustment",
    ),
    Defect(
        "cancellation_without_original",
        "transactions.csv",
        set_cell("transactions", 5, "original_txn_id", ""),
        7,
        "original_txn_id",
        "must name the original booking",
    ),
    Defect(
        "not_finite",
        "accounts.csv",
        set_cell("accounts", 2, "workload", "inf"),
        4,
        "workload",
        "is not a finite number",
    ),
]
"""Every class of bad input, with the row and column the problem must name (-1: YAML line)."""
