"""HTML reports from executed notebooks, readable without Jupyter."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from spm_model.reports.figures import MIME_TYPE, read_figures

#: Name of the recorded figure that titles the page (the browser tab), if a notebook sets it.
TITLE_FIGURE = "report_title"

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "<p><em>Interactive widget: open the notebook in JupyterLab to use it.</em></p>"


def _strip_hidden(nb: Any) -> Any:
    """Copy of ``nb`` without figure records, with a note in place of live widgets."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if MIME_TYPE in data:
                rest = {k: v for k, v in data.items() if k != MIME_TYPE}
                if not rest:
                    continue
                output["data"] = rest
            if WIDGET_MIME in data:  # live widgets need a kernel: say so instead of a repr
                output["data"] = {"text/html": WIDGET_NOTE}
                output.pop("metadata", None)
                output["metadata"] = {}
            kept.append(output)
        cell["outputs"] = kept
    return nb


def notebook_to_html(notebook: Any, show_code: bool = False, title: str | None = None) -> str:
    """Render a notebook (path or ``NotebookNode``) to a standalone HTML page.

    Parameters
    ----------
    notebook : path or NotebookNode
        Usually an executed notebook.
    show_code : bool
        Show code cells and prompts; by default only narrative and outputs are shown.
    title : str, optional
        Page title, the browser tab's (default: the figure ``report_title`` the notebook
        recorded, e.g. company and period, else the notebook's file name).

    Returns
    -------
    str
        The HTML; plots are embedded as images, so the page is self-contained.
    """
    import nbformat
    from nbconvert import HTMLExporter

    stem = None
    if isinstance(notebook, (str, os.PathLike)):
        stem = Path(notebook).stem
        notebook = nbformat.read(str(notebook), as_version=4)
    recorded_title = read_figures(notebook).get(TITLE_FIGURE)
    title = title or (str(recorded_title) if recorded_title else None) or stem
    nb = _strip_hidden(notebook)
    if title:
        nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=not show_code,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def render_html(
    notebook: str | os.PathLike[str],
    html_path: str | os.PathLike[str] | None = None,
    show_code: bool = False,
    title: str | None = None,
) -> Path:
    """Write the HTML report of ``notebook`` (default: same name, ``.html``), atomically.

    Returns
    -------
    Path
        Where the page was written.
    """
    from spm_model.data.io import atomic_write_text

    notebook = Path(notebook)
    target = Path(html_path) if html_path is not None else notebook.with_suffix(".html")
    return atomic_write_text(target, notebook_to_html(notebook, show_code=show_code, title=title))
