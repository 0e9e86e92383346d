"""Bayesian forecasting of bookings per rep (middle layer: imports only data and plans).

* :class:`BookingsForecaster` - hierarchical hurdle model in PyMC: configure,
  ``fit(dataset or panel)``, ``predict(horizon)`` -> draws ``(sample, rep, month)``;
* :func:`monthly_bookings` - the owner-attributed monthly panel it learns from;
* :func:`rollup`, :func:`interval_table`, :func:`quota_attainment_probability`,
  :func:`commission_accrual` - what finance reads from the draws;
* :func:`fan_chart`, :func:`ppc_plot` - plots;
* baselines (:class:`SeasonalNaive`, :class:`ETSBaseline`, :class:`SARIMAXBaseline`)
  and the rolling-origin :func:`backtest`.
"""

from spm_model.forecast.accrual import accrual_from_dataset, commission_accrual
from spm_model.forecast.backtest import BacktestResult, backtest
from spm_model.forecast.baselines import BASELINES, ETSBaseline, SARIMAXBaseline, SeasonalNaive
from spm_model.forecast.config import ForecastConfig
from spm_model.forecast.diagnostics import ConvergenceWarning, Diagnostics
from spm_model.forecast.estimator import BookingsForecaster
from spm_model.forecast.metrics import crps_samples, interval_hits, mape, wape
from spm_model.forecast.outputs import interval_table, quota_attainment_probability, rollup
from spm_model.forecast.panel import attribute_to_owners, check_panel, monthly_bookings
from spm_model.forecast.plots import fan_chart, ppc_plot
from spm_model.forecast.simulate import simulate_panel

__all__ = [
    "BASELINES",
    "BacktestResult",
    "BookingsForecaster",
    "ConvergenceWarning",
    "Diagnostics",
    "ETSBaseline",
    "ForecastConfig",
    "SARIMAXBaseline",
    "SeasonalNaive",
    "accrual_from_dataset",
    "attribute_to_owners",
    "backtest",
    "check_panel",
    "commission_accrual",
    "crps_samples",
    "fan_chart",
    "interval_hits",
    "interval_table",
    "mape",
    "monthly_bookings",
    "ppc_plot",
    "quota_attainment_probability",
    "rollup",
    "simulate_panel",
    "wape",
]
