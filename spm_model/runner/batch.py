"""Batch runs: one notebook over a grid or list of parameter sets.

A batch file (YAML)::

    notebook: notebooks/01_data_overview.ipynb
    out: reports/batch/regions          # default: reports/batch/<file stem>
    name: "{region}"                    # run id template (default: varying values)
    workers: 2                          # local processes (default: CPU count, at most 4)
    timeout: 600                        # seconds a cell may run (default 600; 0: no limit)
    parameters:                         # shared by every run
      data_path: data/sample
      quick: true
    grid:                               # cartesian product of the lists ...
      region:
        values_from: {data_path: data/sample, table: reps, column: region}
    runs:                               # ... crossed with these explicit sets
      - {seed: 1}
      - {seed: 2}

Relative paths (``notebook``, ``out``, ``values_from.data_path`` and every
``*_path``/``*_dir`` parameter) are relative to the current directory.

Each run writes into ``<out>/<run_id>/`` (see :mod:`spm_model.runner.execute`);
the batch writes ``<out>/index.html`` (every run with its status, parameters,
headline figures and a link to its report), ``<out>/figures.csv`` (one row per
run: parameters, status, recorded figures) and ``<out>/batch.json``. A failing
run does not stop the others. With ``resume``, runs whose done marker says they
completed with the same parameters are skipped.
"""

from __future__ import annotations

import html as html_lib
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spm_model.errors import SpmConfigError
from spm_model.progress import Progress, make_bar
from spm_model.runner.execute import (
    DEFAULT_CELL_TIMEOUT,
    RunFailure,
    RunResult,
    is_complete,
    read_run,
    run_notebook,
)
from spm_model.runner.params import check_parameters, notebook_parameters, resolve_path_parameters

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


class ValuesFrom(BaseModel):
    """Grid values read from a column of a dataset table (distinct values, sorted)."""

    model_config = ConfigDict(extra="forbid")

    data_path: str = Field(..., description="Dataset folder or file (as for load_dataset).")
    table: str = Field(..., description="Canonical table name, e.g. 'reps'.")
    column: str = Field(..., description="Column whose distinct values form the grid axis.")


class GridAxis(BaseModel):
    """A grid axis given as ``{values_from: {...}}``."""

    model_config = ConfigDict(extra="forbid")

    values_from: ValuesFrom


class BatchSpec(BaseModel):
    """A batch of notebook runs (the YAML file's content)."""

    model_config = ConfigDict(extra="forbid")

    notebook: str = Field(..., description="The parameterised notebook to run.")
    out: str | None = Field(None, description="Output folder (default reports/batch/<file stem>).")
    name: str | None = Field(
        None, description="Run id template, formatted with each run's parameters."
    )
    workers: int | None = Field(None, ge=1, description="Parallel local processes.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Parameters shared by all runs."
    )
    grid: dict[str, list[Any] | GridAxis] = Field(
        default_factory=dict, description="Axes of a cartesian grid."
    )
    runs: list[dict[str, Any]] = Field(default_factory=list, description="Explicit parameter sets.")
    html: bool = Field(True, description="Render each run's HTML report.")
    show_code: bool = Field(False, description="Show code cells in the HTML reports.")
    timeout: float = Field(
        DEFAULT_CELL_TIMEOUT,
        ge=0,
        description="Per-cell timeout in seconds (0: no limit); a slower cell fails its run.",
    )


@dataclass
class PlannedRun:
    """One run of a batch, before execution."""

    run_id: str
    parameters: dict[str, Any]


