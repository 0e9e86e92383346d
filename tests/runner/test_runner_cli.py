from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIX = Path(__file__).parent / "fixtures"
SPM = str(Path(sys.executable).parent / "spm")


def test_spm_run_and_params(tmp_path):
    r = subprocess.run(
        [
            SPM,
            "run",
            str(FIX / "ok.ipynb"),
            "-p",
            "seed",
            "5",
            "-p",
            "label",
            "cli",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert f"report: {tmp_path / 'ok.html'}" in r.stdout and "seed_times_rate = 2.5" in r.stdout
    assert json.loads((tmp_path / "ok.figures.json").read_text())["label"] == "cli"
    r = subprocess.run([SPM, "params", str(FIX / "ok.ipynb")], capture_output=True, text=True)
    assert "seed: int = 1  # random seed" in r.stdout


def test_spm_run_errors_exit_1(tmp_path):
    r = subprocess.run(
        [SPM, "run", str(FIX / "ok.ipynb"), "-p", "sed", "5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "unknown parameter 'sed'" in r.stderr
    r = subprocess.run(
        [SPM, "run", str(FIX / "raising_cell.ipynb"), "--out", str(tmp_path), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert (
        r.returncode == 1
        and "RuntimeError: the third cell fails" in r.stderr
        and "cell 4" in r.stderr
    )
    r = subprocess.run(
        [SPM, "run", str(FIX / "ok.ipynb"), "-p", "seed"], capture_output=True, text=True
    )
    assert r.returncode == 1 and "needs a NAME and a VALUE" in r.stderr


def test_spm_run_refuses_a_bad_parameters_file_and_a_name_outside_the_output(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("quick: [1,2\n")
    out = tmp_path / "out"
    for extra, message in (
        (["-f", str(bad)], "bad.yaml: not valid YAML"),
        (["-f", str(tmp_path / "none.yaml")], "none.yaml: parameters file not found"),
        (["--name", "../escape"], "name '../escape': a file stem inside the output folder"),
    ):
        r = subprocess.run(
            [SPM, "run", str(FIX / "ok.ipynb"), "--out", str(out), *extra],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "escape.run.json").exists()
