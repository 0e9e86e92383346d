"""Cross-table validation of a :class:`~spm_model.data.dataset.Dataset`.

Per-column checks (types, nulls, allowed values, ranges, period labels) happen
while loading, in :func:`spm_model.data.dataset.coerce_table`; :func:`check_columns`
runs them on a dataset built in memory. This module adds the checks that need
whole tables or several tables, and reports every problem at once:

* duplicate keys;
* dangling references (a transaction naming an unknown account or product, a rep
  with an unknown manager, an assignment to an unknown rep, ...: every column
  with a ``references`` entry in the schema);
* manager cycles and parent-account cycles;
* end dates before start dates;
* overlapping ``owner`` assignments of one account;
* cancellations without (or with a dangling) original booking, or with a
  positive amount;
* unknown currency code, and a declared end date before the start date;
* dates outside the data's declared range (``meta.start_date``..``meta.end_date``):
  transaction, activity and payment dates must lie inside it; opportunities
  cannot be created, nor closed won or lost, and disputes cannot be opened after it.

Row numbers follow :mod:`spm_model.data.dataset`: the header is row 1, the first
data row is row 2 (the position in the table plus 2), whatever the format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

# (table, column) -> which bounds of the declared range apply: "both" or "upper".
# Where a status filter is given, only rows with one of those statuses are checked.
DATE_RANGE_RULES: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {
    ("transactions", "date"): ("both", None),
    ("activities", "date"): ("both", None),
    ("payments", "paid_date"): ("both", None),
    ("opportunities", "created_date"): ("upper", None),
    ("opportunities", "close_date"): ("upper", ("won", "lost")),
    ("disputes", "opened_date"): ("upper", None),
}
"""Date columns that must lie inside the data's declared range, and how."""


def _where(ds: Dataset, table: str) -> str:
    locs = getattr(ds, "locations", {}) or {}
    return locs.get(table, f"{ds.source}:{table}")


def _add(
    problems: list[Problem],
    where: str,
    table: str,
    positions: np.ndarray,
    column: str | None,
    message: Callable[[int], str] | Sequence[str] | str,
) -> None:
    """Report rows at 0-based ``positions`` (first 50 listed, the rest counted).

    ``message`` is one text for all rows, a function of the position, or a list
    of texts for (at least) the first 50 positions.
    """
    positions = np.asarray(positions)
    for k, pos in enumerate(positions[:_MAX_PER_CHECK]):
        if isinstance(message, str):
            msg = message
        elif callable(message):
            msg = message(int(pos))
        else:
            msg = message[k]
        problems.append(Problem(where, table, int(pos) + 2, column, msg))
    if len(positions) > _MAX_PER_CHECK:
        problems.append(
            Problem(
                where,
                table,
                None,
                column,
                f"... and {len(positions) - _MAX_PER_CHECK} more rows with the same problem",
            )
        )


