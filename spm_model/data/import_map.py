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

Money and numbers may carry a currency symbol or code, thousands separators, a
percent sign and an accounting negative (``"$1,234.50"``, ``"$(300.00)"``,
``"EUR 1,200"``, ``"12 %"``, ``"1,234-"``); ``decimal: ","`` reads European numbers
(``"1.234,56"``, ``"1 234,50"``); ``"n/a"``, ``"null"`` and the like are empty cells.
Anything else (``"1.5K"``, ``"abc"``, a European
number without ``decimal: ","``) is an error naming its row, column and value, never a
guess; so is a date that does not read in ``date_format``. The result is what
:func:`spm_model.data.load_dataset` reads. :func:`export_table`
is the inverse (canonical table -> export layout), used to make a worked example and
to test that a mapping round-trips.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spm_model.data.schema import TABLES
from spm_model.errors import Problem, SpmConfigError, SpmDataError

_CURRENCY = r"(?:[$€£¥]|[A-Z]{3})"
_NUMBER_BODY = {
    ".": r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+",
    ",": r"(?:\d{1,3}(?:[.\s\u00a0\u202f]\d{3})+|\d+)(?:,\d+)?",
}
_NOT_KNOWN = ("n/a", "na", "#n/a", "null", "none", "nan")
"""Cell text read as an empty cell (a value not known), in any case."""
_CURRENCY_TOKEN = re.compile(rf"(?<![A-Za-z]){_CURRENCY}(?![A-Za-z])")
_NUMBER = {
    sep: re.compile(
        rf"^(?P<open>\()?\s*(?P<s1>[-+])?\s*(?P<s2>[-+])?\s*(?P<num>{body})"
        rf"\s*%?\s*(?P<s3>-)?\s*(?P<close>\))?$"
    )
    for sep, body in _NUMBER_BODY.items()
}


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
    decimal : {".", ","}
        The export's decimal mark (``","``: European numbers, ``.`` or a space
        between thousands).
    """

    table: str
    columns: Mapping[str, str]
    values: Mapping[str, Mapping[Any, Any]] = field(default_factory=dict)
    scale: Mapping[str, float] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    date_format: str | None = None
    decimal: str = "."

    def __post_init__(self) -> None:
        """Check the mapping against the canonical schema (names every problem at once)."""
        if self.decimal not in _NUMBER:
            raise SpmConfigError(f"mapping: decimal must be '.' or ',', got {self.decimal!r}")
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
    from spm_model.data.io import read_yaml_mapping

    p = Path(path)
    raw = read_yaml_mapping(p, "mapping file")
    if "table" not in raw or "columns" not in raw:
        raise SpmConfigError(f"{p}: a mapping needs 'table' and 'columns'")
    allowed = {"table", "columns", "values", "scale", "constants", "date_format", "decimal"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SpmConfigError(f"{p}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    problems = []
    sections: dict[str, dict] = {}
    for key in ("columns", "values", "scale", "constants"):
        got = raw.get(key) or {}
        if not isinstance(got, dict):
            problems.append(f"{key}: must be a mapping (canonical column: ...), got {got!r}")
            got = {}
        sections[key] = {str(k): v for k, v in got.items()}
    for col, table in sections["values"].items():
        if not isinstance(table, dict):
            problems.append(
                f"values: {col}: must be a mapping (export value: canonical value), got {table!r}"
            )
    for col, factor in sections["scale"].items():
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            problems.append(f"scale: {col}: must be a number (0.01: percent), got {factor!r}")
    if problems:
        raise SpmConfigError(f"{p}: " + "; ".join(problems))
    try:
        return ImportMapping(
            table=str(raw["table"]),
            columns={k: str(v) for k, v in sections["columns"].items()},
            values={k: dict(v) for k, v in sections["values"].items()},
            scale={k: float(v) for k, v in sections["scale"].items()},
            constants=sections["constants"],
            date_format=raw.get("date_format"),
            decimal=str(raw.get("decimal", ".")),
        )
    except SpmConfigError as exc:
        raise SpmConfigError(f"{p}: {exc}") from None


def parse_number(text: str, decimal: str = ".") -> float | None:
    """One export number, or None when it is not one (see the module docstring).

    ``"$1,234.50"`` -> 1234.5; ``"$(300.00)"``, ``"-$300"`` and ``"300-"`` -> -300.0;
    ``"12 %"`` -> 12.0 (scale it with the mapping); with ``decimal=","``
    ``"1.234,56"`` and ``"1 234,56"`` -> 1234.56.
    """
    text, n_cur = _CURRENCY_TOKEN.subn("", str(text).strip())
    if n_cur > 1:
        return None
    m = _NUMBER[decimal].match(text.strip())
    if m is None or bool(m["open"]) != bool(m["close"]):
        return None
    marks = [bool(m["open"]), m["s1"] == "-", m["s2"] == "-", bool(m["s3"])]
    if sum(marks) > 1 or (m["s1"] and m["s2"]):
        return None
    body = m["num"]
    if decimal == ",":
        body = re.sub(r"[.\s\u00a0\u202f]", "", body).replace(",", ".")
    else:
        body = body.replace(",", "")
    value = float(body)
    return -value if any(marks) else value


def _number(series: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Numbers of an export column and the cells that are not numbers (empty stays missing)."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), pd.Series(False, index=series.index)
    text = series.astype("string").str.strip()
    empty = text.isna() | text.str.lower().isin(("", *_NOT_KNOWN))
    parsed = {v: parse_number(v, decimal) for v in text[~empty].unique()}
    values = text.map(lambda v: parsed.get(v) if isinstance(v, str) else None)
    out = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = ~empty & out.isna()
    return out, bad


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
        raise SpmDataError(
            Problem(source, mapping.table, None, None, "export has no column " + "; ".join(parts))
        )
    schema = TABLES[mapping.table]
    out: dict[str, pd.Series] = {}
    n = len(export)
    unread: list[Problem] = []

    def report(mask: pd.Series, raw: pd.Series, col: str, what: str) -> None:
        header = mapping.columns.get(col, col)
        for i in np.flatnonzero(mask.to_numpy())[:50]:
            unread.append(
                Problem(source, mapping.table, int(i) + 2, header, f"{raw.iloc[i]!r} {what}")
            )

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
            raw_s = s
            s, bad = _number(s, mapping.decimal)
            hint = ' (decimal: "," reads European numbers)' if mapping.decimal == "." else ""
            report(bad, raw_s, col.name, f"is not a number{hint}")
            if col.name in mapping.scale:
                s = s * mapping.scale[col.name]
            if col.kind == "money":
                s = s.round(2)
        elif col.kind == "date" and col.name in mapping.columns:
            parsed = pd.to_datetime(s, format=mapping.date_format or "ISO8601", errors="coerce")
            given = s.notna() & (s.astype("string").str.strip() != "")
            fmt = mapping.date_format or "ISO dates, YYYY-MM-DD"
            report(given & parsed.isna(), s, col.name, f"is not a date (date_format: {fmt})")
            s = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None)
        out[col.name] = s
    if unread:
        raise SpmDataError(unread)
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
        import openpyxl

        names = openpyxl.load_workbook(p, read_only=True).sheetnames
        if sheet is not None and sheet not in names:
            raise SpmConfigError(f"{p}: no sheet {sheet!r}; sheets: {', '.join(names)}")
        return pd.read_excel(p, sheet_name=sheet or 0, dtype=object)
    options: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "index_col": False,  # a row with an extra field is an error, not a shifted row
    }
    try:
        try:
            encoding = "utf-8-sig"
            p.read_bytes().decode(encoding)
        except UnicodeDecodeError:  # a spreadsheet's Windows export (Latin-1 / cp1252)
            encoding = "cp1252"
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                return pd.read_csv(p, encoding=encoding, **options)
            except pd.errors.ParserWarning:
                raise SpmDataError(_ragged(p, encoding)) from None
    except pd.errors.EmptyDataError:
        raise SpmDataError(Problem(str(p), None, None, None, "the export is empty")) from None
    except pd.errors.ParserError as exc:
        ragged = [r for r in _ragged(p, encoding) if r.row is not None]
        raise SpmDataError(
            ragged or [Problem(str(p), None, None, None, f"cannot read: {exc}")]
        ) from None


def _ragged(path: Path, encoding: str) -> list[Problem]:
    """Rows with more fields than the header (a stray delimiter), by line number."""
    import csv

    with path.open(encoding=encoding, newline="") as f:
        rows = csv.reader(f)
        header = next(rows, [])
        out = [
            Problem(
                str(path),
                None,
                rows.line_num,
                None,
                f"{len(r)} fields where the header has {len(header)} (a stray delimiter?)",
            )
            for r in rows
            if len(r) > len(header)
        ]
    return out[:50] or [Problem(str(path), None, None, None, "rows do not match the header")]


def import_export(
    export: str | os.PathLike[str],
    mapping: str | os.PathLike[str] | ImportMapping,
    out: str | os.PathLike[str],
    sheet: str | None = None,
    mode: str = "new",
) -> tuple[Path, pd.DataFrame]:
    """Import an export file into ``out`` (a dataset folder, or a ``.csv`` path), atomically.

    Parameters
    ----------
    mode : {"new", "replace", "append"}
        What to do when the table's CSV already exists: ``"new"`` (default) refuses
        (importing this month's export must not silently drop the history);
        ``"replace"`` overwrites it; ``"append"`` adds the export's rows after the
        existing ones, refusing rows whose key (the table's unique columns) is
        already there.

    Returns
    -------
    (Path, DataFrame)
        The CSV written (``<folder>/<table>.csv``) and the canonical table (the
        imported rows only).
    """
    if mode not in ("new", "replace", "append"):
        raise SpmConfigError(f"mode must be 'new', 'replace' or 'append', got {mode!r}")
    from spm_model.data.io import atomic_write_text

    m = mapping if isinstance(mapping, ImportMapping) else read_mapping(mapping)
    table = apply_mapping(read_export(export, sheet), m, source=str(export))
    target = Path(out)
    if target.suffix.lower() != ".csv":
        if target.exists() and not target.is_dir():
            raise SpmConfigError(f"--out {target}: a file; give a dataset folder or a .csv path")
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{m.table}.csv"
    text = table.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
    if target.exists() and mode == "new":
        n = sum(1 for _ in target.open()) - 1
        raise SpmConfigError(
            f"--out {target} exists ({n:,} rows): --replace to overwrite it with the "
            f"{len(table):,} imported rows, or --append to add them"
        )
    if target.exists() and mode == "append":
        old_text = target.read_text()
        have = pd.read_csv(target, dtype=str, keep_default_na=False)
        new_rows = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        if list(have.columns) != list(new_rows.columns):
            raise SpmConfigError(
                f"--append: {target} has columns {list(have.columns)}, the import "
                f"{list(new_rows.columns)}"
            )
        from spm_model.data.schema import TABLES

        key = list(getattr(TABLES.get(m.table), "key", ()) or ())
        if key and all(k in have for k in key):
            seen = set(map(tuple, have[key].to_numpy().tolist()))
            dup = [t for t in map(tuple, new_rows[key].to_numpy().tolist()) if t in seen]
            if dup:
                shown = ", ".join("/".join(t) for t in dup[:5])
                raise SpmConfigError(
                    f"--append: {len(dup)} imported row(s) are already in {target} "
                    f"({', '.join(key)}: {shown}{', ...' if len(dup) > 5 else ''})"
                )
        body = text.split("\n", 1)[1] if "\n" in text else ""
        text = old_text + ("" if old_text.endswith("\n") else "\n") + body
    return atomic_write_text(target, text), table
