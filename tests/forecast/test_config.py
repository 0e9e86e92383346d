"""Which model the default settings fit: ``model="auto"``."""

from __future__ import annotations

import pytest

from spm_model.errors import SpmConfigError
from spm_model.forecast import BookingsForecaster
from spm_model.forecast.config import AUTO_STATE_SPACE_MONTHS, ForecastConfig


def test_auto_is_the_default_and_picks_state_space_for_long_histories():
    c = ForecastConfig()
    assert c.model == "auto"
    assert AUTO_STATE_SPACE_MONTHS == 48
    # the sample company (36 months) and other short rep histories: the regression model
    assert c.resolved_model(36) == "regression"
    assert c.resolved_model(47) == "regression"
    assert c.resolved_model(None) == "regression"
    # long real panels (the Texas housing panel: 187 months)
    assert c.resolved_model(48) == "state_space"
    assert c.resolved_model(187) == "state_space"
    assert c.resolved_likelihood("state_space") == "student_t"
    assert c.resolved_likelihood("regression") == "generalized_gamma"


def test_auto_keeps_the_regression_model_for_its_own_likelihoods_and_explicit_choices():
    assert ForecastConfig(likelihood="gamma").resolved_model(200) == "regression"
    assert ForecastConfig(likelihood="generalized_gamma").resolved_model(200) == "regression"
    assert ForecastConfig(likelihood="normal").resolved_model(200) == "state_space"
    assert ForecastConfig(model="regression").resolved_model(200) == "regression"
    assert ForecastConfig(model="state_space").resolved_model(12) == "state_space"
    with pytest.raises(SpmConfigError, match="model"):
        BookingsForecaster(model="arima")
