"""The PyMC graph of the forecast model against textbook densities, without sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from spm_model.forecast import simulate_panel
from spm_model.forecast.model import (
    RAMP_HORIZON,
    build_model,
    business_day_deviation,
    easter_deviation,
    linear_predictors,
    log_ramp_fraction,
    make_design,
    make_grid,
)


@pytest.fixture(scope="module")
def design():
    panel, _ = simulate_panel(n_reps=12, n_months=30, seed=5, likelihood="gamma")
    return make_design(panel)


def _at_prior_draw(d, likelihood, seed, quarter_noise):
    """Build the model and take one joint prior draw of its free variables.

    Returns the draw, the numpy predictors ``(mu, logit, sigma)`` there, and
    the model's log-likelihood terms evaluated there (name -> value).
    """
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    model = build_model(d, likelihood, quarter_noise=quarter_noise)
    values = pm.draw(model.free_RVs, random_seed=seed)
    point = {rv.name: np.asarray(v) for rv, v in zip(model.free_RVs, values, strict=True)}
    givens = {rv: pt.constant(point[rv.name].astype(rv.dtype)) for rv in model.free_RVs}
    terms = [model["log_sigma_rep"], *model.potentials]
    log_sigma_rep, *pots = (v.eval() for v in pytensor.clone_replace(terms, givens))
    p = {k: v[None] for k, v in point.items()}
    p["log_sigma_rep"] = log_sigma_rep[None]
    assert np.ptp(d.business_days) > 0 and "business_days" in point
    assert np.ptp(d.easter) > 0 and "easter" in point  # the 30 months hold two Easters
    predictors = linear_predictors(
        p, d.rep_idx, d.years, d.fiscal_month, d.tenure, d.block, d.lag12, d.business_days,
        easter=d.easter,
    )  # fmt: skip
    assert ("log_sigma_month_of_quarter" in point) == quarter_noise
    return point, predictors, {v.name: x for v, x in zip(model.potentials, pots, strict=True)}


@pytest.mark.parametrize("seed,quarter_noise", [(1, False), (2, True)])
def test_gamma_potential_is_the_sum_of_gamma_and_bernoulli_densities(design, seed, quarter_noise):
    d = design
    _, (mu, logit, sigma), loglik = _at_prior_draw(d, "gamma", seed, quarter_noise)
    pos = d.y > 0
    shape = 1.0 / sigma[0, pos] ** 2
    expected = stats.gamma.logpdf(d.y[pos], a=shape, scale=np.exp(mu[0, pos]) / shape).sum()
    assert loglik["bookings_loglik"] == pytest.approx(expected, rel=1e-9)
    hurdle = stats.bernoulli.logpmf(pos.astype(int), 1.0 / (1.0 + np.exp(-logit[0]))).sum()
    assert loglik["has_bookings_loglik"] == pytest.approx(hurdle, rel=1e-9)


def test_grid_holds_every_observation_once(design):
    g = make_grid(design)
    assert g.observed.sum() == design.n_obs
    np.testing.assert_array_equal(g.y[design.rep_idx, design.month_idx], design.y)
    assert g.positive.sum() == (design.y > 0).sum()
    assert (g.y[g.observed == 0] == 0).all()


def test_ramp_is_complete_at_the_horizon():
    tenure = np.array([0.0, 3.0, RAMP_HORIZON - 1, RAMP_HORIZON, 200.0])
    r = np.exp(log_ramp_fraction(tenure, 3.0))
    assert r[0] == pytest.approx(1 - np.exp(-0.5 / 3))
    assert np.all(np.diff(r) >= 0) and r[-2] == 1.0 and r[-1] == 1.0


@pytest.mark.parametrize("seed,quarter_noise", [(3, False), (4, True)])
def test_generalized_gamma_potential_is_scipys_gengamma(design, seed, quarter_noise):
    from scipy.special import digamma, polygamma

    d = design
    point, (mu, _, sigma), loglik = _at_prior_draw(d, "generalized_gamma", seed, quarter_noise)
    pos = d.y > 0
    k = float(point["gg_shape"])
    root = np.sqrt(polygamma(1, k))
    s = sigma[0, pos]
    expected = stats.gengamma.logpdf(
        d.y[pos], a=k, c=root / s, scale=np.exp(mu[0, pos] - s * digamma(k) / root)
    ).sum()
    assert loglik["bookings_loglik"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("likelihood", ["gamma", "generalized_gamma", "student_t", "normal"])
def test_draws_have_the_model_location_and_scale(likelihood):
    """log amounts have mean mu and sd sigma (gamma: mean exp(mu) and CV sigma)."""
    from spm_model.forecast.model import draw_bookings

    rng = np.random.default_rng(0)
    n = 200_000
    p = {"nu": np.array([30.0]), "gg_shape": np.array([2.0])}
    mu, sigma = np.full((1, n), 1.5), np.full((1, n), 0.4)
    y = draw_bookings(p, mu, None, sigma, rng, likelihood=likelihood)
    if likelihood == "gamma":
        assert y.mean() == pytest.approx(np.exp(1.5), rel=0.01)
        assert y.std() / y.mean() == pytest.approx(0.4, rel=0.02)
    else:
        sd = 0.4 * (np.sqrt(30 / 28) if likelihood == "student_t" else 1.0)
        assert np.log(y).mean() == pytest.approx(1.5, abs=0.005)
        assert np.log(y).std() == pytest.approx(sd, rel=0.02)
    with pytest.raises(ValueError, match="unknown likelihood"):
        draw_bookings(p, mu, None, sigma, rng, likelihood="poisson")


def test_digamma_and_trigamma_match_scipy():
    from scipy.special import digamma as scipy_digamma
    from scipy.special import polygamma

    from spm_model.forecast.model import digamma, trigamma

    x = np.geomspace(0.01, 1e4, 200)
    np.testing.assert_allclose(trigamma(x), polygamma(1, x), rtol=1e-9)
    np.testing.assert_allclose(digamma(x), scipy_digamma(x), rtol=1e-9, atol=1e-12)


def test_team_deviations_sum_to_zero_within_each_region_by_hand():
    """Regions of two, one and three teams: zero sums, unit variances, no deviation alone."""
    from spm_model.forecast.model import zero_sum_within

    m = zero_sum_within(np.array([0, 0, 1, 2, 2, 2]))
    # two teams: (z0 - z1) / sqrt(2) and its negative
    np.testing.assert_allclose(m[0], [0.5 * np.sqrt(2), -0.5 * np.sqrt(2), 0, 0, 0, 0])
    np.testing.assert_allclose(m[2], 0.0)  # the region's only team
    np.testing.assert_allclose(m[3], np.sqrt(1.5) * np.array([0, 0, 0, 2 / 3, -1 / 3, -1 / 3]))
    z = np.random.default_rng(0).normal(size=(6, 4))
    dev = m @ z
    np.testing.assert_allclose(dev[:2].sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(dev[3:].sum(axis=0), 0.0, atol=1e-12)
    # each deviation of a region with more than one team is standard normal marginally
    np.testing.assert_allclose(np.diag(m @ m.T), [1, 1, 0, 1, 1, 1])


def test_business_day_deviation_counts_weekdays_against_the_calendar_months_usual():
    months = pd.DatetimeIndex(["2014-03-01", "2016-02-01", "2015-02-01", "2014-11-01"])
    # March 2014: 21 weekdays, usual 22 1/7; February 2016 (leap, from a Monday): 21 against
    # 20 5/28; February 2015: exactly 20; November 2014: 20 against 21 3/7
    expected = [21 - 155 / 7, 21 - 565 / 28, 20 - 565 / 28, 20 - 150 / 7]
    assert business_day_deviation(months) == pytest.approx(expected)
    cycle = pd.date_range("2001-01-01", "2028-12-01", freq="MS")
    by_month = pd.Series(business_day_deviation(cycle)).groupby(cycle.month).mean()
    assert np.allclose(by_month, 0.0)


def test_easter_deviation_is_the_share_of_the_week_before_easter_in_march_and_april():
    """Handmade: Easter on 27 March 2016, 4 April 2010 and 21 April 2019."""
    from spm_model.forecast.model import _usual_easter_share

    usual = _usual_easter_share(8)
    assert usual[2] + usual[3] == pytest.approx(1.0) and usual[[0, 1, *range(4, 12)]].sum() == 0
    months = pd.DatetimeIndex(
        ["2016-03-01", "2016-04-01", "2010-03-01", "2010-04-01", "2019-03-01", "2019-04-01",
         "2019-05-01", "2016-12-01"]
    )  # fmt: skip
    # 2016: 19-26 March, all eight days in March; 2010: 27 March - 3 April, five in March;
    # 2019: 13-20 April, none in March; other months never hold any
    share = np.array([1.0, 0.0, 5 / 8, 3 / 8, 0.0, 1.0, 0.0, 0.0])
    expected = share - np.array([usual[2], usual[3]] * 3 + [0.0, 0.0])
    assert easter_deviation(months) == pytest.approx(expected)
    # one day: Holy Saturday, in March for Easter on 1 April (2018), in April for 8 April (2012)
    one = easter_deviation(pd.DatetimeIndex(["2018-03-01", "2012-03-01"]), window=1)
    assert one == pytest.approx([1.0 - _usual_easter_share(1)[2], -_usual_easter_share(1)[2]])
    with pytest.raises(ValueError, match="1 to 21 days"):
        easter_deviation(months, window=30)  # would reach into February
    # centred: no calendar month's usual level moves
    years = pd.date_range("1901-01-01", "2099-12-01", freq="MS")
    by_month = pd.Series(easter_deviation(years)).groupby(years.month).mean()
    assert np.allclose(by_month, 0.0)
