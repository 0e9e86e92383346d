"""Plots for the notebooks and HTML reports (matplotlib; each returns its Axes)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def _ax(ax: Any = None, figsize: tuple[float, float] = (8, 4)) -> Any:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def money_formatter(currency: str = "USD") -> Any:
    """Axis formatter for money: 1.2M, 350k, 900 (with the currency code on the label)."""
    from matplotlib.ticker import FuncFormatter

    def fmt(x: float, _pos: int | None = None) -> str:
        a = abs(x)
        if a >= 1e9:
            return f"{x / 1e9:.1f}B"
        if a >= 1e6:
            return f"{x / 1e6:.1f}M"
        if a >= 1e3:
            return f"{x / 1e3:.0f}k"
        return f"{x:.0f}"

    return FuncFormatter(fmt)


def percent_formatter() -> Any:
    """Axis formatter for fractions shown as percentages (1.0 -> 100%)."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


def stacked_bars(table: pd.DataFrame, title: str, currency: str = "USD", ax: Any = None) -> Any:
    """Stacked bars of a period x category table of amounts (bookings by quarter and measure)."""
    ax = _ax(ax)
    if table.empty:
        ax.set_title(f"{title} (no data)")
        return ax
    table.plot(kind="bar", stacked=True, ax=ax, width=0.8)
    ax.yaxis.set_major_formatter(money_formatter(currency))
    ax.set_ylabel(currency)
    ax.set_xlabel("")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small")
    return ax


def payout_curve(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str = "Payout curve",
    ylabel: str = "payout (fraction of target incentive)",
    ax: Any = None,
) -> Any:
    """Payout against attainment for one or more plans or components.

    Parameters
    ----------
    curves : mapping of label to (attainment, payout)
        Attainment as a fraction of quota (1.0 = 100%); payout as a fraction of
        target incentive or in money (say which in ``ylabel``).
    """
    ax = _ax(ax)
    for label, (x, y) in curves.items():
        ax.plot(np.asarray(x), np.asarray(y), label=label, lw=2)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.set_xlabel("attainment")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend(frameon=False)
    return ax


