"""One writer for every Excel workbook the package produces.

Reports, statements, quota, simulation and performance workbooks all go through
:func:`write_workbook`, so a consultant who opens any of them finds the same
layout:

* a **Summary** sheet first (the caller's headline table, or a contents table
  listing every sheet with its rows);
* **human headers** (``rep_id`` -> "Rep ID", ``pct_of_target`` -> "% of target");
* **number formats by column meaning**: money columns in the currency
  (``#,##0.00 "USD"``), fractions (attainment, share, rate, probability...) as
  percentages, counts with thousands separators, dates as ``yyyy-mm-dd``
  without a time;
* a bold, **frozen header**, an **autofilter** over each table and column
  **widths** sized to the content.

The module sits in the bottom layer (next to the dataset I/O and its atomic
writes) because ``calc`` writes statements and must not import ``reports``;
every layer above may call it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["money", "percent", "points", "count", "number", "date", "text"]

SUMMARY_SHEET = "Summary"
PERCENT_FORMAT = "0.0%"
#: Values already in percent (``*_pct`` columns: 10.0 is 10%): shown with a % sign, unscaled.
POINTS_FORMAT = '0.0"%"'
COUNT_FORMAT = "#,##0"
NUMBER_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"

# Column-name words that mean a fraction (1.0 = 100%) or an amount of money.
_PERCENT_WORDS = re.compile(
    r"(^|_|\b)(attainment|share|shares|pct|percent|proration|probability|prob|"
    r"fraction|coverage|wape|mape|utilisation|utilization|chance)($|_|\b|\[)",
)
# words that usually, not always, mean a fraction: only when the values look like one
_MAYBE_PERCENT_WORDS = re.compile(
    r"(^|_|\b)(rate|ratio|growth|conversion|cv|vs)($|_|\b|\[)",
)
_MONEY_WORDS = re.compile(
    r"(^|_|\b)(amount|amounts|payable|paid|pay|earned|earnings|cost|costs|revenue|quota|"
    r"quotas|target|salary|ote|payout|payouts|credit|credited|clawback|budget|bookings|"
    r"accrual|commission|incentive|price|margin|usd|eur|gbp|draw|due|value|potential|"
    r"arr|acv|tcv|pipeline|spend|cost_of_sales|assigned|to_assign|difference|total|"
    r"p10|p50|p90|p95|mean_cost|forecast)($|_|\b|\[)",
)
# ``max_dev_pct``, ``accounts_moved_pct_after``: percent points (``pct_of_target`` is a fraction)
_POINTS = re.compile(r"_pct($|_)")
_NOT_MONEY = re.compile(r"(^|_)(id|count|n|days|day|months|month|rank|level|year|index)($|_)")
_ACRONYMS = {
    "id": "ID",
    "ids": "IDs",
    "ote": "OTE",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
    "ytd": "YTD",
    "qtd": "QTD",
    "arr": "ARR",
    "acv": "ACV",
    "crm": "CRM",
    "sdr": "SDR",
    "ae": "AE",
    "fte": "FTE",
    "cv": "CV",
    "wape": "WAPE",
    "mape": "MAPE",
    "crps": "CRPS",
    "kpi": "KPI",
    "pct": "%",
}


@dataclass
class Sheet:
    """One sheet: a table, optional title lines above it, and optional overrides.

    Parameters
    ----------
    table : DataFrame
        The table (its index is not written; reset it first if it matters).
    title : sequence of str
        Lines written above the table (bold first line), e.g. who and which period.
    kinds : mapping of str to kind, optional
        Column -> ``"money"``, ``"percent"``, ``"count"``, ``"number"``, ``"date"``
        or ``"text"``, overriding the meaning read from the column name.
    outline : sequence of int, optional
        Outline (grouping) level of each data row, for hierarchies.
    """

    table: pd.DataFrame
    title: Sequence[str] = ()
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    outline: Sequence[int] | None = None


def human_header(name: object) -> str:
    """Return a column name as a person reads it: ``rep_id`` -> ``Rep ID``.

    Words are split on underscores; known abbreviations are upper-cased and
    ``pct`` becomes ``%``; text in brackets (plan ids) is kept as it is.
    """
    text = str(name)
    bracket = ""
    if "[" in text and text.endswith("]"):
        text, bracket = text[: text.index("[")], " " + text[text.index("[") :]
    words = [w for w in re.split(r"[_\s]+", text.strip()) if w]
    if not words:
        return str(name)
    out = [_ACRONYMS.get(w.lower(), w) for w in words]
    first = out[0]
    if first == words[0]:
        out[0] = first[:1].upper() + first[1:]
    return " ".join(out) + bracket


def column_kind(name: object, values: pd.Series) -> Kind:
    """Meaning of a column from its name and dtype (what number format it gets).

    Dates are dates; numeric columns named like a fraction (attainment, share,
    probability...; rate, ratio... when the values are at most 20) are
    percentages; named like money (amount, payable, cost, quota, target...) are
    money; other integers are counts; the rest are plain numbers or text.
    """
    key = str(name).lower()
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if values.dtype == object:
        sample = values.dropna().head(50)
        if len(sample) and all(isinstance(v, (dt.date, pd.Timestamp)) for v in sample):
            return "date"
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "text"
    if _POINTS.search(key):
        return "points"
    if not key.endswith(("_count", "_n")):
        if _PERCENT_WORDS.search(key) or key.startswith("p_"):
            return "percent"
        if _MAYBE_PERCENT_WORDS.search(key) and _fraction_like(values):
            return "percent"
    if _MONEY_WORDS.search(key) and not _NOT_MONEY.search(key):
        return "money"
    if pd.api.types.is_integer_dtype(values):
        return "count"
    return "number"


def _fraction_like(values: pd.Series) -> bool:
    """Whether a numeric column's values look like fractions (|v| <= 20, i.e. 2000%)."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    finite = arr[np.isfinite(arr)]
    return finite.size == 0 or float(np.abs(finite).max()) <= 20.0


