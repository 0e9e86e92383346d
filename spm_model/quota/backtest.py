"""Backtest quota methods: set quotas with data up to year Y-1, score them on year Y.

The dataset is cut at the day before fiscal year ``Y`` (:func:`truncate_dataset`:
transactions, activities and assignments after the cut-off are removed, later
end dates and hires are unknown), every method sets annual quotas for ``Y`` from
that view (bottom-up, or from a company target with over-assignment; the target
``"actual"`` is what the reps really credited in ``Y``), and the quotas are
compared with what the reps actually credited in ``Y``.

Who counts: reps employed for the whole of ``Y`` (hired on or before its first
day, not leaving before its last) who were known at the cut-off, on the measures
their role carries; when the dataset holds quotas for ``Y``, only (rep, measure)
pairs that had one.

Scores per method: share of pairs at or above quota (and the aim, for the
probabilistic method), attainment (actual / quota, 1.0 = 100%) mean, median, CV
(standard deviation / mean) and IQR, mean absolute error of quota vs actual and
the weighted absolute percentage error (currency measures; ``meetings`` count
measures appear in the per-measure table).

Calibration: every method's quotas come with a stated chance of attainment per
pair (``p_attain``: the probabilistic method's common chance, for the others the
history-based predictive distribution's chance of reaching that quota). The
table gives its Brier score next to the base-rate Brier score (the observed
share at quota stated for everyone); ``reliability`` bins stated chance against
the observed share. A common chance (the probabilistic method) cannot score
below the base rate: its Brier score is the base rate's plus the squared gap
between the chance and the observed share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from spm_model.data import Dataset, parse_period
from spm_model.errors import SpmConfigError
from spm_model.quota.history import _month_index, build_history, credited_history, data_span
from spm_model.quota.methods import make_method
from spm_model.quota.setting import set_quotas

if TYPE_CHECKING:
    from spm_model.crediting import CreditingResult

DEFAULT_METHODS: dict[str, dict[str, Any]] = {
    "history": {"method": "history"},
    "run_rate": {"method": "run_rate"},
    "potential": {"method": "potential"},
    "capacity": {"method": "capacity"},
    "blend": {"method": "blend", "weights": {"history": 0.5, "potential": 0.5}},
    "probabilistic": {"method": "probabilistic", "aim": 0.65},
}


def backtest_years(ds: Dataset) -> list[int]:
    """Fiscal years that can be held out: complete in the data, with history before them."""
    fy = ds.meta.fy_start_month
    start, end = data_span(ds)
    out = []
    for y in range(start.year - 1, end.year + 2):
        span = parse_period(str(y), fy)
        if pd.Timestamp(span.start) > start and pd.Timestamp(span.end) <= end:
            out.append(y)
    return out


def check_backtest_year(ds: Dataset, year: int) -> None:
    """Refuse a held-out year that is not complete in the data or has no history before it.

    Raises
    ------
    SpmConfigError
        One line naming the data's span and the years that can be backtested.
    """
    ok = backtest_years(ds)
    if int(year) in ok:
        return
    start, end = data_span(ds)
    years = f"FY{ok[0]} to FY{ok[-1]}" if len(ok) > 1 else (f"FY{ok[0]}" if ok else "none")
    span = parse_period(str(int(year)), ds.meta.fy_start_month)
    why = (
        "is not complete in the data"
        if pd.Timestamp(span.end) > end
        else "has no history before it"
    )
    raise SpmConfigError(
        f"fiscal year {year} {why} (the data run from {start.date()} to {end.date()}; "
        f"years that can be backtested: {years})"
    )


def truncate_dataset(ds: Dataset, cutoff: str | pd.Timestamp) -> Dataset:
    """Return the dataset as it was known at the end of ``cutoff`` (inclusive).

    Dated facts after the cut-off are dropped; end dates after it become
    unknown (NaT); reps hired after it and quotas for periods starting after it
    are removed; opportunities created after it are removed and those closing
    after it are open, as the CRM showed them (:func:`_opportunities_at`).
    """
    cut = pd.Timestamp(cutoff)
    t: dict[str, pd.DataFrame] = {}
    reps = ds.reps[pd.to_datetime(ds.reps["hire_date"]).fillna(cut) <= cut].copy()
    reps.loc[reps["end_date"] > cut, "end_date"] = pd.NaT
    t["reps"] = reps
    t["transactions"] = ds.transactions[ds.transactions["date"] <= cut]
    if "activities" in ds:
        t["activities"] = ds.activities[ds.activities["date"] <= cut]
    if "opportunities" in ds and len(ds.opportunities):
        t["opportunities"] = _opportunities_at(ds.opportunities, cut)
    asg = ds.assignments[ds.assignments["start_date"] <= cut].copy()
    asg.loc[asg["end_date"] > cut, "end_date"] = pd.NaT
    t["assignments"] = asg
    if "quotas" in ds and len(ds.quotas):
        q = ds.quotas
        starts = {
            lab: pd.Timestamp(parse_period(lab, ds.meta.fy_start_month).start)
            for lab in q["period"].astype(str).unique()
        }
        t["quotas"] = q[q["period"].astype(str).map(starts) <= cut]
    return ds.replace(**t)


#: Open stages by elapsed share of the time from creation to expected close, and their
#: win probabilities (as a CRM shows an open deal).
_OPEN_STAGES = ("prospect", "qualify", "propose", "negotiate")
_OPEN_PROBABILITY = (0.1, 0.25, 0.5, 0.75)


def _opportunities_at(opps: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    """Opportunities as the CRM showed them at the cut-off.

    Those created after it are dropped; those closing after it are open, with
    the close date as the expected one, and a stage (and its probability) by
    how much of the time from creation to the expected close has passed.
    """
    o = opps[pd.to_datetime(opps["created_date"]) <= cut].copy()
    close = pd.to_datetime(o["close_date"])
    later = (close > cut).to_numpy()
    if later.any():
        created = pd.to_datetime(o["created_date"]).to_numpy()[later]
        span = np.maximum((close.to_numpy()[later] - created) / np.timedelta64(1, "D"), 1.0)
        done = np.clip((cut.to_datetime64() - created) / np.timedelta64(1, "D") / span, 0, 1)
        k = np.minimum((done * 4).astype(int), 3)
        o.loc[later, "status"] = "open"
        o.loc[later, "stage"] = np.asarray(_OPEN_STAGES, dtype=object)[k]
        o.loc[later, "probability"] = np.asarray(_OPEN_PROBABILITY)[k]
    return o


@dataclass
class BacktestResult:
    """Side-by-side scores of quota methods on a held-out fiscal year.

    Attributes
    ----------
    year : int
        Held-out fiscal year.
    table : DataFrame
        One row per method (see module docstring for the columns).
    by_measure : DataFrame
        The same scores per method and measure.
    detail : DataFrame
        Per method, rep and measure: ``quota`` (annual, whole units), ``actual``,
        ``attainment`` (fraction), ``at_quota``, ``chance`` (stated chance of
        reaching the quota, fraction) and, for methods that aim at one, ``aim``.
    reliability : DataFrame
        Per method and bin of stated chance: ``cases``, ``stated`` (mean
        chance), ``observed`` (share at quota) (:func:`reliability_table`).
    notes : list of str
        Measures left out (``unset="skip"``).
    """

    year: int
    table: pd.DataFrame
    by_measure: pd.DataFrame
    detail: pd.DataFrame
    reliability: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"BacktestResult(year={self.year})\n{self.table.to_string(index=False)}"


def _scores(d: pd.DataFrame, aim: float | None) -> dict[str, float]:
    att = d["attainment"].to_numpy()
    money = d[d["measure"] != "meetings"]
    q1, q3 = np.percentile(att, [25, 75]) if len(att) else (np.nan, np.nan)
    mean = float(np.mean(att)) if len(att) else np.nan
    return {
        "pairs": len(d),
        "share_at_quota": float(np.mean(d["at_quota"])) if len(d) else np.nan,
        "aim": aim if aim is not None else np.nan,
        "attainment_mean": mean,
        "attainment_median": float(np.median(att)) if len(att) else np.nan,
        "attainment_cv": float(np.std(att, ddof=1) / mean) if len(att) > 1 and mean else np.nan,
        "attainment_iqr": float(q3 - q1),
        "mae": float(np.mean(np.abs(money["quota"] - money["actual"]))) if len(money) else np.nan,
        "wape": float(np.abs(money["quota"] - money["actual"]).sum() / money["actual"].abs().sum())
        if len(money) and money["actual"].abs().sum() > 0
        else np.nan,
    }


#: Edges of the reliability table's bins of stated chance (fractions).
RELIABILITY_BINS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def brier(chance: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Brier score of stated chances and of the base rate.

    Parameters
    ----------
    chance : ndarray
        Stated probability per case (fraction).
    outcome : ndarray of bool
        What happened (True: quota reached).

    Returns
    -------
    (float, float)
        Mean squared error of ``chance`` and of the observed base rate (the share
        of cases that happened, stated for every case); lower is better, and a
        chance that knows something about the cases scores below the base rate.
    """
    c = np.asarray(chance, dtype=float)
    y = np.asarray(outcome, dtype=float)
    ok = np.isfinite(c)
    if not ok.any():
        return float("nan"), float("nan")
    c, y = c[ok], y[ok]
    base = float(y.mean())
    return float(np.mean((c - y) ** 2)), float(np.mean((base - y) ** 2))


