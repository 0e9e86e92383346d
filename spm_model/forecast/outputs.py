"""What finance reads from the predictive draws: roll-ups, interval tables, chance of quota.

All functions take the draws as an xarray DataArray with dims
``(sample, rep, month)`` (from :meth:`BookingsForecaster.predict` or a
baseline) and work draw by draw, so totals are coherent: the company's draws
are the sums of the reps' draws, and a quantile of a total is the quantile of
those sums (not the sum of quantiles).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from spm_model.data.periods import parse_period
from spm_model.errors import Problem, SpmConfigError, SpmDataError

Level = Literal["rep", "team", "region", "company"]


def rollup(draws: Any, level: Level = "company") -> Any:
    """Sum the draws to team, region or company level, sample by sample.

    Parameters
    ----------
    draws : xarray.DataArray
        Bookings (currency) with dims ``(sample, rep, month)`` and ``team`` /
        ``region`` coordinates on ``rep``.
    level : {"rep", "team", "region", "company"}
        Level to sum to.

    Returns
    -------
    xarray.DataArray
        Dims ``(sample, <level>, month)`` (``(sample, month)`` for the company).
    """
    if level == "rep":
        return draws
    if level == "company":
        return draws.sum("rep")
    if level not in ("team", "region"):
        raise SpmConfigError(f"level must be rep, team, region or company, got {level!r}")
    return draws.groupby(level).sum("rep")


def interval_table(
    draws: Any, level: Level = "rep", probs: tuple[float, ...] = (0.05, 0.1, 0.5, 0.9, 0.95)
) -> pd.DataFrame:
    """Mean and quantiles of the draws per unit and month, plus the whole horizon.

    Parameters
    ----------
    draws : xarray.DataArray
        Dims ``(sample, rep, month)``.
    level : {"rep", "team", "region", "company"}
        Level of the rows.
    probs : tuple of float
        Quantiles to report, as fractions (0.9 = P90).

    Returns
    -------
    DataFrame
        Columns ``level, unit, month (YYYY-MM or "total"), mean, p05 ...``
        (currency, rounded to the cent).
    """
    da = rollup(draws, level)
    if level == "company":
        da = da.expand_dims(company=["company"], axis=1)
    unit_dim = da.dims[1]
    x = da.to_numpy()
    x = np.concatenate([x, x.sum(axis=2, keepdims=True)], axis=2)
    months = [f"{pd.Timestamp(m):%Y-%m}" for m in da["month"].to_numpy()] + ["total"]
    units = da[unit_dim].to_numpy()
    q = np.quantile(x, probs, axis=0)
    rows = {
        "level": level,
        "unit": np.repeat(units, len(months)),
        "month": np.tile(months, len(units)),
        "mean": x.mean(axis=0).ravel(),
    }
    for p, qq in zip(probs, q, strict=True):
        rows[f"p{round(p * 100):02d}"] = qq.ravel()
    out = pd.DataFrame(rows)
    num = out.columns[3:]
    out[num] = out[num].round(2)
    return out


def year_to_date(panel: pd.DataFrame, fiscal_year: int, fy_start_month: int = 1) -> pd.Series:
    """Bookings per rep from the start of ``fiscal_year`` to the panel's last month (currency)."""
    fy = parse_period(str(fiscal_year), fy_start_month)
    m = panel["month"]
    sel = (m >= pd.Timestamp(fy.start)) & (m <= pd.Timestamp(fy.end))
    return panel[sel].groupby("rep_id")["bookings"].sum()


def annual_quotas(
    quotas: pd.DataFrame, fiscal_year: int, measure: str | None = None, fy_start_month: int = 1
) -> pd.Series:
    """Quota per rep for a fiscal year (currency).

    A yearly row (``period == "2025"``) is used as it is; otherwise the
    quarterly or monthly rows inside the year are added up. With
    ``measure=None`` the quotas of every measure are added (for a forecast of
    all bookings).

    Raises
    ------
    SpmDataError
        When no quota row falls in the year (for the measure).
    """
    q = quotas if measure is None else quotas[quotas["measure"] == measure]
    if q.empty:
        known = sorted(quotas["measure"].astype(str).unique())
        raise SpmDataError(
            Problem(
                "quotas",
                "quotas",
                None,
                "measure",
                f"no quota for measure {measure!r}; measures: {known}",
            )
        )
    spans = [parse_period(str(p), fy_start_month) for p in q["period"]]
    fy_of = np.array([s.fiscal_year for s in spans])
    freq = np.array([s.freq for s in spans])
    q = q.assign(_fy=fy_of, _freq=freq)
    q = q[q["_fy"] == fiscal_year]
    if q.empty:
        raise SpmDataError(
            Problem("quotas", "quotas", None, "period", f"no quota in fiscal year {fiscal_year}")
        )
    out: dict = {}
    for (rep, _measure), g in q.groupby(["rep_id", "measure"]):
        yearly = g[g["_freq"] == "year"]
        if len(yearly):
            amount = float(yearly["amount"].sum())
        else:
            finest = "quarter" if (g["_freq"] == "quarter").any() else "month"
            amount = float(g.loc[g["_freq"] == finest, "amount"].sum())
        out[rep] = out.get(rep, 0.0) + amount
    return pd.Series(out, name="quota", dtype=float)


