"""Every notebook in notebooks/ runs in quick mode on the sample company.

Each run goes through the runner (papermill, parameter checking, HTML), and
the headline figures it records are checked against the data.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

from spm_model.runner import notebook_parameters, run_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SAMPLE = ROOT / "data" / "sample"


def _check_01(fig: dict, tmp: Path) -> None:
    txn = pd.read_csv(SAMPLE / "transactions.csv")
    assert fig["data_problems"] == 0
    assert fig["reps"] == len(pd.read_csv(SAMPLE / "reps.csv"))
    assert fig["bookings_total"] == pytest.approx(txn["amount"].sum(), abs=0.01)
    opp = pd.read_csv(SAMPLE / "opportunities.csv")
    assert fig["open_pipeline"] == pytest.approx(
        opp.loc[opp.status == "open", "amount"].sum(), abs=0.01
    )
    assert (tmp / "data_overview.xlsx").is_file()


def _check_02(fig: dict, tmp: Path) -> None:
    # worked numbers in the plan templates' comments
    assert fig["saas_ae_pct_at_100"] == pytest.approx(1.0)
    assert fig["saas_ae_pct_at_150"] == pytest.approx(1.9)
    reps = pd.read_csv(SAMPLE / "reps.csv")
    assert (
        fig["reps_on_compared_plans"]
        == reps["plan_id"].isin(["saas_ae", "account_manager", "sdr"]).sum()
    )
    assert (tmp / "plan_design.xlsx").is_file()
    assert 0.5 * fig["saas_ae_budget"] < fig["saas_ae_mean_cost"] < 3 * fig["saas_ae_budget"]


def _check_07(fig: dict, tmp: Path) -> None:
    # first saas_ae rep, 2026-Q4 (nothing credited yet), OTE x 50% pay mix / 4 quarters
    reps = pd.read_csv(SAMPLE / "reps.csv")
    rep = reps[reps.plan_id == "saas_ae"].sort_values("rep_id").iloc[0]
    assert fig["target_incentive"] == pytest.approx(rep["ote"] * 0.5 / 4, abs=0.01)
    assert fig["payout_now"] == 0.0
    assert fig["deals_assumed"] == 3
    assert fig["payout_gain"] == pytest.approx(
        fig["payout_with_deals"] - fig["payout_now"], abs=0.01
    )
    assert 0 < fig["payout_with_deals"] <= 3 * fig["target_incentive"]
    assert fig["rank_last_period"] >= 1
    assert (tmp / "rep_earnings.xlsx").is_file()


def _check_04(fig: dict, tmp: Path) -> None:
    assert fig["plan_year"] == 2027  # the sample ends 2026-09-30, fiscal year = calendar year
    assert fig["reconciles"] is True
    # bottom-up with 10% over-assignment per level: reps get more than the company
    # target minus what stays unassigned, and never more than the target x 1.1^3
    assert 0 < fig["assigned_to_reps"] <= fig["company_target"] * 1.1**3
    assert 0 <= fig["share_expected_at_target"] <= 1
    assert 0 <= fig["gini_quota_to_potential"] < 1
    assert fig["backtest_best_method"] in ("history", "potential", "blend")
    assert (tmp / "quotas_2027.xlsx").is_file()


def _check_05(fig: dict, tmp: Path) -> None:
    # tolerance 10%, at most 15% of accounts moved (per region, so overall too)
    assert fig["potential_max_dev_pct_after"] <= 10.0 + 1e-6 < fig["potential_max_dev_pct_before"]
    assert 0 < fig["accounts_moved_pct"] <= 15.0 + 1e-6
    assert fig["accounts_changing_owner"] > 0
    new = pd.read_csv(tmp / "assignments.csv")
    assert {"account_id", "rep_id", "start_date", "end_date"} <= set(new.columns)


def _check_00(fig: dict, tmp: Path) -> None:
    from spm_model import load_dataset, load_plan
    from spm_model.calc import calculate, credit_dataset

    ds = load_dataset(SAMPLE)
    plans = [load_plan(p) for p in sorted((ROOT / "templates" / "plans").glob("*.yaml"))]
    credits = credit_dataset(ds, plans)  # once, each rep under their own plan's clawback window
    used = set(ds.reps["plan_id"])
    payable = sum(
        float(calculate(p, ds, "2026-Q3", credits=credits).summary["payable"].sum())
        for p in plans
        if p.id in used
    )
    assert fig["data_problems"] == 0 and fig["credit_conserved"] is True
    assert fig["payable_total"] == pytest.approx(payable, abs=0.01)
    assert fig["quota_year"] == 2027 and fig["quota_reconciles"] is True
    assert 0 < fig["forecast_new_business_p10"] < fig["forecast_new_business_mean"]
    assert fig["forecast_new_business_mean"] < fig["forecast_new_business_p90"]
    assert fig["expected_reps_at_quota"] >= 0
    assert fig["sim_plans"] >= 1 and fig["sim_expected_cost_total"] > 0
    assert 0 <= fig["sim_largest_plan_p_over_budget"] <= 1
    assert fig["territory_potential_dev_after_pct"] <= 10.0 + 1e-6
    assert fig["territory_accounts_moved_pct"] <= 15.0 + 1e-6
    assert (tmp / "end_to_end_tables.xlsx").is_file()
    assert any((tmp / "statements").rglob("*.csv"))


def _check_03(fig: dict, tmp: Path) -> None:
    import json

    # the default budget is the simulated reps' total annual target incentive
    from spm_model import load_dataset, load_plan

    summary = json.loads((tmp / "simulation" / "summary.json").read_text())
    plan = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    reps = load_dataset(SAMPLE).reps
    simulated = pd.read_csv(tmp / "simulation" / "reps.csv")["rep_id"].unique()
    ote = reps.set_index("rep_id").loc[list(simulated), "ote"]
    budget = sum(float(plan.annual_target_incentive(float(o))) for o in ote)
    assert fig["budget"] == pytest.approx(budget, abs=0.01) == summary["budget"]
    mean = summary["plans"]["saas_ae"]["figures"]["mean cost"]["estimate"]
    assert fig["mean_cost"] == pytest.approx(mean, abs=0.01)
    assert fig["scenarios"] == 2000
    assert fig["budget"] > 0 and 0 <= fig["p_over_budget"] <= 1
    assert fig["p95_cost"] >= fig["mean_cost"] > 0.5 * fig["budget"]
    assert 0 < fig["mean_cost_of_sales"] < 0.5
    assert (tmp / "comp_cost.xlsx").is_file()


def _check_06(fig: dict, tmp: Path) -> None:
    assert fig["reps_forecast"] > 0 and fig["divergences"] >= 0
    assert 0 < fig["forecast_total_p10"] < fig["forecast_total_mean"] < fig["forecast_total_p90"]
    # the sample books about 10-20M of new business a quarter; the forecast covers Q4 2026
    assert 3e6 < fig["forecast_total_mean"] < 6e7
    assert 0 <= fig["mean_p_reach_quota"] <= 1
    assert (tmp / "forecast.xlsx").is_file()


CHECKS = {
    "06_bayesian_forecast": _check_06,
    "03_comp_cost_simulation": _check_03,
    "00_end_to_end_report": _check_00,
    "05_territory_balancing": _check_05,
    "04_quota_setting": _check_04,
    "01_data_overview": _check_01,
    "02_plan_design": _check_02,
    "07_rep_earnings_estimator": _check_07,
}


def test_notebooks_are_committed_clean():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged parameters"
        for c in nb["cells"]:
            if c["cell_type"] == "code":
                assert not c["outputs"] and c["execution_count"] is None, (
                    f"{path.name}: has outputs"
                )
        specs = notebook_parameters(path)
        assigned = {
            t.id
            for node in ast.parse("".join(tagged[0]["source"])).body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        }
        assert assigned == set(specs), (
            f"{path.name}: papermill cannot parse {assigned - set(specs)}"
        )
        for name in ("data_path", "quick", "output_dir"):
            assert name in specs, f"{path.name}: parameter {name!r} missing"
        assert path.stem in CHECKS, f"{path.name}: no figure checks in this test"


MIN_PLOTS = {
    "00_end_to_end_report": 6,
    "01_data_overview": 1,
    "02_plan_design": 2,
    "03_comp_cost_simulation": 2,
    "04_quota_setting": 1,
    "05_territory_balancing": 1,
    "06_bayesian_forecast": 2,
    "07_rep_earnings_estimator": 2,
}


def run_quick(path: Path, tmp_path: Path) -> None:
    """Run one notebook in quick mode on the sample company and check its figures."""
    res = run_notebook(path, tmp_path, {"data_path": str(SAMPLE), "quick": True}, timeout=600)
    assert res.status == "ok"
    html = Path(res.files["html"]).read_text()
    # plots are drawn inline even though the tests run with MPLBACKEND=Agg
    assert html.count('src="data:image/png') >= MIN_PLOTS[path.stem]
    assert "Traceback" not in html
    CHECKS[path.stem](res.figures, tmp_path)


# Two files, so that ``pytest -n 2 --dist loadfile`` runs the notebooks on both workers.
FIRST_HALF = [p for p in NOTEBOOKS if p.stem[:2] in ("00", "01", "02", "07")]
SECOND_HALF = [p for p in NOTEBOOKS if p not in FIRST_HALF]


def _params(paths: list[Path]) -> list:
    """Notebooks as test parameters; those that fit the Bayesian forecast are `slow`."""
    return [
        pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem[:2] in SLOW else [])
        for p in paths
    ]


SLOW = ("00", "06")  # the end-to-end report and the forecast notebook fit PyMC models


@pytest.mark.parametrize("path", _params(FIRST_HALF))
def test_notebook_runs_quick(path, tmp_path):
    run_quick(path, tmp_path)
