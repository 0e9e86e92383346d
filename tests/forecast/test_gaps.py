"""Real panels: missing months are gaps (not zeros, not errors), on calendar months everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.errors import SpmDataError
from spm_model.forecast import BASELINES, SeasonalNaive, backtest, check_panel
from spm_model.forecast.baselines import ETSBaseline, SARIMAXBaseline, active_reps
from spm_model.forecast.panel import calendar_series


def _panel(months: int = 36, drop: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Two series with a clear yearly pattern; ``drop`` removes months of a series."""
    idx = pd.date_range("2021-01-01", periods=months, freq="MS")
    rows = []
    for rep, scale in (("a", 100.0), ("b", 1000.0)):
        for i, m in enumerate(idx):
            season = 10.0 + 3.0 * np.sin(2 * np.pi * m.month / 12)
            rows.append({"rep_id": rep, "month": m, "bookings": scale * season + i})
    p = pd.DataFrame(rows)
    for rep, ms in (drop or {}).items():
        p = p[~((p.rep_id == rep) & p.month.isin(pd.to_datetime(ms)))]
    return p.reset_index(drop=True)


def test_empty_bookings_cells_are_missing_months_not_zeros_or_errors():
    p = _panel(12)
    p["bookings"] = p["bookings"].astype(object)
    p.loc[3, "bookings"] = np.nan
    p.loc[4, "bookings"] = ""
    p.loc[5, "bookings"] = None
    out = check_panel(p)
    assert len(out) == len(p) - 3
    assert not (out["bookings"] == 0).any()
    assert out.attrs["missing_months"] == 3
    months, y = calendar_series(out, "a")
    assert (
        len(months) == 12 and np.isnan(y[3:6]).all() and np.isfinite(np.delete(y, [3, 4, 5])).all()
    )
    # text that is not a number is still an error, with its row
    p.loc[6, "bookings"] = "twelve"
    with pytest.raises(SpmDataError, match="row 8"):
        check_panel(p)


def test_a_series_with_no_observed_month_is_an_error_not_silently_dropped():
    p = _panel(3)
    p.loc[p.rep_id == "b", "bookings"] = np.nan
    with pytest.raises(SpmDataError, match="no observed month"):
        check_panel(p)


def test_series_whose_cutoff_month_is_missing_are_forecast():
    p = check_panel(_panel(36, drop={"a": ["2023-11-01", "2023-12-01"]}))
    tab = active_reps(p, pd.Timestamp("2023-12-01"))
    assert tab["active"].all()
    for name in sorted(BASELINES):
        d = BASELINES[name](seed=1).fit(p).predict(horizon=3, n_samples=50)
        assert list(d.rep.values) == ["a", "b"], name
        assert pd.Timestamp(d.month.values[0]) == pd.Timestamp("2024-01-01")
        assert np.isfinite(d.values).all()
    # an end date before the forecast months is a series that ended: not forecast
    p2 = p.copy()
    p2.loc[p2.rep_id == "a", "end_date"] = pd.Timestamp("2023-10-31")
    d = SeasonalNaive().fit(p2).predict(horizon=2, n_samples=10)
    assert list(d.rep.values) == ["b"]


def test_seasonal_naive_takes_the_same_calendar_month_after_a_gap():
    # a gap in the middle: rows are no longer months, "12 rows back" would be the wrong month
    # (year-on-year changes of these series are exactly +12)
    p = _panel(36, drop={"a": ["2023-03-01", "2023-04-01", "2023-05-01"]})
    d = SeasonalNaive(seed=0).fit(p).predict(horizon=3, n_samples=20)
    med = np.median(d.sel(rep="a").values, axis=0)
    a = p[p.rep_id == "a"].set_index("month")["bookings"]
    # Jan and Feb from a year back; March 2023 is missing, so March 2022
    back = pd.to_datetime(["2023-01-01", "2023-02-01", "2022-03-01"])
    np.testing.assert_allclose(med, a[back].to_numpy() + 12.0)
    # the same month last year missing: the same month two years back
    p = _panel(36, drop={"a": ["2023-01-01"]})
    d = SeasonalNaive(seed=0).fit(p).predict(horizon=1, n_samples=20)
    a = p[p.rep_id == "a"].set_index("month")["bookings"]
    assert np.median(d.sel(rep="a").values) == pytest.approx(a[pd.Timestamp("2022-01-01")] + 12.0)


