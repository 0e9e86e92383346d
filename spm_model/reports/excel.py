"""Excel workbooks of report tables, for consultants who continue in a spreadsheet."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

_BAD_SHEET_CHARS = re.compile(r"[\[\]\*\?/\\:]")


def _sheet_name(name: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "Sheet"
    base = base[:31]
    candidate, i = base, 2
    while candidate.lower() in used:
        suffix = f" ({i})"
        candidate = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(candidate.lower())
    return candidate


def write_excel(
    path: str | os.PathLike[str], tables: Mapping[str, pd.DataFrame], index: bool = False
) -> Path:
    """Write report tables to an ``.xlsx`` workbook, one sheet per table, atomically.

    Parameters
    ----------
    path : path
        Target workbook (``.xlsx``).
    tables : mapping of str to DataFrame
        Sheet name (shortened to Excel's 31 characters, made unique) to table.
        Series are written as one-column tables.
    index : bool
        Also write each frame's index.

    Returns
    -------
    Path
        The workbook written. Header row is bold and frozen, columns are sized
        to their content, floats show two decimals and dates as ISO dates.
    """
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from spm_model.data.io import atomic_path

    target = Path(path)
    used: set[str] = set()
    with atomic_path(target, is_dir=False) as tmp:
        with pd.ExcelWriter(
            tmp, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD"
        ) as xw:
            if not tables:
                pd.DataFrame({"note": ["no tables"]}).to_excel(xw, sheet_name="empty", index=False)
            for name, frame in tables.items():
                df = frame.to_frame() if isinstance(frame, pd.Series) else frame
                sheet = _sheet_name(name, used)
                df.to_excel(xw, sheet_name=sheet, index=index)
                ws = xw.sheets[sheet]
                ws.freeze_panes = "A2"
                for cell in ws[1]:
                    cell.font = Font(bold=True)
                cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
                for j, col in enumerate(cols, start=1):
                    values = df.index if (index and j == 1) else df[df.columns[j - 1 - int(index)]]
                    width = max([len(col)] + [len(str(v)) for v in list(values[:200])]) + 2
                    letter = get_column_letter(j)
                    ws.column_dimensions[letter].width = min(60, max(8, width))
                    if not (index and j == 1) and pd.api.types.is_float_dtype(values):
                        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                            cell.number_format = "#,##0.00"
    return target
