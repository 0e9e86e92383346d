"""The :class:`Dataset`: a typed, validated bundle of the canonical tables.

Sources and targets
-------------------
* a folder of ``<table>.csv`` or ``<table>.parquet`` files plus ``meta.yaml``;
* an Excel workbook (``.xlsx``), one sheet per table plus a ``meta`` sheet;
* a DuckDB database (``.duckdb``), one table per canonical table plus ``meta``.

Row numbers in problems are the row a person sees: in a CSV file or a sheet the
header is row 1 and the first data row is row 2; in Parquet and DuckDB the first
data row is row 2 as well, so the numbers are the same whatever the format.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from spm_model.data.schema import TABLES, TableSchema
from spm_model.errors import Problem, SpmConfigError

Format = Literal["csv", "parquet", "xlsx", "duckdb"]


class DatasetMeta(BaseModel):
    """Dataset-wide settings stored beside the tables."""

    model_config = ConfigDict(extra="allow")

    name: str = Field("company", description="Name of the company or data set.")
    currency: str = Field("USD", description="ISO 4217 code of every money column.")
    fy_start_month: int = Field(1, ge=1, le=12, description="First month of the fiscal year.")
    start_date: dt.date | None = Field(None, description="First date covered by the data.")
    end_date: dt.date | None = Field(None, description="Last date covered (the 'as of' date).")
    seed: int | None = Field(None, description="Generator seed, for synthetic data.")


class Dataset:
    """Canonical tables of one sales organisation.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Tables by canonical name; optional tables may be absent (they are
        replaced by empty frames with the canonical columns).
    meta : DatasetMeta, optional
        Currency, fiscal calendar and date range.
    source : str, optional
        Where the data was loaded from (used in messages).

    Examples
    --------
    >>> ds = load_dataset("data/sample")          # doctest: +SKIP
    >>> ds.transactions.head()                    # doctest: +SKIP
    """

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        meta: DatasetMeta | None = None,
        source: str = "<memory>",
    ):
        self.meta = meta if meta is not None else DatasetMeta.model_validate({})
        self.source = source
        self.locations: dict[str, str] = {}
        """Where each table was read from (file, sheet or database table), for messages."""
        self.meta_rows: dict[str, int] = {}
        """Line (``meta.yaml``) or row (``meta`` sheet/table) of each metadata key."""
        self._tables: dict[str, pd.DataFrame] = {}
        for name, schema in TABLES.items():
            df = tables.get(name)
            if df is None:
                df = empty_table(schema)
            self._tables[name] = df
        extra = set(tables) - set(TABLES)
        for name in sorted(extra):
            self._tables[name] = tables[name]

    # -- access ---------------------------------------------------------------
    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("_tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """All tables by name (canonical tables first)."""
        return dict(self._tables)

    def replace(self, **tables: pd.DataFrame) -> Dataset:
        """Return a copy with some tables replaced."""
        new = dict(self._tables)
        new.update(tables)
        ds = Dataset(new, self.meta.model_copy(), self.source)
        ds.locations = dict(self.locations)
        ds.meta_rows = dict(self.meta_rows)
        return ds

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self._tables.items() if len(v))
        return f"Dataset({self.meta.name!r}, {self.meta.currency}, {sizes})"

    # -- derived ----------------------------------------------------------------
    @property
    def as_of(self) -> dt.date:
        """The data's end date (declared, or the last transaction date)."""
        if self.meta.end_date is not None:
            return self.meta.end_date
        return pd.Timestamp(self.transactions["date"].max()).date()

    @property
    def first_date(self) -> dt.date | None:
        """The data's first date (declared, or the first transaction date; None if neither)."""
        if self.meta.start_date is not None:
            return self.meta.start_date
        if "transactions" in self and len(self.transactions):
            return pd.Timestamp(self.transactions["date"].min()).date()
        return None

    def check_covers(self, start: dt.date, end: dt.date, what: str) -> None:
        """Refuse a period (``start`` to ``end``, inclusive) that lies wholly outside the data.

        Raises
        ------
        SpmConfigError
            One line naming ``what`` (e.g. ``"--period 2022-Q3"``) and the data's span.
        """
        first = self.first_date
        try:
            last: dt.date | None = self.as_of
        except (KeyError, TypeError, ValueError):
            last = None
        if first is None or last is None:
            return
        if pd.Timestamp(end) < pd.Timestamp(first) or pd.Timestamp(start) > pd.Timestamp(last):
            side = "before" if pd.Timestamp(end) < pd.Timestamp(first) else "after"
            raise SpmConfigError(f"{what} is {side} the data, which run from {first} to {last}")

    def summary(self) -> pd.DataFrame:
        """One row per table: rows, columns, date range and money total where relevant."""
        rows = []
        for name, df in self._tables.items():
            schema = TABLES.get(name)
            date_cols = [c.name for c in schema.columns if c.kind == "date"] if schema else []
            money_cols = [c.name for c in schema.columns if c.kind == "money"] if schema else []
            first = last = None
            for c in date_cols:
                if c in df and df[c].notna().any():
                    lo, hi = df[c].min(), df[c].max()
                    first = lo if first is None else min(first, lo)
                    last = hi if last is None else max(last, hi)
            main_money = money_cols[0] if money_cols else None
            rows.append(
                {
                    "table": name,
                    "rows": len(df),
                    "columns": df.shape[1],
                    "first_date": None if first is None else pd.Timestamp(first).date(),
                    "last_date": None if last is None else pd.Timestamp(last).date(),
                    "money_column": main_money,
                    "money_total": float(df[main_money].sum()) if main_money in df else None,
                }
            )
        return pd.DataFrame(rows)

    # -- validation and I/O -----------------------------------------------------
    def validate(self, columns: bool = True) -> list[Problem]:
        """Return every problem found in the dataset (empty list when valid).

        Parameters
        ----------
        columns : bool
            Also run the per-column checks (types, nulls, allowed values,
            ranges); needed for tables built in memory, redundant right after
            :func:`~spm_model.data.io.load_dataset`.

        Returns
        -------
        list of Problem
            Each with file/sheet, row, column and reason.
        """
        from spm_model.data.validate import validate_dataset

        return validate_dataset(self, columns=columns)

    def check(self) -> Dataset:
        """Raise :class:`~spm_model.errors.SpmDataError` listing every problem; else return self."""
        from spm_model.errors import SpmDataError

        problems = self.validate()
        if problems:
            raise SpmDataError(problems)
        return self

    def save(self, target: str | os.PathLike[str], format: Format | None = None) -> Path:
        """Write the dataset atomically (nothing half-written on failure).

        Parameters
        ----------
        target : path
            Folder (CSV/Parquet), ``.xlsx`` or ``.duckdb`` file.
        format : {"csv", "parquet", "xlsx", "duckdb"}, optional
            Inferred from the suffix when omitted (a folder defaults to CSV).

        Returns
        -------
        Path
            The written target.
        """
        from spm_model.data import io

        return io.save_dataset(self, Path(target), format or io.infer_format(Path(target)))