def quota_attainment_probability(
    draws: Any,
    panel: pd.DataFrame,
    quotas: pd.DataFrame,
    fiscal_year: int | None = None,
    measure: str | None = None,
) -> pd.DataFrame:
    """Chance that each rep's fiscal-year bookings reach the annual quota.

    Year total = year-to-date bookings (from the panel) + the forecast draws of
    the year's remaining months.

    Parameters
    ----------
    draws : xarray.DataArray
        Forecast ``(sample, rep, month)``; must cover every month from the
        cut-off to the end of the fiscal year.
    panel : DataFrame
        The training panel (``BookingsForecaster.panel_``) for year-to-date bookings.
    quotas : DataFrame
        The ``quotas`` table (``rep_id, period, measure, amount``).
    fiscal_year : int, optional
        Default: the fiscal year of the first forecast month.
    measure : str, optional
        Quota measure; default the panel's measure (all measures added for a
        forecast of all bookings).

    Returns
    -------
    DataFrame
        Per rep: ``quota, ytd, expected_rest, expected_total, p10_total,
        p90_total`` (currency) and ``expected_attainment``, ``p_reach_quota``
        (fractions), sorted by rep. Reps without a quota are left out.
    """
    fy_start = int(panel.attrs.get("fy_start_month", 1))
    months = pd.DatetimeIndex(draws["month"].to_numpy())
    if fiscal_year is None:
        fiscal_year = parse_period(f"{months[0]:%Y-%m}", fy_start).fiscal_year
    fy = parse_period(str(fiscal_year), fy_start)
    fy_months = pd.date_range(pd.Timestamp(fy.start), pd.Timestamp(fy.end), freq="MS")
    cutoff = months[0] - pd.offsets.MonthBegin(1)
    needed = fy_months[fy_months > cutoff]
    missing = needed.difference(months)
    if len(missing):
        raise SpmConfigError(
            f"the forecast must reach the end of fiscal year {fiscal_year}: months "
            f"{missing[0]:%Y-%m} to {missing[-1]:%Y-%m} are missing (use a longer horizon)"
        )
    if measure is None:
        pm = panel.attrs.get("measure", "all")
        measure = None if pm in ("all", None, "simulated") else pm
    q = annual_quotas(quotas, fiscal_year, measure, fy_start)
    ytd = year_to_date(panel, fiscal_year, fy_start)
    in_year = draws.sel(month=draws["month"].isin(needed.to_numpy()))
    rest = in_year.sum("month").to_numpy()  # (sample, rep)
    reps = draws["rep"].to_numpy()
    keep = np.array([r in q.index for r in reps])
    quota = q.reindex(reps).to_numpy()
    ytd_v = ytd.reindex(reps).fillna(0.0).to_numpy()
    total = rest + ytd_v[None, :]
    out = pd.DataFrame(
        {
            "rep_id": reps,
            "team": draws["team"].to_numpy() if "team" in draws.coords else None,
            "quota": quota,
            "ytd": ytd_v,
            "expected_rest": rest.mean(axis=0),
            "expected_total": total.mean(axis=0),
            "p10_total": np.quantile(total, 0.1, axis=0),
            "p90_total": np.quantile(total, 0.9, axis=0),
            "expected_attainment": np.median(total, axis=0) / quota,
            "p_reach_quota": (total >= quota[None, :]).mean(axis=0),
        }
    )[keep]
    money = ["quota", "ytd", "expected_rest", "expected_total", "p10_total", "p90_total"]
    out[money] = out[money].round(2)
    out = out.rename(columns={"expected_attainment": "median_attainment"})
    out.attrs["fiscal_year"] = fiscal_year
    return out.reset_index(drop=True)
