"""Who gets credit for a booking, for analytics (not for pay).

The performance layer must not import ``spm_model.crediting`` (same layer), so
it attributes bookings itself, with simple documented rules:

* a booking is credited to the **owner** of its account on the transaction date
  (``assignments`` rows with role ``owner``, effective-dated, inclusive ends);
* a transaction listed in ``splits`` is credited to the split reps by share
  instead of the owner;
* cancellations and adjustments that name an ``original_txn_id`` follow the
  original booking's reps and shares (dated on their own date);
* overlay specialists (``assignments`` role ``overlay``) are credited the full
  amount of transactions on their accounts within their dates, restricted to
  their ``product_family`` when one is given (overlay credit is on top of the
  owner's, as in most plans);
* ``credit_exceptions`` add their amount to their rep on the transaction date.

Callers with the crediting engine's output can pass it instead (any frame with
``rep_id, date, measure, amount``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.data import Dataset

CREDIT_COLUMNS = ["rep_id", "txn_id", "date", "measure", "amount", "margin", "kind", "source"]


def owner_on_date(assignments: pd.DataFrame, account_id: pd.Series, date: pd.Series) -> pd.Series:
    """Owner rep of each (account, date) pair from effective-dated owner assignments.

    Parameters
    ----------
    assignments : DataFrame
        The ``assignments`` table.
    account_id, date : Series
        Pairs to look up (same index).

    Returns
    -------
    Series of str
        ``rep_id`` of the owner on that date, missing where no owner assignment covers it.
    """
    own = assignments.loc[
        assignments["role"] == "owner", ["account_id", "rep_id", "start_date", "end_date"]
    ].dropna(subset=["account_id", "start_date"])
    left = pd.DataFrame(
        {
            "account_id": account_id.to_numpy(),
            "date": pd.to_datetime(date).to_numpy().astype("datetime64[ns]"),
            "_pos": np.arange(len(date)),
        }
    ).dropna(subset=["account_id", "date"])
    if left.empty or own.empty:
        return pd.Series(pd.NA, index=account_id.index, dtype="str")
    left = left.sort_values("date", kind="stable")
    own = own.sort_values("start_date", kind="stable")
    own = own.assign(start_date=own["start_date"].astype("datetime64[ns]"))
    m = pd.merge_asof(
        left,
        own,
        left_on="date",
        right_on="start_date",
        by="account_id",
        direction="backward",
    )
    ok = m["end_date"].isna() | (m["end_date"] >= m["date"])
    reps = m["rep_id"].where(ok)
    out = np.full(len(date), None, dtype=object)
    out[m["_pos"].to_numpy()] = reps.to_numpy(dtype=object, na_value=None)
    return pd.Series(out, index=account_id.index).astype("str")


def _overlay_shares(ds: Dataset) -> pd.DataFrame:
    """(txn_id, rep_id, share 1, source overlay) for overlay assignments covering a booking."""
    a = ds.assignments
    ov = a[a["role"] == "overlay"]
    t = ds.transactions
    if ov.empty or t.empty:
        return pd.DataFrame(columns=["txn_id", "rep_id", "share", "source"])
    fam = t["product_id"].map(ds.products.set_index("product_id")["family"])
    tx = pd.DataFrame(
        {"txn_id": t["txn_id"], "account_id": t["account_id"], "date": t["date"], "family": fam}
    )
    tx = tx[t["original_txn_id"].isna().to_numpy()] if "original_txn_id" in t else tx
    cols = ["account_id", "rep_id", "start_date", "end_date"]
    pf = ov["product_family"] if "product_family" in ov else pd.Series(np.nan, index=ov.index)
    m = tx.merge(ov[cols].assign(pf=pf.to_numpy()), on="account_id", how="inner")
    ok = (
        (m["date"] >= m["start_date"])
        & (m["end_date"].isna() | (m["date"] <= m["end_date"]))
        & (m["pf"].isna() | (m["pf"] == m["family"]))
    )
    m = m[ok.fillna(False).to_numpy(dtype=bool)].drop_duplicates(["txn_id", "rep_id"])
    return pd.DataFrame(
        {"txn_id": m["txn_id"], "rep_id": m["rep_id"], "share": 1.0, "source": "overlay"}
    )


def attribute_bookings(ds: Dataset) -> pd.DataFrame:
    """Credit every transaction to reps (owner on the date, splits, exceptions).

    Parameters
    ----------
    ds : Dataset
        Needs ``transactions``, ``products`` and ``assignments``; ``splits`` and
        ``credit_exceptions`` are used when present.

    Returns
    -------
    DataFrame
        One row per (transaction, rep): ``rep_id, txn_id, date, measure, amount``
        (currency; negative for cancellations), ``margin`` (currency), ``kind``
        and ``source`` (``owner``, ``split``, ``overlay`` or ``exception``). Transactions on
        accounts with no owner on the date are left out.
    """
    t = ds.transactions
    if t.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CREDIT_COLUMNS})
    measure_of = ds.products.set_index("product_id")["measure"]
    base = pd.DataFrame(
        {
            "txn_id": t["txn_id"].to_numpy(),
            "date": t["date"].to_numpy(),
            "measure": t["product_id"].map(measure_of).to_numpy(),
            "amount": t["amount"].to_numpy(dtype=float),
            "margin": (
                t["margin"].to_numpy(dtype=float) if "margin" in t else np.full(len(t), np.nan)
            ),
            "kind": t["kind"].to_numpy(),
            "original_txn_id": t["original_txn_id"].to_numpy()
            if "original_txn_id" in t
            else np.full(len(t), None),
        }
    )
    # shares of each booking: splits where given, else the owner on the date (share 1)
    owner = owner_on_date(ds.assignments, t["account_id"], t["date"])
    shares = pd.DataFrame(
        {
            "txn_id": t["txn_id"].to_numpy(),
            "rep_id": owner.to_numpy(),
            "share": 1.0,
            "source": "owner",
        }
    )
    sp = ds.splits
    if not sp.empty:
        split_txns = sp["txn_id"].unique()
        shares = pd.concat(
            [
                shares[~shares["txn_id"].isin(split_txns)],
                pd.DataFrame(
                    {
                        "txn_id": sp["txn_id"].to_numpy(),
                        "rep_id": sp["rep_id"].to_numpy(),
                        "share": sp["share"].to_numpy(dtype=float),
                        "source": "split",
                    }
                ),
            ],
            ignore_index=True,
        )
    overlays = _overlay_shares(ds)
    if not overlays.empty:
        shares = pd.concat([shares, overlays], ignore_index=True)
    shares = shares.dropna(subset=["rep_id"])
    # cancellations/adjustments follow their original booking's shares
    follows = base["original_txn_id"].notna().to_numpy()
    key = np.where(
        follows,
        base["original_txn_id"].to_numpy(dtype=object),
        base["txn_id"].to_numpy(dtype=object),
    )
    base["_key"] = pd.array(key, dtype="str")
    shares = shares.rename(columns={"txn_id": "_key"})
    credit = base.merge(shares, on="_key", how="inner")
    credit["amount"] = (credit["amount"] * credit["share"]).round(2)
    credit["margin"] = (credit["margin"] * credit["share"]).round(2)
    parts = [credit[CREDIT_COLUMNS]]
    ex = ds.credit_exceptions
    if not ex.empty:
        dated = ex.merge(base[["txn_id", "date", "measure", "kind"]], on="txn_id", how="inner")
        parts.append(
            pd.DataFrame(
                {
                    "rep_id": dated["rep_id"],
                    "txn_id": dated["txn_id"],
                    "date": dated["date"],
                    "measure": dated["measure"],
                    "amount": dated["amount"].astype(float),
                    "margin": np.nan,
                    "kind": dated["kind"],
                    "source": "exception",
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["date", "txn_id", "rep_id"], kind="stable").reset_index(drop=True)