def empty_table(schema: TableSchema) -> pd.DataFrame:
    """Return an empty frame with the canonical columns and dtypes of ``schema``."""
    data: dict[str, Any] = {}
    for c in schema.columns:
        if c.kind == "date":
            data[c.name] = pd.Series([], dtype="datetime64[ns]")
        elif c.kind in ("money", "float"):
            data[c.name] = pd.Series([], dtype="float64")
        elif c.kind == "int":
            data[c.name] = pd.Series([], dtype="Int64")
        elif c.kind == "bool":
            data[c.name] = pd.Series([], dtype="boolean")
        else:
            data[c.name] = pd.Series([], dtype=TEXT_DTYPE)
    return pd.DataFrame(data)


_MAX_REPORTED = 50
"""Rows reported per column and check; the rest are counted in one summary line."""

_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_NS_MIN = pd.Timestamp("1678-01-01")
_NS_MAX = pd.Timestamp("2261-12-31")


def _is_text(s: pd.Series) -> bool:
    """Whether every non-null value of ``s`` is a Python/pandas string (vectorised test)."""
    if pd.api.types.is_string_dtype(s) and s.dtype != object:
        return True
    if s.dtype != object:
        return False
    return pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def _is_null(s: pd.Series) -> np.ndarray:
    """Null mask: missing values and strings that are empty after stripping."""
    na = np.array(s.isna().to_numpy(dtype=bool, na_value=True), dtype=bool)
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        present = ~na
        if present.any():
            vals = s[present]
            if _is_text(vals):
                blank = vals.str.strip().eq("").to_numpy(dtype=bool, na_value=False)
            else:
                blank = vals.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(
                    dtype=bool
                )
            na[present] = blank
    return na