def reliability_table(
    chance: np.ndarray, outcome: np.ndarray, bins: Sequence[float] = RELIABILITY_BINS
) -> pd.DataFrame:
    """Stated chance against the observed share, by bin of stated chance.

    Parameters
    ----------
    chance : ndarray
        Stated probability per case (fraction).
    outcome : ndarray of bool
        What happened.
    bins : sequence of float
        Bin edges (fractions, increasing, from 0 to 1).

    Returns
    -------
    DataFrame
        ``bin`` (label), ``cases``, ``stated`` (mean stated chance), ``observed``
        (share that happened); empty bins are left out.
    """
    c = np.asarray(chance, dtype=float)
    y = np.asarray(outcome, dtype=float)
    ok = np.isfinite(c)
    edges = np.asarray(bins, dtype=float)
    idx = np.clip(np.searchsorted(edges, c[ok], side="right") - 1, 0, len(edges) - 2)
    df = pd.DataFrame({"b": idx, "c": c[ok], "y": y[ok]})
    g = df.groupby("b").agg(cases=("y", "size"), stated=("c", "mean"), observed=("y", "mean"))
    g.insert(0, "bin", [f"{edges[i]:.0%}-{edges[i + 1]:.0%}" for i in g.index])
    return g.reset_index(drop=True)


