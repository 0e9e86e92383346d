"""Quota setting: methods, top-down allocation, phasing, fairness and backtests.

Models layer: imports :mod:`spm_model.data`, :mod:`spm_model.plans` and, for credited
history, :mod:`spm_model.crediting` through :func:`spm_model.calc.credit_dataset`
(:func:`credited_history`; pass ``credits=`` to reuse one crediting result per run).

Typical use::

    from spm_model import load_dataset
    from spm_model.quota import set_quotas, fairness_report, backtest

    ds = load_dataset("data/sample")
    res = set_quotas(ds, 2026, "blend", target=40_000_000, over_assign=0.1)
    res.quotas            # canonical quotas table (rep_id, period, measure, amount)
    res.allocation        # target vs assigned per level
    fairness_report(res).summary
    backtest(ds, 2025).table

Methods (:data:`METHODS`): ``history`` (:class:`HistoricalGrowth`), ``run_rate``
(:class:`RunRate`), ``potential`` (:class:`PotentialBased`), ``capacity``
(:class:`CapacityBased`), ``blend`` (:class:`Blended`), ``probabilistic``
(:class:`Probabilistic`).
"""

from spm_model.quota.allocation import (
    Allocation,
    allocate,
    largest_remainder,
    largest_remainder_grouped,
    round_half_up,
)
from spm_model.quota.backtest import BacktestResult, backtest, backtest_years, truncate_dataset
from spm_model.quota.export import hierarchy_table, to_excel
from spm_model.quota.fairness import FairnessReport, fairness_report, gini
from spm_model.quota.history import (
    HISTORY_RULES,
    QuotaHistory,
    build_history,
    credited_history,
    ramp_factor,
)
from spm_model.quota.methods import (
    METHODS,
    Blended,
    CapacityBased,
    HistoricalGrowth,
    PotentialBased,
    Probabilistic,
    QuotaMethod,
    RunRate,
    make_method,
    register_method,
)
from spm_model.quota.predictive import predictive_draws, predictive_params
from spm_model.quota.setting import QuotaResult, set_quotas

__all__ = [
    "HISTORY_RULES",
    "METHODS",
    "Allocation",
    "BacktestResult",
    "Blended",
    "CapacityBased",
    "FairnessReport",
    "HistoricalGrowth",
    "PotentialBased",
    "Probabilistic",
    "QuotaHistory",
    "QuotaMethod",
    "QuotaResult",
    "RunRate",
    "allocate",
    "backtest",
    "backtest_years",
    "build_history",
    "credited_history",
    "fairness_report",
    "gini",
    "hierarchy_table",
    "largest_remainder",
    "largest_remainder_grouped",
    "make_method",
    "predictive_draws",
    "predictive_params",
    "ramp_factor",
    "register_method",
    "round_half_up",
    "set_quotas",
    "to_excel",
    "truncate_dataset",
]
