"""Map of an alignment: units coloured by territory, homes marked, moved units highlighted."""

from __future__ import annotations

import numpy as np

from spm_model.territory.problem import Compiled


def plot_alignment(
    c: Compiled,
    assign: np.ndarray,
    ax=None,
    title: str | None = None,
    show_moved: bool = True,
    size_by: str | None = None,
):
    """Scatter map of units coloured by territory.

    Parameters
    ----------
    c : Compiled
        The compiled problem (locations, homes, current alignment).
    assign : ndarray of int
        Territory index per original unit.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    title : str, optional
        Axes title.
    show_moved : bool
        Ring units whose territory changed from the current alignment.
    size_by : str, optional
        Measure that sets marker areas (e.g. ``"potential"``).

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    assign = np.asarray(assign)
    if len(assign) == c.n and c.n != len(c.unit_ids):
        assign = c.expand(assign)
    if not (np.isfinite(c.lat).all() and np.isfinite(c.lon).all()):
        raise ValueError("plot_alignment needs a location for every unit")
    cmap = plt.get_cmap("tab20")
    colours = cmap((assign % 20) / 19.0)
    if size_by is not None:
        v = c.values0[:, c.measures.index(size_by)]
        s = 6 + 60 * v / max(v.max(), 1e-12)
    else:
        s = 8
    ax.scatter(c.lon, c.lat, c=colours, s=s, linewidths=0, alpha=0.8)
    if show_moved:
        mv = (c.current0 >= 0) & (assign != c.current0)
        if mv.any():
            ax.scatter(
                c.lon[mv],
                c.lat[mv],
                s=28,
                facecolors="none",
                edgecolors="black",
                linewidths=0.7,
                label=f"moved ({int(mv.sum())})",
            )
    if np.isfinite(c.home_lat).all():
        hc = cmap((np.arange(c.m) % 20) / 19.0)
        ax.scatter(
            c.home_lon,
            c.home_lat,
            marker="*",
            s=160,
            c=hc,
            edgecolors="black",
            linewidths=0.8,
            label="rep home",
            zorder=5,
        )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or f"{c.m} territories, {len(c.unit_ids)} units")
    if ax.get_legend_handles_labels()[0]:  # homes or moved units to name
        ax.legend(loc="best", fontsize=8)
    return ax


def plot_before_after(c: Compiled, assign: np.ndarray, **kw):
    """Two maps side by side: the current alignment and ``assign``.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 6), sharex=True, sharey=True)
    cur = c.current0.copy()
    if (cur < 0).any():
        cur = np.where(cur < 0, assign, cur)
    plot_alignment(c, cur, ax=axes[0], title="before", show_moved=False, **kw)
    plot_alignment(c, assign, ax=axes[1], title="after", **kw)
    fig.tight_layout()
    return fig
