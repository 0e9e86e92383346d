"""The panel's common index: estimate, split, recombine, and the forecaster that uses it."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=/tmp/pytensor_fc")

from spm_model.forecast import BookingsForecaster, ConvergenceWarning, ForecastConfig
from spm_model.forecast.common_index import (
    INDEX_SERIES,
    combine_draws,
    common_share,
    estimate_log_index,
    split_panel,
    with_index_fit,
)
from spm_model.forecast.config import AUTO_COMMON_INDEX_MIN_SHARE
from spm_model.forecast.diagnostics import Diagnostics
from spm_model.forecast.estimator import prepare_panel
from spm_model.forecast.model import make_design
from spm_model.forecast.panel import check_panel
from spm_model.forecast.statespace import build_ss_model


def _shared_panel(n_series: int = 8, n_months: int = 72, common_sd: float = 0.08, seed: int = 3):
    """Series that share a random-walk index (``common_sd`` a month) plus their own noise."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2019-01-01", periods=n_months, freq="MS")
    index = np.cumsum(rng.normal(0, common_sd, n_months))
    rows = []
    for r in range(n_series):
        own = np.cumsum(rng.normal(0, 0.02, n_months)) + rng.normal(0, 0.05, n_months)
        y = np.exp(8.0 + 0.4 * r + 0.25 * np.sin(2 * np.pi * months.month / 12) + index + own)
        rows.append(pd.DataFrame({"rep_id": f"s{r}", "month": months, "bookings": y}))
    return pd.concat(rows, ignore_index=True), pd.Series(index, index=months)


def test_two_way_fit_recovers_the_month_effects_of_an_unbalanced_panel():
    # log y = a[r] + c[t] exactly; rows missing, a zero month and a NaN month left out
    months = pd.date_range("2024-01-01", periods=5, freq="MS")
    c = np.array([0.0, 0.5, -0.2, 0.3, 1.0])
    a = {"x": 2.0, "y": 4.0, "z": 3.0}
    rows = [(r, m, np.exp(a[r] + c[i])) for r in a for i, m in enumerate(months)]
    p = pd.DataFrame(rows, columns=["rep_id", "month", "bookings"])
    p = p.drop(index=[1, 7]).reset_index(drop=True)  # x's February, y's March absent
    p.loc[(p.rep_id == "z") & (p.month == months[4]), "bookings"] = 0.0
    p.loc[(p.rep_id == "z") & (p.month == months[0]), "bookings"] = np.nan
    got = estimate_log_index(p)
    np.testing.assert_allclose(got.to_numpy(), c - c.mean(), atol=1e-9)
    assert list(got.index) == list(months)
    assert abs(got.mean()) < 1e-12


def test_split_panel_divides_by_the_index_and_leaves_zero_and_missing_months_alone():
    months = pd.date_range("2024-01-01", periods=3, freq="MS")
    p = pd.DataFrame(
        {
            "rep_id": ["a"] * 3 + ["b"] * 3,
            "month": list(months) * 2,
            "bookings": [100.0, 200.0, 0.0, 50.0, np.nan, 80.0],
            "team": "T",
            "region": "R",
        }
    )
    p.attrs["currency"] = "USD"
    log_index = pd.Series([0.0, np.log(2.0), np.log(0.5)], index=months)
    net, idx = split_panel(p, log_index)
    np.testing.assert_allclose(net["bookings"], [100.0, 100.0, 0.0, 50.0, np.nan, 160.0])
    assert list(idx["rep_id"].unique()) == [INDEX_SERIES]
    np.testing.assert_allclose(idx["bookings"], [1.0, 2.0, 0.5])
    assert idx.attrs["currency"] == "USD" and (idx["team"] == "T").all()
    assert p["bookings"].iloc[1] == 200.0  # the input is not changed


def test_common_share_reads_a_shared_movement_and_not_independent_series():
    shared, _ = _shared_panel(common_sd=0.08)
    independent, _ = _shared_panel(common_sd=0.0)
    assert common_share(shared) > 0.5
    assert common_share(independent) < AUTO_COMMON_INDEX_MIN_SHARE
    one = shared[shared.rep_id == "s0"]
    assert common_share(one) == 0.0  # one series: nothing to share


