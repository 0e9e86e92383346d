"""State-space (Kalman-filtered local trend) forecaster: gradient, filter, fit, reproducibility."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=/tmp/pytensor_fc")

from spm_model.forecast import BookingsForecaster, ConvergenceWarning
from spm_model.forecast.kalman import kalman_loglik_grad
from spm_model.forecast.model import fiscal_month_index, make_design
from spm_model.forecast.panel import check_panel
from spm_model.forecast.statespace import _offsets, loglik_amounts, run_filter, ss_data

pytestmark = pytest.mark.slow  # long: `make test-slow` (CI runs it too)


def _filter_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    n_r, n_t = 3, 20
    e = rng.normal(size=(n_r, n_t)).cumsum(1) * 0.1 + 5
    mask = (rng.random((n_r, n_t)) > 0.2).astype(float)
    # noise variances by rep and month (a shared regime multiplier varying over the months)
    regime = np.exp(0.3 * np.sin(np.arange(n_t) / 3.0))[None, :]
    h = np.array([0.04, 0.09, 0.02])[:, None] * regime
    ql = np.array([0.003, 0.001, 0.005])[:, None] * regime**0.5
    drift = np.array([0.002, -0.001, 0.004])  # per series
    return [e, mask, h, ql, 1e-3, 0.9, drift, 6.0], e[:, 0].copy()


def _weight(n_t: int = 20) -> np.ndarray:
    """Discounted likelihood weights (half-life 8 months)."""
    return 0.5 ** ((n_t - 1 - np.arange(n_t)) / 8.0)


#: month of the year of the 20 test months (from March), for the seasonal adjustment
_FM = (np.arange(20) + 2) % 12


@pytest.mark.parametrize("gain", [0.0, 0.15])
@pytest.mark.parametrize(("student", "robust"), [(True, False), (False, False), (True, True)])
def test_kalman_gradient_matches_finite_differences(student, robust, gain):
    args, init = _filter_inputs()
    if robust:
        args[0] = args[0].copy()
        args[0][1, 7] += 1.5  # an outlier, which the robust update hardly follows
        args[7] = 3.5  # heavy tails
    args = [*args, gain]  # the seasonal adjustment's gain, last

    def kernel(*a):
        return kalman_loglik_grad(*a[:8], init, student, _weight(), _FM, a[8], True, robust)

    res = kernel(*args)
    if gain == 0.0:
        # a fixed pattern (no adjustment computed) has the same likelihood and no gain derivative
        fixed = kalman_loglik_grad(*args[:8], init, student, _weight(), _FM, 0.0, False, robust)
        assert fixed[0] == pytest.approx(res[0], rel=1e-13)
        assert fixed[8] == 0.0 != res[8]
    names = {0: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8}  # argument -> output position
    for i, out in names.items():
        if i == 7 and not student:
            continue
        x = np.atleast_1d(np.asarray(args[i], dtype=float))
        num = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):
            hi, lo = list(args), list(args)
            step = 1e-6 * max(1.0, abs(x[idx]))
            xp, xm = x.copy(), x.copy()
            xp[idx] += step
            xm[idx] -= step
            hi[i] = xp if np.ndim(args[i]) else float(xp[0])
            lo[i] = xm if np.ndim(args[i]) else float(xm[0])
            num[idx] = (kernel(*hi)[0] - kernel(*lo)[0]) / (2 * step)
        np.testing.assert_allclose(np.atleast_1d(res[out]), num, rtol=1e-4, atol=1e-6)


def _panel() -> pd.DataFrame:
    """Six series over three years; one with a gap, one whose cut-off month is missing."""
    rng = np.random.default_rng(5)
    months = pd.date_range("2022-01-01", periods=36, freq="MS")
    rows = []
    for r in range(6):
        level = 10.0 + r * 0.3 + np.cumsum(rng.normal(0, 0.03, 36))
        y = np.exp(level + 0.2 * np.sin(2 * np.pi * months.month / 12) + rng.normal(0, 0.1, 36))
        rows.append(pd.DataFrame({"rep_id": f"r{r}", "month": months, "bookings": y}))
    p = pd.concat(rows, ignore_index=True)
    p.loc[(p.rep_id == "r1") & p.month.isin(months[10:13]), "bookings"] = np.nan
    p = p[~((p.rep_id == "r2") & (p.month == months[-1]))]
    return p.reset_index(drop=True)


@pytest.mark.parametrize("level_regime", ["shared", "own", "none"])
def test_numpy_filter_equals_the_graphs_kernel(level_regime, monkeypatch):
    from spm_model.forecast import statespace

    monkeypatch.setattr(statespace, "LEVEL_REGIME", level_regime)
    p = check_panel(_panel())
    s = ss_data(make_design(p))
    rng = np.random.default_rng(1)
    n_r = len(s.init_level)
    draw = {
        "season": rng.normal(0, 0.1, (1, 12)),
        "sigma_season_rep": np.array([0.05]),
        "season_rep": 0.05 * rng.normal(0, 1, (1, n_r, 12)),
        "ramp_tau": np.array([3.0]),
        "lag12": np.array([0.1]),
        "log_sigma_mean": np.array([np.log(0.1)]),
        "log_sigma_sd": np.array([0.2]),
        "log_sigma": np.log(0.1) + 0.2 * rng.normal(0, 1, (1, n_r)),
        "log_sigma_level_mean": np.array([np.log(0.03)]),
        "log_sigma_level_sd": np.array([0.3]),
        "log_sigma_level": np.log(0.03) + 0.3 * rng.normal(0, 1, (1, n_r)),
        "sigma_slope": np.array([0.004]),
        "phi": np.array([0.85]),
        "drift": np.array([0.001]),
        "nu": np.array([7.0]),
    }
    drift = np.full(n_r, 0.001)
    if level_regime == "none":
        # each series its own long-run slope (statespace.DRIFT_PER_SERIES)
        draw["drift_rep"] = 0.001 + 0.002 * np.sin(np.arange(n_r))[None, :]
        drift = draw["drift_rep"][0]
    # the shared noise regime: blocks of months back from the cut-off, the last block at zero
    n_b = int(s.regime_block.max()) + 1
    assert s.regime_months and n_b == (36 - 1) // s.regime_months + 1 >= 3
    draw["noise_regime"] = np.concatenate([[0.0], 0.3 * np.sin(np.arange(1, n_b))])[None]
    draw["sigma_noise_regime"] = np.array([0.2])
    e = s.grid.log_y - _offsets(draw, s)[0]
    mult = np.exp(2 * draw["noise_regime"][0, s.regime_block])[None, :]
    lmult = mult if level_regime == "shared" else np.ones_like(mult)
    if level_regime == "none":
        # an own walk that stays at zero: a constant level noise (a posterior without
        # `level_regime` shares the observation noise's walk)
        n_b0 = int(s.regime_block.max()) + 1
        draw["level_regime"] = np.zeros((1, n_b0))
    if level_regime == "own":
        # the level noise's own walk
        draw["level_regime"] = np.concatenate([[0.0], 0.5 * np.cos(np.arange(1, n_b))])[None]
        draw["sigma_level_regime"] = np.array([0.3])
        lmult = np.exp(2 * draw["level_regime"][0, s.regime_block])[None, :]
    h = np.exp(2 * draw["log_sigma"][0])[:, None] * mult
    ql = np.exp(2 * draw["log_sigma_level"][0])[:, None] * lmult
    cases = [("student_t", 0.0), ("normal", 0.0), ("student_t", 0.1), ("normal", 0.2)]
    for lik, gain, robust in [(*c, False) for c in cases] + [(*c, True) for c in cases]:
        draw["season_gain"] = np.array([gain])
        s.robust = robust and lik == "student_t"  # as built: normal errors update linearly
        kern = kalman_loglik_grad(
            e,
            s.grid.positive,
            h,
            ql,
            0.004**2,
            0.85,
            drift,
            7.0,
            s.init_level,
            lik == "student_t",
            s.weight,
            s.fiscal_month,
            gain,
            True,
            robust,
        )[0]
        assert loglik_amounts(draw, s, lik)[0] == pytest.approx(kern, rel=1e-10)
        # each series' seasonal adjustment is the gain times its errors in that month of the year
        fl = run_filter(draw, s)
        seen = s.grid.positive * fl["v"][0]
        for m in range(12):
            expect = gain * seen[:, s.fiscal_month == m].sum(axis=1)
            np.testing.assert_allclose(fl["season_adj"][0, :, m], expect, rtol=1e-12, atol=1e-15)


def test_forecast_carries_each_series_seasonal_adjustment(monkeypatch):
    """Months up to a year ahead add the adjustment filtered to the cut-off (same noise draws)."""
    from spm_model.forecast import statespace
    from spm_model.forecast.statespace import forecast_log_amounts

    panel = check_panel(_panel())
    d = make_design(panel)
    s = ss_data(d)
    n_r = len(s.init_level)
    rng = np.random.default_rng(4)
    draw = {
        "season": rng.normal(0, 0.1, (2, 12)),
        "season_rep": 0.05 * rng.normal(0, 1, (2, n_r, 12)),
        "ramp_tau": np.full(2, 3.0),
        "log_sigma": np.log(0.1) + 0.2 * rng.normal(0, 1, (2, n_r)),
        "log_sigma_level": np.log(0.03) + 0.3 * rng.normal(0, 1, (2, n_r)),
        "phi": np.array([0.85, 0.9]),
        "drift": np.array([0.001, 0.0]),
        "nu": np.array([7.0, 9.0]),
    }
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    reps = np.arange(n_r)
    hires = np.full(n_r, np.datetime64("2015-01-01"))
    draw["season_gain"] = np.array([0.3, 0.1])
    evolving, _ = forecast_log_amounts(
        draw, d, s, reps, months, hires, np.random.default_rng(0), "student_t"
    )
    adj = run_filter(draw, s)["season_adj"]  # (draws, series, 12)

    def without_adjustment(p, s):  # the same filtered state, the adjustment left out
        return {**run_filter(p, s), "season_adj": np.zeros_like(adj)}

    monkeypatch.setattr(statespace, "run_filter", without_adjustment)
    fixed, _ = forecast_log_amounts(
        draw, d, s, reps, months, hires, np.random.default_rng(0), "student_t"
    )
    fm = np.asarray(fiscal_month_index(months, d.fy_start_month))
    assert np.abs(adj).max() > 0.01
    np.testing.assert_allclose(evolving - fixed, adj[:, :, fm], rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def fits():
    """The same tiny fit twice (PyMC's sampler: its compiled code is cached between runs)."""
    cfg = dict(model="state_space", sampler="pymc", draws=60, tune=60, chains=2, seed=11)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            out.append(BookingsForecaster(**cfg).fit(_panel()))
    return out


def test_same_data_and_seed_give_identical_draws_diagnostics_and_forecasts(fits):
    a, b = fits
    for name in ("phi", "log_sigma_level", "season", "nu"):
        np.testing.assert_array_equal(
            a.idata_.posterior[name].values, b.idata_.posterior[name].values
        )
    pd.testing.assert_frame_equal(a.diagnostics_.table, b.diagnostics_.table)
    np.testing.assert_array_equal(a.predict(3).values, b.predict(3).values)


def test_state_space_forecasts_every_series_including_a_missing_cutoff_month(fits):
    fc = fits[0]
    d = fc.predict(horizon=4)
    assert list(d.rep.values) == [f"r{r}" for r in range(6)]
    assert pd.Timestamp(d.month.values[0]) == pd.Timestamp("2025-01-01")
    assert np.isfinite(d.values).all() and (d.values > 0).all()
    # the forecast is near the same months a year earlier (level and season follow the data)
    p = _panel()
    last_year = p[(p.month >= "2024-01-01") & (p.month <= "2024-04-01")]
    recent = last_year.groupby("rep_id")["bookings"].median()
    med = np.median(d.values, axis=0).mean(axis=1)
    np.testing.assert_allclose(med, recent.loc[d.rep.values].to_numpy(), rtol=0.35)
    # uncertainty grows with the horizon (the level keeps walking)
    spread = np.log(np.quantile(d.values, 0.9, 0) / np.quantile(d.values, 0.1, 0)).mean(0)
    assert spread[-1] > spread[0]
    rep = fc.predict_in_sample(max_samples=50)
    assert rep.shape == (50, len(fc.panel_))


def test_level_noise_regime_follows_its_setting_in_the_forecast(fits):
    """Shared (a posterior without ``level_regime``): the level noise steps with the
    observation noise's walk after the cut-off. Its own walk (``level_regime`` in the
    posterior): carried by its own history (back towards its usual level), not by the size of
    its steps, while the observation noise's walk still takes its step."""
    from spm_model.forecast import statespace

    fc = fits[0]
    assert statespace.LEVEL_REGIME == "shared"
    post = fc.posterior()
    assert post["noise_regime"].shape[1] >= 2 and "level_regime" not in post
    months = pd.date_range("2025-01-01", periods=8, freq="MS")
    reps = np.arange(len(fc.design_.reps))
    hires = fc.reps_.loc[fc.design_.reps, "hire_date"].to_numpy()

    def draws(p):
        args = (fc.design_, fc.model_.spm_ss, reps, months, hires)
        rng = np.random.default_rng(3)
        return statespace.forecast_log_amounts(p, *args, rng, fc.likelihood_)[0]

    def spread(x):
        return np.log(np.quantile(np.exp(x), 0.9, 0) / np.quantile(np.exp(x), 0.1, 0)).mean()

    # shared: a wild walk after the cut-off widens both noises, as far as the regimes its
    # history went through (here a past block at +2)
    stormy = {**post, "noise_regime": post["noise_regime"].copy()}
    stormy["noise_regime"][:, -1] = 2.0
    base = draws(stormy)
    wild_noise = {**stormy, "sigma_noise_regime": 5.0 + 0 * post["sigma_noise_regime"]}
    assert spread(draws(wild_noise)) > 1.5 * spread(base)
    # ... and no further: without the stormy block the same wild walk is held near today's
    calm_past = {**post, "sigma_noise_regime": wild_noise["sigma_noise_regime"]}
    assert spread(draws(calm_past)) < spread(draws(wild_noise))
    own = {**post, "level_regime": np.zeros_like(post["noise_regime"])}
    own["sigma_level_regime"] = 0.2 + 0 * post["sigma_noise_regime"]
    held = draws(own)
    np.testing.assert_array_equal(
        held, draws({**own, "sigma_level_regime": 50 * own["sigma_level_regime"]})
    )
    assert not np.array_equal(
        held, draws({**own, "sigma_noise_regime": 0 * own["sigma_level_regime"]})
    )
    # its own walk's past blocks set the filtered level noise; the last block is today's
    past = {**own, "level_regime": own["level_regime"] + 1.0}
    past["level_regime"][:, 0] = 0.0
    assert not np.array_equal(held, draws(past))
    # ahead, the walk goes back towards its usual level (LEVEL_REGIME_AHEAD = "revert"):
    # calmer past blocks narrow the forecast against holding today's level noise, wilder
    # ones widen it
    assert statespace.LEVEL_REGIME_AHEAD == "revert"
    calm = {**own, "level_regime": own["level_regime"] - 1.0}
    calm["level_regime"][:, 0] = 0.0
    try:
        statespace.LEVEL_REGIME_AHEAD = "hold"
        held_calm, held_wild = draws(calm), draws(past)
    finally:
        statespace.LEVEL_REGIME_AHEAD = "revert"
    assert spread(draws(calm)) < spread(held_calm)
    assert spread(draws(past)) > spread(held_wild)



def test_each_series_own_drift_carries_its_forecast(fits):
    """With a drift per series (``drift_rep``), each series' forecast grows at its own rate:
    the slope decays towards that series' drift, not the shared one."""
    from spm_model.forecast import statespace

    fc = fits[0]
    post = fc.posterior()
    months = pd.date_range("2025-01-01", periods=8, freq="MS")
    reps = np.arange(len(fc.design_.reps))
    hires = fc.reps_.loc[fc.design_.reps, "hire_date"].to_numpy()
    args = (fc.design_, fc.model_.spm_ss, reps, months, hires)

    def median_path(p):
        x = statespace.forecast_log_amounts(p, *args, np.random.default_rng(3), fc.likelihood_)
        return np.median(x[0], axis=0)  # (rep, month), log scale

    n_s, n_r = post["phi"].shape[0], len(reps)
    steep = np.where(np.arange(n_r) % 2 == 0, 0.05, -0.05)  # 5% a month up or down
    own = {**post, "phi": np.full(n_s, 0.5), "drift_rep": np.tile(steep, (n_s, 1))}
    shared = {**own, "drift": np.zeros(n_s)}
    del shared["drift_rep"]
    gap = median_path(own) - median_path(shared)
    # month 8's level has taken seven more steps of about its series' drift (the slope
    # converges to it within a few months at phi 0.5)
    growth = gap[:, -1] - gap[:, 0]
    np.testing.assert_allclose(growth, 7 * steep, atol=0.06)


@pytest.mark.parametrize(("setting", "centring", "prior"), [
    ("auto", 0.0, "HalfNormal"),
    ("auto", 0.5, "LogNormal"),
    ("halfnormal", 0.5, "HalfNormal"),
    ("lognormal", 0.0, "LogNormal"),
])  # fmt: skip
def test_noise_regime_prior_follows_the_walks_centring(setting, centring, prior, monkeypatch):
    """'auto': log-normal step prior where the walk is half-centred (the data show regimes),
    half-normal where it is non-centred."""
    import dataclasses

    from spm_model.forecast import statespace

    monkeypatch.setattr(statespace, "NOISE_REGIME_PRIOR", setting)
    s = dataclasses.replace(ss_data(make_design(check_panel(_panel()))), regime_centring=centring)
    monkeypatch.setattr(statespace, "ss_data", lambda d: s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = statespace.build_ss_model(make_design(check_panel(_panel())), "student_t")
    rv = model["sigma_noise_regime"]
    assert type(rv.owner.op).__name__.startswith(prior)


def test_state_space_rejects_amount_likelihoods_it_cannot_filter():
    from spm_model.errors import SpmConfigError

    with pytest.raises(SpmConfigError, match="not available with model='state_space'"):
        BookingsForecaster(model="state_space", likelihood="gamma")


@pytest.mark.parametrize("student", [True, False])
def test_kalman_log_likelihood_holds_for_variances_far_beyond_a_products_range(student):
    """The kernel sums each month's log terms as the log of a renormalised running product.

    400 reps whose noise variances run from 1e-150 to 1e150 (products of a month's terms
    leave the floating-point range hundreds of times over); the log likelihood equals the
    per-rep-month sum of the numpy filter's Student-t (or normal) log densities.
    """
    from scipy import stats

    from spm_model.forecast.kalman import INIT_LEVEL_SD, INIT_SLOPE_SD
    from spm_model.forecast.statespace import _filter_step

    rng = np.random.default_rng(8)
    n_r, n_t = 400, 5
    scale = 10.0 ** np.linspace(-150, 150, n_r)
    h = np.repeat(scale[:, None], n_t, axis=1)
    ql = 0.1 * h
    e = np.sqrt(h) * rng.normal(size=(n_r, n_t))
    mask = (rng.random((n_r, n_t)) > 0.1).astype(float)
    init = np.zeros(n_r)
    phi, nu, qb = 0.8, 6.0, 1e-6
    drift = np.resize([0.0, 0.004, -0.003], n_r)  # per series
    fm = np.arange(n_t) % 12
    args = (e, mask, h, ql, qb, phi, drift, nu, init, student, np.ones(n_t), fm, 0.0, False)
    ll = kalman_loglik_grad(*args)[0]
    lv, b = init.copy(), drift.copy()
    p11, p12, p22 = np.full(n_r, INIT_LEVEL_SD**2), np.zeros(n_r), np.full(n_r, INIT_SLOPE_SD**2)
    expect = 0.0
    for t in range(n_t):
        lv, b, p11, p12, p22, v, f = _filter_step(
            np, e[:, t], mask[:, t], h[:, t], lv, b, p11, p12, p22, phi, drift, ql[:, t], qb
        )[:7]
        if student:
            dens = stats.t.logpdf(v, df=nu, scale=np.sqrt(f * (nu - 2.0) / nu))
        else:
            dens = stats.norm.logpdf(v, scale=np.sqrt(f))
        expect += float(np.sum(mask[:, t] * dens))
    assert np.isfinite(ll)
    assert ll == pytest.approx(expect, rel=1e-11)


def test_innovation_range_is_the_historys_smallest_and_largest_surprise():
    from types import SimpleNamespace

    from spm_model.forecast.statespace import innovation_range

    # two draws, one series, four months; month 3 had no bookings, month 4 has no weight
    v = np.array([[[1.0, -3.0, 50.0, 9.0]], [[0.5, 0.5, 0.5, 0.5]]])
    f = np.array([[[1.0, 1.0, 1.0, 1.0]], [[4.0, 1.0, 1.0, 1.0]]])
    s = SimpleNamespace(
        grid=SimpleNamespace(positive=np.array([[1.0, 1.0, 0.0, 1.0]])),
        weight=np.array([1.0, 1.0, 1.0, 0.0]),
    )
    low, high = innovation_range({"v": v, "f": f}, s)
    np.testing.assert_array_equal(low[:, 0], [-3.0, 0.25])
    np.testing.assert_array_equal(high[:, 0], [1.0, 0.5])
    s.grid.positive = np.zeros((1, 4))  # nothing observed: no bound
    low, high = innovation_range({"v": v, "f": f}, s)
    assert np.isneginf(low).all() and np.isposinf(high).all()


def test_surprise_range_is_the_historys_smallest_and_largest_log_surprise():
    from types import SimpleNamespace

    from spm_model.forecast.statespace import surprise_range

    # two draws, two series, three months; series 2 month 2 had no bookings, month 3 no weight
    v = np.array([[[0.2, -0.7, 9.0], [1.5, 4.0, -9.0]], [[0.1, 0.0, 0.0], [-0.3, 0.0, 0.0]]])
    s = SimpleNamespace(
        grid=SimpleNamespace(positive=np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]])),
        weight=np.array([1.0, 1.0, 0.0]),
    )
    low, high = surprise_range({"v": v, "f": np.ones_like(v)}, s)
    np.testing.assert_array_equal(low[:, 0], [-0.7, -0.3])
    np.testing.assert_array_equal(high[:, 0], [1.5, 0.1])
    s.grid.positive = np.zeros((2, 3))
    low, high = surprise_range({"v": v, "f": np.ones_like(v)}, s)
    assert np.isneginf(low).all() and np.isposinf(high).all()


