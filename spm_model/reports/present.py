"""Presentation for readers who are not data scientists: formatted tables and the summary.

The HTML report shows every table through :func:`report_table` (human headers,
no index, money with thousands separators and the currency code, fractions as
percentages, blanks instead of ``None``/``NaN``) and opens with an
:class:`ExecutiveSummary` (the few numbers a CFO asks for, each with a one-line
meaning), built from the figures the notebook records by
:func:`executive_summary`. Column meanings come from the one workbook writer
(:func:`spm_model.data.workbook.column_kind`), so the page and the Excel
workbook format a column alike.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from spm_model.data.workbook import column_kind, human_header

Kind = Literal["money", "percent", "points", "count", "number", "date", "text", "bool"]
Tone = Literal["neutral", "good", "warn", "bad"]

MISSING = "-"

#: Styles of report tables and the summary; scoped by class, safe to repeat on a page.
CSS = """
<style>
.spm-table-wrap { max-width: 100%; margin: 0.4em 0 1em 0; }
table.spm-table { border-collapse: collapse; font-size: 13px; max-width: 100%;
  table-layout: auto; }
table.spm-table th { text-align: left; vertical-align: bottom; white-space: normal;
  border-bottom: 1px solid #999; padding: 4px 8px; font-weight: 600; }
table.spm-table td { padding: 3px 8px; border-bottom: 1px solid #e5e5e5;
  vertical-align: top; }
div.spm-table-wrap table.spm-table td, div.spm-table-wrap table.spm-table th {
  text-align: left; }
div.spm-table-wrap table.spm-table td.num, div.spm-table-wrap table.spm-table th.num {
  text-align: right; white-space: nowrap; }
table.spm-table caption { caption-side: top; text-align: left; font-weight: 600;
  padding-bottom: 4px; }
.spm-table-note { font-size: 12px; color: #555; margin-top: 2px; }
.spm-summary { font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  max-width: 1200px; }
.spm-summary h1 { font-size: 26px; margin: 0 0 2px 0; }
.spm-summary .spm-sub { color: #555; font-size: 14px; margin: 0 0 12px 0; }
.spm-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr));
  gap: 10px; }
