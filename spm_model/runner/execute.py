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

from spm_model.errors import SpmError
from spm_model.runner.params import check_parameters, notebook_parameters, resolve_path_parameters

DEFAULT_KERNEL = "python3"


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
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return RunFailure(
            cell_index=exc.cell_index,
            execution_count=exc.exec_count,
            ename=exc.ename,
            evalue=exc.evalue,
            source="\n".join((exc.source or "").splitlines()[:3]),
        )
    return RunFailure(None, None, type(exc).__name__, str(exc))


_ENV_LOCK = threading.Lock()
_ENV_USERS = 0
_ENV_SAVED: str | None = None
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@contextmanager
def _inline_plots() -> Iterator[None]:
    """Let the kernel draw inline plots even when the caller set ``MPLBACKEND=Agg``.

    The kernel inherits the environment; a non-interactive backend there would
    make ``plt.show()`` draw nothing into the report. The variable is restored
    when the last concurrent run in this process (threads of a Dask worker)
    is done.
    """
    global _ENV_USERS, _ENV_SAVED
    with _ENV_LOCK:
        if _ENV_USERS == 0:
            _ENV_SAVED = os.environ.get("MPLBACKEND")
            os.environ["MPLBACKEND"] = INLINE_BACKEND
        _ENV_USERS += 1
    try:
        yield
    finally:
        with _ENV_LOCK:
            _ENV_USERS -= 1
            if _ENV_USERS == 0:
                if _ENV_SAVED is None:
                    os.environ.pop("MPLBACKEND", None)
                else:
                    os.environ["MPLBACKEND"] = _ENV_SAVED


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
        from spm_model.errors import SpmConfigError

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
    timeout: float | None = None,
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
        Per-cell timeout in seconds.
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
        A cell raised (or called ``sys.exit`` with a non-zero code) and ``raise_on_error``.
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
                execution_timeout=timeout,
            )
    except Exception as exc:
        failure = _failure_from(exc)
    if partial.exists():
        os.replace(partial, final_nb)
        result.files["notebook"] = str(final_nb)
        if failure is not None and failure.cell_index is not None:
            failure.cell_index = _source_index(final_nb, failure.cell_index)
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
