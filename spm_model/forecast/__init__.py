"""Bayesian forecasting of bookings per rep (models layer: data, plans and crediting).

* :class:`BookingsForecaster` - hierarchical hurdle model in PyMC: configure,
  ``fit(dataset or panel)``, ``predict(horizon)`` -> draws ``(sample, rep, month)``;
* :func:`monthly_bookings` - the monthly panel it learns from: the direct owner's
  selling credit from the one crediting result (:func:`selling_credit`);
* :func:`rollup`, :func:`interval_table`, :func:`quota_attainment_probability`,
  :func:`commission_accrual` - what finance reads from the draws;
* :func:`fan_chart`, :func:`ppc_plot` - plots;
* baselines (:class:`SeasonalNaive`, :class:`ETSBaseline`, :class:`SARIMAXBaseline`)
  and the rolling-origin :func:`backtest`;
* :func:`warm_up` - compile the models' building blocks once (``spm warmup``).

The names are re-exported lazily (module ``__getattr__``, PEP 562), so importing
a light submodule such as :mod:`spm_model.forecast.config` (the CLI's defaults)
does not import pandas, PyMC or statsmodels.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "accrual_from_dataset": "spm_model.forecast.accrual",
    "commission_accrual": "spm_model.forecast.accrual",
    "BacktestResult": "spm_model.forecast.backtest",
    "backtest": "spm_model.forecast.backtest",
    "BASELINES": "spm_model.forecast.baselines",
    "ETSBaseline": "spm_model.forecast.baselines",
    "SARIMAXBaseline": "spm_model.forecast.baselines",
    "SeasonalNaive": "spm_model.forecast.baselines",
    "ForecastConfig": "spm_model.forecast.config",
    "ConvergenceWarning": "spm_model.forecast.diagnostics",
    "ModelFitWarning": "spm_model.forecast.diagnostics",
    "Diagnostics": "spm_model.forecast.diagnostics",
    "BookingsForecaster": "spm_model.forecast.estimator",
    "crps_samples": "spm_model.forecast.metrics",
    "interval_hits": "spm_model.forecast.metrics",
    "mape": "spm_model.forecast.metrics",
    "wape": "spm_model.forecast.metrics",
    "interval_table": "spm_model.forecast.outputs",
    "quota_attainment_probability": "spm_model.forecast.outputs",
    "rollup": "spm_model.forecast.outputs",
    "SELLING_RULES": "spm_model.forecast.panel",
    "check_panel": "spm_model.forecast.panel",
    "monthly_bookings": "spm_model.forecast.panel",
    "selling_credit": "spm_model.forecast.panel",
    "read_panel": "spm_model.forecast.panel_file",
    "fan_chart": "spm_model.forecast.plots",
    "ppc_plot": "spm_model.forecast.plots",
    "simulate_panel": "spm_model.forecast.simulate",
    "warm_up": "spm_model.forecast.warmup",
}

__all__ = [
    "BASELINES",
    "SELLING_RULES",
    "BacktestResult",
    "BookingsForecaster",
    "ConvergenceWarning",
    "Diagnostics",
    "ETSBaseline",
    "ForecastConfig",
    "ModelFitWarning",
    "SARIMAXBaseline",
    "SeasonalNaive",
    "accrual_from_dataset",
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
    "read_panel",
    "rollup",
    "selling_credit",
    "simulate_panel",
    "wape",
    "warm_up",
]


def __getattr__(name: str) -> Any:
    """Import a re-exported name from its submodule on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the module's names including the lazy re-exports."""
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """The package module: a submodule never shadows the function it re-exports.

    Importing ``spm_model.forecast.backtest`` makes Python set the package
    attribute ``backtest`` to the submodule; the eager ``from ... import
    backtest`` used to rebind it to the function, and this keeps doing so.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{name}"
            and _EXPORTS.get(name) == value.__name__
            and hasattr(value, name)
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:
    from spm_model.forecast.accrual import accrual_from_dataset, commission_accrual
    from spm_model.forecast.backtest import BacktestResult, backtest
    from spm_model.forecast.baselines import BASELINES, ETSBaseline, SARIMAXBaseline, SeasonalNaive
    from spm_model.forecast.config import ForecastConfig
    from spm_model.forecast.diagnostics import ConvergenceWarning, Diagnostics, ModelFitWarning
    from spm_model.forecast.estimator import BookingsForecaster
    from spm_model.forecast.metrics import crps_samples, interval_hits, mape, wape
    from spm_model.forecast.outputs import interval_table, quota_attainment_probability, rollup
    from spm_model.forecast.panel import (
        SELLING_RULES,
        check_panel,
        monthly_bookings,
        selling_credit,
    )
    from spm_model.forecast.panel_file import read_panel
    from spm_model.forecast.plots import fan_chart, ppc_plot
    from spm_model.forecast.simulate import simulate_panel
    from spm_model.forecast.warmup import warm_up
