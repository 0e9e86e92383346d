"""Trends over periods by region or role: payout, attainment, disputes; with plots."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.data.periods import period_labels
from spm_model.performance.data import PerformanceData
from spm_model.performance.scorecard import attainment_panel

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def trends(
    data: Dataset | PerformanceData, by: str = "region", freq: str = "quarter"
) -> pd.DataFrame:
    """Payout, attainment and disputes per period and group.

    Parameters
    ----------
    data : Dataset or PerformanceData
        The company.
    by : {"region", "role", "team"}
        Reps' column to group by.
    freq : {"quarter", "month", "year"}
        Period length.

    Returns
    -------
    DataFrame
        ``period, <by>, reps, median_attainment, share_at_quota`` (fractions),
        ``payout`` (sum of ``payments.amount`` by the period paid for, currency),
        ``disputes`` (opened),
        ``disputed_amount`` (currency). Empty groups are absent, never zero-divided.
    """
    pdata = data if isinstance(data, PerformanceData) else PerformanceData(data)
    ds = pdata.ds
    fy = pdata.fy_start_month
    group_of = ds.reps.set_index("rep_id")[by]
    panel = attainment_panel(pdata, freq)
    panel = panel[panel["attainment"].notna()].assign(**{by: lambda d: d["rep_id"].map(group_of)})
    att = panel.groupby(["period", by]).agg(
        reps=("rep_id", "nunique"),
        median_attainment=("attainment", "median"),
        share_at_quota=("attainment", lambda s: float((s >= 1.0).mean())),
    )
    pay = ds.payments
    if not pay.empty:
        # the period a payment is for (its ``period`` label), not the day it was paid
        starts = pay["period"].map(
            {
                lab: pd.Timestamp(pdata.span(str(lab)).start)
                for lab in pay["period"].dropna().unique()
            }
        )
        when = pd.to_datetime(starts).fillna(pay["paid_date"])
        p = pd.DataFrame(
            {
                "period": period_labels(when, freq, fy),  # type: ignore[arg-type]
                by: pay["rep_id"].map(group_of).to_numpy(),
                "payout": pay["amount"].to_numpy(),
            }
        )
        pay_g = p.groupby(["period", by])["payout"].sum()
    else:
        pay_g = pd.Series(dtype=float, name="payout", index=_empty_index(by))
    dis = ds.disputes
    if not dis.empty:
        d = pd.DataFrame(
            {
                "period": period_labels(dis["opened_date"], freq, fy),  # type: ignore[arg-type]
                by: dis["rep_id"].map(group_of).to_numpy(),
                "amount": dis["amount"].to_numpy(),
            }
        )
        dis_g = d.groupby(["period", by]).agg(
            disputes=("amount", "size"), disputed_amount=("amount", "sum")
        )
    else:
        dis_g = pd.DataFrame(
            {"disputes": pd.Series(dtype=int), "disputed_amount": pd.Series(dtype=float)},
            index=_empty_index(by),
        )
    out = att.join(pay_g, how="outer").join(dis_g, how="outer").reset_index()
    out["disputes"] = out["disputes"].fillna(0).astype(int)
    out["disputed_amount"] = out["disputed_amount"].fillna(0.0)
    # a group without payments in a period that has payments was paid nothing; a period
    # without any payment yet (e.g. the current one) is missing, not zero
    paid_periods = set(pay_g.index.get_level_values(0)) if len(pay_g) else set()
    has_pay = out["period"].isin(paid_periods)
    out["payout"] = out["payout"].where(~has_pay, out["payout"].fillna(0.0)).round(2)
    return out.sort_values(["period", by]).reset_index(drop=True)


def _empty_index(by: str) -> pd.MultiIndex:
    """Return the (period, group) index of a table with no rows (no payments or disputes)."""
    return pd.MultiIndex.from_arrays([[], []], names=["period", by])


def plot_trends(table: pd.DataFrame, by: str = "region") -> Figure:
    """Three panels over periods, one line per group: payout, median attainment, disputes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    specs = (
        ("payout", "Incentive paid", "{x:,.0f}"),
        ("median_attainment", "Median attainment", "{x:.0%}"),
        ("disputes", "Disputes opened", "{x:.0f}"),
    )
    periods = sorted(table["period"].dropna().unique())
    pos = {p: i for i, p in enumerate(periods)}
    for ax, (col, title, fmt) in zip(axes, specs, strict=True):
        for name, grp in table.groupby(by):
            g = grp.dropna(subset=[col])
            ax.plot([pos[p] for p in g["period"]], g[col], marker="o", label=str(name))
        ax.set_title(title)
        ax.set_xticks(range(len(periods)), periods, rotation=45, ha="right")
        ax.yaxis.set_major_formatter(fmt)
        ax.grid(alpha=0.3)
    from matplotlib.ticker import MaxNLocator

    axes[2].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend(title=by, fontsize="small")
    if len(periods) and np.isfinite(table["median_attainment"]).any():
        axes[1].axhline(1.0, color="grey", lw=0.8, ls="--")
    return fig
