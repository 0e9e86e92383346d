"""Backtest quota methods: set quotas with data up to year Y-1, score them on year Y.

The dataset is cut at the day before fiscal year ``Y`` (:func:`truncate_dataset`:
transactions, activities and assignments after the cut-off are removed, later
end dates and hires are unknown), every method sets bottom-up annual quotas for
``Y`` from that view, and the quotas are compared with what the reps actually
credited in ``Y``.

Who counts: reps employed for the whole of ``Y`` (hired on or before its first
day, not leaving before its last) who were known at the cut-off, on the measures
their role carries; when the dataset holds quotas for ``Y``, only (rep, measure)
pairs that had one.

Scores per method: share of pairs at or above quota (and the aim, for the
probabilistic method), attainment (actual / quota, 1.0 = 100%) mean, median, CV
(standard deviation / mean) and IQR, mean absolute error of quota vs actual and
the weighted absolute percentage error (currency measures; ``meetings`` count
measures appear in the per-measure table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spm_model.data import Dataset, parse_period
from spm_model.errors import SpmConfigError
from spm_model.quota.history import _month_index, build_history, credited_history
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


def truncate_dataset(ds: Dataset, cutoff: str | pd.Timestamp) -> Dataset:
    """Return the dataset as it was known at the end of ``cutoff`` (inclusive).

    Dated facts after the cut-off are dropped; end dates after it become
    unknown (NaT); reps hired after it and quotas for periods starting after it
    are removed.
    """
    cut = pd.Timestamp(cutoff)
    t: dict[str, pd.DataFrame] = {}
    reps = ds.reps[pd.to_datetime(ds.reps["hire_date"]).fillna(cut) <= cut].copy()
    reps.loc[reps["end_date"] > cut, "end_date"] = pd.NaT
    t["reps"] = reps
    t["transactions"] = ds.transactions[ds.transactions["date"] <= cut]
    if "activities" in ds:
        t["activities"] = ds.activities[ds.activities["date"] <= cut]
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
        ``attainment`` (fraction), ``at_quota``.
    """

    year: int
    table: pd.DataFrame
    by_measure: pd.DataFrame
    detail: pd.DataFrame

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


def backtest(
    ds: Dataset,
    year: int,
    methods: Mapping[str, Any] | Sequence[str] | None = None,
    *,
    credits: CreditingResult | None = None,
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
    **history_options
        Passed to :func:`build_history`.

    Returns
    -------
    BacktestResult
    """
    fy = ds.meta.fy_start_month
    span = parse_period(str(int(year)), fy)
    y0, y1 = pd.Timestamp(span.start), pd.Timestamp(span.end)
    if pd.Timestamp(ds.meta.end_date) < y1 if getattr(ds.meta, "end_date", None) else False:
        raise SpmConfigError(
            f"fiscal year {year} is not complete in the data (ends {ds.meta.end_date})"
        )
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
    rows: list[dict[str, Any]] = []
    aims: dict[str, float | None] = {}
    details = []
    for label, spec in specs.items():
        res = set_quotas(hist, method=spec, manager_quotas=False)
        a = res.annual
        d = pd.DataFrame(
            {
                "method": label,
                "rep_id": a["rep_id"].to_numpy()[keep],
                "measure": a["measure"].to_numpy()[keep],
                "quota": a["annual"].to_numpy()[keep].astype(float),
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
        meth = res.method
        aim = getattr(meth, "aim", None)
        aims[label] = aim
        rows.append({"method": label, **_scores(d, aim)})
    detail = pd.concat(details, ignore_index=True)
    table = pd.DataFrame(rows)
    table["aim_gap"] = table["share_at_quota"] - table["aim"]
    bm = []
    for (label, meas), g in detail.groupby(["method", "measure"], sort=False):
        bm.append({"method": label, "measure": meas, **_scores(g, aims.get(str(label)))})
    return BacktestResult(year=int(year), table=table, by_measure=pd.DataFrame(bm), detail=detail)
