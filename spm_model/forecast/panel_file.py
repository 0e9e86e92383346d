"""Read a monthly panel from a file as users export it: any column names, long or wide.

:func:`~spm_model.forecast.panel.check_panel` wants a *long* table with the
columns ``rep_id, month, bookings``. Sales histories arrive otherwise: a
CRM or ERP export names them ``store, date, sales``; a spreadsheet has one
column per series and one row per month (*wide*); a transaction or daily
export has several rows per series and month. :func:`read_panel` takes all
three:

* ``columns`` maps the panel's names to the file's (``{"rep_id": "store",
  "month": "date", "bookings": "sales"}``; also ``team``, ``region``,
  ``hire_date``, ``end_date``); :func:`parse_columns` reads the command
  line's ``rep_id=store,month=date,bookings=sales``.
* ``layout="auto"`` (the default) reads a file without ``rep_id`` and
  ``bookings`` columns as wide when its month column (``month`` after the
  mapping, else the first column) holds dates and every other column holds
  numbers or empty cells: each of those columns is a series, named by its
  header, and an empty cell is a missing month. ``"long"`` and ``"wide"``
  force one reading.
* ``duplicates="sum"`` adds up the rows of one series and month (daily or
  transaction-level data); the default is an error naming the rows.

Every problem is reported at once, with the file, the row as a spreadsheet
shows it (header = row 1) and the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from spm_model.errors import Problem, SpmConfigError, SpmDataError
from spm_model.forecast.panel import PANEL_COLUMNS, check_panel, parse_amounts, parse_months

__all__ = ["parse_columns", "read_panel"]

#: Panel columns a file's columns can be mapped to.
MAPPABLE = tuple(PANEL_COLUMNS)
_REQUIRED = ("rep_id", "month", "bookings")
Layout = Literal["auto", "long", "wide"]


def parse_columns(text: str | None) -> dict[str, str]:
    """Read ``"rep_id=store,month=date,bookings=sales"`` into a mapping.

    Parameters
    ----------
    text : str or None
        Comma-separated ``panel_name=file_column`` pairs (None or empty: no mapping).

    Returns
    -------
    dict
        Panel column name -> the file's column name.

    Raises
    ------
    SpmConfigError
        A pair without ``=``, a panel name that is not one of :data:`MAPPABLE`,
        or a name given twice.
    """
    out: dict[str, str] = {}
    if not text:
        return out
    problems = []
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, col = part.partition("=")
        name, col = name.strip(), col.strip()
        if not sep or not name or not col:
            problems.append(f"{part.strip()!r} is not NAME=COLUMN")
        elif name not in MAPPABLE:
            problems.append(f"{name!r} is not a panel column (use {', '.join(MAPPABLE)})")
        elif name in out:
            problems.append(f"{name!r} is given twice")
        else:
            out[name] = col
    if problems:
        raise SpmConfigError("--columns: " + "; ".join(problems))
    return out


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path)
        # utf-8-sig: a spreadsheet's CSV often starts with a byte-order mark
        return pd.read_csv(path, encoding="utf-8-sig", sep=None, engine="python")
    except Exception as exc:
        raise SpmDataError(Problem(str(path), "panel", None, None, f"cannot read: {exc}")) from None


def _is_dates(values: pd.Series) -> bool:
    v = values.dropna()
    return not v.empty and bool(parse_months(v).notna().all())


def _is_numbers(values: pd.Series) -> bool:
    amounts, missing = parse_amounts(values)
    return bool((amounts.notna() | missing).all())


def _found(raw: pd.DataFrame) -> str:
    cols = [str(c) for c in raw.columns]
    more = f" and {len(cols) - 12} more" if len(cols) > 12 else ""
    return ", ".join(cols[:12]) + more


def _wide_to_long(raw: pd.DataFrame, month_col: str) -> pd.DataFrame:
    series = [c for c in raw.columns if c != month_col]
    long = raw.melt(id_vars=month_col, value_vars=series, var_name="rep_id", value_name="bookings")
    return long.rename(columns={month_col: "month"})[["rep_id", "month", "bookings"]]


def read_panel(
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    layout: Layout = "auto",
    duplicates: Literal["error", "sum"] = "error",
) -> pd.DataFrame:
    """Read, validate and normalise a monthly panel file (CSV, Parquet or Excel).

    Parameters
    ----------
    path : str or Path
        The file (``.csv``, any delimiter; ``.parquet``; ``.xlsx``, its first sheet).
    columns : mapping, optional
        Panel column -> the file's column (see the module docstring).
    layout : {"auto", "long", "wide"}
        Long (a row per series and month), wide (a column per series, a row per
        month) or ``"auto"``: long when the file has ``rep_id`` and
        ``bookings`` columns (after ``columns``), wide when it has neither and
        reads as dates beside columns of numbers.
    duplicates : {"error", "sum"}
        Several rows of one series and month: an error, or summed (NaN only
        when every one of them is empty).

    Returns
    -------
    DataFrame
        The checked panel (:func:`~spm_model.forecast.panel.check_panel`);
        ``attrs["layout"]`` says how it was read.

    Raises
    ------
    SpmDataError
        The file cannot be read, a mapped or required column is missing (with
        the columns found and how to map them), or a row is bad.
    SpmConfigError
        An unknown ``layout`` or ``duplicates``.
    """
    if layout not in ("auto", "long", "wide"):
        raise SpmConfigError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
    if duplicates not in ("error", "sum"):
        raise SpmConfigError(f"duplicates must be 'error' or 'sum', got {duplicates!r}")
    path = Path(path)
    source = str(path)
    raw = _read(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    mapping = dict(columns or {})
    absent = [
        Problem(source, "panel", None, col, f"--columns maps {name} to {col!r}, not in the file")
        for name, col in mapping.items()
        if col not in raw.columns
    ]
    if absent:
        absent.append(Problem(source, "panel", None, None, f"columns found: {_found(raw)}"))
        raise SpmDataError(absent)
    taken = set(mapping)
    # the file's own column of a panel name that was mapped elsewhere is not that column
    raw = raw.drop(columns=[n for n in taken if n in raw.columns and mapping[n] != n])
    raw = raw.rename(columns={col: name for name, col in mapping.items()})
    has_long = "rep_id" in raw.columns and "bookings" in raw.columns
    month_col = "month" if "month" in raw.columns else raw.columns[0]
    wide_ok = (
        not ({"rep_id", "bookings"} & set(raw.columns))
        and raw.shape[1] >= 2
        and _is_dates(raw[month_col])
        and all(_is_numbers(raw[c]) for c in raw.columns if c != month_col)
    )
    if layout == "wide" or (layout == "auto" and not has_long and wide_ok):
        if layout == "wide" and not wide_ok:
            raise SpmDataError(
                Problem(
                    source,
                    "panel",
                    None,
                    month_col,
                    "a wide panel has a column of months (named month, or the first) and one "
                    f"column of numbers per series; columns found: {_found(raw)}",
                )
            )
        panel = _wide_to_long(raw, month_col)
        read_as = "wide"
    else:
        missing = [c for c in _REQUIRED if c not in raw.columns]
        if missing:
            hint = (
                f"columns found: {_found(raw)}; name them rep_id, month and bookings, map them "
                "(--columns rep_id=SERIES,month=DATE,bookings=AMOUNT) or, for a column per "
                "series, --layout wide"
            )
            probs = [
                Problem(source, "panel", None, c, "required column is missing") for c in missing
            ]
            raise SpmDataError([*probs, Problem(source, "panel", None, None, hint)])
        panel = raw
        read_as = "long"
    out = check_panel(panel, source=source, duplicates=duplicates)
    out.attrs["layout"] = read_as
    return out


def is_panel_file(path: str | Path) -> bool:
    """Whether ``path`` is a single panel file, not a dataset.

    A ``.csv`` or ``.parquet`` file is a panel; an ``.xlsx`` workbook is a panel
    when it has none of a dataset's sheets (``reps``, ``transactions``...), else
    a dataset workbook. Folders and ``.duckdb`` files are datasets.
    """
    p = Path(path)
    if not p.is_file():
        return False
    suffix = p.suffix.lower()
    if suffix in (".csv", ".parquet"):
        return True
    if suffix != ".xlsx":
        return False
    from spm_model.data.schema import TABLES

    try:
        with pd.ExcelFile(p) as book:
            sheets = {str(s).strip().lower() for s in book.sheet_names}
    except Exception:
        return False  # the dataset loader says what is wrong with it
    return not (sheets & set(TABLES))