def test_a_wild_noise_regime_walk_stays_within_the_historys_log_surprises(fits):
    """Texas active listings at 2014-01: today's noise scale tiny, the history's standardised
    surprises 25-30 and the regime walk's step 1.1-2.2, so the next block's multiplier times a
    clipped noise ran to exp(45) times the median. The noise stays within the history's own
    surprises in log units."""
    from spm_model.forecast import statespace

    fc = fits[0]
    post = fc.posterior()
    assert "sigma_noise_regime" in post
    wild = {**post, "sigma_noise_regime": np.full_like(post["sigma_noise_regime"], 6.0)}
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    reps = np.arange(len(fc.design_.reps))
    hires = fc.reps_.loc[fc.design_.reps, "hire_date"].to_numpy()
    s = fc.model_.spm_ss
    args = (fc.design_, s, reps, months, hires)
    x = statespace.forecast_log_amounts(wild, *args, np.random.default_rng(3), "student_t")[0]
    low, high = statespace.surprise_range(statespace.run_filter(wild, s), s)
    # the level's own spread (filtered state rolled forward) is all that may go beyond
    spread = np.abs(x - np.median(x, axis=0)).max()
    assert spread < 1.5 + float(high.max() - low.min())


def test_forecast_noise_stays_within_the_historys_surprises(fits):
    """Student-t noise near 2 degrees of freedom on the log scale: ``exp`` of it has no mean
    and single draws ran to 10^10 times a rep's month. The forecast's noise stays within the
    standardised surprises the history showed."""
    from spm_model.forecast import statespace

    fc = fits[0]
    post = fc.posterior()
    wild = {**post, "nu": np.full_like(post["nu"], 2.0001), "log_sigma": post["log_sigma"] + 8.0}
    months = pd.date_range("2025-01-01", periods=8, freq="MS")
    reps = np.arange(len(fc.design_.reps))
    hires = fc.reps_.loc[fc.design_.reps, "hire_date"].to_numpy()
    args = (fc.design_, fc.model_.spm_ss, reps, months, hires)
    x = statespace.forecast_log_amounts(wild, *args, np.random.default_rng(3), "student_t")[0]
    # the observation noise (a scale of hundreds on the log scale here) is clipped to the
    # history's surprises, which are small against it: every draw within a few units of the
    # median (unclipped, the largest was 128)
    assert np.abs(x - np.median(x, axis=0)).max() < 8.0


