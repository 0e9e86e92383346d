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
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from spm_model.data.schema import TABLES, TableSchema
from spm_model.errors import Problem, SpmDataError

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
        self.meta = meta or DatasetMeta()
        self.source = source
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
        return Dataset(new, self.meta.model_copy(), self.source)

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
    def validate(self) -> list[Problem]:
        """Return every problem found in the dataset (empty list when valid)."""
        from spm_model.data.validate import validate_dataset

        return validate_dataset(self)

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
    """An empty frame with the canonical columns and dtypes of ``schema``."""
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
            data[c.name] = pd.Series([], dtype=object)
    return pd.DataFrame(data)


def _is_null(s: pd.Series) -> np.ndarray:
    na = s.isna().to_numpy()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        stripped = s.astype(object).where(~s.isna(), "").map(lambda v: str(v).strip())
        na = na | (stripped == "").to_numpy()
    return na


def coerce_table(
    raw: pd.DataFrame, schema: TableSchema, source: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert a raw frame to the canonical dtypes of ``schema``, collecting problems.

    Checks done here (per column, every row at once): missing required column,
    value of the wrong type, null in a non-nullable column, value not in the
    allowed set, value below ``min_value`` or above ``max_value``.

    Returns
    -------
    (DataFrame, list of Problem)
        The coerced frame (bad cells become null) and the problems found.
    """
    from spm_model.data.periods import parse_period

    problems: list[Problem] = []
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    out = pd.DataFrame(index=raw.index)
    rownum = raw.index.to_numpy() + 2

    def report(mask: np.ndarray, column: str, msg_of: Any) -> None:
        idx = np.flatnonzero(mask)
        for i in idx[:50]:
            problems.append(Problem(source, schema.name, int(rownum[i]), column, msg_of(i)))
        if len(idx) > 50:
            problems.append(
                Problem(source, schema.name, None, column, f"... {len(idx) - 50} more rows with the same problem")
            )

    for col in schema.columns:
        if col.name not in raw.columns:
            if col.required:
                problems.append(Problem(source, schema.name, None, col.name, "required column is missing"))
            out[col.name] = empty_table(TableSchema("x", "", (col,), ())).iloc[:0][col.name].reindex(raw.index)
            continue
        s = raw[col.name]
        null = _is_null(s)
        if col.kind in ("money", "float", "int"):
            vals = pd.to_numeric(s.where(~null), errors="coerce").astype("float64")
            bad = ~null & vals.isna().to_numpy()
            report(bad, col.name, lambda i, s=s, c=col: f"{s.iloc[i]!r} is not a number ({c.kind})")
            if col.kind == "money":
                vals = vals.round(2)
            if col.kind == "int":
                frac = ~null & ~bad & (vals % 1 != 0).to_numpy()
                report(frac, col.name, lambda i, s=s: f"{s.iloc[i]!r} is not a whole number")
                conv: pd.Series = vals.round().astype("Int64")
            else:
                conv = vals
            ok = ~null & ~bad
            if col.min_value is not None:
                low = ok & (vals < col.min_value).to_numpy()
                report(low, col.name, lambda i, v=vals, c=col: f"{v.iloc[i]:g} is below the minimum {c.min_value:g}")
            if col.max_value is not None:
                high = ok & (vals > col.max_value).to_numpy()
                report(high, col.name, lambda i, v=vals, c=col: f"{v.iloc[i]:g} is above the maximum {c.max_value:g}")
        elif col.kind == "date":
            if pd.api.types.is_datetime64_any_dtype(s):
                vals = pd.to_datetime(s).dt.tz_localize(None) if getattr(s.dt, "tz", None) else pd.to_datetime(s)
            else:
                txt = s.where(~null).map(lambda v: v if v is None or isinstance(v, float) else (v.isoformat() if hasattr(v, "isoformat") else str(v).strip()))
                vals = pd.to_datetime(txt, errors="coerce", format="mixed")
            vals = vals.astype("datetime64[ns]").dt.normalize()
            bad = ~null & vals.isna().to_numpy()
            report(bad, col.name, lambda i, s=s: f"{s.iloc[i]!r} is not a date (expected YYYY-MM-DD)")
            conv = vals
        elif col.kind == "bool":
            mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
            vals = s.where(~null).map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else mapping.get(str(v).strip().lower()))
            bad = ~null & vals.isna().to_numpy()
            report(bad, col.name, lambda i, s=s: f"{s.iloc[i]!r} is not true/false")
            conv = vals.astype("boolean")
        else:  # str, period
            def to_text(v: Any) -> Any:
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    return None
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                t = str(v).strip()
                return t or None

            conv = s.map(to_text).astype(object)
            if col.kind == "period":
                def bad_period(v: Any) -> bool:
                    if v is None:
                        return False
                    try:
                        parse_period(v)
                    except ValueError:
                        return True
                    return False

                bad = conv.map(bad_period).to_numpy(dtype=bool)
                report(bad, col.name, lambda i, c=conv: f"{c.iloc[i]!r} is not a period label (e.g. 2025, 2025-Q3, 2025-07)")
                conv = conv.map(lambda v: None if v is None else (parse_period(v).label if not bad_period(v) else v)).astype(object)
            if col.allowed:
                notin = ~null & ~conv.isin(col.allowed).to_numpy()
                report(notin, col.name, lambda i, c=conv, a=col.allowed: f"{c.iloc[i]!r} is not one of {', '.join(a)}")
        if not col.nullable:
            report(null, col.name, lambda i: "required value is empty")
        out[col.name] = conv
    extra = [c for c in raw.columns if c not in out.columns]
    for c in extra:
        out[c] = raw[c]
    return out, problems
