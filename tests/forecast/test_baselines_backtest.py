"""Baselines and the rolling-origin backtest (baselines only: no PyMC compile here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.errors import SpmConfigError
from spm_model.forecast import BASELINES, SeasonalNaive, backtest, simulate_panel
from spm_model.forecast.backtest import default_cutoffs, score


@pytest.fixture(scope="module")
def panel():
    p, _ = simulate_panel(n_reps=10, n_months=30, n_regions=1, teams_per_region=2, seed=4)
    return p


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_forecast_every_active_rep(panel, name):
    cut = pd.Timestamp("2024-12-01")
    model = BASELINES[name](seed=1).fit(panel, cutoff=cut)
    d = model.predict(horizon=4, n_samples=200)
    assert d.dims == ("sample", "rep", "month") and d.shape[0] == 200 and d.shape[2] == 4
    assert pd.Timestamp(d.month.values[0]) == pd.Timestamp("2025-01-01")
    assert (d.values >= 0).all() and np.isfinite(d.values).all()
    active = panel[(panel.month == cut)].rep_id.unique()
    assert set(d.rep.values) <= set(active)
    np.testing.assert_array_equal(d.values, model.predict(horizon=4, n_samples=200).values)


def test_seasonal_naive_repeats_last_year_with_no_noise():
    months = pd.date_range("2022-01-01", periods=36, freq="MS")
    y = np.tile(np.arange(1.0, 13.0) * 100, 3)
    p = pd.DataFrame({"rep_id": "a", "month": months, "bookings": y})
    d = SeasonalNaive().fit(p).predict(horizon=14, n_samples=50)
    np.testing.assert_allclose(
        d.values[:, 0, :], np.tile(np.r_[np.arange(1.0, 13.0), 1, 2] * 100, (50, 1))
    )


def test_default_cutoffs_keep_a_year_of_history():
    # 24 months (2023-01 .. 2024-12), 6 ahead, 3 apart: 2024-06, 2024-03, then 2023-12 and
    # 2023-09, both before 2024-01 (a year after the first month): left out
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    p = pd.DataFrame({"rep_id": "a", "month": months, "bookings": 100.0})
    cuts = default_cutoffs(p, horizon=6, n_cutoffs=4)
    assert [f"{c:%Y-%m}" for c in cuts] == ["2024-03", "2024-06"]
    assert [f"{c:%Y-%m}" for c in default_cutoffs(p, horizon=6, n_cutoffs=2)] == [
        "2024-03",
        "2024-06",
    ]
    with pytest.raises(SpmConfigError, match="too short to backtest 13 months ahead"):
        default_cutoffs(p, horizon=13, n_cutoffs=4)


def test_backtest_of_a_short_panel_notes_the_cutoffs_it_left_out():
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    rng = np.random.default_rng(3)
    p = pd.DataFrame(
        {
            "rep_id": np.repeat(["a", "b"], 24),
            "month": np.tile(months, 2),
            "bookings": rng.gamma(20.0, 5.0, 48),
        }
    )
    notes: list[str] = []
    res = backtest(
        p, horizon=6, baselines=("seasonal_naive",), include_bayes=False, progress=notes.append
    )
    assert res.cutoffs == ["2024-03", "2024-06"]
    assert any("2 of 4 default cut-offs" in n for n in notes)


def test_score_only_counts_rep_months_that_happened(panel):
    d = SeasonalNaive(seed=0).fit(panel, cutoff="2024-12").predict(3, 100)
    fut = panel[panel.month > "2024-12-01"]
    fut = fut[~((fut.rep_id == d.rep.values[0]) & (fut.month == "2025-03-01"))]
    s = score(d, fut)
    assert len(s["crps"]) == len(fut[fut.rep_id.isin(d.rep.values) & (fut.month <= "2025-03-01")])


def test_backtest_table_of_baselines(panel):
    res = backtest(
        panel, horizon=3, n_cutoffs=2, include_bayes=False, config={"draws": 100, "chains": 2}
    )
    t = res.table
    assert list(t.index) == ["seasonal_naive", "ets", "sarimax"]
    for c in ("crps_rep", "wape_total", "mape_total", "coverage_50", "coverage_80", "coverage_95"):
        assert np.isfinite(t[c]).all()
    assert ((t.coverage_50 <= t.coverage_80) & (t.coverage_80 <= t.coverage_95)).all()
    # the nominal interval is never wider than the central one; its content is the level
    assert (t.coverage_nominal_80 <= t.coverage_80 + 1e-12).all()
    assert (t.content_80 >= 0.8 - 0.01).all()
    assert "nominal interval" in res.to_markdown()
    assert t.crps_vs_best_baseline.max() == pytest.approx(0.0)
    assert res.cutoffs == ["2024-12", "2025-03"]  # data end 2025-06, horizon 3, 3 months apart
    assert len(res.by_cutoff) == 6
    md = res.to_markdown()
    assert md.startswith("| model |") and "seasonal_naive" in md


def test_backtest_rejects_bad_settings(panel):
    with pytest.raises(SpmConfigError, match="unknown baseline"):
        backtest(panel, baselines=["prophet"], include_bayes=False)
    with pytest.raises(SpmConfigError, match="less than 12 months"):
        backtest(panel, cutoffs=["2023-06"], include_bayes=False)


def test_cli_backtest_baselines_on_the_sample_company(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from spm_model.cli import app

    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    out = tmp_path / "bt.md"
    args = ["forecast-backtest", "--data", str(sample), "--horizon", "3", "--n-cutoffs", "1"]
    args += [
        "--no-bayes",
        "--baselines",
        "seasonal_naive,sarimax",
        "--draws",
        "100",
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "cut-offs 2026-06" in res.output
    text = out.read_text()
    assert text.startswith("| model |") and "sarimax" in text and "bayes" not in text


def _trending_panel(months: int) -> pd.DataFrame:
    """One series growing 2% a month with a yearly pattern (multiplicative), no noise."""
    idx = pd.date_range("2019-01-01", periods=months, freq="MS")
    i = np.arange(months)
    y = 1000.0 * np.exp(0.02 * i + 0.3 * np.sin(2 * np.pi * idx.month.to_numpy() / 12))
    return pd.DataFrame({"rep_id": "a", "month": idx, "bookings": y})


def test_sarimax_follows_a_trend_from_three_years_of_history():
    from spm_model.forecast.baselines import AIRLINE_MIN_MONTHS, SARIMAXBaseline

    months = 60
    full = _trending_panel(months + 6)
    d = SARIMAXBaseline(seed=0).fit(full.iloc[:months]).predict(horizon=6, n_samples=400)
    med = np.median(d.sel(rep="a").values, axis=0)
    truth = full["bookings"].to_numpy()[months:]
    # the airline model carries the growth and the season on (an AR(1) around the mean
    # falls back towards the series' average: 2% below the truth a month out, 11% six out)
    np.testing.assert_allclose(med, truth, rtol=0.03)
    # a shorter series keeps the AR(1) + Fourier form, which reverts to its mean
    short = AIRLINE_MIN_MONTHS - 1
    d = SARIMAXBaseline(seed=0).fit(full.iloc[:short]).predict(horizon=6, n_samples=400)
    last = full["bookings"].to_numpy()[short : short + 6]
    assert (np.median(d.sel(rep="a").values, axis=0) < last).all()


def test_baseline_fits_print_no_statsmodels_warnings():
    """statsmodels' first import turns ConvergenceWarning on ("always"); a fresh process
    running the baselines on a small generated company must still print none of them."""
    import subprocess
    import sys

    code = (
        "from spm_model.data.synthetic import generate\n"
        "from spm_model.forecast.backtest import backtest\n"
        "ds = generate(n_reps=25, n_accounts=400, years=2, seed=902)\n"
        "backtest(ds, horizon=3, cutoffs=['2026-06'], baselines=['ets', 'sarimax'],"
        " include_bayes=False)\n"
        "print('done')\n"
    )
    r = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and "done" in r.stdout, r.stderr[-2000:]
    assert "ConvergenceWarning" not in r.stderr and "mlefit" not in r.stderr, r.stderr[-2000:]


def test_total_coverage_knows_whether_series_move_together():
    import xarray as xr

    from spm_model.forecast.backtest import _summarise

    # 10 series, 1 month; each series' draws are 100 + 10 z. Every series came in at 110 (a
    # shock all shared): each lies inside its own 80% interval (100 +/- 12.8), but the total
    # 1,100 lies inside the total's interval only when the draws move together
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4000, 10))
    month = pd.DatetimeIndex(["2025-01-01"])
    actual = pd.DataFrame({"rep_id": [f"r{i}" for i in range(10)], "month": month[0],
                           "bookings": 110.0})

    def scored(samples):
        d = xr.DataArray(samples[:, :, None], dims=("sample", "rep", "month"),
                         coords={"rep": [f"r{i}" for i in range(10)], "month": month})
        return _summarise([score(d, actual)])

    independent = scored(100.0 + 10.0 * z)
    together = scored(100.0 + 10.0 * np.repeat(z[:, :1], 10, axis=1))
    assert independent["coverage_80"] == together["coverage_80"] == 1.0
    assert independent["coverage_total_80"] == 0.0  # total 1,000 +/- 40: 1,100 is outside
    assert together["coverage_total_80"] == 1.0  # total 1,000 +/- 128
