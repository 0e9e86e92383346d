"""Scores: CRPS against closed forms, coverage, WAPE and MAPE."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spm_model.forecast.metrics import crps_samples, interval_hits, mape, wape


def test_crps_of_a_point_forecast_is_the_absolute_error():
    x = np.full((7, 3), 5.0)
    np.testing.assert_allclose(crps_samples(x, np.array([5.0, 7.0, 1.5])), [0.0, 2.0, 3.5])


def test_crps_matches_the_normal_closed_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 1))
    for y in (0.0, 1.3, -2.0):
        exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi)
        assert crps_samples(x, np.array([y]))[0] == pytest.approx(exact, abs=0.01)


def test_crps_equals_the_brute_force_energy_form():
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, size=(50, 4))
    y = rng.gamma(2.0, size=4)
    brute = np.abs(x - y).mean(0) - 0.5 * np.abs(x[:, None, :] - x[None, :, :]).mean((0, 1))
    np.testing.assert_allclose(crps_samples(x, y), brute)


def test_interval_hits_and_levels():
    x = np.arange(1, 101, dtype=float)[:, None] * np.ones((1, 3))
    hits = interval_hits(x, np.array([50.0, 5.0, 99.0]), 0.8)
    assert hits.tolist() == [True, False, False]
    with pytest.raises(ValueError):
        interval_hits(x, np.zeros(3), 1.2)


def test_wape_and_mape():
    assert wape(np.array([100.0, 0.0, 100.0]), np.array([90.0, 10.0, 120.0])) == pytest.approx(0.2)
    assert mape(np.array([100.0, 0.0, 50.0]), np.array([90.0, 10.0, 60.0])) == pytest.approx(0.15)
    assert np.isnan(wape(np.zeros(2), np.ones(2)))


def test_gamma_draws_have_mean_exp_mu_and_the_hurdle_share():
    from spm_model.forecast.model import draw_bookings

    rng = np.random.default_rng(5)
    mu = np.full((200_000, 1), np.log(1000.0))
    sigma = np.full_like(mu, 0.8)
    y = draw_bookings({}, mu, np.full_like(mu, 2.0), sigma, rng, likelihood="gamma")
    pos = y[y > 0]
    assert (y == 0).mean() == pytest.approx(1 / (1 + np.exp(2.0)), abs=0.005)
    assert pos.mean() == pytest.approx(1000.0, rel=0.01)
    assert pos.std() / pos.mean() == pytest.approx(0.8, rel=0.02)
    assert np.median(np.log(pos)) > np.mean(np.log(pos))  # log amounts skewed to the left


def test_interval_content_is_nominal_without_atoms_and_larger_with_one():
    from spm_model.forecast.metrics import interval_content

    rng = np.random.default_rng(3)
    smooth = rng.gamma(2.0, 1.0, size=(20_000, 3))
    np.testing.assert_allclose(interval_content(smooth, 0.8), 0.8, atol=1e-3)
    atom = np.where(rng.random((20_000, 1)) < 0.3, 0.0, rng.gamma(2.0, 1.0, size=(20_000, 1)))
    # 30% at zero: the 10-90% interval runs from 0 and holds P(y <= q90) = 90%
    assert interval_content(atom, 0.8)[0] == pytest.approx(0.9, abs=0.005)
    with pytest.raises(ValueError):
        interval_content(smooth, 1.2)


def test_nominal_interval_holds_the_nominal_probability_with_an_atom_at_zero():
    from spm_model.forecast.metrics import interval_bounds, interval_content

    rng = np.random.default_rng(4)
    n = 40_000
    positive = rng.gamma(2.0, 1.0, size=(n, 1))
    x = np.hstack([positive, np.where(rng.random((n, 1)) < 0.3, 0.0, positive)])
    lo_c, hi_c = interval_bounds(x, 0.8, "central")
    lo_n, hi_n = interval_bounds(x, 0.8, "nominal")
    # no atom: the same interval; with a 30% atom: [0, q80] instead of [0, q90]
    assert lo_n[0] == lo_c[0] and hi_n[0] == hi_c[0]
    assert lo_n[1] == 0.0 and hi_n[1] == pytest.approx(np.quantile(x[:, 1], 0.8))
    np.testing.assert_allclose(interval_content(x, 0.8, "nominal"), 0.8, atol=2e-3)
    # a calibrated forecast covers the nominal share of outcomes drawn from itself
    y = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, 1.0, size=n))
    samples = np.repeat(x[:2000, 1:2], 500, axis=1)  # the same forecast for 500 outcomes
    hits = interval_hits(samples, y[:500], 0.8, "nominal")
    assert hits.mean() == pytest.approx(0.8, abs=0.05)
    assert interval_hits(samples, y[:500], 0.8, "central").mean() > 0.85
    with pytest.raises(ValueError, match="kind"):
        interval_bounds(x, 0.8, "shortest")


def test_amounts_keep_three_significant_figures_below_100():
    from spm_model.forecast.metrics import format_amount

    assert format_amount(122_761.4) == "122,761"
    assert format_amount(100.0) == "100"
    assert format_amount(12.345) == "12.3"
    assert format_amount(0.4123) == "0.412"  # months of inventory read "0" in whole units
    assert format_amount(float("nan")) == "nan"
