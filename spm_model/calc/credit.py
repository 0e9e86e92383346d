"""Credit a dataset once, with the clawback window of the plan each rep is on.

Every part of spm_model that shows or models credited history (statements,
as-of estimates, leaderboards, quota history, simulation history, forecast
panels) reads it from one :class:`~spm_model.crediting.CreditingResult`. This
module makes that result the way pay makes it: cancellations are clawed back
under the window of each rep's own plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from spm_model.crediting import ClawbackPolicy, CreditingResult, credit_transactions
from spm_model.data.dataset import Dataset
from spm_model.plans import Plan


def clawback_policy(plan: Plan) -> ClawbackPolicy | None:
    """Return the crediting clawback policy of ``plan`` (None: every cancellation reverses)."""
    if plan.clawback is None:
        return None
    cb = plan.clawback
    return ClawbackPolicy(cb.window_days, cb.method, cb.window_months)


def rep_clawback_policies(
    ds: Dataset, plans: Iterable[Plan] | Mapping[str, Plan]
) -> dict[str, ClawbackPolicy]:
    """Clawback policy of every rep whose plan (``reps.plan_id``) has one."""
    items = plans.values() if isinstance(plans, Mapping) else plans
    by_plan = {p.id: clawback_policy(p) for p in items}
    out: dict[str, ClawbackPolicy] = {}
    reps = ds.reps
    if "plan_id" not in reps:
        return out
    for r, pid in zip(reps["rep_id"].astype(object), reps["plan_id"].astype(object), strict=True):
        pol = by_plan.get(pid)
        if pol is not None:
            out[str(r)] = pol
    return out


def credit_dataset(
    ds: Dataset, plans: Iterable[Plan] | Mapping[str, Plan] | None = None
) -> CreditingResult:
    """Credit ``ds`` once for everything that reads credited history.

    Parameters
    ----------
    ds : Dataset
        Company data.
    plans : iterable or mapping of Plan, optional
        The company's plans; each rep's cancellations are clawed back under
        the window of the plan the rep is on. Without plans every
        cancellation reverses its booking in full.

    Returns
    -------
    CreditingResult
        With roll-up rows computed on demand (``rollup="lazy"``); amounts in
        the dataset currency and integer cents.
    """
    policies = rep_clawback_policies(ds, plans) if plans is not None else None
    return credit_transactions(ds, clawback=policies or None, rollup="lazy")
