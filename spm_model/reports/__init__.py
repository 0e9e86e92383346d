"""Report helpers shared by the notebooks, widgets and runner.

Headline figures (:func:`record`), HTML rendering of executed notebooks with
code hidden (:func:`render_html`), Excel export of report tables
(:func:`write_excel`) and plots (:mod:`spm_model.reports.plots`).
"""

from __future__ import annotations

from spm_model.reports.excel import write_excel
from spm_model.reports.figures import (
    clear_recorded,
    headline_table,
    read_figures,
    record,
    recorded,
    write_figures,
)
from spm_model.reports.html import notebook_to_html, render_html

__all__ = [
    "clear_recorded",
    "headline_table",
    "notebook_to_html",
    "read_figures",
    "record",
    "recorded",
    "render_html",
    "write_excel",
    "write_figures",
]