def test_combine_draws_pairs_each_sample_with_one_index_draw_reproducibly():
    net = np.ones((4, 2, 3))
    index = np.arange(1.0, 31.0).reshape(10, 3)  # 10 index samples x 3 months
    a = combine_draws(net, index, np.random.default_rng(7))
    b = combine_draws(net, index, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 2, 3)
    # each sample is one whole index path, the same for both series, and no path twice
    rows = [tuple(a[s, 0]) for s in range(4)]
    assert all(r in {tuple(x) for x in index} for r in rows) and len(set(rows)) == 4
    np.testing.assert_array_equal(a[:, 0], a[:, 1])
    # fewer index samples than samples: drawn with replacement
    c = combine_draws(np.ones((6, 1, 3)), index[:2], np.random.default_rng(1))
    assert {tuple(x) for x in c[:, 0]} <= {tuple(x) for x in index[:2]}


def test_diagnostics_of_both_fits_are_checked_together():
    def diag(names, ess, div, earlier=()):
        t = pd.DataFrame(
            {"r_hat": 1.0, "ess_bulk": ess, "ess_tail": ess, "mcse_mean": 0.0, "main": True},
            index=names,
        )
        return Diagnostics(t, div, 2000, 10.0, "nutpie", tuple(earlier))

    both = with_index_fit(diag(["phi"], 900.0, 1), diag(["phi", "nu"], 150.0, 2, ["draws 1"]))
    assert list(both.table.index) == ["phi", f"{INDEX_SERIES}: phi", f"{INDEX_SERIES}: nu"]
    assert both.divergences == 3 and both.sampling_seconds == 20.0
    assert both.earlier_fits == (f"{INDEX_SERIES}: draws 1",)
    assert any(f"{INDEX_SERIES}: phi" in p for p in both.problems())


def test_common_index_setting_resolves_by_share_and_series():
    assert ForecastConfig().common_index == "off"  # the default: see the user guide
    auto = ForecastConfig(common_index="auto")
    assert auto.resolved_common_index(46, 0.29)
    assert not auto.resolved_common_index(46, 0.03)
    assert not auto.resolved_common_index(6, 0.9)  # a few series: their index is mostly noise
    assert ForecastConfig(common_index="on").resolved_common_index(2, 0.0)
    assert not ForecastConfig(common_index="on").resolved_common_index(1, 0.0)
    assert not ForecastConfig(common_index="off").resolved_common_index(46, 0.9)


def test_a_single_series_has_no_deviations_from_the_shared_season():
    _, index = _shared_panel()
    one = pd.DataFrame({"rep_id": "i", "month": index.index, "bookings": np.exp(index.values)})
    model = build_ss_model(make_design(check_panel(one)), "student_t", hurdle=False)
    names = {v.name for v in model.free_RVs}
    assert "season" in names and "sigma_season_rep" not in names


@pytest.mark.slow
def test_forecaster_splits_off_a_shared_index_and_forecasts_on_the_original_scale():
    panel, _ = _shared_panel(n_series=6, n_months=60)
    cfg = dict(model="state_space", sampler="pymc", draws=60, tune=60, chains=2, seed=5,
               common_index="on")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = BookingsForecaster(**cfg).fit(panel)
        b = BookingsForecaster(**cfg).fit(panel)
    assert a.log_index_ is not None
    assert BookingsForecaster().log_index_ is None  # not fitted: no index
    assert a.common_share_ > AUTO_COMMON_INDEX_MIN_SHARE
    assert a.index_forecaster_.design_.reps == [INDEX_SERIES]
    assert any(str(n).startswith(INDEX_SERIES) for n in a.diagnostics_.table.index)
    # the model sees the series net of the index; what it returns is on the panel's scale
    last = panel[panel.month == panel.month.max()].set_index("rep_id")["bookings"]
    draws = a.predict(3)
    ratio = draws.isel(month=0).median("sample").to_series() / last
    assert ratio.between(0.6, 1.6).all()
    np.testing.assert_array_equal(draws.values, b.predict(3).values)  # same seed, same draws
    obs = a.observed_bookings()
    np.testing.assert_allclose(obs, make_design(prepare_panel(panel)).y, rtol=1e-9)
    rep = a.predict_in_sample(max_samples=50)
    assert rep.shape == (50, len(obs))
    assert 0.5 < np.median(rep, axis=0).sum() / obs.sum() < 2.0
