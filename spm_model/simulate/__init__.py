"""Monte Carlo comp-cost simulation: what a plan costs, how risky it is, which design is cheaper.

Models layer: reads credit from :mod:`spm_model.crediting` (through
:func:`spm_model.calc.credit_dataset`) and pay semantics from :mod:`spm_model.plans`.

Workflow
--------
1. Build a :class:`ScenarioModel` (reps x measures x periods):
   ``from_dataset(ds, plan, credits=credit_dataset(ds, plans))`` fits per-rep
   attainment distributions from the credited history (the view the plan's
   statements use: direct credit, or roll-up credit for ``rollup`` measures)
   with partial pooling toward peers (lognormal, normal, gamma or empirical
   bootstrap); it is the one builder the CLI, notebooks, report and widgets use;
   ``from_assumptions({...})`` takes user distributions (mean/sd, quantiles or a
   sample); ``with_draws(model, draws)`` plugs in posterior-predictive draws
   (array or xarray). Dependence: Gaussian copula with company, region/team and
   rep factors; seasonality; ramp; attrition with vacancies and ramped backfills;
   large-deal lumpiness.
2. ``simulate(model, plans, n_scenarios, seed=..., budget=...)`` evaluates every
   plan with the vectorised engine (period structure, gates, caps, draws) on the
   same scenarios, streaming over chunks (``backend="dask"`` for a cluster),
   optionally until ``tol`` relative standard error.
3. ``result.summary()`` (MCSE on every headline figure), ``result.compare()``
   (paired differences on common random numbers), plots, ``result.write(dir)``;
   ``sensitivity(model, plan, seed=...)`` for a tornado.

Money is in the plan currency; attainment is a fraction of quota (1.0 = 100%).
"""

from spm_model.simulate.build import (
    Distribution,
    from_assumptions,
    from_dataset,
    with_draws,
    with_quotas,
)
from spm_model.simulate.history import (
    attainment_history,
    credited_history,
    estimate_attrition,
    estimate_dependence,
    fit_marginals,
)
from spm_model.simulate.model import FAMILIES, LargeDeals, Marginals, ScenarioModel
from spm_model.simulate.results import Comparison, SimulationResult, Summary
from spm_model.simulate.runner import simulate
from spm_model.simulate.sensitivity import sensitivity

__all__ = [
    "FAMILIES",
    "Comparison",
    "Distribution",
    "LargeDeals",
    "Marginals",
    "ScenarioModel",
    "SimulationResult",
    "Summary",
    "attainment_history",
    "credited_history",
    "estimate_attrition",
    "estimate_dependence",
    "fit_marginals",
    "from_assumptions",
    "from_dataset",
    "sensitivity",
    "simulate",
    "with_draws",
    "with_quotas",
]