@dataclass
class BatchResult:
    """Outcome of a batch.

    Parameters
    ----------
    out_dir : Path
        Batch output folder.
    results : list of RunResult
        One per planned run, in plan order.
    index_html, figures_csv : Path
        The index page and the figures table.
    """

    out_dir: Path
    results: list[RunResult] = field(default_factory=list)
    index_html: Path | None = None
    figures_csv: Path | None = None

    @property
    def failed(self) -> list[RunResult]:
        """Runs that failed."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """Whether every run completed."""
        return not self.failed and all(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        """Count the runs per status."""
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def summary(self) -> str:
        """Readable summary: counts, where the index is, and every failure with its cell."""
        c = self.counts()
        parts = ", ".join(f"{n} {s}" for s, n in sorted(c.items()))
        lines = [
            f"{len(self.results)} run(s): {parts}",
            f"index: {self.index_html}",
            f"figures: {self.figures_csv}",
        ]
        for r in self.failed:
            desc = r.failure.describe() if r.failure else "unknown failure"
            lines.append(f"FAILED {r.run_id}: {desc}")
            if "notebook" in r.files:
                lines.append(f"       see {r.files['notebook']}")
        return "\n".join(lines)


# -- loading ---------------------------------------------------------------------
def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based YAML line of the node at ``loc`` (as deep as it can be found)."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def load_batch(path: str | os.PathLike[str]) -> BatchSpec:
    """Read and validate a batch file.

    Raises
    ------
    SpmConfigError
        Naming the file, the YAML line and the field of every problem.
    """
    p = Path(path)
    if not p.is_file():
        raise SpmConfigError(f"{p}: no such batch file")
    text = p.read_text()
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from spm_model.errors import yaml_hint

        raise SpmConfigError(f"{p}: not valid YAML: {exc}\nHint: {yaml_hint(exc, text)}") from exc
    if not isinstance(data, dict):
        raise SpmConfigError(f"{p}: a batch file is a mapping with at least 'notebook'")
    try:
        spec = BatchSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{p}: {exc.error_count()} problem(s):"]
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(root, loc)
            where = f"line {line}, " if line else ""
            lines.append(f"  - {where}field {'.'.join(map(str, loc))}: {err['msg']}")
        raise SpmConfigError("\n".join(lines)) from exc
    if spec.out is None:
        spec.out = str(Path("reports") / "batch" / p.stem)
    return spec


def _axis_values(name: str, axis: list[Any] | GridAxis) -> list[Any]:
    if isinstance(axis, list):
        if not axis:
            raise SpmConfigError(f"grid axis {name!r} has no values")
        return axis
    from spm_model.data import load_dataset

    src = axis.values_from
    ds = load_dataset(src.data_path)
    table = ds.tables.get(src.table) if hasattr(ds, "tables") else getattr(ds, src.table, None)
    if table is None or src.column not in table.columns:
        raise SpmConfigError(
            f"grid axis {name!r}: {src.data_path} has no column {src.table}.{src.column}"
        )
    values = sorted({str(v) for v in table[src.column].dropna()})
    if not values:
        raise SpmConfigError(f"grid axis {name!r}: column {src.table}.{src.column} is empty")
    return values


def _default_id(params: dict[str, Any], varying: list[str], i: int) -> str:
    if not varying:
        return f"run-{i + 1:03d}"
    shown = [k for k in varying if k in params]
    return "_".join(f"{k}={params[k]}" if len(varying) > 1 else str(params[k]) for k in shown)


def plan_runs(spec: BatchSpec) -> list[PlannedRun]:
    """Expand the grid and run list into planned runs with unique, file-safe ids.

    Raises
    ------
    SpmConfigError
        Duplicate run ids or a bad run id template.
    """
    axes = {k: _axis_values(k, v) for k, v in spec.grid.items()}
    combos = [dict(zip(axes, vals, strict=True)) for vals in itertools.product(*axes.values())] or [
        {}
    ]
    runs = spec.runs or [{}]
    param_sets = [{**spec.parameters, **combo, **run} for run in runs for combo in combos]
    varying = [
        k
        for k in dict.fromkeys(k for s in param_sets for k in s)
        if len({json.dumps(s.get(k), sort_keys=True, default=str) for s in param_sets}) > 1
    ]
    planned: list[PlannedRun] = []
    for i, params in enumerate(param_sets):
        if spec.name:
            try:
                rid = spec.name.format(**params, index=i + 1)
            except (KeyError, IndexError, ValueError) as exc:
                raise SpmConfigError(f"run id template {spec.name!r}: unknown field {exc}") from exc
        else:
            rid = _default_id(params, varying, i)
        rid = _SAFE.sub("-", rid).strip("-.") or f"run-{i + 1:03d}"
        planned.append(PlannedRun(rid, params))
    seen: dict[str, int] = {}
    for r in planned:
        seen[r.run_id] = seen.get(r.run_id, 0) + 1
    dupes = [k for k, n in seen.items() if n > 1]
    if dupes:
        raise SpmConfigError(
            f"run ids are not unique: {', '.join(dupes)} "
            "(set 'name' to a template using the varying parameters)"
        )
    return planned


# -- execution -------------------------------------------------------------------
@dataclass
class _Task:
    notebook: str
    run_dir: str
    run_id: str
    parameters: dict[str, Any]
    html: bool
    show_code: bool
    timeout: float


def _execute(task: _Task) -> RunResult:
    """Run one task; never raises (a worker crash would hide which run failed)."""
    try:
        return run_notebook(
            task.notebook,
            task.run_dir,
            task.parameters,
            name=task.run_id,
            html=task.html,
            show_code=task.show_code,
            timeout=task.timeout,
            resolve_paths=False,
            raise_on_error=False,
        )
    except BaseException as exc:
        return RunResult(
            run_id=task.run_id,
            notebook=task.notebook,
            out_dir=task.run_dir,
            parameters=task.parameters,
            status="failed",
            failure=RunFailure(None, None, type(exc).__name__, str(exc)),
        )


def _same_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _run_local(tasks: list[_Task], workers: int, on_done: Callable[[RunResult], None]) -> None:
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            on_done(_execute(t))
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork after zmq/threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending = {pool.submit(_execute, t): t for t in tasks}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = pending.pop(fut)
                    on_done(_result_of(fut, task))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _result_of(fut: Any, task: _Task) -> RunResult:
    """Return the run's result, or a failed result when the worker itself crashed."""
    try:
        return fut.result()
    except BaseException as exc:
        return RunResult(
            task.run_id,
            task.notebook,
            task.run_dir,
            task.parameters,
            status="failed",
            failure=RunFailure(None, None, type(exc).__name__, str(exc)),
        )


