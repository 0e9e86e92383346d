"""Public real monthly panels for backtests, read from files shipped inside installed packages.

* :func:`txhousing_panel`: monthly dollar volume of home sales in 46 Texas
  cities, January 2000 to July 2015 (the Texas A&M Real Estate Center data
  that ggplot2 ships as ``txhousing``), read from the copy inside the
  ``plotnine`` wheel (``plotnine/data/txhousing.csv``; no download at run
  time). It has a boom, the 2008 bust and a rebound, very different city
  sizes and 568 missing months: a fair test of a sales forecaster.
* :func:`meat_panel`: monthly US red meat and poultry production (million
  pounds; USDA, the ``meat`` data of the R package fpp / ggplot2 examples) for
  seven kinds of meat, January 1944 to December 2023, from the copy inside the
  ``plotnine`` wheel (``plotnine/data/meat.csv``). Series of very different
  sizes (veal about 7, broilers about 3,400 a month in 2009-2023), strong
  seasonality, slow trends and the 2020 plant closures: a second real panel,
  not used while building the model.
"""

from __future__ import annotations

import pandas as pd

from spm_model.errors import SpmConfigError


def txhousing_panel(measure: str = "volume") -> pd.DataFrame:
    """Return the Texas housing panel as a forecast panel (``rep_id, month, bookings``).

    Parameters
    ----------
    measure : {"volume", "sales"}
        ``"volume"``: dollar volume of sales in the month (currency);
        ``"sales"``: number of sales.

    Returns
    -------
    DataFrame
        ``rep_id`` (city), ``month``, ``bookings`` (NaN for a missing month),
        ``team`` and ``region`` (``"TX"``); pass it through
        :func:`~spm_model.forecast.panel.check_panel` or straight to a
        forecaster or :func:`~spm_model.forecast.backtest.backtest`.

    Raises
    ------
    SpmConfigError
        If ``plotnine`` (a dev extra) is not installed.
    """
    if measure not in ("volume", "sales"):
        raise SpmConfigError(f"measure must be 'volume' or 'sales', got {measure!r}")
    try:
        from importlib.resources import files

        path = files("plotnine.data") / "txhousing.csv"
        with path.open("rb") as fh:
            raw = pd.read_csv(fh)
    except (ModuleNotFoundError, FileNotFoundError):
        raise SpmConfigError(
            "the Texas housing panel is read from the plotnine package: pip install plotnine"
        ) from None
    month = pd.to_datetime({"year": raw["year"], "month": raw["month"], "day": 1}, errors="coerce")
    out = pd.DataFrame(
        {
            "rep_id": raw["city"].astype(str),
            "month": month,
            "bookings": raw[measure].astype(float),
            "team": "TX",
            "region": "TX",
        }
    )
    out.attrs["currency"] = "USD" if measure == "volume" else "sales"
    return out.sort_values(["rep_id", "month"]).reset_index(drop=True)


def meat_panel(start: str | None = "2009-01") -> pd.DataFrame:
    """Return the US meat production panel as a forecast panel (``rep_id, month, bookings``).

    Parameters
    ----------
    start : str or None
        First month kept (``"2009-01"``: the last 15 years, as the Texas panel's
        history); None keeps every month (broilers, other chicken and turkey
        start in 1960, the others in 1944).

    Returns
    -------
    DataFrame
        ``rep_id`` (kind of meat), ``month``, ``bookings`` (million pounds;
        months before a series starts are left out), ``team`` and ``region``
        (``"US"``).

    Raises
    ------
    SpmConfigError
        If ``plotnine`` (a dev extra) is not installed.
    """
    try:
        from importlib.resources import files

        path = files("plotnine.data") / "meat.csv"
        with path.open("rb") as fh:
            raw = pd.read_csv(fh, parse_dates=["date"])
    except (ModuleNotFoundError, FileNotFoundError):
        raise SpmConfigError(
            "the meat production panel is read from the plotnine package: pip install plotnine"
        ) from None
    if start is not None:
        raw = raw[raw["date"] >= pd.Timestamp(start)]
    out = (
        raw.melt(id_vars="date", var_name="rep_id", value_name="bookings")
        .rename(columns={"date": "month"})
        .dropna(subset=["bookings"])
        .assign(team="US", region="US")
    )
    out["bookings"] = out["bookings"].astype(float)
    out.attrs["currency"] = "million lb"
    return out.sort_values(["rep_id", "month"]).reset_index(drop=True)
