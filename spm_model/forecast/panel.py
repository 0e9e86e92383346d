"""Monthly bookings per rep: the panel every forecasting model in this package reads.

The panel is a view of the one crediting result
(:class:`spm_model.crediting.CreditingResult`, made by
:func:`spm_model.calc.credit_dataset`); this module attributes no transaction
itself. The forecast wants the **direct owner's selling pattern**, so it reads
``credits.totals(freq="month", basis="direct", rules=SELLING_RULES)`` with
``SELLING_RULES = ("owner", "split")``: the account owner's credit on the
transaction date, or the split shares where a deal is split, net of their
cancellations and adjustments (in the month they happen, reversing the credit
of the rep who booked the deal). Overlay credit, crediting exceptions (pay
decisions, not selling) and manager roll-ups are left out, so every booking
is counted once. With ``credits`` made under plan clawback windows, a
cancellation outside the window does not reduce the panel either.

A month where the net amount is negative (a cancellation larger than the
month's bookings) is counted as a zero month; the number of such months is
kept in ``panel.attrs["negative_months"]``.

The panel is *long*: one row per rep and month in which the rep was employed
(from the hire month to the month of ``end_date``), so a month with no
bookings is a row with ``bookings == 0`` and a month before hire or after
leaving is no row at all (credit dated there is left out and its total kept in
``panel.attrs["credit_outside_employment"]``).

Columns
-------
rep_id : str
month : datetime64, first day of the calendar month
bookings : float, net bookings in the month (currency, >= 0)
team, region : str
hire_date, end_date : datetime64 (``end_date`` NaT while employed)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.errors import Problem, SpmConfigError, SpmDataError

if TYPE_CHECKING:
    from spm_model.crediting import CreditingResult

PANEL_COLUMNS = ["rep_id", "month", "bookings", "team", "region", "hire_date", "end_date"]

#: Crediting rules of the forecast view (effective rule: cancellations and
#: adjustments count under the rule of the credit they reverse).
SELLING_RULES: tuple[str, ...] = ("owner", "split")


def _month_start(s: pd.Series | pd.DatetimeIndex) -> pd.Series:
    d = pd.to_datetime(pd.Series(s))
    return d.dt.to_period("M").dt.to_timestamp()


def selling_credit(
    ds: Dataset, measure: str | None = None, credits: CreditingResult | None = None
) -> pd.DataFrame:
    """Net selling credit per rep and calendar month: the forecast view of crediting.

    Parameters
    ----------
    ds : Dataset
        The company data (``products`` checks ``measure``; crediting when
        ``credits`` is not given).
    measure : str, optional
        Keep only credit of this plan measure; all measures when omitted.
    credits : CreditingResult, optional
        The run's crediting result; default :func:`spm_model.calc.credit_dataset`
        of ``ds`` without plans (every cancellation reverses its booking).

    Returns
    -------
    DataFrame
        ``rep_id, month, cents, amount``: ``credits.totals(freq="month",
        basis="direct", rules=SELLING_RULES)`` summed over the selected
        measures; ``month`` the first day of the month, ``amount`` in currency
        (signed), ``cents`` integer cents. ``attrs["unattributed"]`` counts the
        transactions (of the measure) crediting nobody because their account
        had no owner on the date.
    """
    if measure is not None:
        known = set(ds.products["measure"].astype(str))
        if measure not in known:
            raise SpmDataError(
                Problem(
                    ds.source,
                    "products",
                    None,
                    "measure",
                    f"no product credits measure {measure!r}; measures in the data: "
                    f"{', '.join(sorted(known)) or '(none)'}",
                )
            )
    if credits is None:
        from spm_model.calc.credit import credit_dataset

        credits = credit_dataset(ds)
    tot = credits.totals("month", "direct", rules=SELLING_RULES, by=("rep_id", "measure", "period"))
    if measure is not None:
        tot = tot[tot["measure"].astype(str) == measure]
    out = tot.groupby(["rep_id", "period"], as_index=False, sort=True)["cents"].sum()
    out["month"] = pd.to_datetime(out["period"].astype(str) + "-01")
    out["amount"] = out["cents"] / 100.0
    out = out[["rep_id", "month", "cents", "amount"]]
    cons = credits.conservation
    un = cons.loc[(cons["status"] == "unassigned").to_numpy(), "txn_id"].astype(object)
    if measure is not None and len(un):
        tx = ds.transactions
        ids = set(ds.products.loc[ds.products["measure"] == measure, "product_id"])
        of_measure = set(tx.loc[tx["product_id"].isin(ids), "txn_id"].astype(object))
        un = un[un.isin(of_measure)]
    out.attrs["unattributed"] = len(un)
    return out


def monthly_bookings(
    ds: Dataset,
    measure: str | None = None,
    cutoff: str | pd.Timestamp | None = None,
    *,
    credits: CreditingResult | None = None,
) -> pd.DataFrame:
    """Net bookings per rep and calendar month, for every month each rep was employed.

    Parameters
    ----------
    ds : Dataset
        The company data.
    measure : str, optional
        Plan measure to forecast (``"new_business"``...); all products when omitted.
    cutoff : str or Timestamp, optional
        Last month to include (``"2025-06"``); defaults to the last complete
        month of the data (the month of ``ds.as_of`` if it is a month end,
        otherwise the month before).
    credits : CreditingResult, optional
        The run's crediting result (credit once per run and reuse it); default
        :func:`spm_model.calc.credit_dataset` of ``ds``. The panel is its
        selling view, :func:`selling_credit`.

    Returns
    -------
    DataFrame
        The panel described in the module docstring: reps who own an account
        or have selling credit, each month they were employed.
    """
    sums = selling_credit(ds, measure, credits)
    as_of = pd.Timestamp(ds.as_of)
    last_complete = (as_of + pd.Timedelta(days=1)).to_period(
        "M"
    ).to_timestamp() - pd.offsets.MonthBegin(1)
    cut = last_complete if cutoff is None else parse_cutoff(cutoff)
    if cut > last_complete:
        raise SpmDataError(
            Problem(
                ds.source,
                None,
                None,
                "cutoff",
                f"cutoff {cut:%Y-%m} is after the last complete month of the data "
                f"({last_complete:%Y-%m})",
            )
        )
    sellers = set(ds.assignments.loc[ds.assignments["role"] == "owner", "rep_id"].astype(str))
    sellers |= set(sums["rep_id"].astype(str))
    reps = ds.reps[ds.reps["rep_id"].isin(sellers)][
        ["rep_id", "team", "region", "hire_date", "end_date"]
    ]
    if reps.empty:
        raise SpmDataError(
            Problem(ds.source, "assignments", None, "role", "no rep owns any account")
        )
    start = _month_start(pd.Series([ds.transactions["date"].min()])).iloc[0]
    if ds.meta.start_date is not None:
        start = max(start, pd.Timestamp(ds.meta.start_date).to_period("M").to_timestamp())
    rows = []
    for r in reps.itertuples(index=False):
        first = max(start, pd.Timestamp(r.hire_date).to_period("M").to_timestamp())
        last = cut
        if pd.notna(r.end_date):
            last = min(last, pd.Timestamp(r.end_date).to_period("M").to_timestamp())
        if last < first:
            continue
        months = pd.date_range(first, last, freq="MS")
        rows.append(pd.DataFrame({"rep_id": r.rep_id, "month": months}))
    if not rows:
        raise SpmDataError(
            Problem(ds.source, "reps", None, None, f"no rep employed up to {cut:%Y-%m}")
        )
    grid = pd.concat(rows, ignore_index=True)
    grid["rep_id"] = grid["rep_id"].astype(object)
    window = sums[(sums["month"] >= start) & (sums["month"] <= cut)]
    window = window.assign(rep_id=window["rep_id"].astype(object))
    panel = grid.merge(window[["rep_id", "month", "cents"]], on=["rep_id", "month"], how="left")
    cents = panel["cents"].fillna(0).to_numpy(dtype=np.int64)
    panel["bookings"] = np.clip(cents, 0, None) / 100.0
    outside = int(window["cents"].sum() - cents.sum())
    panel = panel.drop(columns="cents").merge(reps, on="rep_id", how="left")
    panel = panel[PANEL_COLUMNS].sort_values(["rep_id", "month"]).reset_index(drop=True)
    panel.attrs["negative_months"] = int((cents < 0).sum())
    panel.attrs["credit_outside_employment"] = outside / 100.0
    panel.attrs["unattributed_transactions"] = sums.attrs.get("unattributed", 0)
    panel.attrs["measure"] = measure or "all"
    panel.attrs["currency"] = ds.meta.currency
    panel.attrs["fy_start_month"] = ds.meta.fy_start_month
    return panel


_MONTH_NAMES = {
    name: i + 1
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}


def parse_months(values: pd.Series) -> pd.Series:
    """Dates of a month column, NaT where a value is not a month.

    Anything :func:`pandas.to_datetime` reads as a date (``2024-03``,
    ``2024-03-15``, ``03/2024``, datetimes); a month name and year (``Mar-24``,
    ``Mar 2024``, ``March 2024``; a two-digit year is 1969-2068, as
    ``strptime``'s ``%y``); and the statistical packages' ``2024M03`` and
    ``202403``. A bare year (``2024``) is not a month, nor is a date before 1900
    or after 2199. Every value is parsed on its own, so a column may mix forms.
    """
    import warnings

    v = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(v):
        return pd.to_datetime(v)
    if pd.api.types.is_numeric_dtype(v):
        whole = v.notna() & (v == v.round())
        text = v.astype(str).where(~whole, v.where(whole, 0).astype("int64").astype(str))
    else:
        text = v.astype(str).str.strip()
    year = pd.Series(np.nan, index=v.index)
    month = pd.Series(np.nan, index=v.index)
    ym = text.str.extract(r"^(\d{4})[Mm]?(\d{2})$")  # 2024M03, 202403
    hit = ym[0].notna()
    year[hit], month[hit] = ym.loc[hit, 0].astype(float), ym.loc[hit, 1].astype(float)
    named = text.str.extract(r"^([A-Za-z]{3,9})[-\s/.,']*(\d{2}|\d{4})$")  # Mar-24, March 2024
    num = named[0].str[:3].str.lower().map(_MONTH_NAMES)
    hit2 = named[0].notna() & num.notna() & ~hit
    yy = named.loc[hit2, 1].astype(float)
    year[hit2] = np.where(yy < 100, np.where(yy < 69, 2000 + yy, 1900 + yy), yy)
    month[hit2] = num[hit2]
    rest = year.isna() & ~text.str.fullmatch(r"\d{4}(\.0)?") & v.notna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
        out = pd.to_datetime(text.where(rest), errors="coerce", format="mixed")
    known = year.notna() & month.between(1, 12)
    if known.any():
        out[known] = pd.to_datetime(
            pd.DataFrame({"year": year[known], "month": month[known]}).astype(int).assign(day=1)
        )
    return out.where((out.dt.year >= 1900) & (out.dt.year <= 2199))


def parse_cutoff(value: str | pd.Timestamp, what: str = "cut-off") -> pd.Timestamp:
    """Return the month start of a cut-off written as any month :func:`parse_months` reads.

    Raises
    ------
    SpmConfigError
        ``value`` is not a month (``2015-13``, a bare year), in one line naming ``what``.
    """
    month = parse_months(pd.Series([value])).iloc[0]
    if pd.isna(month):
        raise SpmConfigError(
            f"{what} {value!r} is not a month (write it as 2025-06, Jun-2025 or 2025-06-30)"
        )
    return pd.Timestamp(month).to_period("M").to_timestamp()


def coverage_notes(panel: pd.DataFrame, cutoff: str | pd.Timestamp | None = None) -> list[str]:
    """List what a forecast from ``cutoff`` leaves out or assumes about a checked panel.

    * series whose first month is after the cut-off: not forecast (no history);
    * series without a month in the 12 before the cut-off and no ``end_date``: forecast
      as still selling (mark an ended series with ``end_date``).
    """
    cut = panel["month"].max() if cutoff is None else parse_cutoff(cutoff)
    notes = []
    first = panel.groupby("rep_id")["month"].min()
    late = sorted(map(str, first.index[first > cut]))
    if late:
        notes.append(
            f"{len(late)} series start after the cut-off {cut:%Y-%m} and are not forecast: "
            + ", ".join(late[:10])
            + (" ..." if len(late) > 10 else "")
        )
    seen = panel[panel["month"] <= cut]
    last = seen.groupby("rep_id")["month"].max()
    ended = seen.groupby("rep_id")["end_date"].max() if "end_date" in seen else None
    quiet = last < cut - pd.DateOffset(months=11)
    if ended is not None:
        quiet &= ended.reindex(last.index).isna()
    stale = sorted(map(str, last.index[quiet]))
    if stale:
        notes.append(
            f"{len(stale)} series have no month in the 12 up to the cut-off and are forecast "
            "as still selling (give an end_date to stop one): "
            + ", ".join(stale[:10])
            + (" ..." if len(stale) > 10 else "")
        )
    return notes


#: Cell text read as "not known" (a missing month), besides an empty cell. A dash is not one of
#: them: accounting formats write a zero as "-", so it is an error rather than a guess.
MISSING_MARKERS = ("nan", "na", "n/a", "#n/a", "none", "null", "missing", "*", "?", "..")


def parse_amounts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Amounts of a bookings column, and which cells are missing.

    Numbers, and text as spreadsheets export it: thousands separators
    (``1,234.50``), a leading currency sign (``$``, ``€``, ``£``) and spaces.
    An empty cell or a marker of :data:`MISSING_MARKERS` is a missing month (not
    a zero, not an error). Anything else that is not a number is NaN and not
    missing, for the caller to report.

    Returns
    -------
    (Series, Series)
        The amounts (float, NaN where missing or unreadable) and the missing mask.
    """
    v = pd.Series(values)
    if pd.api.types.is_numeric_dtype(v):
        return v.astype(float), v.isna()
    text = v.astype(str).str.strip()
    blank = v.isna() | text.str.lower().isin(("", *MISSING_MARKERS))
    cleaned = text.str.replace(r"^[$€£]\s*", "", regex=True)
    grouped = cleaned.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?")
    cleaned = cleaned.where(~grouped, cleaned.str.replace(",", "", regex=False))
    return pd.to_numeric(cleaned.where(~blank), errors="coerce").astype(float), blank


def _cell(value: object) -> str:
    """Show a cell's value in a message (numbers plainly, text quoted)."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return f"{float(value):,.10g}"
    return repr(value)


def check_panel(
    panel: pd.DataFrame,
    source: str = "<panel>",
    duplicates: Literal["error", "sum"] = "error",
) -> pd.DataFrame:
    """Validate and normalise a user-supplied monthly panel.

    Required columns are ``rep_id``, ``month`` and ``bookings``; ``team`` and
    ``region`` default to ``"all"``, ``hire_date`` to long before the first
    month (no ramp) and ``end_date`` to NaT. Every problem is reported at once.

    **Missing months.** A month whose bookings are not known is *missing*:
    leave its row out, or leave its ``bookings`` cell empty (NaN) or write one
    of :data:`MISSING_MARKERS` (``NA``, ``#N/A``, ``*``...). Amounts may carry
    thousands separators and a currency sign (:func:`parse_amounts`). It is not a
    zero (write ``0`` for a month known to have no bookings) and not an error.
    Rows with empty bookings are dropped, so the returned panel has one row per
    observed month; ``attrs["missing_months"]`` counts the months without a
    row between each series' first and last month. Every model and baseline
    reads the panel on calendar months, so a gap is a gap (the baselines'
    "same month last year" is the calendar month, the Bayesian model's Kalman
    filter skips the update), and a series whose last month is missing is
    still forecast. Mark a series that really ended with ``end_date``: it is
    not forecast after that date.

    **Several rows of one series and month** (daily or transaction-level
    data) are an error by default; ``duplicates="sum"`` adds them up (the
    month is missing only when every one of its cells is empty) and counts the
    rows folded into another in ``attrs["summed_rows"]``.

    Raises
    ------
    SpmDataError
        Listing each missing column, bad value (with its row) and duplicate.
    """
    if duplicates not in ("error", "sum"):
        raise ValueError(f"duplicates must be 'error' or 'sum', got {duplicates!r}")
    problems: list[Problem] = []
    for col in ("rep_id", "month", "bookings"):
        if col not in panel.columns:
            problems.append(Problem(source, "panel", None, col, "required column is missing"))
    if problems:
        raise SpmDataError(problems)
    p = panel.copy()
    ids = p["rep_id"]
    blank_id = ids.isna() | ids.astype(str).str.strip().isin(("", "nan", "None"))
    for i in np.flatnonzero(blank_id.to_numpy())[:50]:
        problems.append(Problem(source, "panel", int(i) + 2, "rep_id", "empty: name the series"))
    p["rep_id"] = ids.astype(str).str.strip()
    month = parse_months(p["month"])
    for i in np.flatnonzero(month.isna().to_numpy())[:50]:
        problems.append(
            Problem(source, "panel", int(i) + 2, "month", f"not a date: {panel['month'].iloc[i]!r}")
        )
    p["month"] = month.dt.to_period("M").dt.to_timestamp()
    raw = p["bookings"]
    b, blank = parse_amounts(raw)
    bad = (b.isna() & ~blank) | ~np.isfinite(b.fillna(0.0)) | (b < 0)
    for i in np.flatnonzero(bad.to_numpy())[:50]:
        problems.append(
            Problem(
                source,
                "panel",
                int(i) + 2,
                "bookings",
                f"must be a finite amount >= 0, got {_cell(panel['bookings'].iloc[i])}"
                + (" (returns: net them into the month's bookings)" if b.iloc[i] < 0 else ""),
            )
        )
    p["bookings"] = b.astype(float).where(~blank)
    dup = p.duplicated(["rep_id", "month"], keep=False) & month.notna()
    if duplicates == "error":
        for i in np.flatnonzero(dup.to_numpy())[:50]:
            problems.append(
                Problem(
                    source,
                    "panel",
                    int(i) + 2,
                    "month",
                    "duplicate rep_id and month (several rows of a series in one month, e.g. "
                    "daily data: add them up with duplicates='sum', --sum-duplicates)",
                )
            )
    for col in ("team", "region"):
        if col not in p.columns:
            p[col] = "all"
        p[col] = p[col].fillna("unknown").astype(str)
    if problems:
        raise SpmDataError(problems)
    summed = 0
    if duplicates == "sum" and dup.any():
        keys = ["rep_id", "month"]
        amounts = p.groupby(keys, sort=False)["bookings"].sum(min_count=1)
        rest = p.drop(columns="bookings").groupby(keys, sort=False).first()
        summed = len(p) - len(amounts)
        p = rest.join(amounts).reset_index()
    for col in ("team", "region"):
        n = p.groupby("rep_id")[col].nunique()
        for rep in n.index[n > 1][:20]:
            problems.append(
                Problem(source, "panel", None, col, f"rep {rep} has more than one {col}")
            )
    if problems:
        raise SpmDataError(problems)
    if "hire_date" not in p.columns:
        p["hire_date"] = p["month"].min() - pd.DateOffset(years=10)
    p["hire_date"] = pd.to_datetime(p["hire_date"]).fillna(
        p["month"].min() - pd.DateOffset(years=10)
    )
    p["end_date"] = pd.to_datetime(p["end_date"]) if "end_date" in p.columns else pd.NaT
    attrs = dict(panel.attrs)
    missing = p["bookings"].isna().to_numpy()
    empty = sorted(set(p.loc[missing, "rep_id"]) - set(p.loc[~missing, "rep_id"]))
    if empty:
        raise SpmDataError(
            Problem(
                source,
                "panel",
                None,
                "bookings",
                f"{len(empty)} series {'has' if len(empty) == 1 else 'have'} no observed month "
                "at all (every bookings cell is "
                f"empty): {', '.join(empty[:10])}",
            )
        )
    out = p.loc[~missing, PANEL_COLUMNS].sort_values(["rep_id", "month"]).reset_index(drop=True)
    out.attrs.update(attrs)
    out.attrs.setdefault("fy_start_month", 1)
    out.attrs["missing_months"] = _gaps(out)
    out.attrs["summed_rows"] = summed
    return out


def _gaps(panel: pd.DataFrame) -> int:
    """Calendar months between each series' first and last row that have no row."""
    if panel.empty:
        return 0
    g = panel.groupby("rep_id")["month"]
    first, last, n = g.min(), g.max(), g.size()
    span = (last.dt.year - first.dt.year) * 12 + (last.dt.month - first.dt.month) + 1
    return int((span - n).sum())


def calendar_series(
    panel: pd.DataFrame, rep_id: str, end: pd.Timestamp | None = None
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """One series on consecutive calendar months, missing months as NaN.

    Parameters
    ----------
    panel : DataFrame
        A checked panel (:func:`check_panel` or :func:`monthly_bookings`).
    rep_id : str
        The series.
    end : Timestamp, optional
        Last month of the calendar (default: the series' last row); months
        after the last row up to ``end`` are NaN.

    Returns
    -------
    months, values : DatetimeIndex, numpy.ndarray
        Every month start from the series' first row to ``end``; bookings or NaN.
    """
    g = panel[panel["rep_id"] == rep_id]
    s = pd.Series(g["bookings"].to_numpy(dtype=float), index=pd.DatetimeIndex(g["month"]))
    last = s.index.max() if end is None else max(pd.Timestamp(end), s.index.min())
    months = pd.date_range(s.index.min(), last, freq="MS")
    return months, s.reindex(months).to_numpy(dtype=float)