def _text_of(v: Any) -> str:
    """Canonical text of one non-null cell (``1.0`` read from Excel becomes ``"1"``)."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    elif isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        v = v.isoformat()
    return str(v).strip()


TEXT_DTYPE = pd.StringDtype(na_value=np.nan)
"""dtype of canonical text columns (ids, names, categories, period labels).

pandas' default string dtype (``"str"``): Arrow-backed, so millions of ids are
compact and ``isin``/``duplicated``/``merge`` are fast; missing values are NaN.
"""


def _to_text(s: pd.Series, null: np.ndarray) -> pd.Series:
    """Text column of stripped strings, missing where ``null`` (vectorised)."""
    if not pd.api.types.is_string_dtype(s) or s.dtype == object:
        if _is_text(s.dropna()):
            s = s.astype(TEXT_DTYPE)
        else:
            # Excel cells or in-memory objects: numbers, dates and text mixed
            present = ~null
            texts = np.full(len(s), None, dtype=object)
            if present.any():
                codes, uniques = pd.factorize(s[present], use_na_sentinel=True)
                conv = np.array([_text_of(u) for u in uniques], dtype=object)
                texts[present] = conv[codes]
            s = pd.Series(texts, index=s.index).astype(TEXT_DTYPE)
    elif s.dtype != TEXT_DTYPE:
        s = s.astype(TEXT_DTYPE)
    out = s.str.strip()
    if null.any():
        out = out.where(~null)
    return out


def _text_column(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Return the stripped text column (missing where empty) and its null mask (one strip)."""
    if pd.api.types.is_string_dtype(s) and s.dtype != object:
        t = s if s.dtype == TEXT_DTYPE else s.astype(TEXT_DTYPE)
        stripped = t.str.strip()
        null = np.asarray(
            stripped.isna().to_numpy() | stripped.eq("").to_numpy(na_value=False), dtype=bool
        )
        return (stripped.where(~null) if null.any() else stripped), null
    null = _is_null(s)
    return _to_text(s, null), null


def _map_unique(s: pd.Series, func: Any) -> pd.Series:
    """Apply ``func`` to each distinct non-null value once and map the results back."""
    out = np.full(len(s), None, dtype=object)
    present = s.notna().to_numpy()
    if present.any():
        codes, uniques = pd.factorize(s[present])
        res = np.empty(len(uniques), dtype=object)
        res[:] = [func(u) for u in uniques]
        out[present] = res[codes]
    return pd.Series(out, index=s.index)


