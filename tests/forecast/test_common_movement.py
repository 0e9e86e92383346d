"""The state-space model's common movement: its density, the numpy mirror and its forecast."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=/tmp/pytensor_fc")

from spm_model.forecast import BookingsForecaster, ConvergenceWarning
from spm_model.forecast.kalman import INIT_LEVEL_SD, INIT_SLOPE_SD
from spm_model.forecast.model import make_design
from spm_model.forecast.panel import check_panel
from spm_model.forecast.statespace import (
    _drift,
    _offsets,
    build_ss_model,
    common_ahead,
    loglik_amounts,
    ss_data,
)


def _panel(n_series: int = 6, months: int = 36, shock: float = 0.0) -> pd.DataFrame:
    """Series with a shared seasonal pattern; ``shock``: a lasting drop all of them share."""
    rng = np.random.default_rng(7)
    idx = pd.date_range("2021-01-01", periods=months, freq="MS")
    common = np.where(np.arange(months) >= months - 9, -shock, 0.0)
    rows = []
    for r in range(n_series):
        level = 8.0 + 0.4 * r + np.cumsum(rng.normal(0, 0.02, months))
        y = level + 0.2 * np.sin(2 * np.pi * idx.month / 12) + common + rng.normal(0, 0.05, months)
        rows.append(pd.DataFrame({"rep_id": f"s{r}", "month": idx, "bookings": np.exp(y)}))
    return pd.concat(rows, ignore_index=True)


def _density(c: np.ndarray, h: float, q: np.ndarray, qb: float, phi: float, drift: float) -> float:
    """Gaussian log density of a path under a local linear trend plus noise (textbook filter).

    ``q`` (T,): the level noise's variance of the step out of each month.
    """
    a = np.array([0.0, drift])  # predicted level and slope
    P = np.diag([INIT_LEVEL_SD**2, INIT_SLOPE_SD**2])
    T = np.array([[1.0, 1.0], [0.0, phi]])
    ll = 0.0
    for y, q_t in zip(c, q, strict=True):
        f = P[0, 0] + h
        v = y - a[0]
        ll += -0.5 * (np.log(2 * np.pi * f) + v * v / f)
        k = P[:, 0] / f
        a = a + k * v
        P = P - np.outer(k, P[0, :])
        a = T @ a + np.array([0.0, (1.0 - phi) * drift])
        P = T @ P @ T.T + np.diag([q_t, qb])
    return ll


def _flat_path(n_s: int, n_t: int, h: float, q: float) -> dict[str, np.ndarray]:
    """Draws of a flat common path (zeros) with transient variance ``h``, level variance ``q``."""
    return {
        "common_month": np.zeros((n_s, n_t)),
        "sigma_common_month": np.full(n_s, np.sqrt(h)),
        "sigma_common_level": np.full(n_s, np.sqrt(q)),
        "sigma_common_slope": np.full(n_s, 1e-9),
        "phi_common": np.zeros(n_s),
        "drift": np.zeros(n_s),
    }


def test_common_movement_ahead_continues_a_straight_path():
    # a path rising 0.01 a month with no noise: the filtered slope is the drift and the draws
    # ahead go on rising by as much (tiny scales: the spread is nil)
    n_t = 48
    p = {
        "common_month": (0.01 * np.arange(n_t))[None].repeat(3, axis=0),
        "sigma_common_month": np.full(3, 1e-6),
        "sigma_common_level": np.full(3, 1e-6),
        "sigma_common_slope": np.full(3, 1e-6),
        "phi_common": np.full(3, 0.9),
        "drift": np.full(3, 0.01),
    }
    out = common_ahead(p, 4, np.random.default_rng(0))
    np.testing.assert_allclose(out, 0.01 * np.arange(n_t, n_t + 4)[None].repeat(3, 0), atol=1e-4)


def test_common_movement_ahead_spreads_as_its_noises_say():
    # a flat path (zeros) and no slope: month j ahead spreads with the filtered level's
    # variance, j level steps and the transient
    n_t, n_s = 120, 40_000
    h, q = 0.03**2, 0.02**2
    p = _flat_path(n_s, n_t, h, q)
    out = common_ahead(p, 6, np.random.default_rng(1))
    # steady-state predicted variance of a local level: P = q/2 + sqrt(q^2/4 + q h)
    pv = q / 2 + np.sqrt(q * q / 4 + q * h)
    expect = np.sqrt(pv + np.arange(6) * q + h)
    np.testing.assert_allclose(out.std(axis=0), expect, rtol=0.03)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=0.003)


def test_common_movement_ahead_keeps_the_cut_off_blocks_level_noise():
    # the past months' level noise four times as large as the cut-off block's: the spread
    # ahead is the cut-off block's
    n_t, n_s = 120, 40_000
    h, q = 0.03**2, 0.02**2
    mult = np.ones((n_s, n_t))
    mult[:, : n_t - 6] = 16.0
    p = _flat_path(n_s, n_t, h, q)
    wide = common_ahead(p, 6, np.random.default_rng(1), mult).std(axis=0)
    calm = common_ahead(p, 6, np.random.default_rng(1)).std(axis=0)
    steps = np.diff(wide**2)
    np.testing.assert_allclose(steps, q, rtol=0.15)
    assert wide[0] > calm[0]  # the filtered level is less sure after the wide months


def test_series_net_of_the_common_movement_follow_it_in_the_numpy_mirror():
    s = ss_data(make_design(check_panel(_panel())))
    rng = np.random.default_rng(2)
    n_r, n_t = len(s.init_level), len(s.fiscal_month)
    base = {
        "season": rng.normal(0, 0.1, (1, 12)),
        "ramp_tau": np.array([3.0]),
        "lag12": np.array([0.1]),
        "log_sigma": np.log(0.1) + 0.2 * rng.normal(0, 1, (1, n_r)),
        "log_sigma_level": np.log(0.03) + 0.3 * rng.normal(0, 1, (1, n_r)),
        "phi": np.array([0.85]),
        "drift": np.array([0.004]),
        "nu": np.array([7.0]),
    }
    path = 0.05 * np.sin(np.arange(n_t) / 4.0)[None]
    with_common = {**base, "common_month": path}
    diff = _offsets(with_common, s) - _offsets(base, s)
    np.testing.assert_allclose(diff, np.broadcast_to(path[:, None, :], diff.shape))
    # the long-run drift is the common movement's: the series' slopes revert to zero, or to
    # their own deviations from it
    assert _drift(with_common).tolist() == [[0.0]]
    per_series = {**with_common, "drift_rep": np.array([[0.004, 0.006, 0.001, 0.0, 0.0, 0.0]])}
    np.testing.assert_allclose(_drift(per_series), [[0.0, 0.002, -0.003, -0.004, -0.004, -0.004]])
    assert np.isfinite(loglik_amounts(with_common, s, "student_t")).all()


@pytest.mark.slow
def test_the_graph_agrees_with_the_numpy_mirror_and_the_textbook_density():
    model = build_ss_model(make_design(check_panel(_panel())), hurdle=False, common_movement=True)
    s = model.spm_ss
    rng = np.random.default_rng(4)
    point = {k: v + 0.05 * rng.normal(size=np.shape(v)) for k, v in model.initial_point().items()}
    point["common_free"] = 0.03 * rng.normal(size=point["common_free"].shape)
    names = [
        "season", "season_rep", "ramp_tau", "lag12", "business_days", "easter", "log_sigma",
        "log_sigma_level", "noise_regime", "level_regime", "phi", "drift", "nu",
        "common_month", "sigma_common_month", "sigma_common_level", "sigma_common_slope",
        "phi_common", "log_bookings_loglik", "common_month_prior",
    ]  # fmt: skip
    names = [n for n in names if n in model.named_vars]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
    vals = dict(zip(names, fn(point), strict=True))
    draw = {k: np.asarray(v)[None] for k, v in vals.items()}
    assert loglik_amounts(draw, s, "student_t")[0] == pytest.approx(
        float(vals["log_bookings_loglik"]), rel=1e-9
    )
    c = np.asarray(vals["common_month"])
    # each month of the year's mean of the path is zero
    for m in range(12):
        assert abs(c[s.fiscal_month == m].mean()) < 1e-12
    # the level noise follows the series' level regimes (shared with the observation noise's
    # walk on a panel of six series)
    assert "level_regime" not in vals
    mult = np.exp(2.0 * np.asarray(vals["noise_regime"])[s.regime_block])
    assert mult.std() > 0.01
    expect = _density(
        c,
        float(vals["sigma_common_month"]) ** 2,
        float(vals["sigma_common_level"]) ** 2 * mult,
        float(vals["sigma_common_slope"]) ** 2,
        float(vals["phi_common"]),
        float(vals["drift"]),
    )
    assert float(vals["common_month_prior"]) == pytest.approx(expect, rel=1e-9)


@pytest.mark.slow
def test_a_fit_with_the_common_movement_forecasts_every_series_after_a_shared_drop():
    panel = _panel(n_series=8, months=48, shock=0.4)
    cfg = dict(model="state_space", common_movement="on", draws=300, tune=300, chains=2, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fc = BookingsForecaster(**cfg).fit(panel)
    post = fc.idata_.posterior
    assert post["common_month"].sizes["month"] == 48
    # the drop all series shared is in the common path: its last 9 months sit about 0.4 below
    # the months before (each month of the year's mean is zero, so compare the two stretches)
    c = post["common_month"].mean(("chain", "draw")).to_numpy()
    assert c[-9:].mean() - c[-21:-9].mean() == pytest.approx(-0.4, abs=0.12)
    d = fc.predict(3)
    assert sorted(d.rep.values) == sorted(panel.rep_id.unique())
    # the forecast starts from the level after the drop: the same months a year earlier
    # (before it) times exp(-0.4), within 15%
    year_ago = panel[panel.month.isin(pd.DatetimeIndex(d.month.values) - pd.DateOffset(years=1))]
    ratio = float(d.median("sample").sum("rep").sum()) / (year_ago.bookings.sum() * np.exp(-0.4))
    assert ratio == pytest.approx(1.0, abs=0.15)


def test_the_option_builds_the_path_for_panels_of_five_series_or_more_and_the_cli_checks_it():
    from typer.testing import CliRunner

    from spm_model.cli import app
    from spm_model.errors import SpmConfigError
    from spm_model.forecast.config import ForecastConfig
    from spm_model.forecast.estimator import build_configured_model

    on = ForecastConfig(common_movement="on")
    assert ForecastConfig().common_movement == "off"
    for n, expect in ((6, True), (4, False)):
        design = make_design(check_panel(_panel(n_series=n)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = set(build_configured_model(design, on, "state_space", True).named_vars)
        assert ({"common_month", "sigma_common_level", "phi_common"} <= names) is expect, n
    with pytest.raises(SpmConfigError, match="common_movement"):
        BookingsForecaster(common_movement="sometimes")
    res = CliRunner().invoke(
        app,
        ["forecast-backtest", "--data", "data/sample", "--no-bayes", "--common-movement", "x"],
    )
    assert res.exit_code == 1
    assert "common_movement" in str(res.exception) + res.output
