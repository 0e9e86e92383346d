"""Cross-table validation of a :class:`~spm_model.data.dataset.Dataset`.

Per-column checks (types, nulls, allowed values, ranges) happen while loading,
in :func:`spm_model.data.dataset.coerce_table`. This module adds the checks that
need whole tables or several tables, and reports every problem at once:

* duplicate keys;
* dangling references (a transaction naming an unknown account or product, a rep
  with an unknown manager, an assignment to an unknown rep, ...);
* manager cycles;
* end dates before start dates;
* overlapping ``owner`` assignments of one account;
* unknown currency code;
* dates outside the data's declared range (``meta.start_date``..``meta.end_date``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spm_model.data.schema import TABLES
from spm_model.errors import Problem

if TYPE_CHECKING:
    from spm_model.data.dataset import Dataset

ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)
"""ISO 4217 currency codes accepted in ``meta.currency``."""

_MAX_PER_CHECK = 50


def _rows(df: pd.DataFrame, mask: np.ndarray | pd.Series) -> np.ndarray:
    return np.flatnonzero(np.asarray(mask)) + 2


def _where(ds: Dataset, table: str) -> str:
    locs = getattr(ds, "locations", {})
    return locs.get(table, f"{ds.source}:{table}")


def _add(problems: list[Problem], where: str, table: str, rows: np.ndarray, column: str | None, messages: list[str] | str) -> None:
    if isinstance(messages, str):
        messages = [messages] * len(rows)
    for r, m in list(zip(rows, messages, strict=False))[:_MAX_PER_CHECK]:
        problems.append(Problem(where, table, int(r), column, m))
    if len(rows) > _MAX_PER_CHECK:
        problems.append(Problem(where, table, None, column, f"... and {len(rows) - _MAX_PER_CHECK} more rows with the same problem"))


def validate_dataset(ds: Dataset) -> list[Problem]:
    """Return every cross-table problem in ``ds`` (empty when valid)."""
    problems: list[Problem] = []
    if ds.meta.currency not in ISO_4217:
        problems.append(Problem(_where(ds, "meta"), "meta", None, "currency", f"unknown ISO 4217 currency code {ds.meta.currency!r}"))
    if ds.meta.start_date and ds.meta.end_date and ds.meta.end_date < ds.meta.start_date:
        problems.append(Problem(_where(ds, "meta"), "meta", None, "end_date", "end_date is before start_date"))

    for name, schema in TABLES.items():
        df = ds[name]
        if df.empty:
            continue
        where = _where(ds, name)
        # duplicate keys
        key = [k for k in schema.key if k in df]
        if len(key) == len(schema.key):
            dup = df.duplicated(subset=key, keep="first").to_numpy() & df[key].notna().all(axis=1).to_numpy()
            if dup.any():
                first = df.drop_duplicates(subset=key, keep="first").reset_index()
                first_row = {tuple(r[1:]): int(r[0]) + 2 for r in first[["index", *key]].itertuples(index=False)}
                rows = _rows(df, dup)
                vals = df.loc[dup, key].itertuples(index=False)
                msgs = [f"duplicate key {', '.join(map(str, v))} (first seen in row {first_row.get(tuple(v), '?')})" for v in vals]
                _add(problems, where, name, rows, "/".join(key), msgs)
        # references
        for col in schema.columns:
            ref = col.references
            if ref is None or col.name not in df:
                continue
            target = ds[ref.table]
            known = pd.Index(target[ref.column].dropna().unique()) if ref.column in target else pd.Index([])
            vals = df[col.name]
            bad = vals.notna() & ~vals.isin(known)
            if bad.any():
                msgs = [f"{v!r} is not a known {ref.table}.{ref.column}" for v in vals[bad]]
                _add(problems, where, name, _rows(df, bad), col.name, msgs)
        # date ranges
        for start, end in schema.date_ranges:
            if start in df and end in df:
                bad = (df[end] < df[start]).fillna(False).to_numpy()
                if bad.any():
                    msgs = [f"{end} {e:%Y-%m-%d} is before {start} {s:%Y-%m-%d}" for s, e in df.loc[bad, [start, end]].itertuples(index=False)]
                    _add(problems, where, name, _rows(df, bad), end, msgs)
        # dates outside the declared range
        lo, hi = ds.meta.start_date, ds.meta.end_date
        if lo or hi:
            for col in schema.columns:
                if col.kind != "date" or col.name not in df:
                    continue
                if name == "reps" and col.name == "hire_date":
                    continue  # reps may have been hired before the data starts
                if name in ("assignments",) and col.name == "start_date":
                    continue  # ownership may pre-date the data
                s = df[col.name]
                bad = pd.Series(False, index=df.index)
                if lo and name in ("transactions", "activities", "payments"):
                    bad |= s < pd.Timestamp(lo)
                if hi and name in ("transactions", "activities", "payments") or (hi and name == "opportunities" and col.name == "created_date"):
                    bad |= s > pd.Timestamp(hi)
                bad = bad.fillna(False).to_numpy()
                if bad.any():
                    msgs = [f"{v:%Y-%m-%d} is outside the data's declared range {lo} to {hi}" for v in s[bad]]
                    _add(problems, where, name, _rows(df, bad), col.name, msgs)
    problems += _manager_cycles(ds)
    problems += _overlapping_owners(ds)
    return problems


def _manager_cycles(ds: Dataset) -> list[Problem]:
    reps = ds.reps
    if reps.empty or "manager_id" not in reps:
        return []
    parent = dict(zip(reps["rep_id"], reps["manager_id"], strict=False))
    row_of = {r: i + 2 for i, r in enumerate(reps["rep_id"])}
    problems: list[Problem] = []
    reported: set[str] = set()
    for start in parent:
        seen: list[str] = []
        node = start
        while isinstance(node, str) and node in parent and node not in seen:
            seen.append(node)
            node = parent[node]
        if isinstance(node, str) and node in seen:
            cycle = seen[seen.index(node):]
            key = min(cycle)
            if key in reported:
                continue
            reported.add(key)
            path = " -> ".join([*cycle, node])
            problems.append(Problem(_where(ds, "reps"), "reps", row_of[node], "manager_id", f"manager cycle: {path}"))
    return problems


def _overlapping_owners(ds: Dataset) -> list[Problem]:
    a = ds.assignments
    if a.empty:
        return []
    own = a[a["role"] == "owner"].copy()
    own["_row"] = own.index.to_numpy() + 2
    own["_end"] = own["end_date"].fillna(pd.Timestamp.max.normalize())
    own = own.sort_values(["account_id", "start_date", "_row"])
    prev_acc = own["account_id"].shift()
    prev_end = own["_end"].shift()
    prev_row = own["_row"].shift()
    # running max of end date within account catches containment too
    own["_runmax"] = own.groupby("account_id")["_end"].cummax()
    prev_runmax = own.groupby("account_id")["_runmax"].shift()
    bad = (own["account_id"] == prev_acc) & (own["start_date"] <= prev_runmax)
    problems: list[Problem] = []
    where = _where(ds, "assignments")
    rows = own.loc[bad, "_row"].to_numpy()
    msgs = [
        f"owner assignment of account {acc} from {s:%Y-%m-%d} overlaps another owner assignment (row {int(pr)})"
        for acc, s, pr in zip(own.loc[bad, "account_id"], own.loc[bad, "start_date"], prev_row[bad], strict=False)
    ]
    _add(problems, where, "assignments", rows, "start_date", msgs)
    del prev_end
    return problems