def number_format(kind: Kind, currency: str | None) -> str | None:
    """Excel number format of a column kind (``None``: leave Excel's General)."""
    if kind == "money":
        return f'#,##0.00 "{currency}"' if currency else NUMBER_FORMAT
    return {
        "percent": PERCENT_FORMAT,
        "points": POINTS_FORMAT,
        "count": COUNT_FORMAT,
        "number": NUMBER_FORMAT,
        "date": DATE_FORMAT,
    }.get(kind)


_BAD_SHEET_CHARS = re.compile(r"[\[\]\*\?/\\:]")


def sheet_name(name: str, used: set[str]) -> str:
    """Excel-safe, unique (case-insensitive) sheet name of at most 31 characters."""
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "Sheet"
    base = base[:31]
    candidate, i = base, 2
    while candidate.lower() in used:
        suffix = f" ({i})"
        candidate = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(candidate.lower())
    return candidate


def _cell_value(v: Any) -> Any:
    """Return the value as openpyxl should write it (dates without time, no NaN)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date() if v == v.normalize() else v.to_pydatetime().replace(tzinfo=None)
    if isinstance(v, dt.datetime):
        return v.date() if v.time() == dt.time(0) else v.replace(tzinfo=None)
    if isinstance(v, pd.Period):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple, dict, set)):
        return str(v)
    return v


def _contents(sheets: Mapping[str, Sheet]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sheet": list(sheets),
            "rows": [len(s.table) for s in sheets.values()],
            "columns": [
                ", ".join(human_header(c) for c in s.table.columns) for s in sheets.values()
            ],
        }
    )


def write_workbook(
    path: str | os.PathLike[str],
    sheets: Mapping[str, pd.DataFrame | pd.Series | Sheet],
    *,
    summary: pd.DataFrame | Sheet | Mapping[str, Any] | None = None,
    currency: str | None = None,
    title: str | None = None,
) -> Path:
    """Write a formatted ``.xlsx`` workbook atomically: Summary first, then one sheet per table.

    Parameters
    ----------
    path : path
        Target workbook.
    sheets : mapping of str to DataFrame, Series or Sheet
        Sheet name (made Excel-safe and unique) to table.
    summary : DataFrame, Sheet or mapping, optional
        The Summary sheet: a table, or ``{label: value}`` pairs (one row each).
        Default: the workbook's contents (every sheet with its rows and columns).
    currency : str, optional
        ISO code shown with money columns (``#,##0.00 "USD"``).
    title : str, optional
        First line of the Summary sheet (what the workbook is).

    Returns
    -------
    Path
        The workbook written.
    """
    from openpyxl import Workbook

    from spm_model.data.io import atomic_path

    prepared: dict[str, Sheet] = {}
    for name, item in sheets.items():
        if isinstance(item, Sheet):
            prepared[name] = item
        else:
            prepared[name] = Sheet(item.to_frame() if isinstance(item, pd.Series) else item)
    if isinstance(summary, Sheet):
        first = summary
    elif isinstance(summary, pd.DataFrame):
        first = Sheet(summary)
    elif isinstance(summary, Mapping):
        first = Sheet(pd.DataFrame({"figure": list(summary), "value": list(summary.values())}))
    else:
        first = Sheet(_contents(prepared))
    if title:
        first = Sheet(first.table, (title, *first.title), first.kinds, first.outline)

    target = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, sheet in [(SUMMARY_SHEET, first), *prepared.items()]:
        if name == SUMMARY_SHEET and sheet is not first:
            name = f"{name} table"
        _write_sheet(wb.create_sheet(sheet_name(name, used)), sheet, currency)
    with atomic_path(target, is_dir=False) as tmp:
        wb.save(tmp)
    return target


def _write_sheet(ws: Any, sheet: Sheet, currency: str | None) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    df = sheet.table.reset_index(drop=True)
    for i, line in enumerate(sheet.title, start=1):
        ws.cell(row=i, column=1, value=line).font = Font(bold=i == 1)
    header_row = len(sheet.title) + (2 if sheet.title else 1)
    kinds = {c: sheet.kinds.get(str(c)) or column_kind(c, df[c]) for c in df.columns}
    bold = Font(bold=True)
    for j, col in enumerate(df.columns, start=1):
        cell = ws.cell(row=header_row, column=j, value=human_header(col))
        cell.font = bold
    # a table with a ``unit`` column (measures in currency and in counts side by side):
    # money columns of rows not in the currency are plain numbers
    unit = df["unit"].astype(object).tolist() if "unit" in df.columns else None
    for j, col in enumerate(df.columns, start=1):
        fmt = number_format(kinds[col], currency)
        values = df[col].tolist()
        for i, v in enumerate(values, start=header_row + 1):
            cell = ws.cell(row=i, column=j, value=_cell_value(v))
            if fmt and cell.value is not None and not isinstance(cell.value, str):
                row_unit = unit[i - header_row - 1] if unit is not None else None
                if kinds[col] == "money" and row_unit not in (None, currency, "money"):
                    cell.number_format = (
                        COUNT_FORMAT if float(cell.value).is_integer() else (NUMBER_FORMAT)
                    )
                else:
                    cell.number_format = fmt
        shown = [human_header(col)] + [_shown(v, kinds[col]) for v in values[:300]]
        width = max(len(s) for s in shown) + 2
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, width))
    if sheet.outline is not None:
        for i, level in enumerate(sheet.outline, start=header_row + 1):
            if level:
                ws.row_dimensions[i].outlineLevel = int(level)
    if len(df.columns):
        last = get_column_letter(len(df.columns))
        ws.freeze_panes = f"A{header_row + 1}"
        ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(df), 1)}"


def _shown(v: Any, kind: Kind) -> str:
    """Approximate text Excel shows for a value (for column widths)."""
    v = _cell_value(v)
    if v is None:
        return ""
    if kind in ("money", "number") and isinstance(v, (int, float)):
        return f"{v:,.2f}" + (" USD" if kind == "money" else "")
    if kind == "percent" and isinstance(v, (int, float)):
        return f"{v:.1%}"
    if kind == "points" and isinstance(v, (int, float)):
        return f"{v:.1f}%"
    if isinstance(v, dt.date):
        return v.isoformat()[:16]
    return str(v)
