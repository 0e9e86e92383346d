"""Interactive what-if widgets (ipywidgets) for JupyterLab.

* :class:`PlanDesigner`: edit tiers, curve points and caps; payout curve and a
  quick cost distribution follow;
* :class:`EarningsEstimator`: "how much will I make if I close this";
* :class:`Leaderboard`: ranked attainment with movement since the last period;
* :class:`WhatIfSliders`: simulation assumptions on sliders, cost distribution follows.

The computations are plain functions in :mod:`spm_model.widgets.logic`.
"""

from __future__ import annotations

from spm_model.widgets.logic import (
    cost_function,
    earnings_curve,
    edit_plan,
    estimate_earnings,
    leaderboard,
    payout_curve_table,
    rep_position,
    what_if,
)
from spm_model.widgets.ui import EarningsEstimator, Leaderboard, PlanDesigner, WhatIfSliders

__all__ = [
    "EarningsEstimator",
    "Leaderboard",
    "PlanDesigner",
    "WhatIfSliders",
    "cost_function",
    "earnings_curve",
    "edit_plan",
    "estimate_earnings",
    "leaderboard",
    "payout_curve_table",
    "rep_position",
    "what_if",
]
