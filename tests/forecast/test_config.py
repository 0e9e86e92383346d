"""Which model the default settings fit: ``model="auto"``."""

from __future__ import annotations

import pytest

from spm_model.errors import SpmConfigError
from spm_model.forecast import BookingsForecaster
from spm_model.forecast.config import (
    AUTO_SHORT_STATE_SPACE_MAX_SERIES,
    AUTO_STATE_SPACE_MAX_ZERO_SHARE,
    AUTO_STATE_SPACE_MONTHS,
    AUTO_STATE_SPACE_MONTHS_MANY_SERIES,
    LOW_RANK_MAX_PARAMETERS,
    ForecastConfig,
)


def test_auto_is_the_default_and_picks_state_space_for_long_histories():
    c = ForecastConfig()
    assert c.model == "auto"
    assert AUTO_STATE_SPACE_MONTHS == 36
    # histories under three years: the regression model
    assert c.resolved_model(35) == "regression"
    assert c.resolved_model(24, zero_share=0.0, n_series=20) == "regression"
    assert c.resolved_model(None) == "regression"
    # dense panels of three years or more (Texas, Norway from 36 months; the Texas housing
    # panel: 187 months)
    assert c.resolved_model(36) == "state_space"
    assert c.resolved_model(36, zero_share=0.0, n_series=46) == "state_space"
    assert c.resolved_model(187) == "state_space"


def test_auto_needs_four_years_for_the_state_space_model_of_many_series():
    """500 series x 36 months: the state-space fit is slow and mixes badly, the regression
    model's is not; from four years the state-space model again."""
    c = ForecastConfig()
    assert (AUTO_SHORT_STATE_SPACE_MAX_SERIES, AUTO_STATE_SPACE_MONTHS_MANY_SERIES) == (200, 48)
    assert c.resolved_model(36, zero_share=0.0, n_series=200) == "state_space"
    assert c.resolved_model(36, zero_share=0.0, n_series=201) == "regression"
    assert c.resolved_model(47, zero_share=0.0, n_series=500) == "regression"
    assert c.resolved_model(48, zero_share=0.0, n_series=500) == "state_space"
    assert c.resolved_likelihood("state_space") == "student_t"
    assert c.resolved_likelihood("regression") == "generalized_gamma"


def test_auto_keeps_the_regression_model_for_lumpy_histories_with_many_zero_months():
    c = ForecastConfig()
    assert AUTO_STATE_SPACE_MAX_ZERO_SHARE == 0.10
    # real panels: no month without sales
    assert c.resolved_model(187, zero_share=0.0) == "state_space"
    # simulated 50 x 180 benchmark panel: 8.7% zero months
    assert c.resolved_model(180, zero_share=0.087) == "state_space"
    # a generated company with five years of rep histories: a third of its months are zero
    assert c.resolved_model(60, zero_share=0.10) == "regression"
    assert c.resolved_model(60, zero_share=0.326) == "regression"
    # the sample company: 36 months of lumpy rep histories
    assert c.resolved_model(36, zero_share=0.25) == "regression"
    assert c.resolved_model(30, zero_share=0.0) == "regression"
    assert ForecastConfig(model="state_space").resolved_model(60, zero_share=0.5) == "state_space"


def test_auto_keeps_the_regression_model_for_its_own_likelihoods_and_explicit_choices():
    assert ForecastConfig(likelihood="gamma").resolved_model(200) == "regression"
    assert ForecastConfig(likelihood="generalized_gamma").resolved_model(200) == "regression"
    assert ForecastConfig(likelihood="normal").resolved_model(200) == "state_space"
    assert ForecastConfig(model="regression").resolved_model(200) == "regression"
    assert ForecastConfig(model="state_space").resolved_model(12) == "state_space"
    with pytest.raises(SpmConfigError, match="model"):
        BookingsForecaster(model="arima")


def test_mass_matrix_is_low_rank_for_the_regression_model_only_by_default():
    c = ForecastConfig()
    assert c.mass_matrix == "auto"
    assert c.resolved_mass_matrix("regression", 239) == "low_rank"  # the sample company
    assert c.resolved_mass_matrix("regression", LOW_RANK_MAX_PARAMETERS) == "low_rank"
    assert c.resolved_mass_matrix("regression", LOW_RANK_MAX_PARAMETERS + 1) == "diagonal"
    assert c.resolved_mass_matrix("state_space") == "diagonal"
    assert ForecastConfig(mass_matrix="diagonal").resolved_mass_matrix("regression") == "diagonal"
    assert ForecastConfig(mass_matrix="low_rank").resolved_mass_matrix("state_space") == "low_rank"
    with pytest.raises(SpmConfigError, match="mass_matrix"):
        BookingsForecaster(mass_matrix="dense")


class _Sampled(Exception):
    """Raised by the stand-in sampler with the keyword arguments it was given."""


