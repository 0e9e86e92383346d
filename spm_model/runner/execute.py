"""Run one parameterised notebook with papermill and render its HTML report.

Layout of a run in ``out_dir`` (``name`` defaults to the notebook's stem)::

    <name>.ipynb           the executed notebook (also when it failed)
    <name>.html            the report, code hidden unless ``show_code``
    <name>.figures.json    headline figures recorded with spm_model.reports.record
    <name>.run.json        status, parameters, timings, failure details

``<name>.run.json`` is written last, atomically, and is the run's done marker:
a run is complete only when it says ``"status": "ok"`` and the files it lists
exist (:func:`is_complete`). Every other file is also written atomically, so an
interrupted run never leaves a half-written notebook or report behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spm_model.errors import SpmConfigError, SpmError
from spm_model.runner.params import check_parameters, notebook_parameters, resolve_path_parameters

DEFAULT_KERNEL = "python3"
DEFAULT_CELL_TIMEOUT = 600.0
"""Seconds a cell may run before the run fails (``spm run --cell-timeout``; 0 = no limit)."""
STATIC_WIDGETS_ENV = "SPM_STATIC_WIDGETS"
"""Set to ``1`` for the kernel: widgets render static snapshots (:mod:`spm_model.widgets.ui`)."""
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
"""Extra kernel arguments: the kernel's own log (transport warnings, "KeyboardInterrupt
caught") stays off the runner's stderr; cell errors are in the executed notebook."""


@dataclass
class RunFailure:
    """Where and how a notebook run failed.

    Parameters
    ----------
    cell_index : int or None
        0-based index of the failing cell in the source notebook (markdown
        cells count; papermill's injected-parameters cell does not).
    execution_count : int or None
        The failing cell's execution count, as shown in Jupyter.
    ename, evalue : str
        Exception type and message (``SystemExit`` and the exit code for ``sys.exit``).
    source : str
        First lines of the failing cell's source.
    """

    cell_index: int | None
    execution_count: int | None
    ename: str
    evalue: str
    source: str = ""

    def describe(self) -> str:
        """One readable line: which cell, which error."""
        where = "before execution" if self.cell_index is None else f"cell {self.cell_index + 1}"
        if self.execution_count is not None:
            where += f" [{self.execution_count}]"
        first = self.source.strip().splitlines()[0] if self.source.strip() else ""
        src = f" `{first[:80]}`" if first else ""
        return f"{where}{src}: {self.ename}: {self.evalue}"


@dataclass
class RunResult:
    """Outcome of one notebook run.

    Parameters
    ----------
    run_id : str
        Name of the run (file stem of its outputs, or batch run id).
    notebook : str
        Source notebook.
    out_dir : str
        Folder holding the run's outputs.
    parameters : dict
        Parameters injected (after checking and path resolution).
    status : str
        ``"ok"``, ``"failed"`` or ``"skipped"`` (already complete, on resume).
    figures : dict
        Headline figures recorded by the notebook.
    files : dict
        Output kind (``notebook``, ``html``, ``figures``) to path.
    failure : RunFailure or None
        Details when ``status == "failed"``.
    seconds : float
        Wall-clock duration.
    """

    run_id: str
    notebook: str
    out_dir: str
    parameters: dict[str, Any]
    status: str = "ok"
    figures: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    failure: RunFailure | None = None
    seconds: float = 0.0
    finished_at: str = ""

    @property
    def ok(self) -> bool:
        """Whether the run completed (or was already complete)."""
        return self.status in ("ok", "skipped")

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as written to ``<name>.run.json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        failure = data.pop("failure", None)
        return cls(**data, failure=RunFailure(**failure) if failure else None)


class NotebookRunError(SpmError):
    """A notebook run failed; ``result`` holds the failing cell and the output paths."""

    def __init__(self, result: RunResult):
        self.result = result
        where = result.files.get("notebook", result.out_dir)
        msg = f"{result.notebook} failed at {result.failure.describe() if result.failure else '?'}"
        super().__init__(f"{msg}\n  executed notebook (with the traceback): {where}")


def run_marker(out_dir: str | os.PathLike[str], name: str) -> Path:
    """Path of the done marker of run ``name`` in ``out_dir``."""
    return Path(out_dir) / f"{name}.run.json"


