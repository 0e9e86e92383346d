"""Import a CRM or spreadsheet export into a canonical table through a column-mapping YAML.

A mapping file says which canonical table the export fills and, for each canonical
column, which export column holds it, plus the few conversions exports need::

    table: opportunities             # the canonical table (spm_model.data.schema.TABLES)
    columns:                         # canonical column: export column header
      opportunity_id: Opportunity ID
      amount: Amount
      status: Status
    values:                          # per canonical column: export value -> canonical value
      status: {Won: won, Lost: lost, Open: open}
    scale:                           # per canonical column: multiply (percent -> fraction)
      probability: 0.01
    constants:                       # canonical columns with one value for every row
      product_id: P001
    date_format: "%m/%d/%Y"          # how the export writes dates (default: ISO dates)

Money and numbers may carry currency symbols, thousands separators and spaces
(``"$1,234.50"``); they are cleaned before the table is checked against its schema,
so the result is what :func:`spm_model.data.load_dataset` reads. :func:`export_table`
is the inverse (canonical table -> export layout), used to make a worked example and
to test that a mapping round-trips.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from spm_model.data.schema import TABLES
from spm_model.errors import SpmConfigError, SpmDataError

_NUMBER_JUNK = re.compile(r"[^\d.\-eE+]")


@dataclass(frozen=True)
class ImportMapping:
    """How one export becomes one canonical table.

    Parameters
    ----------
    table : str
        Canonical table name.
    columns : mapping of str to str
        Canonical column -> export column header.
    values : mapping of str to mapping
        Canonical column -> {export value: canonical value}; values not listed are kept.
    scale : mapping of str to float
        Canonical column -> factor applied to the export's numbers (0.01: percent to fraction).
    constants : mapping of str to Any
        Canonical column -> value for every row (a column the export does not have).
    date_format : str, optional
        ``strftime`` format of the export's dates (default: ISO ``YYYY-MM-DD``).
    """

    table: str
    columns: Mapping[str, str]
    values: Mapping[str, Mapping[Any, Any]] = field(default_factory=dict)
    scale: Mapping[str, float] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    date_format: str | None = None

    def __post_init__(self) -> None:
        """Check the mapping against the canonical schema (names every problem at once)."""
        if self.table not in TABLES:
            raise SpmConfigError(
                f"mapping: unknown table {self.table!r}; tables: {', '.join(TABLES)}"
            )
        schema = TABLES[self.table]
        names = schema.column_names
        problems = []
        for section in ("columns", "values", "scale", "constants"):
            for col in getattr(self, section):
                if col not in names:
                    close = difflib.get_close_matches(col, names, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    problems.append(f"{section}: {col!r} is not a column of {self.table}{hint}")
        covered = set(self.columns) | set(self.constants)
        for c in schema.columns:
            if c.required and not c.nullable and c.name not in covered:
                problems.append(f"columns: required column {c.name!r} is not mapped")
        if problems:
            raise SpmConfigError("mapping: " + "; ".join(problems))


def read_mapping(path: str | os.PathLike[str]) -> ImportMapping:
    """Read a column-mapping YAML file.

    Raises
    ------
    SpmConfigError
        The file is missing, is not a mapping, or names unknown tables or columns.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise SpmConfigError(f"{p}: mapping file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpmConfigError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or "table" not in raw or "columns" not in raw:
        raise SpmConfigError(f"{p}: a mapping needs 'table' and 'columns'")
    allowed = {"table", "columns", "values", "scale", "constants", "date_format"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SpmConfigError(f"{p}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    try:
        return ImportMapping(
            table=str(raw["table"]),
            columns={str(k): str(v) for k, v in (raw.get("columns") or {}).items()},
            values={str(k): dict(v) for k, v in (raw.get("values") or {}).items()},
            scale={str(k): float(v) for k, v in (raw.get("scale") or {}).items()},
            constants={str(k): v for k, v in (raw.get("constants") or {}).items()},
            date_format=raw.get("date_format"),
        )
    except SpmConfigError as exc:
        raise SpmConfigError(f"{p}: {exc}") from None


def _number(series: pd.Series) -> pd.Series:
    """Numbers from text such as ``"$1,234.50"`` or ``" 12 % "`` (empty stays missing)."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    text = series.astype("string").str.strip()
    negative = text.str.startswith("(") & text.str.endswith(")")  # accounting negatives
    cleaned = text.str.replace(_NUMBER_JUNK, "", regex=True).replace("", pd.NA)
    out = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    return out.where(~negative.fillna(False), -out)


def apply_mapping(export: pd.DataFrame, mapping: ImportMapping, source: str = "<export>") -> Any:
    """Turn an export into the canonical table (checked against its schema).

    Parameters
    ----------
    export : DataFrame
        The export as read (text or typed columns).
    mapping : ImportMapping
    source : str
        Name of the export, for messages.

    Returns
    -------
    DataFrame
        The canonical table with every schema column, canonical dtypes.

    Raises
    ------
    SpmDataError
        Export columns named by the mapping are missing (with the closest headers),
        or values fail the schema's checks.
    """
    from spm_model.data.dataset import coerce_table

    headers = [str(c) for c in export.columns]
    missing = [(c, h) for c, h in mapping.columns.items() if h not in headers]
    if missing:
        parts = []
        for canon, header in missing:
            close = difflib.get_close_matches(header, headers, n=1, cutoff=0.5)
            hint = f" (closest: {close[0]!r})" if close else ""
            parts.append(f"{header!r} for {canon}{hint}")
        raise SpmDataError(f"{source}: export has no column " + "; ".join(parts))
    schema = TABLES[mapping.table]
    out: dict[str, pd.Series] = {}
    n = len(export)
    for col in schema.columns:
        if col.name in mapping.columns:
            s = export[mapping.columns[col.name]].copy()
        elif col.name in mapping.constants:
            s = pd.Series([mapping.constants[col.name]] * n, index=export.index, dtype=object)
        else:
            s = pd.Series([None] * n, index=export.index, dtype=object)
        if col.name in mapping.values:
            table = mapping.values[col.name]
            s = s.map(lambda v, t=table: t.get(v, v) if pd.notna(v) else v)
        if col.kind in ("money", "float", "int"):
            s = _number(s)
            if col.name in mapping.scale:
                s = s * mapping.scale[col.name]
            if col.kind == "money":
                s = s.round(2)
        elif col.kind == "date" and col.name in mapping.columns:
            parsed = pd.to_datetime(s, format=mapping.date_format or "ISO8601", errors="coerce")
            s = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None)
        out[col.name] = s
    raw = pd.DataFrame(out).astype(object)
    raw = raw.where(raw.notna(), None)
    df, problems = coerce_table(raw, schema, source)
    if problems:
        raise SpmDataError(problems)
    return df


def export_table(table: pd.DataFrame, mapping: ImportMapping) -> pd.DataFrame:
    """Write a canonical table in the export's layout (the inverse of :func:`apply_mapping`).

    Values are mapped back, scales undone and dates written in ``date_format``; constant
    columns are left out. Used for worked examples and round-trip tests.
    """
    out = {}
    for canon, header in mapping.columns.items():
        s = table[canon]
        col = TABLES[mapping.table].column(canon)
        if canon in mapping.values:
            inverse = {v: k for k, v in mapping.values[canon].items()}
            s = s.map(lambda v, t=inverse: t.get(v, v) if pd.notna(v) else v)
        if canon in mapping.scale and col.kind in ("money", "float", "int"):
            s = (s / mapping.scale[canon]).round(6)
        if col.kind == "date":
            ts = pd.to_datetime(s)
            s = ts.dt.strftime(mapping.date_format or "%Y-%m-%d").where(ts.notna(), "")
        out[header] = s
    return pd.DataFrame(out)


def read_export(path: str | os.PathLike[str], sheet: str | None = None) -> pd.DataFrame:
    """Read an export (CSV, or one sheet of an ``.xlsx`` workbook) as text."""
    p = Path(path)
    if not p.is_file():
        raise SpmConfigError(f"{p}: export file not found")
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return pd.read_excel(p, sheet_name=sheet or 0, dtype=object)
    return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])


def import_export(
    export: str | os.PathLike[str],
    mapping: str | os.PathLike[str] | ImportMapping,
    out: str | os.PathLike[str],
    sheet: str | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Import an export file into ``out`` (a dataset folder, or a ``.csv`` path), atomically.

    Returns
    -------
    (Path, DataFrame)
        The CSV written (``<folder>/<table>.csv``) and the canonical table.
    """
    from spm_model.data.io import atomic_write_text

    m = mapping if isinstance(mapping, ImportMapping) else read_mapping(mapping)
    table = apply_mapping(read_export(export, sheet), m, source=str(export))
    target = Path(out)
    if target.suffix.lower() != ".csv":
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{m.table}.csv"
    text = table.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return atomic_write_text(target, text), table
