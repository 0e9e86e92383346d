"""Monthly bookings per rep: the panel every forecasting model in this package reads.

Bookings are attributed to the rep who **owned the account on the transaction
date** (``assignments`` rows with ``role == "owner"``), summed per calendar
month, net of cancellations and adjustments (their signed amounts are added in
the month they happen). This is the forecasting view of the sales history: it
deliberately ignores splits and crediting exceptions, which the crediting
module applies for pay; a forecast needs the selling pattern, not the pay rules.

A month where the net amount is negative (a cancellation larger than the
month's bookings) is counted as a zero month; the number of such months is
kept in ``panel.attrs["negative_months"]``.

The panel is *long*: one row per rep and month in which the rep was employed
(from the hire month to the month of ``end_date``), so a month with no
bookings is a row with ``bookings == 0`` and a month before hire or after
leaving is no row at all.

Columns
-------
rep_id : str
month : datetime64, first day of the calendar month
bookings : float, net bookings in the month (currency, >= 0)
team, region : str
hire_date, end_date : datetime64 (``end_date`` NaT while employed)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.errors import Problem, SpmDataError

PANEL_COLUMNS = ["rep_id", "month", "bookings", "team", "region", "hire_date", "end_date"]


def _month_start(s: pd.Series | pd.DatetimeIndex) -> pd.Series:
    d = pd.to_datetime(pd.Series(s))
    return d.dt.to_period("M").dt.to_timestamp()


def attribute_to_owners(ds: Dataset, measure: str | None = None) -> pd.DataFrame:
    """Attach the owning rep on the transaction date to every transaction.

    Parameters
    ----------
    ds : Dataset
        Needs ``transactions``, ``assignments`` and (when ``measure`` is given)
        ``products``.
    measure : str, optional
        Keep only transactions of products crediting this plan measure.

    Returns
    -------
    DataFrame
        ``txn_id, date, account_id, amount, rep_id`` (amount in the dataset
        currency, signed). Transactions of an account without an owner on
        their date are dropped; their count is ``attrs["unattributed"]``.
    """
    tx = ds.transactions[["txn_id", "date", "account_id", "product_id", "amount"]].copy()
    if measure is not None:
        prod = ds.products
        known = set(prod["measure"].astype(str))
        if measure not in known:
            raise SpmDataError(
                Problem(
                    ds.source,
                    "products",
                    None,
                    "measure",
                    f"no product credits measure {measure!r}; measures in the data: "
                    f"{', '.join(sorted(known)) or '(none)'}",
                )
            )
        ids = prod.loc[prod["measure"] == measure, "product_id"]
        tx = tx[tx["product_id"].isin(ids)]
    asg = ds.assignments
    own = asg.loc[asg["role"] == "owner", ["account_id", "rep_id", "start_date", "end_date"]]
    m = tx.merge(own, on="account_id", how="inner")
    end = m["end_date"].fillna(pd.Timestamp.max)
    m = m[(m["date"] >= m["start_date"]) & (m["date"] <= end)]
    # One owner at a time per account is a dataset invariant; be safe anyway.
    m = m.sort_values(["txn_id", "start_date"]).drop_duplicates("txn_id", keep="last")
    out = m[["txn_id", "date", "account_id", "amount", "rep_id"]].reset_index(drop=True)
    out.attrs["unattributed"] = int(len(tx) - len(out))
    return out


def monthly_bookings(
    ds: Dataset,
    measure: str | None = None,
    cutoff: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Net bookings per rep and calendar month, for every month each rep was employed.

    Parameters
    ----------
    ds : Dataset
        The company data.
    measure : str, optional
        Plan measure to forecast (``"new_business"``...); all products when omitted.
    cutoff : str or Timestamp, optional
        Last month to include (``"2025-06"``); defaults to the last complete
        month of the data (the month of ``ds.as_of`` if it is a month end,
        otherwise the month before).

    Returns
    -------
    DataFrame
        The panel described in the module docstring. Reps who never owned an
        account are left out.
    """
    txn = attribute_to_owners(ds, measure)
    as_of = pd.Timestamp(ds.as_of)
    last_complete = (as_of + pd.Timedelta(days=1)).to_period(
        "M"
    ).to_timestamp() - pd.offsets.MonthBegin(1)
    cut = last_complete if cutoff is None else pd.Period(str(cutoff)[:7], "M").to_timestamp()
    if cut > last_complete:
        raise SpmDataError(
            Problem(
                ds.source,
                None,
                None,
                "cutoff",
                f"cutoff {cut:%Y-%m} is after the last complete month of the data "
                f"({last_complete:%Y-%m})",
            )
        )
    owners = set(ds.assignments.loc[ds.assignments["role"] == "owner", "rep_id"].astype(str))
    reps = ds.reps[ds.reps["rep_id"].isin(owners)][
        ["rep_id", "team", "region", "hire_date", "end_date"]
    ]
    if reps.empty:
        raise SpmDataError(
            Problem(ds.source, "assignments", None, "role", "no rep owns any account")
        )
    start = _month_start(pd.Series([ds.transactions["date"].min()])).iloc[0]
    if ds.meta.start_date is not None:
        start = max(start, pd.Timestamp(ds.meta.start_date).to_period("M").to_timestamp())
    rows = []
    for r in reps.itertuples(index=False):
        first = max(start, pd.Timestamp(r.hire_date).to_period("M").to_timestamp())
        last = cut
        if pd.notna(r.end_date):
            last = min(last, pd.Timestamp(r.end_date).to_period("M").to_timestamp())
        if last < first:
            continue
        months = pd.date_range(first, last, freq="MS")
        rows.append(pd.DataFrame({"rep_id": r.rep_id, "month": months}))
    if not rows:
        raise SpmDataError(
            Problem(ds.source, "reps", None, None, f"no rep employed up to {cut:%Y-%m}")
        )
    grid = pd.concat(rows, ignore_index=True)
    txn = txn.assign(month=_month_start(txn["date"]).to_numpy())
    sums = txn.groupby(["rep_id", "month"], as_index=False)["amount"].sum()
    panel = grid.merge(sums, on=["rep_id", "month"], how="left")
    amount = panel["amount"].fillna(0.0).to_numpy()
    panel["bookings"] = np.round(np.clip(amount, 0.0, None), 2)
    panel = panel.drop(columns="amount").merge(reps, on="rep_id", how="left")
    panel = panel[PANEL_COLUMNS].sort_values(["rep_id", "month"]).reset_index(drop=True)
    panel.attrs["negative_months"] = int((amount < 0).sum())
    panel.attrs["unattributed_transactions"] = txn.attrs.get("unattributed", 0)
    panel.attrs["measure"] = measure or "all"
    panel.attrs["currency"] = ds.meta.currency
    panel.attrs["fy_start_month"] = ds.meta.fy_start_month
    return panel


