"""Rep performance analytics: scorecards, coaching flags, drivers, leaderboards, trends.

Models-and-analytics layer: reads credit from :mod:`spm_model.crediting` (through
:class:`PerformanceData`) and every money figure from :mod:`spm_model.calc`.

* :func:`scorecards` - per rep and period: attainment and pace against the
  period's usual booking profile, bookings, win rate, deal size, sales cycle,
  pipeline coverage, activity, with peer percentiles (role, tenure band, region);
* :func:`coaching_flags` - who needs help and why, judged against comparable peers
  over a two-year evidence window (:func:`evidence_scorecard`) with shrinkage, each
  flag with its figure, the peers' range, how sure and the action (:class:`FlagConfig`);
* :func:`attainment_drivers` - regression of attainment on behaviours and territory;
* :func:`leaderboard` and :func:`estimated_payouts` - rankings with movement and
  the payout at current attainment from the exact as-of statement (``spm_model.calc``);
* :func:`trends` and :func:`plot_trends` - payout, attainment and disputes over periods.
"""

from spm_model.performance.config import FlagConfig, ScorecardConfig
from spm_model.performance.data import PerformanceData, analytics_credit, owner_on_date
from spm_model.performance.drivers import DriversResult, attainment_drivers, driver_panel
from spm_model.performance.flags import (
    FLAG_NAMES,
    coaching_flags,
    evidence_scorecard,
    tenure_curve,
)
from spm_model.performance.leaderboard import estimated_payouts, leaderboard, load_plans
from spm_model.performance.pace import behind_pace
from spm_model.performance.scorecard import PEER_METRICS, attainment_panel, scorecards
from spm_model.performance.trends import plot_trends, trends

__all__ = [
    "FLAG_NAMES",
    "PEER_METRICS",
    "DriversResult",
    "FlagConfig",
    "PerformanceData",
    "ScorecardConfig",
    "analytics_credit",
    "attainment_drivers",
    "attainment_panel",
    "behind_pace",
    "coaching_flags",
    "driver_panel",
    "estimated_payouts",
    "evidence_scorecard",
    "leaderboard",
    "load_plans",
    "owner_on_date",
    "plot_trends",
    "scorecards",
    "tenure_curve",
    "trends",
]