def _run_dask(
    tasks: list[_Task], address: str, workers: int, on_done: Callable[[RunResult], None]
) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if address in ("local", "local:"):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = {
            client.submit(_execute, t, key=f"spm-run-{t.run_id}-{os.getpid()}", pure=False): t
            for t in tasks
        }
        for fut in as_completed(list(futures)):
            task = futures[fut]
            on_done(_result_of(fut, task))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_batch(
    spec: BatchSpec | str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    workers: int | None = None,
    dask_address: str | None = None,
    progress: Progress = True,
    timeout: float | None = None,
) -> BatchResult:
    """Run a batch; failures are isolated and reported, never raised.

    Parameters
    ----------
    spec : BatchSpec or path
        The batch (or its YAML file).
    out_dir : path, optional
        Overrides the batch's ``out``.
    resume : bool
        Skip runs already complete with the same parameters (their done marker
        is intact); incomplete or failed runs are run again.
    workers : int, optional
        Parallel runs (default: the batch's ``workers``, else ``min(4, cpu count)``).
    dask_address : str, optional
        Run on a Dask cluster (scheduler address such as ``tcp://host:8786``,
        or ``local`` for a local cluster of ``workers`` processes). Workers need
        spm_model installed and the same file system.
    progress : bool or bar factory
        Progress over runs: ``True`` for a tqdm bar, or a bar factory (see
        :mod:`spm_model.progress`).
    timeout : float, optional
        Per-cell timeout in seconds (default: the batch's ``timeout``, 600 s;
        0 for no limit). A cell running longer fails its run, naming the cell.

    Returns
    -------
    BatchResult
        ``result.ok`` is false when any run failed; ``result.summary()`` lists them.

    Raises
    ------
    SpmConfigError
        A bad batch file or parameters (checked for every run before any starts).
    """
    if not isinstance(spec, BatchSpec):
        spec = load_batch(spec)
    out = Path(out_dir or spec.out or "reports/batch").resolve()
    notebook = Path(spec.notebook).resolve()
    planned = plan_runs(spec)
    specs = notebook_parameters(notebook)
    problems: list[str] = []
    for run in planned:
        try:
            run.parameters = check_parameters(notebook, run.parameters, specs)
        except SpmConfigError as exc:
            problems.append(f"run {run.run_id}: {exc}")
            continue
        if "output_dir" in specs and "output_dir" not in run.parameters:
            run.parameters["output_dir"] = str(out / run.run_id)
        run.parameters = resolve_path_parameters(run.parameters)
    if problems:
        raise SpmConfigError("\n".join(problems))
    workers = workers or spec.workers or min(4, os.cpu_count() or 1)

    results: dict[str, RunResult] = {}
    tasks: list[_Task] = []
    for run in planned:
        run_dir = out / run.run_id
        if resume and is_complete(run_dir, run.run_id):
            prev = read_run(run_dir, run.run_id)
            if prev is not None and _same_params(prev.parameters, run.parameters):
                prev.status = "skipped"
                results[run.run_id] = prev
                continue
        tasks.append(
            _Task(
                str(notebook),
                str(run_dir),
                run.run_id,
                run.parameters,
                spec.html,
                spec.show_code,
                spec.timeout if timeout is None else timeout,
            )
        )

    result = BatchResult(out_dir=out)
    bar = make_bar(
        progress if tasks else False, total=len(tasks), desc=f"batch {notebook.stem}", unit="run"
    )
    failures = 0

    def on_done(res: RunResult) -> None:
        nonlocal failures
        results[res.run_id] = res
        failures += res.status == "failed"
        if bar is not None:
            if failures and hasattr(bar, "set_postfix"):
                bar.set_postfix(failed=failures, refresh=False)
            bar.update(1)

    try:
        if tasks:
            if dask_address:
                _run_dask(tasks, dask_address, workers, on_done)
            else:
                _run_local(tasks, workers, on_done)
    finally:
        if bar is not None:
            bar.close()
        result.results = [results[r.run_id] for r in planned if r.run_id in results]
        write_collection(result, notebook)
    return result


