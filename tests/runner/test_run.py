from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from spm_model.errors import SpmConfigError
from spm_model.runner import NotebookRunError, is_complete, read_run, run_notebook

FIX = Path(__file__).parent / "fixtures"


def test_run_writes_notebook_html_figures_and_marker(tmp_path):
    res = run_notebook(FIX / "ok.ipynb", tmp_path, {"seed": "3", "label": "north"})
    assert res.status == "ok"
    assert res.figures["seed_times_rate"] == pytest.approx(1.5)
    assert res.figures["label"] == "north" and res.figures["n_items"] == 2
    # the kernel is this interpreter (the project venv), and it runs in the notebook's folder
    assert Path(res.figures["python"]).resolve() == Path(sys.executable).resolve()
    assert Path(res.figures["cwd"]).resolve() == FIX.resolve()
    # output_dir was filled with the run's folder
    assert (tmp_path / "side.txt").read_text() == "north"
    files = {k: Path(v) for k, v in res.files.items()}
    assert files["notebook"] == tmp_path / "ok.ipynb" and files["html"] == tmp_path / "ok.html"
    assert json.loads(files["figures"].read_text())["label"] == "north"
    html = files["html"].read_text()
    assert "visible output north" in html and "Some narrative." in html
    assert 'class="highlight hl-ipython3"' not in html  # code hidden by default
    assert "vnd.spm-model.figure" not in html
    assert is_complete(tmp_path, "ok")
    assert read_run(tmp_path, "ok").parameters["seed"] == 3
    assert not list(tmp_path.glob(".*partial*"))


def test_show_code_and_name(tmp_path):
    res = run_notebook(FIX / "ok.ipynb", tmp_path, name="custom", show_code=True)
    assert Path(res.files["html"]).name == "custom.html"
    assert 'class="highlight hl-ipython3"' in Path(res.files["html"]).read_text()


def test_bad_parameters_fail_before_the_kernel_starts(tmp_path):
    with pytest.raises(SpmConfigError, match="unknown parameter 'nope'"):
        run_notebook(FIX / "ok.ipynb", tmp_path, {"nope": 1, "seed": "x"})
    assert not any(tmp_path.iterdir())


def test_raising_cell_reports_the_cell(tmp_path):
    with pytest.raises(NotebookRunError) as err:
        run_notebook(FIX / "raising_cell.ipynb", tmp_path)
    res = err.value.result
    assert res.status == "failed"
    assert res.failure.ename == "RuntimeError" and "third cell fails" in res.failure.evalue
    assert "raise RuntimeError" in res.failure.source
    assert res.failure.cell_index == 3  # markdown, parameters, y = x + 1, raise
    assert res.failure.describe().startswith("cell 4 [3] `raise RuntimeError")
    assert "RuntimeError" in str(err.value) and "raising_cell.ipynb" in str(err.value)
    # the failed notebook is kept for inspection, but the run is not complete
    assert (tmp_path / "raising_cell.ipynb").is_file()
    assert not is_complete(tmp_path, "raising_cell")


def test_sys_exit_nonzero_is_a_failure_and_zero_is_not(tmp_path):
    res = run_notebook(FIX / "sys_exit.ipynb", tmp_path / "a", raise_on_error=False)
    assert (
        res.status == "failed" and res.failure.ename == "SystemExit" and res.failure.evalue == "3"
    )
    res = run_notebook(FIX / "sys_exit.ipynb", tmp_path / "b", {"code": 0})
    assert res.status == "ok"


def test_rerun_that_fails_is_not_complete(tmp_path):
    run_notebook(FIX / "ok.ipynb", tmp_path)
    assert is_complete(tmp_path, "ok")
    res = run_notebook(FIX / "ok.ipynb", tmp_path, {"fail": True}, raise_on_error=False)
    assert res.failure.ename == "ValueError"
    assert res.failure.cell_index == 4  # the injected parameters cell is not counted
    assert not is_complete(tmp_path, "ok")


def test_inline_plot_backend_is_restored(monkeypatch):
    import os
    import threading

    from spm_model.runner.execute import INLINE_BACKEND, _inline_plots

    monkeypatch.setenv("MPLBACKEND", "Agg")
    inside = []

    def worker():
        with _inline_plots():
            inside.append(os.environ["MPLBACKEND"])

    with _inline_plots():
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert os.environ["MPLBACKEND"] == INLINE_BACKEND
    assert inside == [INLINE_BACKEND] * 4
    assert os.environ["MPLBACKEND"] == "Agg"
