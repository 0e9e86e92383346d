"""Choice of centred or non-centred sampling from how strongly the data inform an effect."""

from __future__ import annotations

import numpy as np

from spm_model.forecast.centring import (
    HALF_CENTRED,
    MIN_DATA_WEIGHT,
    centring,
    data_weights,
    sigma_centring,
)

N_R, N_T = 30, 180


def _panel(season_dev_sd: float, regime_jump: float, seed: int = 0):
    """Log amounts: a shared season, per-series deviations and, in older blocks, louder noise."""
    rng = np.random.default_rng(seed)
    fm = np.arange(N_T) % 12
    block = (N_T - 1 - np.arange(N_T)) // 6
    shared = 0.3 * np.sin(2 * np.pi * np.arange(12) / 12)
    dev = season_dev_sd * rng.normal(size=(N_R, 12))
    dev -= dev.mean(axis=1, keepdims=True)
    # the noise scale walks over the blocks by steps of `regime_jump` (log scale)
    walk = np.concatenate([[0.0], np.cumsum(regime_jump * rng.normal(size=block.max()))])
    noise = 0.1 * np.exp(walk[block])[None, :] * rng.normal(size=(N_R, N_T))
    level = 5.0 + np.cumsum(0.01 * rng.normal(size=(N_R, N_T)), axis=1)
    log_y = level + shared[fm][None, :] + dev[:, fm] + noise
    positive = (rng.random((N_R, N_T)) > 0.05).astype(float)
    return np.where(positive > 0, log_y, 0.0), positive, fm, block


def test_strong_seasonal_deviations_and_volatility_regimes_are_half_centred():
    w = data_weights(*_panel(season_dev_sd=0.15, regime_jump=0.4))
    assert w["season_weight"] > 0.5
    assert w["regime_weight"] > 0.5
    assert 0.08 < w["season_sd"] < 0.25  # the planted spread is 0.15 (less the row means)
    assert centring(w) == (HALF_CENTRED, HALF_CENTRED)


def test_no_deviations_and_constant_noise_stay_non_centred():
    w = data_weights(*_panel(season_dev_sd=0.0, regime_jump=0.0))
    assert w["season_weight"] < 0.5
    assert w["regime_weight"] < 0.5
    assert centring(w) == (0.0, 0.0)


def test_each_effect_is_judged_on_its_own():
    w = data_weights(*_panel(season_dev_sd=0.15, regime_jump=0.0))
    assert centring(w) == (HALF_CENTRED, 0.0)
    w = data_weights(*_panel(season_dev_sd=0.0, regime_jump=0.4))
    assert centring(w) == (0.0, HALF_CENTRED)


def test_handmade_weight_by_hand():
    """Two series, 4 years, deviations +-0.2 in month 0 only, no noise: the data weigh fully."""
    n_t = 48
    fm = np.arange(n_t) % 12
    log_y = np.full((2, n_t), 3.0)
    log_y[0, fm == 0] += 0.2
    log_y[1, fm == 0] -= 0.2
    w = data_weights(log_y, np.ones((2, n_t)), fm, np.zeros(n_t, dtype=int))
    assert w["season_weight"] > 0.99
    assert w["regime_weight"] == 0.0  # one block: nothing to judge a walk on


def test_short_noisy_series_without_deviations_are_not_mistaken_for_seasonal():
    """Four years of pure noise: about three months per month-of-year cell after the trend.

    Each series' twelve cell means use up twelve of its ~36 residuals' degrees of freedom; the
    within-cell variance is divided by what is left, so the noise is not read as deviations.
    """
    rng = np.random.default_rng(3)
    n_r, n_t = 60, 48
    fm = np.arange(n_t) % 12
    log_y = 5.0 + 0.3 * rng.normal(size=(n_r, n_t))
    w = data_weights(log_y, np.ones((n_r, n_t)), fm, (n_t - 1 - np.arange(n_t)) // 6)
    # the standard error of one cell mean: sd 0.3 (the residuals' sd about the moving average)
    # over about three months a cell
    assert 0.13 < w["season_se"] < 0.22
    assert w["season_weight"] < 0.2
    assert centring(w)[0] == 0.0


def _noise_panel(log_sd_spread: float, n_t: int, seed: int = 0):
    """Series whose noise scales differ by a log-normal spread of ``log_sd_spread``."""
    rng = np.random.default_rng(seed)
    fm = np.arange(n_t) % 12
    scale = 0.1 * np.exp(log_sd_spread * rng.normal(size=N_R))
    log_y = 5.0 + scale[:, None] * rng.normal(size=(N_R, n_t))
    return log_y, np.ones((N_R, n_t)), fm, (n_t - 1 - np.arange(n_t)) // 6


def test_noise_scales_that_differ_clearly_are_sampled_centred():
    """Noise sds spread by a factor e^0.5 over 15 years: each series pins its own down."""
    w = data_weights(*_noise_panel(0.5, 180))
    assert w["sigma_weight"] > 0.9
    assert 0.3 < w["sigma_sd"] < 0.7
    assert sigma_centring(w) == 1.0


def test_equal_noise_scales_are_sampled_non_centred():
    """One noise scale for all series: the pooled sd's funnel is avoided (non-centred)."""
    w = data_weights(*_noise_panel(0.0, 60))
    assert w["sigma_weight"] < MIN_DATA_WEIGHT
    assert sigma_centring(w) == 0.0


def test_noise_scales_weighed_alike_by_data_and_pooling_are_half_centred():
    """Handmade weights: the thresholds, and a missing weight keeps the centred form."""
    assert sigma_centring({"sigma_weight": 0.6}) == HALF_CENTRED
    assert sigma_centring({"sigma_weight": 0.95}) == 1.0
    assert sigma_centring({"sigma_weight": 0.85}) == 1.0  # Texas from 2010: 0.89
    assert sigma_centring({"sigma_weight": 0.75}) == HALF_CENTRED
    assert sigma_centring({"sigma_weight": 0.2}) == 0.0
    assert sigma_centring({}) == 1.0
