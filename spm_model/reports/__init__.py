"""Report helpers shared by the notebooks, widgets and runner.

Headline figures (:func:`record`), HTML rendering of executed notebooks with
code hidden (:func:`render_html`), Excel export of report tables
(:func:`write_excel`), plots (:mod:`spm_model.reports.plots`) and the
presentation of tables and the executive summary for readers
(:mod:`spm_model.reports.present`).
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
from spm_model.reports.present import (
    ExecutiveSummary,
    Headline,
    ReportTable,
    before_after_table,
    executive_summary,
    report_table,
)

__all__ = [
    "ExecutiveSummary",
    "Headline",
    "ReportTable",
    "before_after_table",
    "clear_recorded",
    "executive_summary",
    "headline_table",
    "notebook_to_html",
    "read_figures",
    "record",
    "recorded",
    "render_html",
    "report_table",
    "write_excel",
    "write_figures",
]
