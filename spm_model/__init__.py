"""spm_model: sales performance management modelling for Jupyter and batch reports.

Comp plans as code with exact statements, Monte Carlo comp-cost simulation, quota
setting, territory optimisation, Bayesian forecasts and performance analytics.
The public API of every area is re-exported here; the CLI ``spm`` is a thin layer
over it.
"""

from spm_model.data import Dataset, DatasetMeta, load_dataset, parse_period
from spm_model.errors import Problem, SpmConfigError, SpmDataError, SpmError

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "DatasetMeta",
    "Problem",
    "SpmConfigError",
    "SpmDataError",
    "SpmError",
    "__version__",
    "load_dataset",
    "parse_period",
]

# plans (bottom layer): plan specification and payout math
from spm_model.plans import Plan, PlanError, load_plan

__all__ += ["Plan", "PlanError", "load_plan"]

# top layer: notebook runner and report helpers (widgets: spm_model.widgets)
from spm_model.reports import record, render_html, write_excel  # noqa: E402
from spm_model.runner import run_batch, run_notebook  # noqa: E402

__all__ += ["record", "render_html", "run_batch", "run_notebook", "write_excel"]

# crediting and exact calculation (middle layer): statements, explanations, replay
from spm_model.calc import CalcResult, calculate  # noqa: E402
from spm_model.calc.replay import dispute_summary, replay  # noqa: E402
from spm_model.crediting import ClawbackPolicy, CreditingResult, credit_transactions  # noqa: E402

__all__ += [
    "CalcResult",
    "ClawbackPolicy",
    "CreditingResult",
    "calculate",
    "credit_transactions",
    "dispute_summary",
    "replay",
]

# simulate (middle layer): Monte Carlo comp cost
# (the function is spm_model.simulate.simulate: re-exporting it here would hide the subpackage)
from spm_model.simulate import ScenarioModel, SimulationResult  # noqa: E402

__all__ += ["ScenarioModel", "SimulationResult"]

# quota (middle layer): quota methods, allocation, phasing, fairness, backtests
from spm_model.quota import QuotaResult, backtest, fairness_report, set_quotas  # noqa: E402

__all__ += ["QuotaResult", "backtest", "fairness_report", "set_quotas"]

# forecast (middle layer): Bayesian bookings forecasts, baselines, backtest
from spm_model.forecast import BookingsForecaster, ForecastConfig  # noqa: E402
from spm_model.forecast import backtest as forecast_backtest  # noqa: E402

__all__ += ["BookingsForecaster", "ForecastConfig", "forecast_backtest"]

# performance (middle layer): scorecards, coaching flags, drivers, leaderboards, trends
from spm_model.performance import (  # noqa: E402
    attainment_drivers,
    coaching_flags,
    leaderboard,
    scorecards,
)

__all__ += ["attainment_drivers", "coaching_flags", "leaderboard", "scorecards"]

# territory (middle layer): balanced, compact, low-disruption alignments (HiGHS)
from spm_model.territory import AlignmentResult, TerritoryProblem, solve_dataset  # noqa: E402
from spm_model.territory import solve as solve_territories  # noqa: E402

__all__ += ["AlignmentResult", "TerritoryProblem", "solve_dataset", "solve_territories"]
