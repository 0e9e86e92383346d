"""Presentation helpers of the HTML report: formatted tables, the summary, tidy axes, title."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spm_model.reports import plots, present
from spm_model.reports.figures import MIME_TYPE
from spm_model.reports.html import notebook_to_html


def test_scalars_are_formatted_for_readers():
    assert present.format_money(1234567.891, "USD") == "USD 1,234,568"
    assert present.format_money(1234567.891, "USD", decimals=2) == "USD 1,234,567.89"
    assert present.format_money(4_726_254, "USD", compact=True) == "USD 4.73M"
    assert present.format_money(-350_000, "EUR", compact=True) == "EUR -350k"
    assert present.format_money(12_013_042, None, compact=True) == "12.0M"
    assert present.format_money(float("nan"), "USD") == "-"
    assert present.format_percent(0.4217) == "42%"
    assert present.format_percent(134.9159, 1, points=True) == "134.9%"
    assert present.format_count(17716) == "17,716"
    assert present.format_date(pd.Timestamp("2026-09-30")) == "2026-09-30"
    assert present.format_date(None) == "-"


def test_report_table_headers_index_money_percent_and_blanks():
    df = pd.DataFrame(
        {
            "rep_id": ["R1", "R2"],
            "target_incentive": [1234567.5, np.nan],
            "p_reach_quota": [0.875, None],
            "earned_vs_target": [1.26, 0.49],
            "first_date": [pd.Timestamp("2026-01-01"), pd.NaT],
            "note": [None, "ok"],
            "done": [True, False],
        },
        index=[7, 3],
    )
    t = present.report_table(df, currency="USD")
    assert list(t.frame.columns) == [
        "Rep ID",
        "Target incentive (USD)",
        "P reach quota",
        "Earned vs target",
        "First date",
        "Note",
        "Done",
    ]
    assert t.frame.iloc[0].tolist() == ["R1", "1,234,568", "88%", "126%", "2026-01-01", "-", "yes"]
    assert t.frame.iloc[1].tolist() == ["R2", "-", "-", "49%", "-", "ok", "no"]
    html = t.to_html()
    for bad in ("NaN", "None", "NaT", ">7<", ">3<"):
        assert bad not in html  # no missing-value markers, no index
    assert html.split("<tbody>")[1].count('class="num"') == 2 * 3  # right-aligned numbers
    assert "<th" in html and "spm-table" in html


def test_report_table_overrides_columns_and_row_limit():
    df = pd.DataFrame({"plan_id": list("abcde"), "x_pct": [1.0, 2.5, 3, 4, 5.25]})
    t = present.report_table(
        df,
        kinds={"x_pct": "points"},
        headers={"plan_id": "Plan"},
        columns=["x_pct", "plan_id"],
        max_rows=2,
        note="Top two.",
    )
    assert list(t.frame.columns) == ["X %", "Plan"]
    assert t.frame["X %"].tolist() == ["1.0%", "2.5%"]
    assert t.note == "Top two. 3 more rows in the workbook."
    indexed = present.report_table(df.set_index("plan_id"), index=True)
    assert indexed.frame.columns[0] == "Plan ID"


def test_before_after_table_names_metrics():
    m = pd.DataFrame(
        {"before": [134.9, 0.55, 579.94], "after": [9.99, 0.07, 467.8]},
        index=["potential.max_dev_pct", "potential.cv", "odd.metric"],
    )
    t = present.before_after_table(m)
    assert t.frame["Metric"].tolist()[:2] == [
        "Worst gap from a fair share of potential",
        "Spread of potential (coefficient of variation)",
    ]
    assert t.frame.iloc[0, 1:].tolist() == ["134.9%", "10.0%"]
    assert t.frame.iloc[1, 1:].tolist() == ["55%", "7%"]
    assert t.frame.iloc[2, 1:].tolist() == ["579.94", "467.80"]


FIGURES = {
    "payable_total": 1387821.57,
    "statement_reps": 50,
    "comp_cost_p50": 4726254.04,
    "comp_cost_p90": 5048059.24,
    "comp_budget": 4441900.0,
    "comp_p_over_budget": 0.876,
    "comp_cost_year": "FY2027",
    "comp_cost_basis": "at the proposed quotas",
    "cost_of_sales": 0.0693,
    "share_expected_at_quota": 0.4217,
    "quota_year": 2027,
    "forecast_next_quarter_label": "2026-10 to 2026-12",
    "forecast_next_quarter_mean": 12013042.8,
    "forecast_next_quarter_p10": 9801228.9,
    "forecast_next_quarter_p90": 15662808.9,
    "territory_potential_dev_before_pct": 134.9,
    "territory_potential_dev_after_pct": 9.99,
    "territory_accounts_moved_pct": 14.9,
    "data_problems": 0,
}


def test_executive_summary_states_the_cfo_numbers_with_meanings():
    s = present.executive_summary(
        FIGURES, company="Northwind", period="2026-Q3", currency="USD", as_of="2026-09-30"
    )
    text = s.text()
    for expected in (
        "USD 1.39M",
        "USD 4.73M",
        "P90 USD 5.05M",
        "budget USD 4.44M",
        "88%",
        "6.9%",
        "42%",
        "USD 12.0M",
        "80% range USD 9.80M to USD 15.7M",
        "135% → 10%",
        "Comp cost FY2027, P50",
        "incentive cost of FY2027 at the proposed quotas",
    ):
        assert expected in text, expected
    assert all(h.meaning for h in s.headlines)
    tones = {h.label: h.tone for h in s.headlines}
    assert tones["Chance of going over budget"] == "bad"
    assert tones["Data problems"] == "good"
    html = s.to_html()
    assert html.count('<div class="spm-card ') == len(s.headlines) == 8
    assert "Northwind: sales compensation report, 2026-Q3" in html
    assert s.frame().shape == (8, 4)


def test_executive_summary_says_what_is_missing():
    s = present.executive_summary(
        {"payable_total": 10.0, "data_problems": 3},
        company="X",
        period="2026-Q1",
        currency="EUR",
        as_of="2026-03-31",
    )
    values = {h.label: h.value for h in s.headlines}
    assert values["Payable for 2026-Q1"] == "EUR 10"
    assert values["Data problems"] == "3"
    missing = [h for h in s.headlines if h.value == "-"]
    assert missing and all(h.meaning for h in missing)
    assert "nan" not in s.text().lower()


def test_cost_risk_sums_plans_scenario_by_scenario():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([4.0, 3.0, 2.0, 1.0])  # perfectly offsetting: the total is always 5
    r = present.cost_risk({"a": a, "b": b}, budget=4.5)
    assert r["p50"] == r["p90"] == r["mean"] == 5.0
    assert r["p_over_budget"] == 1.0
    assert present.cost_risk([a], budget=2.5)["p_over_budget"] == 0.5
    with pytest.raises(ValueError, match="different scenario counts"):
        present.cost_risk([a, a[:2]], budget=1)


def test_horizon_total_adds_reps_and_leading_months():
    months = pd.date_range("2026-10-01", periods=4, freq="MS")
    x = np.ones((100, 2, 4))
    x[:, 0, 3] = 1000.0  # the fourth month is outside a 3-month horizon
    draws = xr.DataArray(
        x, dims=("sample", "rep", "month"), coords={"month": months, "rep": ["a", "b"]}
    )
    out = present.horizon_total(draws, months=3)
    assert out == {"mean": 6.0, "low": 6.0, "high": 6.0, "label": "2026-10 to 2026-12"}


class _Diag:
    def __init__(self, r_hat: float, ess: float, div: int = 0):
        self.table = pd.DataFrame(
            {"r_hat": [r_hat], "ess_bulk": [ess], "ess_tail": [ess], "main": [True]},
            index=["trend"],
        )
        self.divergences, self.n_samples, self.sampler = div, 200, "pymc"
        self.max_r_hat = r_hat

    def main(self) -> pd.DataFrame:
        return self.table[self.table["main"]]


def test_convergence_table_is_a_sentence_not_a_log():
    ok = present.convergence_table(_Diag(1.001, 900))
    assert ok.frame["Result"].tolist() == ["passed"] * 4
    assert "All convergence checks passed" in ok.note
    bad = present.convergence_table(_Diag(1.08, 56, div=2), quick=True)
    assert bad.frame["Result"].tolist() == ["not met"] * 4
    assert "4 of 4 checks not met" in bad.note and "quick run" in bad.note
    assert "WARNING" not in bad.to_html()


def test_axes_show_units_without_offsets_and_readable_dates():
    fig, (a1, a2) = plt.subplots(1, 2)
    a1.scatter([1e7, 3e7], [1e6, 7e6])
    a1.set_xlabel("owned account potential (currency per year)")
    a1.set_ylabel("annual quota (currency)")
    plots.money_axis(a1, "x", "USD")
    plots.money_axis(a1, "y", "USD")
    fig.canvas.draw()
    assert a1.get_xlabel() == "owned account potential (USD per year)"
    assert a1.get_ylabel() == "annual quota (USD)"
    labels = [t.get_text() for t in a1.get_yticklabels()]
    assert any(lbl.endswith("M") for lbl in labels)
    assert not a1.yaxis.get_offset_text().get_visible() or not a1.yaxis.get_offset_text().get_text()
    months = pd.date_range("2024-10-01", periods=27, freq="MS")
    a2.plot(months, np.arange(27) * 1e6)
    plots.date_axis(a2)
    plots.no_offsets(a2)
    fig.canvas.draw()
    ticks = [t.get_text() for t in a2.get_xticklabels() if t.get_text()]
    assert 3 <= len(ticks) <= 9
    assert all(len(t) <= 8 for t in ticks)  # "2025", "Apr", not "2025-012025-04"
    a2.set_xlabel("attainment (fraction of quota)")
    plots.percent_axis(a2, "x")
    assert a2.get_xlabel() == "attainment (% of quota)"
    plt.close(fig)


def test_html_title_comes_from_the_recorded_report_title():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={MIME_TYPE: {"name": "report_title", "value": "Acme · 2026-Q3 report"}},
        ),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>hello</p>"}),
    ]
    nb.cells.append(cell)
    page = notebook_to_html(nb)
    assert "<title>Acme · 2026-Q3 report</title>" in page
    assert "<title>Other</title>" in notebook_to_html(nb, title="Other")


def test_the_first_screen_carries_its_caveats():
    """A forecast whose model failed its checks says so on its card (it was only in section 6);
    the territory card names the potential moved beside the accounts moved."""
    figs = {**FIGURES, "forecast_checks_passed": False, "territory_potential_moved_pct": 32.2}
    s = present.executive_summary(
        figs, company="Northwind", period="2026-Q3", currency="USD", as_of="2026-09-30"
    )
    cards = {h.label: h for h in s.headlines}
    fc = cards["New business forecast 2026-10 to 2026-12"]
    assert fc.tone == "warn" and "indicative only" in fc.detail
    assert "moving 15% of accounts (32% of potential)" in s.text()
    ok = present.executive_summary(
        {**FIGURES, "forecast_checks_passed": True},
        company="N",
        period="2026-Q3",
        currency="USD",
        as_of="2026-09-30",
    )
    assert "indicative" not in ok.text()
