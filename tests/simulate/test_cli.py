from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from spm_model.calc import credit_dataset
from spm_model.cli import app
from spm_model.data import load_dataset
from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.plans import Plan, load_plan
from spm_model.simulate import from_dataset, sensitivity, simulate

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


DATA = str(ROOT / "data" / "sample")
PLAN_DIR = ROOT / "templates" / "plans"


def _run(*args: str):
    return CliRunner().invoke(app, ["simulate", "--plan", PLAN, "--data", DATA, *args])


def _flat(text: str) -> str:
    """CLI output without rich's box drawing and line wrapping."""
    return " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize("budget", ["-5", "0", "nan", "inf", "-inf"])
def test_budget_must_be_positive_and_finite(budget):
    r = _run("--seed", "1", "--scenarios", "100", f"--budget={budget}")
    assert r.exit_code != 0
    assert "--budget" in r.output and "positive, finite" in _flat(r.output)


def test_non_numeric_horizon_is_a_clear_error():
    r = _run("--seed", "1", "--scenarios", "100", "--horizon", "next-year")
    assert r.exit_code != 0
    assert not isinstance(r.exception, ValueError | TypeError | KeyError)
    assert "--horizon" in r.output and "not a fiscal year" in _flat(r.output)


def test_horizon_without_quotas_is_an_error_naming_the_periods():
    r = _run("--seed", "1", "--scenarios", "100", "--horizon", "2028")
    assert r.exit_code != 0
    assert isinstance(r.exception, SpmDataError)
    msg = str(r.exception)
    assert "2028-Q1, 2028-Q2, 2028-Q3, 2028-Q4" in msg and "quotas" in msg


def test_compare_reports_the_distribution_of_the_difference(tmp_path):
    alt = Plan.from_dict({**load_plan(PLAN).to_dict(), "id": "saas_ae_alt"})
    d = alt.to_dict()
    d["components"][0]["tiers"][2]["rate"] = 2.1
    (tmp_path / "alt.yaml").write_text(yaml.safe_dump(d))
    out = tmp_path / "sim"
    args = ["--plan", str(tmp_path / "alt.yaml"), "--seed", "3", "--scenarios", "1000"]
    r = _run(*args, "--out", str(out), "--no-plots")
    assert r.exit_code == 0, r.output
    for fig in ("P5 difference B - A", "P50 difference B - A", "P95 difference B - A", "P(B > A)"):
        assert fig in r.output
    js = json.loads((out / "summary.json").read_text())
    cmp = js["comparisons"]["saas_ae_alt vs saas_ae"]
    sc = pd.read_csv(out / "scenarios.csv")
    diff = sc["cost[saas_ae_alt]"] - sc["cost[saas_ae]"]  # same scenarios for both plans
    assert cmp["P(B > A)"]["estimate"] == pytest.approx(float((diff > 0).mean()))
    assert cmp["P50 difference B - A"]["estimate"] == pytest.approx(float(diff.median()), abs=0.01)
    assert cmp["P5 difference B - A"]["estimate"] <= cmp["P95 difference B - A"]["estimate"]


def test_sensitivity_tornado_from_the_cli(tmp_path):
    out = tmp_path / "sim"
    r = _run(
        "--seed",
        "5",
        "--scenarios",
        "300",
        "--sensitivity",
        "--sensitivity-scenarios",
        "300",
        "--out",
        str(out),
        "--no-plots",
    )
    assert r.exit_code == 0, r.output
    assert "Sensitivity of saas_ae mean cost" in r.output
    t = pd.read_csv(out / "sensitivity.csv")
    assert {"mean attainment", "volatility"} <= set(t["assumption"])
    ma = t.set_index("assumption").loc["mean attainment"]
    assert ma["low_cost"] < ma["base"] < ma["high_cost"]  # more attainment costs more
    # the same tornado as the library call on the same model and seed
    ds = load_dataset(DATA)
    plan = load_plan(PLAN)
    company = [load_plan(f) for f in sorted(PLAN_DIR.glob("*.yaml"))]
    model = from_dataset(ds, plan, credits=credit_dataset(ds, company))
    lib = sensitivity(model, plan, seed=5, n_scenarios=300)
    np.testing.assert_allclose(t["low_cost"], lib["low_cost"], rtol=0, atol=0.005)
    np.testing.assert_allclose(t["high_cost"], lib["high_cost"], rtol=0, atol=0.005)


