"""spm_model: sales performance management modelling for Jupyter and batch reports.

Comp plans as code with exact statements, Monte Carlo comp-cost simulation, quota
setting, territory optimisation, Bayesian forecasts and performance analytics.
The public API of every area is re-exported here; the CLI ``spm`` is a thin layer
over it.

The re-exports are lazy (module ``__getattr__``, PEP 562): ``import spm_model``
loads nothing heavy, and ``spm_model.calculate`` imports :mod:`spm_model.calc`
on first use. This keeps ``spm --help`` and light scripts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, attribute in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    # data and errors (bottom layer)
    "Dataset": ("spm_model.data", "Dataset"),
    "DatasetMeta": ("spm_model.data", "DatasetMeta"),
    "load_dataset": ("spm_model.data", "load_dataset"),
    "parse_period": ("spm_model.data", "parse_period"),
    "Problem": ("spm_model.errors", "Problem"),
    "SpmConfigError": ("spm_model.errors", "SpmConfigError"),
    "SpmDataError": ("spm_model.errors", "SpmDataError"),
    "SpmError": ("spm_model.errors", "SpmError"),
    # plans (bottom layer): plan specification and payout math
    "Plan": ("spm_model.plans", "Plan"),
    "PlanError": ("spm_model.plans", "PlanError"),
    "load_plan": ("spm_model.plans", "load_plan"),
    # top layer: notebook runner and report helpers (widgets: spm_model.widgets)
    "record": ("spm_model.reports", "record"),
    "render_html": ("spm_model.reports", "render_html"),
    "write_excel": ("spm_model.reports", "write_excel"),
    "run_batch": ("spm_model.runner", "run_batch"),
    "run_notebook": ("spm_model.runner", "run_notebook"),
    # crediting and exact calculation (middle layer): statements, explanations, replay
    "CalcResult": ("spm_model.calc", "CalcResult"),
    "calculate": ("spm_model.calc", "calculate"),
    "dispute_summary": ("spm_model.calc.replay", "dispute_summary"),
    "replay": ("spm_model.calc.replay", "replay"),
    "replay_many": ("spm_model.calc.replay", "replay_many"),
    # the synthetic company paid with its plans (generator + payroll, as `spm generate`)
    "generate_company": ("spm_model.calc.payroll", "generate_company"),
    "pay_company": ("spm_model.calc.payroll", "pay_company"),
    "ClawbackPolicy": ("spm_model.crediting", "ClawbackPolicy"),
    "CreditingResult": ("spm_model.crediting", "CreditingResult"),
    "credit_transactions": ("spm_model.crediting", "credit_transactions"),
    # simulate (middle layer): Monte Carlo comp cost (the function is
    # spm_model.simulate.simulate: re-exporting it here would hide the subpackage)
    "ScenarioModel": ("spm_model.simulate", "ScenarioModel"),
    "SimulationResult": ("spm_model.simulate", "SimulationResult"),
    # quota (middle layer): quota methods, allocation, phasing, fairness, backtests
    "QuotaResult": ("spm_model.quota", "QuotaResult"),
    "backtest": ("spm_model.quota", "backtest"),
    "fairness_report": ("spm_model.quota", "fairness_report"),
    "set_quotas": ("spm_model.quota", "set_quotas"),
    # forecast (middle layer): Bayesian bookings forecasts, baselines, backtest
    "BookingsForecaster": ("spm_model.forecast", "BookingsForecaster"),
    "ForecastConfig": ("spm_model.forecast", "ForecastConfig"),
    "forecast_backtest": ("spm_model.forecast", "backtest"),
    # performance (middle layer): scorecards, coaching flags, drivers, leaderboards, trends
    "attainment_drivers": ("spm_model.performance", "attainment_drivers"),
    "behind_pace": ("spm_model.performance", "behind_pace"),
    "coaching_flags": ("spm_model.performance", "coaching_flags"),
    "leaderboard": ("spm_model.performance", "leaderboard"),
    "scorecards": ("spm_model.performance", "scorecards"),
    # territory (middle layer): balanced, compact, low-disruption alignments (HiGHS)
    "AlignmentResult": ("spm_model.territory", "AlignmentResult"),
    "TerritoryProblem": ("spm_model.territory", "TerritoryProblem"),
    "solve_dataset": ("spm_model.territory", "solve_dataset"),
    "solve_territories": ("spm_model.territory", "solve"),
}

__all__ = [
    "AlignmentResult",
    "BookingsForecaster",
    "CalcResult",
    "ClawbackPolicy",
    "CreditingResult",
    "Dataset",
    "DatasetMeta",
    "ForecastConfig",
    "Plan",
    "PlanError",
    "Problem",
    "QuotaResult",
    "ScenarioModel",
    "SimulationResult",
    "SpmConfigError",
    "SpmDataError",
    "SpmError",
    "TerritoryProblem",
    "__version__",
    "attainment_drivers",
    "backtest",
    "behind_pace",
    "calculate",
    "coaching_flags",
    "credit_transactions",
    "dispute_summary",
    "fairness_report",
    "forecast_backtest",
    "generate_company",
    "leaderboard",
    "load_dataset",
    "load_plan",
    "parse_period",
    "pay_company",
    "record",
    "render_html",
    "replay",
    "replay_many",
    "run_batch",
    "run_notebook",
    "scorecards",
    "set_quotas",
    "solve_dataset",
    "solve_territories",
    "write_excel",
]


def __getattr__(name: str) -> Any:
    """Import a re-exported name on first use (PEP 562) and cache it in the module."""
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'spm_model' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the module's names including the lazy re-exports."""
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # static type checkers and IDEs see the eager imports
    from spm_model.calc import CalcResult, calculate
    from spm_model.calc.payroll import generate_company, pay_company
    from spm_model.calc.replay import dispute_summary, replay, replay_many
    from spm_model.crediting import ClawbackPolicy, CreditingResult, credit_transactions
    from spm_model.data import Dataset, DatasetMeta, load_dataset, parse_period
    from spm_model.errors import Problem, SpmConfigError, SpmDataError, SpmError
    from spm_model.forecast import BookingsForecaster, ForecastConfig
    from spm_model.forecast import backtest as forecast_backtest
    from spm_model.performance import (
        attainment_drivers,
        behind_pace,
        coaching_flags,
        leaderboard,
        scorecards,
    )
    from spm_model.plans import Plan, PlanError, load_plan
    from spm_model.quota import QuotaResult, backtest, fairness_report, set_quotas
    from spm_model.reports import record, render_html, write_excel
    from spm_model.runner import run_batch, run_notebook
    from spm_model.simulate import ScenarioModel, SimulationResult
    from spm_model.territory import AlignmentResult, TerritoryProblem, solve_dataset
    from spm_model.territory import solve as solve_territories