def check_columns(ds: Dataset) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Run the per-column checks of :func:`coerce_table` on every canonical table of ``ds``.

    Returns
    -------
    (dict of DataFrame, list of Problem)
        The tables in canonical dtypes (extra tables unchanged) and the problems.
    """
    from spm_model.data.dataset import coerce_table

    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    for name, df in ds.tables.items():
        if name in TABLES:
            tables[name], probs = coerce_table(df, TABLES[name], _where(ds, name))
            problems += probs
        else:
            tables[name] = df
    return tables, problems


def validate_dataset(ds: Dataset, columns: bool = False) -> list[Problem]:
    """Return every cross-table problem in ``ds`` (empty when valid).

    Parameters
    ----------
    ds : Dataset
        Dataset whose tables are in canonical dtypes (as :func:`load_dataset` makes them).
    columns : bool
        Also run the per-column checks first (for datasets built in memory); the
        cross-table checks then run on the coerced tables.

    Returns
    -------
    list of Problem
        Each with file/sheet, row, column and reason.
    """
    problems: list[Problem] = []
    if columns:
        from spm_model.data.dataset import Dataset

        tables, problems = check_columns(ds)
        coerced = Dataset(tables, ds.meta, ds.source)
        coerced.locations = dict(getattr(ds, "locations", {}) or {})
        coerced.meta_rows = dict(getattr(ds, "meta_rows", {}) or {})
        ds = coerced
    meta_where = _where(ds, "meta")
    meta_rows = getattr(ds, "meta_rows", {}) or {}
    if ds.meta.currency not in ISO_4217:
        problems.append(
            Problem(
                meta_where,
                "meta",
                meta_rows.get("currency"),
                "currency",
                f"unknown ISO 4217 currency code {ds.meta.currency!r}",
            )
        )
    lo, hi = ds.meta.start_date, ds.meta.end_date
    if lo and hi and hi < lo:
        problems.append(
            Problem(
                meta_where, "meta", None, "end_date", f"end_date {hi} is before start_date {lo}"
            )
        )

    cascades: dict[str, list[tuple[str, int]]] = {}
    for name, schema in TABLES.items():
        df = ds[name]
        if df.empty:
            continue
        where = _where(ds, name)
        problems += _duplicate_keys(df, name, schema.key, where)
        problems += _dangling_references(ds, df, name, where, cascades)
        for start, end in schema.date_ranges:
            if start in df and end in df:
                bad = (df[end] < df[start]).fillna(False).to_numpy(dtype=bool)
                pos = np.flatnonzero(bad)
                sv, ev = df[start], df[end]
                msgs = [
                    f"{end} {ev.iloc[i]:%Y-%m-%d} is before {start} {sv.iloc[i]:%Y-%m-%d}"
                    for i in pos[:_MAX_PER_CHECK]
                ]
                _add(problems, where, name, pos, end, msgs)
    for cause, refs in cascades.items():
        total = sum(n for _, n in refs)
        detail = ", ".join(f"{col} {n}" for col, n in refs)
        problems.append(
            Problem(
                str(ds.source),
                None,
                None,
                None,
                f"{total} row(s) elsewhere refer to {cause}, so cannot be checked ({detail}); "
                f"not listed",
                cause=cause,
            )
        )
    problems += _outside_declared_range(ds)
    problems += _cycles(ds, "reps", "rep_id", "manager_id", "manager")
    problems += _cycles(ds, "accounts", "account_id", "parent_account_id", "parent account")
    problems += _overlapping_owners(ds)
    problems += _cancellations(ds)
    return problems


def _duplicate_keys(df: pd.DataFrame, name: str, key: Sequence[str], where: str) -> list[Problem]:
    cols = [k for k in key if k in df]
    if len(cols) != len(key):
        return []
    complete = df[cols].notna().all(axis=1).to_numpy()
    dup = df.duplicated(subset=cols, keep="first").to_numpy() & complete
    if not dup.any():
        return []
    group = df.groupby(cols, sort=False, dropna=True).ngroup().to_numpy()
    first_pos = pd.Series(np.arange(len(df))).groupby(group).transform("min").to_numpy()
    problems: list[Problem] = []
    keys = df[cols]
    _add(
        problems,
        where,
        name,
        np.flatnonzero(dup),
        "/".join(cols),
        lambda i: (
            f"duplicate key {', '.join(_fmt(v) for v in keys.iloc[i])} "
            f"(first seen in row {int(first_pos[i]) + 2})"
        ),
    )
    return problems


def _fmt(v: object) -> str:
    if isinstance(v, pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    return str(v)


def _dangling_references(
    ds: Dataset,
    df: pd.DataFrame,
    name: str,
    where: str,
    cascades: dict[str, list[tuple[str, int]]],
) -> list[Problem]:
    """Rows whose reference columns name unknown keys.

    References into a table with no rows are not listed but counted in
    ``cascades`` (referenced table -> [(table.column, rows)]).
    """
    problems: list[Problem] = []
    schema = TABLES[name]
    for col in schema.columns:
        ref = col.references
        if ref is None or col.name not in df:
            continue
        target = ds[ref.table]
        known = target[ref.column] if ref.column in target else pd.Series([], dtype=object)
        vals = df[col.name]
        pos = np.flatnonzero(vals.notna().to_numpy(dtype=bool) & ~isin(vals, known))
        if len(target) == 0 and ref.table != name and TABLES[ref.table].needs_rows:
            # the referenced table has no rows (or is missing): that is the root cause,
            # reported with that table; the rows referring to it are only counted
            if len(pos):
                cascades.setdefault(ref.table, []).append((f"{name}.{col.name}", len(pos)))
            continue
        msgs = [
            f"{vals.iloc[i]!r} is not a known {ref.table}.{ref.column}"
            for i in pos[:_MAX_PER_CHECK]
        ]
        _add(problems, where, name, pos, col.name, msgs)
    return problems


def isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """Vectorised membership test of ``values`` in ``known`` (missing values: False).

    Uses Arrow's hash-based ``is_in`` for text columns: pandas' own ``isin`` on
    Arrow strings builds a Python list of the look-up values, which is slow for
    hundreds of thousands of ids.
    """
    if pd.api.types.is_string_dtype(values) and pd.api.types.is_string_dtype(known):
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            va = pa.array(values, from_pandas=True)
            ks = pa.array(known.dropna().unique(), from_pandas=True)
            if ks.type != va.type:
                ks = ks.cast(va.type)
            res = pc.is_in(va, value_set=ks).fill_null(False)
            return np.asarray(res.to_numpy(zero_copy_only=False), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    return values.isin(known.dropna().unique()).to_numpy(dtype=bool)


def _outside_declared_range(ds: Dataset) -> list[Problem]:
    lo, hi = ds.meta.start_date, ds.meta.end_date
    if not (lo or hi):
        return []
    problems: list[Problem] = []
    lo_ts = pd.Timestamp(lo) if lo else None
    hi_ts = pd.Timestamp(hi) if hi else None
    for (name, column), (bounds, statuses) in DATE_RANGE_RULES.items():
        df = ds[name]
        if df.empty or column not in df:
            continue
        s = df[column]
        bad = np.zeros(len(df), dtype=bool)
        if lo_ts is not None and bounds == "both":
            bad |= (s < lo_ts).fillna(False).to_numpy(dtype=bool)
        if hi_ts is not None:
            bad |= (s > hi_ts).fillna(False).to_numpy(dtype=bool)
        if statuses is not None and "status" in df:
            bad &= df["status"].isin(statuses).to_numpy(dtype=bool)
        what = "" if statuses is None else " (closed opportunity)"
        rng = f"{lo or '...'} to {hi or '...'}" if bounds == "both" else f"ending {hi}"
        pos = np.flatnonzero(bad)
        msgs = [
            f"{s.iloc[i]:%Y-%m-%d} is outside the data's declared range {rng}{what}"
            for i in pos[:_MAX_PER_CHECK]
        ]
        _add(problems, _where(ds, name), name, pos, column, msgs)
    return problems


def _cycles(ds: Dataset, table: str, id_col: str, parent_col: str, what: str) -> list[Problem]:
    """Report each cycle in a parent hierarchy once (vectorised pointer jumping)."""
    df = ds[table]
    if df.empty or parent_col not in df or id_col not in df:
        return []
    ids = df[id_col]
    first = ~ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    pos_of = pd.Series(np.flatnonzero(first), index=ids[first].to_numpy())
    parent_pos = pos_of.reindex(df[parent_col].to_numpy()).to_numpy()
    nxt = np.where(np.isnan(parent_pos), -1, parent_pos).astype(np.int64)
    nxt[~first] = -1
    n = len(nxt)
    # land = nxt applied 2**k >= n times (repeated squaring): chains that end reach -1,
    # every other node lands on the cycle its chain runs into
    land = nxt.copy()
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        land = np.where(land >= 0, land[np.maximum(land, 0)], -1)
    if not (land >= 0).any():
        return []
    on_cycle_start = np.flatnonzero(land >= 0)
    problems: list[Problem] = []
    seen: set[int] = set()
    id_vals = ids.to_numpy()
    for node in np.unique(land[on_cycle_start]):
        node = int(node)
        if node < 0 or node in seen:
            continue
        cycle = [node]
        cur = int(nxt[node])
        while cur != node:
            cycle.append(cur)
            cur = int(nxt[cur])
        seen.update(cycle)
        start = min(cycle, key=lambda p: str(id_vals[p]))
        i = cycle.index(start)
        ordered = cycle[i:] + cycle[:i]
        names = [str(id_vals[p]) for p in [*ordered, start]]
        if len(names) > 12:
            names = [*names[:8], f"... ({len(ordered)} in the cycle)", *names[-3:]]
        path = " -> ".join(names)
        problems.append(
            Problem(_where(ds, table), table, start + 2, parent_col, f"{what} cycle: {path}")
        )
    return problems


def _overlapping_owners(ds: Dataset) -> list[Problem]:
    a = ds.assignments
    if a.empty or not {"role", "account_id", "start_date", "end_date"} <= set(a.columns):
        return []
    own = pd.DataFrame(
        {
            "account_id": a["account_id"],
            "start": a["start_date"],
            "end": a["end_date"].fillna(pd.Timestamp("2261-12-31")),
            "pos": np.arange(len(a)),
        }
    )[(a["role"] == "owner").to_numpy() & a["start_date"].notna().to_numpy()]
    own = own[own["account_id"].notna()].sort_values(["account_id", "start", "pos"], kind="stable")
    if own.empty:
        return []
    same = (own["account_id"] == own["account_id"].shift()).to_numpy()
    prev_max = own.groupby("account_id", sort=False)["end"].cummax().shift()
    bad = same & (own["start"] <= prev_max).fillna(False).to_numpy(dtype=bool)
    rows = own[bad]
    problems: list[Problem] = []
    by_account = own.groupby("account_id", sort=False)

    def message(pos: int) -> str:
        r = own[own["pos"] == pos].iloc[0]
        grp = by_account.get_group(r["account_id"])
        earlier = grp[
            (grp["pos"] != pos) & (grp["start"] <= r["start"]) & (grp["end"] >= r["start"])
        ]
        other = f" (row {int(earlier['pos'].iloc[0]) + 2})" if len(earlier) else ""
        return (
            f"owner assignment of account {r['account_id']} from {r['start']:%Y-%m-%d} "
            f"overlaps another owner assignment{other}"
        )

    _add(
        problems,
        _where(ds, "assignments"),
        "assignments",
        rows["pos"].to_numpy(),
        "start_date",
        message,
    )
    return problems


def _cancellations(ds: Dataset) -> list[Problem]:
    t = ds.transactions
    if t.empty or not {"kind", "original_txn_id", "amount", "txn_id"} <= set(t.columns):
        return []
    problems: list[Problem] = []
    where = _where(ds, "transactions")
    canc = (t["kind"] == "cancellation").to_numpy(dtype=bool)
    orig = t["original_txn_id"]
    missing = canc & orig.isna().to_numpy()
    _add(
        problems,
        where,
        "transactions",
        np.flatnonzero(missing),
        "original_txn_id",
        "a cancellation must name the original booking it cancels",
    )
    positive = canc & (t["amount"] > 0).fillna(False).to_numpy(dtype=bool)
    amounts = t["amount"]
    _add(
        problems,
        where,
        "transactions",
        np.flatnonzero(positive),
        "amount",
        lambda i: f"a cancellation must have a negative or zero amount, got {amounts.iloc[i]:.2f}",
    )
    negative = (t["kind"] == "booking").to_numpy(dtype=bool) & (t["amount"] < 0).fillna(
        False
    ).to_numpy(dtype=bool)
    _add(
        problems,
        where,
        "transactions",
        np.flatnonzero(negative),
        "amount",
        lambda i: (
            f"a booking must have a zero or positive amount, got {amounts.iloc[i]:.2f} "
            "(a reversal is a cancellation naming its booking; a correction an adjustment)"
        ),
    )
    self_ref = (orig.notna() & (orig == t["txn_id"])).to_numpy(dtype=bool)
    _add(
        problems,
        where,
        "transactions",
        np.flatnonzero(self_ref),
        "original_txn_id",
        "a transaction cannot refer to itself",
    )
    # cancellations of one booking may reverse at most the booking (to the cent)
    cents = (pd.to_numeric(amounts, errors="coerce").fillna(0.0) * 100).round()
    booked = pd.Series(cents.to_numpy(), index=t["txn_id"].astype(object))
    booked = booked[~booked.index.duplicated()]
    c_rows = np.flatnonzero(canc & orig.notna().to_numpy())
    if len(c_rows):
        keys = orig.iloc[c_rows].astype(object)
        running = (-cents.iloc[c_rows]).groupby(keys.to_numpy()).cumsum().to_numpy()
        limit = booked.reindex(keys).to_numpy()
        over = c_rows[np.isfinite(limit) & (running > limit)]
        _add(
            problems,
            where,
            "transactions",
            over,
            "amount",
            lambda i: (
                f"cancellations of {t['original_txn_id'].iloc[i]} reverse more than it "
                f"booked ({booked.get(t['original_txn_id'].iloc[i], 0) / 100:,.2f})"
            ),
        )
    return problems