@pytest.mark.parametrize(
    "months,setting,expect",
    [(30, "auto", True), (60, "auto", False), (30, "diagonal", False), (60, "low_rank", True)],
)
def test_nutpie_gets_the_low_rank_mass_matrix_when_resolved(monkeypatch, months, setting, expect):
    import pymc as pm

    from spm_model.forecast import simulate_panel

    def stand_in(*args, **kwargs):
        raise _Sampled(kwargs)

    monkeypatch.setattr(pm, "sample", stand_in)
    panel, _ = simulate_panel(n_reps=4, n_months=months, n_regions=1, teams_per_region=2, seed=1)
    panel = panel[panel["bookings"] > 0]  # no zero months: 60 months are the state-space model's
    fc = BookingsForecaster(sampler="nutpie", mass_matrix=setting)
    with pytest.raises(_Sampled) as got:
        fc.fit(panel)
    kwargs = got.value.args[0]
    assert kwargs["nuts_sampler"] == "nutpie"
    assert kwargs["nuts_sampler_kwargs"].get("low_rank_modified_mass_matrix", False) is expect


def test_default_draws_depend_on_the_model_and_an_explicit_value_wins():
    c = ForecastConfig()
    assert c.draws is None
    assert c.resolved_draws("regression") == 2000
    assert c.resolved_draws("state_space") == 1500
    assert ForecastConfig(draws=200).resolved_draws("regression") == 200
    with pytest.raises(SpmConfigError, match="draws"):
        BookingsForecaster(draws=5)


def test_seasonality_option_builds_the_pattern_it_names():
    """'fixed' (default) has no gain; 'evolving' adds it to the series' fixed deviations;
    'evolving_common' has the gain and no fixed deviations."""
    import warnings

    from spm_model.forecast import simulate_panel
    from spm_model.forecast.model import make_design
    from spm_model.forecast.statespace import build_ss_model

    assert ForecastConfig().seasonality == "fixed"
    panel, _ = simulate_panel(n_reps=4, n_months=30, n_regions=1, teams_per_region=1, seed=2)
    design = make_design(panel, 12)
    expect = {
        "fixed": (False, True),
        "evolving": (True, True),
        "evolving_common": (True, False),
    }
    for name, (gain, deviations) in expect.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build_ss_model(design, "student_t", seasonality=name)
        names = set(model.named_vars)
        assert ("season_gain" in names) is gain, name
        assert ("sigma_season_rep" in names) is deviations, name
    with pytest.raises(ValueError, match="seasonality must be one of"):
        build_ss_model(design, "student_t", seasonality="drifting")


def test_an_unknown_seasonality_stops_the_cli_with_the_allowed_values():
    from typer.testing import CliRunner

    from spm_model.cli import app

    with pytest.raises(SpmConfigError, match="seasonality"):
        BookingsForecaster(seasonality="drifting")
    res = CliRunner().invoke(
        app,
        ["forecast-backtest", "--data", "data/sample", "--no-bayes", "--seasonality", "drifting"],
    )
    assert res.exit_code == 1
    assert "seasonality" in str(res.exception) + res.output


def test_drift_is_per_series_for_small_panels_and_shared_for_large_ones():
    from spm_model.forecast.config import AUTO_DRIFT_PER_SERIES_MAX
    from spm_model.forecast.estimator import build_configured_model, make_design, prepare_panel
    from spm_model.forecast.simulate import simulate_panel

    c = ForecastConfig()
    assert c.drift == "auto" and AUTO_DRIFT_PER_SERIES_MAX == 12
    assert c.resolved_drift(1) == "shared"  # one series: its drift is the panel's
    assert c.resolved_drift(2) == c.resolved_drift(6) == c.resolved_drift(12) == "per_series"
    assert c.resolved_drift(13) == c.resolved_drift(46) == "shared"
    assert ForecastConfig(drift="shared").resolved_drift(6) == "shared"
    assert ForecastConfig(drift="per_series").resolved_drift(50) == "per_series"
    with pytest.raises(SpmConfigError, match="drift"):
        BookingsForecaster(drift="own")
    # the model built for a 6-series panel has each series' drift; forced shared, it has not
    panel, _ = simulate_panel(n_reps=6, n_months=48, n_regions=2, teams_per_region=1, seed=0)
    design = make_design(prepare_panel(panel, None, None, None), 12)
    names = {v.name for v in build_configured_model(design, c, "state_space", True).free_RVs}
    assert {"sigma_drift_rep", "drift_rep_z", "drift"} <= names
    shared = ForecastConfig(drift="shared")
    names = {v.name for v in build_configured_model(design, shared, "state_space", True).free_RVs}
    assert "drift" in names and not names & {"sigma_drift_rep", "drift_rep_z"}