# -- index and figures -----------------------------------------------------------
def _rel(path: str | None, base: Path) -> str:
    if not path:
        return ""
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


def figures_frame(results: Iterable[RunResult], base: Path) -> Any:
    """One row per run: run id, status, parameters, recorded figures and report path."""
    import pandas as pd

    rows = []
    for r in results:
        row: dict[str, Any] = {"run_id": r.run_id, "status": r.status}
        for k, v in r.parameters.items():
            if k == "output_dir":
                continue
            row[k] = json.dumps(v) if isinstance(v, (list, dict)) else v
        for k, v in r.figures.items():
            row[k if k not in row else f"figure_{k}"] = (
                json.dumps(v) if isinstance(v, (list, dict)) else v
            )
        row["failure"] = r.failure.describe() if r.failure else ""
        row["report"] = _rel(r.files.get("html"), base)
        row["seconds"] = r.seconds
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.2f}"
    return str(v)


def index_html(result: BatchResult, notebook: Path) -> str:
    """Render the batch index page: status, parameters, figures and links of every run."""
    import pandas as pd

    df = figures_frame(result.results, result.out_dir)
    esc = html_lib.escape
    c = result.counts()
    head = ", ".join(f"{n} {s}" for s, n in sorted(c.items()))
    cols = [col for col in df.columns if col not in ("report", "seconds")] if len(df) else []
    rows = []
    for _, row in df.iterrows():
        cells = []
        for col in cols:
            v = row[col]
            v = "" if (not isinstance(v, (list, dict)) and pd.isna(v)) else v
            text = esc(_fmt(v))
            if col == "run_id" and row["report"]:
                text = f'<a href="{esc(row["report"])}">{text}</a>'
            cls = f' class="{esc(str(v))}"' if col == "status" else ""
            cells.append(f"<td{cls}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "".join(f"<th>{esc(str(col))}</th>" for col in cols)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Batch: {esc(notebook.stem)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
td.ok {{ color: #17692c; }} td.skipped {{ color: #555; }}
td.failed {{ color: #b00020; font-weight: bold; }}
</style></head><body>
<h1>Batch: {esc(notebook.name)}</h1>
<p>{len(result.results)} run(s): {esc(head)}.
Figures for every run: <a href="figures.csv">figures.csv</a>.</p>
<table><thead><tr>{header}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""


def write_collection(result: BatchResult, notebook: Path) -> None:
    """Write ``index.html``, ``figures.csv`` and ``batch.json`` of a batch, atomically."""
    from spm_model.data.io import atomic_write_text

    out = result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    result.figures_csv = atomic_write_text(
        out / "figures.csv",
        figures_frame(result.results, out).to_csv(index=False, float_format="%.15g"),
    )
    result.index_html = atomic_write_text(out / "index.html", index_html(result, notebook))
    atomic_write_text(
        out / "batch.json",
        json.dumps(
            {
                "notebook": str(notebook),
                "counts": result.counts(),
                "runs": [r.to_dict() for r in result.results],
            },
            indent=2,
            default=str,
        )
        + "\n",
    )
