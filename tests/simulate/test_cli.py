from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from spm_model.cli import app

ROOT = Path(__file__).resolve().parents[2]
PLAN = str(ROOT / "templates" / "plans" / "saas_ae.yaml")


def test_spm_simulate_sample(tmp_path):
    out = tmp_path / "sim"
    r = CliRunner().invoke(
        app,
        [
            "simulate",
            "--plan",
            PLAN,
            "--data",
            str(ROOT / "data" / "sample"),
            "--scenarios",
            "2000",
            "--seed",
            "7",
            "--budget",
            "2500000",
            "--out",
            str(out),
            "--no-plots",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "mean cost" in r.output and "P(cost > budget)" in r.output and "MCSE" in r.output
    js = json.loads((out / "summary.json").read_text())
    assert js["n_scenarios"] == 2000 and js["seed"] == 7
    assert (out / "scenarios.csv").read_text().count("\n") == 2001


def test_spm_simulate_bad_plan_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: y\n")
    r = CliRunner().invoke(
        app,
        ["simulate", "--plan", str(bad), "--data", str(ROOT / "data" / "sample"), "--seed", "1"],
    )
    assert r.exit_code != 0


def test_spm_simulate_bad_family_is_a_clear_error():
    from spm_model.cli import main  # noqa: F401  (main turns SpmError into exit 1)

    r = CliRunner().invoke(
        app,
        [
            "simulate",
            "--plan",
            PLAN,
            "--data",
            str(ROOT / "data" / "sample"),
            "--seed",
            "1",
            "--family",
            "weibull",
        ],
    )
    assert r.exit_code != 0
    assert "weibull" in str(r.exception)
