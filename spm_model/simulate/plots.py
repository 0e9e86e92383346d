"""Plots of simulation results (matplotlib): cost histogram, leverage curve, attainment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from spm_model.simulate.results import SimulationResult


def _ax(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def plot_cost_histogram(
    res: SimulationResult, plan: str | int | None = None, ax: Any = None
) -> Any:
    """Histogram of total incentive cost per scenario, with mean, P90 and budget lines."""
    ax = _ax(ax)
    cost = res.costs(plan)
    ax.hist(cost, bins=min(80, max(10, cost.size // 50)), color="#4C72B0", alpha=0.85)
    ax.axvline(cost.mean(), color="black", lw=1.2, label=f"mean {cost.mean():,.0f}")
    ax.axvline(np.quantile(cost, 0.9), color="grey", ls="--", lw=1, label="P90")
    if res.budget is not None:
        p = float((cost > res.budget).mean())
        ax.axvline(
            res.budget, color="#C44E52", lw=2, label=f"budget {res.budget:,.0f} (P over {p:.1%})"
        )
    name = res.plans[res._index(plan)]
    ax.set(
        xlabel=f"total incentive cost ({res.currency})",
        ylabel="scenarios",
        title=f"Cost distribution: {name}",
    )
    ax.legend(fontsize=8)
    return ax


def plot_leverage(res: SimulationResult, plan: str | int | None = None, ax: Any = None) -> Any:
    """Mean payout as a share of target incentive by horizon attainment (simulated)."""
    ax = _ax(ax)
    plans = [plan] if plan is not None else list(range(len(res.plans)))
    for p in plans:
        lev = res.leverage(p)
        ok = lev["n"] > 0
        ax.plot(
            lev["attainment"][ok] + 0.025,
            lev["payout_share_of_target"][ok],
            marker=".",
            label=res.plans[res._index(p)],
        )
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    for x in res.levels:
        ax.axvline(x, color="grey", lw=0.6, ls="--")
    ax.set(
        xlabel=f"attainment of {res.measure} (fraction of quota)",
        ylabel="payout / target incentive",
        title="Leverage curve",
    )
    ax.legend(fontsize=8)
    return ax


def plot_attainment(res: SimulationResult, ax: Any = None) -> Any:
    """Histogram of horizon attainment with threshold, target and excellence marked."""
    ax = _ax(ax)
    dist: pd.DataFrame = res.attainment_distribution()
    ax.bar(dist["attainment"], dist["share"], width=0.02, align="edge", color="#55A868")
    for x, name in zip(res.levels, ("threshold", "target", "excellence"), strict=True):
        share = float(dist.loc[dist["attainment"] >= x - 1e-9, "share"].sum())
        ax.axvline(x, color="black", lw=0.8, ls="--")
        ax.text(x, ax.get_ylim()[1] * 0.95, f" {name}\n {share:.0%} reach", fontsize=8, va="top")
    ax.set(
        xlabel=f"attainment of {res.measure} over the horizon",
        ylabel="share of rep-scenarios",
        title="Attainment distribution",
    )
    return ax


def plot_tornado(table: pd.DataFrame, ax: Any = None) -> Any:
    """Tornado chart of a :func:`spm_model.simulate.sensitivity` table."""
    ax = _ax(ax)
    t = table.iloc[::-1]
    base = float(t["base"].iloc[0])
    y = np.arange(len(t))
    ax.barh(y, t["low_cost"] - base, left=base, color="#4C72B0", label="low")
    ax.barh(y, t["high_cost"] - base, left=base, color="#C44E52", label="high")
    ax.set_yticks(
        y,
        [
            f"{a}\n({lo} / {hi})"
            for a, lo, hi in zip(t["assumption"], t["low"], t["high"], strict=True)
        ],
        fontsize=8,
    )
    ax.axvline(base, color="black", lw=1)
    ax.set(xlabel="mean incentive cost", title="Sensitivity of mean cost")
    ax.legend(fontsize=8)
    return ax