def _actual_targets(
    target: str, actual: pd.Series, pairs: pd.DataFrame, measure: str | None
) -> dict[str, float]:
    """Company targets equal to what the plan year's quota-carrying reps credited."""
    if target != "actual":
        raise SpmConfigError(f"target must be an amount, a mapping or 'actual', got {target!r}")
    key = pd.MultiIndex.from_frame(pairs[["rep_id", "measure"]])
    tot = pd.Series(actual.reindex(key).fillna(0.0).to_numpy(), index=pairs["measure"].to_numpy())
    by = tot.groupby(level=0).sum()
    if measure is not None:
        by = by[[measure]]
    return {str(k): float(v) for k, v in by.items() if v > 0}


def backtest(
    ds: Dataset,
    year: int,
    methods: Mapping[str, Any] | Sequence[str] | None = None,
    *,
    credits: CreditingResult | None = None,
    target: float | Mapping[str, float] | str | None = None,
    measure: str | None = None,
    over_assign: float | Mapping[str, float] | None = None,
    unset: Literal["error", "skip"] = "error",
    **history_options: Any,
) -> BacktestResult:
    """Set quotas for ``year`` with data to the end of ``year - 1``; score on ``year``.

    Parameters
    ----------
    ds : Dataset
        The whole company (history and the held-out year).
    year : int
        Held-out fiscal year; it must be complete in the data.
    methods : mapping or sequence, optional
        ``{label: method spec}`` or method names; default every method
        (:data:`DEFAULT_METHODS`).
    credits : CreditingResult, optional
        Crediting of the whole of ``ds`` (credit once per run and reuse it);
        default :func:`spm_model.calc.credit_dataset` of ``ds``. History is its
        quota view (:func:`~spm_model.quota.history.credited_history`) up to the
        cut-off (credit depends only on facts dated up to the credit date, so
        this equals crediting the truncated data); actuals are the same view in
        the held-out year.
    target : float, mapping or "actual", optional
        Company target for the held-out year, as in :func:`set_quotas`
        (``measure`` names the measure of a plain number); ``"actual"`` uses what
        the year's quota-carrying reps really credited (every measure, or only
        ``measure``), so the scores judge how each method spreads a known total.
        Default: bottom-up.
    measure : str, optional
        Measure a plain-number or ``"actual"`` target applies to.
    over_assign : float or mapping, optional
        Over-assignment of measures with a target (total fraction, or per level;
        see :func:`set_quotas`).
    unset : {"error", "skip"}
        A measure no rep has history for before ``year`` (and without a
        target) stops the backtest (``"error"``, as :func:`set_quotas`) or is
        left out and noted (``"skip"``).
    **history_options
        Passed to :func:`build_history`.

    Returns
    -------
    BacktestResult
        With calibration of each method's stated chance of attainment
        (``p_attain`` of :meth:`QuotaResult.annual`): ``brier`` and
        ``brier_base_rate`` in the table, bins in ``reliability``.

    Raises
    ------
    SpmConfigError
        A held-out year not complete in the data or with no history before it.
    """
    fy = ds.meta.fy_start_month
    span = parse_period(str(int(year)), fy)
    y0, y1 = pd.Timestamp(span.start), pd.Timestamp(span.end)
    check_backtest_year(ds, int(year))
    if methods is None:
        specs: dict[str, Any] = dict(DEFAULT_METHODS)
    elif isinstance(methods, Mapping):
        specs = dict(methods)
    else:
        specs = {str(m): m for m in methods}
    for spec in specs.values():
        make_method(spec)  # validate before any work
    cut = y0 - pd.Timedelta(days=1)
    past = truncate_dataset(ds, cut)
    if credits is None:
        from spm_model.calc.credit import credit_dataset

        credits = credit_dataset(ds)
    hist = build_history(past, int(year), credits=credits.until(cut), **history_options)
    notes: list[str] = []
    if unset not in ("error", "skip"):
        raise SpmConfigError(f"unset must be 'error' or 'skip', got {unset!r}")
    if unset == "skip":
        named = set(target) if isinstance(target, Mapping) else set()
        if target is not None and not isinstance(target, Mapping | str):
            named = {measure} if measure is not None else set()
        total = pd.Series(hist.amounts.sum(axis=1), index=hist.pairs["measure"].to_numpy())
        has = total.groupby(level=0).sum() > 0
        empty = [str(m) for m, ok in has.items() if not ok and m not in named]
        if empty:
            keep = [str(m) for m, ok in has.items() if ok or m in named]
            if not keep:
                raise SpmConfigError(f"no measure has history before FY{int(year)}")
            history_options = {**history_options, "measures": keep}
            hist = build_history(past, int(year), credits=credits.until(cut), **history_options)
            notes = [
                f"measure {m!r}: no rep has history before FY{int(year)}; left out" for m in empty
            ]
    # actuals in the held-out year, from the full data
    credit = credited_history(ds, credits)
    m = _month_index(pd.to_datetime(credit["period"].astype(str) + "-01"))
    cy = credit[(m >= hist.plan_months[0]) & (m <= hist.plan_months[-1])]
    actual = cy.groupby(["rep_id", "measure"])["amount"].sum()
    # population
    reps = ds.reps.set_index("rep_id")
    p = hist.pairs
    hire = pd.to_datetime(reps["hire_date"]).reindex(p["rep_id"]).to_numpy()
    end = pd.to_datetime(reps["end_date"]).reindex(p["rep_id"]).to_numpy()
    whole = (
        (~np.isnat(hire))
        & (hire <= y0.to_datetime64())
        & (np.isnat(end) | (end >= y1.to_datetime64()))
    )
    keep = whole
    if "quotas" in ds and len(ds.quotas):
        q = ds.quotas
        in_y = q["period"].astype(str).map(lambda s: parse_period(s, fy).fiscal_year == int(year))
        had = set(zip(q.loc[in_y, "rep_id"], q.loc[in_y, "measure"], strict=True))
        if had:
            keep = keep & np.array(
                [(r, mm) in had for r, mm in zip(p["rep_id"], p["measure"], strict=True)]
            )
    tgt: Any = target
    if isinstance(target, str):
        tgt = _actual_targets(target, actual, p, measure)
    rows: list[dict[str, Any]] = []
    aims: dict[str, float | None] = {}
    details = []
    rel = []
    for label, spec in specs.items():
        res = set_quotas(
            hist,
            method=spec,
            manager_quotas=False,
            target=tgt,
            measure=measure,
            over_assign=over_assign,
        )
        a = res.annual
        d = pd.DataFrame(
            {
                "method": label,
                "rep_id": a["rep_id"].to_numpy()[keep],
                "measure": a["measure"].to_numpy()[keep],
                "quota": a["annual"].to_numpy()[keep].astype(float),
                "chance": a["p_attain"].to_numpy()[keep],
            }
        )
        d["actual"] = (
            actual.reindex(pd.MultiIndex.from_frame(d[["rep_id", "measure"]]))
            .fillna(0.0)
            .to_numpy()
        )
        d = d[d["quota"] > 0]
        d["attainment"] = d["actual"] / d["quota"]
        d["at_quota"] = d["actual"] >= d["quota"]
        details.append(d)
        aim: float | None = None
        if res.chance:
            # the chance the method states: its aim, or with a target the solved common chance
            d["aim"] = d["measure"].map(res.chance).astype(float)
            aim = float(d["aim"].mean()) if len(d) else None
        aims[label] = aim
        rows.append({"method": label, **_scores(d, aim), **_calibration(d)})
        rel.append(reliability_table(d["chance"], d["at_quota"]).assign(method=label))
    detail = pd.concat(details, ignore_index=True)
    table = pd.DataFrame(rows)
    table["aim_gap"] = table["share_at_quota"] - table["aim"]
    bm = []
    for (label, meas), g in detail.groupby(["method", "measure"], sort=False):
        a_m = float(g["aim"].mean()) if "aim" in g and g["aim"].notna().any() else None
        bm.append({"method": label, "measure": meas, **_scores(g, a_m), **_calibration(g)})
    by_measure = pd.DataFrame(bm)
    by_measure["aim_gap"] = by_measure["share_at_quota"] - by_measure["aim"]
    reliability = pd.concat(rel, ignore_index=True)
    reliability = reliability[["method", *[c for c in reliability if c != "method"]]]
    return BacktestResult(
        year=int(year),
        table=table,
        by_measure=by_measure,
        detail=detail,
        reliability=reliability,
        notes=notes,
    )


def _calibration(d: pd.DataFrame) -> dict[str, float]:
    b, b0 = brier(d["chance"].to_numpy(), d["at_quota"].to_numpy())
    return {
        "chance_mean": float(d["chance"].mean()) if len(d) else np.nan,
        "brier": b,
        "brier_base_rate": b0,
    }