def cost_distribution(
    costs: Sequence[float] | np.ndarray,
    budget: float | None = None,
    title: str = "Simulated comp cost",
    currency: str = "USD",
    percentiles: Sequence[float] = (50, 90, 95),
    ax: Any = None,
) -> Any:
    """Histogram of simulated total cost with percentile markers and the budget line."""
    ax = _ax(ax)
    c = np.asarray(costs, dtype=float)
    ax.hist(c, bins=min(60, max(10, c.size // 50)), color="#4C72B0", alpha=0.8)
    for p in percentiles:
        v = float(np.percentile(c, p))
        ax.axvline(v, color="black", lw=0.8, ls=":")
        ax.annotate(f"P{p:g}", (v, ax.get_ylim()[1] * 0.95), fontsize="small", ha="left")
    if budget is not None:
        ax.axvline(budget, color="#C44E52", lw=2, label=f"budget ({np.mean(c > budget):.0%} over)")
        ax.legend(frameon=False)
    ax.xaxis.set_major_formatter(money_formatter(currency))
    ax.set_xlabel(currency)
    ax.set_ylabel("scenarios")
    ax.set_title(title)
    return ax


def attainment_histogram(
    attainment: Sequence[float] | np.ndarray,
    title: str = "Attainment",
    clip: float = 3.0,
    ax: Any = None,
) -> Any:
    """Histogram of attainment (fractions of quota, 1.0 = 100%) with the 100% line.

    Values above ``clip`` are counted in the last bin (and the title says how many).
    """
    ax = _ax(ax)
    a = np.asarray(attainment, dtype=float)
    a = a[np.isfinite(a)]
    over = int((a > clip).sum())
    shown = np.minimum(a, clip)
    top = min(clip, max(2.0, float(a.max(initial=0)))) + 0.1
    ax.hist(shown, bins=np.arange(0, top + 1e-9, 0.1), color="#55A868")
    ax.axvline(1.0, color="black", lw=1, ls="--")
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.set_xlabel("attainment")
    ax.set_ylabel("reps")
    extra = f"; {over} above {clip:.0%} in the last bar" if over else ""
    med = float(np.median(a)) if a.size else float("nan")
    ax.set_title(
        f"{title}\n(median {med:.0%}, {np.mean(a >= 1):.0%} at or above quota{extra})",
        fontsize="medium",
    )
    return ax


def fan_chart(
    x: Sequence[Any],
    quantiles: pd.DataFrame,
    actual: tuple[Sequence[Any], Sequence[float]] | None = None,
    title: str = "Forecast",
    currency: str = "USD",
    ax: Any = None,
) -> Any:
    """Forecast fan chart: shaded central intervals from quantile columns, median line, actuals.

    Parameters
    ----------
    x : sequence
        Forecast dates or periods.
    quantiles : DataFrame
        One column per quantile level (floats such as 0.05, 0.5, 0.95), a row per ``x``.
    actual : (x, y), optional
        History to draw before the forecast.
    """
    ax = _ax(ax)
    levels = sorted(float(q) for q in quantiles.columns)
    cols = {float(q): q for q in quantiles.columns}
    pairs = [(lo, 1 - lo) for lo in levels if lo < 0.5 and (1 - lo) in cols]
    for i, (lo, hi) in enumerate(sorted(pairs)):
        ax.fill_between(
            x, quantiles[cols[lo]], quantiles[cols[hi]], color="#4C72B0",
            alpha=0.15 + 0.15 * i, lw=0, label=f"{hi - lo:.0%} interval",
        )  # fmt: skip
    if 0.5 in cols:
        ax.plot(x, quantiles[cols[0.5]], color="#4C72B0", lw=2, label="median")
    if actual is not None:
        ax.plot(actual[0], actual[1], color="black", lw=1.5, label="actual")
    ax.yaxis.set_major_formatter(money_formatter(currency))
    ax.set_ylabel(currency)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small")
    return ax


def territory_map(
    lon: Sequence[float],
    lat: Sequence[float],
    labels: Sequence[Any],
    centers: pd.DataFrame | None = None,
    title: str = "Territories",
    ax: Any = None,
) -> Any:
    """Accounts as points coloured by territory, with optional rep home markers.

    ``centers`` has columns ``lon``, ``lat`` and optionally ``label``.
    """
    ax = _ax(ax, figsize=(7, 5))
    codes, uniques = pd.factorize(pd.Series(list(labels)), sort=True)
    ax.scatter(lon, lat, c=codes, cmap="tab20", s=6, alpha=0.8, linewidths=0)
    if centers is not None and len(centers):
        ax.scatter(centers["lon"], centers["lat"], marker="*", s=120, c="black")
        if "label" in centers:
            for _, r in centers.iterrows():
                ax.annotate(str(r["label"]), (r["lon"], r["lat"]), fontsize="x-small")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(f"{title} ({len(uniques)} territories)")
    ax.set_aspect("equal", adjustable="datalim")
    return ax


# -- tidying axes drawn elsewhere (units on axes, no offset notation, readable dates) ---------
def _axis(ax: Any, axis: str) -> Any:
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', not {axis!r}")
    return ax.xaxis if axis == "x" else ax.yaxis


def _with_unit(label: str, unit: str) -> str:
    """``label`` naming ``unit``: "(currency)" becomes "(USD)", else " (USD)" is added."""
    label = label.strip()
    if not label:
        return unit
    if "currency" in label:
        return label.replace("currency", unit)
    if unit in label:
        return label
    return f"{label} ({unit})"


def money_axis(ax: Any, axis: str = "y", currency: str = "USD", label: str | None = None) -> Any:
    """Show money on an axis: 1.2M, 350k ticks and the currency code in the label.

    Parameters
    ----------
    ax : matplotlib Axes
    axis : {"x", "y"}
    currency : str
        ISO code put in the label (a label's "currency" is replaced by it).
    label : str, optional
        New axis label (default: the current one).

    Returns
    -------
    matplotlib Axes
    """
    a = _axis(ax, axis)
    a.set_major_formatter(money_formatter(currency))
    a.get_offset_text().set_visible(False)
    a.set_label_text(_with_unit(label if label is not None else a.get_label_text(), currency))
    return ax


def percent_axis(ax: Any, axis: str = "x", label: str | None = None) -> Any:
    """Show fractions on an axis as percentages (1.0 -> 100%).

    Without ``label``, the current label's "fraction" becomes "%"
    ("attainment (fraction of quota)" -> "attainment (% of quota)").
    """
    a = _axis(ax, axis)
    a.set_major_formatter(percent_formatter())
    if label is None:
        label = re.sub(r"\bfraction\b", "%", a.get_label_text())
    a.set_label_text(label)
    return ax


def date_axis(ax: Any, axis: str = "x", max_ticks: int = 8) -> Any:
    """Readable date ticks: at most ``max_ticks`` labels in the concise style (2025, Apr, Jul)."""
    import matplotlib.dates as mdates

    a = _axis(ax, axis)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=max_ticks)
    a.set_major_locator(locator)
    a.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return ax


def no_offsets(fig_or_ax: Any) -> Any:
    """Plain tick labels (no ``1e6`` offset or scientific notation) on every numeric axis."""
    from matplotlib.ticker import ScalarFormatter

    axes = fig_or_ax.get_axes() if hasattr(fig_or_ax, "get_axes") else [fig_or_ax]
    for ax in axes:
        for a in (ax.xaxis, ax.yaxis):
            fmt = a.get_major_formatter()
            if isinstance(fmt, ScalarFormatter):
                fmt.set_useOffset(False)
                fmt.set_scientific(False)
    return fig_or_ax
