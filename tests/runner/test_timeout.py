"""Per-cell timeout: a slow cell fails its run, named, and the kernel does not linger."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

from spm_model.runner import run_batch, run_notebook
from spm_model.runner.batch import load_batch
from spm_model.runner.execute import DEFAULT_CELL_TIMEOUT

FIX = Path(__file__).parent / "fixtures"
SPM = str(Path(sys.executable).parent / "spm")


def test_default_timeout_is_600_seconds(tmp_path):
    import inspect

    assert DEFAULT_CELL_TIMEOUT == 600
    assert inspect.signature(run_notebook).parameters["timeout"].default == 600
    p = tmp_path / "b.yaml"
    p.write_text(yaml.safe_dump({"notebook": str(FIX / "ok.ipynb")}))
    assert load_batch(p).timeout == 600


def test_spm_run_fails_naming_the_cell_that_ran_past_the_timeout(tmp_path):
    start = time.perf_counter()
    r = subprocess.run(
        [SPM, "run", str(FIX / "sleeping_cell.ipynb"), "--out", str(tmp_path), "--no-progress",
         "--no-html", "--cell-timeout", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    assert r.returncode == 1, r.stdout + r.stderr
    # the cell is named: position, execution count and first source line
    assert "failed at cell 4 [3] `time.sleep(seconds)  # the slow cell`" in r.stderr
    assert "CellTimeoutError" in r.stderr and "2 s per-cell timeout" in r.stderr
    # the cell was interrupted, not waited for (60 s), and the kernel's own log stays quiet
    assert elapsed < 40
    assert "[IPKernelApp]" not in r.stderr and "Traceback" not in r.stderr
    run = json.loads((tmp_path / "sleeping_cell.run.json").read_text())
    assert run["status"] == "failed" and run["failure"]["cell_index"] == 3
    nb = nbformat.read(tmp_path / "sleeping_cell.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "woke up" not in printed and "never" not in printed


def test_a_fast_failure_is_not_called_a_timeout(tmp_path):
    res = run_notebook(
        FIX / "raising_cell.ipynb", tmp_path, html=False, timeout=30, raise_on_error=False
    )
    assert res.failure.ename == "RuntimeError" and res.failure.cell_index == 3


def test_batch_timeout_fails_only_the_slow_run(tmp_path):
    spec = tmp_path / "b.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "notebook": str(FIX / "sleeping_cell.ipynb"),
                "out": str(tmp_path / "out"),
                "workers": 1,
                "html": False,
                "timeout": 120,
                "runs": [{"seconds": 0.0}, {"seconds": 60.0}],
            }
        )
    )
    res = run_batch(spec, progress=False, timeout=3)  # the option overrides the file
    status = {r.parameters["seconds"]: r for r in res.results}
    assert status[0.0].status == "ok"
    slow = status[60.0]
    assert slow.status == "failed" and slow.failure.ename == "CellTimeoutError"
    assert slow.failure.cell_index == 3 and "time.sleep(seconds)" in slow.failure.source
    assert "3 s per-cell timeout" in res.summary() and "FAILED 60.0: cell 4 [" in res.summary()
