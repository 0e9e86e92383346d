"""Fan charts of the forecast and the posterior-predictive check plot (matplotlib)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spm_model.forecast.outputs import Level, rollup


def fan_chart(
    draws: Any,
    history: pd.DataFrame | None = None,
    level: Level = "company",
    unit: str | None = None,
    levels: tuple[float, ...] = (0.5, 0.8, 0.95),
    ax: Any = None,
    history_months: int = 24,
) -> Any:
    """Fan chart: the history and the central intervals of the forecast.

    Parameters
    ----------
    draws : xarray.DataArray
        Forecast ``(sample, rep, month)`` in currency.
    history : DataFrame, optional
        Monthly panel (``rep_id, month, bookings``, with ``team``/``region``)
        whose actuals are drawn before the forecast.
    level : {"rep", "team", "region", "company"}
        Level to show.
    unit : str, optional
        Which rep, team or region (required unless ``level == "company"``).
    levels : tuple of float
        Interval probabilities as fractions, shaded from light (widest) to dark.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    history_months : int
        Months of history shown.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    da = rollup(draws, level)
    if level != "company":
        if unit is None:
            raise ValueError(f"unit is required for level={level!r}")
        da = da.sel({level: unit})
        if level == "rep":
            da = da.drop_vars([c for c in ("team", "region") if c in da.coords])
    x = da.transpose("sample", "month").to_numpy()
    months = pd.DatetimeIndex(da["month"].to_numpy())
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    for i, lv in enumerate(sorted(levels, reverse=True)):
        lo, hi = np.quantile(x, [(1 - lv) / 2, (1 + lv) / 2], axis=0)
        ax.fill_between(
            months, lo, hi, color="tab:blue", alpha=0.15 + 0.2 * i, lw=0, label=f"{lv:.0%} interval"
        )
    ax.plot(months, np.median(x, axis=0), color="tab:blue", lw=2, label="median")
    if history is not None:
        h = history
        if level in ("rep", "team", "region"):
            col = "rep_id" if level == "rep" else level
            h = h[h[col] == unit]
        tot = h.groupby("month")["bookings"].sum().sort_index().iloc[-history_months:]
        ax.plot(tot.index, tot.to_numpy(), color="black", lw=1.5, marker="o", ms=3, label="actual")
    title = "Company" if level == "company" else f"{level.capitalize()} {unit}"
    ax.set_title(f"{title}: bookings forecast")
    ax.set_ylabel(f"bookings ({draws.attrs.get('units', 'currency')})")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def ppc_plot(forecaster: Any, n_lines: int = 40, seed: int = 0) -> Any:
    """Plot a posterior-predictive check: does data simulated from the fit look like the history.

    Three panels: the distribution of log10 monthly bookings per rep (observed
    against replicated data sets), the share of months without bookings, and
    the company's monthly total against the replicated 50/90% bands.

    Parameters
    ----------
    forecaster : BookingsForecaster
        A fitted forecaster.
    n_lines : int
        Replicated data sets drawn in the first panel.
    seed : int
        Seed of the replications.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rep = forecaster.predict_in_sample(seed=seed, max_samples=400)
    y = forecaster.observed_bookings()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    pos = y > 0
    bins = np.linspace(np.log10(y[pos]).min() - 0.5, np.log10(y[pos]).max() + 0.5, 50)
    for r in rep[:n_lines]:
        rr = r[r > 0]
        ax.hist(
            np.log10(rr), bins=bins, histtype="step", color="tab:blue", alpha=0.15, density=True
        )
    ax.hist(
        np.log10(y[pos]),
        bins=bins,
        histtype="step",
        color="black",
        lw=2,
        density=True,
        label="observed",
    )
    ax.set_xlabel("log10 monthly bookings (months with bookings)")
    ax.set_title("Amounts: observed vs replicated")
    ax.legend(fontsize=8)
    ax = axes[1]
    zero_share = (rep == 0).mean(axis=1)
    ax.hist(zero_share, bins=30, color="tab:blue", alpha=0.6, label="replicated")
    ax.axvline((y == 0).mean(), color="black", lw=2, label="observed")
    ax.set_xlabel("share of rep-months without bookings")
    ax.set_title("Zero months")
    ax.legend(fontsize=8)
    ax = axes[2]
    months = pd.DatetimeIndex(forecaster.panel_["month"])
    order = np.sort(months.unique())
    codes = np.searchsorted(order, months)
    tot_rep = np.stack([np.bincount(codes, weights=r, minlength=len(order)) for r in rep])
    tot_obs = np.bincount(codes, weights=y, minlength=len(order))
    for lv, a in ((0.9, 0.2), (0.5, 0.4)):
        lo, hi = np.quantile(tot_rep, [(1 - lv) / 2, (1 + lv) / 2], axis=0)
        ax.fill_between(
            order, lo, hi, color="tab:blue", alpha=a, lw=0, label=f"replicated {lv:.0%}"
        )
    ax.plot(order, tot_obs, color="black", lw=1.5, label="observed")
    ax.set_title("Company monthly total")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