@pytest.mark.parametrize("plan_dir", [True, False])
def test_cli_equals_the_notebook_and_report_path(tmp_path, plan_dir):
    """`spm simulate` and the notebooks/end-to-end report print the same figures.

    The report credits the company once with every plan (``credit_dataset(ds, plans)``)
    and builds each plan's model with ``from_dataset(ds, plan, credits=credits)``.
    """
    seed, n, budget = 20240101, 2_000, 2_509_000.0
    out = tmp_path / "sim"
    extra = ["--plan-dir", str(PLAN_DIR)] if plan_dir else []
    r = _run(
        "--seed", str(seed), "--scenarios", str(n), "--budget", str(budget), "--out", str(out),
        "--no-plots", *extra,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    cli = json.loads((out / "summary.json").read_text())["plans"]["saas_ae"]
    # the report's path (notebooks/00_end_to_end_report.ipynb, cost simulation section)
    ds = load_dataset(DATA)
    plans = {p.id: p for p in (load_plan(f) for f in sorted(PLAN_DIR.glob("*.yaml")))}
    credits = credit_dataset(ds, plans)
    p = plans["saas_ae"]
    model = from_dataset(ds, p, credits=credits)
    res = simulate(model, p, n, seed=seed, budget=budget)
    report = json.loads(json.dumps(res.summary().to_dict()))
    assert cli["figures"] == report["figures"]
    assert cli["levels"] == report["levels"]
    assert cli["figures"]["mean cost"]["estimate"] == res.summary().value("mean cost")


def test_notebooks_build_the_model_from_the_one_crediting():
    """Every notebook that simulates builds its model with from_dataset(..., credits=...)."""
    calls = 0
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for line in code.splitlines():
            if "from_dataset(ds" in line:
                calls += 1
                assert "credits=" in line and "credited=" not in line, (nb.name, line)
    assert calls >= 3


def test_cost_at_proposed_quotas_cli_equals_the_report_path(tmp_path):
    """`spm quota --out` then `spm simulate --quotas` is the report's next-year cost.

    The end-to-end report proposes next year's quotas (``set_quotas``, quarterly) and
    simulates that year at them (``from_dataset(..., horizon=, quotas=proposal)``).
    """
    seed, n, year = 20240101, 1_000, 2027
    qfile, out = tmp_path / "q2027.csv", tmp_path / "sim"
    r = CliRunner().invoke(
        app,
        ["quota", "--data", DATA, "--year", str(year), "--method", "blend", "--freq", "quarter",
         "--out", str(qfile)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = _run("--seed", str(seed), "--scenarios", str(n), "--quotas", str(qfile), "--out",
             str(out), "--no-plots")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "2027-Q1..2027-Q4" in r.output
    # next year has no quotas in the dataset: sales grow from FY2026's level, and it says so
    assert "note: sales in 2027 are drawn at the previous year's quota level grown a year" in (
        _flat(r.output)
    )
    cli = json.loads((out / "summary.json").read_text())["plans"]["saas_ae"]
    from spm_model.quota import set_quotas

    ds = load_dataset(DATA)
    plans = {p.id: p for p in (load_plan(f) for f in sorted(PLAN_DIR.glob("*.yaml")))}
    proposal = set_quotas(ds, year, "blend", freq="quarter")
    p = plans["saas_ae"]
    model = from_dataset(
        ds, p, credits=credit_dataset(ds, plans), horizon=str(year), quotas=proposal.quotas
    )
    assert model.info.get("quota_projected") in (None, [])
    assert model.sales_basis is not None  # sales drawn against the quotas the history knew
    res = simulate(model, p, n, seed=seed)
    assert cli["figures"] == json.loads(json.dumps(res.summary().to_dict()))["figures"]
    # the proposal's quotas are what is simulated: the rep quotas of the model are the file's
    q = proposal.quotas[proposal.quotas["measure"] == "new_business"]
    want = q.pivot(index="rep_id", columns="period", values="amount").loc[model.rep_ids]
    j = model.measures.index("new_business")
    np.testing.assert_allclose(model.quota[:, j, :], want.to_numpy(), rtol=0, atol=1e-9)


def test_sales_growth_without_a_quotas_file_is_an_error():
    r = _run("--seed", "1", "--scenarios", "100", "--sales-growth", "0.1")
    assert r.exit_code != 0 and isinstance(r.exception, SpmConfigError)
    assert "--sales-growth needs --quotas" in str(r.exception)


def test_quotas_file_problems_are_listed_with_rows(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("rep_id,period,measure,amount\nR9999,2027-Q5,new_business,-1\n")
    r = _run("--seed", "1", "--scenarios", "100", "--quotas", str(bad))
    assert r.exit_code != 0 and isinstance(r.exception, SpmDataError)
    msg = str(r.exception)
    for part in ("row 2, column 'period'", "row 2, column 'amount'", "'R9999' is not in the reps"):
        assert part in msg, msg
    missing = tmp_path / "missing.csv"
    missing.write_text("rep_id,period,amount\nR0001,2027-Q1,5\n")
    r = _run("--seed", "1", "--scenarios", "100", "--quotas", str(missing))
    assert isinstance(r.exception, SpmDataError) and "missing column(s) measure" in str(
        r.exception
    )
