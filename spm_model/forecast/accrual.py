"""Commission accruals from forecast draws, through a plan's vectorised payout.

A thin layer: the draws of bookings are turned into credited amounts per plan
measurement period (actual bookings of the months already closed plus the
draws of the forecast months), and every draw is paid by
:meth:`spm_model.plans.Plan.payout_arrays_periods` (same rules as the exact
engine: tiers, caps, cumulative true-ups). The accrual of a rep is what the
plan pays for the measurement periods that are still open (those that contain
a forecast month), so its distribution over draws gives the expected and P90
accrual; the total is summed draw by draw before taking quantiles.

Approximations, stated: credited amounts are owner-attributed bookings (the
forecast's view, without splits or crediting exceptions); plan measures the
draws do not feed are taken at quota (``other_measures="at_quota"``, the usual
accrual assumption) or at zero.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.data.periods import parse_period, period_labels, periods_in_fiscal_year
from spm_model.errors import SpmConfigError


def plan_measure(plan: Any, data_measure: str | None, measure: str | None = None) -> str:
    """Return the plan measure a forecast of ``data_measure`` feeds (or ``measure`` if given).

    Raises
    ------
    SpmConfigError
        When the plan has no such measure, or several measures and no way to choose.
    """
    if measure is not None:
        if measure not in plan.measures:
            raise SpmConfigError(
                f"plan {plan.id!r} has no measure {measure!r}; it has {sorted(plan.measures)}"
            )
        return measure
    if data_measure not in (None, "all"):
        for name, m in plan.measures.items():
            if (m.data_measure or name) == data_measure:
                return name
    if len(plan.measures) == 1:
        return next(iter(plan.measures))
    raise SpmConfigError(
        f"say which measure of plan {plan.id!r} the forecast feeds ({sorted(plan.measures)}); "
        f"the forecast is of {data_measure or 'all bookings'}"
    )


def commission_accrual(
    draws: Any,
    plan: Any,
    actual: pd.DataFrame,
    quotas: pd.DataFrame,
    ote: pd.Series | None = None,
    measure: str | None = None,
    other_measures: Literal["at_quota", "zero"] = "at_quota",
) -> pd.DataFrame:
    """Compute the expected and P90 commission to accrue per rep and in total.

    Parameters
    ----------
    draws : xarray.DataArray
        Forecast bookings ``(sample, rep, month)`` (currency).
    plan : spm_model.plans.Plan
        The plan the reps are paid on.
    actual : DataFrame
        Monthly actuals ``rep_id, month, bookings`` up to the cut-off (the
        forecaster's ``panel_``).
    quotas : DataFrame
        The ``quotas`` table; per-period rows of the plan's measurement period
        are used, else annual rows divided evenly.
    ote : Series, optional
        Annual on-target earnings per rep (currency); default the plan's.
    measure : str, optional
        Plan measure the draws feed (default: matched on ``draws.attrs["measure"]``).
    other_measures : {"at_quota", "zero"}
        Credited value assumed for the plan's other measures.

    Returns
    -------
    DataFrame
        One row per rep plus a ``TOTAL`` row: ``expected_payout, p10_payout,
        p50_payout, p90_payout`` (currency, cents) over the open measurement
        periods listed in ``attrs["periods"]``. Open periods without any quota
        in the table (not set yet) are left out and listed in
        ``attrs["skipped_periods"]``.
    """
    fy_start = plan.fy_start_month
    freq = plan.measurement_period
    target = plan_measure(plan, draws.attrs.get("measure"), measure)
    months = pd.DatetimeIndex(draws["month"].to_numpy())
    reps = [str(r) for r in draws["rep"].to_numpy()]
    x = draws.transpose("sample", "rep", "month").to_numpy()
    n_s, n_r = x.shape[0], len(reps)
    open_labels = list(dict.fromkeys(period_labels(months, freq, fy_start).tolist()))
    act = actual[actual["rep_id"].isin(reps)]
    act_lab = period_labels(act["month"], freq, fy_start)
    act_by = act.assign(_p=act_lab).groupby(["rep_id", "_p"])["bookings"].sum()
    fcst_lab = period_labels(months, freq, fy_start)
    ti_year = np.array(
        [
            float(
                plan.annual_target_incentive(
                    None if ote is None or pd.isna(ote.get(r)) else float(ote[r])
                )
            )
            for r in reps
        ]
    )
    ti_period = np.round(ti_year / plan.periods_per_year, 2)
    accrual = np.zeros((n_s, n_r))
    skipped: list[str] = []
    fys = sorted({parse_period(lbl, fy_start).fiscal_year for lbl in open_labels})
    for fy in fys:
        spans = periods_in_fiscal_year(fy, freq, fy_start)
        last_open = max(i for i, s in enumerate(spans) if s.label in open_labels)
        spans = spans[: last_open + 1]
        n_p = len(spans)
        credited = np.zeros((n_s, n_r, n_p))
        table: dict[str, np.ndarray] = {}
        for j, s in enumerate(spans):
            past = np.array([act_by.get((r, s.label), 0.0) for r in reps])
            fut = x[:, :, fcst_lab == s.label].sum(axis=2)
            credited[:, :, j] = past[None, :] + fut
        for name, m in plan.measures.items():
            qm = m.quota_measure or name
            qq = quotas[quotas["measure"] == qm]
            arr = np.zeros((n_r, n_p))
            per = qq.set_index(["rep_id", "period"])["amount"]
            for j, s in enumerate(spans):
                for i, r in enumerate(reps):
                    v = per.get((r, s.label))
                    if v is None:
                        annual = per.get((r, str(fy)))
                        v = (
                            0.0
                            if annual is None
                            else float(annual) / len(periods_in_fiscal_year(fy, freq, fy_start))
                        )
                    arr[i, j] = float(v)
            table[qm] = arr
        quota = plan.resolve_quota_arrays(table)
        cred = {}
        for name in plan.measures:
            if name == target:
                cred[name] = credited
            else:
                q = np.broadcast_to(quota.get(name, np.zeros((n_r, n_p))), (n_s, n_r, n_p))
                cred[name] = q.copy() if other_measures == "at_quota" else np.zeros((n_s, n_r, n_p))
        ti = np.broadcast_to(ti_period[:, None], (n_r, n_p))
        out = plan.payout_arrays_periods(cred, {k: np.asarray(v) for k, v in quota.items()}, ti)
        due = out["due"]
        is_open = np.array([s.label in open_labels for s in spans])
        no_quota = np.zeros(n_p, dtype=bool)
        if table:
            no_quota = np.all([np.all(v == 0, axis=0) for v in table.values()], axis=0)
        skipped += [s.label for s, o, nq in zip(spans, is_open, no_quota, strict=True) if o and nq]
        is_open &= ~no_quota
        accrual += due[..., is_open].sum(axis=-1)
    total = accrual.sum(axis=1)
    full = np.concatenate([accrual, total[:, None]], axis=1)
    res = pd.DataFrame(
        {
            "rep_id": [*reps, "TOTAL"],
            "expected_payout": full.mean(axis=0),
            "p10_payout": np.quantile(full, 0.1, axis=0),
            "p50_payout": np.quantile(full, 0.5, axis=0),
            "p90_payout": np.quantile(full, 0.9, axis=0),
        }
    )
    cols = ["expected_payout", "p10_payout", "p50_payout", "p90_payout"]
    res[cols] = res[cols].round(2)
    res.attrs.update(
        periods=[p for p in open_labels if p not in skipped],
        skipped_periods=skipped,
        plan=plan.id,
        measure=target,
    )
    return res


def accrual_from_dataset(
    draws: Any,
    panel: pd.DataFrame,
    ds: Dataset,
    plan: Any,
    measure: str | None = None,
    other_measures: Literal["at_quota", "zero"] = "at_quota",
) -> pd.DataFrame:
    """:func:`commission_accrual` with quotas and OTEs from a dataset.

    Only reps whose ``reps.plan_id`` is the plan's id are accrued when any of
    the forecast reps is on the plan; otherwise every forecast rep is.
    ``measure`` here is the *data* measure the forecast was made for.
    """
    reps = ds.reps.set_index("rep_id")
    on_plan = [r for r in draws["rep"].to_numpy() if str(reps["plan_id"].get(r, "")) == plan.id]
    if on_plan:
        draws = draws.sel(rep=on_plan)
    if measure is not None:
        draws = draws.assign_attrs(measure=measure)
    return commission_accrual(
        draws, plan, panel, ds.quotas, ote=reps["ote"], other_measures=other_measures
    )