def _to_dates(s: pd.Series, null: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Datetime64[ns] column at midnight and the mask of unparseable cells."""
    if pd.api.types.is_datetime64_any_dtype(s):
        vals = s
        if getattr(vals.dt, "tz", None) is not None:
            vals = vals.dt.tz_localize(None)
    else:
        src = s.where(~null) if s.dtype == object else s.astype(object).where(~null)
        if src.dtype == object and not _is_text(src.dropna()):
            # Excel cells: datetime objects, dates or numbers mixed with text
            src = _map_unique(
                src, lambda v: v if isinstance(v, (dt.date, pd.Timestamp)) else _text_of(v)
            )
        vals = pd.to_datetime(src, errors="coerce", format="ISO8601")
        if getattr(vals.dt, "tz", None) is not None:
            vals = vals.dt.tz_localize(None)
    oob = (vals.notna() & ((vals < _NS_MIN) | (vals > _NS_MAX))).to_numpy()
    if oob.any():
        vals = vals.where(~oob)
    vals = vals.astype("datetime64[ns]").dt.normalize()
    bad = ~null & vals.isna().to_numpy()
    return vals, bad


def _period_label(v: Any) -> str | None:
    from spm_model.data.periods import parse_period

    try:
        return parse_period(str(v)).label
    except ValueError:
        return None


def _closest_hint(name: str, present: list[str]) -> str:
    """Suggest the present column closest to the missing ``name`` (difflib), if any is close."""
    import difflib

    by_lower = {c.lower(): c for c in present}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    if not match:
        # abbreviations ("amt" for "amount", "acct_id" for "account_id"): same letters in order
        match = [c for c in by_lower if _is_abbreviation(c, name.lower())][:1]
    if not match:
        return ""
    found = by_lower[match[0]]
    return f"; did you mean {found!r}? (rename that column to {name!r})"


def _is_abbreviation(short: str, long: str) -> bool:
    """Whether ``short`` keeps ``long``'s first letter and is a subsequence of it."""
    if len(short) < 2 or short[0] != long[0] or len(short) >= len(long):
        return False
    it = iter(long)
    return all(ch in it for ch in short)


def _empty_frame(schema: TableSchema) -> pd.DataFrame:
    """Return a table of ``schema`` with its canonical columns and no rows."""
    index = pd.RangeIndex(0)
    return pd.DataFrame({c.name: _empty_column(c.kind, 0, index) for c in schema.columns})


def _shown(value: Any) -> str:
    """Show a cell in a message as a CSV shows it ('inf', not np.float64(inf))."""
    if isinstance(value, float | np.floating):
        return repr(str(float(value)))
    return repr(value)


def coerce_table(
    raw: pd.DataFrame, schema: TableSchema, source: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert a raw frame to the canonical dtypes of ``schema``, collecting problems.

    Checks done here (per column, every row at once, vectorised): missing
    required column, value of the wrong type, non-finite number, null in a
    non-nullable column, bad period label, value not in the allowed set, value
    below ``min_value`` or above ``max_value``. Only the first
    ``50`` rows per column and check are listed; the rest are counted.

    Parameters
    ----------
    raw : DataFrame
        Table as read (text from CSV, mixed objects from Excel, typed from
        Parquet/DuckDB or memory).
    schema : TableSchema
        Canonical schema of the table.
    source : str
        File, sheet or database table, used in messages.

    Returns
    -------
    (DataFrame, list of Problem)
        The coerced frame (canonical columns first, then any extra columns as
        they were; bad cells become null) and the problems found. Row numbers
        count the header as row 1, so the first data row is row 2.
    """
    problems: list[Problem] = []
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    out: dict[str, pd.Series] = {}
    n = len(raw)
    index = raw.index

    def report(mask: np.ndarray, column: str, msg_of: Any) -> None:
        idx = np.flatnonzero(mask)
        for i in idx[:_MAX_REPORTED]:
            problems.append(Problem(source, schema.name, int(i) + 2, column, msg_of(i)))
        if len(idx) > _MAX_REPORTED:
            problems.append(
                Problem(
                    source,
                    schema.name,
                    None,
                    column,
                    f"... and {len(idx) - _MAX_REPORTED} more rows with the same problem",
                )
            )

    if n == 0 and schema.required_table and schema.needs_rows:
        # one root cause, not a missing-column line per column of an empty file
        why = " (the file is empty)" if raw.shape[1] == 0 else ""
        problems.append(Problem(source, schema.name, None, None, f"{schema.name} has no rows{why}"))
        if raw.shape[1] == 0:
            return _empty_frame(schema), problems
    elif raw.shape[1] == 0:
        return _empty_frame(schema), problems  # an empty file of an optional table

    dup_cols = sorted({c for c in raw.columns if list(raw.columns).count(c) > 1})
    for c in dup_cols:
        problems.append(
            Problem(source, schema.name, 1, c, "column appears more than once in the header")
        )
    if dup_cols:
        raw = raw.loc[:, ~raw.columns.duplicated()]

    known = set(schema.column_names)
    unknown = [c for c in raw.columns if c not in known]
    for col in schema.columns:
        if col.name not in raw.columns:
            if col.required:
                problems.append(
                    Problem(
                        source,
                        schema.name,
                        1,
                        col.name,
                        "required column is missing from the header"
                        + _closest_hint(col.name, unknown),
                    )
                )
            out[col.name] = _empty_column(col.kind, n, index)
            continue
        s = raw[col.name]
        conv: pd.Series
        if col.kind in ("str", "period"):
            text, null = _text_column(s)
        else:
            null = _is_null(s)
        if col.kind in ("money", "float", "int"):
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                vals = s.astype("float64")
            else:
                src = s.where(~null)
                if src.dtype == object and not _is_text(src.dropna()):
                    src = _map_unique(
                        src, lambda v: v if isinstance(v, (int, float)) else _text_of(v)
                    )
                vals = pd.to_numeric(src, errors="coerce").astype("float64")
            arr = vals.to_numpy()
            bad = ~null & np.isnan(arr)
            report(bad, col.name, lambda i, s=s, c=col: f"{s.iloc[i]!r} is not a number ({c.kind})")
            inf = ~null & np.isinf(arr)
            report(inf, col.name, lambda i, s=s: f"{_shown(s.iloc[i])} is not a finite number")
            bad |= inf
            arr = np.where(bad | null, np.nan, arr)
            vals = pd.Series(arr, index=index)
            if col.kind == "money":
                vals = vals.round(2)
            ok = ~null & ~bad
            if col.kind == "int":
                frac = ok & (np.mod(np.where(ok, arr, 0.0), 1) != 0)
                report(frac, col.name, lambda i, s=s: f"{s.iloc[i]!r} is not a whole number")
                vals = vals.where(~frac)
                ok &= ~frac
                conv = vals.round().astype("Int64")
            else:
                conv = vals
            if col.min_value is not None:
                low = ok & (arr < col.min_value)
                report(
                    low,
                    col.name,
                    lambda i, a=arr, c=col: f"{a[i]:g} is below the minimum {c.min_value:g}",
                )
            if col.max_value is not None:
                high = ok & (arr > col.max_value)
                report(
                    high,
                    col.name,
                    lambda i, a=arr, c=col: f"{a[i]:g} is above the maximum {c.max_value:g}",
                )
        elif col.kind == "date":
            conv, bad = _to_dates(s, null)
            report(
                bad, col.name, lambda i, s=s: f"{s.iloc[i]!r} is not a date (expected YYYY-MM-DD)"
            )
        elif col.kind == "bool":
            if pd.api.types.is_bool_dtype(s):
                conv = s.astype("boolean")
                bad = np.zeros(n, dtype=bool)
            else:
                mapped = _map_unique(
                    s.where(~null),
                    lambda v: (
                        _BOOL_WORDS.get(_text_of(v).lower()) if not isinstance(v, bool) else v
                    ),
                )
                bad = ~null & mapped.isna().to_numpy()
                conv = mapped.astype("boolean")
            report(bad, col.name, lambda i, s=s: f"{s.iloc[i]!r} is not true/false")
        else:  # str, period
            conv = text
            if col.kind == "period":
                labels = _map_unique(conv, _period_label)
                bad = ~null & labels.isna().to_numpy()
                report(
                    bad,
                    col.name,
                    lambda i, c=conv: (
                        f"{c.iloc[i]!r} is not a period label (e.g. 2025, 2025-Q3, 2025-07)"
                    ),
                )
                conv = labels.astype(TEXT_DTYPE).where(~bad, conv)
            if col.allowed:
                notin = ~null & ~conv.isin(col.allowed).to_numpy()
                report(
                    notin,
                    col.name,
                    lambda i, c=conv, a=col.allowed: f"{c.iloc[i]!r} is not one of {', '.join(a)}",
                )
        if not col.nullable:
            report(null, col.name, lambda i: "required value is empty")
        out[col.name] = conv
    for c in raw.columns:
        if c not in out:
            out[c] = raw[c]
    return pd.DataFrame(out, index=index), problems


def _empty_column(kind: str, n: int, index: pd.Index) -> pd.Series:
    """Return an all-null column of ``kind`` (for optional columns absent from the source)."""
    if kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"), index=index)
    if kind in ("money", "float"):
        return pd.Series(np.full(n, np.nan), index=index)
    if kind == "int":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"), index=index)
    if kind == "bool":
        return pd.Series(pd.array([pd.NA] * n, dtype="boolean"), index=index)
    return pd.Series(np.full(n, np.nan, dtype=object), index=index).astype(TEXT_DTYPE)
