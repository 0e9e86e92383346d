from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from spm_model.errors import SpmConfigError
from spm_model.runner import load_batch, plan_runs, run_batch

FIX = Path(__file__).parent / "fixtures"
SPM = str(Path(sys.executable).parent / "spm")


def _batch(tmp_path: Path, body: dict, name: str = "b.yaml") -> Path:
    body = {"notebook": str(FIX / "ok.ipynb"), "out": str(tmp_path / "out"), **body}
    p = tmp_path / name
    p.write_text(yaml.safe_dump(body, sort_keys=False))
    return p


def test_plan_grid_crossed_with_runs(tmp_path):
    spec = load_batch(
        _batch(
            tmp_path,
            {
                "grid": {"label": ["a", "b"]},
                "runs": [{"seed": 1}, {"seed": 2}],
                "parameters": {"quick": True},
            },
        )
    )
    runs = plan_runs(spec)
    assert [r.run_id for r in runs] == [
        "label=a_seed=1",
        "label=b_seed=1",
        "label=a_seed=2",
        "label=b_seed=2",
    ]
    assert runs[0].parameters == {"quick": True, "label": "a", "seed": 1}
    spec.name = "{label}-{seed}"
    assert plan_runs(spec)[0].run_id == "a-1"


def test_duplicate_ids_and_bad_yaml_are_clear(tmp_path):
    spec = load_batch(_batch(tmp_path, {"name": "same", "grid": {"label": ["a", "b"]}}))
    with pytest.raises(SpmConfigError, match="not unique: same"):
        plan_runs(spec)
    p = tmp_path / "bad.yaml"
    p.write_text("notebook: x.ipynb\nworkers: 0\ngrid:\n  region: 3\nbogus: 1\n")
    with pytest.raises(SpmConfigError) as err:
        load_batch(p)
    msg = str(err.value)
    assert (
        "line 2, field workers" in msg
        and "line 5, field bogus" in msg
        and "line 4, field grid.region" in msg
    )


def test_bad_parameters_are_refused_before_any_run(tmp_path):
    with pytest.raises(SpmConfigError) as err:
        run_batch(
            _batch(tmp_path, {"runs": [{"seed": 1}, {"seed": "x"}, {"sed": 2}]}), progress=False
        )
    msg = str(err.value)
    assert "run seed=x" in msg and "expects int" in msg and "unknown parameter 'sed'" in msg
    assert not (tmp_path / "out").exists()


def test_parallel_batch_isolates_failures_and_resumes(tmp_path):
    bf = _batch(
        tmp_path,
        {
            "name": "{label}",
            "workers": 2,
            "runs": [{"label": "a"}, {"label": "b", "fail": True}, {"label": "c", "seed": 4}],
        },
    )
    res = run_batch(bf, progress=False)
    assert [r.status for r in res.results] == ["ok", "failed", "ok"]
    assert not res.ok
    failed = res.failed[0]
    assert failed.run_id == "b" and failed.failure.ename == "ValueError"
    summary = res.summary()
    assert "FAILED b: cell 5" in summary and "ValueError: boom in b" in summary
    out = tmp_path / "out"
    for rid in ("a", "c"):
        assert (out / rid / f"{rid}.html").is_file() and (out / rid / f"{rid}.run.json").is_file()
    fig = pd.read_csv(out / "figures.csv")
    assert list(fig["run_id"]) == ["a", "b", "c"]
    assert fig.set_index("run_id").loc["c", "seed_times_rate"] == pytest.approx(2.0)
    assert pd.isna(fig.set_index("run_id").loc["b", "seed_times_rate"])
    index = (out / "index.html").read_text()
    assert 'href="a/a.html"' in index and 'class="failed"' in index and "boom in b" in index

    # interrupted run: c lost its done marker; resume reruns only b (failed) and c
    (out / "c" / "c.run.json").unlink()
    a_mtime = (out / "a" / "a.ipynb").stat().st_mtime_ns
    res2 = run_batch(bf, resume=True, progress=False)
    assert {r.run_id: r.status for r in res2.results} == {"a": "skipped", "b": "failed", "c": "ok"}
    assert (out / "a" / "a.ipynb").stat().st_mtime_ns == a_mtime
    assert pd.read_csv(out / "figures.csv").set_index("run_id").loc["a", "label"] == "a"

    # changed parameters make a completed run stale
    bf2 = _batch(
        tmp_path,
        {"name": "{label}", "html": False, "runs": [{"label": "a", "seed": 9}]},
        name="b2.yaml",
    )
    res3 = run_batch(bf2, resume=True, progress=False)
    assert res3.results[0].status == "ok" and res3.results[0].figures["seed_times_rate"] == 4.5


@pytest.mark.slow  # kills a real batch mid-run and resumes it: about 20 s
def test_cli_batch_exit_code_and_kill_then_resume(tmp_path):
    runs = [{"label": f"r{i}", "delay": 1.0} for i in range(3)]
    bf = _batch(tmp_path, {"name": "{label}", "workers": 1, "html": False, "runs": runs})
    proc = subprocess.Popen(
        [SPM, "batch", str(bf), "--no-progress"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out = tmp_path / "out"
    deadline = time.time() + 90
    while time.time() < deadline and not list(out.glob("*/*.run.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.parent.name for p in out.glob("*/*.run.json")}
    assert 1 <= len(done_before) < 3
    r = subprocess.run(
        [SPM, "batch", str(bf), "--resume", "--no-progress"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert f"{len(done_before)} skipped" in r.stdout and f"{3 - len(done_before)} ok" in r.stdout
    bad = _batch(
        tmp_path, {"name": "{label}", "runs": [{"label": "x", "exit_code": 2}]}, name="bad.yaml"
    )
    r = subprocess.run([SPM, "batch", str(bad), "--no-progress"], capture_output=True, text=True)
    assert r.returncode == 1 and "FAILED x: cell 5" in r.stdout and "SystemExit: 2" in r.stdout


def test_dask_local_cluster(tmp_path):
    bf = _batch(
        tmp_path, {"name": "{label}", "html": False, "runs": [{"label": "a"}, {"label": "b"}]}
    )
    res = run_batch(bf, dask_address="local", workers=2, progress=False)
    assert [r.status for r in res.results] == ["ok", "ok"]
    assert res.results[1].figures["label"] == "b"
