"""Headline figures: values a notebook records so a batch can collect them.

A notebook calls :func:`record` for each key result (``record("cost_p95_usd",
cost_p95)``). The value is kept in the kernel (see :func:`recorded`) and sent
as a display output with its own MIME type, invisible in JupyterLab and in the
HTML report. After a run, :func:`read_figures` collects them from the executed
notebook, and the runner writes them to a JSON side file
(``<name>.figures.json``) next to it; a batch gathers every run's side file
into one CSV.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

MIME_TYPE = "application/vnd.spm-model.figure+json"

_RECORDED: dict[str, dict[str, Any]] = {}


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (numpy scalars, Decimal, dates, NaN handled).

    Decimals become floats (money is recorded for reporting; the exact amounts
    stay in the statements), dates ISO strings, NaN and infinities ``None``.
    """
    try:
        import numpy as np

        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "isoformat") and callable(value.isoformat):  # pandas Timestamp / Period
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def record(name: str, value: Any, label: str | None = None, unit: str | None = None) -> Any:
    """Record a headline figure of the running notebook.

    Parameters
    ----------
    name : str
        Key of the figure (a column of the batch CSV), e.g. ``"cost_p95_usd"``.
    value : Any
        A number, string, bool, date or small list; converted with :func:`to_jsonable`.
    label : str, optional
        Words for a reader ("95th percentile of comp cost").
    unit : str, optional
        Unit, e.g. ``"USD"`` or ``"fraction"`` (1.0 = 100%).

    Returns
    -------
    Any
        ``value`` unchanged, so ``total = record("total", compute())`` works.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("record() needs a non-empty name")
    entry = {"name": name, "value": to_jsonable(value), "label": label, "unit": unit}
    _RECORDED[name] = entry
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display({MIME_TYPE: entry}, raw=True)
    except ImportError:  # pragma: no cover - IPython is always installed with ipykernel
        pass
    return value


def recorded() -> dict[str, Any]:
    """Figures recorded so far in this process, name to value."""
    return {k: v["value"] for k, v in _RECORDED.items()}


def clear_recorded() -> None:
    """Forget the figures recorded in this process."""
    _RECORDED.clear()


def headline_table() -> Any:
    """Return the recorded figures as a DataFrame (figure, value, unit) for a report."""
    import pandas as pd

    rows = [
        {"figure": v["label"] or k, "value": v["value"], "unit": v["unit"] or ""}
        for k, v in _RECORDED.items()
    ]
    return pd.DataFrame(rows, columns=["figure", "value", "unit"])


def read_figures(notebook: Any) -> dict[str, Any]:
    """Figures recorded in an executed notebook (path or ``NotebookNode``), name to value.

    Later records of the same name win, as in the kernel.
    """
    import nbformat

    nb = (
        nbformat.read(str(notebook), as_version=4)
        if isinstance(notebook, (str, os.PathLike))
        else notebook
    )
    out: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data") or {}
            if MIME_TYPE in data:
                entry = data[MIME_TYPE]
                if isinstance(entry, str):  # some writers store JSON as text
                    entry = json.loads(entry)
                out[entry["name"]] = entry.get("value")
    return out


def write_figures(path: str | os.PathLike[str], figures: dict[str, Any]) -> Path:
    """Write ``figures`` to a JSON side file, atomically."""
    from spm_model.data.io import atomic_write_text

    return atomic_write_text(
        Path(path), json.dumps(to_jsonable(figures), indent=2, sort_keys=False) + "\n"
    )