def test_a_state_space_fit_of_lumpy_months_warns_to_use_the_regression_model(fits):
    import copy

    from spm_model.forecast import ModelFitWarning

    fc = copy.copy(fits[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelFitWarning)
        fc._warn_lumpy()  # the tiny smooth panel: nu well above 2.5, no warning
    fc.idata_ = copy.deepcopy(fc.idata_)
    fc.idata_.posterior["nu"] = fc.idata_.posterior["nu"] * 0.0 + 2.01
    with pytest.warns(ModelFitWarning, match="degrees of freedom.*model='regression'"):
        fc._warn_lumpy()


def test_an_evolving_seasonal_pattern_fits_and_forecasts_every_series():
    cfg = dict(model="state_space", sampler="pymc", draws=60, tune=60, chains=2, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fc = BookingsForecaster(**cfg, seasonality="evolving_common").fit(_panel())
    gain = fc.idata_.posterior["season_gain"].to_numpy()
    assert ((gain > 0) & (gain < 1)).all()
    assert "sigma_season_rep" not in fc.idata_.posterior
    pred = fc.predict(6)
    assert pred.sizes["rep"] == 6 and np.isfinite(pred.to_numpy()).all()



def test_common_shocks_widen_totals_not_series(fits, monkeypatch):
    """With a share of each month's shocks in common, the forecast of the sum over series
    spreads wider while each series' own forecast keeps its spread."""
    from spm_model.forecast import statespace

    fc = fits[0]
    post = fc.posterior()
    months = pd.date_range("2025-01-01", periods=6, freq="MS")
    reps = np.arange(len(fc.design_.reps))
    hires = fc.reps_.loc[fc.design_.reps, "hire_date"].to_numpy()
    post = {k: np.repeat(v, 8, axis=0) for k, v in post.items()}  # more draws, steadier spreads

    def draws(rho):
        def same_share(fl, s, months=1):
            return np.full(len(fl["v"]), rho)

        monkeypatch.setattr(statespace, "common_correlation", same_share)
        args = (fc.design_, fc.model_.spm_ss, reps, months, hires)
        rng = np.random.default_rng(5)
        return np.exp(statespace.forecast_log_amounts(post, *args, rng, fc.likelihood_)[0])

    def spread(x):
        return np.log(np.quantile(x, 0.9, 0) / np.quantile(x, 0.1, 0))

    own, common = draws(0.0), draws(0.8)
    total_own, total_common = spread(own.sum(axis=1)), spread(common.sum(axis=1))
    assert (total_common > 1.5 * total_own).all()
    np.testing.assert_allclose(spread(common).mean(), spread(own).mean(), rtol=0.05)


def test_a_planted_easter_effect_is_found_and_forecast():
    """Eight series over 2009-2015 whose March and April move with Easter (-0.3 of the log per
    window moved into March): the fit finds the coefficient, and the forecast of 2016 (Easter
    on 27 March, the whole window in March) has March against April where the truth has it."""
    from spm_model.forecast.model import easter_deviation

    rng = np.random.default_rng(8)
    months = pd.date_range("2009-01-01", "2016-06-01", freq="MS")
    season = 0.2 * np.sin(2 * np.pi * months.month / 12)
    truth = season - 0.3 * easter_deviation(months)
    rows = []
    for r in range(8):
        level = 9.0 + 0.2 * r + np.cumsum(rng.normal(0, 0.02, len(months)))
        y = np.exp(level + truth + rng.normal(0, 0.05, len(months)))
        rows.append(pd.DataFrame({"rep_id": f"r{r}", "month": months, "bookings": y}))
    panel = pd.concat(rows, ignore_index=True)
    history = panel[panel.month <= "2015-12-01"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fc = BookingsForecaster(model="state_space", draws=300, tune=300, seed=3, refits=0)
        fc.fit(history)
    coef = fc.posterior()["easter"]
    lo, hi = np.quantile(coef, [0.05, 0.95])
    assert lo < -0.3 < hi and hi < -0.15  # found, and clearly not zero
    draws = fc.predict(6)  # January to June 2016
    log_med = np.log(np.median(draws.values, axis=0))  # (series, month)
    march, april = 2, 3
    expect = truth[months == "2016-03-01"][0] - truth[months == "2016-04-01"][0]
    got = log_med[:, march] - log_med[:, april]
    # without the Easter term the forecast would sit 0.38 above the truth (the usual share)
    np.testing.assert_allclose(got, expect, atol=0.08)


def _one_strong_season_panel() -> tuple[pd.DataFrame, np.ndarray]:
    """Ten series over 2009-2016 with a shared seasonal pattern; series r0's own summer peak
    is 0.35 of the log stronger (a college town among cities)."""
    rng = np.random.default_rng(21)
    months = pd.date_range("2009-01-01", "2016-06-01", freq="MS")
    month = months.month.to_numpy()
    shared = 0.15 * np.sin(2 * np.pi * (month - 3) / 12)
    own = 0.35 * np.cos(2 * np.pi * (month - 6.5) / 12)  # May-August high
    rows = []
    for r in range(10):
        level = 8.0 + 0.1 * r + np.cumsum(rng.normal(0, 0.02, len(months)))
        small = rng.normal(0, 0.03, 12)[month - 1]  # the others' own small deviations
        dev = own if r == 0 else small
        y = np.exp(level + shared + dev + rng.normal(0, 0.06, len(months)))
        rows.append(pd.DataFrame({"rep_id": f"r{r}", "month": months, "bookings": y}))
    panel = pd.concat(rows, ignore_index=True)
    return panel, own


@pytest.mark.parametrize("tails", [True, False])
def test_one_series_with_a_much_stronger_season_keeps_it(tails):
    """With Student-t deviations (``season_deviations="student_t"``) the outlying series'
    seasonal deviation is recovered (its range within 20% of the truth's, 0.70) where normal
    deviations (the default) with their pooled scale shrink it; its forecast's rise into the
    summer follows."""
    panel, own = _one_strong_season_panel()
    history = panel[panel.month <= "2015-12-01"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fc = BookingsForecaster(
            model="state_space", draws=300, tune=300, seed=5, refits=0,
            season_deviations="student_t" if tails else "normal",
        )  # fmt: skip
        fc.fit(history)
    reps = list(fc.idata_.posterior["rep"].values)
    dev = np.median(fc.posterior()["season_rep"][:, reps.index("r0")], axis=0)  # by fiscal month
    truth = own[:12] - own[:12].mean()  # January to December, centred like the deviations
    got_range, true_range = dev.max() - dev.min(), truth.max() - truth.min()
    if tails:
        assert abs(got_range / true_range - 1.0) < 0.2
        log_med = np.log(np.median(fc.predict(6).sel(rep="r0").values, axis=0))
        # January to June 2016: the rise into June, as the truth has it (shared plus own)
        shared = 0.15 * np.sin(2 * np.pi * (np.arange(1, 7) - 3) / 12)
        rise = (shared + own[:6])[5] - (shared + own[:6])[0]
        assert abs((log_med[5] - log_med[0]) - rise) < 0.15
    else:  # the pooled scale: shrunk by more than a fifth
        assert got_range / true_range < 0.8
