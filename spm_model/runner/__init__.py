"""Run parameterised notebooks (papermill) one at a time or in batches.

* :func:`run_notebook` executes a notebook with checked parameters, renders its
  HTML report (code hidden) and records its headline figures;
* :func:`run_batch` runs a notebook over a grid or list of parameter sets in
  parallel (local processes or Dask), resumably, with an index page and a CSV
  of every run's figures.
"""

from __future__ import annotations

from spm_model.runner.batch import BatchResult, BatchSpec, load_batch, plan_runs, run_batch
from spm_model.runner.execute import (
    NotebookRunError,
    RunFailure,
    RunResult,
    is_complete,
    read_run,
    run_notebook,
)
from spm_model.runner.params import (
    ParamSpec,
    check_parameters,
    notebook_parameters,
    parse_cli_value,
)

__all__ = [
    "BatchResult",
    "BatchSpec",
    "NotebookRunError",
    "ParamSpec",
    "RunFailure",
    "RunResult",
    "check_parameters",
    "is_complete",
    "load_batch",
    "notebook_parameters",
    "parse_cli_value",
    "plan_runs",
    "read_run",
    "run_batch",
    "run_notebook",
]