@pytest.mark.parametrize("cls", [ETSBaseline, SARIMAXBaseline])
def test_state_space_baselines_follow_the_calendar_through_gaps(cls):
    truth = _panel(50).set_index(["rep_id", "month"])["bookings"]
    gappy = _panel(48, drop={"b": ["2022-06-01", "2022-07-01", "2024-12-01"]})
    d = cls(seed=3).fit(gappy).predict(horizon=2, n_samples=300)
    assert pd.Timestamp(d.month.values[0]) == pd.Timestamp("2025-01-01")
    got = np.median(d.sel(rep="b").values, 0)
    want = truth.loc["b"].loc[d.month.values].to_numpy()
    # the fit through the gaps still knows the seasonal position (a shifted season is 30% off)
    np.testing.assert_allclose(got, want, rtol=0.05)


def test_backtest_scores_gappy_panels_and_reports_scaled_crps():
    p = _panel(36, drop={"a": ["2022-12-01", "2023-06-01"], "b": ["2023-03-01"]})
    res = backtest(
        p,
        horizon=3,
        cutoffs=["2023-06", "2023-09"],
        baselines=("seasonal_naive", "ets"),
        include_bayes=False,
        config={"draws": 50, "chains": 2},
    )
    t = res.table
    assert np.isfinite(t["crps_scaled"]).all() and (t["crps_scaled"] > 0).all()
    # 2023-06 cut-off: rep a's cut-off month is missing and it is still scored
    by = res.by_cutoff.set_index(["model", "cutoff"])
    assert by.loc[("seasonal_naive", "2023-06"), "n_rep_months"] == 6
    assert "scaled CRPS" in res.to_markdown()


def test_cli_backtest_takes_a_panel_file(tmp_path):
    from typer.testing import CliRunner

    from spm_model.cli import app

    p = _panel(36, drop={"a": ["2023-06-01"]})
    p.loc[len(p)] = {"rep_id": "a", "month": pd.Timestamp("2023-06-01"), "bookings": np.nan}
    f = tmp_path / "panel.csv"
    p.to_csv(f, index=False)
    args = ["forecast-backtest", "--data", str(f), "--cutoffs", "2023-03,2023-06", "--horizon", "6"]
    args += ["--no-bayes", "--baselines", "seasonal_naive,ets,sarimax", "--draws", "50"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "cut-offs 2023-03, 2023-06; horizon 6 months" in res.output
    header = next(line for line in res.output.splitlines() if line.startswith("| model"))
    for col in ("scaled CRPS", "WAPE total", "50% cover", "80% cover", "95% cover"):
        assert col in header


def test_stacked_forecast_weights_come_from_earlier_cutoffs_only():
    from spm_model.forecast.backtest import _simplex_grid, mixture_draws

    g = _simplex_grid(3)
    assert len(g) == 66 and np.allclose(g.sum(axis=1), 1.0)
    p = _panel(48)
    res = backtest(
        p,
        horizon=3,
        cutoffs=["2023-06", "2023-09", "2023-12", "2024-03"],
        baselines=("seasonal_naive", "ets"),
        include_bayes=False,
        config={"draws": 100, "chains": 2},
        stack=True,
    )
    assert "stacked" in res.table.index
    w = res.details["stack_weights"]
    # the first cut-off has no earlier outcome: equal weights
    np.testing.assert_allclose(w["2023-06"].to_numpy(), 0.5)
    for tab in w.values():
        np.testing.assert_allclose(tab.sum(axis=1), 1.0)
    # the stacked score is never far from the better of its parts on this smooth panel
    t = res.table
    assert t.loc["stacked", "crps_scaled"] <= t.loc[["seasonal_naive", "ets"], "crps_scaled"].max()
    # a mixture with all the weight on one model is that model's forecast
    d1 = SeasonalNaive(seed=0).fit(p, cutoff="2023-06").predict(3, 50)
    d2 = ETSBaseline(seed=0).fit(p, cutoff="2023-06").predict(3, 50)
    mixed = mixture_draws({"a": d1, "b": d2}, np.array([[1.0, 0.0]] * 3))
    np.testing.assert_array_equal(mixed.values, d1.values)
