"""Statement outputs (CSV, Excel, Markdown, HTML) and the calc / explain / replay commands."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from spm_model.calc import calculate
from spm_model.calc.outputs import sheet_names, write_statements
from spm_model.cli import app
from spm_model.errors import SpmConfigError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
FLAT = [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}]


def test_sheet_names_are_valid_and_unique():
    names = sheet_names(["A" * 40, "A" * 40, "x/y:z", "Summary", "a[1]"])
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert names[2] == "x_y_z"
    assert names[3] != "Summary"
    assert not any(c in n for n in names for c in "[]:*?/\\")


def test_write_statements_atomically(tmp_path, company, make_plan):
    ds = company([("2025-02-10", 6000)])
    res = calculate(make_plan(FLAT), ds, "2025-Q1")
    (tmp_path / "other.txt").write_text("keep me")
    out = write_statements(res, tmp_path, ("csv", "xlsx", "md", "html"))
    assert out == tmp_path / "p_2025-Q1"
    assert (tmp_path / "other.txt").read_text() == "keep me"
    s = pd.read_csv(out / "summary.csv")
    assert s["payable"].tolist() == [600.0]
    wb = openpyxl.load_workbook(out / "statements.xlsx")
    assert wb.sheetnames == ["Summary", "A"]
    md = (out / "statements" / "A.md").read_text()
    assert "| c | sales | 6,000.00 |" in md and "Payable: 600.00 USD" in md
    assert "owner of account C" in md
    assert "<table" in (out / "statements" / "A.html").read_text()
    # a second run replaces the folder as a whole and leaves no temporary files behind
    write_statements(res, tmp_path, ("csv",))
    assert sorted(p.name for p in (tmp_path / "p_2025-Q1").iterdir()) == [
        "lines.csv",
        "summary.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt", "p_2025-Q1"]


def test_unknown_format_is_rejected(company, make_plan):
    from spm_model.errors import SpmConfigError

    res = calculate(make_plan(FLAT), company([("2025-02-10", 6000)]), "2025-Q1")
    with pytest.raises(SpmConfigError, match="unknown output format"):
        write_statements(res, "/tmp/never", ("pdf",))


@pytest.mark.skipif(not SAMPLE.exists(), reason="data/sample not generated")
def test_cli_calc_explain_replay_on_sample(tmp_path):
    runner = CliRunner()
    plan = str(ROOT / "templates" / "plans" / "saas_ae.yaml")
    r = runner.invoke(
        app,
        [
            "calc",
            "--plan",
            plan,
            "--data",
            str(SAMPLE),
            "--period",
            "2025-Q3",
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 0, r.output
    out = tmp_path / "saas_ae_2025-Q3"
    s = pd.read_csv(out / "summary.csv")
    from spm_model.data import load_dataset

    ds = load_dataset(SAMPLE)
    on_plan = ds.reps[(ds.reps["plan_id"] == "saas_ae")]
    employed = on_plan[
        (on_plan["hire_date"] <= "2025-09-30") & ~(on_plan["end_date"] < "2025-07-01")
    ]
    assert set(s["rep_id"]) == set(employed["rep_id"])
    assert len(list((out / "statements").glob("*.md"))) == len(employed)
    rep = s["rep_id"].iloc[0]
    r = runner.invoke(
        app, ["explain", "--plan", plan, "--data", str(SAMPLE), "--rep", rep, "--period", "2025-Q3"]
    )
    assert r.exit_code == 0, r.output
    assert f"Statement trace for {rep}" in r.output and "PAYABLE" in r.output
    r = runner.invoke(
        app,
        ["replay", "--plan", plan, "--data", str(SAMPLE), "--year", "2025", "--out", str(tmp_path)],
    )
    assert r.exit_code == 0, r.output
    assert "would have paid" in r.output
    assert (tmp_path / "replay_saas_ae_2025" / "reconciliation.csv").exists()
    # a folder of plans: every employed rep gets a statement from their own plan
    r = runner.invoke(
        app,
        [
            "calc",
            "--plan",
            str(ROOT / "templates" / "plans"),
            "--data",
            str(SAMPLE),
            "--period",
            "2025-Q3",
            "--out",
            str(tmp_path / "all"),
            "--formats",
            "csv",
        ],
    )
    assert r.exit_code == 0, r.output
    allsum = pd.read_csv(tmp_path / "all" / "summary_2025-Q3.csv")
    employed_all = ds.reps[
        (ds.reps["hire_date"] <= "2025-09-30") & ~(ds.reps["end_date"] < "2025-07-01")
    ]
    assert set(allsum["rep_id"]) == set(employed_all["rep_id"])
    # errors are readable and exit 1 through the main entry point
    r = runner.invoke(
        app,
        ["explain", "--plan", plan, "--data", str(SAMPLE), "--rep", "NOPE", "--period", "2025-Q3"],
    )
    assert r.exit_code != 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["calc", "--plan", "templates/plans", "--period", "2022-Q3"],
            "--period 2022-Q3 is before the data, which run from 2023-10-01 to 2026-09-30",
        ),
        (
            ["scorecards", "--period", "2027-Q1", "-q"],
            "--period 2027-Q1 is after the data, which run from 2023-10-01 to 2026-09-30",
        ),
        (
            ["estimate", "--plan", "templates/plans", "--rep", "R0010", "--as-of", "2030-01-01"],
            "--as-of 2030-01-01 is after the data",
        ),
    ],
)
def test_a_period_outside_the_data_is_one_line_and_exit_1(tmp_path, args, message):
    runner = CliRunner()
    full = [a.replace("templates/plans", str(ROOT / "templates" / "plans")) for a in args]
    full += ["--data", str(SAMPLE)]
    if args[0] in ("calc", "scorecards"):
        full += ["--out", str(tmp_path / "out")]
    r = runner.invoke(app, full)
    # `spm` (cli.main) prints an SpmError as one line and exits 1
    assert isinstance(r.exception, SpmConfigError), r.output
    assert message in str(r.exception)
    assert not (tmp_path / "out").exists()


def test_calc_of_a_period_before_every_plan_is_an_error(tmp_path):
    # a four-year company starts 2022-10-01; the template plans take effect 2023-01-01
    from spm_model.data.synthetic import generate

    generate(n_reps=12, n_accounts=100, years=4, seed=1).save(tmp_path / "co")
    r = CliRunner().invoke(
        app,
        [
            "calc",
            "--plan",
            str(ROOT / "templates" / "plans"),
            "--data",
            str(tmp_path / "co"),
            "--period",
            "2022-Q4",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert isinstance(r.exception, SpmConfigError), r.output
    assert "has a rep employed in 2022-Q4 (the plans take effect from 2023-01-01)" in str(
        r.exception
    )
    assert not (tmp_path / "out").exists()


def test_the_target_incentive_source_is_chosen_and_explained(tmp_path, company, make_plan):
    """Rep A: ote 100,000 - base 50,000 = 50,000 a year (12,500 a quarter); the plan says
    10,000 a year (2,500 a quarter). A curve paying 100% of target at 100% of a 40,000
    quota on 40,000 of sales earns the quarter's target incentive from either source."""
    curve = [
        {
            "type": "payout_curve",
            "name": "bonus",
            "measure": "sales",
            "weight": 1.0,
            "points": [{"attainment": 0, "payout": 0}, {"attainment": 1, "payout": 1}],
        }
    ]
    plan = make_plan(curve, target_incentive=10_000)
    ds = company([("2025-02-10", 40_000)], [("2025-Q1", 40_000)])
    rep = calculate(plan, ds, "2025-Q1")
    assert rep.summary["earned"].tolist() == [12_500.0]
    assert "(annual 50,000.00 = reps.ote 100,000.00 - base_salary 50,000.00, / 4)" in (
        rep.explain("A").text
    )
    own = calculate(plan, ds, "2025-Q1", ti_source="plan")
    assert own.summary["earned"].tolist() == [2_500.0]
    assert "(annual 10,000.00 = the plan's target_incentive, / 4)" in own.explain("A").text
    # the CLI, on the sample company (R0010: ote 237,000, base 142,200; saas_ae: ote 200,000
    # at a 50/50 mix)
    saas = str(ROOT / "templates" / "plans" / "saas_ae.yaml")
    args = ["explain", "--plan", saas, "--data", str(SAMPLE), "--rep", "R0010"]
    args += ["--period", "2026-Q2"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "Target incentive 23,700.00 for the period (annual 94,800.00 = reps.ote" in r.output
    r = CliRunner().invoke(app, [*args, "--ti-source", "plan"])
    assert r.exit_code == 0, r.output
    assert (
        "Target incentive 25,000.00 for the period (annual 100,000.00 = the plan's ote "
        "200,000.00 x variable share 0.5, / 4)"
    ) in r.output
    calc = ["calc", "--plan", saas, "--data", str(SAMPLE), "--period", "2026-Q2"]
    r = CliRunner().invoke(app, [*calc, "--out", str(tmp_path), "--ti-source", "plans"])
    assert r.exit_code == 1
    assert "--ti-source must be one of auto, rep, plan_mix, plan, not 'plans'" in str(r.exception)


def test_two_versions_of_one_plan_in_a_period_write_a_folder_each(tmp_path):
    """saas_ae changes on 16 August 2026 (version 2026.2): the 2026-Q3 statements of both
    versions are kept (the second overwrote the first's folder)."""
    import yaml

    plans = tmp_path / "plans"
    plans.mkdir()
    base = yaml.safe_load((ROOT / "templates" / "plans" / "saas_ae.yaml").read_text())
    v1 = {**base, "effective_to": "2026-08-15"}
    v2 = {**base, "version": "2026.2", "effective_from": "2026-08-16"}
    (plans / "saas_ae_v1.yaml").write_text(yaml.safe_dump(v1, sort_keys=False))
    (plans / "saas_ae_v2.yaml").write_text(yaml.safe_dump(v2, sort_keys=False))
    out = tmp_path / "out"
    args = ["calc", "--plan", str(plans), "--data", str(SAMPLE), "--period", "2026-Q3"]
    r = CliRunner().invoke(app, [*args, "--out", str(out), "--formats", "csv"])
    assert r.exit_code == 0, r.output
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == [f"saas_ae_v{base['version']}_2026-Q3", "saas_ae_v2026.2_2026-Q3"]
    for f in folders:
        assert (out / f / "summary.csv").is_file()


def test_reps_on_a_plan_without_a_file_are_named(tmp_path):
    """The plan folder lacks field_rep.yaml: its rep is paid by nobody, and the run says so."""
    import shutil

    plans = tmp_path / "plans"
    shutil.copytree(ROOT / "templates" / "plans", plans)
    (plans / "field_rep.yaml").unlink()
    args = ["calc", "--plan", str(plans), "--data", str(SAMPLE), "--period", "2026-Q2"]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--formats", "csv"])
    assert r.exit_code == 0, r.output
    assert (
        f"warning: 1 rep(s) employed in 2026-Q2 are on plan 'field_rep', which has no file in "
        f"{plans}: not paid (R0017)"
    ) in " ".join(r.output.split())
    full = CliRunner().invoke(
        app,
        ["calc", "--plan", str(ROOT / "templates" / "plans"), "--data", str(SAMPLE), "--period",
         "2026-Q2", "--out", str(tmp_path / "all"), "--formats", "csv"],
    )  # fmt: skip
    assert full.exit_code == 0 and "which has no file" not in full.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["estimate", "--plan", "templates/plans", "--rep", "R0016", "--as-of", "03/04/2026"],
         "--as-of '03/04/2026': write the date as YYYY-MM-DD"),
        (["estimate", "--plan", "templates/plans", "--rep", "R0016", "--attainment", "150"],
         "--attainment 150: a fraction of quota (1.2 = 120%), between 0 and 10"),
        (["replay", "--plan", "templates/plans/saas_ae.yaml", "--year", "2030"],
         "--year 2030 is after the data"),
        (["replay", "--plan", "templates/plans/saas_ae.yaml", "--year", "2025", "--tolerance",
          "-1"], "--tolerance must be a finite amount >= 0"),
    ],
)  # fmt: skip
def test_ambiguous_dates_percent_attainments_and_years_after_the_data_are_refused(args, message):
    """03/04/2026 was read as 4 March, 150 as 15,000%, a replay of 2030 called every row a
    match, and a negative tolerance made every exact payment an error."""
    r = CliRunner().invoke(app, [*args, "--data", str(SAMPLE)])
    assert r.exit_code == 1
    assert message in str(r.exception) + r.output


def test_spm_credit_exits_1_when_the_credit_does_not_add_up(tmp_path):
    """A split whose shares total 0.9 credits 90% of a deal: the reports are written and the
    run fails, so a pay run that checks the exit code stops (it exited 0)."""
    import shutil

    import pandas as pd

    company = tmp_path / "company"
    shutil.copytree(SAMPLE, company)
    splits = pd.read_csv(company / "splits.csv")
    first = splits["txn_id"].iloc[0]
    row = splits.index[splits["txn_id"] == first][0]
    splits.loc[row, "share"] = splits.loc[row, "share"] - 0.1
    splits.to_csv(company / "splits.csv", index=False)
    r = CliRunner().invoke(app, ["credit", str(company), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1
    assert "crediting does not conserve the transactions" in r.output
    assert (tmp_path / "out" / "conservation.csv").is_file()
    ok = CliRunner().invoke(app, ["credit", str(SAMPLE)])
    assert ok.exit_code == 0, ok.output