def test_level_noise_has_its_own_regime_walk_on_panels_of_many_series_with_regimes():
    from spm_model.forecast.config import AUTO_OWN_LEVEL_REGIME_MIN_SERIES
    from spm_model.forecast.datasets import txhousing_panel
    from spm_model.forecast.estimator import build_configured_model, make_design, prepare_panel
    from spm_model.forecast.simulate import simulate_panel

    c = ForecastConfig()
    assert c.level_regime == "auto" and AUTO_OWN_LEVEL_REGIME_MIN_SERIES == 20
    assert c.resolved_level_regime(7) == c.resolved_level_regime(19) == "shared"
    assert c.resolved_level_regime(20) == c.resolved_level_regime(46) == "own"
    assert c.resolved_level_regime(46, shows_regimes=False) == "shared"
    assert ForecastConfig(level_regime="shared").resolved_level_regime(46) == "shared"
    assert ForecastConfig(level_regime="own").resolved_level_regime(6, False) == "own"
    with pytest.raises(SpmConfigError, match="level_regime"):
        BookingsForecaster(level_regime="per_series")

    def built(panel, cfg):
        design = make_design(prepare_panel(panel, None, None, None), 12)
        model = build_configured_model(design, cfg, "state_space", True)
        return model.spm_ss.level_regime, {v.name for v in model.free_RVs}

    # Texas home sales: 46 series whose noise moved with the crash: the own walk
    form, names = built(txhousing_panel("sales"), c)
    assert form == "own" and {"sigma_level_regime", "level_regime_z"} <= names
    form, names = built(txhousing_panel("sales"), ForecastConfig(level_regime="shared"))
    assert form == "shared" and not names & {"sigma_level_regime", "level_regime_z"}
    # 20 simulated series with one noise level throughout: nothing for a walk to learn
    panel, _ = simulate_panel(n_reps=20, n_months=60, n_regions=2, teams_per_region=2, seed=0)
    form, names = built(panel, c)
    assert form == "shared" and "sigma_noise_regime" in names
    assert built(panel, ForecastConfig(level_regime="own"))[0] == "own"


def test_evolving_patterns_sample_their_initial_states_non_centred():
    """Where the data weight half-centres the fixed deviations (Texas), an evolving pattern's
    deviations, only its initial states, are sampled non-centred."""
    from pytensor.graph.basic import ancestors

    from spm_model.forecast.datasets import txhousing_panel
    from spm_model.forecast.estimator import build_configured_model, make_design, prepare_panel

    design = make_design(prepare_panel(txhousing_panel("sales"), None, None, None), 12)

    def z_depends_on_scale(seasonality):
        cfg = ForecastConfig(seasonality=seasonality)
        model = build_configured_model(design, cfg, "state_space", True)
        assert model.spm_ss.season_centring == 0.5  # the data weight's choice
        z = model["season_rep_z"]
        return model["sigma_season_rep"] in set(ancestors(z.owner.inputs))

    assert z_depends_on_scale("fixed")  # half-centred: z ~ N(0, sigma^0.5)
    assert not z_depends_on_scale("evolving")  # non-centred: z ~ N(0, 1)


def test_series_seasonal_deviations_sum_to_zero_over_series_and_months():
    """The shared pattern is the series' average: the deviations sum to zero over the series as
    well as over the months, so the shared pattern and the deviations' mean do not trade off
    (that ridge held the shared February effect at bulk ESS 391 on Texas at 2014-07)."""
    import numpy as np
    import pymc as pm

    from spm_model.forecast import simulate_panel
    from spm_model.forecast.estimator import build_configured_model, make_design, prepare_panel

    panel, _ = simulate_panel(n_reps=5, n_months=48, n_regions=1, teams_per_region=1, seed=3)
    design = make_design(prepare_panel(panel, None, None, None), 12)
    for seasonality in ("fixed", "evolving"):
        model = build_configured_model(
            design, ForecastConfig(seasonality=seasonality), "state_space", True
        )
        dev = pm.draw(model["season_rep"], random_seed=1)
        assert dev.shape == (5, 12) and np.abs(dev).max() > 1e-3
        np.testing.assert_allclose(dev.sum(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(dev.sum(axis=1), 0.0, atol=1e-12)


def test_series_seasonal_deviations_are_normal_by_default_and_student_t_on_request(monkeypatch):
    """``season_deviations="student_t"``: the deviations' free draws are Student-t with
    SEASON_REP_NU degrees of freedom; by default (and with the module setting off), the
    zero-sum normal. Called directly, the model builder follows ``SEASON_REP_TAILS``."""
    from spm_model.forecast import simulate_panel, statespace
    from spm_model.forecast.estimator import build_configured_model, make_design, prepare_panel

    panel, _ = simulate_panel(n_reps=6, n_months=60, n_regions=1, teams_per_region=1, seed=4)
    design = make_design(prepare_panel(panel, None, None, None), 12)
    assert ForecastConfig().season_deviations == "normal"
    assert statespace.SEASON_REP_TAILS is False
    for tails, op in ((True, "StudentT"), (False, "ZeroSumNormal")):
        cfg = ForecastConfig(season_deviations="student_t" if tails else "normal")
        model = build_configured_model(design, cfg, "state_space", True)
        z = model["season_rep_z"]
        assert type(z.owner.op).__name__.startswith(op)
        monkeypatch.setattr(statespace, "SEASON_REP_TAILS", tails)
        z = statespace.build_ss_model(design)["season_rep_z"]
        assert type(z.owner.op).__name__.startswith(op)
        if tails:
            nu = z.owner.inputs[-3]  # ..., nu, mu, sigma
            assert float(nu.eval().item()) == statespace.SEASON_REP_NU