.spm-card { border: 1px solid #d8d8d8; border-left: 5px solid #4C72B0; border-radius: 4px;
  padding: 8px 12px; background: #fafafa; }
.spm-card.good { border-left-color: #55A868; }
.spm-card.warn { border-left-color: #DD8452; }
.spm-card.bad { border-left-color: #C44E52; }
.spm-card .spm-label { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em;
  color: #555; }
.spm-card .spm-value { font-size: 24px; font-weight: 650; margin: 2px 0; }
.spm-card .spm-detail { font-size: 13px; color: #333; }
.spm-card .spm-meaning { font-size: 13px; color: #444; margin-top: 4px; }
</style>
"""


# -- scalar formatting -----------------------------------------------------------------------
def is_missing(value: Any) -> bool:
    """Whether ``value`` is None, NaN, NaT or ``pd.NA``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def format_money(
    value: Any, currency: str | None = None, decimals: int = 0, compact: bool = False
) -> str:
    """Money for a reader: ``USD 1,234,568`` (or ``USD 1.23M`` with ``compact``).

    Parameters
    ----------
    value : number
        Amount in ``currency``; missing values give ``"-"``.
    currency : str, optional
        ISO code put in front of the number.
    decimals : int
        Decimals of the full form.
    compact : bool
        Thousands, millions and billions as ``k``, ``M`` and ``B`` (three significant digits).

    Returns
    -------
    str
    """
    if is_missing(value):
        return MISSING
    x = float(value)
    if compact and abs(x) >= 1e3:
        for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= scale:
                v = x / scale
                digits = 2 if abs(v) < 10 else 1 if abs(v) < 100 else 0
                text = f"{v:,.{digits}f}{suffix}"
                break
    else:
        text = f"{x:,.{decimals}f}"
    if text.startswith("-0") and float(text.replace(",", "").rstrip("kMB") or 0) == 0:
        text = text[1:]
    return f"{currency} {text}" if currency else text


def format_percent(value: Any, decimals: int = 0, points: bool = False) -> str:
    """Percentage for a reader: a fraction ``0.123`` is ``12%`` (``points``: 12.3 is ``12%``)."""
    if is_missing(value):
        return MISSING
    x = float(value) if points else float(value) * 100.0
    return f"{x:,.{decimals}f}%"


def format_count(value: Any) -> str:
    """Whole number with thousands separators (``12,345``)."""
    if is_missing(value):
        return MISSING
    return f"{round(float(value)):,d}"


def format_number(value: Any, decimals: int = 2) -> str:
    """Plain number with thousands separators."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}"


def format_date(value: Any) -> str:
    """ISO date without a time (``2026-09-30``); keeps the time only when it is not midnight."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        return value
    ts = pd.Timestamp(value)
    return f"{ts:%Y-%m-%d}" if ts == ts.normalize() else f"{ts:%Y-%m-%d %H:%M}"


def _format_text(value: Any) -> str:
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, dt.date | pd.Timestamp):
        return format_date(value)
    if isinstance(value, float | np.floating):
        return format_number(value)
    text = str(value)
    return text if text.strip() else MISSING


# -- tables ----------------------------------------------------------------------------------
def table_kind(name: object, values: pd.Series) -> Kind:
    """Meaning of a column for display (the workbook writer's, plus ``bool``)."""
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if values.dtype == object:
        sample = values.dropna()
        if len(sample) and all(isinstance(v, bool | np.bool_) for v in sample):
            return "bool"
    return column_kind(name, values)


@dataclass
class ReportTable:
    """A table formatted for the page: text cells, human headers, alignment.

    Displayed as HTML in a notebook (``_repr_html_``); ``frame`` holds the cell
    texts exactly as shown, for tests and plain-text output.

    Parameters
    ----------
    frame : DataFrame
        Formatted cell texts with the displayed headers.
    numeric : sequence of bool
        Right-align each column (numbers) or not (text).
    caption : str, optional
        Line above the table.
    note : str, optional
        Small print under the table.
    """

    frame: pd.DataFrame
    numeric: Sequence[bool] = ()
    caption: str | None = None
    note: str | None = None

    def to_html(self) -> str:
        """Return the table as an HTML fragment (with the report styles)."""
        numeric = list(self.numeric) or [False] * self.frame.shape[1]
        cls = ['class="num"' if n else "" for n in numeric]
        pairs = zip(self.frame.columns, cls, strict=True)
        head = "".join(f"<th {c}>{html.escape(str(h))}</th>" for h, c in pairs)
        body = "".join(
            "<tr>"
            + "".join(f"<td {c}>{html.escape(str(v))}</td>" for v, c in zip(row, cls, strict=True))
            + "</tr>"
            for row in self.frame.itertuples(index=False, name=None)
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        note = f'<div class="spm-table-note">{html.escape(self.note)}</div>' if self.note else ""
        return (
            f'{CSS}<div class="spm-table-wrap"><table class="spm-table">{caption}'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        text = self.frame.to_string(index=False)
        parts = [p for p in (self.caption, text, self.note) if p]
        return "\n".join(parts)


def report_table(
    table: pd.DataFrame | pd.Series,
    *,
    currency: str | None = None,
    kinds: Mapping[str, Kind] | None = None,
    headers: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    index: bool = False,
    max_rows: int | None = None,
    money_decimals: int = 0,
    percent_decimals: int = 0,
    caption: str | None = None,
    note: str | None = None,
) -> ReportTable:
    """Format a table for a reader.

    Parameters
    ----------
    table : DataFrame or Series
        The data. Its index is dropped unless ``index`` (then it becomes the first columns).
    currency : str, optional
        ISO code of money columns, shown in their header (``Payable (USD)``).
    kinds : mapping of str to kind, optional
        Column -> ``"money"``, ``"percent"`` (a fraction, 1.0 = 100%), ``"points"``
        (already in percent, 12.5 = 12.5%), ``"count"``, ``"number"``, ``"date"``,
        ``"text"`` or ``"bool"``, overriding the meaning read from the column name
        (:func:`spm_model.data.workbook.column_kind`).
    headers : mapping of str to str, optional
        Column -> displayed header, overriding :func:`~spm_model.data.workbook.human_header`.
    columns : sequence of str, optional
        Columns to show, in this order (default: all).
    index : bool
        Keep the index as leading columns.
    max_rows : int, optional
        Show at most this many rows (the note says how many were left out).
    money_decimals, percent_decimals : int
        Decimals of money and percentages.
    caption, note : str, optional
        Line above and small print under the table.

    Returns
    -------
    ReportTable
        Displayed as HTML in a notebook; ``.frame`` has the cell texts.
    """
    df = table.to_frame() if isinstance(table, pd.Series) else table
    if index:
        df = df.reset_index()
    if columns is not None:
        df = df[list(columns)]
    kinds = dict(kinds or {})
    headers = dict(headers or {})
    left_out = 0
    if max_rows is not None and len(df) > max_rows:
        left_out = len(df) - max_rows
        df = df.head(max_rows)
    cells: dict[str, list[str]] = {}
    numeric: list[bool] = []
    used: set[str] = set()
    for col in df.columns:
        values = df[col]
        kind = kinds.get(str(col)) or table_kind(col, values)
        header = headers.get(str(col)) or human_header(col)
        if kind == "money" and currency and currency not in header:
            header = f"{header} ({currency})"
        while header in used:
            header += " "
        used.add(header)
        if kind == "money":
            texts = [format_money(v, None, money_decimals) for v in values]
        elif kind == "percent":
            texts = [format_percent(v, percent_decimals) for v in values]
        elif kind == "points":
            texts = [format_percent(v, max(percent_decimals, 1), points=True) for v in values]
        elif kind == "count":
            texts = [format_count(v) for v in values]
        elif kind == "number":
            texts = [format_number(v) for v in values]
        elif kind == "date":
            texts = [format_date(v) for v in values]
        else:
            texts = [_format_text(v) for v in values]
        cells[header] = texts
        numeric.append(kind in ("money", "percent", "points", "count", "number"))
    frame = pd.DataFrame(cells, columns=list(cells), dtype=object)
    if left_out:
        extra = f"{left_out:,d} more rows in the workbook."
        note = f"{note} {extra}" if note else extra
    return ReportTable(frame=frame, numeric=numeric, caption=caption, note=note)


#: Territory metrics (``TerritoryAlignment.metrics()`` rows) as a reader names them.
TERRITORY_METRICS: dict[str, tuple[str, Kind]] = {
    "potential.max_dev_pct": ("Worst gap from a fair share of potential", "points"),
    "potential.max_min_ratio": ("Largest / smallest potential", "number"),
    "potential.cv": ("Spread of potential (coefficient of variation)", "percent"),
    "workload.max_dev_pct": ("Worst gap from a fair share of workload", "points"),
    "workload.max_min_ratio": ("Largest / smallest workload", "number"),
    "workload.cv": ("Spread of workload (coefficient of variation)", "percent"),
    "mean_km": ("Average distance from rep to account (km)", "number"),
    "max_km": ("Longest distance from rep to account (km)", "number"),
    "accounts_moved_pct": ("Accounts moved", "points"),
    "potential_moved_pct": ("Potential moved", "points"),
}


def before_after_table(
    metrics: pd.DataFrame,
    labels: Mapping[str, tuple[str, Kind]] | None = None,
    currency: str | None = None,
    caption: str | None = None,
    note: str | None = None,
) -> ReportTable:
    """Format a metrics table (a row per metric; columns such as ``before``, ``after``).

    Parameters
    ----------
    metrics : DataFrame
        Indexed by metric name; every column is formatted by the row's kind.
    labels : mapping of str to (label, kind), optional
        Metric name -> displayed name and kind (default :data:`TERRITORY_METRICS`); a metric
        not listed keeps its human header and shows as a plain number.
    currency : str, optional
        Code appended to the label of money rows.
    caption, note : str, optional
        Line above and small print under the table.

    Returns
    -------
    ReportTable
    """
    labels = TERRITORY_METRICS if labels is None else labels
    fmt = {
        "money": lambda v: format_money(v),
        "percent": lambda v: format_percent(v),
        "points": lambda v: format_percent(v, 1, points=True),
        "count": format_count,
        "number": format_number,
    }
    rows = []
    for name, values in metrics.iterrows():
        label, kind = labels.get(str(name), (human_header(str(name).replace(".", " ")), "number"))
        if kind == "money" and currency:
            label = f"{label} ({currency})"
        f = fmt.get(kind, _format_text)
        rows.append([label, *(f(v) for v in values)])
    frame = pd.DataFrame(
        rows, columns=["Metric", *(human_header(c) for c in metrics.columns)], dtype=object
    )
    numeric = [False, *([True] * metrics.shape[1])]
    return ReportTable(frame=frame, numeric=numeric, caption=caption, note=note)


# -- the executive summary -------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """One number of the summary.

    Parameters
    ----------
    label : str
        What it is ("Payable for 2026-Q3").
    value : str
        The number as shown ("USD 1.39M").
    meaning : str
        One line saying what it means for the reader.
    detail : str
        Optional second line under the value (P90, budget...).
    tone : {"neutral", "good", "warn", "bad"}
        Colour of the card's edge.
    """

    label: str
    value: str
    meaning: str
    detail: str = ""
    tone: Tone = "neutral"


@dataclass
class ExecutiveSummary:
    """The report's first screen: a title, one line of context and the headline cards."""

    title: str
    subtitle: str
    headlines: list[Headline] = field(default_factory=list)

    def to_html(self) -> str:
        """Return the summary as an HTML fragment (with the report styles)."""
        cards = "".join(
            f'<div class="spm-card {h.tone}"><div class="spm-label">{html.escape(h.label)}</div>'
            f'<div class="spm-value">{html.escape(h.value)}</div>'
            + (f'<div class="spm-detail">{html.escape(h.detail)}</div>' if h.detail else "")
            + f'<div class="spm-meaning">{html.escape(h.meaning)}</div></div>'
            for h in self.headlines
        )
        return (
            f'{CSS}<div class="spm-summary"><h1>{html.escape(self.title)}</h1>'
            f'<p class="spm-sub">{html.escape(self.subtitle)}</p>'
            f'<div class="spm-cards">{cards}</div></div>'
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def text(self) -> str:
        """Return the summary as plain text, one headline a line."""
        lines = [self.title, self.subtitle, ""]
        for h in self.headlines:
            detail = f" ({h.detail})" if h.detail else ""
            lines.append(f"{h.label}: {h.value}{detail}. {h.meaning}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def frame(self) -> pd.DataFrame:
        """Return the headlines as a table (figure, value, detail, meaning), e.g. for a workbook."""
        return pd.DataFrame(
            [(h.label, h.value, h.detail, h.meaning) for h in self.headlines],
            columns=["figure", "value", "detail", "meaning"],
        )


def _get(figures: Mapping[str, Any], name: str) -> float | None:
    v = figures.get(name)
    if v is None or isinstance(v, bool) or is_missing(v):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _na(label: str, why: str) -> Headline:
    return Headline(label, MISSING, why)


def executive_summary(
    figures: Mapping[str, Any],
    *,
    company: str,
    period: str,
    currency: str,
    as_of: str,
    tolerance_pct: float = 10.0,
) -> ExecutiveSummary:
    """Build the report's first screen from the figures a report run recorded.

    Parameters
    ----------
    figures : mapping
        Recorded figures, name to value (see :func:`spm_model.reports.recorded`). Read:
        ``payable_total``, ``statement_reps``; ``comp_cost_p50``, ``comp_cost_p90``,
        ``comp_budget``, ``comp_p_over_budget``, ``comp_cost_year``, ``comp_cost_basis``
        (words after the year, e.g. "at the proposed quotas"); ``cost_of_sales``;
        ``share_expected_at_quota``, ``quota_year``; ``forecast_next_quarter_mean``,
        ``forecast_next_quarter_p10``, ``forecast_next_quarter_p90``,
        ``forecast_next_quarter_label``; ``territory_potential_dev_before_pct``,
        ``territory_potential_dev_after_pct``, ``territory_accounts_moved_pct``;
        ``data_problems``. Money in ``currency``; shares and chances as fractions;
        ``*_pct`` in percent. A missing figure shows as ``-`` with the reason.
    company, period, currency, as_of : str
        The company's name, the statement period, the currency code and the data's as-of date.
    tolerance_pct : float
        Territory balance target (worst deviation from the fair share, percent).

    Returns
    -------
    ExecutiveSummary
    """
    cards: list[Headline] = []
    money = lambda x: format_money(x, currency, compact=True)  # noqa: E731

    payable = _get(figures, "payable_total")
    reps = _get(figures, "statement_reps")
    if payable is None:
        cards.append(_na(f"Payable for {period}", "no statements were computed"))
    else:
        who = f" to {int(reps):,d} people" if reps else ""
        cards.append(
            Headline(
                f"Payable for {period}",
                money(payable),
                f"Incentive pay due{who} for the quarter, from the exact statements.",
            )
        )

    p50, p90 = _get(figures, "comp_cost_p50"), _get(figures, "comp_cost_p90")
    budget, over = _get(figures, "comp_budget"), _get(figures, "comp_p_over_budget")
    year = figures.get("comp_cost_year") or "the plan year"
    if p50 is None or p90 is None:
        cards.append(_na(f"Comp cost {year}", "the cost simulation did not run"))
    else:
        detail = f"P90 {money(p90)}"
        if budget is not None:
            detail += f" · budget {money(budget)}"
        tone: Tone = "neutral"
        basis = figures.get("comp_cost_basis")
        basis = f" {basis}" if basis else ""
        meaning = (
            f"Expected (P50) incentive cost of {year}{basis}; 1 year in 10 it exceeds the P90."
        )
        if over is not None and budget is not None:
            tone = "bad" if over >= 0.5 else "warn" if over >= 0.2 else "good"
        cards.append(Headline(f"Comp cost {year}, P50", money(p50), meaning, detail, tone))
        if over is not None and budget is not None:
            cards.append(
                Headline(
                    "Chance of going over budget",
                    format_percent(over),
                    f"Share of simulated years whose incentive cost exceeds the "
                    f"{money(budget)} budget (the reps' target incentive).",
                    tone=tone,
                )
            )

    cos = _get(figures, "cost_of_sales")
    if cos is None:
        cards.append(_na(f"Cost of sales {period}", "no bookings in the period"))
    else:
        cards.append(
            Headline(
                f"Cost of sales {period}",
                format_percent(cos, 1),
                "Incentive earned per unit of net bookings in the quarter.",
            )
        )

    share = _get(figures, "share_expected_at_quota")
    qyear = figures.get("quota_year")
    if share is None:
        cards.append(_na("Reps expected at quota", "no new-business quota proposal"))
    else:
        tone = "good" if 0.5 <= share <= 0.8 else "warn"
        cards.append(
            Headline(
                "Reps expected at quota",
                format_percent(share),
                f"Share of reps expected to reach their proposed {qyear} new-business quota "
                "(50-80% is usual).",
                tone=tone,
            )
        )

    mean = _get(figures, "forecast_next_quarter_mean")
    lo, hi = _get(figures, "forecast_next_quarter_p10"), _get(figures, "forecast_next_quarter_p90")
    label = figures.get("forecast_next_quarter_label") or "next quarter"
    if mean is None:
        cards.append(_na(f"New business {label}", "no forecast in this run"))
    else:
        detail = ""
        if lo is not None and hi is not None:
            detail = f"80% range {money(lo)} to {money(hi)}"
        unsure = figures.get("forecast_checks_passed") is False
        if unsure:
            detail += (
                "; indicative only: the model did not pass all its convergence checks "
                "(see the forecast section)"
            )
        cards.append(
            Headline(
                f"New business forecast {label}",
                money(mean),
                "Expected new-business bookings; 8 in 10 outcomes fall in the range.",
                detail,
                tone="warn" if unsure else "neutral",
            )
        )

    before = _get(figures, "territory_potential_dev_before_pct")
    after = _get(figures, "territory_potential_dev_after_pct")
    moved = _get(figures, "territory_accounts_moved_pct")
    if before is None or after is None:
        cards.append(_na("Territory balance", "territories were not rebalanced"))
    else:
        pot = _get(figures, "territory_potential_moved_pct")
        moved_text = (
            f", moving {format_percent(moved, points=True)} of accounts"
            + (f" ({format_percent(pot, points=True)} of potential)" if pot is not None else "")
            if moved
            else ""
        )
        cards.append(
            Headline(
                "Territory balance (worst gap)",
                f"{format_percent(before, points=True)} → {format_percent(after, points=True)}",
                f"Largest gap between a rep's account potential and a fair share, "
                f"before and after the proposed rebalance{moved_text}.",
                tone="good" if after <= tolerance_pct + 1e-6 else "warn",
            )
        )

    problems = _get(figures, "data_problems")
    if problems is None:
        cards.append(_na("Data problems", "the data was not validated"))
    else:
        n = int(problems)
        cards.append(
            Headline(
                "Data problems",
                f"{n:,d}",
                "No problems: the figures can be paid from this data."
                if n == 0
                else "Fix these before paying from this data (listed in section 1).",
                tone="good" if n == 0 else "bad",
            )
        )
    title = f"{company}: sales compensation report, {period}"
    subtitle = f"Data to {as_of}; amounts in {currency}. Key figures first, details below."
    return ExecutiveSummary(title=title, subtitle=subtitle, headlines=cards)


def report_title(company: str, period: str) -> str:
    """Browser tab title of a report: ``Northwind Analytics · 2026-Q3 compensation report``."""
    return f"{company} · {period} compensation report"


# -- figures the summary needs ---------------------------------------------------------------
def cost_risk(costs: Mapping[str, np.ndarray] | Sequence[np.ndarray], budget: float) -> dict:
    """Company-wide comp cost percentiles and the chance of overrun from per-plan scenarios.

    Parameters
    ----------
    costs : mapping or sequence of arrays
        Each plan's simulated cost per scenario (currency), all of one length and
        drawn on the same scenarios (the same seed), summed scenario by scenario.
    budget : float
        The company's incentive budget (currency).

    Returns
    -------
    dict
        ``mean``, ``p50``, ``p90``, ``p95`` (currency) and ``p_over_budget`` (fraction).
    """
    arrays = list(costs.values()) if isinstance(costs, Mapping) else list(costs)
    if not arrays:
        raise ValueError("cost_risk needs at least one plan's simulated costs")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"plans were simulated with different scenario counts: {sorted(lengths)}")
    total = np.sum([np.asarray(a, dtype=float) for a in arrays], axis=0)
    return {
        "mean": float(total.mean()),
        "p50": float(np.percentile(total, 50)),
        "p90": float(np.percentile(total, 90)),
        "p95": float(np.percentile(total, 95)),
        "p_over_budget": float(np.mean(total > budget)),
    }


def horizon_total(draws: Any, months: int = 3, probs: tuple[float, float] = (0.1, 0.9)) -> dict:
    """Company total of the first ``months`` forecast months: mean and an interval.

    Parameters
    ----------
    draws : xarray.DataArray
        Forecast draws with dims ``sample`` and ``month`` (any others, e.g. ``rep``, are summed).
    months : int
        Leading months of the horizon to add up.
    probs : (float, float)
        Lower and upper quantiles (fractions; default the 80% interval).

    Returns
    -------
    dict
        ``mean``, ``low``, ``high`` (currency) and ``label`` (``2026-10 to 2026-12``).
    """
    other = [d for d in draws.dims if d not in ("sample", "month")]
    da = draws.sum(dim=other) if other else draws
    da = da.isel(month=slice(0, months))
    total = da.sum(dim="month").to_numpy().astype(float)
    month_labels = [f"{pd.Timestamp(m):%Y-%m}" for m in da["month"].to_numpy()]
    label = month_labels[0]
    if len(month_labels) > 1:
        label = f"{month_labels[0]} to {month_labels[-1]}"
    lo, hi = np.quantile(total, probs)
    return {"mean": float(total.mean()), "low": float(lo), "high": float(hi), "label": label}


_CHECK_WORDS = {
    "divergences": "divergent transitions",
    "r_hat": "largest R-hat (chains agree below 1.01)",
    "ess_bulk": "smallest effective draws, main parameters (400 or more)",
    "ess_tail": "smallest effective tail draws, main parameters (400 or more)",
}


def convergence_table(diagnostics: Any, quick: bool = False) -> ReportTable:
    """Show the forecast model's convergence checks as a small table with one sentence.

    Parameters
    ----------
    diagnostics : spm_model.forecast.diagnostics.Diagnostics
        ``forecaster.diagnostics_``.
    quick : bool
        The run used few draws on purpose (the sentence says so).

    Returns
    -------
    ReportTable
        Check, value, bar and whether it passed; the note says what a failure means.
    """
    main = diagnostics.main() if len(diagnostics.table) else diagnostics.table
    r_hat = diagnostics.max_r_hat
    ess_b = float(main["ess_bulk"].min()) if len(main) else float("nan")
    ess_t = float(main["ess_tail"].min()) if len(main) else float("nan")
    rows = [
        ("Divergent transitions", format_count(diagnostics.divergences), "0",
         diagnostics.divergences == 0),
        ("Largest R-hat", format_number(r_hat, 3), "1.01 or less",
         not np.isfinite(r_hat) or r_hat <= 1.01),
        ("Effective draws (main parameters)", format_count(ess_b), "400 or more",
         not np.isfinite(ess_b) or ess_b >= 400),
        ("Effective tail draws (main parameters)", format_count(ess_t), "400 or more",
         not np.isfinite(ess_t) or ess_t >= 400),
    ]  # fmt: skip
    frame = pd.DataFrame(
        [(a, b, c, "passed" if ok else "not met") for a, b, c, ok in rows],
        columns=["Check", "Value", "Bar", "Result"],
        dtype=object,
    )
    failed = sum(not ok for *_, ok in rows)
    draws = f"{diagnostics.n_samples:,d} draws, sampler {diagnostics.sampler}"
    if not failed:
        note = f"All convergence checks passed ({draws}): the forecast intervals can be trusted."
    elif quick:
        note = (
            f"{failed} of 4 checks not met with the few draws of a quick run ({draws}): "
            "the intervals are indicative; the full run draws enough for final numbers."
        )
    else:
        note = (
            f"{failed} of 4 checks not met ({draws}): treat the forecast intervals as "
            "indicative and rerun with more draws (notebook 06 has the details)."
        )
    return ReportTable(
        frame=frame,
        numeric=[False, True, False, False],
        caption="Forecast model checks",
        note=note,
    )


#: Library loggers whose progress notes ("Initializing NUTS...", "Sampling 2 chains...") are
#: not for a report's reader; the report states what matters (e.g. :func:`convergence_table`).
QUIET_LOGGERS = ("pymc", "pymc.sampling", "pymc.stats", "pytensor", "arviz", "numba")


def quiet_libraries() -> None:
    """Keep library progress notes out of a report page (their errors still show).

    Also hides PyTensor's "could not link to a BLAS installation" warning: it is about
    speed, not about the figures.
    """
    import logging
    import warnings

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*could not link to a BLAS", category=UserWarning)
