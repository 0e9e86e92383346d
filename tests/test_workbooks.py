"""Every Excel workbook the package writes has the one writer's layout and formats (issue 15).

Opened with openpyxl: Summary sheet first, human headers (bold, no snake_case),
frozen header, autofilter, money columns in the currency, fractions as %, dates
without times.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from spm_model import calculate, load_dataset, load_plan
from spm_model.data.workbook import column_kind, human_header, write_workbook

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample():
    return load_dataset(ROOT / "data" / "sample")


def _header(ws) -> tuple[int, dict[str, int]]:
    """Header row (the frozen row above the first data row) and its columns."""
    row = ws.freeze_panes and int(ws.freeze_panes[1:]) - 1
    assert row, f"{ws.title}: no frozen header"
    cols = {c.value: c.column for c in ws[row] if c.value is not None}
    return row, cols


def check_workbook(
    path: Path,
    money: dict[str, list[str]] | None = None,
    percent: dict[str, list[str]] | None = None,
    dates: dict[str, list[str]] | None = None,
    currency: str | None = "USD",
) -> openpyxl.Workbook:
    """Assert the common layout, then the formats of the named columns per sheet."""
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Summary", wb.sheetnames
    for ws in wb.worksheets:
        row, cols = _header(ws)
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{row}:"), ws.title
        for name, j in cols.items():
            cell = ws.cell(row=row, column=j)
            assert cell.font.b, (ws.title, name)
            assert "_" not in str(name) or "[" in str(name), (ws.title, name)
            assert ws.column_dimensions[cell.column_letter].width >= 8
    for spec, expect in ((money, "#,##0.00"), (percent, "%"), (dates, "yyyy-mm-dd")):
        for sheet, names in (spec or {}).items():
            ws = wb[sheet]
            row, cols = _header(ws)
            for name in names:
                assert name in cols, (sheet, name, list(cols))
                values = [
                    c
                    for (c,) in ws.iter_rows(
                        min_row=row + 1, min_col=cols[name], max_col=cols[name]
                    )
                    if c.value is not None
                ]
                assert values, (sheet, name)
                for c in values[:50]:
                    assert expect in c.number_format, (sheet, name, c.number_format)
                    if spec is money and currency:
                        assert currency in c.number_format
                    if spec is dates:
                        assert c.value.time() == dt.time(0)  # a date, no time shown
    return wb


def test_writer_formats_by_column_meaning(tmp_path):
    df = pd.DataFrame(
        {
            "rep_id": ["R1", "R2"],
            "hire_date": pd.to_datetime(["2024-01-02", "2025-03-04"]),
            "payable": [1234.5, np.nan],
            "attainment": [1.07, 0.5],
            "p_reach_quota": [0.25, 0.75],
            "deals": [3, 4],
            "cost[saas_ae]": [10.0, 20.0],
        }
    )
    p = write_workbook(tmp_path / "w.xlsx", {"reps": df}, currency="EUR")
    wb = check_workbook(
        p,
        money={"reps": ["Payable", "Cost [saas_ae]"]},
        percent={"reps": ["Attainment", "P reach quota"]},
        dates={"reps": ["Hire date"]},
        currency="EUR",
    )
    ws = wb["reps"]
    assert [c.value for c in ws[1]][:3] == ["Rep ID", "Hire date", "Payable"]
    assert ws["C3"].value is None  # NaN is a blank cell, not "nan"
    assert ws["F2"].number_format == "#,##0"
    # the default Summary lists the contents
    summary = [[c.value for c in r] for r in wb["Summary"].iter_rows(min_row=2)]
    assert summary[0][:2] == ["reps", 2]


def test_column_meaning_and_headers():
    f = pd.Series([0.5])
    assert column_kind("share_target", f) == "percent"
    assert column_kind("rate", pd.Series([250.0])) == "number"  # not a fraction
    assert column_kind("quota", f) == "money" and column_kind("rep_id", f) == "number"
    assert column_kind("n_reps", pd.Series([3])) == "count"
    assert human_header("pct_of_target") == "% of target"
    assert human_header("ote") == "OTE"


def test_percent_points_and_rows_counted_in_units(tmp_path):
    """``*_pct`` columns hold percent points (10.0 is 10%): shown with a % sign, unscaled (a
    tolerance of 10 read 1000.0%); a money column's rows whose ``unit`` is not the currency
    (meetings) are plain numbers."""
    assert column_kind("potential_max_dev_pct_after", pd.Series([4.9])) == "points"
    assert column_kind("accounts_moved_pct", pd.Series([15.0])) == "points"
    assert column_kind("pct_of_target", pd.Series([0.5])) == "percent"
    terr = pd.DataFrame({"scope": ["East"], "potential_tolerance_pct": [10.0]})
    quota = pd.DataFrame(
        {
            "measure": ["new_business", "meetings"],
            "assigned": [1_000_000.0, 180.0],
            "unit": ["USD", "count"],
        }
    )
    p = write_workbook(tmp_path / "w.xlsx", {"territory": terr, "quota": quota}, currency="USD")
    wb = openpyxl.load_workbook(p)
    assert wb["territory"]["B2"].number_format == '0.0"%"'
    assert wb["quota"]["B2"].number_format == '#,##0.00 "USD"'
    assert wb["quota"]["B3"].number_format == "#,##0"


def test_report_workbook(tmp_path):
    from spm_model.reports import write_excel

    t = pd.DataFrame({"region": ["N"], "earned": [10.0], "attainment": [0.9]})
    p = write_excel(tmp_path / "r.xlsx", {"regions": t}, currency="USD")
    check_workbook(p, money={"regions": ["Earned"]}, percent={"regions": ["Attainment"]})


def test_statements_workbook(tmp_path, sample):
    from spm_model.calc.outputs import write_statements

    plan = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    res = calculate(plan, sample, "2025-Q3")
    out = write_statements(res, tmp_path, ("xlsx",))
    wb = check_workbook(
        out / "statements.xlsx",
        money={"Summary": ["Payable", "Earned", "Target incentive"]},
        percent={"Summary": ["Proration"]},
    )
    rep_sheet = wb.sheetnames[1]
    check_workbook(
        out / "statements.xlsx",
        money={rep_sheet: ["Credited", "Earned", "Quota"]},
        percent={rep_sheet: ["Attainment"]},
    )
    assert wb[rep_sheet]["A1"].value.startswith(res.summary["rep_id"].iloc[0])


def test_quota_workbook(tmp_path, sample):
    from spm_model.quota import set_quotas

    res = set_quotas(sample, 2026, "history", target=40e6)
    p = res.to_excel(tmp_path / "q.xlsx")
    check_workbook(p, money={"quotas": ["Amount"]}, currency=None)


def test_simulation_workbook(tmp_path, sample):
    from spm_model.crediting import credit_transactions
    from spm_model.simulate import from_dataset, simulate

    plan = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    model = from_dataset(sample, plan, credits=credit_transactions(sample))
    res = simulate(model, plan, 300, seed=1)
    p = res.to_excel(tmp_path / "s.xlsx")
    check_workbook(
        p,
        money={"Summary": ["Mean cost"], "scenarios": ["Cost [saas_ae]", "Revenue"]},
        percent={"scenarios": ["Share target"]},
    )


def test_performance_workbook(tmp_path, monkeypatch):
    from spm_model.cli import main

    out = tmp_path / "perf"
    argv = ["spm", "scorecards", "--data", str(ROOT / "data" / "sample"), "--period", "2026-Q3"]
    monkeypatch.setattr(sys, "argv", [*argv, "--out", str(out)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert not exc.value.code
    wb = check_workbook(out / "performance.xlsx", percent={"scorecards": ["Attainment"]})
    assert {"scorecards", "flags", "drivers", "leaderboards", "trends"} <= set(wb.sheetnames)
