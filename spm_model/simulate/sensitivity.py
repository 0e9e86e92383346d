"""Sensitivity of mean cost to each assumption: a tornado table on common random numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from spm_model.plans import Plan
from spm_model.simulate.model import ScenarioModel
from spm_model.simulate.runner import as_plans, simulate

#: Default swings: (label, low setting, high setting).
DEFAULT_SWINGS: dict[str, tuple[Any, Any]] = {
    "mean attainment": (0.9, 1.1),
    "volatility": (0.8, 1.2),
    "company correlation": (-0.1, 0.1),
    "attrition": (0.5, 1.5),
}


def _apply(model: ScenarioModel, name: str, value: Any) -> ScenarioModel:
    if name == "mean attainment":
        return model.with_assumptions(mean_scale=value)
    if name == "volatility":
        return model.with_assumptions(sd_scale=value)
    if name == "company correlation":
        room = 0.95 - model.rho_group - model.rho_rep
        return model.with_assumptions(rho_company=min(max(model.rho_company + value, 0.0), room))
    if name == "attrition":
        return model.with_assumptions(attrition=min(model.attrition * value, 0.9))
    raise KeyError(name)


def sensitivity(
    model: ScenarioModel,
    plan: Plan | str,
    *,
    seed: int,
    n_scenarios: int = 2_000,
    swings: Mapping[str, tuple[Any, Any]] | None = None,
    plan_variants: Mapping[str, tuple[Plan, Plan]] | None = None,
    **simulate_kw: Any,
) -> pd.DataFrame:
    """Tornado table: mean cost when each assumption moves to its low and high value.

    Every run uses the same seed, so differences come from the assumption, not
    from Monte Carlo noise (common random numbers).

    Parameters
    ----------
    model : ScenarioModel
    plan : Plan or path
    seed : int
    n_scenarios : int
        Scenarios per run.
    swings : mapping, optional
        Subset/overrides of :data:`DEFAULT_SWINGS`: ``mean attainment`` and
        ``volatility`` are multipliers, ``company correlation`` is added to
        ``rho_company``, ``attrition`` multiplies the attrition rate.
    plan_variants : mapping label -> (low plan, high plan), optional
        Plan parameters to swing (e.g. cap 2.5x vs 3.5x).

    Returns
    -------
    DataFrame
        ``assumption, low, high, low_cost, high_cost, base, range`` sorted by
        range (largest first); plot with :func:`spm_model.simulate.plots.plot_tornado`.
    """
    p = next(iter(as_plans(plan).values()))
    run: Callable[[ScenarioModel, Plan], float] = lambda m, pl: float(  # noqa: E731
        simulate(m, pl, n_scenarios, seed=seed, **simulate_kw).costs().mean()
    )
    base = run(model, p)
    rows = []
    for name, (lo, hi) in {**DEFAULT_SWINGS, **(swings or {})}.items():
        if name == "attrition" and model.attrition == 0:
            continue
        if name == "company correlation" and model.draws is not None:
            continue
        rows.append(
            (name, lo, hi, run(_apply(model, name, lo), p), run(_apply(model, name, hi), p))
        )
    for label, (plo, phi) in (plan_variants or {}).items():
        rows.append((label, plo.id, phi.id, run(model, plo), run(model, phi)))
    df = pd.DataFrame(rows, columns=["assumption", "low", "high", "low_cost", "high_cost"])
    df["base"] = base
    df["range"] = (df["high_cost"] - df["low_cost"]).abs()
    return df.sort_values("range", ascending=False, kind="stable").reset_index(drop=True)