def read_run(out_dir: str | os.PathLike[str], name: str) -> RunResult | None:
    """Return the recorded result of a previous run (``None`` if absent or unreadable)."""
    marker = run_marker(out_dir, name)
    try:
        return RunResult.from_dict(json.loads(marker.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def is_complete(out_dir: str | os.PathLike[str], name: str) -> bool:
    """Whether run ``name`` in ``out_dir`` finished successfully and its outputs are all there."""
    result = read_run(out_dir, name)
    return (
        result is not None
        and result.status == "ok"
        and all(Path(p).is_file() for p in result.files.values())
    )


def _failure_from(exc: BaseException) -> RunFailure:
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return RunFailure(
            cell_index=exc.cell_index,
            execution_count=exc.exec_count,
            ename=exc.ename,
            evalue=exc.evalue,
            source="\n".join((exc.source or "").splitlines()[:3]),
        )
    if isinstance(exc, CellTimeoutError):
        # the cell is found in the executed notebook (:func:`_timed_out_cell`)
        return RunFailure(None, None, "CellTimeoutError", "a cell ran past the per-cell timeout")
    return RunFailure(None, None, type(exc).__name__, str(exc))


def _timed_out_cell(executed: Path, failure: RunFailure, timeout: float | None) -> None:
    """Name the cell that ran past the per-cell timeout, if one did.

    On a timeout the runner interrupts the kernel, so the cell fails with a
    ``KeyboardInterrupt`` (or papermill reports a bare timeout error without a
    cell). Papermill records a start time and duration on every cell it sends
    to the kernel: the timed-out cell is the last one started, and its duration
    reached the timeout. Then ``failure`` is rewritten as a ``CellTimeoutError``
    naming that cell (index in the source notebook, execution count, source).
    """
    import nbformat

    if not timeout:
        return
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception:
        return
    cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    started = [i for i, c in enumerate(cells) if c.metadata.get("papermill", {}).get("start_time")]
    if not started:
        return
    index = started[-1]
    cell = cells[index]
    duration = cell.metadata.get("papermill", {}).get("duration")
    if failure.ename != "CellTimeoutError" and (duration is None or duration < timeout):
        return  # the cell failed by itself, before the timeout
    injected = [
        i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", [])
    ]
    failure.cell_index = index - 1 if injected and injected[0] < index else index
    failure.execution_count = cell.get("execution_count")
    failure.source = "\n".join(str(cell.source).splitlines()[:3])
    failure.ename = "CellTimeoutError"
    failure.evalue = (
        f"the cell ran longer than the {timeout:g} s per-cell timeout and was interrupted "
        "(raise it with --cell-timeout, 0 for no limit)"
    )


# how a timed-out cell shows up: interrupted, nbclient's reply, or papermill's fallback
_TIMEOUT_ENAMES = ("KeyboardInterrupt", "CellTimeoutError", "CellExecutionError")

_ENV_LOCK = threading.Lock()
_ENV_USERS = 0
_ENV_SAVED: dict[str, str | None] | None = None
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


_KERNEL_ENV = {"MPLBACKEND": INLINE_BACKEND, STATIC_WIDGETS_ENV: "1"}


@contextmanager
def _inline_plots() -> Iterator[None]:
    """Set the environment the kernel inherits for a non-interactive run.

    * ``MPLBACKEND`` inline, even when the caller set ``MPLBACKEND=Agg``: a
      non-interactive backend there would make ``plt.show()`` draw nothing into
      the report;
    * ``SPM_STATIC_WIDGETS=1``: nobody answers widget messages in a batch run,
      so the package's widgets display a static snapshot.

    The variables are restored when the last concurrent run in this process
    (threads of a Dask worker) is done.
    """
    global _ENV_USERS, _ENV_SAVED
    with _ENV_LOCK:
        if _ENV_USERS == 0:
            _ENV_SAVED = {k: os.environ.get(k) for k in _KERNEL_ENV}
            os.environ.update(_KERNEL_ENV)
        _ENV_USERS += 1
    try:
        yield
    finally:
        with _ENV_LOCK:
            _ENV_USERS -= 1
            if _ENV_USERS == 0:
                for k, v in (_ENV_SAVED or {}).items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v


def _source_index(executed: Path, index: int) -> int:
    """Index in the source notebook of cell ``index`` of papermill's executed notebook.

    Papermill counts cells after injecting the parameters cell and before adding
    its error banners.
    """
    import nbformat

    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception:
        return index
    cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    injected = [
        i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", [])
    ]
    return index - 1 if injected and injected[0] < index else index


def _check_kernel(kernel_name: str) -> None:
    """Fail early, clearly, when the kernel is not installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as exc:
        raise SpmConfigError(
            f"Jupyter kernel {kernel_name!r} is not installed; run "
            f"`{sys.executable} -m ipykernel install --prefix {sys.prefix} --name {kernel_name}`"
        ) from exc


def run_notebook(
    notebook: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    parameters: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    html: bool = True,
    show_code: bool = False,
    kernel_name: str = DEFAULT_KERNEL,
    timeout: float | None = DEFAULT_CELL_TIMEOUT,
    progress_bar: bool = False,
    resolve_paths: bool = True,
    raise_on_error: bool = True,
) -> RunResult:
    """Execute ``notebook`` with papermill into ``out_dir`` and render its HTML report.

    Parameters
    ----------
    notebook : path
        The parameterised ``.ipynb``.
    out_dir : path
        Folder for the outputs (created); see the module docstring for the layout.
    parameters : dict, optional
        Values for the notebook's declared parameters; checked (names and
        types) before the kernel starts. If the notebook declares ``output_dir``
        and none is given, it is set to ``out_dir``.
    name : str, optional
        File stem of the outputs (default: the notebook's stem).
    html : bool
        Render the HTML report next to the executed notebook.
    show_code : bool
        Show code cells in the HTML report.
    kernel_name : str
        Jupyter kernel; ``python3`` is the project venv's kernel (its
        ``python`` is replaced by the running interpreter, ``sys.executable``).
    timeout : float, optional
        Per-cell timeout in seconds (default 600); ``None`` or 0 for no limit. A
        cell that runs longer stops the run, which fails naming the cell.
    progress_bar : bool
        Show papermill's per-cell progress bar.
    resolve_paths : bool
        Make relative ``*_path``/``*_dir`` parameters absolute against the
        current directory (the kernel runs in the notebook's folder).
    raise_on_error : bool
        Raise :class:`NotebookRunError` when a cell fails (else return a
        result with ``status == "failed"``).

    Returns
    -------
    RunResult

    Raises
    ------
    SpmConfigError
        Unknown parameters, values of the wrong type, missing notebook or kernel.
    NotebookRunError
        A cell raised (or called ``sys.exit`` with a non-zero code) or ran past
        the timeout, and ``raise_on_error``.
    """
    import papermill

    from spm_model.data.io import atomic_write_text
    from spm_model.reports.figures import read_figures, write_figures
    from spm_model.reports.html import render_html

    nb_path = Path(notebook)
    specs = notebook_parameters(nb_path)
    params = check_parameters(nb_path, parameters, specs)
    out = Path(out_dir)
    if "output_dir" in specs and "output_dir" not in params:
        params["output_dir"] = str(out.resolve())
    if resolve_paths:
        params = resolve_path_parameters(params)
    _check_kernel(kernel_name)
    name = name or nb_path.stem
    if Path(name).name != name or name in (".", "..") or not name.strip():
        raise SpmConfigError(
            f"name {name!r}: a file stem inside the output folder (no folders, no '..')"
        )
    out.mkdir(parents=True, exist_ok=True)
    marker = run_marker(out, name)
    marker.unlink(missing_ok=True)  # a rerun is incomplete until it finishes

    final_nb = out / f"{name}.ipynb"
    partial = out / f".{name}.partial.ipynb"
    result = RunResult(run_id=name, notebook=str(nb_path), out_dir=str(out), parameters=params)
    start = time.perf_counter()
    failure: RunFailure | None = None
    try:
        with _inline_plots():
            papermill.execute_notebook(
                str(nb_path),
                str(partial),
                parameters=params,
                kernel_name=kernel_name,
                progress_bar=progress_bar,
                cwd=str(nb_path.resolve().parent),
                execution_timeout=timeout or None,
                extra_arguments=KERNEL_ARGUMENTS,
                # on a timeout: interrupt the cell (the kernel then shuts down cleanly)
                interrupt_on_timeout=True,
                error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
            )
    except Exception as exc:
        failure = _failure_from(exc)
    if partial.exists():
        os.replace(partial, final_nb)
        result.files["notebook"] = str(final_nb)
        if failure is not None and failure.cell_index is not None:
            failure.cell_index = _source_index(final_nb, failure.cell_index)
        if failure is not None and failure.ename in _TIMEOUT_ENAMES:
            _timed_out_cell(final_nb, failure, timeout)
        try:
            result.figures = read_figures(final_nb)
        except Exception:
            result.figures = {}
        figures_path = out / f"{name}.figures.json"
        write_figures(figures_path, result.figures)
        result.files["figures"] = str(figures_path)
        if html:
            try:
                result.files["html"] = str(
                    render_html(final_nb, out / f"{name}.html", show_code=show_code)
                )
            except Exception as exc:
                failure = failure or RunFailure(None, None, "HTMLRenderError", str(exc))
    elif failure is None:
        failure = RunFailure(None, None, "NoOutput", "papermill wrote no output notebook")
    result.seconds = round(time.perf_counter() - start, 3)
    result.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if failure is not None:
        result.status = "failed"
        result.failure = failure
    atomic_write_text(marker, json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    if failure is not None and raise_on_error:
        raise NotebookRunError(result)
    return result
