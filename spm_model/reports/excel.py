"""Excel workbooks of report tables, for consultants who continue in a spreadsheet.

The layout (Summary sheet first, human headers, money and percentage formats
by column meaning, autofilter, frozen header, widths, dates without times) is
the package's one workbook writer, :func:`spm_model.data.workbook.write_workbook`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from spm_model.data.workbook import Sheet, write_workbook


def write_excel(
    path: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame | pd.Series],
    index: bool = False,
    *,
    summary: pd.DataFrame | Sheet | Mapping[str, Any] | None = None,
    currency: str | None = None,
    title: str | None = None,
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
        Also write each frame's index (as leading columns).
    summary : DataFrame, Sheet or mapping, optional
        The first sheet, "Summary" (default: the workbook's contents).
    currency : str, optional
        ISO code shown with money columns.
    title : str, optional
        First line of the Summary sheet.

    Returns
    -------
    Path
        The workbook written (see :func:`spm_model.data.workbook.write_workbook`).
    """
    frames: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        df = frame.to_frame() if isinstance(frame, pd.Series) else frame
        frames[name] = df.reset_index() if index else df
    return write_workbook(path, frames, summary=summary, currency=currency, title=title)
