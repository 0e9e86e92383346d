"""Rolling-origin backtest of the Bayesian forecaster against the baselines.

For each cut-off month every model is fitted on the history up to the cut-off
(end dates after the cut-off are hidden, as they were unknown then) and
forecasts the following ``horizon`` months for the reps employed at the
cut-off. Forecasts are scored on the rep-months that really happened (a rep
who left during the horizon is scored up to the month of leaving):

* ``crps_rep``: mean CRPS per rep and month (currency; lower is better),
  from the sample draws (:func:`~spm_model.forecast.metrics.crps_samples`);
* ``crps_scaled``: the CRPS of each rep-month divided by the rep's scale, the
  mean of its observed bookings over the 12 months up to the cut-off (over all
  its history if those are all zero), averaged over rep-months: a fraction of
  a typical month, comparable across series of very different size (lower is
  better; the headline score);
* ``scaled_vs_best_baseline``, ``crps_vs_best_baseline``: ``1 - score /
  score of the best baseline`` for the scaled and the currency CRPS, as a
  fraction (0.10 = 10% better);
* ``wape_total``, ``mape_total``: errors of the monthly total over those reps,
  point forecast = median of the summed draws (fractions);
* ``wape_rep``: WAPE of the per-rep medians (fraction);
* ``coverage_50/80/95``: share of rep-months inside the central 50/80/95%
  intervals (fractions; ideal = the nominal level);
* ``coverage_total_50/80/95``: share of months whose total over those reps lies
  in the central interval of the summed draws (fractions): whether the forecast
  knows how far the series move together (independent series' intervals of the
  total are far too narrow when they do);
* ``content_50/80/95``: the mean probability each forecast puts inside its own
  central interval: the coverage a calibrated forecast would show. It equals
  the nominal level unless forecasts have an atom at zero (a rep with a 30%
  chance of booking nothing has a central 80% interval from 0 that holds 90%);
* ``coverage_nominal_50/80/95``: coverage of the intervals that hold exactly
  the nominal probability (central where the chance of zero is small, from 0
  to the ``level`` quantile otherwise; see
  :func:`~spm_model.forecast.metrics.interval_bounds`); ideal = the nominal
  level, also for reps who often book nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.errors import SpmConfigError
from spm_model.forecast.baselines import BASELINES
from spm_model.forecast.config import ForecastConfig
from spm_model.forecast.metrics import (
    crps_samples,
    format_amount,
    interval_content,
    interval_hits,
    mape,
    wape,
)
from spm_model.forecast.panel import parse_cutoff

if TYPE_CHECKING:
    from spm_model.crediting import CreditingResult

LEVELS = (0.5, 0.8, 0.95)


@dataclass
class BacktestResult:
    """Outcome of :func:`backtest`.

    Parameters
    ----------
    table : DataFrame
        One row per model with the scores listed in the module docstring.
    by_cutoff : DataFrame
        The same scores per model and cut-off.
    cutoffs : list of str
        Cut-off months (``YYYY-MM``).
    horizon : int
        Months forecast after each cut-off.
    details : dict
        Extra information (fit seconds, convergence summaries of the Bayesian fits).
    """

    table: pd.DataFrame
    by_cutoff: pd.DataFrame
    cutoffs: list[str]
    horizon: int
    details: dict[str, Any]

    def to_markdown(self) -> str:
        """Return the summary table as Markdown (used in the README)."""
        t = self.table.copy()
        cols = {
            "crps_scaled": "scaled CRPS",
            "scaled_vs_best_baseline": "vs best baseline",
            "crps_rep": "CRPS per rep-month",
            "crps_vs_best_baseline": "vs best (currency CRPS)",
            "wape_total": "WAPE total",
            "mape_total": "MAPE total",
            "wape_rep": "WAPE per rep",
            "coverage_50": "50% cover",
            "coverage_80": "80% cover",
            "coverage_95": "95% cover",
            "coverage_total_80": "total's 80% cover",
            "content_80": "80% content",
            "coverage_nominal_80": "80% cover, nominal interval",
        }
        out = ["| model | " + " | ".join(cols.values()) + " |", "|---|" + "---:|" * len(cols)]
        for name, r in t.iterrows():
            cells = [f"{r['crps_scaled']:.3f}", f"{r['scaled_vs_best_baseline']:+.1%}"]
            cells += [format_amount(r["crps_rep"]), f"{r['crps_vs_best_baseline']:+.1%}"]
            cells += [f"{r[c]:.1%}" for c in ("wape_total", "mape_total", "wape_rep")]
            cells += [
                f"{r[c]:.1%}"
                for c in (
                    "coverage_50",
                    "coverage_80",
                    "coverage_95",
                    "coverage_total_80",
                    "content_80",
                    "coverage_nominal_80",
                )
            ]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(out)

    def __repr__(self) -> str:
        return (
            f"BacktestResult(cutoffs={self.cutoffs}, horizon={self.horizon})\n"
            + self.table.to_string(float_format=lambda v: f"{v:,.3f}")
        )


#: Months of history a backtest cut-off must leave before it.
MIN_HISTORY_MONTHS = 12


def default_cutoffs(
    panel: pd.DataFrame, horizon: int, n_cutoffs: int, step: int = 3
) -> list[pd.Timestamp]:
    """Up to ``n_cutoffs`` cut-offs ``step`` months apart, the last ``horizon`` before the end.

    Cut-offs that would leave fewer than :data:`MIN_HISTORY_MONTHS` months of
    history are left out (a short panel gets fewer cut-offs, not an error);
    :class:`~spm_model.errors.SpmConfigError` when none is left.
    """
    first = pd.Timestamp(panel["month"].min())
    last = pd.Timestamp(panel["month"].max())
    cuts = [last - pd.DateOffset(months=horizon + step * i) for i in range(n_cutoffs)]
    kept = sorted(c for c in cuts if c >= first + pd.DateOffset(months=MIN_HISTORY_MONTHS))
    if not kept:
        raise SpmConfigError(
            f"the data ({first:%Y-%m} to {last:%Y-%m}) are too short to backtest {horizon} "
            f"months ahead: a cut-off needs {MIN_HISTORY_MONTHS} months of history before it "
            f"and {horizon} after it; shorten the horizon or add history"
        )
    return kept


def _training_panel(panel: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    train = panel[panel["month"] <= cutoff].copy()
    future_end = train["end_date"].notna() & (train["end_date"] > cutoff + pd.offsets.MonthEnd(0))
    train.loc[future_end, "end_date"] = pd.NaT
    train.attrs.update(panel.attrs)
    return train


def series_scale(train: pd.DataFrame, cutoff: pd.Timestamp | None = None) -> pd.Series:
    """Scale of each series for scaled CRPS: mean observed bookings over its last 12 months.

    The 12 calendar months up to ``cutoff`` (default: the panel's last month);
    the mean over all its history where those are all zero or missing; NaN
    for a series that never booked anything (left out of the scaled score).
    """
    cut = pd.Timestamp(train["month"].max() if cutoff is None else cutoff)
    recent = train[train["month"] > cut - pd.DateOffset(months=12)]
    last = recent.groupby("rep_id")["bookings"].mean()
    whole = train.groupby("rep_id")["bookings"].mean()
    sc = last.reindex(whole.index)
    sc = sc.where(sc > 0, whole)
    return sc.where(sc > 0)


def score(draws: Any, actual: pd.DataFrame, scale: pd.Series | None = None) -> dict[str, Any]:
    """Score one forecast (DataArray ``(sample, rep, month)``) against the long ``actual`` panel.

    ``scale`` (per ``rep_id``, e.g. :func:`series_scale` of the training
    panel) gives the scaled CRPS; without it the scaled CRPS is NaN.
    """
    act = actual.pivot(index="rep_id", columns="month", values="bookings")
    act = act.reindex(
        index=draws["rep"].to_numpy(), columns=pd.DatetimeIndex(draws["month"].to_numpy())
    )
    a = act.to_numpy(dtype=float)
    seen = ~np.isnan(a)
    x = draws.to_numpy()
    a0 = np.nan_to_num(a)
    crps_all = crps_samples(x, a0)
    crps = crps_all[seen]
    if scale is None:
        scaled = np.full(crps.shape, np.nan)
    else:
        sc = scale.reindex(draws["rep"].to_numpy()).to_numpy(dtype=float)
        scaled = (crps_all / sc[:, None])[seen]
    hits = {lv: interval_hits(x, a0, lv)[seen] for lv in LEVELS}
    content = {lv: interval_content(x, lv)[seen] for lv in LEVELS}
    nominal = {lv: interval_hits(x, a0, lv, kind="nominal")[seen] for lv in LEVELS}
    masked = np.where(seen[None], x, 0.0)
    total_draws = masked.sum(axis=1)  # (sample, month)
    total_actual = np.where(seen, a0, 0.0).sum(axis=0)
    total_point = np.median(total_draws, axis=0)
    rep_point = np.median(x, axis=0)[seen]
    total_hits = {lv: interval_hits(total_draws, total_actual, lv) for lv in LEVELS}
    return {
        "crps": crps,
        "crps_scaled": scaled,
        "hits": hits,
        "content": content,
        "nominal": nominal,
        "total_actual": total_actual,
        "total_point": total_point,
        "total_hits": total_hits,
        "rep_actual": a0[seen],
        "rep_point": rep_point,
    }


def _summarise(parts: list[dict[str, Any]]) -> dict[str, float]:
    crps = np.concatenate([p["crps"] for p in parts])
    sc = np.concatenate([p["crps_scaled"] for p in parts])
    sc = sc[np.isfinite(sc)]
    out = {"crps_scaled": float(sc.mean()) if len(sc) else float("nan")}
    out["crps_rep"] = float(crps.mean())
    ta = np.concatenate([p["total_actual"] for p in parts])
    tp = np.concatenate([p["total_point"] for p in parts])
    out["wape_total"] = wape(ta, tp)
    out["mape_total"] = mape(ta, tp)
    out["wape_rep"] = wape(
        np.concatenate([p["rep_actual"] for p in parts]),
        np.concatenate([p["rep_point"] for p in parts]),
    )
    for lv in LEVELS:
        out[f"coverage_{round(lv * 100)}"] = float(
            np.concatenate([p["hits"][lv] for p in parts]).mean()
        )
    for lv in LEVELS:
        out[f"coverage_total_{round(lv * 100)}"] = float(
            np.concatenate([p["total_hits"][lv] for p in parts]).mean()
        )
    for lv in LEVELS:
        out[f"content_{round(lv * 100)}"] = float(
            np.concatenate([p["content"][lv] for p in parts]).mean()
        )
    for lv in LEVELS:
        out[f"coverage_nominal_{round(lv * 100)}"] = float(
            np.concatenate([p["nominal"][lv] for p in parts]).mean()
        )
    out["n_rep_months"] = len(crps)
    return out


ModelFactory = Callable[[pd.DataFrame, pd.Timestamp, int, int], Any]


def _simplex_grid(n: int, step: float = 0.1) -> np.ndarray:
    """All weight vectors of ``n`` models on a grid of ``step`` that sum to 1."""
    k = round(1.0 / step)
    out = [c for c in np.ndindex(*(k + 1,) * (n - 1)) if sum(c) <= k]
    return np.array([[*c, k - sum(c)] for c in out], dtype=float) / k


def mixture_draws(draws: dict[str, Any], weights: np.ndarray) -> Any:
    """Mix forecasts (same reps and months) sample by sample: ``weights[h, m]`` per horizon.

    Month ``h`` of the stacked forecast takes the first ``round(w * S)`` draws of
    each model ``m`` (the draws are exchangeable), ``S`` draws in total.
    """
    names = list(draws)
    first = draws[names[0]]
    n_s = first.sizes["sample"]
    out = np.empty(first.shape)
    for h in range(first.sizes["month"]):
        counts = np.floor(weights[h] * n_s).astype(int)
        counts[np.argmax(weights[h])] += n_s - counts.sum()
        parts = [
            draws[n].isel(month=h).to_numpy()[:c] for n, c in zip(names, counts, strict=True) if c
        ]
        out[:, :, h] = np.concatenate(parts, axis=0)
    return first.copy(data=out)


def stacking_weights(
    history: list[tuple[dict[str, Any], pd.DataFrame, pd.Series]],
    names: list[str],
    horizon: int,
    until: pd.Timestamp,
) -> np.ndarray:
    """Per-horizon weights minimising the mixture's scaled CRPS over earlier origins.

    Parameters
    ----------
    history : list of (draws by model, actual panel, scale)
        Forecasts made at earlier cut-offs, their outcomes and series scales.
    names : list of str
        Models, in the order of the weight columns.
    horizon : int
        Months ahead.
    until : Timestamp
        Only outcomes up to this month are used (those known at the new cut-off).

    Returns
    -------
    numpy.ndarray
        ``(horizon, len(names))`` weights on a 0.1 grid; equal weights for a
        horizon with no known outcome yet.
    """
    grid = _simplex_grid(len(names))
    w = np.full((horizon, len(names)), 1.0 / len(names))
    for h in range(horizon):
        losses = np.zeros(len(grid))
        seen_any = False
        for draws, actual, scale in history:
            month = pd.Timestamp(draws[names[0]]["month"].to_numpy()[h])
            if month > until:
                continue
            one = {n: d.isel(month=[h]) for n, d in draws.items()}
            act = actual[actual["month"] == month]
            if act.empty:
                continue
            for i, wv in enumerate(grid):
                sc = score(mixture_draws(one, wv[None, :]), act, scale)["crps_scaled"]
                losses[i] += float(np.nansum(sc))
            seen_any = True
        if seen_any:
            w[h] = grid[int(np.argmin(losses))]
    return w


def backtest(
    data: Dataset | pd.DataFrame,
    horizon: int = 6,
    cutoffs: Sequence[str] | None = None,
    n_cutoffs: int = 4,
    baselines: Sequence[str] = ("seasonal_naive", "ets", "sarimax"),
    config: ForecastConfig | dict | None = None,
    measure: str | None = None,
    include_bayes: bool = True,
    progress: Callable[[str], None] | None = None,
    credits: CreditingResult | None = None,
    stack: bool = False,
) -> BacktestResult:
    """Rolling-origin backtest of the Bayesian model and the baselines, in one table.

    Parameters
    ----------
    data : Dataset or DataFrame
        Company data or a monthly panel (see :mod:`spm_model.forecast.panel`).
    horizon : int
        Months forecast after each cut-off.
    cutoffs : sequence of str, optional
        Cut-off months (``"2025-06"``); default: ``n_cutoffs`` cut-offs three
        months apart, the last ``horizon`` months before the end of the data.
    n_cutoffs : int
        Number of default cut-offs.
    baselines : sequence of str
        Names from :data:`~spm_model.forecast.baselines.BASELINES`.
    config : ForecastConfig or dict, optional
        Settings of the Bayesian model.
    measure : str, optional
        Plan measure to forecast (Dataset input).
    include_bayes : bool
        Also fit the Bayesian model (set False to score baselines only).
    progress : callable, optional
        Called with a short message as each model finishes.
    credits : CreditingResult, optional
        The run's crediting result of ``data`` (Dataset input), reused rather
        than crediting again.
    stack : bool
        Also score a ``"stacked"`` forecast: at each cut-off, a sample
        mixture of all the models' predictive draws with weights per horizon
        chosen (on a 0.1 grid) to minimise the scaled CRPS of the mixture
        on the earlier cut-offs' forecasts whose outcomes were known by then
        (equal weights at the first cut-off). The weights are in
        ``details["stack_weights"]``.

    Returns
    -------
    BacktestResult
    """
    from spm_model.forecast.estimator import BookingsForecaster, config_from, prepare_panel

    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise SpmConfigError(f"unknown baseline(s) {unknown}; choose from {sorted(BASELINES)}")
    cfg = config_from(config)
    panel = prepare_panel(data, measure, credits=credits)
    if cutoffs is None:
        cuts = default_cutoffs(panel, horizon, n_cutoffs)
        if len(cuts) < n_cutoffs and progress is not None:
            progress(
                f"note: {len(cuts)} of {n_cutoffs} default cut-offs leave {MIN_HISTORY_MONTHS} "
                "months of history; backtesting those"
            )
    else:
        cuts = [parse_cutoff(c) for c in cutoffs]
    first = panel["month"].min()
    for c in cuts:
        if (
            c < first + pd.DateOffset(months=MIN_HISTORY_MONTHS)
            or c + pd.DateOffset(months=horizon) > panel["month"].max()
        ):
            raise SpmConfigError(
                f"cut-off {c:%Y-%m} leaves less than {MIN_HISTORY_MONTHS} months of history or "
                f"fewer than {horizon} months to score "
                f"(data {first:%Y-%m} to {panel['month'].max():%Y-%m})"
            )
    names = (["bayes"] if include_bayes else []) + list(baselines)
    parts: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    if stack:
        parts["stacked"] = []
    history: list[tuple[dict[str, Any], pd.DataFrame, pd.Series]] = []
    weights_by_cutoff: dict[str, pd.DataFrame] = {}
    rows = []
    details: dict[str, Any] = {"fit_seconds": {n: 0.0 for n in names}, "diagnostics": {}}
    for c in cuts:
        train = _training_panel(panel, c)
        fut = panel[(panel["month"] > c) & (panel["month"] <= c + pd.DateOffset(months=horizon))]
        scale = series_scale(train, c)
        made: dict[str, Any] = {}
        for name in names:
            t = time.perf_counter()
            if name == "bayes":
                fc = BookingsForecaster(cfg).fit(train)
                draws = fc.predict(horizon)
                details["diagnostics"][f"{c:%Y-%m}"] = fc.diagnostics_.summary()
            else:
                # as many samples as the Bayesian forecast (the stacked mixture pairs them)
                if "bayes" in made:
                    n_samples = int(made["bayes"].sizes["sample"])
                else:
                    n_months = len(pd.period_range(train["month"].min(), c, freq="M"))
                    kind = cfg.resolved_model(
                        n_months,
                        float((train["bookings"] == 0).mean()),
                        int(train["rep_id"].nunique()),
                    )
                    n_samples = cfg.resolved_draws(kind) * cfg.chains
                draws = (
                    BASELINES[name](seed=cfg.seed).fit(train).predict(horizon, n_samples=n_samples)
                )
            details["fit_seconds"][name] += time.perf_counter() - t
            made[name] = draws
            s = score(draws, fut, scale)
            parts[name].append(s)
            rows.append({"model": name, "cutoff": f"{c:%Y-%m}", **_summarise([s])})
            if progress is not None:
                progress(
                    f"cut-off {c:%Y-%m}: {name} scaled CRPS {rows[-1]['crps_scaled']:.3f}, "
                    f"CRPS {format_amount(rows[-1]['crps_rep'])}"
                )
        if stack and len(made) > 1:
            w = stacking_weights(history, names, horizon, c)
            weights_by_cutoff[f"{c:%Y-%m}"] = pd.DataFrame(
                w, columns=names, index=pd.RangeIndex(1, horizon + 1, name="horizon")
            )
            s = score(mixture_draws(made, w), fut, scale)
            parts["stacked"].append(s)
            rows.append({"model": "stacked", "cutoff": f"{c:%Y-%m}", **_summarise([s])})
            history.append((made, fut, scale))
    if stack and len(names) > 1:
        names = [*names, "stacked"]
        details["stack_weights"] = weights_by_cutoff
    table = pd.DataFrame({n: _summarise(parts[n]) for n in names}).T
    base = [b for b in baselines if b in table.index]
    best = table.loc[base, "crps_rep"].min() if base else np.nan
    best_scaled = table.loc[base, "crps_scaled"].min() if base else np.nan
    table.insert(2, "crps_vs_best_baseline", 1.0 - table["crps_rep"] / best)
    table.insert(1, "scaled_vs_best_baseline", 1.0 - table["crps_scaled"] / best_scaled)
    table["fit_seconds"] = pd.Series(details["fit_seconds"])  # NaN for "stacked"
    table.index.name = "model"
    return BacktestResult(
        table=table,
        by_cutoff=pd.DataFrame(rows),
        cutoffs=[f"{c:%Y-%m}" for c in cuts],
        horizon=horizon,
        details=details,
    )
