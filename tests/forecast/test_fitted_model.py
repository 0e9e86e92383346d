"""The Bayesian model on data simulated from itself: parameter recovery, outputs, diagnostics.

One small model is fitted once for the whole module (PyTensor compilation is
the slow part); every test reads it.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from spm_model.errors import SpmConfigError
from spm_model.forecast import BookingsForecaster, ConvergenceWarning, simulate_panel
from spm_model.forecast.model import linear_predictors
from spm_model.forecast.outputs import interval_table, quota_attainment_probability, rollup

pytestmark = pytest.mark.slow  # long: `make test-slow` (CI runs it too)


@pytest.fixture(scope="module")
def sim():
    return simulate_panel(n_reps=36, n_months=30, n_regions=2, teams_per_region=3, seed=11)


@pytest.fixture(scope="module")
def fitted(sim):
    panel, _ = sim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BookingsForecaster(
            draws=500, tune=500, chains=2, cores=1, sampler="pymc", likelihood="student_t", seed=3
        ).fit(panel)


def _interval(fc, name, prob=0.9):
    post = fc.posterior()[name]
    a = (1 - prob) / 2
    return np.quantile(post, a, axis=0), np.quantile(post, 1 - a, axis=0)


@pytest.mark.parametrize(
    "name", ["trend", "sigma_rep", "ramp_tau", "log_sigma_mean", "hurdle_intercept", "lag12"]
)
def test_true_scalar_parameters_inside_90pct_intervals(fitted, sim, name):
    _, truth = sim
    lo, hi = _interval(fitted, name)
    true = float(np.ravel(truth[name])[0])
    assert lo <= true <= hi, (name, true, lo, hi)


def test_true_seasonal_effects_recovered_within_their_posterior_spread(fitted, sim):
    """Standardised errors (posterior mean - truth) / posterior sd of every seasonal element.

    For a calibrated posterior they are about standard normal: none beyond 3.5 and a mean
    square near 1 (at most 3: thirteen correlated elements), and the shapes match the truth.
    """
    _, truth = sim
    z = []
    for name in (
        "season_quarter",
        "season_month_of_quarter",
        "hurdle_month_of_quarter",
        "season_resid",
    ):
        post = fitted.posterior()[name]
        true = np.ravel(truth[name])
        z += list((post.mean(0) - true) / post.std(0))
        if name in ("season_quarter", "season_month_of_quarter"):
            assert np.corrcoef(post.mean(0), true)[0, 1] > 0.9
    z = np.asarray(z)
    assert np.abs(z).max() < 3.5, z
    assert np.mean(z**2) < 3.0, z


def test_rep_effects_recovered(fitted, sim):
    _, truth = sim
    lo, hi = _interval(fitted, "rep_effect")
    reps = fitted.design_.reps
    true = truth["rep_effect"][0][[int(r[1:]) - 1 for r in reps]]
    inside = (true >= lo) & (true <= hi)
    assert inside.mean() >= 0.8
    est = fitted.posterior()["rep_effect"].mean(0)
    assert np.corrcoef(est, true)[0, 1] > 0.9


def test_diagnostics_are_computed_and_reported(fitted):
    d = fitted.diagnostics_
    assert {"r_hat", "ess_bulk", "ess_tail", "main"} <= set(d.table.columns)
    assert d.n_samples == 1000 and d.sampler == "pymc"
    assert d.divergences >= 0
    assert d.main()["r_hat"].max() < 1.05
    assert "divergences" in d.summary() and "R-hat" in d.summary()
    assert "fitted to 36 reps" in repr(fitted)
    params = fitted.parameter_summary()
    assert "trend" in params.index


def test_failed_checks_give_advice(fitted):
    d = fitted.diagnostics_
    from dataclasses import replace

    bad = replace(d, divergences=12)
    assert any("target_accept" in p for p in bad.problems())
    with pytest.warns(ConvergenceWarning, match="divergent"):
        bad.warn()


def _at_draw(fitted, i):
    """Posterior draw ``i``: the point, the numpy predictors there and a graph evaluator."""
    import pytensor
    import pytensor.tensor as pt

    point = {k: v[i] for k, v in fitted.posterior().items()}
    d = fitted.design_
    predictors = linear_predictors(
        {k: v[None] for k, v in point.items()},
        d.rep_idx,
        d.years,
        d.fiscal_month,
        d.tenure,
        d.block,
        d.lag12,
        d.business_days,
        easter=d.easter,
    )
    m = fitted.model_
    givens = {rv: pt.constant(np.asarray(point[rv.name], dtype=rv.dtype)) for rv in m.free_RVs}

    def evaluate(*variables):
        return [v.eval() for v in pytensor.clone_replace(list(variables), givens)]

    return point, predictors, evaluate


def test_numpy_predictor_matches_the_pymc_model(fitted):
    """The numpy forecast path computes the same location and scale as the PyMC graph."""
    m, d = fitted.model_, fitted.design_
    _, (mu_np, _, sigma_np), evaluate = _at_draw(fitted, 7)
    mu_pm, log_sigma_pm = evaluate(m.spm_mu, m.spm_log_sigma)
    assert (d.tenure < 48).any() and (d.tenure >= 48).any()  # both sides of the ramp horizon
    np.testing.assert_allclose(mu_np[0], mu_pm[d.rep_idx, d.month_idx], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sigma_np[0], np.exp(log_sigma_pm)[d.rep_idx, d.month_idx], rtol=1e-6)


def test_dense_likelihood_equals_the_textbook_densities(fitted):
    """The Potential terms sum the same log densities as per-observation PyMC distributions."""
    import pymc as pm
    from scipy import stats

    d = fitted.design_
    point, (mu_np, logit_np, sigma_np), evaluate = _at_draw(fitted, 11)
    pots = {p.name: p for p in fitted.model_.potentials}
    pos = d.y > 0
    hurdle_ll, amount_ll = evaluate(pots["has_bookings_loglik"], pots["log_bookings_loglik"])
    expected = stats.bernoulli.logpmf(pos.astype(int), 1 / (1 + np.exp(-logit_np[0]))).sum()
    assert hurdle_ll == pytest.approx(expected, rel=1e-9)
    dist = pm.StudentT.dist(nu=point["nu"], mu=mu_np[0, pos], sigma=sigma_np[0, pos])
    assert amount_ll == pytest.approx(float(pm.logp(dist, np.log(d.y[pos])).sum().eval()), rel=1e-9)


def test_predict_shapes_coords_and_reproducibility(fitted):
    pred = fitted.predict(6)
    assert pred.dims == ("sample", "rep", "month")
    assert pred.sizes["sample"] == 1000 and pred.sizes["month"] == 6
    assert pd.Timestamp(pred.month.values[0]) == fitted.cutoff_ + pd.offsets.MonthBegin(1)
    assert (pred.values >= 0).all()
    assert set(pred.rep.values) == set(fitted.reps_.index[fitted.reps_.active])
    left = set(fitted.reps_.index[~fitted.reps_.active])
    assert left and not left & set(pred.rep.values)  # leavers are not forecast
    assert "team" in pred.coords and "region" in pred.coords
    np.testing.assert_array_equal(
        fitted.predict(6, seed=5).values, fitted.predict(6, seed=5).values
    )
    with pytest.raises(SpmConfigError):
        fitted.predict(0)


def test_forecast_is_calibrated_on_in_sample_replicates(fitted):
    rep = fitted.predict_in_sample(max_samples=300)
    y = fitted.design_.y
    assert abs((rep == 0).mean() - (y == 0).mean()) < 0.03
    lo, hi = np.quantile(rep, [0.1, 0.9], axis=0)
    cover = ((y >= lo) & (y <= hi)).mean()
    assert 0.72 < cover < 0.9


def test_rollups_are_coherent(fitted):
    pred = fitted.predict(3)
    company = rollup(pred, "company")
    np.testing.assert_allclose(company.values, pred.values.sum(axis=1))
    teams = rollup(pred, "team")
    np.testing.assert_allclose(teams.sum("team").values, company.values)
    regions = rollup(pred, "region")
    np.testing.assert_allclose(regions.sum("region").values, company.values)
    tab = interval_table(pred, "company")
    total = tab[tab.month == "total"].iloc[0]
    assert total["mean"] == pytest.approx(pred.values.sum(axis=(1, 2)).mean(), rel=1e-9, abs=0.01)
    assert total["p05"] <= total["p50"] <= total["p95"]
    reps = interval_table(pred, "rep")
    assert len(reps) == pred.sizes["rep"] * 4


def test_quota_probability(fitted, sim):
    panel = sim[0]
    pred = fitted.predict(12)
    fy = fitted.cutoff_.year
    reps = list(pred.rep.values)
    ytd = panel[(panel.month.dt.year == fy)].groupby("rep_id").bookings.sum()
    # quota = YTD for rep 0 (already reached), absurdly high for rep 1, quarterly rows for rep 2
    quotas = pd.DataFrame(
        {
            "rep_id": [reps[0], reps[1]] + [reps[2]] * 4,
            "period": [str(fy), str(fy)] + [f"{fy}-Q{q}" for q in range(1, 5)],
            "measure": ["new_business"] * 6,
            "amount": [float(ytd.get(reps[0], 0.0)), 1e12, 1.0, 1.0, 1.0, 1.0],
        }
    )
    qa = quota_attainment_probability(pred, fitted.panel_, quotas, fiscal_year=fy).set_index(
        "rep_id"
    )
    assert qa.loc[reps[0], "p_reach_quota"] == 1.0
    assert qa.loc[reps[1], "p_reach_quota"] == 0.0
    assert qa.loc[reps[2], "quota"] == 4.0
    assert len(qa) == 3
    assert qa.loc[reps[0], "ytd"] == pytest.approx(ytd.get(reps[0], 0.0))
    short = fitted.predict(1)
    if fitted.cutoff_.month < 11:
        with pytest.raises(SpmConfigError, match="must reach the end of fiscal year"):
            quota_attainment_probability(short, fitted.panel_, quotas, fiscal_year=fy)


def test_plots(fitted, tmp_path):
    import matplotlib.pyplot as plt

    from spm_model.forecast.plots import fan_chart, ppc_plot

    pred = fitted.predict(6)
    ax = fan_chart(pred, fitted.panel_, "company")
    assert len(ax.collections) == 3 and ax.get_title().startswith("Company")
    ax = fan_chart(pred, fitted.panel_, "rep", str(pred.rep.values[0]))
    fig = ppc_plot(fitted)
    fig.savefig(tmp_path / "ppc.png")
    assert (tmp_path / "ppc.png").stat().st_size > 10_000
    plt.close("all")


def test_cli_forecast_on_a_panel_file(sim, tmp_path):
    """``spm forecast`` end to end (small sampler settings; same model shape as the fixture)."""
    from typer.testing import CliRunner

    from spm_model.cli import app

    panel, _ = sim
    src = tmp_path / "panel.csv"
    panel.to_csv(src, index=False)
    out = tmp_path / "fc"
    args = ["forecast", "--data", str(src), "--horizon", "3", "--out", str(out)]
    args += ["--draws", "60", "--tune", "60", "--sampler", "pymc", "--chains", "2"]
    args += ["--likelihood", "student_t"]  # the fixture's model: compiled code is reused
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "company total median" in res.output
    # a panel file has series (not reps) and no currency of its own
    line = next(x for x in res.output.splitlines() if "company total median" in x)
    assert re.match(r"\d+ series, 3 months from \d{4}-\d{2}: company total median ", line)
    assert not line.endswith("currency")
    names = {p.name for p in out.iterdir()}
    assert {"draws.nc", "posterior.nc", "summary.csv", "diagnostics.csv"} <= names
    assert {"fan_company.png"} <= names
    assert {"fan_regions.png", "ppc.png", "README.txt", "parameters.csv"} <= names
    import xarray as xr

    with xr.open_dataset(out / "draws.nc") as ds:
        assert ds["bookings"].dims == ("sample", "rep", "month") and ds.sizes["month"] == 3
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.level) == {"rep", "team", "region", "company"}
    assert "no quotas table" in (out / "README.txt").read_text()


def test_cli_reports_bad_input(tmp_path):
    from typer.testing import CliRunner

    from spm_model.cli import app

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"rep_id": ["a"], "month": ["2024-01"], "bookings": [-5]}).to_csv(bad, index=False)
    res = CliRunner().invoke(app, ["forecast", "--data", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    assert "bookings" in str(res.exception) or "bookings" in res.output
    assert not (tmp_path / "o").exists()