def check_panel(panel: pd.DataFrame, source: str = "<panel>") -> pd.DataFrame:
    """Validate and normalise a user-supplied monthly panel.

    Required columns are ``rep_id``, ``month`` and ``bookings``; ``team`` and
    ``region`` default to ``"all"``, ``hire_date`` to long before the first
    month (no ramp) and ``end_date`` to NaT. Every problem is reported at once.

    Raises
    ------
    SpmDataError
        Listing each missing column, bad value (with its row) and duplicate.
    """
    problems: list[Problem] = []
    for col in ("rep_id", "month", "bookings"):
        if col not in panel.columns:
            problems.append(Problem(source, "panel", None, col, "required column is missing"))
    if problems:
        raise SpmDataError(problems)
    p = panel.copy()
    p["rep_id"] = p["rep_id"].astype(str)
    month = pd.to_datetime(p["month"], errors="coerce")
    for i in np.flatnonzero(month.isna().to_numpy())[:50]:
        problems.append(
            Problem(source, "panel", int(i) + 2, "month", f"not a date: {panel['month'].iloc[i]!r}")
        )
    p["month"] = month.dt.to_period("M").dt.to_timestamp()
    b = pd.to_numeric(p["bookings"], errors="coerce")
    bad = b.isna() | ~np.isfinite(b.fillna(0.0)) | (b < 0)
    for i in np.flatnonzero(bad.to_numpy())[:50]:
        problems.append(
            Problem(
                source,
                "panel",
                int(i) + 2,
                "bookings",
                f"must be a finite amount >= 0, got {panel['bookings'].iloc[i]!r}",
            )
        )
    p["bookings"] = b.astype(float)
    dup = p.duplicated(["rep_id", "month"], keep=False) & month.notna()
    for i in np.flatnonzero(dup.to_numpy())[:50]:
        problems.append(Problem(source, "panel", int(i) + 2, "month", "duplicate rep_id and month"))
    for col in ("team", "region"):
        if col not in p.columns:
            p[col] = "all"
        p[col] = p[col].fillna("unknown").astype(str)
    if problems:
        raise SpmDataError(problems)
    for col in ("team", "region"):
        n = p.groupby("rep_id")[col].nunique()
        for rep in n.index[n > 1][:20]:
            problems.append(
                Problem(source, "panel", None, col, f"rep {rep} has more than one {col}")
            )
    if problems:
        raise SpmDataError(problems)
    if "hire_date" not in p.columns:
        p["hire_date"] = p["month"].min() - pd.DateOffset(years=10)
    p["hire_date"] = pd.to_datetime(p["hire_date"]).fillna(
        p["month"].min() - pd.DateOffset(years=10)
    )
    p["end_date"] = pd.to_datetime(p["end_date"]) if "end_date" in p.columns else pd.NaT
    attrs = dict(panel.attrs)
    out = p[PANEL_COLUMNS].sort_values(["rep_id", "month"]).reset_index(drop=True)
    out.attrs.update(attrs)
    out.attrs.setdefault("fy_start_month", 1)
    return out
