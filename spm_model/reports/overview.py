"""Data overview tables for reports: health, bookings by period, pipeline, roster.

Display-oriented aggregations of the canonical tables (the computations of
record live in the middle layer); every function takes a
:class:`~spm_model.data.Dataset` and returns a plain DataFrame.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from spm_model.data import Dataset, period_labels
from spm_model.errors import SpmConfigError

Freq = Literal["month", "quarter", "year"]

#: Tables filtered by rep id when a dataset is narrowed to one region.
_REP_TABLES = {
    "quotas": "rep_id",
    "activities": "rep_id",
    "payments": "rep_id",
    "disputes": "rep_id",
}


def regions(ds: Dataset) -> list[str]:
    """Sales regions of the company (from ``accounts.region``, else ``reps.region``), sorted."""
    acc = ds.accounts
    col = acc["region"] if "region" in acc.columns else ds.reps["region"]
    return sorted({str(v) for v in col.dropna()})


def region_subset(ds: Dataset, region: str) -> Dataset:
    """Return the part of ``ds`` that belongs to one sales region.

    Accounts of the region (``accounts.region``) with their assignments,
    transactions, opportunities, splits and credit exceptions; the reps based
    in the region plus every rep who owns one of its accounts (overlays and
    managers keep their own rows); quotas, activities, payments and disputes of
    those reps.

    Parameters
    ----------
    ds : Dataset
        The whole company.
    region : str
        A value of ``accounts.region`` (see :func:`regions`).

    Raises
    ------
    SpmConfigError
        Unknown region (the message lists the known ones).
    """
    known = regions(ds)
    if region not in known:
        raise SpmConfigError(f"unknown region {region!r}; the data has {', '.join(known)}")
    acc = ds.accounts
    acc = acc[acc["region"] == region] if "region" in acc.columns else acc
    acc_ids = set(acc["account_id"])
    asg = ds.assignments[ds.assignments["account_id"].isin(acc_ids)]
    rep_ids = set(ds.reps.loc[ds.reps["region"] == region, "rep_id"]) | set(asg["rep_id"])
    txn = ds.transactions[ds.transactions["account_id"].isin(acc_ids)]
    txn_ids = set(txn["txn_id"])
    tables = {
        "reps": ds.reps[ds.reps["rep_id"].isin(rep_ids)],
        "accounts": acc,
        "assignments": asg,
        "transactions": txn,
        "opportunities": ds.opportunities[ds.opportunities["account_id"].isin(acc_ids)],
        "splits": ds.splits[ds.splits["txn_id"].isin(txn_ids)],
        "credit_exceptions": ds.credit_exceptions[ds.credit_exceptions["txn_id"].isin(txn_ids)],
    }
    for name, col in _REP_TABLES.items():
        tables[name] = ds[name][ds[name][col].isin(rep_ids)]
    return ds.replace(**{k: v.reset_index(drop=True) for k, v in tables.items()})


def data_health(ds: Dataset, max_problems: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summarise the validation of ``ds``.

    Returns
    -------
    summary : DataFrame
        One row per table: rows, date range, money total and number of problems.
    problems : DataFrame
        At most ``max_problems`` problems (table, row, column, message).
    """
    problems = ds.validate()
    from spm_model.data import TABLES

    summary = ds.summary()
    key = "table" if "table" in summary.columns else summary.columns[0]
    summary = summary[summary[key].isin(list(TABLES))].reset_index(drop=True)
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.table or ""] = counts.get(p.table or "", 0) + 1
    summary = summary.copy()
    summary["problems"] = summary[key].map(counts).fillna(0).astype(int)
    rows = [
        {"table": p.table, "row": p.row, "column": p.column, "message": p.message}
        for p in problems[:max_problems]
    ]
    return summary, pd.DataFrame(rows, columns=["table", "row", "column", "message"])


def bookings(ds: Dataset) -> pd.DataFrame:
    """Transactions with their measure, product family and account region.

    Columns added: ``measure``, ``family``, ``region``, ``segment``.
    """
    txn = ds.transactions.merge(
        ds.products[["product_id", "measure", "family"]], on="product_id", how="left"
    )
    acc_cols = [c for c in ("account_id", "region", "segment") if c in ds.accounts.columns]
    return txn.merge(ds.accounts[acc_cols], on="account_id", how="left")


def bookings_by_period(ds: Dataset, freq: Freq = "quarter", by: str = "measure") -> pd.DataFrame:
    """Net booked amount per fiscal period (rows) and ``by`` (columns).

    Parameters
    ----------
    ds : Dataset
    freq : {"month", "quarter", "year"}
        Fiscal period (the dataset's fiscal-year start applies).
    by : str
        Column of :func:`bookings` to split by (``measure``, ``region``, ``family``, ``kind``).

    Returns
    -------
    DataFrame
        Amounts in the dataset currency, rounded to the cent; cancellations net off.
    """
    b = bookings(ds)
    if b.empty:
        return pd.DataFrame()
    b["period"] = period_labels(b["date"], freq, ds.meta.fy_start_month)
    return b.pivot_table(
        index="period", columns=by, values="amount", aggfunc="sum", fill_value=0.0
    ).round(2)


def pipeline_by_stage(ds: Dataset) -> pd.DataFrame:
    """Open opportunities per stage: count, amount and probability-weighted amount.

    Money in the dataset currency; ``probability`` is a fraction (1.0 = 100%).
    """
    opp = ds.opportunities
    opp = opp[opp["status"] == "open"]
    if opp.empty:
        return pd.DataFrame(columns=["stage", "deals", "amount", "weighted_amount"])
    opp = opp.assign(weighted_amount=opp["amount"] * opp["probability"].fillna(0))
    out = opp.groupby("stage", sort=False).agg(
        deals=("opportunity_id", "count"),
        amount=("amount", "sum"),
        weighted_amount=("weighted_amount", "sum"),
    )
    return out.sort_values("amount", ascending=False).round(2).reset_index()


def roster(ds: Dataset) -> pd.DataFrame:
    """Active reps (no end date before the as-of date) by role (rows) and region (columns)."""
    reps = ds.reps
    as_of = pd.Timestamp(ds.as_of)
    active = reps[reps["end_date"].isna() | (reps["end_date"] >= as_of)]
    return pd.crosstab(active["role"], active["region"], margins=True, margins_name="total")


def last_complete_period(ds: Dataset, freq: Freq = "quarter") -> str:
    """Label of the last fiscal period that ends on or before the data's as-of date."""
    from spm_model.data import parse_period

    as_of = pd.Timestamp(ds.as_of)
    label = str(np.asarray(period_labels(pd.Series([as_of]), freq, ds.meta.fy_start_month))[0])
    span = parse_period(label, ds.meta.fy_start_month)
    if pd.Timestamp(span.end) <= as_of:
        return label
    before = pd.Timestamp(span.start) - pd.Timedelta(days=1)
    return str(np.asarray(period_labels(pd.Series([before]), freq, ds.meta.fy_start_month))[0])
